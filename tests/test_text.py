"""Services' translatable text: the viewer's language in a request, English elsewhere."""

from helpdesk.text import lazy_ngettext, lazy_text

MISSING = lazy_text("Ticket #%(id)d does not exist.", id=7)


def test_lazy_text_is_english_outside_a_request(app):
    assert str(MISSING) == "Ticket #7 does not exist."


def test_lazy_text_speaks_the_viewers_language_in_a_request(app):
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        assert str(MISSING) == "티켓 #7이(가) 없습니다."


def test_lazy_text_is_escaped_in_html(app):
    text = lazy_text("%(name)s is empty.", name="<b>x</b>")
    assert text.__html__() == "&lt;b&gt;x&lt;/b&gt; is empty."


def _clicks(n: int):
    return lazy_ngettext("%(num)d click", "%(num)d clicks", n)


def test_a_count_takes_the_singular_or_plural_form_in_english(app):
    assert (str(_clicks(1)), str(_clicks(2)), str(_clicks(0))) == (
        "1 click",
        "2 clicks",
        "0 clicks",
    )


def test_a_count_takes_the_korean_form_in_a_korean_request(app):
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        assert (str(_clicks(1)), str(_clicks(3))) == ("1회 클릭", "3회 클릭")
