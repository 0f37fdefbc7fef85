"""Fetched mail is parsed in other processes than the one writing to the database."""

from __future__ import annotations

import functools
import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from helpdesk.mail.imap import parse_in_processes
from helpdesk.mail.parse import parse_message
from tests.tickets.mails import mail


def parse_and_report_process(raw: bytes) -> tuple[str, int]:
    return parse_message(raw).subject, os.getpid()


def die(raw: bytes) -> None:
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
