"""A merge can be undone for a few minutes: the split-off ticket gets back what it
brought, and the survivor's status follows the newest customer message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.db import utcnow
from helpdesk.tickets import merge_undo, merging, service
from helpdesk.tickets.models import Participant, Ticket, TicketMerge, TicketStatus
from tests.factories import make_message, make_ticket
from tests.tickets.test_merge import get, kinds_and_texts


def merged_pair(session, agent, **target_fields):
    target = make_ticket(session, subject="Order missing", **target_fields)
    source = make_ticket(session, subject="Other", customer_email="colleague@example.com")
    make_message(session, target, body_text="first mail", created_at=utcnow() - timedelta(hours=2))
    make_message(session, source, body_text="second mail", created_at=utcnow() - timedelta(hours=1))
    service.set_tags(session, source.id, "refund", actor_id=agent.id)
    session.commit()
    merging.merge_tickets(session, source.id, target.id, agent.id)
    session.commit()
    record = session.scalars(select(TicketMerge).where(TicketMerge.source_id == source.id)).one()
    session.commit()
    return source, target, record


def texts(session, ticket_id):
    return [text for _, text in kinds_and_texts(session, ticket_id)]


def test_a_merged_in_newer_customer_message_reopens_a_waiting_ticket(session, agent):
    _, target, _ = merged_pair(session, agent, status=TicketStatus.waiting)
    survivor = get(session, target.id)
    assert survivor.status == TicketStatus.open
    assert survivor.customer_replied_last


def test_an_older_merged_in_message_leaves_the_status(session, agent):
    source = make_ticket(session, subject="Older")
    target = make_ticket(session, subject="Newer", status=TicketStatus.waiting)
    make_message(session, source, body_text="old", created_at=utcnow() - timedelta(days=2))
    make_message(session, target, body_text="new", created_at=utcnow() - timedelta(hours=1))
    merging.merge_tickets(session, source.id, target.id, agent.id)
    session.commit()
    assert get(session, target.id).status == TicketStatus.waiting


def test_undo_gives_the_source_back_its_messages_status_and_tags(session, agent):
    source, target, record = merged_pair(session, agent, status=TicketStatus.waiting)
    merge_undo.undo_merge(session, record.id, agent.id)
    session.commit()

    split, survivor = get(session, source.id), get(session, target.id)
    assert split.merged_into_id is None
    assert split.status == TicketStatus.new
    assert split.closed_at is None
    assert texts(session, source.id)[0] == "second mail"
    assert "second mail" not in texts(session, target.id)
    assert survivor.status == TicketStatus.waiting
    assert [t.name for t in survivor.tags] == []
    assert [t.name for t in split.tags] == ["refund"]
    assert (
        session.scalars(select(Participant).where(Participant.ticket_id == target.id)).all() == []
    )
    session.commit()


def test_undo_is_recorded_on_both_tickets(session, agent):
    source, target, record = merged_pair(session, agent)
    merge_undo.undo_merge(session, record.id, agent.id)
    session.commit()
    assert texts(session, source.id)[-1] == f"Split from ticket #{target.id} by Alex Agent."
    assert texts(session, target.id)[-1] == (f"Merge of ticket #{source.id} undone by Alex Agent.")
    assert get(session, target.id).version == 3
    assert session.get(TicketMerge, record.id).undone_at is not None
    session.commit()


def test_mail_that_arrived_after_the_merge_stays_on_the_survivor(session, agent):
    source, target, record = merged_pair(session, agent)
    make_message(session, target, body_text="written after the merge")
    merge_undo.undo_merge(session, record.id, agent.id)
    session.commit()
    assert "written after the merge" in texts(session, target.id)
    assert "written after the merge" not in texts(session, source.id)


def test_a_status_set_after_the_merge_is_kept(session, agent):
    _, target, record = merged_pair(session, agent)
    service.set_status(session, target.id, "resolved", actor_id=agent.id)
    session.commit()
    merge_undo.undo_merge(session, record.id, agent.id)
    session.commit()
    assert get(session, target.id).status == TicketStatus.resolved


@pytest.mark.parametrize("case", ["too late", "undone twice", "merged again", "unknown"])
def test_refused_undo_changes_nothing(session, agent, case):
    source, target, record = merged_pair(session, agent)
    merge_id, now = record.id, None
    if case == "too late":
        now = utcnow() + merge_undo.UNDO_WINDOW + timedelta(seconds=1)
    elif case == "undone twice":
        merge_undo.undo_merge(session, record.id, agent.id)
        session.commit()
    elif case == "merged again":
        other = make_ticket(session, subject="Third")
        merging.merge_tickets(session, target.id, other.id, agent.id)
        session.commit()
    else:
        merge_id = 999999
    before = (texts(session, source.id), texts(session, target.id))
    with pytest.raises(service.MergeRefused):
        merge_undo.undo_merge(session, merge_id, agent.id, now=now)
    session.rollback()
    assert (texts(session, source.id), texts(session, target.id)) == before


def test_only_a_recent_merge_is_offered_for_undo(session, agent):
    source, target, record = merged_pair(session, agent)
    assert merge_undo.undoable_merge(session, target.id).id == record.id
    assert merge_undo.undoable_merge(session, source.id).id == record.id
    later = utcnow() + merge_undo.UNDO_WINDOW
    assert merge_undo.undoable_merge(session, target.id, now=later) is None
    session.commit()


def test_the_merge_record_lists_what_moved(session, agent):
    source, target, record = merged_pair(session, agent)
    assert len(record.moved["messages"]) == 1
    assert record.moved["tags"] and len(record.moved["participants"]) == 1
    assert record.source_before["status"] == "new"
    assert session.get(Ticket, source.id).merged_into_id == target.id
    session.commit()
