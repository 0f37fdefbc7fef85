"""Where signatures are written: the agent's on the preferences page, the mailbox's (a
sandboxed template) and the assign-on-reply setting in the admin's mailbox settings;
and the composer shows the signature a reply will carry."""

from __future__ import annotations

from helpdesk.auth.models import User
from helpdesk.mail.models import Mailbox
from tests.factories import make_mailbox
from tests.helpers import post_form
from tests.inbound.test_mailbox_views import VALID
from tests.tickets.mails import ingest, mail


def _fresh(session, model, key):
    session.expire_all()
    row = session.get(model, key)
    session.commit()
    return row


def test_agent_saves_a_signature_on_the_preferences_page(agent_client, session, agent):
    response = post_form(
        agent_client,
        "/preferences",
        {"language": "", "timezone": "UTC", "signature": "Alex · 고객지원팀"},
    )

    assert response.status_code == 302
    assert _fresh(session, User, agent.id).signature == "Alex · 고객지원팀"


def test_too_long_agent_signature_is_refused_and_nothing_changes(agent_client, session, agent):
    response = post_form(
        agent_client, "/preferences", {"language": "", "timezone": "UTC", "signature": "x" * 2001}
    )

    assert response.status_code == 400
    assert _fresh(session, User, agent.id).signature == ""


def test_marketer_preferences_leave_the_signature_alone(marketer_client, session, marketer):
    session.get(User, marketer.id).signature = "kept"
    session.commit()

    response = post_form(marketer_client, "/preferences", {"language": "", "timezone": "UTC"})

    assert response.status_code == 302
    assert _fresh(session, User, marketer.id).signature == "kept"


def test_admin_sets_the_mailbox_signature_and_turns_assign_on_reply_off(admin_client, session):
    mailbox = make_mailbox(session, address="support@helpdesk.test")
    form = VALID | {"signature": "{{ agent_signature }}\n{{ mailbox_name }}"}

    response = post_form(admin_client, f"/admin/mailboxes/{mailbox.id}", form)

    assert response.status_code == 302
    saved = _fresh(session, Mailbox, mailbox.id)
    assert saved.signature == "{{ agent_signature }}\n{{ mailbox_name }}"
    assert saved.assign_on_reply is False


def test_new_mailbox_assigns_on_reply_by_default(session):
    mailbox = make_mailbox(session)

    assert _fresh(session, Mailbox, mailbox.id).assign_on_reply is True


def test_mailbox_signature_with_a_template_error_is_refused(admin_client, session):
    mailbox = make_mailbox(session, address="support@helpdesk.test", signature="Old")

    response = post_form(
        admin_client,
        f"/admin/mailboxes/{mailbox.id}",
        VALID | {"signature": "{{ agent_name }\n", "assign_on_reply": "y"},
    )

    assert response.status_code == 400
    assert "Template error on line 1" in response.get_data(as_text=True)
    assert _fresh(session, Mailbox, mailbox.id).signature == "Old"


def test_agent_cannot_change_a_mailbox_signature(agent_client, session):
    mailbox = make_mailbox(session, signature="Old")

    response = post_form(agent_client, f"/admin/mailboxes/{mailbox.id}", {"signature": "New"})

    assert response.status_code == 403
    assert _fresh(session, Mailbox, mailbox.id).signature == "Old"


def test_composer_shows_the_signature_the_reply_will_carry(agent_client, session, agent):
    mailbox = make_mailbox(session, name="Hanbit", signature="{{ agent_signature }}\nHanbit team")
    ticket_id = ingest(session, mail(), mailbox=mailbox).ticket_id
    session.get(User, agent.id).signature = "Alex"
    session.commit()

    page = agent_client.get(f"/tickets/{ticket_id}").get_data(as_text=True)

    assert 'id="signature-preview"' in page
    assert "Alex\nHanbit team</pre>" in page
