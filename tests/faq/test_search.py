"""Search behaviour: Korean particles, word endings, typos, ranking, highlighting, bad queries."""

import pytest

from helpdesk.faq.search import MAX_QUERY_LENGTH, EmptyQuery, QueryTooLong, search_articles
from helpdesk.faq.text_analysis import strip_korean_suffixes
from tests.factories import make_article


def _titles(session, query, **kwargs):
    return [hit.article.title for hit in search_articles(session, query, **kwargs)]


@pytest.mark.parametrize("word", ["환불은", "환불을", "환불이", "환불로", "환불해주세요"])
def test_korean_particles_and_endings_are_stripped(word):
    assert strip_korean_suffixes(word) == "환불"


def test_korean_noun_with_particle_finds_the_noun(session):
    make_article(session, title="환불 신청 방법", body="환불 버튼을 누르세요.", language="ko")
    make_article(session, title="배송 조회", body="운송장 번호로 확인하세요.", language="ko")
    assert _titles(session, "환불은") == ["환불 신청 방법"]


def test_english_word_endings_match_the_stem(session):
    make_article(session, title="Refund policy", body="We refund within 30 days.")
    assert _titles(session, "refunds") == ["Refund policy"]
    assert _titles(session, "refunding") == ["Refund policy"]


def test_small_typos_still_find_the_article(session):
    make_article(session, title="Reset your password", body="Click forgot password.")
    make_article(
        session, title="결제 실패", body="카드 결제가 안 되면 한도를 확인하세요.", language="ko"
    )
    assert _titles(session, "pasword") == ["Reset your password"]
    assert _titles(session, "결재가") == ["결제 실패"]


def test_title_matches_rank_above_body_matches(session):
    make_article(session, title="Gift cards", body="Buy a card; shipping is free for cards.")
    make_article(session, title="Shipping costs", body="Standard delivery costs 3,000 won.")
    assert _titles(session, "shipping")[0] == "Shipping costs"


def test_drafts_are_not_found(session):
    make_article(session, title="Secret draft about refunds", status="draft")
    assert _titles(session, "refund") == []


def test_language_filter_limits_results(session):
    make_article(session, title="Refund", body="refund", language="en")
    make_article(session, title="환불 refund", body="환불", language="ko")
    assert _titles(session, "refund", language="ko") == ["환불 refund"]


def test_edit_updates_the_index(session):
    from helpdesk.faq import service

    article = make_article(session, title="Shipping", body="Delivery takes two days.")
    service.update_article(
        session,
        article.id,
        service.ArticleData(
            title="Coupons", body="Enter the code.", language="en", status="published"
        ),
        None,
    )
    session.commit()
    assert _titles(session, "delivery") == []
    assert _titles(session, "coupon") == ["Coupons"]


def test_matches_are_highlighted_in_title_and_snippet(session):
    make_article(session, title="Refund policy", body="Refunds are paid in 5 days.")
    hit = search_articles(session, "refund")[0]
    assert str(hit.title_html) == "<mark>Refund</mark> policy"
    assert "<mark>Refunds</mark> are paid" in str(hit.snippet_html)


def test_korean_highlight_marks_the_noun_inside_the_word(session):
    make_article(session, title="환불 안내", body="환불은 5일 안에 됩니다.", language="ko")
    hit = search_articles(session, "환불을")[0]
    assert "<mark>환불</mark>은" in str(hit.snippet_html)


def test_markup_in_articles_and_queries_stays_inert(session):
    make_article(session, title="Use <b>codes</b> & refund", body="x <script>alert(1)</script>")
    hit = search_articles(session, "<script>refund</script>")[0]
    assert str(hit.title_html) == "Use &lt;b&gt;codes&lt;/b&gt; &amp; <mark>refund</mark>"
    assert "<script>" not in str(hit.snippet_html)


def test_empty_query_is_refused(session):
    with pytest.raises(EmptyQuery):
        search_articles(session, "   ")


def test_overlong_query_is_refused(session):
    with pytest.raises(QueryTooLong):
        search_articles(session, "a" * (MAX_QUERY_LENGTH + 1))


def test_unpublishing_takes_the_article_out_of_the_index(session):
    from helpdesk.faq import service
    from helpdesk.faq.models import SearchVocabulary

    article = make_article(session, title="Refund policy", body="Refunds in 5 days.")
    make_article(session, title="Refund for gifts", body="Gift refunds.")
    assert session.get(SearchVocabulary, "w:refund").documents == 2
    service.update_article(
        session,
        article.id,
        service.ArticleData(title="Refund policy", body="Refunds.", language="en", status="draft"),
        None,
    )
    session.commit()
    assert _titles(session, "refund") == ["Refund for gifts"]
    assert session.get(SearchVocabulary, "w:refund").documents == 1


def test_an_article_sharing_one_bigram_of_a_korean_word_is_not_a_result(session):
    make_article(session, title="배송 조회", body="송장 번호로 확인하세요.", language="ko")
    assert _titles(session, "비밀번호") == []
    assert _titles(session, "송장 번호") == ["배송 조회"]


def test_an_article_sharing_a_few_trigrams_of_a_word_is_not_a_result(session):
    make_article(session, title="Missing item", body="Something is missing from my parcel.")
    assert _titles(session, "xyzzy nothing") == []


def test_a_word_no_article_has_does_not_hide_the_ones_that_match(session):
    make_article(session, title="Refund policy", body="We refund within 30 days.")
    assert _titles(session, "refund xyzzy") == ["Refund policy"]
