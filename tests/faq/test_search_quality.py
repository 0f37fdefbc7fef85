"""Search quality over a realistic FAQ: 60 articles, 40 questions in Korean and English
that must find their article, and questions it does not answer that must find nothing."""

import pytest

from helpdesk.demo_content import FAQ_ARTICLES
from helpdesk.faq.search import search_articles
from tests.factories import make_article
from tests.faq.corpus import ENGLISH, KOREAN, QUESTIONS, UNANSWERED


@pytest.fixture
def corpus_keys(session):
    keys = {}
    for language, corpus in (("en", ENGLISH), ("ko", KOREAN)):
        for key, (title, body) in corpus.items():
            keys[make_article(session, title=title, body=body, language=language).id] = key
    return keys


def test_top_three_hit_rate_is_at_least_85_percent(session, corpus_keys):
    assert len(corpus_keys) == 60 and len(QUESTIONS) == 40

    misses = []
    for question, expected in QUESTIONS:
        found = [corpus_keys[hit.article.id] for hit in search_articles(session, question, limit=3)]
        if expected not in found:
            misses.append((question, expected, found))
    rate = (len(QUESTIONS) - len(misses)) / len(QUESTIONS)
    print(f"FAQ search top-3 hit rate: {rate:.3f} ({len(misses)} misses: {misses})")
    assert rate >= 0.85, misses


def test_questions_the_faq_does_not_answer_find_nothing(session, corpus_keys):
    found = {
        question: [corpus_keys[hit.article.id] for hit in search_articles(session, question)]
        for question in UNANSWERED
    }
    assert {question: keys for question, keys in found.items() if keys} == {}


@pytest.mark.parametrize("query", ["xyzzy nothing", "비밀번호"])
def test_demo_help_centre_finds_nothing_for_what_it_does_not_cover(session, query):
    for _category, language, title, body in FAQ_ARTICLES:
        make_article(session, title=title, body=body, language=language)
    assert search_articles(session, query) == []
