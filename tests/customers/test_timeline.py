"""The customer timeline: one newest-first list merged from every registered source."""

from datetime import UTC, datetime

import pytest

from helpdesk.customers import service, timeline
from tests.factories import make_customer, make_purchase


def at(day: int) -> datetime:
    return datetime(2024, 1, day, 12, 0, tzinfo=UTC)


def test_entries_from_all_sources_are_merged_newest_first(session, agent):
    customer = make_customer(session, now=at(1))
    make_purchase(session, customer, product="Starter", purchased_at=at(3))
    service.add_note(
        session, customer, author_id=agent.id, kind="call", happened_at=at(4), body="Called"
    )
    service.set_subscription(customer, "subscribed", source="signup form", now=at(2))
    make_purchase(session, customer, product="Upgrade", purchased_at=at(6))
    service.set_subscription(customer, "unsubscribed", now=at(5))
    session.commit()

    entries = timeline.customer_timeline(session, customer.id)

    assert [(e.at.day, e.kind) for e in entries] == [
        (6, "purchase"),
        (5, "subscription"),
        (4, "note"),
        (3, "purchase"),
        (2, "subscription"),
        (1, "customer"),
    ]
    assert str(entries[0].title) == "Bought Upgrade"
    assert str(entries[2].title) == f"Phone call by {agent.name}"


def test_the_limit_keeps_the_newest_entries(session):
    customer = make_customer(session, now=at(1))
    for day in range(2, 8):
        make_purchase(session, customer, product=f"P{day}", purchased_at=at(day))
    entries = timeline.customer_timeline(session, customer.id, limit=3)
    assert [e.at.day for e in entries] == [7, 6, 5]


@pytest.fixture
def extra_source():
    def tickets(session, customer_id, limit, older):
        return [timeline.TimelineEntry(at=at(9), kind="ticket", title="Ticket opened", url="/t/1")]

    timeline.register_source("test-ticket", tickets)
    yield
    timeline._sources.pop("test-ticket")


def test_a_later_feature_can_add_its_own_source(session, extra_source):
    customer = make_customer(session, now=at(1))
    entries = timeline.customer_timeline(session, customer.id)
    assert [(e.kind, e.url) for e in entries] == [("ticket", "/t/1"), ("customer", None)]
