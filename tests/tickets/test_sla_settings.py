"""The admin's response-target settings page."""

from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.mail.models import Mailbox
from helpdesk.tickets.models import Priority, SLAPolicy
from tests.factories import make_mailbox
from tests.helpers import post_form


def form(**overrides):
    values = {}
    for p in Priority:
        values[f"first_{p.value}"] = "4"
        values[f"next_{p.value}"] = "24"
    return values | overrides


def policy_count(session):
    count = session.scalar(select(func.count()).select_from(SLAPolicy))
    session.rollback()
    return count


def test_admin_sees_default_and_mailbox_targets(admin_client, session):
    make_mailbox(session, name="Sales", address="sales@helpdesk.test")
    page = admin_client.get("/admin/sla").get_data(as_text=True)
    assert "Default" in page and "Sales" in page and "4 h / 24 h" in page


def test_admin_sets_default_targets(admin_client, session):
    response = post_form(
        admin_client, "/admin/sla/default", form(first_urgent="0.5", next_urgent="2")
    )
    assert response.status_code == 302
    urgent = session.scalar(
        select(SLAPolicy).where(
            SLAPolicy.mailbox_id.is_(None), SLAPolicy.priority == Priority.urgent
        )
    )
    assert (urgent.first_response_minutes, urgent.next_response_minutes) == (30, 120)


def test_admin_sets_mailbox_business_hours(admin_client, session):
    mailbox_id = make_mailbox(session).id
    response = post_form(
        admin_client,
        f"/admin/sla/{mailbox_id}",
        form(
            business_hours="1",
            timezone="Asia/Seoul",
            days=["0", "1", "2"],
            start="09:00",
            end="18:00",
        ),
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Mailbox, mailbox_id).business_hours == {
        "timezone": "Asia/Seoul",
        "days": [0, 1, 2],
        "start": "09:00",
        "end": "18:00",
    }


def test_bad_targets_are_refused_and_nothing_is_saved(admin_client, session):
    for bad in (
        {"first_normal": "soon"},
        {"next_low": "0"},
        {"first_high": "-2"},
        {"next_urgent": ""},
    ):
        response = post_form(admin_client, "/admin/sla/default", form(**bad))
        assert response.status_code == 400, bad
        assert "Please correct the marked fields." in response.get_data(as_text=True)
    assert policy_count(session) == 0


def test_bad_business_hours_are_refused_and_nothing_is_saved(admin_client, session):
    mailbox_id = make_mailbox(session).id
    response = post_form(
        admin_client,
        f"/admin/sla/{mailbox_id}",
        form(business_hours="1", timezone="Nowhere/Land", days=["0"], start="18:00", end="09:00"),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Unknown time zone" in page and "The day must end after it starts." in page
    assert policy_count(session) == 0
    session.expire_all()
    assert session.get(Mailbox, mailbox_id).business_hours is None


def test_unknown_mailbox_is_a_404(admin_client):
    assert admin_client.get("/admin/sla/999999").status_code == 404
    assert admin_client.get("/admin/sla/abc").status_code == 404


def test_agents_and_marketers_cannot_change_targets(agent_client, session):
    assert agent_client.get("/admin/sla").status_code == 403
    assert post_form(agent_client, "/admin/sla/default", form()).status_code == 403
    assert policy_count(session) == 0
