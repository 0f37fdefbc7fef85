"""A sent reply carries the agent's signature inside the mailbox's, and a reply to an
unassigned ticket assigns it to the replier where the mailbox says so (the default)."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.auth.models import User
from helpdesk.mail.models import Mailbox
from helpdesk.mail.signatures import reply_signature
from helpdesk.tickets import replies
from helpdesk.tickets.models import Message, MessageKind, Ticket
from tests.factories import make_mailbox, make_user
from tests.tickets.mails import SETTINGS, ingest, mail

MAIL = replies.MailSettings(secret_key=SETTINGS.secret_key, domain="helpdesk.test")


def _ticket(session, **mailbox_values) -> tuple[int, int]:
    mailbox = make_mailbox(session, name="Hanbit Support", **mailbox_values)
    result = ingest(session, mail(), mailbox=mailbox)
    session.commit()
    return result.ticket_id, result.message_id


def _send(session, agent, ticket_id, seen) -> Message:
    message = replies.send_reply(
        session, ticket_id, agent.id, "We are on it.", "", [], seen, None, mail=MAIL
    )
    session.commit()
    return message


def _sign(session, agent, text: str) -> None:
    session.get(User, agent.id).signature = text
    session.commit()


def test_agent_signature_is_placed_where_the_mailbox_signature_asks(agent):
    mailbox = Mailbox(name="Hanbit", signature="Best,\n{{ agent_signature }}\n{{ mailbox_name }}")
    agent.signature = "Alex · 알렉스"

    assert reply_signature(mailbox, agent).text == "Best,\nAlex · 알렉스\nHanbit"


def test_agent_signature_goes_above_a_mailbox_signature_without_its_placeholder(agent):
    mailbox = Mailbox(name="Hanbit", signature="Hanbit Books support")
    agent.signature = "Alex"

    assert reply_signature(mailbox, agent).text == "Alex\n\nHanbit Books support"


def test_no_signature_at_all_adds_nothing(session, agent):
    ticket_id, seen = _ticket(session)

    sent = _send(session, agent, ticket_id, seen)

    assert "-- \n" not in sent.body_text
    assert sent.body_text.startswith("We are on it.\n\n[ref:")


def test_sent_reply_carries_the_signature_but_the_shown_text_does_not(session, agent):
    ticket_id, seen = _ticket(session, signature="{{ agent_signature }}\n— {{ mailbox_name }}")
    _sign(session, agent, "Alex Agent")

    sent = _send(session, agent, ticket_id, seen)

    assert sent.body_text.startswith("We are on it.\n\n-- \nAlex Agent\n— Hanbit Support\n\n[ref:")
    assert sent.body_reply == "We are on it."


def test_reply_to_an_unassigned_ticket_assigns_it_to_the_replier(session, agent):
    ticket_id, seen = _ticket(session)

    _send(session, agent, ticket_id, seen)

    assert session.get(Ticket, ticket_id).assignee_id == agent.id
    events = session.scalars(
        select(Message.body_text).where(
            Message.ticket_id == ticket_id, Message.kind == MessageKind.event
        )
    ).all()
    assert events == ["Assigned to Alex Agent on reply."]


def test_reply_leaves_an_assigned_ticket_with_its_assignee(session, agent):
    other = make_user(session, email="other@example.com", name="Other Agent")
    ticket_id, seen = _ticket(session)
    session.get(Ticket, ticket_id).assignee_id = other.id
    session.commit()

    _send(session, agent, ticket_id, seen)

    assert session.get(Ticket, ticket_id).assignee_id == other.id


def test_reply_leaves_the_ticket_unassigned_when_the_mailbox_says_so(session, agent):
    ticket_id, seen = _ticket(session, assign_on_reply=False)

    _send(session, agent, ticket_id, seen)

    assert session.get(Ticket, ticket_id).assignee_id is None
