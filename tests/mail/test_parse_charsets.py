"""Bodies in legacy charsets decode correctly; wrong or missing declarations are detected
and recorded as defects."""

from pathlib import Path

from helpdesk.mail.parse import parse_message

CORPUS = Path(__file__).parent.parent / "data" / "emails"


def text_mail(body: bytes, content_type: str = "text/plain") -> bytes:
    return (
        b"From: a@example.com\nSubject: x\nContent-Type: " + content_type.encode() + b"\n\n" + body
    )


def test_declared_charset_that_decodes_records_no_defect():
    parsed = parse_message((CORPUS / "charset_euc_kr.eml").read_bytes())
    assert parsed.defects == []


def test_euc_kr_label_decodes_cp949_extension_syllables():
    parsed = parse_message(text_mail("똠방각하".encode("cp949"), "text/plain; charset=euc-kr"))
    assert parsed.text == "똠방각하"
    assert parsed.defects == []


def test_gb2312_label_decodes_gbk_characters():
    parsed = parse_message(text_mail("镕".encode("gbk"), "text/plain; charset=gb2312"))
    assert parsed.text == "镕"


def test_missing_charset_is_detected_and_recorded():
    parsed = parse_message((CORPUS / "charset_missing_declaration.eml").read_bytes())
    assert "비밀번호 재설정" in parsed.text
    assert "body: no charset declared" in parsed.defects


def test_wrong_charset_is_detected_and_recorded():
    parsed = parse_message((CORPUS / "charset_declared_utf8_actually_euc_kr.eml").read_bytes())
    assert "회원 정보 수정 페이지" in parsed.text
    assert "body: not valid utf-8" in parsed.defects
    assert any(d.startswith("body: charset detected as") for d in parsed.defects)


def test_latin_label_on_utf8_body_is_read_as_utf8():
    parsed = parse_message((CORPUS / "charset_declared_ascii_actually_utf8.eml").read_bytes())
    assert "crème brûlée" in parsed.text
    assert "body: declared us-ascii but is UTF-8" in parsed.defects


def test_unknown_charset_label_is_recorded_and_body_detected():
    parsed = parse_message((CORPUS / "charset_unknown_label.eml").read_bytes())
    assert "30 €" in parsed.text
    assert "body: unknown charset x-bogus-charset" in parsed.defects


def test_undecodable_bytes_fall_back_to_replacement_characters():
    parsed = parse_message(text_mail(b"\xff\xfe\xfa\xfb\xfc", "text/plain; charset=utf-8"))
    assert parsed.quarantine_reason is None
    assert "body: not valid utf-8" in parsed.defects
    assert parsed.text  # something readable, never an exception


def test_iso_2022_jp_without_label_is_recognized_by_its_escapes():
    parsed = parse_message(text_mail("お世話になっております".encode("iso-2022-jp")))
    assert parsed.text == "お世話になっております"


def test_windows_1258_text_is_normalized_to_composed_letters():
    parsed = parse_message((CORPUS / "charset_windows_1258.eml").read_bytes())
    assert "Đơn hàng của tôi chưa đến." in parsed.text
    assert "\u0300" not in parsed.text  # no loose combining grave accent left
