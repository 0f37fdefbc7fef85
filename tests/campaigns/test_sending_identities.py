"""Sending identities: confirmed by a signed link mailed to the address, one default,
Reply-To per identity; a campaign's From comes from a confirmed identity."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from helpdesk.campaigns import identities, jobs, service
from helpdesk.campaigns.models import Campaign, SendingIdentity
from helpdesk.campaigns.sending import start_sending
from helpdesk.db import utcnow
from helpdesk.queue import MAIL_QUEUE
from tests.campaigns.sending_support import run_campaign_jobs
from tests.factories import make_identity, make_sending_campaign, make_subscribers
from tests.helpers import post_form

LINK = re.compile(r"https://helpdesk\.test(/campaigns/identities/confirm/[A-Za-z0-9_.\-]+)")
SECRET = "test-secret"


@pytest.fixture
def mail(worker_env, redis_conn, smtp_handler):
    """Runs the mail queue like worker.py would and returns the messages the relay got."""

    def run():
        SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn).work(
            burst=True
        )
        return [item.message for item in smtp_handler.received]

    return run


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(SendingIdentity))


def test_added_address_is_mailed_a_link_that_confirms_it(marketer_client, session, mail):
    response = post_form(
        marketer_client,
        "/campaigns/identities",
        {"email": "news@shop.example", "name": "봄꽃상회", "reply_to": "help@shop.example"},
    )
    assert response.status_code == 302

    (message,) = mail()
    assert message["To"].addresses[0].addr_spec == "news@shop.example"
    path = LINK.search(message.get_body(("plain",)).get_content()).group(1)
    assert "Confirm" in marketer_client.get(path).get_data(as_text=True)
    confirmed = post_form(marketer_client, path)

    assert confirmed.status_code == 200
    session.expire_all()
    identity = session.scalars(select(SendingIdentity)).one()
    assert identity.verified_at is not None
    assert identity.is_default


def test_link_is_signed_for_its_address(session, config):
    identity = make_identity(session, verified=False)
    token = identities.confirmation_token(identity, config.secret_key)

    with pytest.raises(identities.IdentityRefused):
        identities.confirm_identity(session, token[:-2] + "xx", config.secret_key, utcnow())
    with pytest.raises(identities.IdentityRefused):
        identities.confirm_identity(session, token, "another secret", utcnow())
    assert session.get(SendingIdentity, identity.id).verified_at is None


def test_expired_link_is_refused(session, config, monkeypatch):
    identity = make_identity(session, verified=False)
    token = identities.confirmation_token(identity, config.secret_key)
    monkeypatch.setattr(identities, "CONFIRM_MAX_AGE", timedelta(seconds=-1))

    with pytest.raises(identities.IdentityRefused, match="expired"):
        identities.confirm_identity(session, token, config.secret_key, utcnow())
    assert session.get(SendingIdentity, identity.id).verified_at is None


def test_forged_link_page_answers_400_and_confirms_nothing(marketer_client, session):
    identity = make_identity(session, verified=False)

    response = post_form(marketer_client, "/campaigns/identities/confirm/forged.token")

    assert response.status_code == 400
    session.expire_all()
    assert session.get(SendingIdentity, identity.id).verified_at is None


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not an address"},
        {"email": ""},
        {"email": "a@shop.example", "reply_to": "nope"},
        {"email": "a@shop.example", "name": "x" * 201},
    ],
)
def test_bad_identity_input_is_refused_and_stores_nothing(marketer_client, session, data):
    response = post_form(marketer_client, "/campaigns/identities", data)

    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    assert _count(session) == 0


def test_an_address_is_added_once(session):
    make_identity(session)

    with pytest.raises(identities.IdentityInvalid) as refused:
        identities.add_identity(session, email="NEWS@shop.example", name="", reply_to="")

    assert set(refused.value.errors) == {"email"}


def test_unconfirmed_address_cannot_be_the_default(session):
    identity = make_identity(session, verified=False)

    with pytest.raises(identities.IdentityRefused):
        identities.set_default(session, identity.id)


def test_making_another_address_default_leaves_one_default(marketer_client, session):
    first = make_identity(session, default=True)
    second = make_identity(session, email="events@shop.example")

    post_form(marketer_client, f"/campaigns/identities/{second.id}/default")

    session.expire_all()
    defaults = session.scalars(select(SendingIdentity.email).where(SendingIdentity.is_default))
    assert list(defaults) == ["events@shop.example"]
    assert first.id != second.id


def test_removed_address_is_gone_from_the_page(marketer_client, session):
    identity = make_identity(session)

    post_form(marketer_client, f"/campaigns/identities/{identity.id}/remove")

    assert _count(session) == 0
    assert "news@shop.example" not in marketer_client.get("/campaigns/senders").get_data(
        as_text=True
    )


def test_campaign_editor_preselects_the_default_address(marketer_client, session):
    make_identity(session, email="events@shop.example")
    default = make_identity(session, default=True)

    page = marketer_client.get("/campaigns/new").get_data(as_text=True)

    assert re.search(
        rf'<option selected value="{default.id}">|<option value="{default.id}" selected', page
    )
    assert 'name="from_email"' not in page


def test_campaign_takes_from_and_reply_to_of_its_identity(session):
    identity = make_identity(session, default=True, reply_to="help@shop.example")

    campaign = service.create_campaign(
        session, service.CampaignData(name="Spring", html_body="<p>Hi</p>"), user_id=None
    )

    assert (campaign.from_email, campaign.from_name, campaign.reply_to) == (
        "news@shop.example",
        "Shop News",
        "help@shop.example",
    )
    assert campaign.sending_identity_id == identity.id


def test_campaign_cannot_use_an_unconfirmed_address(session):
    identity = make_identity(session, verified=False)

    with pytest.raises(service.CampaignInvalid) as refused:
        service.create_campaign(
            session,
            service.CampaignData(
                name="Spring", html_body="<p>Hi</p>", sending_identity_id=identity.id
            ),
            user_id=None,
        )

    assert set(refused.value.errors) == {"sending_identity_id"}
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_received_campaign_carries_the_identity_reply_to(
    session, config, redis_conn, worker_env, smtp_handler
):
    make_subscribers(session, 1)
    identity = make_identity(session, default=True, reply_to="help@shop.example")
    campaign = make_sending_campaign(
        session,
        sending_identity_id=identity.id,
        from_name=identity.name,
        from_email=identity.email,
        reply_to=identity.reply_to,
    )

    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    run_campaign_jobs(redis_conn)

    message = smtp_handler.received[0].message
    assert message["From"] == "Shop News <news@shop.example>"
    assert message["Reply-To"] == "help@shop.example"


def test_senders_page_saves_the_advertising_sender(marketer_client, session):
    from helpdesk.campaigns.models import MarketingSettings, NightAdMode

    response = post_form(
        marketer_client,
        "/campaigns/senders/settings",
        {"sender_name": "봄꽃상회", "sender_contact": "02-123-4567", "night_mode": "consent"},
    )

    assert response.status_code == 302
    settings = session.scalars(select(MarketingSettings)).one()
    assert (settings.sender_name, settings.night_mode) == ("봄꽃상회", NightAdMode.consent)


def test_senders_page_refuses_an_unknown_night_rule_and_saves_nothing(marketer_client, session):
    from helpdesk.campaigns.models import MarketingSettings

    response = post_form(
        marketer_client,
        "/campaigns/senders/settings",
        {"sender_name": "봄꽃상회", "sender_contact": "", "night_mode": "always"},
    )

    assert response.status_code == 400
    assert session.scalars(select(MarketingSettings.sender_name)).all() in ([], [""])
