"""The ticket page: the conversation in order, each kind shown as it should be, mail HTML
kept inert, attachments only through their own ticket, and the customer panel."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage

import pytest

from helpdesk.campaigns.models import DeliveryState
from helpdesk.db import utcnow
from helpdesk.inbound.ingest import ingest_message
from helpdesk.mail.models import RawSource
from helpdesk.tickets.models import MessageKind, SendStatus, Ticket
from tests.factories import (
    make_custom_field,
    make_customer,
    make_delivery,
    make_mailbox,
    make_message,
    make_purchase,
    make_sending_campaign,
    make_ticket,
)
from tests.helpers import login
from tests.tickets.mails import SETTINGS, ingest, mail


def _png(width: int = 40, height: int = 40) -> bytes:
    """A real (red) PNG, so a browser renders it too."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = (b"\x00" + b"\xff\x00\x00" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()


def html_mail_with_inline_image() -> bytes:
    message = EmailMessage()
    message["From"] = "Kim Minji <minji@example.com>"
    message["To"] = "support@helpdesk.test"
    message["Subject"] = "Broken parcel"
    message["Message-ID"] = "<html-1@example.com>"
    message.set_content("The parcel arrived broken, see the photo.")
    message.add_alternative(
        "<p>The parcel arrived <b>broken</b>.</p><img src='cid:photo1@example.com'>"
        "<img src='https://tracker.example.net/pixel.gif'>"
        "<script>alert('x')</script>",
        subtype="html",
    )
    html_part = message.get_payload()[1]
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<photo1@example.com>")
    message.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="송장.pdf"
    )
    return message.as_bytes()


@pytest.fixture
def html_ticket(session):
    result = ingest_message(
        session, html_mail_with_inline_image(), source=RawSource.imap, settings=SETTINGS
    )
    ticket = session.get(Ticket, result.ticket_id)
    # Ends the read transaction: on SQLite it holds the write lock the app needs.
    session.commit()
    return ticket


def page_text(response) -> str:
    return response.get_data(as_text=True)


def test_conversation_shows_each_kind_in_order(agent_client, session, agent):
    ticket = make_ticket(session, subject="Order 1001 missing")
    make_message(session, ticket, body_text="Where is my order?", body_reply="Where is my order?")
    make_message(
        session,
        ticket,
        kind=MessageKind.note,
        body_text="Checking with the warehouse",
        author_id=agent.id,
    )
    make_message(
        session,
        ticket,
        kind=MessageKind.reply,
        body_text="It ships today",
        body_reply="It ships today",
        send_status=SendStatus.sent,
        author_id=agent.id,
        to=["customer@example.com"],
    )
    make_message(
        session,
        ticket,
        kind=MessageKind.auto_reply,
        body_text="I am on holiday",
        from_name="Autoresponder",
    )
    html = page_text(agent_client.get(f"/tickets/{ticket.id}"))
    positions = [
        html.index(text)
        for text in (
            "Where is my order?",
            "Checking with the warehouse",
            "It ships today",
            "I am on holiday",
        )
    ]
    assert positions == sorted(positions)


def test_internal_note_is_marked_and_styled_apart(agent_client, session, agent):
    ticket = make_ticket(session)
    note = make_message(session, ticket, kind=MessageKind.note, body_text="VIP", author_id=agent.id)
    html = page_text(agent_client.get(f"/tickets/{ticket.id}"))
    article = re.search(
        rf'<article class="msg msg-note[^"]*" id="message-{note.id}".*?</article>', html, re.S
    ).group(0)
    assert "Internal note" in article
    assert "Alex Agent" in article


def test_auto_reply_is_collapsed(agent_client, session):
    ticket = make_ticket(session)
    auto = make_message(
        session, ticket, kind=MessageKind.auto_reply, body_text="Out of office", from_name="Minji"
    )
    html = page_text(agent_client.get(f"/tickets/{ticket.id}"))
    assert re.search(rf'<details class="msg msg-auto" id="message-{auto.id}">', html)


def test_quoted_history_is_behind_a_toggle(agent_client, session):
    ticket = make_ticket(session)
    make_message(
        session,
        ticket,
        body_reply="Thanks, that worked.",
        body_text="Thanks, that worked.\n\nOn Monday you wrote:\n> try turning it off and on",
    )
    html = page_text(agent_client.get(f"/tickets/{ticket.id}"))
    toggle = re.search(r'<details class="quoted">.*?</details>', html, re.S).group(0)
    assert "try turning it off and on" in toggle
    assert html.count("try turning it off and on") == 1


def test_reply_send_states_are_shown_and_failed_has_retry(agent_client, session, agent):
    ticket = make_ticket(session)
    queued = make_message(
        session,
        ticket,
        kind=MessageKind.reply,
        send_status=SendStatus.queued,
        body_text="one",
        author_id=agent.id,
    )
    sent = make_message(
        session,
        ticket,
        kind=MessageKind.reply,
        send_status=SendStatus.sent,
        body_text="two",
        author_id=agent.id,
    )
    failed = make_message(
        session,
        ticket,
        kind=MessageKind.reply,
        send_status=SendStatus.failed,
        send_error="SMTPRecipientsRefused: 550 5.1.1 mailbox unavailable",
        body_text="three",
        author_id=agent.id,
    )
    html = page_text(agent_client.get(f"/tickets/{ticket.id}"))

    def article(message):
        return re.search(rf'id="message-{message.id}".*?</article>', html, re.S).group(0)

    assert 'data-send-status="queued"' in article(queued)
    assert 'data-send-status="sent"' in article(sent)
    assert "Retry" not in article(sent)
    assert "550 5.1.1 mailbox unavailable" in article(failed)
    assert f"/tickets/{ticket.id}/messages/{failed.id}/retry" in article(failed)


def test_mail_html_is_only_in_a_sandboxed_frame_without_scripts(agent_client, html_ticket):
    response = agent_client.get(f"/tickets/{html_ticket.id}")
    html = page_text(response)
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    sandbox = re.search(r'sandbox="([^"]*)"', frame).group(1)
    assert "allow-scripts" not in sandbox
    assert "srcdoc=" in frame
    assert "&lt;b&gt;broken&lt;/b&gt;" in frame  # escaped into the attribute, not in the page
    assert "<b>broken</b>" not in html
    assert "alert(" not in html
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "img-src 'self' data: blob:;" in policy  # blob: previews pasted images


def test_inline_cid_image_points_at_the_ticket_attachment(agent_client, html_ticket):
    html = page_text(agent_client.get(f"/tickets/{html_ticket.id}"))
    srcdoc = re.search(r'srcdoc="([^"]*)"', html).group(1)
    match = re.search(rf"src=&#34;/tickets/{html_ticket.id}/attachments/(\d+)&#34;", srcdoc)
    assert match, srcdoc
    image = agent_client.get(f"/tickets/{html_ticket.id}/attachments/{match.group(1)}")
    assert image.data == PNG


def test_remote_images_load_only_when_asked(agent_client, html_ticket):
    blocked = agent_client.get(f"/tickets/{html_ticket.id}")
    html = page_text(blocked)
    assert "https://tracker.example.net/pixel.gif" in html  # kept, but as data-remote-src
    assert " src=&#34;https://tracker.example.net" not in html
    assert (
        "https:" not in blocked.headers["Content-Security-Policy"].split("img-src")[1].split(";")[0]
    )
    message_id = re.search(r'href="\?remote_images=(\d+)', html).group(1)

    loaded = agent_client.get(f"/tickets/{html_ticket.id}?remote_images={message_id}")
    assert " src=&#34;https://tracker.example.net/pixel.gif&#34;" in page_text(loaded)
    assert "https:" in loaded.headers["Content-Security-Policy"].split("img-src")[1].split(";")[0]


def test_attachment_downloads_with_its_name_and_type(agent_client, session, html_ticket):
    html = page_text(agent_client.get(f"/tickets/{html_ticket.id}"))
    urls = re.findall(
        rf'href="(/tickets/{html_ticket.id}/attachments/\d+)" download>송장.pdf', html
    )
    assert len(urls) == 1
    response = agent_client.get(urls[0])
    assert response.status_code == 200
    assert response.data == b"%PDF-1.4 invoice"
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%EC%86%A1%EC%9E%A5.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_attachment_is_not_served_through_another_ticket(agent_client, session, html_ticket):
    other = make_ticket(session, customer_email="someone@example.com")
    html = page_text(agent_client.get(f"/tickets/{html_ticket.id}"))
    attachment_id = re.search(rf"/tickets/{html_ticket.id}/attachments/(\d+)", html).group(1)
    assert agent_client.get(f"/tickets/{other.id}/attachments/{attachment_id}").status_code == 404
    assert agent_client.get(f"/tickets/{html_ticket.id}/attachments/999999").status_code == 404


def test_customer_panel_shows_record_value_fields_and_other_tickets(agent_client, session):
    make_custom_field(session, key="plan", label="Plan")
    customer = make_customer(
        session,
        email="minji@example.com",
        name="Kim Minji",
        company="Hanbit",
        tags="vip",
        fields={"plan": "Gold"},
    )
    make_purchase(
        session,
        customer,
        amount=Decimal("25000"),
        currency="KRW",
        purchased_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    ticket = make_ticket(session, customer_email="minji@example.com", subject="Current")
    older = make_ticket(session, customer_email="minji@example.com", subject="Last month")
    html = page_text(agent_client.get(f"/tickets/{ticket.id}"))
    panel = re.search(r'<section class="card" id="customer".*?</section>', html, re.S).group(0)
    for expected in ("Kim Minji", "minji@example.com", "Hanbit", "vip", "Plan", "Gold", "25,000"):
        assert expected in panel, expected
    assert f'href="/customers/{customer.id}"' in panel
    others = re.search(r'id="other-tickets".*?</section>', html, re.S).group(0)
    assert f"#{older.id} Last month" in others
    activity = re.search(r'id="recent-activity".*?</section>', html, re.S).group(0)
    assert "Bought Starter plan" in activity


def test_customer_panel_lists_the_campaigns_they_received_and_opened(agent_client, session):
    customer = make_customer(session, email="minji@example.com")
    opened = make_sending_campaign(session, name="Spring news")
    ignored = make_sending_campaign(session, name="Summer sale")
    never_sent = make_sending_campaign(session, name="Autumn draft")
    make_delivery(session, opened, customer, first_opened_at=utcnow())
    make_delivery(session, ignored, customer, sent_at=utcnow())
    make_delivery(session, never_sent, customer, sent_at=None, state=DeliveryState.pending)
    ticket = make_ticket(session, customer_email="minji@example.com")

    html = page_text(agent_client.get(f"/tickets/{ticket.id}"))
    panel = re.search(r'id="customer-campaigns".*?</section>', html, re.S).group(0)
    assert panel.index("Summer sale") < panel.index("Spring news")
    assert re.search(r"Spring news.*?Opened", panel, re.S)
    assert re.search(r"Summer sale.*?Not opened", panel, re.S)
    assert "Autumn draft" not in panel


def test_unknown_ticket_is_404(agent_client):
    assert agent_client.get("/tickets/424242").status_code == 404


def test_logged_out_visitor_is_sent_to_login(client, session):
    ticket = make_ticket(session)
    response = client.get(f"/tickets/{ticket.id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_marketer_gets_403_on_every_ticket_page(client, session, marketer):
    ticket = make_ticket(session)
    message = make_message(session, ticket)
    login(client, marketer.email)
    for url in (
        f"/tickets/{ticket.id}",
        f"/tickets/{ticket.id}/attachments/1",
        "/tickets/mentions",
    ):
        assert client.get(url).status_code == 403, url
    for url in (
        f"/tickets/{ticket.id}/assign",
        f"/tickets/{ticket.id}/status",
        f"/tickets/{ticket.id}/priority",
        f"/tickets/{ticket.id}/tags",
        f"/tickets/{ticket.id}/notes",
        f"/tickets/{ticket.id}/replies",
        f"/tickets/{ticket.id}/merge",
        f"/tickets/{ticket.id}/presence",
        f"/tickets/{ticket.id}/messages/{message.id}/retry",
        "/tickets/mentions/read",
    ):
        from tests.helpers import post_form

        assert post_form(client, url, {"status": "closed"}).status_code == 403, url
    session.expire_all()
    assert session.get(Ticket, ticket.id).status.value == "new"


def test_admin_sees_the_ticket_page(admin_client, session):
    ticket = make_ticket(session, subject="Admins help too")
    assert "Admins help too" in page_text(admin_client.get(f"/tickets/{ticket.id}"))


def test_ingested_korean_mail_reads_correctly(agent_client, session):
    mailbox = make_mailbox(session)
    result = ingest(session, mail("배송이 아직 안 왔어요.", subject="배송 문의"), mailbox=mailbox)
    html = page_text(agent_client.get(f"/tickets/{result.ticket_id}"))
    assert "배송이 아직 안 왔어요." in html
    assert "배송 문의" in html
