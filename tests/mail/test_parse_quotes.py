"""split_reply keeps what the sender just wrote and drops quoted history and signatures."""

import time

import pytest

from helpdesk.mail.quotes import split_reply


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Jan 1, 2024 at 3:00 PM Help Desk <support@help.example> wrote:",
        "2024년 1월 1일 (월) 오후 3:00, 홍길동 <a@b.c>님이 작성:",
        "2024年1月1日(月) 15:00 山田太郎 <taro@example.jp>:",
        "Am Mo., 1. Jan. 2024 um 15:00 Uhr schrieb Help Desk <support@help.example>:",
        "Le lun. 1 janv. 2024 à 15:00, Help Desk <support@help.example> a écrit :",
    ],
)
def test_attribution_line_starts_the_quoted_history(attribution):
    text = f"New answer.\n\n{attribution}\n> old question\n> more\n"
    assert split_reply(text) == "New answer."


def test_attribution_wrapped_over_two_lines_is_found():
    text = (
        "Thanks!\n\nOn Mon, Jan 1, 2024 at 3:00 PM Help Desk <\nsupport@help.example> wrote:\n> q\n"
    )
    assert split_reply(text) == "Thanks!"


@pytest.mark.parametrize(
    "separator",
    ["-----Original Message-----", "----- Original Message -----", "-----원본 메시지-----"],
)
def test_original_message_separator_starts_the_quoted_history(separator):
    text = f"Yes please.\n\n{separator}\nFrom: Help Desk\nSent: Monday\n\nOld text\n"
    assert split_reply(text) == "Yes please."


def test_outlook_header_block_starts_the_quoted_history():
    text = (
        "Sounds good.\n\n________________________________\n"
        "From: Help Desk <support@help.example>\nSent: Monday, January 1, 2024 3:00 PM\n"
        "To: Me\nSubject: Re: x\n\nOld text\n"
    )
    assert split_reply(text) == "Sounds good."


def test_korean_outlook_header_block_starts_the_quoted_history():
    text = (
        "확인했습니다.\n\n보낸 사람: 고객센터 <support@help.example>\n"
        "보낸 날짜: 2024년 1월 1일 월요일 오후 3:00\n받는 사람: 나\n\n이전 내용\n"
    )
    assert split_reply(text) == "확인했습니다."


def test_from_line_in_the_reply_itself_is_not_a_quote_header():
    text = "From: the warehouse in Busan, the parcel left on Monday.\nThanks\n"
    assert split_reply(text) == text.rstrip()


def test_quoted_lines_without_attribution_are_dropped():
    assert split_reply("> earlier\n> text\n\nMy answer.\n") == "My answer."


def test_interleaved_answers_are_all_kept():
    text = "On Mon, Help Desk <s@h.example> wrote:\n> Model?\n\nX200.\n\n> Bought when?\n\nMarch.\n"
    reply = split_reply(text)
    assert "X200." in reply and "March." in reply
    assert "Model?" not in reply and "wrote:" not in reply


def test_signature_after_dash_dash_space_is_removed():
    assert split_reply("Works now.\n\n-- \nAlex\nDesigner\n") == "Works now."


@pytest.mark.parametrize(
    "mobile",
    [
        "Sent from my iPhone",
        "Sent from my Galaxy",
        "Get Outlook for Android",
        "iPhone에서 보냄",
        "Samsung Galaxy 스마트폰에서 보냈습니다.",
    ],
)
def test_mobile_signature_at_the_end_is_removed(mobile):
    assert split_reply(f"Tuesday works.\n\n{mobile}\n") == "Tuesday works."


def test_mobile_phrase_inside_the_text_is_kept():
    text = "Sent from my iPhone the photo did not arrive.\nCan you check?\n"
    assert split_reply(text) == text.rstrip()


def test_bare_forward_keeps_the_whole_text():
    text = "-----Original Message-----\nFrom: Shop\nSent: Monday\n\nYour order shipped.\n"
    assert split_reply(text) == text.rstrip()


def test_text_without_quotes_is_unchanged_but_trimmed():
    assert split_reply("\nHello,\n\nplease help.\n\n") == "Hello,\n\nplease help."


def test_long_lines_do_not_make_matching_slow():
    text = ("On " + "x" * 100_000 + "\n") * 20 + "2024년 " * 20_000
    started = time.perf_counter()
    split_reply(text)
    assert time.perf_counter() - started < 1.0
