"""The admin pages for webhook endpoints: who may use them, CSRF, refused input, the
secret shown once, and the buttons on an endpoint's page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.webhooks import service
from helpdesk.webhooks.models import WebhookEndpoint
from tests.helpers import login, post_form


@pytest.fixture
def open_config(app):
    """Endpoints on 127.0.0.1 are allowed, as WEBHOOKS_ALLOW_PRIVATE does."""
    config = app.config["HELPDESK"].with_overrides(webhooks_allow_private=True)
    app.config["HELPDESK"] = config
    return config


def _count(session) -> int:
    session.rollback()
    session.expire_all()
    return session.scalar(select(func.count()).select_from(WebhookEndpoint))


GOOD = {"url": "http://127.0.0.1:9/hook", "description": "shop", "event_types": ["ticket.created"]}


def test_agents_may_not_see_the_webhook_pages(agent_client):
    assert agent_client.get("/admin/webhooks").status_code == 403
    assert agent_client.get("/admin/webhooks/new").status_code == 403


def test_marketers_may_not_see_the_webhook_pages(marketer_client):
    assert marketer_client.get("/admin/webhooks").status_code == 403


def test_a_non_admin_cannot_add_an_endpoint(session, agent_client, open_config):
    response = post_form(agent_client, "/admin/webhooks/new", GOOD)

    assert response.status_code == 403
    assert _count(session) == 0


def test_logged_out_visitors_are_sent_to_the_login_page(client):
    response = client.get("/admin/webhooks")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_adding_an_endpoint_shows_its_secret_once(session, admin_client, open_config):
    response = post_form(admin_client, "/admin/webhooks/new", GOOD)

    session.rollback()
    session.expire_all()
    endpoint = session.scalar(select(WebhookEndpoint))
    assert response.status_code == 200
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.text
    assert endpoint.secret not in admin_client.get(f"/admin/webhooks/{endpoint.id}").text
    assert service.event_types_of(session, endpoint.id) == ["ticket.created"]


def test_a_form_without_the_csrf_token_changes_nothing(session, admin_client, open_config):
    response = admin_client.post("/admin/webhooks/new", data=GOOD)

    assert response.status_code == 400
    assert _count(session) == 0


@pytest.mark.parametrize(
    ("change", "field_error"),
    [
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"url": ""}, "Enter the URL"),
        ({"event_types": []}, "Choose at least one event."),
        ({"event_types": ["ticket.exploded"]}, "Choose events from the list."),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(
    session, admin_client, open_config, change, field_error
):
    response = post_form(admin_client, "/admin/webhooks/new", GOOD | change)

    assert response.status_code == 400
    assert field_error in response.text
    assert _count(session) == 0


def test_a_url_resolving_to_a_private_address_is_refused_without_the_setting(session, admin_client):
    response = post_form(admin_client, "/admin/webhooks/new", GOOD)

    assert response.status_code == 400
    assert "public address" in response.text
    assert _count(session) == 0


def _endpoint(session):
    endpoint = service.create_endpoint(session, service.EndpointData(**GOOD), allow_private=True)
    session.commit()
    return endpoint


def test_an_edit_with_bad_input_changes_nothing(session, admin_client, open_config):
    endpoint = _endpoint(session)

    response = post_form(
        admin_client, f"/admin/webhooks/{endpoint.id}", GOOD | {"url": "not a url"}
    )

    session.rollback()
    session.expire_all()
    assert response.status_code == 400
    assert service.get_endpoint(session, endpoint.id).url == GOOD["url"]


def test_pause_and_resume_buttons(session, admin_client, open_config):
    endpoint = _endpoint(session)

    response = post_form(admin_client, f"/admin/webhooks/{endpoint.id}/pause")
    assert response.status_code == 302, response.text[:3000]
    assert response.headers["Location"].endswith(f"/admin/webhooks/{endpoint.id}")
    session.rollback()
    session.expire_all()
    assert service.get_endpoint(session, endpoint.id).paused
    page = admin_client.get(f"/admin/webhooks/{endpoint.id}").text
    assert "Resume" in page

    post_form(admin_client, f"/admin/webhooks/{endpoint.id}/resume")
    session.rollback()
    session.expire_all()
    assert not service.get_endpoint(session, endpoint.id).paused


def test_rotating_shows_the_new_secret_and_keeps_the_old_one_for_the_grace_period(
    session, admin_client, open_config
):
    endpoint = _endpoint(session)
    old = endpoint.secret

    response = post_form(admin_client, f"/admin/webhooks/{endpoint.id}/rotate")

    session.rollback()
    session.expire_all()
    rotated = service.get_endpoint(session, endpoint.id)
    assert rotated.secret in response.text
    assert rotated.previous_secret == old


def test_a_button_without_the_csrf_token_changes_nothing(session, admin_client, open_config):
    endpoint = _endpoint(session)

    response = admin_client.post(f"/admin/webhooks/{endpoint.id}/delete")

    assert response.status_code == 400
    assert _count(session) == 1


def test_the_test_event_appears_in_the_delivery_log(session, admin_client, open_config):
    endpoint = _endpoint(session)

    post_form(admin_client, f"/admin/webhooks/{endpoint.id}/test")

    page = admin_client.get(f"/admin/webhooks/{endpoint.id}").text
    assert "webhook.test" in page
    assert "Redeliver" in page


def test_an_auto_paused_endpoint_shows_a_notice_to_admins(session, admin_client, open_config):
    from helpdesk.webhooks.models import PauseReason

    endpoint = _endpoint(session)
    service.pause_endpoint(session, endpoint.id, reason=PauseReason.failing)
    session.commit()

    page = admin_client.get("/admin/webhooks").text

    assert "paused after a day of failed deliveries" in page


def test_the_endpoint_page_says_when_admins_were_mailed_about_the_pause(
    session, admin_client, open_config
):
    from helpdesk.db import utcnow
    from helpdesk.webhooks.models import PauseReason

    endpoint = _endpoint(session)
    service.pause_endpoint(session, endpoint.id, reason=PauseReason.failing)
    endpoint.pause_notified_at = utcnow()
    session.commit()

    page = admin_client.get(f"/admin/webhooks/{endpoint.id}").text

    assert "Admins were mailed about it at" in page


def test_deleting_an_endpoint(session, admin_client, open_config):
    endpoint = _endpoint(session)

    response = post_form(admin_client, f"/admin/webhooks/{endpoint.id}/delete")

    assert response.status_code == 302
    assert _count(session) == 0


def test_the_pages_speak_korean(session, client, admin, open_config):
    from tests.factories import make_user

    make_user(session, role="admin", email="ko@example.com", language="ko")
    login(client, "ko@example.com")

    page = client.get("/admin/webhooks").text

    assert "웹훅" in page
