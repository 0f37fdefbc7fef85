"""send_reply: the stored outgoing reply, its threading headers, and the refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.tickets import replies, service
from helpdesk.tickets.models import (
    Attachment,
    AttachmentBlob,
    Message,
    MessageKind,
    SendStatus,
    Ticket,
    TicketStatus,
)
from helpdesk.tickets.threading import ticket_id_from_body, ticket_id_from_message_id
from tests.factories import make_mailbox, make_message, make_user
from tests.tickets.mails import SETTINGS, ingest, mail

MAIL = replies.MailSettings(secret_key=SETTINGS.secret_key, domain="helpdesk.test")


@pytest.fixture
def conversation(session):
    """A ticket opened by mail, and the id of that customer message."""
    mailbox = make_mailbox(session, name="Hanbit Support", address="help@hanbit.test")
    result = ingest(
        session,
        mail(subject="Order 1001 missing", headers={"References": "<root@example.com>"}),
        mailbox=mailbox,
    )
    return result.ticket_id, result.message_id


def reply(session, ticket_id, agent_id, seen, body="We are on it.", **kwargs):
    values = {"cc": "", "attachments": [], "new_status": None} | kwargs
    message = replies.send_reply(
        session,
        ticket_id,
        agent_id,
        body,
        values["cc"],
        values["attachments"],
        seen,
        values["new_status"],
        mail=MAIL,
    )
    session.commit()
    return message


def fresh(session, model, key):
    session.expire_all()
    row = session.get(model, key)
    session.commit()
    return row


def count_replies(session, ticket_id) -> int:
    count = session.scalar(
        select(func.count()).where(
            Message.ticket_id == ticket_id, Message.kind == MessageKind.reply
        )
    )
    session.commit()
    return count


def test_reply_is_stored_queued_from_the_mailbox_to_the_customer(session, agent, conversation):
    ticket_id, seen = conversation
    message = reply(session, ticket_id, agent.id, seen)
    assert message.kind == MessageKind.reply
    assert message.send_status == SendStatus.queued
    assert message.from_email == "help@hanbit.test"
    assert message.from_name == "Hanbit Support"
    assert message.to == ["minji@example.com"]
    assert message.author_id == agent.id
    assert message.body_reply == "We are on it."


def test_reply_subject_is_re_with_the_ticket_reference(session, agent, conversation):
    ticket_id, seen = conversation
    assert reply(session, ticket_id, agent.id, seen).subject == (
        f"Re: Order 1001 missing [#{ticket_id}]"
    )


def test_reply_subject_does_not_pile_up_prefixes_or_references(session, agent):
    ticket_id = ingest(session, mail(subject="RE: Refund [#77]")).ticket_id
    make_mailbox(session)
    seen = fresh(session, Ticket, ticket_id).messages[-1].id
    assert reply(session, ticket_id, agent.id, seen).subject == f"RE: Refund [#{ticket_id}]"


def test_reply_threads_under_the_customer_message(session, agent, conversation):
    ticket_id, seen = conversation
    message = reply(session, ticket_id, agent.id, seen)
    assert message.in_reply_to == "m1@example.com"
    assert message.references == ["root@example.com", "m1@example.com"]


def test_reply_message_id_and_body_marker_are_signed_for_the_ticket(session, agent, conversation):
    ticket_id, seen = conversation
    message = reply(session, ticket_id, agent.id, seen)
    assert message.message_id.endswith("@helpdesk.test")
    assert ticket_id_from_message_id(message.message_id, SETTINGS.secret_key) == ticket_id
    assert message.body_text.startswith("We are on it.\n\n")
    assert ticket_id_from_body(message.body_text, SETTINGS.secret_key) == ticket_id


def test_reply_moves_the_ticket_to_waiting_and_records_the_first_response(
    session, agent, conversation
):
    ticket_id, seen = conversation
    before = fresh(session, Ticket, ticket_id).version
    message = reply(session, ticket_id, agent.id, seen)
    ticket = fresh(session, Ticket, ticket_id)
    assert ticket.status == TicketStatus.waiting
    assert ticket.first_response_at == message.created_at
    assert ticket.last_agent_reply_at == message.created_at
    assert ticket.customer_replied_last is False
    assert ticket.response_due_at is None
    assert ticket.version == before + 1


def test_agent_can_pick_another_status_when_replying(session, agent, conversation):
    ticket_id, seen = conversation
    reply(session, ticket_id, agent.id, seen, new_status="resolved")
    ticket = fresh(session, Ticket, ticket_id)
    assert ticket.status == TicketStatus.resolved
    assert ticket.resolved_at is not None


def test_second_reply_keeps_the_first_response_time(session, agent, conversation):
    ticket_id, seen = conversation
    first = reply(session, ticket_id, agent.id, seen)
    reply(session, ticket_id, agent.id, first.id, body="One more thing.")
    assert fresh(session, Ticket, ticket_id).first_response_at == first.created_at


def test_cc_addresses_are_cleaned_and_kept(session, agent, conversation):
    ticket_id, seen = conversation
    message = reply(session, ticket_id, agent.id, seen, cc="boss@example.com; Team@Example.COM, ")
    assert message.cc == ["boss@example.com", "Team@example.com"]


def test_attachments_are_stored_with_the_reply(session, agent, conversation):
    ticket_id, seen = conversation
    upload = replies.Upload("견적서.pdf", "application/pdf", b"%PDF-1.4 quote")
    message = reply(session, ticket_id, agent.id, seen, attachments=[upload])
    [attachment] = session.scalars(select(Attachment).where(Attachment.message_id == message.id))
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "견적서.pdf",
        "application/pdf",
        14,
    )
    assert session.get(AttachmentBlob, attachment.blob_sha256).content == b"%PDF-1.4 quote"
    session.commit()


def test_attachment_without_a_usable_type_gets_one_from_its_name(session, agent, conversation):
    ticket_id, seen = conversation
    upload = replies.Upload("photo.png", "not a type", b"\x89PNG")
    message = reply(session, ticket_id, agent.id, seen, attachments=[upload])
    attachment = session.scalars(
        select(Attachment).where(Attachment.message_id == message.id)
    ).one()
    assert attachment.content_type == "image/png"
    session.commit()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"body": "   \n "}, "body"),
        ({"cc": "not-an-address"}, "cc"),
        ({"new_status": "done"}, "status"),
        ({"attachments": [replies.Upload("empty.txt", "text/plain", b"")]}, "attachments"),
    ],
)
def test_bad_reply_input_is_refused_and_nothing_is_written(
    session, agent, conversation, changes, field
):
    ticket_id, seen = conversation
    version = fresh(session, Ticket, ticket_id).version
    changes = dict(changes)  # the parametrized dict is shared by both databases' runs
    body = changes.pop("body", "Fine text")
    with pytest.raises(service.InvalidInput) as refused:
        reply(session, ticket_id, agent.id, seen, body=body, **changes)
    session.rollback()
    assert refused.value.field == field
    assert count_replies(session, ticket_id) == 0
    assert fresh(session, Ticket, ticket_id).version == version


def test_too_many_attachment_bytes_are_refused(session, agent, conversation):
    ticket_id, seen = conversation
    big = replies.Upload("big.bin", "application/octet-stream", b"x" * (25 * 1024 * 1024 + 1))
    with pytest.raises(service.InvalidInput, match="25 MB"):
        reply(session, ticket_id, agent.id, seen, attachments=[big])


def test_reply_by_a_marketer_is_refused(session, marketer, conversation):
    ticket_id, seen = conversation
    with pytest.raises(service.UnknownAgent):
        reply(session, ticket_id, marketer.id, seen)
    session.rollback()
    assert count_replies(session, ticket_id) == 0


def test_seen_id_of_another_ticket_is_refused(session, agent, conversation):
    ticket_id, _seen = conversation
    other = ingest(session, mail(sender="lee@example.com", message_id="<other@example.com>"))
    with pytest.raises(service.InvalidInput, match="does not belong to this ticket"):
        reply(session, ticket_id, agent.id, other.message_id)
    session.rollback()
    assert count_replies(session, ticket_id) == 0


def test_reply_without_any_mailbox_is_refused(session, agent):
    ticket_id = ingest(session, mail()).ticket_id
    seen = fresh(session, Ticket, ticket_id).messages[-1].id
    with pytest.raises(service.InvalidInput, match="no mailbox"):
        reply(session, ticket_id, agent.id, seen)


@pytest.mark.parametrize("kind", [MessageKind.customer, MessageKind.reply, MessageKind.note])
def test_reply_is_refused_when_something_newer_arrived(session, agent, conversation, kind):
    ticket_id, seen = conversation
    ticket = fresh(session, Ticket, ticket_id)
    newer = make_message(session, ticket, kind=kind, body_text="Newer than what you saw")
    with pytest.raises(service.ReplyConflict) as refused:
        reply(session, ticket_id, agent.id, seen)
    session.rollback()
    assert [m.id for m in refused.value.new_messages] == [newer.id]
    assert refused.value.latest_message_id == newer.id
    assert count_replies(session, ticket_id) == (1 if kind == MessageKind.reply else 0)


def test_events_and_automatic_mail_do_not_block_a_reply(session, agent, conversation):
    ticket_id, seen = conversation
    ticket = fresh(session, Ticket, ticket_id)
    make_message(session, ticket, kind=MessageKind.event, body_text="Taken by Alex.")
    make_message(session, ticket, kind=MessageKind.auto_reply, body_text="Out of office")
    assert reply(session, ticket_id, agent.id, seen).kind == MessageKind.reply


def test_confirming_with_the_new_seen_id_sends(session, agent, conversation):
    ticket_id, seen = conversation
    other = make_user(session, email="sam@example.com", name="Sam Support")
    first = reply(session, ticket_id, other.id, seen, body="Sam's answer")
    with pytest.raises(service.ReplyConflict) as refused:
        reply(session, ticket_id, agent.id, seen)
    session.rollback()
    second = reply(session, ticket_id, agent.id, refused.value.latest_message_id)
    assert second.id > first.id
    assert count_replies(session, ticket_id) == 2


def test_failed_reply_can_be_queued_again(session, agent, conversation):
    ticket_id, seen = conversation
    message = reply(session, ticket_id, agent.id, seen)
    message.send_status = SendStatus.failed
    message.send_error = "SMTPRecipientsRefused: 550"
    session.commit()
    replies.requeue_failed_reply(session, ticket_id, message.id)
    session.commit()
    again = fresh(session, Message, message.id)
    assert (again.send_status, again.send_error) == (SendStatus.queued, "")


def test_only_failed_replies_can_be_queued_again(session, agent, conversation):
    ticket_id, seen = conversation
    message = reply(session, ticket_id, agent.id, seen)
    with pytest.raises(service.InvalidInput, match="queued"):
        replies.requeue_failed_reply(session, ticket_id, message.id)


def test_retry_through_another_ticket_is_refused(session, agent, conversation):
    ticket_id, seen = conversation
    message = reply(session, ticket_id, agent.id, seen)
    other = ingest(session, mail(sender="lee@example.com", message_id="<o@example.com>"))
    with pytest.raises(service.InvalidInput, match="no such reply"):
        replies.requeue_failed_reply(session, other.ticket_id, message.id)
