"""Every message in tests/data/emails parses to the expected kind, subject and text."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpdesk.mail.parse import Kind, parse_message

CORPUS = Path(__file__).parent.parent / "data" / "emails"


@dataclass(frozen=True)
class Expected:
    kind: Kind = Kind.normal
    subject: str = ""
    text: str = ""  # found in text
    reply: str = ""  # found in text_reply
    not_in_reply: str = ""  # quoted history or signature that must be gone from text_reply
    quarantine: str | None = None


EXPECTED = {
    "plain_utf8_simple.eml": Expected(
        subject="Order #1042 has not arrived", text="My order #1042 has not arrived yet."
    ),
    "charset_euc_kr.eml": Expected(
        subject="배송 문의드립니다", text="지난주에 주문한 상품이 아직 도착하지 않았습니다."
    ),
    "charset_ks_c_5601_1987_outlook.eml": Expected(
        subject="환불 요청 (똠방각하)", text="똠방각하 님 앞으로 온 환불 건 문의입니다."
    ),
    "header_8bit_cp949_unencoded.eml": Expected(
        subject="견적서 요청드립니다 (똠 상사)", text="견적서를 받아볼 수 있을까요?"
    ),
    "charset_iso_2022_jp.eml": Expected(
        subject="ご注文について", text="ご注文の商品がまだ届いておりません。"
    ),
    "charset_shift_jis.eml": Expected(subject="請求書の件", text="① 宛名を会社名に変更"),
    "charset_gb2312.eml": Expected(subject="退款申请", text="我想申请退款，订单号是1042。"),
    "charset_windows_1250.eml": Expected(
        subject="Zwrot zamówienia", text="zamówienie nie dotarło. Proszę o zwrot pieniędzy."
    ),
    "charset_windows_1251.eml": Expected(subject="Заказ не пришёл", text="Мой заказ не пришёл"),
    "charset_windows_1252.eml": Expected(
        subject="Beschädigte Lieferung", text="Grüße aus Köln – die Lieferung ist beschädigt."
    ),
    "charset_windows_1253.eml": Expected(subject="Παραγγελία", text="Η παραγγελία μου δεν έφτασε."),
    "charset_windows_1254.eml": Expected(
        subject="Sipariş gecikmesi", text="Siparişim henüz gelmedi, lütfen yardımcı olun."
    ),
    "charset_windows_1255.eml": Expected(subject="הזמנה", text="ההזמנה שלי לא הגיעה."),
    "charset_windows_1256.eml": Expected(subject="طلب", text="لم يصل طلبي بعد."),
    "charset_windows_1257.eml": Expected(
        subject="Užsakymas", text="mano užsakymas dar neatkeliavo."
    ),
    "charset_windows_1258.eml": Expected(subject="Đơn hàng", text="Đơn hàng của tôi chưa đến."),
    "charset_missing_declaration.eml": Expected(
        subject="No charset declared", text="비밀번호 재설정 메일이 오지 않습니다."
    ),
    "charset_declared_utf8_actually_euc_kr.eml": Expected(
        subject="Wrong charset label", text="주소를 변경할 수 없습니다."
    ),
    "charset_declared_ascii_actually_utf8.eml": Expected(
        subject="Commande", text="la crème brûlée est arrivée cassée. Merci — Chloé"
    ),
    "charset_unknown_label.eml": Expected(
        subject="Unknown charset label", text="Price is 30 € — please refund the naïve"
    ),
    "malformed_headers.eml": Expected(
        subject="Printer keeps jamming", text="The printer keeps jamming on page 2."
    ),
    "broken_boundary.eml": Expected(
        subject="Invoice attached (broken boundary)",
        text="Please find the invoice for order 1042 attached.",
    ),
    "broken_boundary_unclosed.eml": Expected(
        subject="Truncated upload", text="The photo of the damaged box is attached."
    ),
    "nested_multipart.eml": Expected(
        subject="Screenshot of the error", text="The checkout page shows error E-502"
    ),
    "forwarded_message_rfc822.eml": Expected(
        subject="Fwd: Your order #1042 has shipped", text="the tracking number does not work"
    ),
    "attachments_korean_filenames.eml": Expected(
        subject="Documents", text="Three documents attached."
    ),
    "html_only_cid_image.eml": Expected(
        subject="Our new logo", text="please see our new logo below."
    ),
    "no_message_id.eml": Expected(
        subject="Contact form: question about warranty", text="warranty on the X200 blender"
    ),
    "no_from_header.eml": Expected(
        subject="Scanned document", text="Scanned document attached.", quarantine="no From header"
    ),
    "not_mail_binary.eml": Expected(quarantine="not a mail message: no header fields"),
    "reply_naver_korean_quoted.eml": Expected(
        subject="Re: 배송 문의",
        text="택배사 확인 결과 내일 재배송 예정입니다.",
        reply="내일 다시 배송된다고 하니 기다려 보겠습니다.",
        not_in_reply="Original Message",
    ),
    "reply_gmail_korean_quoted.eml": Expected(
        subject="Re: [티켓 #78] 교환 요청",
        text="교환 신청서를 작성해 주시면 처리해 드리겠습니다.",
        reply="사이즈는 270으로 부탁드립니다.",
        not_in_reply="님이 작성",
    ),
    "reply_outlook_english.eml": Expected(
        subject="RE: [Ticket #81] Licence renewal",
        text="your licence expires on February 1st",
        reply="Yes, please renew all 25 seats for another year.",
        not_in_reply="licence expires",
    ),
    "reply_gmail_signature.eml": Expected(
        subject="Re: [Ticket #90] Password reset",
        text="Product Designer",
        reply="That worked, thank you! I can log in again.",
        not_in_reply="Product Designer",
    ),
    "reply_iphone.eml": Expected(
        subject="Re: [Ticket #95] Delivery window",
        text="Which delivery window suits you?",
        reply="Tuesday afternoon works for me.",
        not_in_reply="Sent from my iPhone",
    ),
    "reply_interleaved.eml": Expected(
        subject="Re: [Ticket #99] A few questions",
        text="Which model do you have?",
        reply="In March 2023.",
        not_in_reply="Which model do you have?",
    ),
    "autoreply_gmail_vacation.eml": Expected(
        kind=Kind.auto_reply, subject="Re: [Ticket #101] Your refund", text="I am on vacation"
    ),
    "autoreply_exchange_oof.eml": Expected(
        kind=Kind.auto_reply,
        subject="Automatic reply: [Ticket #102] Invoice question",
        text="I am out of the office until Monday",
    ),
    "autoreply_korean.eml": Expected(
        kind=Kind.auto_reply, subject="[자동응답] 휴가 중입니다", text="휴가 중입니다."
    ),
    "mailing_list_post.eml": Expected(
        kind=Kind.auto_reply, subject="[community] Weekly digest", text="12 new threads"
    ),
    "looped_own_message.eml": Expected(
        kind=Kind.auto_reply, subject="Re: [Ticket #110] Test", text="our own reply coming back"
    ),
    "dsn_postfix_hard.eml": Expected(
        kind=Kind.bounce,
        subject="Undelivered Mail Returned to Sender",
        text="your message could not\nbe delivered",
    ),
    "dsn_postfix_delayed.eml": Expected(
        kind=Kind.bounce,
        subject="Delayed Mail (still being retried)",
        text="THIS IS A WARNING ONLY.",
    ),
    "dsn_exim_hard.eml": Expected(
        kind=Kind.bounce,
        subject="Mail delivery failed: returning message to sender",
        text="This is a permanent error.",
    ),
    "dsn_exchange_hard.eml": Expected(
        kind=Kind.bounce,
        subject="Undeliverable: [Ticket #123] Shipping update",
        text="couldn't be delivered",
    ),
    "dsn_mailbox_full_soft.eml": Expected(
        kind=Kind.bounce,
        subject="Delivery Status Notification (Delay)",
        text="has been delayed",
    ),
    "complaint_arf.eml": Expected(
        kind=Kind.complaint,
        subject="FW: [Newsletter] February offers",
        text="This is an email abuse report",
    ),
}


def test_every_corpus_file_has_an_expectation():
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_parses_as_expected(name):
    expected = EXPECTED[name]
    mail = parse_message((CORPUS / name).read_bytes())

    assert mail.quarantine_reason == expected.quarantine
    assert mail.kind is expected.kind
    assert expected.subject in mail.subject
    if expected.subject:
        assert mail.subject.endswith(expected.subject)
    assert expected.text in mail.text
    assert expected.reply in mail.text_reply
    if expected.not_in_reply:
        assert expected.not_in_reply not in mail.text_reply
        assert expected.not_in_reply in mail.text
    if expected.quarantine is None:
        assert "\ufffd" not in mail.text + mail.subject


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_keeps_the_hash_of_its_bytes(name):
    raw = (CORPUS / name).read_bytes()
    assert parse_message(raw).sha256 == hashlib.sha256(raw).hexdigest()
