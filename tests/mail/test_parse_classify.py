"""Mail is classified as normal, auto-reply (with the reason), bounce (with recipient, status
and original Message-ID) or complaint (with the complaining recipient)."""

from pathlib import Path

import pytest

from helpdesk.mail.parse import Kind, parse_message

CORPUS = Path(__file__).parent.parent / "data" / "emails"


def corpus(name: str, **options):
    return parse_message((CORPUS / name).read_bytes(), **options)


def with_header(header: str) -> bytes:
    return (
        f"From: Kim <kim@example.kr>\nTo: support@help.example\nSubject: Re: hello\n{header}\n\n"
        "I am away.\n"
    ).encode()


def test_plain_customer_mail_is_normal():
    parsed = corpus("plain_utf8_simple.eml")
    assert parsed.kind is Kind.normal
    assert parsed.auto_reply_reason is None
    assert parsed.bounce is None
    assert parsed.complaint_recipient is None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated; owner-email=x@y.z", "Auto-Submitted: auto-generated"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("Precedence: junk", "Precedence: junk"),
        ("Precedence: list", "Precedence: list"),
        ("Precedence: auto_reply", "Precedence: auto_reply"),
        ("X-Autoreply: yes", "X-Autoreply: yes"),
        ("X-Autorespond: Out of office", "X-Autorespond: Out of office"),
        ("X-Auto-Response-Suppress: All", "X-Auto-Response-Suppress: All"),
        ("List-Id: <users.lists.example>", "List-Id: <users.lists.example>"),
        ("X-Helpdesk-Loop: support@help.example", "loop header X-Helpdesk-Loop present"),
    ],
)
def test_auto_reply_header_is_recognized_with_its_reason(header, reason):
    parsed = parse_message(with_header(header))
    assert parsed.kind is Kind.auto_reply
    assert parsed.auto_reply_reason == reason


@pytest.mark.parametrize("header", ["Auto-Submitted: no", "Precedence: first-class", "X-Other: 1"])
def test_headers_that_do_not_mean_automatic_leave_mail_normal(header):
    assert parse_message(with_header(header)).kind is Kind.normal


def test_configured_loop_header_is_recognized():
    parsed = parse_message(with_header("X-Our-Loop: 1"), loop_header="X-Our-Loop")
    assert parsed.kind is Kind.auto_reply
    assert parsed.auto_reply_reason == "loop header X-Our-Loop present"


def test_mail_from_one_of_our_own_addresses_is_an_auto_reply():
    parsed = parse_message(with_header("X-Other: 1"), own_addresses=frozenset({"Kim@example.kr"}))
    assert parsed.kind is Kind.auto_reply
    assert parsed.auto_reply_reason == "sent from our own address kim@example.kr"


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: Your order", "[자동응답] 휴가 중입니다", "Out of Office: back Monday"],
)
def test_auto_responder_subject_prefix_is_an_auto_reply(subject):
    raw = f"From: a@example.com\nSubject: {subject}\n\nAway.\n".encode()
    assert parse_message(raw).kind is Kind.auto_reply


def test_question_about_office_hours_is_not_an_auto_reply():
    raw = b"From: a@example.com\nSubject: Are you out of office hours on Friday?\n\nHi\n"
    assert parse_message(raw).kind is Kind.normal


def test_exchange_out_of_office_reason():
    assert corpus("autoreply_exchange_oof.eml").auto_reply_reason == "X-Auto-Response-Suppress: All"


def test_postfix_hard_bounce_has_recipient_status_diagnostic_and_original_id():
    bounce = corpus("dsn_postfix_hard.eml").bounce
    assert bounce.recipient == "No.Such.User@customer.example"
    assert bounce.status == "5.1.1"
    assert bounce.hard is True
    assert "User unknown in virtual mailbox table" in bounce.diagnostic
    assert bounce.original_message_id == "ticket-120.ack@help.example"


def test_postfix_delay_notice_is_a_soft_bounce():
    bounce = corpus("dsn_postfix_delayed.eml").bounce
    assert (bounce.recipient, bounce.status, bounce.hard) == (
        "full.box@customer.example",
        "4.2.2",
        False,
    )
    assert bounce.original_message_id == "ticket-121.reply-1@help.example"


def test_exim_bounce_is_read_from_x_failed_recipients_and_the_quoted_copy():
    bounce = corpus("dsn_exim_hard.eml").bounce
    assert bounce.recipient == "gone@old-domain.example"
    assert bounce.status == "5.1.1"
    assert bounce.hard is True
    assert bounce.diagnostic.startswith("550 5.1.1")
    assert bounce.original_message_id == "ticket-122.reply-1@help.example"


def test_exchange_ndr_is_a_hard_bounce_with_the_original_id():
    parsed = corpus("dsn_exchange_hard.eml")
    assert parsed.kind is Kind.bounce  # not an auto-reply, despite Auto-Submitted
    bounce = parsed.bounce
    assert bounce.recipient == "left.company@corp-customer.example"
    assert bounce.status == "5.1.10"
    assert bounce.hard is True
    assert "RecipientNotFound" in bounce.diagnostic
    assert bounce.original_message_id == "ticket-123.reply-1@help.example"


def test_mailer_daemon_delay_without_report_is_a_soft_bounce():
    bounce = corpus("dsn_mailbox_full_soft.eml").bounce
    assert bounce.recipient == "busy.person@smallhost.example"
    assert bounce.status == "4.2.2"
    assert bounce.hard is False


def test_mail_from_postmaster_without_bounce_content_is_not_a_bounce():
    raw = b"From: postmaster@example.com\nSubject: Hello\n\nWe moved our office.\n"
    assert parse_message(raw).kind is Kind.normal


def test_bounce_without_status_but_smtp_5xx_is_hard():
    raw = (
        b"From: MAILER-DAEMON@mx.example\nReturn-Path: <>\nSubject: failure notice\n\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        b"This is a permanent error; I've given up.\n\n<x@y.example>:\n"
        b"550 no such mailbox here\n"
    )
    bounce = parse_message(raw).bounce
    assert bounce.recipient == "x@y.example"
    assert bounce.status is None
    assert bounce.hard is True


def test_arf_complaint_names_the_original_recipient():
    parsed = corpus("complaint_arf.eml")
    assert parsed.kind is Kind.complaint
    assert parsed.complaint_recipient == "Annoyed.Reader@mailbox-provider.example"


def test_arf_complaint_without_original_rcpt_to_uses_the_original_to():
    raw = (
        b"From: fbl@isp.example\nSubject: complaint\nContent-Type: multipart/report; "
        b"report-type=feedback-report; boundary=r\n\n--r\nContent-Type: text/plain\n\nAbuse.\n"
        b"--r\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n\n"
        b"--r\nContent-Type: text/rfc822-headers\n\nFrom: news@help.example\n"
        b"To: Reader <reader@isp.example>\nMessage-ID: <c1@help.example>\n\n--r--\n"
    )
    parsed = parse_message(raw)
    assert parsed.kind is Kind.complaint
    assert parsed.complaint_recipient == "reader@isp.example"
