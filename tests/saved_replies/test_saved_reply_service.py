"""Saved replies in the service: who sees and changes which, the checks on save, and
inserting one into a reply on a ticket (placeholders rendered, the use counted)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.saved_replies import service
from helpdesk.saved_replies.models import SavedReply, SavedReplyUse
from helpdesk.tickets.service import TicketNotFound
from tests.factories import make_mailbox, make_saved_reply, make_user
from tests.tickets.mails import ingest, mail


def _data(**overrides) -> service.SavedReplyData:
    values = {"title": "Refund", "folder": "Billing", "body": "Refunded.", "shared": False}
    return service.SavedReplyData(**(values | overrides))


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(SavedReply))


def test_shared_reply_of_an_admin_is_visible_to_every_agent(session, admin, agent):
    service.create(session, admin, _data(shared=True))
    session.commit()

    [seen] = service.search(session, agent, "")

    assert seen.is_shared and seen.title == "Refund"


def test_personal_reply_is_hidden_from_other_agents(session, agent):
    other = make_user(session, email="other@example.com", name="Other Agent")
    reply = service.create(session, agent, _data())
    session.commit()

    assert service.search(session, other, "") == []
    with pytest.raises(service.SavedReplyNotFound):
        service.get_visible(session, other, reply.id)


def test_agent_may_not_share_a_reply(session, agent):
    with pytest.raises(service.SavedReplyInvalid) as refused:
        service.create(session, agent, _data(shared=True))

    assert "shared" in refused.value.errors
    session.rollback()
    assert _count(session) == 0


def test_agent_may_not_change_a_shared_reply(session, agent):
    shared = make_saved_reply(session, title="Hello")

    with pytest.raises(service.NotAllowed):
        service.update_reply(session, agent, shared.id, _data())
    with pytest.raises(service.NotAllowed):
        service.delete_reply(session, agent, shared.id)


def test_admin_shares_an_agents_personal_reply(session, admin, agent):
    personal = make_saved_reply(session, owner=agent, title="Tracking")

    service.update_reply(session, admin, personal.id, _data(title="Tracking", shared=True))
    session.commit()

    assert session.get(SavedReply, personal.id).owner_id is None


def test_template_syntax_error_is_refused_on_save_with_its_line(session, agent):
    with pytest.raises(service.SavedReplyInvalid) as refused:
        service.create(session, agent, _data(body="Hello\n{% if %}"))

    assert "line 2" in str(refused.value.errors["body"])
    session.rollback()
    assert _count(session) == 0


def test_unknown_placeholder_is_refused_on_save(session, agent):
    with pytest.raises(service.SavedReplyInvalid) as refused:
        service.create(session, agent, _data(body="Hello {{ custmer_name }}"))

    assert "custmer_name" in str(refused.value.errors["body"])


def test_sandbox_keeps_a_body_away_from_python_internals(session, agent):
    with pytest.raises(service.SavedReplyInvalid):
        service.create(session, agent, _data(body="{{ ''.__class__.__mro__ }}"))


def test_search_matches_title_folder_or_body_most_used_first(session, agent):
    make_saved_reply(session, title="Refund rules", body="Within 14 days.", used_in_replies=1)
    make_saved_reply(session, title="Delivery", folder="Refunds", used_in_replies=5)
    make_saved_reply(session, title="Hello", body="No refund talk here.", used_in_replies=3)
    make_saved_reply(session, title="Unrelated", body="Nothing.")

    found = service.search(session, agent, "REFUND")

    assert [r.title for r in found] == ["Delivery", "Hello", "Refund rules"]


def test_search_takes_percent_and_underscore_literally(session, agent):
    make_saved_reply(session, title="50% off")
    make_saved_reply(session, title="500 off")

    assert [r.title for r in service.search(session, agent, "50%")] == ["50% off"]


def test_insert_renders_the_placeholders_for_the_ticket_and_counts_the_use(session, agent):
    mailbox = make_mailbox(session, name="Hanbit Books")
    ticket_id = ingest(
        session, mail(subject="배송 문의", sender="김민지 <minji@example.com>"), mailbox=mailbox
    ).ticket_id
    session.commit()
    reply = make_saved_reply(
        session,
        body=(
            "{{ customer_first_name }}님 ({{ customer_name }}), #{{ ticket_number }} "
            "{{ ticket_subject }} — {{ agent_name }}, {{ mailbox_name }}"
        ),
    )

    inserted = service.insert_into_reply(session, agent, reply.id, ticket_id)
    session.commit()

    assert inserted.text == f"민지님 (김민지), #{ticket_id} 배송 문의 — Alex Agent, Hanbit Books"
    assert inserted.used_in_replies == 1
    assert session.get(SavedReply, reply.id).used_in_replies == 1
    [use] = session.scalars(select(SavedReplyUse))
    assert (use.ticket_id, use.user_id) == (ticket_id, agent.id)


def test_insert_into_a_missing_ticket_counts_nothing(session, agent):
    reply = make_saved_reply(session)

    with pytest.raises(TicketNotFound):
        service.insert_into_reply(session, agent, reply.id, 999_999)
    session.rollback()

    assert session.get(SavedReply, reply.id).used_in_replies == 0
