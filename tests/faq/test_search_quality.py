"""Search quality over a realistic FAQ: 60 articles, 40 questions in Korean and English."""

from helpdesk.faq.search import search_articles
from tests.factories import make_article
from tests.faq.corpus import ENGLISH, KOREAN, QUESTIONS


def test_top_three_hit_rate_is_at_least_85_percent(session):
    keys = {}
    for language, corpus in (("en", ENGLISH), ("ko", KOREAN)):
        for key, (title, body) in corpus.items():
            keys[make_article(session, title=title, body=body, language=language).id] = key
    assert len(keys) == 60 and len(QUESTIONS) == 40

    misses = []
    for question, expected in QUESTIONS:
        found = [keys[hit.article.id] for hit in search_articles(session, question, limit=3)]
        if expected not in found:
            misses.append((question, expected, found))
    rate = (len(QUESTIONS) - len(misses)) / len(QUESTIONS)
    print(f"FAQ search top-3 hit rate: {rate:.3f} ({len(misses)} misses: {misses})")
    assert rate >= 0.85, misses
