"""Replies find their ticket: In-Reply-To, References, signed ids, body marker, subject."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.customers.models import Customer
from helpdesk.mail.models import ClosedReplyPolicy, RawStatus
from helpdesk.tickets.models import Message, MessageKind, Participant, Ticket, TicketStatus
from helpdesk.tickets.threading import make_body_marker, make_message_id
from tests.factories import make_mailbox, make_ticket, make_user
from tests.tickets.mails import SETTINGS, ingest, mail

SECRET = SETTINGS.secret_key


def outgoing(session, ticket, message_id):
    """One of our sent replies, stored with its Message-ID."""
    session.add(
        Message(ticket_id=ticket.id, kind=MessageKind.reply, message_id=message_id, subject="Re")
    )
    session.commit()


def reply(message_id="<r1@example.com>", **kwargs):
    kwargs.setdefault("subject", "Re: something")
    return mail(message_id=message_id, **kwargs)


def test_in_reply_to_a_stored_customer_message_threads(session):
    first = ingest(session, mail())
    second = ingest(session, reply(headers={"In-Reply-To": "<m1@example.com>"}))
    assert second.status == RawStatus.ingested
    assert not second.created_ticket
    assert second.ticket_id == first.ticket_id
    assert "In-Reply-To" in second.reason


def test_in_reply_to_our_stored_reply_threads(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    outgoing(session, ticket, "agent-reply-1@helpdesk.test")
    result = ingest(session, reply(headers={"In-Reply-To": "<agent-reply-1@helpdesk.test>"}))
    assert result.ticket_id == ticket.id
    assert not result.created_ticket


def test_references_are_tried_right_to_left(session):
    older = make_ticket(session, customer_email="minji@example.com")
    newer = make_ticket(session, customer_email="minji@example.com")
    outgoing(session, older, "old@helpdesk.test")
    outgoing(session, newer, "new@helpdesk.test")
    raw = reply(headers={"References": "<old@helpdesk.test> <unknown@x> <new@helpdesk.test>"})
    assert ingest(session, raw).ticket_id == newer.id


def test_in_reply_to_wins_over_references(session):
    one = make_ticket(session, customer_email="minji@example.com")
    two = make_ticket(session, customer_email="minji@example.com")
    outgoing(session, one, "one@helpdesk.test")
    outgoing(session, two, "two@helpdesk.test")
    raw = reply(headers={"In-Reply-To": "<one@helpdesk.test>", "References": "<two@helpdesk.test>"})
    assert ingest(session, raw).ticket_id == one.id


def test_signed_message_id_threads_without_a_stored_row(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    mid = make_message_id(ticket.id, SECRET, "helpdesk.test")
    result = ingest(session, reply(headers={"In-Reply-To": f"<{mid}>"}))
    assert result.ticket_id == ticket.id
    assert "signed" in result.reason


def test_forged_message_id_signature_opens_a_new_ticket(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    forged = f"helpdesk.t{ticket.id}.0011223344556677.abcdef0123@helpdesk.test"
    result = ingest(session, reply(headers={"In-Reply-To": f"<{forged}>"}))
    assert result.created_ticket
    assert result.ticket_id != ticket.id


def test_body_marker_threads_when_ids_were_rewritten(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    body = f"Still broken.\n\n> We are on it.\n> {make_body_marker(ticket.id, SECRET)}\n"
    result = ingest(session, reply(body=body, headers={"In-Reply-To": "<rewritten@relay>"}))
    assert result.ticket_id == ticket.id
    assert "marker" in result.reason


def test_message_id_wins_over_body_marker(session):
    by_id = make_ticket(session, customer_email="minji@example.com")
    by_marker = make_ticket(session, customer_email="minji@example.com")
    outgoing(session, by_id, "x@helpdesk.test")
    body = f"> {make_body_marker(by_marker.id, SECRET)}"
    raw = reply(body=body, headers={"In-Reply-To": "<x@helpdesk.test>"})
    assert ingest(session, raw).ticket_id == by_id.id


def test_forged_body_marker_opens_a_new_ticket(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    result = ingest(session, reply(body=f"[ref:T{ticket.id}-0123456789]"))
    assert result.created_ticket


def test_subject_token_from_the_customer_threads(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    result = ingest(session, reply(subject=f"Re: Order [#{ticket.id}]"))
    assert result.ticket_id == ticket.id
    assert "subject" in result.reason


def test_subject_token_matches_customer_address_case_insensitively(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    raw = reply(subject=f"[#{ticket.id}]", sender="Minji <MINJI@Example.COM>")
    assert ingest(session, raw).ticket_id == ticket.id


def test_subject_token_from_a_participant_threads(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    session.add(Participant(ticket_id=ticket.id, email="boss@example.com"))
    session.commit()
    raw = reply(subject=f"Re: [#{ticket.id}]", sender="Boss <boss@example.com>")
    assert ingest(session, raw).ticket_id == ticket.id


def test_subject_token_from_a_stranger_opens_a_new_ticket(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    raw = reply(subject=f"Re: [#{ticket.id}]", sender="Eve <eve@evil.example>")
    result = ingest(session, raw)
    assert result.created_ticket
    assert result.ticket_id != ticket.id
    assert session.get(Ticket, ticket.id).messages == []


def test_body_marker_wins_over_subject_token(session):
    by_marker = make_ticket(session, customer_email="minji@example.com")
    by_subject = make_ticket(session, customer_email="minji@example.com")
    raw = reply(
        subject=f"Re: [#{by_subject.id}]", body=f"> {make_body_marker(by_marker.id, SECRET)}"
    )
    assert ingest(session, raw).ticket_id == by_marker.id


def test_reply_to_merged_ticket_follows_the_chain_to_the_survivor(session):
    survivor = make_ticket(session, customer_email="minji@example.com")
    middle = make_ticket(session, customer_email="minji@example.com", merged_into_id=survivor.id)
    first = make_ticket(session, customer_email="minji@example.com", merged_into_id=middle.id)
    outgoing(session, first, "first@helpdesk.test")
    result = ingest(session, reply(headers={"In-Reply-To": "<first@helpdesk.test>"}))
    assert result.ticket_id == survivor.id
    assert session.get(Message, result.message_id).ticket_id == survivor.id


def test_reply_to_resolved_ticket_reopens_it_and_keeps_the_assignee(session):
    agent = make_user(session, email="agent@example.com")
    ticket = make_ticket(
        session,
        customer_email="minji@example.com",
        status=TicketStatus.resolved,
        assignee_id=agent.id,
    )
    result = ingest(session, reply(subject=f"Re: [#{ticket.id}]"))
    session.expire_all()
    ticket = session.get(Ticket, ticket.id)
    assert result.ticket_id == ticket.id
    assert ticket.status == TicketStatus.open
    assert ticket.assignee_id == agent.id
    assert [m.kind for m in ticket.messages] == [MessageKind.event, MessageKind.customer]


def test_reply_to_closed_ticket_reopens_it_under_reopen_policy(session):
    mailbox = make_mailbox(session, closed_reply_policy=ClosedReplyPolicy.reopen)
    ticket = make_ticket(
        session, customer_email="minji@example.com", mailbox_id=mailbox.id, status="closed"
    )
    result = ingest(session, reply(subject=f"Re: [#{ticket.id}]"), mailbox=mailbox)
    session.expire_all()
    assert result.ticket_id == ticket.id
    assert not result.created_ticket
    assert session.get(Ticket, ticket.id).status == TicketStatus.open


def test_reply_to_closed_ticket_opens_a_follow_up_under_follow_up_policy(session):
    mailbox = make_mailbox(session, closed_reply_policy=ClosedReplyPolicy.follow_up)
    ticket = make_ticket(
        session, customer_email="minji@example.com", mailbox_id=mailbox.id, status="closed"
    )
    result = ingest(session, reply(subject=f"Re: [#{ticket.id}]"), mailbox=mailbox)
    session.expire_all()
    assert result.created_ticket
    follow_up = session.get(Ticket, result.ticket_id)
    assert follow_up.follow_up_of_id == ticket.id
    assert follow_up.status == TicketStatus.new
    assert follow_up.mailbox_id == mailbox.id
    assert session.get(Ticket, ticket.id).status == TicketStatus.closed


def test_customer_reply_bumps_version_and_last_customer_message_time(session):
    first = ingest(session, mail())
    ticket = session.get(Ticket, first.ticket_id)
    version, before = ticket.version, ticket.last_customer_message_at
    ingest(session, reply(headers={"In-Reply-To": "<m1@example.com>"}))
    session.expire_all()
    ticket = session.get(Ticket, first.ticket_id)
    assert ticket.version == version + 1
    assert ticket.last_customer_message_at > before
    assert ticket.updated_at >= ticket.last_customer_message_at
    assert ticket.status == TicketStatus.new


def test_reply_from_someone_else_on_the_thread_adds_them_as_participant(session):
    first = ingest(session, mail())
    raw = reply(sender="Boss <boss@example.com>", headers={"In-Reply-To": "<m1@example.com>"})
    result = ingest(session, raw)
    assert result.ticket_id == first.ticket_id
    emails = session.scalars(
        select(Participant.email).where(Participant.ticket_id == first.ticket_id)
    ).all()
    assert emails == ["boss@example.com"]
    ticket = session.get(Ticket, first.ticket_id)
    assert session.get(Customer, ticket.customer_id).email == "minji@example.com"
