"""The customer's page tells the whole story of their tickets: the list (open first) and
every ticket event on the timeline, linked to the ticket, as each role may see it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from helpdesk.auth.models import Role
from helpdesk.customers import service as customer_service
from helpdesk.customers.models import Customer
from helpdesk.customers.timeline import customer_timeline
from helpdesk.db import utcnow
from helpdesk.tickets import merging, replies, service
from helpdesk.tickets.models import Message, MessageKind, TicketStatus
from tests.factories import make_mailbox, make_message, make_ticket, make_user
from tests.helpers import post_form
from tests.tickets.mails import SETTINGS, ingest, mail

MAIL = replies.MailSettings(SETTINGS.secret_key, SETTINGS.domain)


def customer_named(session, email="minji@example.com") -> Customer:
    customer = session.scalars(select(Customer).where(Customer.email == email)).one()
    session.commit()
    return customer


def stories(session, customer_id, **kwargs):
    entries = customer_timeline(session, customer_id, **kwargs)
    session.commit()
    return [(str(e.title), str(e.detail), e.url) for e in entries]


def record(session, customer, role):
    found = customer_service.customer_record(session, customer, role)
    session.commit()
    return found


def reply(session, ticket_id, agent, text="It ships today.", status="waiting"):
    seen = replies.latest_message_id(session, ticket_id)
    sent = replies.send_reply(session, ticket_id, agent.id, text, "", [], seen, status, mail=MAIL)
    session.commit()
    return sent


def test_timeline_shows_a_ticket_opened_answered_and_resolved(session, agent):
    mailbox = make_mailbox(session)
    first = ingest(session, mail("My order has not arrived."), mailbox=mailbox)
    ticket_id = first.ticket_id
    answer = reply(session, ticket_id, agent, "It ships today.", status="resolved")

    entries = stories(session, customer_named(session).id)

    assert (
        f"Ticket #{ticket_id} opened: Order 1001 missing",
        "Channel: Email",
        f"/tickets/{ticket_id}",
    ) in entries
    assert (
        f"Customer wrote on #{ticket_id}: Order 1001 missing",
        "My order has not arrived.",
        f"/tickets/{ticket_id}#message-{first.message_id}",
    ) in entries
    assert (
        f"Alex Agent replied on #{ticket_id}: Order 1001 missing",
        "It ships today.",
        f"/tickets/{ticket_id}#message-{answer.id}",
    ) in entries
    assert (f"Ticket #{ticket_id} resolved", "Order 1001 missing", f"/tickets/{ticket_id}") in (
        entries
    )


def test_status_changes_and_a_reopening_reply_are_on_the_timeline(session, agent):
    mailbox = make_mailbox(session)
    ticket_id = ingest(session, mail("Where is it?"), mailbox=mailbox).ticket_id
    service.set_status(session, ticket_id, "open", actor_id=agent.id)
    service.set_status(session, ticket_id, "resolved", actor_id=agent.id)
    session.commit()
    ingest(
        session,
        mail(
            "Still nothing.", subject=f"Re: Order 1001 missing [#{ticket_id}]", message_id="<m2@x>"
        ),
        mailbox=mailbox,
    )

    titles = [title for title, _, _ in stories(session, customer_named(session).id)]

    assert f"Ticket #{ticket_id}: New → Open" in titles
    assert f"Ticket #{ticket_id} reopened by the customer's reply" in titles
    # Resolved, then reopened: no resolution is shown any more, and none twice before.
    assert f"Ticket #{ticket_id} resolved" not in titles
    assert not any("→ Resolved" in title for title in titles)


def test_a_merge_shows_on_the_surviving_ticket(session, agent):
    older = make_ticket(session, customer_email="minji@example.com", subject="Order 1001")
    newer = make_ticket(session, customer_email="minji@example.com", subject="Re: Order 1001")
    merging.merge_tickets(session, newer.id, older.id, agent.id)
    session.commit()

    entries = stories(session, customer_named(session).id)

    assert (
        f"Ticket #{newer.id} merged into #{older.id}",
        "by Alex Agent",
        f"/tickets/{older.id}#message-{_last_event_id(session, older.id)}",
    ) in entries


def _last_event_id(session, ticket_id):
    found = session.scalar(
        select(Message.id)
        .where(Message.ticket_id == ticket_id, Message.kind == MessageKind.event)
        .order_by(Message.id.desc())
    )
    session.commit()
    return found


def test_a_contact_form_request_is_named_as_one(client, session, redis_conn):
    make_mailbox(session, address="help@shop.test")
    post_form(
        client,
        "/faq/contact",
        {
            "name": "김민지",
            "email": "minji@example.com",
            "subject": "환불 문의",
            "message": "환불받고 싶어요.",
            "website": "",
            "form_token": "form-token-0123456789abcdef",
        },
    )
    customer = customer_named(session)
    found = record(session, customer, Role.agent)

    [ticket] = found.conversations.shown
    assert str(ticket.channel_label) == "Contact form"
    assert (
        f"Contact form request #{ticket.id}: 환불 문의",
        "Channel: Contact form",
        f"/tickets/{ticket.id}",
    ) in stories(session, customer.id)


def test_the_ticket_list_puts_open_tickets_first(session, agent):
    now = utcnow()
    done = make_ticket(
        session,
        customer_email="minji@example.com",
        subject="Old refund",
        status=TicketStatus.resolved,
        updated_at=now,
    )
    waiting = make_ticket(
        session,
        customer_email="minji@example.com",
        subject="Delivery",
        status=TicketStatus.waiting,
        assignee_id=agent.id,
        updated_at=now - timedelta(days=3),
    )
    fresh = make_ticket(
        session,
        customer_email="minji@example.com",
        subject="Invoice",
        status=TicketStatus.new,
        updated_at=now - timedelta(days=1),
    )
    make_ticket(session, customer_email="someone@example.com", subject="Not hers")

    listed = record(session, customer_named(session), Role.agent).conversations

    assert listed.total == 3
    assert [(t.id, str(t.status_label), t.assignee_name) for t in listed.shown] == [
        (fresh.id, "New", None),
        (waiting.id, "Waiting on customer", "Alex Agent"),
        (done.id, "Resolved", None),
    ]
    assert listed.shown[0].url == f"/tickets/{fresh.id}"


def test_a_merged_away_ticket_is_not_listed(session, agent):
    older = make_ticket(session, customer_email="minji@example.com", subject="A")
    newer = make_ticket(session, customer_email="minji@example.com", subject="A again")
    merging.merge_tickets(session, newer.id, older.id, agent.id)
    session.commit()
    listed = record(session, customer_named(session), Role.agent).conversations
    assert [t.id for t in listed.shown] == [older.id]


def test_marketers_see_tickets_exist_but_no_messages_and_no_links(session, agent):
    mailbox = make_mailbox(session)
    ticket_id = ingest(session, mail("Private details inside."), mailbox=mailbox).ticket_id
    reply(session, ticket_id, agent, "Our private answer.")
    customer = customer_named(session)

    as_marketer = record(session, customer, Role.marketer)
    as_agent = record(session, customer, Role.agent)

    assert [t.id for t in as_marketer.conversations.shown] == [ticket_id]
    assert as_marketer.conversations.shown[0].url is None
    marketer_kinds = {e.kind for e in as_marketer.timeline}
    assert "ticket" in marketer_kinds and "ticket_message" not in marketer_kinds
    assert all(e.url is None for e in as_marketer.timeline if e.kind == "ticket")
    texts = " ".join(f"{e.title} {e.detail}" for e in as_marketer.timeline)
    assert "Private details" not in texts and "private answer" not in texts
    agent_texts = " ".join(f"{e.title} {e.detail}" for e in as_agent.timeline)
    assert "Private details inside." in agent_texts and "Our private answer." in agent_texts


def test_admins_see_the_ticket_messages_as_agents_do(session, agent):
    mailbox = make_mailbox(session)
    ingest(session, mail("Hello there."), mailbox=mailbox)
    as_admin = record(session, customer_named(session), Role.admin)
    assert "ticket_message" in {e.kind for e in as_admin.timeline}
    assert as_admin.conversations.shown[0].url is not None


def test_a_long_message_is_shortened_on_the_timeline(session):
    ticket = make_ticket(session, customer_email="minji@example.com")
    make_message(session, ticket, body_text="가" * 5000)
    [entry] = [
        e for e in customer_timeline(session, ticket.customer_id) if e.kind == "ticket_message"
    ]
    session.commit()
    assert len(str(entry.detail)) <= 280


def _statements(session, customer, role) -> int:
    count = 0

    def counted(*_args):
        nonlocal count
        count += 1

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", counted)
    try:
        record(session, session.get(Customer, customer.id), role)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


def test_the_page_costs_the_same_queries_for_many_tickets_as_for_one(session):
    agent = make_user(session, email="busy@example.com", name="Busy Agent")
    few = make_ticket(session, customer_email="few@example.com", assignee_id=agent.id)
    make_message(session, few)
    for n in range(30):
        many = make_ticket(
            session, customer_email="many@example.com", subject=f"T{n}", assignee_id=agent.id
        )
        for _ in range(3):
            make_message(session, many, body_text=f"message {n}")
    few_customer = customer_named(session, "few@example.com")
    many_customer = customer_named(session, "many@example.com")

    assert _statements(session, many_customer, Role.agent) == _statements(
        session, few_customer, Role.agent
    )
    listed = record(session, many_customer, Role.agent)
    assert listed.conversations.total == 30 and len(listed.conversations.shown) == 20
    assert len(listed.timeline) == 50
