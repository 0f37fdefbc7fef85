"""A customer uses the help centre in Chromium; an agent inserts a suggested answer."""

import pytest
from sqlalchemy import select

from helpdesk.faq.models import Article
from helpdesk.tickets.models import Ticket
from tests.factories import DEFAULT_PASSWORD, make_article, make_ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_customer_searches_in_korean_reads_votes_and_writes_to_us(page, session, redis_conn):
    make_article(
        session,
        title="환불 신청 방법",
        body="주문 내역에서 **환불 신청** 버튼을 누르세요. 5일 안에 돌려드립니다.",
        language="ko",
    )
    make_article(session, title="배송 조회", body="운송장 번호로 확인하세요.", language="ko")

    page.goto("/faq")
    page.fill("input[name=q]", "환불은 어떻게 받나요")
    page.click(".faq-search button[type=submit]")
    first = page.locator(".faq-results li").first
    assert first.locator("mark").first.inner_text() == "환불"

    first.locator("h2 a").click()
    assert page.locator("h1").inner_text() == "환불 신청 방법"
    page.click("button[name=helpful][value=yes]")
    assert "Thank you for your feedback" in page.locator(".faq-feedback").inner_text()
    session.expire_all()
    assert (
        session.scalars(select(Article.helpful_yes).where(Article.slug == "환불-신청-방법")).one()
        == 1
    )

    page.click("text=Send us a message")
    page.fill("input[name=name]", "김민지")
    page.fill("input[name=email]", "minji@example.com")
    page.fill("input[name=subject]", "환불이 안 돼요")
    page.fill("textarea[name=message]", "일주일 전에 신청했는데 아직 환불이 안 됐어요.")
    page.click("button:has-text('Send')")
    confirmation = page.locator(".faq-sent").inner_text()

    session.rollback()
    ticket = session.scalars(select(Ticket)).one()
    assert ticket.subject == "환불이 안 돼요"
    assert f"#{ticket.id}" in confirmation


def test_agent_inserts_a_suggested_answer_into_the_reply(page, session, agent):
    article = make_article(session, title="Refund policy", body="Refunds take **5 days**.")
    ticket = make_ticket(session, subject="Where is my refund?")

    page.goto("/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("button:has-text('Log out')")
    page.goto(f"/tickets/{ticket.id}")
    page.fill("#reply-editor", "Hello,")
    with page.expect_response(f"**/faq/articles/{article.id}/used") as counted:
        page.click(".faq-insert")
    assert counted.value.json()["used_in_replies"] == 1

    text = page.locator("#reply-body").input_value()
    assert text.startswith("Hello,\n\nRefunds take 5 days.")
    assert text.rstrip().endswith(f"Refund policy\nhttp://helpdesk.test/faq/a/{article.id}")
    session.refresh(article)
    assert article.used_in_replies == 1
