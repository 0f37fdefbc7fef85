"""The FAQ on the ticket page: suggested answers beside the reply box, and the tickets an
inserted answer helped resolve."""

from __future__ import annotations

from urllib.parse import quote

from helpdesk.faq.models import Article
from helpdesk.faq_admin import workspace
from helpdesk.tickets import replies
from helpdesk.tickets.models import MessageKind
from tests.factories import make_article, make_mailbox, make_message, make_ticket
from tests.helpers import post_form
from tests.tickets.mails import SETTINGS, ingest, mail

MAIL = replies.MailSettings(secret_key=SETTINGS.secret_key, domain="helpdesk.test")


def _resolved_tickets(session, article_id: int) -> int:
    session.expire_all()
    return session.get(Article, article_id).resolved_tickets


def test_ticket_page_suggests_the_matching_article(agent_client, session):
    make_article(session, title="How to request a refund", body="Refunds take 30 days.")
    make_article(session, title="Opening hours", body="We open at nine.")
    ticket = make_ticket(session, subject="Refund for my order")
    make_message(session, ticket, body_text="I would like a refund for my order please")
    page = agent_client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    suggestions = page[page.index('class="card faq-suggestions"') :]
    assert "How to request a refund" in suggestions
    assert "Opening hours" not in suggestions
    assert f'data-ticket-id="{ticket.id}"' in suggestions


def _ticket_using_an_article(session, agent):
    article = make_article(session)
    ticket = make_ticket(session)
    workspace.record_use(session, article.id, ticket_id=ticket.id, user_id=agent.id)
    session.commit()
    return ticket, article


def test_resolving_a_ticket_credits_the_article_used_in_its_reply(agent_client, session, agent):
    ticket, article = _ticket_using_an_article(session, agent)
    response = post_form(agent_client, f"/tickets/{ticket.id}/status", {"status": "resolved"})
    assert response.status_code == 302
    assert _resolved_tickets(session, article.id) == 1


def test_a_refused_status_change_credits_nothing(agent_client, session, agent):
    ticket, article = _ticket_using_an_article(session, agent)
    response = post_form(agent_client, f"/tickets/{ticket.id}/status", {"status": "bogus"})
    assert response.status_code == 400
    assert _resolved_tickets(session, article.id) == 0


def test_sent_replies_offer_to_become_an_faq_article(agent_client, session):
    ticket = make_ticket(session)
    customer_mail = make_message(session, ticket, body_text="Where is my parcel?")
    reply = make_message(session, ticket, kind=MessageKind.reply, body_text="It ships today.")
    page = agent_client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert f"/faq/admin/new?from_message={reply.id}" in page
    assert f"/faq/admin/new?from_message={customer_mail.id}" not in page


def test_closing_tickets_in_bulk_credits_the_articles_used(agent_client, session, agent):
    ticket, article = _ticket_using_an_article(session, agent)
    response = post_form(
        agent_client, "/tickets/bulk", {"action": "close", "ticket_ids": [str(ticket.id)]}
    )
    assert response.status_code == 302
    assert _resolved_tickets(session, article.id) == 1


def test_a_reply_that_resolves_the_ticket_credits_the_article(session, agent):
    article = make_article(session)
    mailbox = make_mailbox(session, address="help@helpdesk.test")
    received = ingest(session, mail(), mailbox=mailbox)
    workspace.record_use(session, article.id, ticket_id=received.ticket_id, user_id=agent.id)
    session.commit()
    replies.send_reply(
        session,
        received.ticket_id,
        agent.id,
        "Here is how.",
        "",
        [],
        received.message_id,
        "resolved",
        mail=MAIL,
    )
    session.commit()
    assert _resolved_tickets(session, article.id) == 1


def test_inserted_answer_carries_a_short_ascii_link_to_the_korean_article(agent_client, session):
    article = make_article(
        session, title="주문 취소 방법", body="주문 내역에서 주문 취소를 누르세요.", language="ko"
    )
    ticket = make_ticket(session, subject="주문 취소하고 싶어요")
    make_message(session, ticket, body_text="주문을 취소하고 싶어요")
    page = agent_client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    answer = page[page.index("data-answer=") :].split('"')[1]
    assert answer.endswith(f"주문 취소 방법&#10;http://helpdesk.test/faq/a/{article.id}")
    assert "%EC" not in answer


def test_short_link_redirects_to_the_article_and_refuses_drafts(client, session):
    article = make_article(session, title="주문 취소 방법", body="취소하세요.", language="ko")
    draft = make_article(session, title="Draft", status="draft")
    response = client.get(f"/faq/a/{article.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/faq/ko/{quote(article.slug)}"
    assert client.get(response.headers["Location"]).status_code == 200
    assert client.get(f"/faq/a/{draft.id}").status_code == 404
    assert client.get("/faq/a/99999999999999").status_code == 404
