"""Staff FAQ pages and workspace endpoints: roles, editing with history, bad input."""

import re

import pytest
from sqlalchemy import func, select

from helpdesk.faq.models import Article
from helpdesk.tickets.models import MessageKind
from tests.factories import make_article, make_message, make_ticket
from tests.helpers import csrf_token, post_form

STAFF_PAGES = ["/faq/admin", "/faq/admin/new", "/faq/admin/categories"]


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_marketer_gets_403_on_staff_faq_pages(marketer_client, url):
    assert marketer_client.get(url).status_code == 403


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_logged_out_visitor_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_marketer_gets_403_on_workspace_endpoints(marketer_client, session):
    article = make_article(session)
    ticket = make_ticket(session)
    assert marketer_client.get(f"/faq/suggest?ticket_id={ticket.id}").status_code == 403
    response = marketer_client.post(
        f"/faq/articles/{article.id}/used",
        json={},
        headers={"X-CSRFToken": csrf_token(marketer_client)},
    )
    assert response.status_code == 403


def test_agent_creates_and_edits_an_article_and_sees_its_history(agent_client, session):
    response = post_form(
        agent_client,
        "/faq/admin/new",
        {
            "title": "Shipping costs",
            "body": "Free over 50,000 won.",
            "language": "en",
            "status": "published",
            "category_id": "None",
            "tags": "shipping",
        },
    )
    assert response.status_code == 302, response.data[:800]
    article = session.scalars(select(Article)).one()
    response = post_form(
        agent_client,
        f"/faq/admin/{article.id}/edit",
        {
            "title": "Shipping costs",
            "body": "Free over 30,000 won.",
            "language": "en",
            "status": "published",
            "category_id": "None",
            "slug": article.slug,
        },
    )
    assert response.status_code == 302
    history = agent_client.get(f"/faq/admin/{article.id}/history").data.decode()
    assert history.count("· Alex Agent") == 2
    assert history.index("30,000") < history.index("50,000")


def test_article_form_with_bad_input_shows_errors_and_saves_nothing(agent_client, session):
    response = post_form(
        agent_client,
        "/faq/admin/new",
        {"title": "", "body": "", "language": "en", "status": "published", "category_id": "None"},
    )
    assert response.status_code == 400
    assert b"Give the article a title" in response.data
    assert session.scalar(select(func.count()).select_from(Article)) == 0


def test_staff_list_can_be_sorted_by_use(agent_client, session):
    make_article(session, title="Rarely used")
    often = make_article(session, title="Often used")
    often.used_in_replies = 5
    session.commit()
    html = agent_client.get("/faq/admin?sort=used").data.decode()
    assert html.index("Often used") < html.index("Rarely used")


def test_reply_can_be_turned_into_a_draft(agent_client, session):
    ticket = make_ticket(session, subject="Re: 환불은 어떻게 받나요? [#12]")
    reply = make_message(
        session,
        ticket,
        kind=MessageKind.reply,
        body_text="주문 내역에서 환불 신청을 누르세요.\n\n[ref:T12-abcdef0123]",
    )
    html = agent_client.get(f"/faq/admin/new?from_message={reply.id}").data.decode()
    assert 'value="환불은 어떻게 받나요?"' in html
    assert "주문 내역에서 환불 신청을 누르세요." in html and "[ref:" not in html
    assert re.search(r'<option selected value="ko">|<option value="ko" selected', html)


def test_customer_message_cannot_become_a_draft(agent_client, session):
    ticket = make_ticket(session)
    message = make_message(session, ticket, kind=MessageKind.customer, body_text="Help")
    response = agent_client.get(f"/faq/admin/new?from_message={message.id}")
    assert response.status_code == 302
    assert agent_client.get("/faq/admin/new?from_message=abc").status_code == 302


def test_suggest_endpoint_returns_articles_for_the_ticket(agent_client, session):
    article = make_article(session, title="Refund policy", body="Refunds within 30 days.")
    ticket = make_ticket(session, subject="refund please")
    make_message(session, ticket, body_text="How do I get a refund?")
    data = agent_client.get(f"/faq/suggest?ticket_id={ticket.id}").get_json()
    assert data["suggestions"][0]["article_id"] == article.id
    assert data["suggestions"][0]["url"] == f"http://localhost/faq/en/{article.slug}"
    assert "Refunds within 30 days." in data["suggestions"][0]["answer"]


@pytest.mark.parametrize(
    ("query", "status"), [("", 400), ("?ticket_id=x", 400), ("?ticket_id=999", 404)]
)
def test_suggest_endpoint_refuses_bad_ticket_ids(agent_client, session, query, status):
    response = agent_client.get(f"/faq/suggest{query}")
    assert response.status_code == status
    assert "error" in response.get_json()


def test_used_endpoint_counts_and_needs_the_csrf_header(agent_client, session):
    article = make_article(session)
    ticket = make_ticket(session)
    url = f"/faq/articles/{article.id}/used"
    assert agent_client.post(url, json={"ticket_id": ticket.id}).status_code == 400
    headers = {"X-CSRFToken": csrf_token(agent_client)}
    response = agent_client.post(url, json={"ticket_id": ticket.id}, headers=headers)
    assert response.get_json() == {"article_id": article.id, "used_in_replies": 1}
    assert agent_client.post(url, json={"ticket_id": "x"}, headers=headers).status_code == 400
    assert agent_client.post(url, json={"ticket_id": 999}, headers=headers).status_code == 404
    assert agent_client.post("/faq/articles/999/used", headers=headers).status_code == 404
    session.refresh(article)
    assert article.used_in_replies == 1


def test_categories_are_created_and_bad_names_refused(agent_client, session):
    response = post_form(agent_client, "/faq/admin/categories", {"name": "Payments", "position": 2})
    assert response.status_code == 302
    assert b"Payments" in agent_client.get("/faq/admin/categories").data
    response = post_form(agent_client, "/faq/admin/categories", {"name": " ", "position": 1})
    assert response.status_code == 400
    assert b"Give the category a name" in response.data
