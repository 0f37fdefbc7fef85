"""Publishing an article is a save like any other: it is kept in the history."""

from __future__ import annotations

import pytest

from helpdesk.faq import service
from helpdesk.faq.models import ArticleStatus
from tests.factories import make_article


def test_publish_makes_a_draft_public_and_adds_a_revision(session, agent):
    article = make_article(session, status="draft")

    service.publish_article(session, article.id, agent.id)
    session.commit()

    assert article.status == ArticleStatus.published
    assert len(service.list_revisions(session, article.id)) == 2


def test_publish_of_an_unknown_article_is_refused(session):
    with pytest.raises(service.ArticleNotFound):
        service.publish_article(session, 999, None)
