"""The admin's view of who is away, and turning automatic assignment on per mailbox."""

from __future__ import annotations

from helpdesk.auth.models import User
from helpdesk.mail.models import Mailbox
from tests.factories import make_mailbox, make_user
from tests.helpers import post_form


def test_admin_sees_who_is_away(admin_client, session):
    make_user(session, email="here@example.com", name="Hana Here")
    away = make_user(session, email="away@example.com", name="Aron Away")
    away.is_available = False
    session.commit()
    page = admin_client.get("/admin/agents").get_data(as_text=True)
    assert page.index("Aron Away") < page.index("Hana Here")  # away agents listed first
    assert page.count('<span class="badge warn">Away</span>') == 1


def test_admin_marks_an_agent_away(admin_client, session, agent):
    agent_id = agent.id
    response = post_form(admin_client, f"/admin/agents/{agent_id}/availability", {"available": "0"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, agent_id).is_available is False


def test_marking_an_unknown_user_is_a_404(admin_client, marketer):
    assert post_form(admin_client, "/admin/agents/999999/availability", {}).status_code == 404
    response = post_form(admin_client, f"/admin/agents/{marketer.id}/availability", {})
    assert response.status_code == 404


def test_admin_turns_auto_assign_on_for_a_mailbox(admin_client, session):
    mailbox_id = make_mailbox(session).id
    response = post_form(
        admin_client, f"/admin/mailboxes/{mailbox_id}/auto-assign", {"auto_assign": "1"}
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Mailbox, mailbox_id).auto_assign is True


def test_agent_cannot_change_other_agents_or_mailboxes(agent_client, session):
    other_id = make_user(session, email="other@example.com", name="Other").id
    mailbox_id = make_mailbox(session).id
    assert agent_client.get("/admin/agents").status_code == 403
    assert post_form(agent_client, f"/admin/agents/{other_id}/availability", {}).status_code == 403
    assert (
        post_form(
            agent_client, f"/admin/mailboxes/{mailbox_id}/auto-assign", {"auto_assign": "1"}
        ).status_code
        == 403
    )
    session.expire_all()
    assert session.get(User, other_id).is_available is True
    assert session.get(Mailbox, mailbox_id).auto_assign is False
