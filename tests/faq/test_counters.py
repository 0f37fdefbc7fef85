"""Usage counters: replies that used an article, and tickets its suggestion resolved."""

from helpdesk.faq import service
from helpdesk.faq_admin import workspace
from tests.factories import make_article, make_ticket


def test_inserting_an_article_counts_a_use(session, agent):
    article = make_article(session)
    ticket = make_ticket(session)
    workspace.record_use(session, article.id, ticket_id=ticket.id, user_id=agent.id)
    workspace.record_use(session, article.id, user_id=agent.id)
    session.commit()
    session.refresh(article)
    assert article.used_in_replies == 2


def test_resolution_credits_each_used_article_once_per_ticket(session, agent):
    used = make_article(session, title="Refunds")
    unused = make_article(session, title="Shipping")
    ticket = make_ticket(session)
    workspace.record_use(session, used.id, ticket_id=ticket.id, user_id=agent.id)
    workspace.record_use(session, used.id, ticket_id=ticket.id, user_id=agent.id)
    session.commit()

    assert service.record_resolution(session, ticket.id) == [used.id]
    # Reopened, answered with the same article again, resolved again: still one ticket.
    workspace.record_use(session, used.id, ticket_id=ticket.id, user_id=agent.id)
    assert service.record_resolution(session, ticket.id) == []
    session.commit()
    session.refresh(used)
    session.refresh(unused)
    assert (used.resolved_tickets, unused.resolved_tickets) == (1, 0)


def test_staff_list_sorts_by_counters(session, agent):
    rarely = make_article(session, title="Rarely used")
    often = make_article(session, title="Often used")
    for _ in range(3):
        workspace.record_use(session, often.id, user_id=agent.id)
    workspace.record_use(session, rarely.id, user_id=agent.id)
    session.commit()
    articles, total = service.list_articles(session, service.ArticleFilter(sort="used"))
    assert [a.title for a in articles] == ["Often used", "Rarely used"]
    assert total == 2
