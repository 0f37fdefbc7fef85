"""A copy of a mail is a duplicate only when it is the same mail (same Message-ID, sender
and Date); a different mail that reuses a Message-ID is taken in, with the reuse noted."""

from __future__ import annotations

import threading

from sqlalchemy import func, select, update

from helpdesk.db import database
from helpdesk.inbound.incoming import Incoming
from helpdesk.inbound.ingest import ingest_batch
from helpdesk.mail.models import RawMessage, RawSource, RawStatus, SeenMessage
from helpdesk.tickets.models import Message, MessageKind, Ticket
from tests.tickets.mails import SETTINGS, ingest, mail

OTHER_SENDER = "Park Jisoo <jisoo@example.org>"
LATER = "Tue, 24 Nov 2026 08:30:00 +0000"


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def events(session, ticket_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Message.body_text).where(
                Message.ticket_id == ticket_id, Message.kind == MessageKind.event
            )
        )
    )


def test_same_mail_received_twice_is_one_message(session):
    first = ingest(session, mail(), imap_uid=1)
    second = ingest(session, mail(), imap_uid=2)

    assert (first.status, second.status) == (RawStatus.ingested, RawStatus.duplicate)
    assert second.ticket_id == first.ticket_id
    assert session.get(RawMessage, second.raw_message_id).duplicate_of_id == first.raw_message_id
    assert count(session, Message) == 1


def test_same_mail_relayed_by_another_route_is_one_message(session):
    direct = b"Received: from mx1.example.com by gateway.helpdesk.test\r\n" + mail()
    relayed = (
        b"Delivered-To: support@helpdesk.test\r\n"
        b"Received: from mx2.example.net by imap.helpdesk.test\r\n"
        b"Received: from relay.example.net by mx2.example.net\r\n" + mail()
    )

    first = ingest(session, direct, source=RawSource.smtp)
    second = ingest(session, relayed)

    assert second.status == RawStatus.duplicate
    assert second.ticket_id == first.ticket_id
    assert count(session, Message) == 1


def test_same_date_written_in_another_time_zone_is_the_same_mail(session):
    ingest(session, mail(date="Mon, 23 Nov 2026 10:00:00 +0000"))

    again = ingest(session, mail(date="Mon, 23 Nov 2026 19:00:00 +0900"))

    assert again.status == RawStatus.duplicate


def test_sender_address_in_other_case_is_the_same_mail(session):
    ingest(session, mail())

    again = ingest(session, mail(sender="Kim Minji <MINJI@Example.com>"))

    assert again.status == RawStatus.duplicate


def test_other_sender_reusing_a_message_id_gets_a_ticket_of_its_own(session):
    first = ingest(session, mail())

    other = ingest(session, mail("A different question.", sender=OTHER_SENDER))

    assert (other.status, other.created_ticket) == (RawStatus.ingested, True)
    assert other.ticket_id != first.ticket_id
    assert session.get(Message, other.message_id).body_text.startswith("A different question.")
    assert count(session, Ticket) == 2


def test_same_sender_reusing_a_message_id_on_another_date_is_another_message(session):
    first = ingest(session, mail())

    later = ingest(session, mail(date=LATER))

    assert later.status == RawStatus.ingested
    assert later.message_id is not None
    assert later.raw_message_id != first.raw_message_id
    assert count(session, Message, Message.kind == MessageKind.customer) == 2


def test_other_body_and_date_with_a_reused_message_id_is_another_message(session):
    ingest(session, mail())

    other = ingest(session, mail("Where is my refund?", subject="Refund", date=LATER))

    assert other.status == RawStatus.ingested
    assert session.get(Message, other.message_id).subject == "Refund"


def test_reuse_is_noted_on_the_raw_message(session):
    first = ingest(session, mail())

    other = ingest(session, mail(sender=OTHER_SENDER))

    raw = session.get(RawMessage, other.raw_message_id)
    assert raw.status == RawStatus.ingested
    assert raw.message_id == "m1@example.com"
    assert raw.duplicate_of_id is None
    assert (
        f"reused the Message-ID of a different mail (raw message {first.raw_message_id},"
        f" ticket #{first.ticket_id})"
    ) in raw.status_reason


def test_reuse_is_noted_on_the_ticket_with_the_first_mails_ticket(session):
    first = ingest(session, mail())

    other = ingest(session, mail(sender=OTHER_SENDER))

    assert events(session, other.ticket_id) == [
        "This mail reused the Message-ID <m1@example.com> of a different mail received"
        f" earlier (raw message {first.raw_message_id}, ticket #{first.ticket_id})."
        " It was taken in as a message of its own."
    ]
    assert events(session, first.ticket_id) == []


def test_ticket_page_shows_the_reuse_to_the_agent(agent_client, session):
    first = ingest(session, mail())
    other = ingest(session, mail(sender=OTHER_SENDER))

    html = agent_client.get(f"/tickets/{other.ticket_id}").get_data(as_text=True)

    assert "reused the Message-ID &lt;m1@example.com&gt; of a different mail" in html
    assert f"ticket #{first.ticket_id}" in html


def test_first_mail_keeps_the_message_id_on_its_ticket_message(session):
    first = ingest(session, mail())

    other = ingest(session, mail(sender=OTHER_SENDER))

    assert session.get(Message, first.message_id).message_id == "m1@example.com"
    assert session.get(Message, other.message_id).message_id is None


def test_copy_of_the_reusing_mail_is_a_duplicate_of_it(session):
    ingest(session, mail())
    other = ingest(session, mail(sender=OTHER_SENDER))

    again = ingest(session, mail(sender=OTHER_SENDER))

    assert again.status == RawStatus.duplicate
    assert again.ticket_id == other.ticket_id
    assert session.get(RawMessage, again.raw_message_id).duplicate_of_id == other.raw_message_id
    assert count(session, Ticket) == 2


def test_reuse_within_one_batch_gives_each_mail_its_message(session):
    results = ingest_batch(
        session,
        [Incoming(mail()), Incoming(mail(sender=OTHER_SENDER)), Incoming(mail())],
        source=RawSource.imap,
        settings=SETTINGS,
    )

    assert [r.status for r in results] == [
        RawStatus.ingested,
        RawStatus.ingested,
        RawStatus.duplicate,
    ]
    assert results[1].ticket_id != results[0].ticket_id
    assert results[2].ticket_id == results[0].ticket_id
    assert len(events(session, results[1].ticket_id)) == 1


def test_reply_referencing_a_reused_message_id_threads_to_the_first_mails_ticket(session):
    first = ingest(session, mail())
    ingest(session, mail(sender=OTHER_SENDER))

    reply = ingest(
        session,
        mail(
            "Any news?",
            message_id="<m2@example.com>",
            headers={"In-Reply-To": "<m1@example.com>"},
        ),
    )

    assert (reply.status, reply.created_ticket) == (RawStatus.ingested, False)
    assert reply.ticket_id == first.ticket_id


def test_follow_up_by_the_reusing_mails_customer_threads_to_their_ticket(session):
    ingest(session, mail())
    other = ingest(session, mail(sender=OTHER_SENDER))

    follow_up = ingest(
        session,
        mail(
            "Any news on my question?",
            sender=OTHER_SENDER,
            message_id="<j2@example.org>",
            headers={"In-Reply-To": "<m1@example.com>"},
        ),
    )

    assert (follow_up.status, follow_up.created_ticket) == (RawStatus.ingested, False)
    assert follow_up.ticket_id == other.ticket_id
    assert "reused; the sender's mail" in follow_up.reason


def test_reply_by_someone_else_to_a_reused_message_id_threads_to_the_first_mails_ticket(
    session,
):
    first = ingest(session, mail())
    ingest(session, mail(sender=OTHER_SENDER))

    reply = ingest(
        session,
        mail(
            "Replying to all.",
            sender="Lee Dana <dana@example.net>",
            message_id="<d1@example.net>",
            headers={"In-Reply-To": "<m1@example.com>"},
        ),
    )

    assert reply.ticket_id == first.ticket_id


def test_follow_up_in_the_same_batch_as_the_reusing_mail_threads_to_its_ticket(session):
    ingest(session, mail())

    other, follow_up = ingest_batch(
        session,
        [
            Incoming(mail(sender=OTHER_SENDER)),
            Incoming(
                mail(
                    "And one more thing.",
                    sender=OTHER_SENDER,
                    message_id="<j2@example.org>",
                    headers={"References": "<m1@example.com>"},
                )
            ),
        ],
        source=RawSource.imap,
        settings=SETTINGS,
    )

    assert follow_up.ticket_id == other.ticket_id
    assert not follow_up.created_ticket


def test_ledger_row_from_before_identities_is_compared_by_the_stored_mail(session):
    first = ingest(session, mail())
    # As a row written before revision 0005 looks.
    session.execute(update(SeenMessage).values(identity=None))
    session.commit()

    same = ingest(session, mail())
    other = ingest(session, mail(sender=OTHER_SENDER))

    assert same.status == RawStatus.duplicate
    assert same.ticket_id == first.ticket_id
    assert other.status == RawStatus.ingested
    assert session.get(SeenMessage, "m1@example.com").identity is not None


def test_empty_message_id_header_falls_back_to_the_bytes(session):
    one = ingest(session, mail(message_id=""))
    same = ingest(session, mail(message_id=""))
    other = ingest(session, mail("Another question.", message_id=""))

    assert [r.status for r in (one, same, other)] == [
        RawStatus.ingested,
        RawStatus.duplicate,
        RawStatus.ingested,
    ]
    assert session.get(RawMessage, one.raw_message_id).message_id is None


def test_garbage_message_id_header_falls_back_to_the_bytes(session):
    one = ingest(session, mail(message_id="not an id !!"))
    other = ingest(session, mail("Another question.", message_id="not an id !!"))

    assert (one.status, other.status) == (RawStatus.ingested, RawStatus.ingested)
    assert session.get(RawMessage, other.raw_message_id).status_reason == "new ticket"


def test_overlong_reused_message_id_is_told_apart_by_sender(session):
    long_id = "<" + "x" * 2000 + "@example.com>"

    first = ingest(session, mail(message_id=long_id))
    same = ingest(session, mail(message_id=long_id))
    other = ingest(session, mail(message_id=long_id, sender=OTHER_SENDER))

    assert [r.status for r in (first, same, other)] == [
        RawStatus.ingested,
        RawStatus.duplicate,
        RawStatus.ingested,
    ]
    assert len(session.get(RawMessage, other.raw_message_id).message_id) == 998
    assert other.ticket_id != first.ticket_id


def _at_once(raws: list[bytes]) -> list:
    """Ingest each raw message in a thread of its own, all starting together."""
    barrier = threading.Barrier(len(raws))
    results = []

    def worker(raw):
        own = database.session()
        try:
            barrier.wait()
            results.append(ingest(own, raw))
        finally:
            own.close()

    threads = [threading.Thread(target=worker, args=(raw,)) for raw in raws]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_workers_taking_in_the_same_reusing_mail_at_once_make_one_message(session):
    ingest(session, mail())
    session.commit()

    results = _at_once([mail(sender=OTHER_SENDER)] * 2)

    assert sorted(r.status for r in results) == [RawStatus.duplicate, RawStatus.ingested]
    assert count(session, Ticket) == 2
    assert count(session, Message, Message.kind == MessageKind.customer) == 2


def test_two_different_mails_with_one_message_id_at_once_are_both_taken_in(session):
    results = _at_once([mail(), mail(sender=OTHER_SENDER)])

    assert [r.status for r in results] == [RawStatus.ingested] * 2
    assert count(session, Ticket) == 2
    reasons = sorted(session.scalars(select(RawMessage.status_reason)))
    assert reasons[0] == "new ticket"
    assert "reused the Message-ID of a different mail" in reasons[1]
