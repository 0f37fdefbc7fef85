"""Articles: validation, readable unique slugs, sanitized Markdown, and the edit history."""

import pytest

from helpdesk.faq import service
from tests.factories import make_article, make_user


def _data(**overrides):
    values = {"title": "Shipping", "body": "Two days.", "language": "en", "status": "published"}
    return service.ArticleData(**(values | overrides))


def test_every_save_keeps_a_version_with_who_and_when(session):
    author = make_user(session, email="a@example.com", name="Author")
    editor = make_user(session, email="e@example.com", name="Editor")
    article = make_article(session, author=author, title="Shipping", body="Two days.")
    service.update_article(session, article.id, _data(body="Three days."), editor.id)
    session.commit()

    revisions = service.list_revisions(session, article.id)
    assert [(r.body, r.editor_id) for r in revisions] == [
        ("Three days.", editor.id),
        ("Two days.", author.id),
    ]
    assert revisions[0].created_at >= revisions[1].created_at


def test_slug_is_made_from_the_title_and_kept_unique_per_language(session):
    first = make_article(session, title="How to get a refund?")
    second = make_article(session, title="How to get a refund")
    korean = make_article(session, title="환불 받는 방법", language="ko")
    other_language = make_article(session, title="How to get a refund", language="ko")
    assert first.slug == "how-to-get-a-refund"
    assert second.slug == "how-to-get-a-refund-2"
    assert korean.slug == "환불-받는-방법"
    assert other_language.slug == "how-to-get-a-refund"


def test_taken_slug_chosen_by_hand_is_refused(session):
    make_article(session, slug="refunds")
    with pytest.raises(service.ArticleInvalid) as error:
        service.create_article(session, _data(slug="refunds"), None)
    assert "slug" in error.value.errors


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("title", {"title": "  "}),
        ("title", {"title": "x" * 201}),
        ("body", {"body": ""}),
        ("language", {"language": "fr"}),
        ("status", {"status": "archived"}),
        ("slug", {"slug": "bad slug!"}),
        ("category_id", {"category_id": 999}),
    ],
)
def test_bad_article_input_is_refused_and_saves_nothing(session, field, overrides):
    with pytest.raises(service.ArticleInvalid) as error:
        service.create_article(session, _data(**overrides), None)
    assert field in error.value.errors
    session.rollback()
    assert service.list_articles(session, service.ArticleFilter())[1] == 0


def test_markdown_is_rendered_and_sanitized(session):
    article = make_article(
        session,
        body="**Bold** and [a link](https://example.com)\n\n<script>alert(1)</script>"
        "[bad](javascript:alert(1)) <img src=x onerror=alert(1)>",
    )
    assert "<strong>Bold</strong>" in article.body_html
    assert 'href="https://example.com"' in article.body_html
    assert "<script" not in article.body_html
    assert "javascript:" not in article.body_html
    assert "onerror" not in article.body_html
    assert article.body_plain.startswith("Bold and a link")


def test_tags_are_normalized(session):
    article = make_article(session, tags="Refund,  money back ,refund")
    assert article.tags == ["refund", "money back"]
