"""What a token may do: a read and a write scope per area, limited by the owner's role.

The matrix follows the pages each role may use: agents work tickets and the FAQ, marketers
campaigns; both see and edit customers and purchases. A personal token's scopes are cut
to its owner's role at every request, so a role change takes effect at once.
"""

from __future__ import annotations

from helpdesk.auth.models import Role

AREAS = ("customers", "purchases", "tickets", "faq", "campaigns")
SCOPES = tuple(f"{area}:{access}" for area in AREAS for access in ("read", "write"))

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.admin: frozenset(SCOPES),
    Role.agent: frozenset(
        {
            "customers:read",
            "customers:write",
            "purchases:read",
            "purchases:write",
            "tickets:read",
            "tickets:write",
            "faq:read",
            "faq:write",
        }
    ),
    Role.marketer: frozenset(
        {
            "customers:read",
            "customers:write",
            "purchases:read",
            "purchases:write",
            "faq:read",
            "campaigns:read",
            "campaigns:write",
        }
    ),
}
# Service tokens are made by admins for integrations and may hold any scope.
SERVICE_SCOPES = frozenset(SCOPES)
