"""Mailbox admin pages and the quarantine page: validation, secrets, roles, re-processing."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue
from sqlalchemy import func, select

from helpdesk.db import utcnow
from helpdesk.inbound.ingest import store_raw
from helpdesk.mail.models import ClosedReplyPolicy, Mailbox, RawSource, RawStatus, TLSMode
from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.models import Message, MessageKind, Ticket
from tests.factories import make_mailbox
from tests.helpers import post_form
from tests.tickets.mails import mail

VALID = {
    "name": "Support",
    "address": "Support@Helpdesk.test",
    "is_active": "y",
    "imap_host": "imap.example.com",
    "imap_port": "",
    "imap_tls": "ssl",
    "imap_user": "support",
    "password_ref": "env:SUPPORT_IMAP_PASSWORD",
    "imap_folder": "INBOX",
    "archive_folder": "Done",
    "poll_interval_seconds": "120",
    "start_date": "2026-11-01",
    "send_acknowledgement": "y",
    "closed_reply_policy": "follow_up",
}


def mailbox_count(session) -> int:
    number = session.scalar(select(func.count()).select_from(Mailbox))
    session.commit()
    return number


def test_admin_creates_a_mailbox(admin_client, session):
    response = post_form(admin_client, "/admin/mailboxes/new", VALID)

    assert response.status_code == 302
    mailbox = session.scalars(select(Mailbox)).one()
    assert mailbox.address == "support@helpdesk.test"
    assert (mailbox.imap_port, mailbox.imap_tls, mailbox.archive_folder) == (
        993,
        TLSMode.ssl,
        "Done",
    )
    assert mailbox.password_ref == "env:SUPPORT_IMAP_PASSWORD"
    assert mailbox.closed_reply_policy is ClosedReplyPolicy.follow_up
    assert mailbox.send_acknowledgement and mailbox.poll_interval_seconds == 120
    assert mailbox.start_date.isoformat() == "2026-11-01T00:00:00+00:00"


def test_mailbox_without_imap_is_fine_for_the_smtp_gateway(admin_client, session):
    data = VALID | {"imap_host": "", "imap_user": "", "password_ref": ""}

    response = post_form(admin_client, "/admin/mailboxes/new", data)

    assert response.status_code == 302
    assert not session.scalars(select(Mailbox)).one().has_imap


def test_bad_input_is_refused_with_messages_and_nothing_saved(admin_client, session):
    data = VALID | {
        "name": " ",
        "address": "not an address",
        "imap_port": "99999",
        "poll_interval_seconds": "1",
        "start_date": "yesterday",
        "archive_folder": "INBOX",
    }

    response = post_form(admin_client, "/admin/mailboxes/new", data)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for message in (
        "Give the mailbox a name.",
        "Not a valid email address",
        "Enter a port number from 1 to 65535.",
        "Enter a number of seconds from 10 to 86400.",
        "Enter a date as YYYY-MM-DD.",
        "The archive folder must differ from the folder polled.",
    ):
        assert message in page
    assert mailbox_count(session) == 0


def test_imap_user_without_server_or_password_reference_is_refused(admin_client, session):
    data = VALID | {"imap_host": "", "password_ref": ""}

    response = post_form(admin_client, "/admin/mailboxes/new", data)

    assert response.status_code == 400
    assert "Enter the IMAP server" in response.get_data(as_text=True)
    assert "Enter where to read the IMAP password" in response.get_data(as_text=True)
    assert mailbox_count(session) == 0


def test_duplicate_address_is_refused(admin_client, session):
    make_mailbox(session, address="support@helpdesk.test")

    response = post_form(admin_client, "/admin/mailboxes/new", VALID)

    assert response.status_code == 400
    assert "Another mailbox already receives support@helpdesk.test" in response.get_data(
        as_text=True
    )
    assert mailbox_count(session) == 1


def test_a_password_typed_instead_of_a_reference_is_refused_and_not_echoed(admin_client, session):
    response = post_form(
        admin_client, "/admin/mailboxes/new", VALID | {"password_ref": "hunter2-Secret!"}
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Do not enter the password itself." in page
    assert "hunter2-Secret!" not in page
    assert mailbox_count(session) == 0


def test_the_referenced_password_never_appears_on_the_pages(admin_client, session, monkeypatch):
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", "the-real-Passw0rd")
    mailbox = make_mailbox(
        session,
        imap_host="imap.example.com",
        imap_user="support",
        password_ref="env:SUPPORT_IMAP_PASSWORD",
    )

    edit_page = admin_client.get(f"/admin/mailboxes/{mailbox.id}").get_data(as_text=True)
    list_page = admin_client.get("/admin/mailboxes").get_data(as_text=True)

    assert "env:SUPPORT_IMAP_PASSWORD" in edit_page
    assert "the-real-Passw0rd" not in edit_page and "the-real-Passw0rd" not in list_page


def test_admin_edits_a_mailbox(admin_client, session):
    mailbox = make_mailbox(session, address="support@helpdesk.test")

    response = post_form(
        admin_client, f"/admin/mailboxes/{mailbox.id}", VALID | {"name": "Customer care"}
    )

    assert response.status_code == 302
    session.refresh(mailbox)
    assert mailbox.name == "Customer care" and mailbox.imap_host == "imap.example.com"


def test_changing_the_imap_account_starts_its_poll_state_over(admin_client, session):
    mailbox = make_mailbox(
        session,
        address="support@helpdesk.test",
        imap_host="old.example.com",
        imap_user="support",
        password_ref="env:X",
        uidvalidity=7,
        last_uid=420,
    )

    post_form(admin_client, f"/admin/mailboxes/{mailbox.id}", VALID)

    session.refresh(mailbox)
    assert (mailbox.uidvalidity, mailbox.last_uid) == (None, 0)


def test_bad_edit_changes_nothing(admin_client, session):
    mailbox = make_mailbox(session, address="support@helpdesk.test", name="Support")

    response = post_form(
        admin_client, f"/admin/mailboxes/{mailbox.id}", VALID | {"name": "New", "imap_tls": "tls9"}
    )

    assert response.status_code == 400
    assert "Choose SSL, STARTTLS or none." in response.get_data(as_text=True)
    session.refresh(mailbox)
    assert mailbox.name == "Support"


def test_list_shows_poll_status_and_last_error(admin_client, session):
    make_mailbox(
        session,
        imap_host="imap.example.com",
        imap_user="support",
        password_ref="env:X",
        last_poll_at=utcnow(),
        last_poll_fetched=3,
        total_fetched=1234,
        last_error="LoginError: b'[AUTHENTICATIONFAILED] Authentication failed.'",
        last_error_at=utcnow(),
    )

    page = admin_client.get("/admin/mailboxes").get_data(as_text=True)

    assert "3 last time, 1234 in all" in page
    assert "AUTHENTICATIONFAILED" in page


def test_unknown_mailbox_is_404(admin_client):
    assert admin_client.get("/admin/mailboxes/999").status_code == 404


def test_agent_and_marketer_cannot_open_mailbox_pages(agent_client, session):
    mailbox = make_mailbox(session)
    for url in (
        "/admin/mailboxes",
        "/admin/mailboxes/new",
        f"/admin/mailboxes/{mailbox.id}",
        "/admin/quarantine",
    ):
        assert agent_client.get(url).status_code == 403
    assert post_form(agent_client, "/admin/mailboxes/new", VALID).status_code == 403
    assert mailbox_count(session) == 1


def test_marketer_cannot_reprocess_quarantined_mail(marketer_client, session):
    raw = quarantined(session, mail())

    assert post_form(marketer_client, f"/admin/quarantine/{raw.id}/reprocess").status_code == 403


def quarantined(
    session, content: bytes, reason: str = "ingest failed: parser crashed", mailbox=None
):
    row = store_raw(
        session, content, source=RawSource.smtp, mailbox_id=mailbox.id if mailbox else None
    )
    row.status = RawStatus.quarantined
    row.status_reason = reason
    session.commit()
    return row


def test_quarantine_lists_messages_with_their_reason(admin_client, session):
    quarantined(session, mail(subject="Broken one"), reason="ingest failed: boom")

    page = admin_client.get("/admin/quarantine").get_data(as_text=True)

    assert "Broken one" in page and "ingest failed: boom" in page
    assert "minji@example.com" in page


def test_reprocess_turns_a_quarantined_message_into_a_ticket(admin_client, session):
    raw = quarantined(session, mail(subject="Now it parses"))

    response = post_form(admin_client, f"/admin/quarantine/{raw.id}/reprocess")

    assert response.status_code == 302
    session.refresh(raw)
    assert raw.status is RawStatus.ingested
    assert session.get(Ticket, raw.ticket_id).subject == "Now it parses"
    session.commit()  # end the read: on SQLite it holds the lock the next request needs
    assert "Nothing in quarantine" in admin_client.get("/admin/quarantine").get_data(as_text=True)


def test_reprocess_queues_the_receipt_for_the_new_ticket(admin_client, session, redis_conn):
    mailbox = make_mailbox(session, send_acknowledgement=True)
    raw = quarantined(session, mail(subject="Late but here"), mailbox=mailbox)

    post_form(admin_client, f"/admin/quarantine/{raw.id}/reprocess")

    session.refresh(raw)
    ack = session.scalars(
        select(Message).where(
            Message.ticket_id == raw.ticket_id, Message.kind == MessageKind.acknowledgement
        )
    ).one()
    session.commit()
    jobs = Queue(MAIL_QUEUE, connection=redis_conn).get_jobs()
    assert [job.args for job in jobs] == [(ack.id,)]


def test_reprocess_of_a_message_not_in_quarantine_changes_nothing(admin_client, session):
    raw = store_raw(session, mail(), source=RawSource.smtp)
    raw.status = RawStatus.ingested
    session.commit()

    response = post_form(
        admin_client, f"/admin/quarantine/{raw.id}/reprocess", follow_redirects=True
    )

    assert "no longer in quarantine" in response.get_data(as_text=True)
    session.refresh(raw)
    assert raw.status is RawStatus.ingested


def test_reprocess_of_an_unknown_message_is_404(admin_client):
    assert post_form(admin_client, "/admin/quarantine/999/reprocess").status_code == 404


def test_settings_page_links_mailboxes_and_quarantine(admin_client):
    page = admin_client.get("/admin").get_data(as_text=True)

    assert "/admin/mailboxes" in page and "/admin/quarantine" in page


def test_the_mailboxes_page_shows_messages_a_crash_left_waiting_with_their_age(
    admin_client, session
):
    mailbox = make_mailbox(session, name="Orders", address="orders@helpdesk.test")
    left = store_raw(session, mail(), source=RawSource.imap, mailbox_id=mailbox.id)
    left.received_at = utcnow() - timedelta(minutes=42)
    session.commit()

    page = admin_client.get("/admin/mailboxes").get_data(as_text=True)

    assert "1 received message is waiting to be taken in." in page
    assert f'data-raw-id="{left.id}"' in page
    assert "Orders" in page and "42 minutes" in page


def test_the_mailboxes_page_says_nothing_of_a_message_being_taken_in_right_now(
    admin_client, session
):
    store_raw(session, mail(), source=RawSource.smtp)
    session.commit()

    assert "waiting to be taken in" not in admin_client.get("/admin/mailboxes").get_data(
        as_text=True
    )
