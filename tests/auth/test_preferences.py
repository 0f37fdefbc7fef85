"""A user's language and time zone."""

from sqlalchemy import select

from helpdesk.auth.forms import timezone_choices
from helpdesk.auth.models import User
from tests.helpers import post_form


def test_time_zone_choices_are_real_places():
    zones = [choice.value for choice in timezone_choices()]
    assert "Asia/Seoul" in zones and "UTC" in zones
    assert "localtime" not in zones and "posixrules" not in zones


def test_preferences_store_the_chosen_time_zone(agent_client, session, agent):
    response = post_form(agent_client, "/preferences", {"language": "ko", "timezone": "Asia/Seoul"})
    assert response.status_code == 302
    session.expire_all()
    user = session.scalars(select(User).where(User.id == agent.id)).one()
    assert (user.language, user.timezone) == ("ko", "Asia/Seoul")


def test_an_unknown_time_zone_is_refused(agent_client, session, agent):
    response = post_form(agent_client, "/preferences", {"language": "", "timezone": "Mars/Base"})
    assert response.status_code == 400
    session.expire_all()
    user = session.scalars(select(User).where(User.id == agent.id)).one()
    assert user.timezone != "Mars/Base"
