"""The OpenAPI document served by the live API describes the tickets, FAQ and campaign
resources, with their scopes and the schemas their validation uses."""

from __future__ import annotations

import httpx

RESOURCE_OPERATIONS = {
    ("get", "/tickets"): "tickets:read",
    ("post", "/tickets"): "tickets:write",
    ("get", "/tickets/{ticket_id}"): "tickets:read",
    ("patch", "/tickets/{ticket_id}"): "tickets:write",
    ("post", "/tickets/{ticket_id}/replies"): "tickets:write",
    ("post", "/tickets/{ticket_id}/notes"): "tickets:write",
    ("put", "/tickets/{ticket_id}/assignee"): "tickets:write",
    ("get", "/faq/articles"): "faq:read",
    ("post", "/faq/articles"): "faq:write",
    ("get", "/faq/articles/{article_id}"): "faq:read",
    ("patch", "/faq/articles/{article_id}"): "faq:write",
    ("post", "/faq/articles/{article_id}/publish"): "faq:write",
    ("get", "/faq/search"): "faq:read",
    ("get", "/segments"): "campaigns:read",
    ("get", "/segments/{segment_id}"): "campaigns:read",
    ("get", "/segments/{segment_id}/count"): "campaigns:read",
    ("get", "/segments/{segment_id}/members"): "campaigns:read",
    ("get", "/campaigns"): "campaigns:read",
    ("get", "/campaigns/{campaign_id}"): "campaigns:read",
    ("get", "/suppressions"): "campaigns:read",
    ("get", "/suppressions/{email}"): "campaigns:read",
    ("post", "/suppressions"): "campaigns:write",
}


def test_document_has_every_resource_route_with_its_scope(api_server):
    document = httpx.get(f"{api_server}/api/v1/openapi.json").json()

    found = {
        (method, path): str(operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if (method, path) in RESOURCE_OPERATIONS
    }

    assert sorted(found) == sorted(RESOURCE_OPERATIONS)
    assert all(scope in found[key] for key, scope in RESOURCE_OPERATIONS.items())


def test_reply_body_schema_requires_the_seen_message_id(api_server):
    document = httpx.get(f"{api_server}/api/v1/openapi.json").json()

    reply = document["components"]["schemas"]["ReplyIn"]

    assert set(reply["required"]) == {"body", "seen_message_id"}
