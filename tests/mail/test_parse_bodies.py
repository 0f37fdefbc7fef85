"""Bodies and attachments: text from plain or HTML parts, safe HTML, cid images, limits,
nested and broken MIME structures."""

import base64
import hashlib
from pathlib import Path

from helpdesk.mail.parse import parse_message

CORPUS = Path(__file__).parent.parent / "data" / "emails"


def corpus(name: str):
    return parse_message((CORPUS / name).read_bytes())


def html_mail(html: str) -> bytes:
    return (
        "From: a@example.com\nSubject: html\nContent-Type: text/html; charset=utf-8\n\n" + html
    ).encode()


def test_html_only_mail_gets_a_text_version_with_line_breaks_and_list_items():
    parsed = corpus("html_only_cid_image.eml")
    assert parsed.text.startswith("Hello support team,\nplease see our new logo below.")
    assert "* Smaller\n  * Bluer" in parsed.text
    assert "Brand guide & more" in parsed.text


def test_html_text_version_leaves_out_script_and_style():
    parsed = corpus("html_only_cid_image.eml")
    assert "alert" not in parsed.text
    assert "background" not in parsed.text


def test_raw_html_is_kept_as_sent():
    parsed = corpus("html_only_cid_image.eml")
    assert "<script>alert('x')</script>" in parsed.html


def test_sanitized_html_has_no_script_style_or_event_handlers():
    parsed = corpus("html_only_cid_image.eml")
    safe = parsed.html_safe
    for forbidden in ("<script", "<style", "onload", "onclick", "javascript:", "url("):
        assert forbidden not in safe
    assert 'style="color:#333"' in safe


def test_sanitized_html_holds_remote_images_and_keeps_cid_ones():
    safe = corpus("html_only_cid_image.eml").html_safe
    assert '<img src="cid:logo@partner.example"' in safe
    assert 'data-remote-src="https://tracker.example/open.gif?u=42"' in safe
    assert ' src="https://' not in safe


def test_protocol_relative_and_relative_image_sources_are_held_too():
    safe = parse_message(
        html_mail('<img src="//cdn.example/a.png"><img alt="x>y" src="/logout">')
    ).html_safe
    assert " src=" not in safe
    assert 'data-remote-src="//cdn.example/a.png"' in safe
    assert 'data-remote-src="/logout"' in safe


def test_links_get_rel_noopener():
    safe = corpus("html_only_cid_image.eml").html_safe
    assert '<a href="https://partner.example/brand" rel="noopener noreferrer nofollow">' in safe


def test_cid_image_is_an_inline_attachment_with_its_content_id():
    parsed = corpus("html_only_cid_image.eml")
    [logo] = parsed.attachments
    assert logo.content_id == "logo@partner.example"
    assert logo.inline is True
    assert logo.content_type == "image/png"
    assert logo.filename == "logo.png"
    assert logo.content.startswith(b"\x89PNG")
    assert logo.sha256 == hashlib.sha256(logo.content).hexdigest()
    assert logo.size == len(logo.content)


def test_plain_text_mail_has_no_html():
    parsed = corpus("plain_utf8_simple.eml")
    assert parsed.html is None
    assert parsed.html_safe is None
    assert parsed.attachments == []


def test_nested_multipart_takes_plain_text_html_inline_image_and_attachment():
    parsed = corpus("nested_multipart.eml")
    assert parsed.text.strip() == (
        "The checkout page shows error E-502 (screenshot below, log attached)."
    )
    assert "<b>E-502</b>" in parsed.html
    assert [(a.filename, a.inline, a.content_id) for a in parsed.attachments] == [
        ("shot.png", True, "shot@example.com"),
        ("checkout.log", False, None),
    ]
    assert parsed.attachments[1].content.startswith(b"2024-01-23T08:59:59Z ERROR")


def test_attached_message_is_an_eml_attachment_and_not_the_body():
    parsed = corpus("forwarded_message_rfc822.eml")
    [forwarded] = parsed.attachments
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.filename == "message.eml"
    assert b"Message-ID: <shipped-1042@shop.example>" in forwarded.content
    assert "tracking number ZX123" not in parsed.text
    assert parsed.message_id == "fwd.1@customer.example"


def test_broken_boundary_is_recovered_from_the_boundary_really_used():
    parsed = corpus("broken_boundary.eml")
    assert parsed.text.strip() == "Please find the invoice for order 1042 attached."
    [invoice] = parsed.attachments
    assert invoice.filename == "invoice-1042.pdf"
    assert invoice.content.startswith(b"%PDF-1.4")
    assert any(d.startswith("broken MIME boundary") for d in parsed.defects)


def test_multipart_without_any_boundary_line_keeps_its_body_as_text():
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=nothere\n\n"
        b"Just text, no parts at all.\n"
    )
    parsed = parse_message(raw)
    assert "Just text, no parts at all." in parsed.text
    assert any("kept as text" in d for d in parsed.defects)


def test_unclosed_multipart_keeps_text_and_truncated_attachment():
    parsed = corpus("broken_boundary_unclosed.eml")
    assert "damaged box" in parsed.text
    [photo] = parsed.attachments
    assert photo.filename == "box.jpg"
    assert photo.content.startswith(b"\xff\xd8\xff")
    assert "CloseBoundaryNotFoundDefect" in parsed.defects


def test_korean_filenames_in_rfc2231_rfc2047_and_raw_8bit_are_decoded():
    parsed = corpus("attachments_korean_filenames.eml")
    assert [a.filename for a in parsed.attachments] == [
        "견적서 2024.pdf",
        "주문목록.xlsx",
        "사진.jpg",
    ]


def test_filename_keeps_only_the_last_path_component():
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        b"Content-Type: text/plain\n\nhi\n--b\nContent-Type: application/octet-stream\n"
        b'Content-Disposition: attachment; filename="C:\\\\Users\\\\x\\\\..\\\\evil.exe"\n\n'
        b"MZ\n--b\nContent-Type: application/octet-stream\n"
        b'Content-Disposition: attachment; filename="../../etc/passwd"\n\nroot\n--b--\n'
    )
    parsed = parse_message(raw)
    assert [a.filename for a in parsed.attachments] == ["evil.exe", "passwd"]


def test_attachment_without_a_name_gets_one_from_its_type():
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        b"Content-Type: text/plain\n\nhi\n--b\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment\n\n%PDF\n--b--\n"
    )
    [attachment] = parse_message(raw).attachments
    assert attachment.filename == "attachment.pdf"


def test_attachment_over_the_limit_is_marked_too_large_and_the_mail_still_parses():
    payload = bytes(range(256)) * (26 * 1024 * 1024 // 256)  # 26 MiB, over the 25 MiB default
    encoded = base64.encodebytes(payload)
    raw = (
        b"From: Big Sender <big@example.com>\nSubject: Huge video\nMessage-ID: <huge@example.com>\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
        b"See the video.\n--b\nContent-Type: video/mp4; name=clip.mp4\n"
        b"Content-Disposition: attachment; filename=clip.mp4\n"
        b"Content-Transfer-Encoding: base64\n\n" + encoded + b"\n--b--\n"
    )
    parsed = parse_message(raw)
    assert parsed.quarantine_reason is None
    assert parsed.text.strip() == "See the video."
    [clip] = parsed.attachments
    assert clip.too_large is True
    assert clip.content == b""
    assert clip.size == len(payload)
    assert clip.sha256 == hashlib.sha256(payload).hexdigest()


def test_attachment_limit_is_configurable():
    parsed = parse_message((CORPUS / "nested_multipart.eml").read_bytes(), max_attachment_bytes=60)
    sizes = {a.filename: (a.too_large, len(a.content)) for a in parsed.attachments}
    assert sizes == {"shot.png": (True, 0), "checkout.log": (False, 54)}


def test_empty_plain_alternative_falls_back_to_the_html_text():
    raw = (
        b"From: a@example.com\nContent-Type: multipart/alternative; boundary=b\n\n--b\n"
        b"Content-Type: text/plain\n\n\n--b\nContent-Type: text/html\n\n"
        b"<p>Only here</p>\n--b--\n"
    )
    assert parse_message(raw).text == "Only here"


def test_xml_declared_xhtml_is_converted():
    parsed = parse_message(
        html_mail('<?xml version="1.0" encoding="utf-8"?><html><body><p>Hi</p></body></html>')
    )
    assert parsed.text == "Hi"


def test_crlf_line_endings_become_lf_in_text():
    raw = b"From: a@example.com\r\nSubject: x\r\n\r\nline one\r\nline two\r\n"
    assert parse_message(raw).text == "line one\nline two\n"


def test_nul_bytes_are_removed_from_text():
    raw = b"From: a@example.com\nSubject: x\x00y\n\nbefore\x00after\n"
    parsed = parse_message(raw)
    assert parsed.text == "beforeafter\n"
    assert parsed.subject == "xy"
