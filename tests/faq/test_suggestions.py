"""Suggestions for a ticket: the articles closest to the customer's message."""

from helpdesk.faq.search import suggest_articles
from helpdesk.tickets.models import MessageKind
from helpdesk.tickets.suggestions import suggestions_for_ticket
from tests.factories import make_article, make_message, make_ticket


def test_three_closest_articles_are_suggested_for_a_korean_ticket(session):
    make_article(
        session, title="환불 신청 방법", body="주문 내역에서 환불 신청을 누르세요.", language="ko"
    )
    make_article(session, title="배송 조회", body="운송장 번호로 택배를 확인하세요.", language="ko")
    make_article(
        session, title="쿠폰 사용", body="결제할 때 쿠폰 코드를 입력하세요.", language="ko"
    )
    make_article(session, title="비밀번호 재설정", body="비밀번호 찾기를 누르세요.", language="ko")
    ticket = make_ticket(session, subject="환불 문의")
    make_message(
        session,
        ticket,
        body_text="안녕하세요. 지난주에 주문한 상품을 환불받고 싶은데 환불은 어떻게 신청하나요?",
    )
    suggestions = suggestions_for_ticket(session, ticket.id)
    assert len(suggestions) <= 3
    assert suggestions[0].title == "환불 신청 방법"
    assert "환불 신청을" in suggestions[0].answer


def test_suggestions_use_the_latest_customer_message(session):
    make_article(session, title="Reset your password", body="Use the forgot password link.")
    make_article(session, title="Refund policy", body="Refunds within 30 days.")
    ticket = make_ticket(session, subject="Help")
    make_message(session, ticket, body_text="I want a refund")
    make_message(session, ticket, kind=MessageKind.note, body_text="password")
    make_message(session, ticket, body_text="Also I forgot my password")
    assert suggestions_for_ticket(session, ticket.id)[0].title == "Reset your password"


def test_empty_text_gets_no_suggestions(session):
    make_article(session)
    assert suggest_articles(session, "  \n ") == []


def test_long_ticket_text_is_handled(session):
    make_article(session, title="Refund policy", body="Refunds within 30 days.")
    text = "I would like a refund please. " + "lorem ipsum dolor sit amet " * 2000
    assert suggest_articles(session, text)[0].title == "Refund policy"
