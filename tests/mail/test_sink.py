"""The development SMTP sink keeps mail in a Maildir, and the Outbox page shows it to admins."""

from __future__ import annotations

import mailbox
import re
import smtplib

import pytest

from helpdesk.mail.outbound import Attachment, SMTPSender, build_message
from helpdesk.mail.sink import make_controller
from tests.conftest import free_port
from tests.helpers import csrf_token, login


@pytest.fixture
def sink(config):
    controller = make_controller(config, port=free_port())
    controller.start()
    yield controller
    controller.stop()


def _send(sink, subject, to="hong@example.com", **kwargs):
    message = build_message(
        "고객지원 <support@example.com>",
        to,
        subject,
        "본문입니다.",
        domain="helpdesk.test",
        **kwargs,
    )
    with SMTPSender(f"smtp://127.0.0.1:{sink.port}") as sender:
        sender.send(message)
    return message


def _outbox_keys(html: bytes) -> list[str]:
    return re.findall(r'href="/admin/outbox/([^"/]+)"', html.decode())


def test_sink_stores_each_message_with_its_envelope_in_the_maildir(sink, config):
    with smtplib.SMTP("127.0.0.1", sink.port) as client:
        client.sendmail(
            "support@example.com",
            ["hong@example.com", "audit@example.com"],
            b"From: support@example.com\r\nTo: hong@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
        )
    stored = list(mailbox.Maildir(config.maildir_path, create=False))
    assert len(stored) == 1
    assert stored[0]["Subject"] == "hi"
    assert stored[0]["Return-Path"] == "<support@example.com>"
    # The Bcc'd recipient is only in the envelope; the Outbox must still show it.
    assert stored[0]["X-Envelope-To"] == "hong@example.com, audit@example.com"


def test_outbox_lists_messages_newest_first_with_decoded_subjects(sink, admin_client):
    _send(sink, "첫 번째 답장")
    _send(sink, "두 번째 답장")
    response = admin_client.get("/admin/outbox")
    page = response.data.decode()
    assert response.status_code == 200
    assert page.index("두 번째 답장") < page.index("첫 번째 답장")
    assert "고객지원 &lt;support@example.com&gt;" in page
    assert "2 messages" in page


def test_outbox_message_page_shows_text_sanitized_html_and_attachments(sink, admin_client):
    _send(
        sink,
        "영수증 안내",
        html='<p onclick="steal()">환불 <b>완료</b></p><script>alert(1)</script>',
        attachments=[Attachment("영수증.pdf", b"%PDF-1.4", "application/pdf")],
    )
    (key,) = _outbox_keys(admin_client.get("/admin/outbox").data)
    response = admin_client.get(f"/admin/outbox/{key}")
    page = response.data.decode()
    assert response.status_code == 200
    assert "본문입니다." in page
    assert "환불 <b>완료</b>" in page
    assert "<script>alert(1)" not in page
    assert "steal()" not in page
    assert "영수증.pdf" in page
    assert "X-Envelope-To: hong@example.com" in page


def test_outbox_raw_source_is_served_as_plain_text(sink, admin_client):
    message = _send(sink, "raw check")
    (key,) = _outbox_keys(admin_client.get("/admin/outbox").data)
    response = admin_client.get(f"/admin/outbox/{key}/raw")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert message["Message-ID"].encode() in response.data


def test_outbox_paginates_fifty_per_page(sink, admin_client):
    with SMTPSender(f"smtp://127.0.0.1:{sink.port}") as sender:
        for number in range(51):
            sender.send(
                build_message("a@example.com", "b@example.com", f"mail {number}", "x", domain="t")
            )
    first = admin_client.get("/admin/outbox")
    second = admin_client.get("/admin/outbox?page=2")
    assert len(_outbox_keys(first.data)) == 50
    assert _outbox_keys(second.data) and len(_outbox_keys(second.data)) == 1
    assert b"Page 1 of 2" in first.data


def test_outbox_shows_empty_state_when_no_mail_was_caught(admin_client):
    response = admin_client.get("/admin/outbox")
    assert response.status_code == 200
    assert b"No mail yet" in response.data


def test_unknown_outbox_message_is_404(sink, admin_client):
    _send(sink, "exists")
    assert admin_client.get("/admin/outbox/1234.M1P1Q1.nohost").status_code == 404
    assert admin_client.get("/admin/outbox/..%2F..%2Fsecret_key").status_code == 404


def test_outbox_is_for_admins_only(sink, agent_client):
    _send(sink, "private")
    assert agent_client.get("/admin/outbox").status_code == 403


def test_outbox_message_is_for_admins_only(sink, admin_client, agent, client):
    _send(sink, "private")
    (key,) = _outbox_keys(admin_client.get("/admin/outbox").data)
    admin_client.post("/logout", data={"csrf_token": csrf_token(admin_client)})
    login(client, agent.email)
    assert client.get(f"/admin/outbox/{key}").status_code == 403
    assert client.get(f"/admin/outbox/{key}/raw").status_code == 403


def test_settings_page_links_to_the_outbox(admin_client):
    assert b'href="/admin/outbox"' in admin_client.get("/admin").data


def test_outbox_holds_back_remote_images_until_asked(sink, admin_client):
    _send(sink, "뉴스", html='<p>Hi</p><img src="https://tracker.example/open.gif" alt="">')
    (key,) = _outbox_keys(admin_client.get("/admin/outbox").data)

    response = admin_client.get(f"/admin/outbox/{key}")
    page = response.data.decode()
    assert ' src="https://tracker.example/open.gif"' not in page
    assert 'data-remote-src="https://tracker.example/open.gif"' in page
    assert "Load remote images" in page
    img_src = response.headers["Content-Security-Policy"].split("img-src")[1].split(";")[0]
    assert "https:" not in img_src

    asked = admin_client.get(f"/admin/outbox/{key}?remote_images=1")
    assert ' src="https://tracker.example/open.gif"' in asked.data.decode()
    assert "https:" in asked.headers["Content-Security-Policy"].split("img-src")[1].split(";")[0]
