"""The FAQ in the agent's ticket work: counting an answer inserted into a reply on a ticket,
and an article drafted from a sent reply. Apart from helpdesk.faq, which the tickets
package builds on, because these read tickets."""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.orm import Session

from helpdesk.faq.models import Article, ArticleStatus, ArticleUse
from helpdesk.faq.service import (
    MAX_TITLE,
    ArticleData,
    ArticleNotFound,
    TicketNotFound,
    detect_language,
)
from helpdesk.tickets.models import Message, MessageKind, Ticket

_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|답장|회신|전달)\s*:\s*)+", re.IGNORECASE)
_SUBJECT_TOKEN = re.compile(r"\s*\[#\d+\]\s*")
_BODY_MARKER = re.compile(r"\[ref:T\d+-[0-9a-f]+\]", re.IGNORECASE)


class NotAReply(ValueError):
    """Only an agent's reply can become an FAQ draft."""


def draft_from_message(session: Session, message_id: int) -> ArticleData:
    """An article draft from an agent's sent reply: the ticket subject and the reply text."""
    message = session.get(Message, message_id)
    if message is None or message.kind != MessageKind.reply:
        raise NotAReply(message_id)
    ticket = session.get(Ticket, message.ticket_id)
    title = _SUBJECT_TOKEN.sub(" ", _REPLY_PREFIX.sub("", ticket.subject or message.subject))
    body = _BODY_MARKER.sub("", message.body_reply or message.body_text).strip()
    return ArticleData(
        title=" ".join(title.split())[:MAX_TITLE],
        body=body,
        language=str(detect_language(f"{title} {body}")),
        status=str(ArticleStatus.draft),
        tags="",
    )


def record_use(
    session: Session, article_id: int, *, ticket_id: int | None = None, user_id: int | None = None
) -> Article:
    """An agent inserted the article into a reply: count it, and remember the ticket."""
    article = session.get(Article, article_id)
    if article is None:
        raise ArticleNotFound(article_id)
    if ticket_id is not None and session.get(Ticket, ticket_id) is None:
        raise TicketNotFound(ticket_id)
    session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(used_in_replies=Article.used_in_replies + 1)
        .execution_options(synchronize_session=False)
    )
    session.add(ArticleUse(article_id=article_id, ticket_id=ticket_id, user_id=user_id))
    session.flush()
    session.refresh(article)
    return article
