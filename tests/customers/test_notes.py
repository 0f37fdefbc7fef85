"""Contact notes: what was discussed, when, by whom."""

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.customers import service
from helpdesk.customers.models import NoteKind
from tests.factories import make_customer

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_note_is_stored_with_author_kind_and_time(session, agent):
    customer = make_customer(session)
    note = service.add_note(
        session,
        customer,
        author_id=agent.id,
        kind="call",
        happened_at="2024-06-01T10:30",
        body="환불 문의 — refund question",
        now=NOW,
    )
    session.commit()
    (stored,) = service.notes_of(session, customer.id)
    assert stored.id == note.id
    assert (stored.kind, stored.author.name) == (NoteKind.call, agent.name)
    assert stored.happened_at == datetime(2024, 6, 1, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("body", {"body": "   "}),
        ("kind", {"kind": "email"}),
        ("happened_at", {"happened_at": "yesterday"}),
        ("happened_at", {"happened_at": NOW + timedelta(hours=1)}),
    ],
)
def test_bad_note_input_is_refused(session, field, changes):
    customer = make_customer(session)
    values = {"kind": "meeting", "happened_at": NOW, "body": "Met at the fair"} | changes
    with pytest.raises(service.NoteInvalid) as info:
        service.add_note(session, customer, author_id=None, now=NOW, **values)
    assert field in info.value.errors
    assert service.notes_of(session, customer.id) == []
