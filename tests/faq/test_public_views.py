"""Public FAQ pages: no login, cacheable, meta descriptions, sitemap, search, votes."""

import re

from helpdesk.faq import service
from tests.factories import make_article, make_faq_category
from tests.helpers import post_form


def test_faq_home_needs_no_login_and_is_publicly_cacheable(client, session):
    category = make_faq_category(session, name="Orders & delivery")
    make_article(session, title="Shipping costs", category_id=category.id)
    make_article(session, title="Hidden draft", status="draft", category_id=category.id)
    response = client.get("/faq", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert b"Orders &amp; delivery" in response.data
    assert b"Shipping costs" in response.data
    assert b"Hidden draft" not in response.data
    assert b'name="description"' in response.data
    assert "public" in response.headers["Cache-Control"]
    assert "max-age=300" in response.headers["Cache-Control"]
    assert b"Log out" not in response.data


def test_home_follows_the_browser_language_and_the_switch(client, session):
    make_article(session, title="Shipping costs", language="en")
    make_article(session, title="배송비 안내", body="배송비는 3,000원입니다.", language="ko")
    korean = client.get("/faq", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert "배송비 안내".encode() in korean.data and b"Shipping costs" not in korean.data
    client.get("/language/en?next=/faq")
    english = client.get("/faq", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert b"Shipping costs" in english.data


def test_article_page_shows_answer_date_related_and_vote_form(client, session):
    article = make_article(session, title="Refund policy", body="Refunds in **30 days**.")
    make_article(session, title="Refund for damaged items", body="Refund or replace.")
    response = client.get(f"/faq/en/{article.slug}")
    assert response.status_code == 200
    html = response.data.decode()
    assert "<strong>30 days</strong>" in html
    assert '<meta name="description" content="Refunds in 30 days.">' in html
    assert "Last updated" in html
    assert "Refund for damaged items" in html
    assert "Was this helpful?" in html and 'name="csrf_token"' in html
    # The page carries a CSRF token, so no shared cache may keep it.
    assert "private" in response.headers["Cache-Control"]


def test_korean_article_has_a_readable_address(client, session):
    article = make_article(session, title="환불 받는 방법", body="환불 안내", language="ko")
    assert client.get(f"/faq/ko/{article.slug}").status_code == 200
    assert client.get("/faq/ko/환불-받는-방법").status_code == 200


def test_drafts_and_wrong_language_are_not_found(client, session):
    draft = make_article(session, title="Draft", status="draft")
    published = make_article(session, title="Published")
    assert client.get(f"/faq/en/{draft.slug}").status_code == 404
    assert client.get(f"/faq/ko/{published.slug}").status_code == 404
    assert client.get(f"/faq/fr/{published.slug}").status_code == 404


def test_vote_is_counted_once_per_visitor(client, session, redis_conn):
    article = make_article(session)
    url = f"/faq/en/{article.slug}/vote"
    first = post_form(client, url, {"helpful": "yes"})
    assert first.status_code == 303
    assert any(c.startswith("faq_visitor=") for c in first.headers.getlist("Set-Cookie"))
    second = post_form(client, url, {"helpful": "no"}, follow_redirects=True)
    assert b"already told us" in second.data
    session.refresh(article)
    assert (article.helpful_yes, article.helpful_no) == (1, 0)
    assert b"Thank you for your feedback" in client.get(f"/faq/en/{article.slug}").data


def test_vote_spam_from_one_ip_is_refused(client, session, redis_conn):
    article = make_article(session)
    url = f"/faq/en/{article.slug}/vote"
    for _ in range(service.VOTES_PER_IP_PER_HOUR):
        client.delete_cookie("faq_visitor")
        assert post_form(client, url, {"helpful": "yes"}).status_code == 303
    client.delete_cookie("faq_visitor")
    assert post_form(client, url, {"helpful": "yes"}).status_code == 429
    session.refresh(article)
    assert article.helpful_yes == service.VOTES_PER_IP_PER_HOUR


def test_vote_with_forged_visitor_cookie_gets_a_new_visitor(client, session, redis_conn):
    article = make_article(session)
    client.set_cookie("faq_visitor", "forged-value")
    response = post_form(client, f"/faq/en/{article.slug}/vote", {"helpful": "yes"})
    assert any(c.startswith("faq_visitor=") for c in response.headers.getlist("Set-Cookie"))


def test_vote_without_csrf_or_with_a_bad_answer_is_refused(client, session, redis_conn):
    article = make_article(session)
    url = f"/faq/en/{article.slug}/vote"
    assert client.post(url, data={"helpful": "yes"}).status_code == 400
    assert post_form(client, url, {"helpful": "maybe"}).status_code == 400
    session.refresh(article)
    assert (article.helpful_yes, article.helpful_no) == (0, 0)


def test_search_page_shows_ranked_highlighted_results(client, session):
    make_article(session, title="환불 신청 방법", body="환불 버튼을 누르세요.", language="ko")
    response = client.get("/faq/search", query_string={"q": "환불은"})
    assert response.status_code == 200
    assert "<mark>환불</mark> 신청 방법" in response.data.decode()


def test_empty_search_gets_a_clear_message(client, session):
    response = client.get("/faq/search?q=+++")
    assert response.status_code == 400
    assert b"Type a word or a question" in response.data


def test_overlong_search_gets_a_clear_message(client, session):
    response = client.get("/faq/search", query_string={"q": "refund " * 100})
    assert response.status_code == 400
    assert b"too long" in response.data


def test_script_in_a_search_term_is_shown_inert(client, session):
    make_article(session, title="Refund policy")
    response = client.get("/faq/search", query_string={"q": "<script>alert(1)</script> refund"})
    html = response.data.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_sitemap_lists_published_articles(client, session):
    published = make_article(session, title="Published")
    make_article(session, title="Draft", status="draft")
    response = client.get("/faq/sitemap.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    locs = re.findall(r"<loc>([^<]+)</loc>", response.data.decode())
    assert locs == ["http://helpdesk.test/faq", f"http://helpdesk.test/faq/en/{published.slug}"]


def test_category_page_lists_its_articles(client, session):
    category = make_faq_category(session, name="Payments")
    make_article(session, title="Payment methods", category_id=category.id)
    response = client.get(f"/faq/category/{category.id}")
    assert response.status_code == 200 and b"Payment methods" in response.data
    assert client.get("/faq/category/999").status_code == 404
