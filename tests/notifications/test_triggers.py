"""Each kind of notification is created by the change it is about, in that change's
transaction, for the right agent and never for the agent who made the change."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from helpdesk.db import database, utcnow
from helpdesk.inbound.incoming import Incoming
from helpdesk.inbound.ingest import ingest_batch
from helpdesk.mail.models import RawSource
from helpdesk.notifications import service
from helpdesk.notifications.models import Notification, NotificationKind
from helpdesk.tickets import notes
from helpdesk.tickets.jobs import notify_overdue
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.service import assign_ticket
from tests.factories import make_mailbox, make_ticket, make_user
from tests.tickets.mails import SETTINGS, ingest, mail


def notifications_of(session, user_id) -> list[tuple[NotificationKind, int, int | None]]:
    rows = session.execute(
        select(Notification.kind, Notification.ticket_id, Notification.actor_id)
        .where(Notification.user_id == user_id)
        .order_by(Notification.id)
    ).all()
    session.commit()
    return [tuple(row) for row in rows]


def test_assigning_a_ticket_notifies_the_new_assignee(session, agent, admin):
    ticket = make_ticket(session, subject="Refund")
    assign_ticket(session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=None)
    session.commit()
    assert notifications_of(session, agent.id) == [(NotificationKind.assigned, ticket.id, admin.id)]
    assert notifications_of(session, admin.id) == []


def test_taking_a_ticket_yourself_notifies_nobody(session, agent):
    ticket = make_ticket(session)
    assign_ticket(session, ticket.id, agent.id, actor_id=agent.id, expected_assignee_id=None)
    session.commit()
    assert notifications_of(session, agent.id) == []


def test_a_refused_assignment_leaves_no_notification(session, agent, admin):
    ticket = make_ticket(session, assignee_id=admin.id)
    try:
        assign_ticket(session, ticket.id, agent.id, actor_id=agent.id, expected_assignee_id=None)
    except Exception:
        session.rollback()
    assert notifications_of(session, agent.id) == []
    assert notifications_of(session, admin.id) == []


def test_mentioning_an_agent_in_a_note_notifies_them(session, agent, admin):
    ticket = make_ticket(session)
    notes.add_note(session, ticket.id, author_id=admin.id, body="@Alex Agent look at this")
    session.commit()
    assert notifications_of(session, agent.id) == [
        (NotificationKind.mentioned, ticket.id, admin.id)
    ]


def test_mentioning_yourself_notifies_nobody(session, agent):
    ticket = make_ticket(session)
    notes.add_note(session, ticket.id, author_id=agent.id, body="note to self @Alex Agent")
    session.commit()
    assert notifications_of(session, agent.id) == []


def test_customer_reply_notifies_the_assignee(session, agent):
    mailbox = make_mailbox(session)
    first = ingest(session, mail("Where is it?", message_id="<a1@example.com>"), mailbox=mailbox)
    session.get(Ticket, first.ticket_id).assignee_id = agent.id
    session.commit()
    ingest(
        session,
        mail(
            "Any news?",
            message_id="<a2@example.com>",
            headers={"In-Reply-To": "<a1@example.com>"},
        ),
        mailbox=mailbox,
    )
    assert notifications_of(session, agent.id) == [
        (NotificationKind.customer_replied, first.ticket_id, None)
    ]


def test_new_ticket_notifies_the_watchers_of_its_mailbox_only(session, agent, admin):
    watched, other = make_mailbox(session), make_mailbox(session, address="sales@helpdesk.test")
    service.save_watches(session, agent.id, [watched.id])
    service.save_watches(session, admin.id, [other.id])
    session.commit()
    result = ingest(session, mail("Hello", message_id="<n1@example.com>"), mailbox=watched)
    assert notifications_of(session, agent.id) == [
        (NotificationKind.new_ticket, result.ticket_id, None)
    ]
    assert notifications_of(session, admin.id) == []


def test_an_overdue_ticket_notifies_its_assignee_once(session, agent):
    now = utcnow()
    ticket = make_ticket(session, assignee_id=agent.id, response_due_at=now - timedelta(hours=1))
    assert notify_overdue(session, now) == 1
    session.commit()
    assert notify_overdue(session, now + timedelta(minutes=5)) == 0
    session.commit()
    assert notifications_of(session, agent.id) == [(NotificationKind.overdue, ticket.id, None)]


def test_a_ticket_not_yet_due_notifies_nobody(session, agent):
    now = utcnow()
    make_ticket(session, assignee_id=agent.id, response_due_at=now + timedelta(hours=1))
    assert notify_overdue(session, now) == 0


def test_a_kind_switched_off_is_not_created(session, agent, admin):
    off = service.Switches(in_app=False, email=False)
    service.save_switches(session, agent.id, {NotificationKind.mentioned: off})
    session.commit()
    ticket = make_ticket(session)
    notes.add_note(session, ticket.id, author_id=admin.id, body="@Alex Agent see")
    assign_ticket(session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=None)
    session.commit()
    assert notifications_of(session, agent.id) == [(NotificationKind.assigned, ticket.id, admin.id)]


def test_mail_only_switch_keeps_the_notification_out_of_the_bell(session, agent, admin):
    mail_only = service.Switches(in_app=False, email=True)
    service.save_switches(session, agent.id, {NotificationKind.assigned: mail_only})
    session.commit()
    ticket = make_ticket(session)
    assign_ticket(session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=None)
    session.commit()
    stored = session.scalars(select(Notification).where(Notification.user_id == agent.id)).one()
    assert (stored.in_app, stored.send_email) == (False, True)
    assert service.unread_count(session, agent.id) == 0


def test_inactive_agents_are_not_notified(session, agent, admin):
    idle = make_user(session, email="idle@example.com", name="Idle Ina")
    mailbox = make_mailbox(session)
    service.save_watches(session, idle.id, [mailbox.id])
    idle.is_active = False
    session.commit()
    ingest(session, mail("Hello", message_id="<i1@example.com>"), mailbox=mailbox)
    assert notifications_of(session, idle.id) == []


def test_a_batch_of_new_tickets_notifies_each_watcher_per_ticket(session, agent):
    mailbox = make_mailbox(session)
    service.save_watches(session, agent.id, [mailbox.id])
    session.commit()
    raws = [
        mail(f"Question {n}", sender=f"c{n}@example.com", message_id=f"<b{n}@example.com>")
        for n in range(5)
    ]
    results = ingest_batch(
        session,
        [Incoming(raw) for raw in raws],
        source=RawSource.imap,
        settings=SETTINGS,
        mailbox_id=mailbox.id,
    )
    assert sorted(t for _, t, _ in notifications_of(session, agent.id)) == sorted(
        r.ticket_id for r in results
    )


def test_mark_read_and_mark_all_read(session, agent, admin):
    first, second = make_ticket(session), make_ticket(session)
    for ticket in (first, second):
        notes.add_note(session, ticket.id, author_id=admin.id, body="@Alex Agent ping")
    session.commit()
    assert service.unread_count(session, agent.id) == 2
    mine = service.recent(session, agent.id)
    assert service.mark_read(session, agent.id, mine[0].notification.id) == 1
    assert service.unread_count(session, agent.id) == 1
    assert service.mark_read(session, admin.id) == 0
    assert service.mark_read(session, agent.id) == 1
    assert service.unread_count(session, agent.id) == 0


def test_a_batch_stores_its_notifications_in_one_insert(session, agent, admin):
    mailbox = make_mailbox(session)
    service.save_watches(session, agent.id, [mailbox.id])
    service.save_watches(session, admin.id, [mailbox.id])
    session.commit()
    inserts = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            inserts.append(statement)

    with database.session() as ingest_session:
        engine = ingest_session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            ingest_batch(
                ingest_session,
                [
                    Incoming(mail(f"Q {n}", sender=f"c{n}@example.com", message_id=f"<o{n}@x>"))
                    for n in range(20)
                ],
                source=RawSource.imap,
                settings=SETTINGS,
                mailbox_id=mailbox.id,
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    assert len(notifications_of(session, agent.id)) == 20
