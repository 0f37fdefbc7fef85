"""Every view checks the role: the full role x view matrix, logged out included.

ACCESS is written out by hand (not read from the code) so a view that forgets its check,
or grants too much, fails here. A new view must be added to ACCESS before the suite passes.
"""

import re

import pytest

from tests.helpers import csrf_token, login

PUBLIC = "public"
ADMIN = {"admin"}
SUPPORT = {"admin", "agent"}
MARKETING = {"admin", "marketer"}
STAFF = {"admin", "agent", "marketer"}

ACCESS: dict[str, set[str] | str] = {
    "static": PUBLIC,
    "i18n.switch_language": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": STAFF,
    "auth.preferences": STAFF,
    "auth.users": ADMIN,
    "auth.new_user": ADMIN,
    "auth.edit_user": ADMIN,
    # The code step and the required set-up come between the password and the login.
    "two_factor.challenge": PUBLIC,
    "two_factor.enrol_required": PUBLIC,
    "two_factor.manage": STAFF,
    "two_factor.new_recovery_codes": STAFF,
    "two_factor.turn_off": STAFF,
    "two_factor.policy": ADMIN,
    "two_factor.reset": ADMIN,
    "auth.change_password": STAFF,
    "auth.end_other_sessions": STAFF,
    "accounts.forgot_password": PUBLIC,
    "accounts.reset_password": PUBLIC,
    "accounts.force_reset": ADMIN,
    "admin.home": STAFF,
    "admin.settings": ADMIN,
    # Customer records are shared by support and marketing; only admins delete or define fields.
    "customers.index": STAFF,
    "customers.export": STAFF,
    "customers.new": STAFF,
    "customers.detail": STAFF,
    "customers.timeline": STAFF,
    "customers.edit": STAFF,
    "customers.add_purchase": STAFF,
    "customers.add_note": SUPPORT,
    "customers.delete": ADMIN,
    "customers.custom_fields": ADMIN,
    "customers.new_custom_field": ADMIN,
    "customers.edit_custom_field": ADMIN,
    "customers.delete_custom_field": ADMIN,
    "imports.new": STAFF,
    "imports.preview": STAFF,
    "imports.start": STAFF,
    "imports.discard": STAFF,
    "imports.show": STAFF,
    "imports.progress": STAFF,
    "imports.errors_csv": STAFF,
    # Mail plumbing is configured by admins only.
    "mail.outbox": ADMIN,
    "mail.outbox_message": ADMIN,
    "mail.outbox_raw": ADMIN,
    # Webhook endpoints hold signing secrets: admins only.
    "webhooks.index": ADMIN,
    "webhooks.new": ADMIN,
    "webhooks.edit": ADMIN,
    "webhooks.rotate": ADMIN,
    "webhooks.pause": ADMIN,
    "webhooks.resume": ADMIN,
    "webhooks.send_test": ADMIN,
    "webhooks.redeliver": ADMIN,
    "webhooks.delete": ADMIN,
    "mailboxes.index": ADMIN,
    "mailboxes.new": ADMIN,
    "mailboxes.edit": ADMIN,
    "mailboxes.quarantine": ADMIN,
    "mailboxes.reprocess": ADMIN,
    # Ticket contents are support's: marketers never see them.
    "queues.index": SUPPORT,
    "queues.updates": SUPPORT,
    "queues.counts": SUPPORT,
    "queues.bulk": SUPPORT,
    "queues.availability": SUPPORT,
    "tickets.show": SUPPORT,
    "tickets.new_messages": SUPPORT,
    "new_ticket.form": SUPPORT,
    "tickets.attachment": SUPPORT,
    "tickets.assign": SUPPORT,
    "tickets.status": SUPPORT,
    "tickets.priority": SUPPORT,
    "tickets.tags": SUPPORT,
    "tickets.note": SUPPORT,
    "tickets.reply": SUPPORT,
    "tickets.retry": SUPPORT,
    "tickets.merge": SUPPORT,
    "ticket_merges.pick": SUPPORT,
    "ticket_merges.options": SUPPORT,
    "ticket_merges.undo": SUPPORT,
    "mentions.index": SUPPORT,
    "mentions.mark_read": SUPPORT,
    "notifications.index": SUPPORT,
    "notifications.unread": SUPPORT,
    "notifications.mark_read": SUPPORT,
    "notifications.mark_all_read": SUPPORT,
    "notifications.save_settings": SUPPORT,
    "notifications.agents": SUPPORT,
    "notifications.menu": SUPPORT,
    "tickets.presence_heartbeat": SUPPORT,
    "tickets.presence_leave": SUPPORT,
    "ticket_settings.agents": ADMIN,
    "ticket_settings.set_availability": ADMIN,
    "ticket_settings.set_auto_assign": ADMIN,
    "ticket_settings.sla": ADMIN,
    "ticket_settings.sla_edit": ADMIN,
    # The FAQ: customers read it without logging in; support writes it.
    "faq.index": PUBLIC,
    "faq.category": PUBLIC,
    "faq.article": PUBLIC,
    "faq.search_page": PUBLIC,
    "faq.sitemap": PUBLIC,
    "faq.short_link": PUBLIC,
    "faq.vote": PUBLIC,
    "contact.contact_page": PUBLIC,
    "faq_admin.index": SUPPORT,
    "faq_admin.new": SUPPORT,
    "faq_admin.edit": SUPPORT,
    "faq_admin.history": SUPPORT,
    "faq_admin.categories": SUPPORT,
    "faq_admin.edit_category": SUPPORT,
    "faq_admin.suggest": SUPPORT,
    "faq_admin.used": SUPPORT,
    # Saved replies are support's; which ones a user may change the service decides.
    "saved_replies.index": SUPPORT,
    "saved_replies.new": SUPPORT,
    "saved_replies.edit": SUPPORT,
    "saved_replies.delete": SUPPORT,
    "saved_replies.picker": SUPPORT,
    "saved_replies.insert": SUPPORT,
    # Newsletter recipients follow tracking and unsubscribe links without an account.
    "tracking.open_pixel": PUBLIC,
    "tracking.click": PUBLIC,
    "tracking.view_in_browser": PUBLIC,
    "tracking.unsubscribe": PUBLIC,
    "campaigns.index": MARKETING,
    "campaigns.new": MARKETING,
    "campaigns.edit": MARKETING,
    "campaigns.preview": MARKETING,
    "campaigns.test_send": MARKETING,
    "campaigns.schedule": MARKETING,
    "campaigns.control": MARKETING,
    "campaigns.segments": MARKETING,
    "campaigns.new_segment": MARKETING,
    "campaigns.edit_segment": MARKETING,
    "campaigns.delete_segment": MARKETING,
    "campaigns.segment_preview": MARKETING,
    "campaigns.rules": MARKETING,
    "senders.index": MARKETING,
    "senders.save_settings": MARKETING,
    "senders.add_identity": MARKETING,
    "senders.make_default": MARKETING,
    "senders.remove": MARKETING,
    # Opened from the confirmation mail; the signed token is the proof.
    "senders.confirm": PUBLIC,
    "campaign_reports.report": MARKETING,
    "campaign_reports.progress": MARKETING,
    "campaign_reports.export": MARKETING,
    # The dashboard: admins and agents marked as managers (the matrix's agent is not one;
    # tests/reports/test_views.py covers managers); marketers see campaign results only.
    "dashboard.index": ADMIN,
    "dashboard.now": ADMIN,
    "dashboard.export": ADMIN,
    "dashboard.campaigns": MARKETING,
    "surveys.dashboard": ADMIN,
    "surveys.settings": ADMIN,
    # The survey mail's links: signed, no login (tests/surveys/test_public_pages.py).
    "survey_links.rate": PUBLIC,
    "survey_links.comment": PUBLIC,
    "dashboard.campaigns_export": MARKETING,
    # The API's description is public; its resources take bearer tokens, not logins
    # (tests/api/test_api_routes.py holds their matrix), so they are not listed here.
    "api.openapi_document": PUBLIC,
    "api.reference": PUBLIC,
    "api_tokens.personal_tokens": STAFF,
    "api_tokens.service_tokens": ADMIN,
    "api_tokens.revoke": STAFF,
}

ROLES = ("admin", "agent", "marketer")


def _routes(app):
    for rule in app.url_map.iter_rules():
        if hasattr(app.view_functions[rule.endpoint], "required_scope"):
            continue  # an API resource
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        method = "GET" if "GET" in methods else methods[0]
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(_sample(m.group(1))), rule.rule)
        yield rule.endpoint, method, path


def _sample(argument: str):
    return "x.css" if argument == "filename" else ("en" if argument == "code" else 1)


def _request(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return client.open(path, method=method, data={"csrf_token": csrf_token(client)})


def test_every_view_is_in_the_access_table(app):
    endpoints = {endpoint for endpoint, _, _ in _routes(app)}
    assert endpoints - set(ACCESS) == set(), "add new views to ACCESS"
    assert set(ACCESS) - endpoints == set(), "remove views that no longer exist from ACCESS"


def test_every_view_declares_its_roles(app):
    undeclared = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static"
        and not hasattr(view, "allowed_roles")
        and not hasattr(view, "required_scope")
    ]
    assert undeclared == []


def test_logged_out_users_are_sent_to_login_for_every_staff_view(app, client):
    for endpoint, method, path in _routes(app):
        if ACCESS.get(endpoint) == PUBLIC:
            continue
        response = _request(client, method, path)
        assert response.status_code == 302, (endpoint, response.status_code)
        assert response.headers["Location"].startswith("/login"), endpoint


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_403_exactly_where_it_has_no_access(app, client, session, role):
    from tests.factories import make_user

    user = make_user(session, role=role, email=f"{role}@matrix.example")
    login(client, user.email)
    for endpoint, method, path in _routes(app):
        allowed = ACCESS.get(endpoint)
        if allowed == PUBLIC or endpoint == "auth.logout":
            continue
        response = _request(client, method, path)
        if role in allowed:
            assert response.status_code != 403, (endpoint, path)
            assert not response.headers.get("Location", "").startswith("/login"), endpoint
        else:
            assert response.status_code == 403, (endpoint, path, response.status_code)
