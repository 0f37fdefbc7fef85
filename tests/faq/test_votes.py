"""Was this helpful? One vote per visitor per article, and a rate limit per IP address."""

import pytest

from helpdesk.faq import service
from helpdesk.queue import redis_connection
from tests.factories import make_article


@pytest.fixture
def limiter(config, redis_conn):
    return service.RateLimiter(redis_connection(config))


def test_vote_counts_once_per_visitor(session, limiter):
    article = make_article(session)
    service.cast_vote(session, article.id, "visitor-1", True, limiter=limiter, ip="10.0.0.1")
    session.commit()
    with pytest.raises(service.AlreadyVoted):
        service.cast_vote(session, article.id, "visitor-1", False, limiter=limiter, ip="10.0.0.1")
    session.rollback()
    service.cast_vote(session, article.id, "visitor-2", False, limiter=limiter, ip="10.0.0.2")
    session.commit()
    session.refresh(article)
    assert (article.helpful_yes, article.helpful_no) == (1, 1)


def test_votes_from_one_ip_are_rate_limited(session, limiter):
    article = make_article(session)
    for number in range(service.VOTES_PER_IP_PER_HOUR):
        service.cast_vote(session, article.id, f"v{number}", True, limiter=limiter, ip="10.9.9.9")
    session.commit()
    with pytest.raises(service.RateLimited):
        service.cast_vote(session, article.id, "one-more", True, limiter=limiter, ip="10.9.9.9")
    session.rollback()
    session.refresh(article)
    assert article.helpful_yes == service.VOTES_PER_IP_PER_HOUR


def test_vote_on_a_draft_is_refused(session, limiter):
    article = make_article(session, status="draft")
    with pytest.raises(service.ArticleNotFound):
        service.cast_vote(session, article.id, "v", True, limiter=limiter, ip="10.0.0.1")
