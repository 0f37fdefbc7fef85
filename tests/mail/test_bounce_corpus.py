"""Every message of the bounce corpus is classified as expected: its kind, the failed (or
reached, or complaining) recipients, hard or soft, and the status code; and over the whole
corpus nothing that is a report would open a ticket or be quarantined."""

from collections import Counter

import pytest

from helpdesk.mail.parse import Kind
from tests.mail.bounce_corpus import CORPUS, accuracy, expectations, outcome, run_corpus

EXPECTED = expectations()


def test_corpus_files_and_expectations_match():
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 300


def test_corpus_covers_every_kind_and_the_named_mail_systems():
    kinds = Counter(e.kind for e in EXPECTED.values())
    assert set(kinds) == set(Kind)
    prefixes = {name.split("-")[0] for name in EXPECTED}
    for mta in (
        "sendmail", "postfix", "exim", "qmail", "opensmtpd", "courier", "exchange2003",
        "exchange2010", "exchange2013", "exchange2019", "office365", "domino", "imail",
        "mdaemon", "mcafee", "barracuda", "sophos", "yahoo", "gmail", "outlookcom", "ses",
        "sendgrid", "postmark", "dragonfly", "docomo", "kddi", "korea", "arf", "autoreply",
        "challenge", "normal",
    ):  # fmt: skip
        assert mta in prefixes


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda name: name.removesuffix(".eml"))
def test_corpus_message(name):
    expected = EXPECTED[name]
    result = outcome(name, expected)
    assert result.quarantine_reason is None
    assert result.kind == expected.kind
    assert result.recipients == expected.recipients
    assert result.hard == expected.hard
    if expected.kind in (Kind.bounce, Kind.delivery_receipt):
        assert result.status == expected.status


def test_corpus_accuracy_and_nothing_would_open_a_ticket_or_be_quarantined():
    outcomes = run_corpus()
    assert accuracy(outcomes) >= 0.98
    assert [o.name for o in outcomes if o.would_open_ticket] == []
    assert [o.name for o in outcomes if o.quarantine_reason] == []
