"""The public search page tells the truth: an honest empty state with the contact form,
"did you mean" for typos, and no 500 for garbage or overlong queries."""

import pytest

from helpdesk.faq.search import MAX_QUERY_LENGTH, did_you_mean
from tests.factories import make_article

KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9"}


@pytest.fixture
def articles(session):
    make_article(session, title="Reset your password", body="Click *Forgot password*.")
    make_article(session, title="How to request a refund", body="Refunds within 30 days.")
    make_article(
        session, title="결제 실패", body="카드 결제가 안 되면 한도를 확인하세요.", language="ko"
    )


def test_a_search_that_finds_nothing_says_so_with_the_contact_form(client, articles):
    response = client.get("/faq/search?q=xyzzy nothing", headers={"Accept-Language": "en"})
    html = response.data.decode()
    assert response.status_code == 200
    assert "No answers found for “xyzzy nothing”" in html
    assert 'id="no-results"' in html
    assert 'href="/faq/contact"' in html
    assert "Reset your password" not in html and "How to request a refund" not in html


def test_the_empty_state_is_in_korean_for_a_korean_visitor(client, articles):
    html = client.get("/faq/search?q=비밀번호", headers=KOREAN).data.decode()
    assert "“비밀번호”에 대한 답변을 찾지 못했습니다" in html
    assert "질문 보내기" in html and 'href="/faq/contact"' in html


def test_results_link_back_to_their_search_so_opening_one_is_counted(client, articles):
    html = client.get("/faq/search?q=refund").data.decode()
    assert 'href="/faq/en/how-to-request-a-refund?sq=refund"' in html
    assert 'id="no-results"' not in html


def test_a_typo_offers_the_word_the_faq_uses(client, articles):
    html = client.get("/faq/search?q=refnud").data.decode()
    assert 'id="did-you-mean"' in html
    assert 'href="/faq/search?q=refund"' in html


def test_a_korean_typo_offers_the_korean_word(session, articles):
    assert did_you_mean(session, "결재가 안돼요") == "결제가 안돼요"


def test_a_correctly_spelled_query_gets_no_suggestion(session, articles):
    assert did_you_mean(session, "refund") is None
    assert did_you_mean(session, "결제") is None


def test_no_suggestion_when_the_correction_would_find_nothing_either(session, articles):
    assert did_you_mean(session, "xyzzy nothing") is None
    assert did_you_mean(session, "주식 투자") is None


@pytest.mark.parametrize(
    "query",
    [
        "x" * (MAX_QUERY_LENGTH + 1),
        "비" * 5000,
        "\x00\x01\x02 %%% ' OR 1=1 --",
        "%s %(q)s {{ 7*7 }} {% raw %}",
        "🙂🙃" * 50,
        "a b c d e f g h i j k l m n o p q r s t u v w x y z " * 3,
        "\u202e\u200b\u0301",
    ],
)
def test_garbage_and_overlong_queries_never_fail_the_page(client, articles, query):
    response = client.get("/faq/search", query_string={"q": query})
    assert response.status_code in (200, 400)
    assert b"<h1>" in response.data
