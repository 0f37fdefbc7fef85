"""Two agents sending a reply to the same message at the same instant, in real threads:
exactly one reply is stored and the other agent gets a ReplyConflict naming it."""

from __future__ import annotations

import threading

from sqlalchemy import select

from helpdesk.db import database
from helpdesk.tickets import replies, service
from helpdesk.tickets.models import Message, MessageKind
from tests.factories import make_mailbox
from tests.tickets.mails import SETTINGS, ingest, mail

MAIL = replies.MailSettings(secret_key=SETTINGS.secret_key, domain="helpdesk.test")
ROUNDS = 5


def submit_together(ticket_id: int, seen: int, agent_ids: list[int]) -> dict[int, object]:
    barrier = threading.Barrier(len(agent_ids))
    outcomes: dict[int, object] = {}

    def submit(agent_id: int) -> None:
        own = database.session()
        try:
            barrier.wait(timeout=10)
            message = replies.send_reply(
                own, ticket_id, agent_id, f"Answer by {agent_id}", "", [], seen, None, mail=MAIL
            )
            own.commit()
            outcomes[agent_id] = message.id
        except service.ReplyConflict as exc:
            own.rollback()
            outcomes[agent_id] = exc
        except Exception as exc:  # reported by the assertion below, not lost in the thread
            own.rollback()
            outcomes[agent_id] = repr(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=submit, args=(agent_id,)) for agent_id in agent_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return outcomes


def test_simultaneous_replies_store_one_and_refuse_the_other(session, agent, admin):
    make_mailbox(session)
    result = ingest(session, mail())
    ticket_id, seen = result.ticket_id, result.message_id
    agent_ids = [agent.id, admin.id]
    for _ in range(ROUNDS):
        outcomes = submit_together(ticket_id, seen, agent_ids)
        stored = [value for value in outcomes.values() if isinstance(value, int)]
        refused = [value for value in outcomes.values() if isinstance(value, service.ReplyConflict)]
        assert len(stored) == 1 and len(refused) == 1, outcomes
        assert refused[0].new_message_ids == stored
        seen = stored[0]

    replies = session.scalars(
        select(Message.id).where(Message.ticket_id == ticket_id, Message.kind == MessageKind.reply)
    ).all()
    session.commit()
    assert len(replies) == ROUNDS
