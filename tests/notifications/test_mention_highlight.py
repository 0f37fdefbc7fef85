"""The @mentions in a rendered note are highlighted, and the note's text stays escaped."""

from __future__ import annotations

from helpdesk.tickets import notes
from tests.factories import make_ticket, make_user


def test_a_mention_is_wrapped_in_a_mark_and_the_rest_is_escaped(session, agent):
    html = notes.highlight_mentions("Hi @Alex Agent <script>x()</script>", [agent])
    assert html == ('Hi <mark class="mention">@Alex Agent</mark> &lt;script&gt;x()&lt;/script&gt;')


def test_the_longest_handle_is_marked_whole(session, agent):
    html = notes.highlight_mentions("@AlexAgent and @alex", [agent])
    assert html == '<mark class="mention">@AlexAgent</mark> and <mark class="mention">@alex</mark>'


def test_an_email_address_is_no_mention(session, agent):
    assert "<mark" not in notes.highlight_mentions("write to bob@alex.example", [agent])


def test_the_ticket_page_shows_the_mention_highlighted(agent_client, session, agent):
    make_user(session, email="minsu@example.com", name="김 민수")
    ticket = make_ticket(session)
    notes.add_note(session, ticket.id, author_id=agent.id, body="@김민수 <b>확인</b> 부탁해요")
    session.commit()
    html = agent_client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert '<mark class="mention">@김민수</mark> &lt;b&gt;확인&lt;/b&gt; 부탁해요' in html
