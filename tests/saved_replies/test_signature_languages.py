"""A reply is signed in the customer's language where their `language` field says it,
else in the mailbox's language of replies; an empty text in that language gives way to
the other language's, for the agent's and the mailbox's signature each."""

from __future__ import annotations

import pytest

from helpdesk.customers.service import customer_language
from helpdesk.mail.models import Mailbox
from helpdesk.mail.signatures import Signature, reply_language, reply_signature
from helpdesk.tickets import replies
from helpdesk.tickets.models import Ticket
from tests.factories import make_mailbox, set_customer_language
from tests.tickets.mails import SETTINGS, ingest, mail

MAIL = replies.MailSettings(secret_key=SETTINGS.secret_key, domain="helpdesk.test")
BOTH = {
    "signature": "{{ agent_signature }}\nHanbit Books",
    "signature_ko": "{{ agent_signature }}\n한빛북스 고객지원",
}


def _agent_signs(session, agent, english: str, korean: str) -> None:
    agent.signature, agent.signature_ko = english, korean
    session.add(agent)
    session.commit()


def _ticket(session, **mailbox_values) -> tuple[int, int]:
    mailbox = make_mailbox(session, name="Hanbit", **mailbox_values)
    result = ingest(session, mail(), mailbox=mailbox)
    session.commit()
    return result.ticket_id, result.message_id


def _send(session, agent, ticket_id, seen) -> str:
    message = replies.send_reply(
        session, ticket_id, agent.id, "We are on it.", "", [], seen, None, mail=MAIL
    )
    session.commit()
    return message.body_text


def _customer_id(session, ticket_id: int) -> int:
    return session.get(Ticket, ticket_id).customer_id


def test_customer_language_wins_over_the_mailbox_language():
    assert reply_language(Mailbox(reply_language="en"), "ko") == "ko"


def test_mailbox_language_is_used_when_the_customer_language_is_unknown():
    assert reply_language(Mailbox(reply_language="ko"), None) == "ko"


def test_without_a_mailbox_replies_are_signed_in_english():
    assert reply_language(None, "fr") == "en"


def test_korean_signature_puts_the_agents_korean_text_in_the_mailboxs(agent):
    agent.signature, agent.signature_ko = "Alex", "알렉스"

    signature = reply_signature(Mailbox(name="Hanbit", **BOTH), agent, "ko")

    assert signature == Signature("알렉스\n한빛북스 고객지원", "ko")


def test_empty_korean_texts_fall_back_to_english_and_say_so(agent):
    agent.signature, agent.signature_ko = "Alex", ""
    mailbox = Mailbox(name="Hanbit", signature="Hanbit Books", signature_ko="")

    assert reply_signature(mailbox, agent, "ko") == Signature("Alex\n\nHanbit Books", "en")


def test_only_the_empty_part_falls_back_and_the_language_stays_korean(agent):
    agent.signature, agent.signature_ko = "Alex", ""

    signature = reply_signature(Mailbox(name="Hanbit", **BOTH), agent, "ko")

    assert signature == Signature("Alex\n한빛북스 고객지원", "ko")


@pytest.mark.parametrize(
    ("value", "language"),
    [
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("EN_us", "en"),
        ("kor", "ko"),
        ("한국어", "ko"),
        ("English", "en"),
    ],
)
def test_customer_language_is_read_from_the_language_field(session, value, language):
    ticket_id, _ = _ticket(session)
    set_customer_language(session, _customer_id(session, ticket_id), value)

    assert customer_language(session, _customer_id(session, ticket_id)) == language


@pytest.mark.parametrize("value", ["fr", "ja-KR", "engl", " "])
def test_a_language_the_helpdesk_does_not_sign_in_is_unknown(session, value):
    ticket_id, _ = _ticket(session)
    set_customer_language(session, _customer_id(session, ticket_id), value)

    assert customer_language(session, _customer_id(session, ticket_id)) is None


def test_customer_without_a_language_field_has_no_known_language(session):
    ticket_id, _ = _ticket(session)

    assert customer_language(session, _customer_id(session, ticket_id)) is None


def test_reply_to_a_korean_customer_carries_the_korean_signature(session, agent):
    ticket_id, seen = _ticket(session, **BOTH)
    set_customer_language(session, _customer_id(session, ticket_id), "ko")
    _agent_signs(session, agent, "Alex", "알렉스")

    body = _send(session, agent, ticket_id, seen)

    assert body.startswith("We are on it.\n\n-- \n알렉스\n한빛북스 고객지원\n\n[ref:")


def test_reply_to_a_customer_of_unknown_language_uses_the_mailbox_language(session, agent):
    ticket_id, seen = _ticket(session, reply_language="ko", **BOTH)
    _agent_signs(session, agent, "Alex", "알렉스")

    body = _send(session, agent, ticket_id, seen)

    assert "-- \n알렉스\n한빛북스 고객지원\n" in body


def test_english_customer_of_a_korean_mailbox_gets_the_english_signature(session, agent):
    ticket_id, seen = _ticket(session, reply_language="ko", **BOTH)
    set_customer_language(session, _customer_id(session, ticket_id), "en")
    _agent_signs(session, agent, "Alex", "알렉스")

    body = _send(session, agent, ticket_id, seen)

    assert "-- \nAlex\nHanbit Books\n" in body
