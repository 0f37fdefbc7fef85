"""Each ticket view says what its emptiness means, in the viewer's language."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from helpdesk.auth.models import User


def _empty_text(html: str) -> str:
    return re.search(r'<div class="empty-state">.*?<p>(.*?)</p>', html, re.S)[1]


@pytest.mark.parametrize(
    ("view", "text"),
    [
        ("overdue", "No ticket is past its response target."),
        ("mine", "No open tickets are assigned to you."),
        ("waiting", "No tickets are waiting for a customer's answer."),
        ("done", "Resolved and closed tickets appear here."),
        ("unassigned", "Every open ticket has an agent. New tickets appear here as they arrive."),
    ],
)
def test_an_empty_view_says_what_its_emptiness_means(agent_client, view, text):
    assert _empty_text(agent_client.get(f"/tickets?view={view}").get_data(as_text=True)) == text


def test_every_view_has_its_own_empty_text(agent_client):
    views = ["unassigned", "mine", "open", "waiting", "overdue", "done", "all"]
    texts = {
        _empty_text(agent_client.get(f"/tickets?view={v}").get_data(as_text=True)) for v in views
    }
    assert len(texts) == len(views)


def test_the_empty_overdue_view_is_in_korean_for_a_korean_agent(agent_client, session, agent):
    session.execute(update(User).where(User.id == agent.id).values(language="ko"))
    session.commit()
    html = agent_client.get("/tickets?view=overdue").get_data(as_text=True)
    assert _empty_text(html) == "응답 목표 시간을 넘긴 티켓이 없습니다."
