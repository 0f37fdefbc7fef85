"""Campaign messages are written directly, not through the email package: a mail client
must read exactly what `build_message` would have made, in English and in Korean."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.headerregistry import Address

import pytest

from helpdesk.campaigns.mime import _campaign_mime, _flatten, build_campaign_message
from helpdesk.campaigns.models import Campaign
from helpdesk.campaigns.sending import SendSettings
from helpdesk.mail.outbound import build_message

HEADERS = {
    "List-Unsubscribe": (
        "<https://helpdesk.test/u/0123456789abcdef0123456789abcdef.EhsJiZv3trOm6PnkT9Ft6uttFus>"
        ", <mailto:unsubscribe+0123456789abcdef0123456789abcdef@helpdesk.test?subject=unsubscribe>"
    ),
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    "Precedence": "bulk",
}
LONG_LINE = "This season we picked new things for you: light jackets, linen shirts and shoes. " * 3

CASES = {
    "english": {
        "from_name": "Shop News",
        "subject": "Spring news for Reader",
        "text": f"Hello Reader,\n\n{LONG_LINE}\n.A line starting with a dot\n",
        "html": f"<html><body><p style='color:#333'>Hi</p><p>{LONG_LINE}</p></body></html>",
    },
    "korean": {
        "from_name": "행복 상점",
        "subject": "김민지 님, 봄 신상품 소식입니다 — 이번 달 회원 무료 배송 " * 2,
        "text": "안녕하세요 김민지 님,\n\n봄 신상품이 나왔습니다. 회원은 무료 배송입니다.\n",
        "html": "<html><body><p>안녕하세요 김민지 님,</p><p>봄 신상품입니다.</p></body></html>",
    },
    "long-korean-sender": {
        "from_name": "행복한 봄맞이 특별 할인 행사를 준비한 우리 동네 작은 상점 " * 3,
        "subject": "봄 소식",
        "text": "안녕하세요\n",
        "html": "<p>안녕하세요</p>",
    },
    "short-ascii": {
        "from_name": 'Doe, John "JD"',
        "subject": "Hi " + "x" * 120,
        "text": "Short lines only.\nTrailing space here \n",
        "html": "<p>short</p>",
    },
}


def _both(case, reply_to=""):
    headers = HEADERS | ({"Reply-To": reply_to} if reply_to else {})
    args = dict(
        subject=case["subject"], text=case["text"], html=case["html"], message_id="<m.1@x.test>"
    )
    direct = _campaign_mime(
        case["from_name"], "news@helpdesk.test", "reader@example.com", headers=headers, **args
    )
    reference = _flatten(
        build_message(
            Address(display_name=case["from_name"], addr_spec="news@helpdesk.test"),
            "reader@example.com",
            args["subject"],
            args["text"],
            args["html"],
            headers=headers,
            message_id=args["message_id"],
        )
    )
    return direct, reference


@pytest.mark.parametrize("name", list(CASES))
def test_direct_message_reads_as_the_email_package_would_write_it(name):
    direct, reference = _both(CASES[name], reply_to="Help Desk <help@helpdesk.test>")
    ours = message_from_bytes(direct, policy=policy.default)
    theirs = message_from_bytes(reference, policy=policy.default)

    for header in (
        "From",
        "To",
        "Subject",
        "Message-ID",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "Precedence",
        "Reply-To",
        "MIME-Version",
    ):
        # Folded RFC 2047 words read back with a space where a line was folded: compare
        # without whitespace for those, exactly for the rest.
        if str(theirs[header]).isascii():
            assert str(ours[header]) == str(theirs[header]), header
        else:
            assert "".join(str(ours[header]).split()) == "".join(str(theirs[header]).split())
    assert ours["Date"]
    assert ours.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in ours.iter_parts()] == ["text/plain", "text/html"]
    for subtype in ("plain", "html"):
        # Line ends as a client reads them: the email package may pick base64 (LF inside)
        # where this writer uses quoted-printable (CRLF, MIME's canonical form).
        mine = ours.get_body((subtype,)).get_content().replace("\r\n", "\n")
        assert mine == theirs.get_body((subtype,)).get_content().replace("\r\n", "\n")
    assert ours.defects == [] and all(not part.defects for part in ours.walk())


def test_every_line_is_ascii_and_within_the_smtp_limit():
    for case in CASES.values():
        direct, _reference = _both(case)
        assert direct.isascii()
        assert all(len(line) <= 998 for line in direct.split(b"\r\n"))
        assert b"\n" not in direct.replace(b"\r\n", b"")


def test_list_unsubscribe_urls_are_not_turned_into_encoded_words():
    direct, _reference = _both(CASES["english"])

    assert b"List-Unsubscribe: <https://helpdesk.test/u/" in direct
    assert b"=?utf-8?" not in direct.split(b"\r\n\r\n", 1)[0].split(b"List-Unsubscribe:")[1]


def test_a_header_beyond_the_direct_writer_is_made_by_the_email_package():
    campaign = Campaign(
        id=1,
        subject="Hi {{ customer.first_name }}",
        from_name="Shop",
        from_email="news@helpdesk.test",
        reply_to="김민지 <help@helpdesk.test>",
        html_body="<p>Hello {{ customer.name }}</p>",
        text_body="",
        text_edited=False,
    )
    settings = SendSettings(
        smtp_url="smtp://127.0.0.1:1", public_url="https://helpdesk.test", secret_key="k"
    )

    built = build_campaign_message(
        campaign, {}, "0" * 32, "reader@example.com", {"name": "Ann", "first_name": "Ann"}, settings
    )
    message = message_from_bytes(built.data, policy=policy.default)

    assert built.data.isascii()
    assert message["Reply-To"].addresses[0].display_name == "김민지"
    assert message["Reply-To"].addresses[0].addr_spec == "help@helpdesk.test"
    assert message["Message-ID"] == built.message_id
    assert "Hello Ann" in message.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    "from_name",
    [
        "x" * 70 + ", Bcc: x@evil.example",
        "행복 상점 " * 10 + ", Bcc: x@evil.example",
        "Shop <News>",
    ],
)
def test_a_from_name_holding_an_address_stays_the_name_of_the_one_sender(from_name):
    case = CASES["english"] | {"from_name": from_name}
    for raw in _both(case):
        [sender] = message_from_bytes(raw, policy=policy.default)["From"].addresses
        assert sender.addr_spec == "news@helpdesk.test"
        assert "".join(sender.display_name.split()) == "".join(from_name.split())
