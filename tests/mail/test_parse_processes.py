"""Fetched mail is parsed in other processes than the one writing to the database."""

from __future__ import annotations

import functools
import os
from concurrent.futures.process import BrokenProcessPool

import pytest
from sqlalchemy import select

from helpdesk.inbound import poll
from helpdesk.inbound.poll import parse_in_processes, poll_mailbox
from helpdesk.mail.parse import parse_message
from helpdesk.tickets.models import Ticket
from tests.tickets.mails import mail


def parse_and_report_process(raw: bytes) -> tuple[str, int]:
    return parse_message(raw).subject, os.getpid()


def die(raw: bytes) -> None:
    os._exit(1)


def die_parsing(raw: bytes, settings, own) -> None:
    os._exit(1)


def test_messages_are_parsed_in_order_in_another_process():
    raws = [mail("Hello", subject=f"Question {n}") for n in range(5)]

    results = parse_in_processes(parse_and_report_process, raws)

    assert [subject for subject, _ in results] == [f"Question {n}" for n in range(5)]
    assert os.getpid() not in {pid for _, pid in results}


def test_a_killed_parse_process_fails_the_call_and_the_next_one_gets_a_new_pool():
    with pytest.raises(BrokenProcessPool):
        parse_in_processes(die, [b"anything"])

    parsed = parse_in_processes(functools.partial(parse_message), [mail("Hi", subject="Again")])

    assert [p.subject for p in parsed] == ["Again"]


def test_poll_whose_parse_process_dies_parses_in_ingest_and_loses_nothing(
    session, config, imap_mailbox, imap_account, monkeypatch
):
    imap_account.append(mail(subject="One"), mail(subject="Two", message_id="<two@example.com>"))
    monkeypatch.setattr(poll, "parse_incoming", die_parsing)

    result = poll_mailbox(imap_mailbox.id, config)

    assert (result.fetched, result.ingested, result.error) == (2, 2, "")
    assert sorted(session.scalars(select(Ticket.subject))) == ["One", "Two"]
