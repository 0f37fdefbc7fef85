"""Building messages and sending them through SMTPSender to a real aiosmtpd server."""

from __future__ import annotations

import ssl
import subprocess
from email import policy
from email.headerregistry import Address
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from helpdesk.mail.outbound import (
    Attachment,
    SMTPConfigError,
    SMTPSender,
    build_message,
)
from helpdesk.maildomain import mail_domain
from tests.conftest import free_port


class RecordingHandler:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            {
                "peer": session.peer,
                "tls": session.ssl is not None,
                "login": session.auth_data if session.authenticated else None,
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "message": BytesParser(policy=policy.default).parsebytes(envelope.original_content),
            }
        )
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"agent@example.com" and auth_data.password == b"p@ss:w/rd"
    return AuthResult(success=ok, auth_data=auth_data.login if ok else None)


@pytest.fixture
def smtp_server():
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def tls_files(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def _message(subject="문의하신 내용에 대한 답변입니다", **overrides):
    values = {
        "from_addr": Address("고객지원팀", "support", "example.com"),
        "to": "홍길동 <hong@example.com>",
        "subject": subject,
        "text": "안녕하세요, 홍길동 고객님.\n요청하신 환불이 처리되었습니다.",
        "domain": mail_domain("https://helpdesk.example.com/"),
    } | overrides
    return build_message(**values)


def test_korean_subject_names_and_body_arrive_intact(smtp_server):
    controller, handler = smtp_server
    with SMTPSender(f"smtp://127.0.0.1:{controller.port}") as sender:
        message_id = sender.send(_message())
    received = handler.received[0]["message"]
    assert received["Subject"] == "문의하신 내용에 대한 답변입니다"
    assert received["From"].addresses[0].display_name == "고객지원팀"
    assert received["To"].addresses[0].display_name == "홍길동"
    assert "요청하신 환불이 처리되었습니다." in received.get_body(("plain",)).get_content()
    assert handler.received[0]["rcpt_tos"] == ["hong@example.com"]
    assert received["Message-ID"] == message_id
    assert message_id.endswith("@helpdesk.example.com>")
    assert received["Date"].datetime is not None


def test_headers_are_ascii_on_the_wire(smtp_server):
    controller, handler = smtp_server
    message = _message()
    with SMTPSender(f"smtp://127.0.0.1:{controller.port}") as sender:
        sender.send(message)
    assert message.as_bytes().isascii()


def test_two_messages_share_one_connection(smtp_server):
    controller, handler = smtp_server
    with SMTPSender(f"smtp://127.0.0.1:{controller.port}") as sender:
        sender.send(_message(subject="첫 번째"))
        sender.send(_message(subject="두 번째"))
    assert [r["message"]["Subject"] for r in handler.received] == ["첫 번째", "두 번째"]
    assert handler.received[0]["peer"] == handler.received[1]["peer"]


def test_sender_reconnects_when_the_server_dropped_the_connection():
    port = free_port()
    first, second = RecordingHandler(), RecordingHandler()
    controller = Controller(first, hostname="127.0.0.1", port=port)
    controller.start()
    sender = SMTPSender(f"smtp://127.0.0.1:{port}")
    sender.send(_message(subject="before restart"))
    controller.stop()
    controller = Controller(second, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender.send(_message(subject="after restart"))
    finally:
        sender.close()
        controller.stop()
    assert [r["message"]["Subject"] for r in second.received] == ["after restart"]


def test_html_alternative_and_korean_attachment_name_survive(smtp_server):
    controller, handler = smtp_server
    message = _message(
        html="<p>환불이 <b>처리</b>되었습니다.</p>",
        attachments=[Attachment("영수증.pdf", b"%PDF-1.4 test", "application/pdf")],
        headers={"In-Reply-To": "<question@example.com>"},
    )
    with SMTPSender(f"smtp://127.0.0.1:{controller.port}") as sender:
        sender.send(message)
    received = handler.received[0]["message"]
    assert "<b>처리</b>" in received.get_body(("html",)).get_content()
    attachment = next(received.iter_attachments())
    assert attachment.get_filename() == "영수증.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"
    assert received["In-Reply-To"] == "<question@example.com>"


def test_starttls_and_login_use_the_credentials_from_the_url(tls_files):
    server_context, client_context = tls_files
    handler = RecordingHandler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    controller.start()
    url = f"smtp+starttls://agent%40example.com:p%40ss%3Aw%2Frd@127.0.0.1:{controller.port}"
    try:
        with SMTPSender(url, ssl_context=client_context) as sender:
            sender.send(_message())
    finally:
        controller.stop()
    assert handler.received[0]["tls"] is True
    assert handler.received[0]["login"] == b"agent@example.com"


def test_smtps_sends_over_implicit_tls(tls_files):
    server_context, client_context = tls_files
    handler = RecordingHandler()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), ssl_context=server_context
    )
    controller.start()
    try:
        with SMTPSender(f"smtps://127.0.0.1:{controller.port}", ssl_context=client_context) as s:
            s.send(_message())
    finally:
        controller.stop()
    assert handler.received[0]["message"]["Subject"] == "문의하신 내용에 대한 답변입니다"


@pytest.mark.parametrize(
    "url",
    ["http://mail.example.com", "smtp://", "smtp://mail.example.com:notaport", "mail.example.com"],
)
def test_unusable_smtp_url_is_refused(url):
    with pytest.raises(SMTPConfigError):
        SMTPSender(url)


def test_password_never_shows_in_the_senders_repr():
    sender = SMTPSender("smtp://agent:s3cret-pass@mail.example.com:587")
    assert "s3cret-pass" not in repr(sender)
    assert "s3cret-pass" not in repr(sender.settings)


def test_subject_with_a_line_break_is_refused():
    with pytest.raises(ValueError):
        _message(subject="Hello\r\nBcc: victim@example.com")


def test_message_without_message_id_is_refused(smtp_server):
    controller, handler = smtp_server
    message = _message()
    del message["Message-ID"]
    with SMTPSender(f"smtp://127.0.0.1:{controller.port}") as sender, pytest.raises(ValueError):
        sender.send(message)
    assert handler.received == []
