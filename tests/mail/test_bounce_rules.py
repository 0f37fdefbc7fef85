"""The rules that make a mail a bounce, a delivery receipt, a complaint or an automatic
reply, one at a time, on short messages written inline."""

from __future__ import annotations

import base64
import json
import time
from email import policy
from email.parser import BytesParser

import pytest

from helpdesk.mail.bounces.ids import has_verp_address, is_our_message_id
from helpdesk.mail.bounces.library import library_failures
from helpdesk.mail.classify import classify
from helpdesk.mail.parse import Kind, parse_message
from helpdesk.tickets.threading import make_message_id

OURS = "helpdesk.t42.0123456789abcdef.0123456789@helpdesk.test"
ORIGINAL = (
    "From: Helpdesk Support <support@helpdesk.test>\n"
    "To: gone@customer.example\n"
    "Subject: Re: [#42] Refund\n"
    f"Message-ID: <{OURS}>\n"
)


def mail(headers: str, body: str) -> bytes:
    lines = [line for line in headers.split("\n") if line]
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def report(
    blocks: str,
    *,
    report_type: str | None = "delivery-status",
    status_type: str = "message/delivery-status",
    status_headers: str = "",
    sender: str = "MAILER-DAEMON@mx.example.net",
    top: str = "report",
    human: str = "Your message could not be delivered.",
) -> bytes:
    params = f" report-type={report_type};" if report_type else ""
    return mail(
        f"From: {sender}\nTo: support@helpdesk.test\nSubject: Delivery report\n"
        f"Message-ID: <r1@mx.example.net>\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/{top};{params} boundary="b"',
        f"--b\nContent-Type: text/plain\n\n{human}\n"
        f"--b\nContent-Type: {status_type}\n{status_headers}\n"
        f"Reporting-MTA: dns; mx.example.net\n\n{blocks}\n"
        f"--b\nContent-Type: text/rfc822-headers\n\n{ORIGINAL}\n--b--\n",
    )


def block(recipient="gone@customer.example", action="failed", status="5.1.1", diag=None):
    lines = [f"Final-Recipient: rfc822; {recipient}", f"Action: {action}"]
    if status:
        lines.append(f"Status: {status}")
    if diag:
        lines.append(f"Diagnostic-Code: smtp; {diag}")
    return "\n".join(lines) + "\n"


def parsed(raw: bytes):
    result = parse_message(raw, own_addresses=frozenset({"support@helpdesk.test"}))
    assert result.quarantine_reason is None
    return result


# --- report structure -------------------------------------------------------------------


def test_delivery_status_report_is_a_hard_bounce_with_recipient_status_and_original():
    result = parsed(report(block(diag="550 5.1.1 User unknown")))
    assert result.kind is Kind.bounce
    bounce = result.bounce
    assert (bounce.recipient, bounce.recipients) == (
        "gone@customer.example",
        ("gone@customer.example",),
    )
    assert (bounce.status, bounce.hard) == ("5.1.1", True)
    assert bounce.diagnostic == "550 5.1.1 User unknown"
    assert bounce.original_message_id == OURS


@pytest.mark.parametrize(
    ("report_type", "top"), [(None, "report"), (None, "mixed"), ("delivery-status", "mixed")]
)
def test_delivery_status_part_counts_without_report_type_or_report_container(report_type, top):
    result = parsed(report(block(), report_type=report_type, top=top))
    assert (result.kind, result.bounce.recipients) == (Kind.bounce, ("gone@customer.example",))


def test_delivery_status_part_re_encoded_as_base64_is_read():
    fields = "Reporting-MTA: dns; mx.example.net\n\n" + block(status="5.2.1")
    encoded = base64.encodebytes(fields.encode()).decode()
    raw = mail(
        "From: MAILER-DAEMON@mx.example.net\nTo: support@helpdesk.test\nSubject: x\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        "--b\nContent-Type: text/plain\n\nFailed.\n--b\nContent-Type: message/delivery-status\n"
        f"Content-Transfer-Encoding: base64\n\n{encoded}\n--b--\n",
    )
    assert parsed(raw).bounce.status == "5.2.1"


def test_global_delivery_status_reads_utf8_and_escaped_addresses():
    blocks = (
        block("utf-8; 김철수@회사.한국").replace("rfc822; ", "")
        + "\n"
        + block("utf-8; \\x{7528}\\x{6237}@example.cn").replace("rfc822; ", "")
    )
    result = parsed(
        report(
            blocks,
            report_type="global-delivery-status",
            status_type="message/global-delivery-status",
        )
    )
    assert result.bounce.recipients == ("김철수@회사.한국", "用户@example.cn")


@pytest.mark.parametrize("action", ["delivered", "relayed", "expanded"])
def test_delivered_relayed_or_expanded_report_is_a_receipt(action):
    result = parsed(report(block(action=action, status="2.0.0")))
    assert result.kind is Kind.delivery_receipt
    assert (result.bounce.recipients, result.bounce.status) == (
        ("gone@customer.example",),
        "2.0.0",
    )


def test_report_with_failed_and_delivered_recipients_is_a_bounce_for_the_failed_only():
    blocks = block("ok@customer.example", "delivered", "2.0.0") + "\n" + block()
    result = parsed(report(blocks))
    assert (result.kind, result.bounce.recipients) == (Kind.bounce, ("gone@customer.example",))


@pytest.mark.parametrize(
    ("action", "status", "diag", "hard"),
    [
        ("delayed", "4.4.1", None, False),
        ("failed", "4.4.7", None, False),  # gave up after retrying: the class says temporary
        ("failed", None, "550 no such user", True),
        ("failed", None, "452 mailbox full", False),
        ("failed", None, "mailbox full, retry timeout exceeded", False),
        ("error", "5.1.1", None, True),  # OpenSMTPD's non-standard action
        ("", "5.1.1", None, True),  # no action: the status class says failed
    ],
)
def test_hard_or_soft_from_status_class_then_reply_code_then_wording(action, status, diag, hard):
    result = parsed(report(block(action=action, status=status, diag=diag)))
    assert (result.kind, result.bounce.hard) == (Kind.bounce, hard)


# --- mail-system origin and text ----------------------------------------------------------

QMAIL_TEXT = (
    "Hi. This is the qmail-send program at mx.example.net.\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
    "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
    "<gone@customer.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
    "--- Below this line is a copy of the message.\n\n" + ORIGINAL
)


@pytest.mark.parametrize(
    "sender_header",
    [
        "From: MAILER-DAEMON@mx.example.net",
        "From: MAILER-DAEMON",
        "From: <>",
        "From: Mail Delivery System <>",
        "",
    ],
    ids=["daemon", "daemon-no-domain", "empty", "name-only", "no-from"],
)
def test_text_bounce_is_read_whatever_the_sender_and_never_quarantined(sender_header):
    raw = mail(
        f"Return-Path: <>\n{sender_header}\nTo: support@helpdesk.test\nSubject: x", QMAIL_TEXT
    )
    result = parsed(raw)
    assert result.kind is Kind.bounce
    assert (result.bounce.recipients, result.bounce.status) == (("gone@customer.example",), "5.1.1")
    assert result.bounce.original_message_id == OURS


def test_customer_mail_without_from_is_still_quarantined():
    result = parse_message(b"To: support@helpdesk.test\nSubject: Hello\n\nMy order is late.\n")
    assert result.kind is Kind.normal
    assert result.quarantine_reason == "no From header"


def test_report_fields_in_text_count_from_a_mail_system_only():
    fields = "Final-Recipient: rfc822; gone@customer.example\nAction: failed\nStatus: 5.1.1\n"
    from_daemon = mail("From: MAILER-DAEMON@gw.example.net\nSubject: DSN", fields)
    from_customer = mail("From: Kim <kim@customer.example>\nSubject: Is this a problem?", fields)
    assert parsed(from_daemon).kind is Kind.bounce
    assert parsed(from_customer).kind is Kind.normal


def test_x_failed_recipients_names_every_failed_recipient():
    raw = mail(
        "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\nSubject: Mail delivery failed\n"
        "X-Failed-Recipients: a@customer.example, B.Kim@Customer.Example",
        "A message that you sent could not be delivered to one or more of its recipients.\n",
    )
    assert parsed(raw).bounce.recipients == ("a@customer.example", "B.Kim@customer.example")


def test_mail_to_our_verp_return_path_is_from_a_mail_system():
    raw = mail(
        "From: someone@relay.example.net\nTo: bounces+Ab12Cd34@helpdesk.test\nSubject: Returned",
        "gone@customer.example\n550 mailbox unavailable\n",
    )
    result = parsed(raw)
    assert (result.kind, result.bounce.recipients, result.bounce.hard) == (
        Kind.bounce,
        ("gone@customer.example",),
        True,
    )


def test_returned_original_names_the_recipient_when_the_text_names_nobody():
    raw = mail(
        "Return-Path: <>\nFrom: gateway@carrier.example.jp\nSubject: error\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"',
        "--b\nContent-Type: text/plain; charset=utf-8\n\n"
        "送信されたメールは宛先不明のため配送できませんでした。\n"
        f"--b\nContent-Type: message/rfc822\n\n{ORIGINAL}\nHello\n--b--\n",
    )
    result = parsed(raw)
    assert (result.kind, result.bounce.recipients) == (Kind.bounce, ("gone@customer.example",))


@pytest.mark.parametrize(
    ("text", "hard"),
    [
        ("<gone@customer.example>: 452 4.2.2 mailbox full", False),
        ("<gone@customer.example>: host said: 550 no such user", True),
        ("<gone@customer.example>: host said: 452 try later", False),
        ("Die Zustellung an gone@customer.example ist fehlgeschlagen: Postfach voll.", False),
        ("gone@customer.example 님에게 메일 전송 실패: 메일함 용량이 초과되었습니다.", False),
        ("gone@customer.example 宛のメールは配信できませんでした。容量がいっぱいです。", False),
        ("gone@customer.example 宛のメールは配信できませんでした。宛先不明です。", True),
        ("Message delivery to gone@customer.example has been delayed; we will keep trying.", False),
    ],
)
def test_hard_or_soft_from_text_by_code_then_wording_in_several_languages(text, hard):
    raw = mail(
        "From: MAILER-DAEMON@mx.example.net\nSubject: failure\n"
        "Content-Type: text/plain; charset=utf-8",
        text + "\n",
    )
    result = parsed(raw)
    assert (result.kind, result.bounce.hard) == (Kind.bounce, hard)


def test_version_numbers_are_not_status_codes_but_qmail_codes_are():
    raw = mail(
        "From: MAILER-DAEMON@mx.example.net\nSubject: Mail delivery failed",
        "This message was created by Exim 4.94.2.\n"
        "  gone@customer.example\n    Unrouteable address\n",
    )
    assert parsed(raw).bounce.status is None
    assert parsed(
        mail("From: MAILER-DAEMON@mx.example.net\nSubject: x", QMAIL_TEXT)
    ).bounce.status == ("5.1.1")


def test_null_return_path_with_auto_reply_headers_and_failure_words_stays_an_auto_reply():
    raw = mail(
        "Return-Path: <>\nFrom: Lee <lee@corp.example>\nSubject: Automatic reply: Undeliverable\n"
        "Auto-Submitted: auto-replied",
        "I have left the company. Your message was not delivered to anyone.\n"
        "Please write to orders@corp.example.\n",
    )
    result = parsed(raw)
    assert (result.kind, result.auto_reply_reason) == (
        Kind.auto_reply,
        "Auto-Submitted: auto-replied",
    )


@pytest.mark.parametrize(
    "headers",
    [
        "From: Kim <kim@customer.example>\nSubject: Undeliverable?",
        "From: Postmaster <postmaster@smallshop.example>\nSubject: Volume discount",
    ],
)
def test_customer_mail_about_undeliverable_mail_stays_normal(headers):
    body = "My mail to sales was undeliverable, user unknown they said. Can you help?\n"
    assert parsed(mail(headers, body)).kind is Kind.normal


def test_bounce_forwarded_by_a_customer_as_an_attachment_stays_normal():
    inner = report(block()).decode()
    raw = mail(
        "From: Kim <kim@customer.example>\nSubject: Fwd: Delivery report\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="outer"',
        "--outer\nContent-Type: text/plain\n\nI got this, please help.\n"
        f"--outer\nContent-Type: message/rfc822\n\n{inner}\n--outer--\n",
    )
    assert parsed(raw).kind is Kind.normal


# --- complaints ---------------------------------------------------------------------------

FEEDBACK = (
    "Feedback-Type: abuse\nUser-Agent: FBL/1.0\nVersion: 1\n"
    "Original-Rcpt-To: <annoyed@customer.example>\n"
)


def arf(
    feedback=FEEDBACK, *, report_type="feedback-report", feedback_type="message/feedback-report"
):
    params = f" report-type={report_type};" if report_type else ""
    return mail(
        "From: abuse@isp.example\nTo: bounces+Ab12Cd34@helpdesk.test\nSubject: Abuse report\n"
        f'MIME-Version: 1.0\nContent-Type: multipart/report;{params} boundary="f"',
        "--f\nContent-Type: text/plain\n\nA complaint.\n"
        f"--f\nContent-Type: {feedback_type}\n\n{feedback}\n"
        f"--f\nContent-Type: text/rfc822-headers\n\n{ORIGINAL}\n--f--\n",
    )


@pytest.mark.parametrize(
    ("report_type", "feedback_type"),
    [
        ("feedback-report", "message/feedback-report"),
        (None, "message/feedback-report"),
        ("feedback-report", "text/plain"),
    ],
    ids=["standard", "no-report-type", "feedback-as-text"],
)
def test_arf_complaint_with_imperfect_headers(report_type, feedback_type):
    result = parsed(arf(report_type=report_type, feedback_type=feedback_type))
    assert result.kind is Kind.complaint
    assert result.complaint_recipient == "annoyed@customer.example"
    assert result.bounce.original_message_id == OURS


def test_complaint_without_original_rcpt_to_names_the_original_recipient():
    result = parsed(arf("Feedback-Type: abuse\nUser-Agent: FBL/1.0\nVersion: 1\n"))
    assert result.complaint_recipient == "gone@customer.example"


def test_complaint_whose_original_recipient_is_redacted_names_nobody():
    redacted = arf("Feedback-Type: abuse\nVersion: 1\n").replace(
        b"To: gone@customer.example", b"To: redacted@aol.com"
    )
    result = parsed(redacted)
    assert (result.kind, result.complaint_recipient) == (Kind.complaint, None)


@pytest.mark.parametrize("feedback_type", ["not-spam", "auth-failure"])
def test_feedback_reports_that_are_not_complaints_are_automatic(feedback_type):
    result = parsed(arf(FEEDBACK.replace("abuse", feedback_type)))
    assert result.kind is Kind.auto_reply
    assert result.auto_reply_reason == f"feedback report ({feedback_type})"


def test_microsoft_jmrp_report_is_a_complaint():
    raw = mail(
        "From: staff@hotmail.com\nSubject: complaint\nX-HmXmrOriginalRecipient: <k@hotmail.com>",
        "A complaint.\n",
    )
    assert (parsed(raw).kind, parsed(raw).complaint_recipient) == (Kind.complaint, "k@hotmail.com")


def test_feedback_fields_pasted_by_a_customer_are_not_a_complaint():
    raw = mail("From: Kim <kim@customer.example>\nSubject: What is this?", FEEDBACK)
    assert parsed(raw).kind is Kind.normal


# --- SES notifications ------------------------------------------------------------------


def ses(payload: dict, *, envelope: bool) -> bytes:
    message = json.dumps(payload)
    if envelope:
        body = json.dumps({"Type": "Notification", "MessageId": "1", "Message": message})
    else:
        body = message + "\n\n--\nIf you wish to stop receiving notifications, unsubscribe.\n"
    return mail(
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\nSubject: AWS Notification", body
    )


MAIL_OBJECT = {"commonHeaders": {"messageId": f"<{OURS}>"}}
GONE = {"emailAddress": "gone@customer.example"}


@pytest.mark.parametrize("envelope", [True, False], ids=["email-json", "email"])
@pytest.mark.parametrize(
    ("bounce_type", "status", "hard"),
    [("Permanent", "5.1.1", True), ("Transient", "4.2.2", False), ("Transient", None, False)],
)
def test_ses_bounce_notification(envelope, bounce_type, status, hard):
    recipient = {"emailAddress": "gone@customer.example"}
    if status:
        recipient |= {"status": status, "diagnosticCode": f"smtp; 5xx {status}"}
    payload = {
        "notificationType": "Bounce",
        "bounce": {"bounceType": bounce_type, "bouncedRecipients": [recipient]},
        "mail": MAIL_OBJECT,
    }
    result = parsed(ses(payload, envelope=envelope))
    assert result.kind is Kind.bounce
    bounce = result.bounce
    assert (bounce.recipients, bounce.status, bounce.hard) == (
        ("gone@customer.example",),
        status,
        hard,
    )
    assert bounce.original_message_id == OURS


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"eventType": "Complaint", "complaint": {"complainedRecipients": [GONE]}}, Kind.complaint),
        (
            {"notificationType": "Delivery", "delivery": {"recipients": [GONE["emailAddress"]]}},
            Kind.delivery_receipt,
        ),
        (
            {"eventType": "DeliveryDelay", "deliveryDelay": {"delayedRecipients": [GONE]}},
            Kind.bounce,
        ),
    ],
)
def test_ses_complaint_delivery_and_delay_notifications(payload, kind):
    result = parsed(ses(payload | {"mail": MAIL_OBJECT}, envelope=True))
    assert (result.kind, result.bounce.recipients) == (kind, ("gone@customer.example",))


@pytest.mark.parametrize(
    "body",
    ['{"order": 1001, "question": "where is it?"}', '{"notificationType": "Bounce", ', "{" * 5000],
)
def test_json_that_is_no_ses_notification_is_left_alone(body):
    assert parsed(mail("From: Kim <kim@customer.example>\nSubject: JSON", body)).kind is Kind.normal


# --- look-alikes that are automatic -----------------------------------------------------


def test_read_receipt_is_an_auto_reply():
    raw = mail(
        "From: Kim <kim@customer.example>\nSubject: Read: Refund\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="m"',
        "--m\nContent-Type: text/plain\n\nYour message was displayed.\n"
        "--m\nContent-Type: message/disposition-notification\n\n"
        "Final-Recipient: rfc822; kim@customer.example\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n--m--\n",
    )
    result = parsed(raw)
    assert (result.kind, result.auto_reply_reason) == (
        Kind.auto_reply,
        "read receipt (message disposition notification)",
    )


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("From: <kim-confirm+1@customer.example>\nX-Delivery-Agent: TMDA/1.1", "x-delivery-agent"),
        ("From: Boxbe <notify@boxbe.com>\nX-Boxbe-Notification: challenge", "x-boxbe-notification"),
        ("From: Guard <noreply@guard.example.net>", None),
    ],
)  # fmt: skip
def test_challenge_response_request_is_an_auto_reply(headers, reason):
    body = "Your message is being held. Please confirm that you are a human to deliver it.\n"
    result = parsed(mail(headers + "\nSubject: Please verify", body))
    assert result.kind is Kind.auto_reply
    assert result.auto_reply_reason == (
        f"challenge-response ({reason} header)" if reason else "challenge-response request"
    )


def test_customer_saying_a_parcel_is_held_is_no_challenge():
    body = "My parcel is being held at customs. Please confirm that you are sending the invoice.\n"
    assert (
        parsed(mail("From: Kim <kim@customer.example>\nSubject: Customs", body)).kind is Kind.normal
    )


@pytest.mark.parametrize(
    "subject",
    [
        "Automatische Antwort: Bestellung",
        "Réponse automatique : Commande",
        "【自動返信】不在",
        "自動応答: 不在です",
    ],
)
def test_auto_reply_subjects_in_more_languages(subject):
    raw = mail(
        f"From: a@customer.example\nSubject: {subject}\nContent-Type: text/plain; charset=utf-8",
        "Away.\n",
    )
    assert parsed(raw).kind is Kind.auto_reply


# --- ids, flufl.bounce, bounded work ------------------------------------------------------


def test_our_message_id_and_verp_shapes_match_what_we_send():
    assert is_our_message_id(make_message_id(123, "secret", "helpdesk.test"))
    assert is_our_message_id("campaign.7.Ab12Cd34Ef@helpdesk.test")
    assert not is_our_message_id("CAF=x@mail.gmail.com")
    assert has_verp_address("<bounces+Ab12Cd34@helpdesk.test>")
    assert not has_verp_address("mybounces+x@customer.example")


def test_flufl_bounce_reads_a_format_our_wording_does_not_know():
    raw = mail(
        "From: Mail System <postmaster@isp.example.jp>\nSubject: Returned mail",
        "   ----- The following addresses had delivery problems -----\ngone@customer.example\n\n"
        "   ----- Non-delivered information -----\nThe mailbox exceeded the local limit.\n",
    )
    result = parsed(raw)
    assert (result.kind, result.bounce.recipients, result.bounce.hard) == (
        Kind.bounce,
        ("gone@customer.example",),
        False,
    )


def test_flufl_bounce_on_a_mail_without_from_does_not_raise():
    msg = BytesParser(policy=policy.compat32).parsebytes(mail("Subject: x", QMAIL_TEXT))
    assert library_failures(msg) == ([], ["gone@customer.example"])


def test_classify_stays_fast_on_large_and_hostile_input():
    hostile = [
        QMAIL_TEXT + ("x" * 70 + "\n") * 60_000,  # a 4 MB returned message
        "a@" * 200_000,
        "5.5.5." * 100_000,
        ("-" * 1000 + "\n") * 2_000,
        ("- " * 8000 + "\n") * 20,
        "delivery to " * 20_000,
        "Final-Recipient: rfc822; " + "x" * 500_000,
        "said: " * 100_000 + "550",
    ]
    for body in hostile:
        raw = mail("From: MAILER-DAEMON@mx.example.net\nSubject: failure notice", body)
        parsed_mail = parse_message(raw)
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)
        started = time.perf_counter()
        classify(
            msg,
            parsed_mail.headers,
            "MAILER-DAEMON@mx.example.net",
            parsed_mail.text,
            own_addresses=frozenset(),
            loop_header="X-Helpdesk-Loop",
        )
        assert time.perf_counter() - started < 1.0
