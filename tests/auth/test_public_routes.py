"""Every public route (no login), asked with HEAD and with GET by a logged-out visitor,
leaves the database and Redis as they were; the one exception is what a GET is there to
count, listed here: an open (the pixel), a click (the redirect), an article read and a
search in the help centre. A HEAD counts nothing: link scanners, security gateways and
prefetchers send it without anyone reading. Unsubscribing takes a POST (tests in
tests/campaigns/test_unsubscribe.py).

PUBLIC_REQUESTS is written out by hand, like the role matrix's ACCESS: a new public
route fails here until it is added with what a GET of it may change.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from helpdesk.campaigns.models import CampaignLink
from helpdesk.models import metadata
from tests.campaigns.tracking_support import paths
from tests.factories import (
    make_article,
    make_delivery,
    make_faq_category,
    make_sending_campaign,
    make_subscribers,
    make_user,
)
from tests.surveys.support import make_sent_survey


@dataclass(frozen=True)
class PublicRequest:
    path: str
    status: int
    # What a GET is for: it records an event (in Redis, or in the database).
    counts_on_get: bool = False


# endpoint -> the requests to make, from the names of the rows `world` made.
PUBLIC_REQUESTS = {
    "static": lambda w: [PublicRequest("/static/app.css", 200)],
    "i18n.switch_language": lambda w: [PublicRequest("/language/ko?next=/faq", 302)],
    "auth.login": lambda w: [PublicRequest("/login", 200)],
    # Without a passed password step, both send the visitor back to the login page.
    "two_factor.challenge": lambda w: [PublicRequest("/login/code", 302)],
    "two_factor.enrol_required": lambda w: [PublicRequest("/login/two-factor-setup", 302)],
    "accounts.forgot_password": lambda w: [PublicRequest("/password/forgot", 200)],
    "accounts.reset_password": lambda w: [PublicRequest("/password/reset/not-a-token", 400)],
    "faq.index": lambda w: [PublicRequest("/faq", 200)],
    "faq.category": lambda w: [PublicRequest(f"/faq/category/{w['category_id']}", 200)],
    "faq.article": lambda w: [PublicRequest(f"/faq/en/{w['slug']}", 200, counts_on_get=True)],
    "faq.search_page": lambda w: [
        PublicRequest("/faq/search", 200),
        PublicRequest("/faq/search?q=refund", 200, counts_on_get=True),
        PublicRequest("/faq/search?q=", 400),
    ],
    "faq.sitemap": lambda w: [PublicRequest("/faq/sitemap.xml", 200)],
    "faq.short_link": lambda w: [PublicRequest(f"/faq/a/{w['article_id']}", 302)],
    # POST only: a GET or HEAD is refused before the view runs.
    "faq.vote": lambda w: [PublicRequest(f"/faq/en/{w['slug']}/vote", 405)],
    "contact.contact_page": lambda w: [PublicRequest("/faq/contact", 200)],
    "tracking.open_pixel": lambda w: [PublicRequest(w["paths"]["open"], 200, counts_on_get=True)],
    "tracking.click": lambda w: [PublicRequest(w["paths"]["click"](0), 302, counts_on_get=True)],
    "tracking.view_in_browser": lambda w: [PublicRequest(w["paths"]["view"], 200)],
    "tracking.unsubscribe": lambda w: [PublicRequest(w["paths"]["unsubscribe"], 200)],
    # A GET asks which rating; only the POST records it.
    "survey_links.rate": lambda w: [
        PublicRequest(f"/s/{w['survey']}?rating=bad", 200),
        PublicRequest("/s/not-signed", 404),
    ],
    "survey_links.comment": lambda w: [PublicRequest(f"/s/{w['survey']}/comment", 405)],
    # A GET shows the button; only the POST confirms the sending address.
    "senders.confirm": lambda w: [PublicRequest("/campaigns/identities/confirm/not-a-token", 200)],
    "api.openapi_document": lambda w: [PublicRequest("/api/v1/openapi.json", 200)],
    "api.reference": lambda w: [PublicRequest("/api/v1/docs", 200)],
}


def _public_endpoints(app) -> set[str]:
    # API resources take a bearer token instead (tests/api/test_api_routes.py).
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "allowed_roles", None) is None
        and not hasattr(app.view_functions[rule.endpoint], "required_scope")
    }


@pytest.fixture
def world(session):
    """Rows of every kind a public page reads or could write: staff, a customer with a
    delivery of a campaign with a link, a published article in a category, a sent
    survey."""
    make_user(session, role="agent", email="agent@example.com")
    customer, _other = make_subscribers(session, 2)
    campaign = make_sending_campaign(session)
    session.add(CampaignLink(campaign_id=campaign.id, url="https://shop.example/spring"))
    session.commit()
    delivery = make_delivery(session, campaign, customer)
    category = make_faq_category(session)
    article = make_article(session, category_id=category.id)
    _survey, survey_link = make_sent_survey(session, customer_email="rated@example.com")
    return {
        "survey": survey_link,
        "category_id": category.id,
        "article_id": article.id,
        "slug": article.slug,
        "paths": paths(delivery),
    }


def _database(session) -> dict[str, list[tuple]]:
    session.rollback()  # a fresh transaction sees what the requests committed
    return {
        table.name: [
            tuple(row) for row in session.execute(select(table).order_by(*table.primary_key))
        ]
        for table in metadata.sorted_tables
    }


def _redis(redis_conn) -> dict[bytes, bytes]:
    return {key: redis_conn.dump(key) for key in redis_conn.keys("*")}


def test_every_public_route_is_listed(app):
    public = _public_endpoints(app)
    assert public - set(PUBLIC_REQUESTS) == set(), "add new public routes to PUBLIC_REQUESTS"
    assert set(PUBLIC_REQUESTS) - public == set(), "remove routes that are no longer public"


@pytest.mark.parametrize("endpoint", sorted(PUBLIC_REQUESTS))
def test_each_listed_path_is_served_by_its_endpoint(app, world, endpoint):
    adapter = app.url_map.bind("helpdesk.test")
    for request in PUBLIC_REQUESTS[endpoint](world):
        method = "POST" if request.status == 405 else "GET"
        matched, _arguments = adapter.match(request.path.split("?")[0], method=method)
        assert matched == endpoint, request.path


@pytest.mark.parametrize("method", ["HEAD", "GET"])
@pytest.mark.parametrize("endpoint", sorted(PUBLIC_REQUESTS))
def test_a_logged_out_head_or_get_changes_only_what_a_get_counts(
    app, session, redis_conn, world, endpoint, method
):
    for request in PUBLIC_REQUESTS[endpoint](world):
        client = app.test_client()
        database_before, redis_before = _database(session), _redis(redis_conn)

        response = client.open(request.path, method=method)

        assert response.status_code == request.status, (method, request.path)
        if method == "HEAD":
            assert response.get_data() == b""
        changed = (_database(session), _redis(redis_conn)) != (database_before, redis_before)
        assert changed == (method == "GET" and request.counts_on_get), (method, request.path)
