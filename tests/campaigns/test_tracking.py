"""The open pixel, machine opens, click redirects and refused links, as counted once the
worker has flushed what the views buffered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk import create_app
from helpdesk.campaigns.models import CampaignLink, ClickEvent, OpenEvent
from helpdesk.db import utcnow
from tests.campaigns.tracking_support import paths, run_tracking_jobs
from tests.conftest import free_port
from tests.factories import make_delivery, make_sending_campaign, make_subscribers

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"


@pytest.fixture
def delivery(session, redis_conn, worker_env):
    (customer,) = make_subscribers(session, 1)
    campaign = make_sending_campaign(session)
    session.add(CampaignLink(campaign_id=campaign.id, url="https://shop.example/spring"))
    session.commit()
    return make_delivery(session, campaign, customer)


def test_pixel_records_the_first_human_open_and_counts_the_next(
    client, session, redis_conn, delivery
):
    first = client.get(paths(delivery)["open"], headers={"User-Agent": BROWSER})
    client.get(paths(delivery)["open"], headers={"User-Agent": BROWSER})

    assert first.status_code == 200
    assert first.mimetype == "image/gif"
    assert first.data.startswith(b"GIF89a")
    assert "no-store" in first.headers["Cache-Control"]
    run_tracking_jobs(redis_conn)
    session.refresh(delivery)
    assert delivery.open_count == 2
    assert delivery.machine_open_count == 0
    assert delivery.first_opened_at is not None


@pytest.mark.parametrize(
    "headers",
    [
        {
            "User-Agent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
            "(via ggpht.com GoogleImageProxy)"
        },
        {"User-Agent": "Mozilla/5.0"},
    ],
    ids=["gmail-proxy", "apple-privacy-protection"],
)
def test_proxy_fetches_count_as_machine_opens(client, session, redis_conn, delivery, headers):
    client.get(paths(delivery)["open"], headers=headers)

    run_tracking_jobs(redis_conn)
    session.refresh(delivery)
    assert delivery.machine_open_count == 1
    assert delivery.open_count == 0
    assert delivery.first_opened_at is None


def test_an_open_seconds_after_sending_is_a_machine_open(client, session, redis_conn, delivery):
    delivery.sent_at = utcnow() - timedelta(seconds=2)
    session.commit()

    client.get(paths(delivery)["open"], headers={"User-Agent": BROWSER})

    run_tracking_jobs(redis_conn)
    session.refresh(delivery)
    assert delivery.machine_open_count == 1
    assert delivery.open_count == 0
    assert session.scalar(select(OpenEvent.is_machine)) is True


def test_click_redirects_to_the_campaigns_link_and_is_recorded(
    client, session, redis_conn, delivery
):
    response = client.get(paths(delivery)["click"](0), headers={"User-Agent": BROWSER})

    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example/spring"
    run_tracking_jobs(redis_conn)
    session.refresh(delivery)
    assert delivery.click_count == 1
    assert delivery.first_clicked_at is not None
    assert session.scalar(select(func.count()).select_from(ClickEvent)) == 1


def test_a_click_link_mailed_before_links_carried_the_campaign_still_works(
    client, session, redis_conn, delivery
):
    response = client.get(paths(delivery, with_campaign=False)["click"](0))

    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example/spring"
    run_tracking_jobs(redis_conn)
    session.refresh(delivery)
    assert delivery.click_count == 1


def test_a_link_position_the_campaign_does_not_have_is_refused(
    client, session, redis_conn, delivery
):
    response = client.get(paths(delivery)["click"](7))

    assert response.status_code == 404
    run_tracking_jobs(redis_conn)
    session.refresh(delivery)
    assert delivery.click_count == 0


def test_a_click_link_cannot_carry_a_foreign_url(client, session, redis_conn, delivery):
    path = paths(delivery)["click"](0) + "?url=https://evil.example/"
    response = client.get(path.replace("/0?", "/https%3A%2F%2Fevil.example?"))

    assert response.status_code == 404
    run_tracking_jobs(redis_conn)
    assert session.scalar(select(func.count()).select_from(ClickEvent)) == 0


def _counted_nothing(session, delivery) -> None:
    session.refresh(delivery)
    assert (delivery.open_count, delivery.machine_open_count, delivery.click_count) == (0, 0, 0)
    assert (delivery.first_opened_at, delivery.first_clicked_at) == (None, None)
    assert session.scalar(select(func.count()).select_from(OpenEvent)) == 0
    assert session.scalar(select(func.count()).select_from(ClickEvent)) == 0


def test_head_on_the_pixel_and_a_click_link_answers_like_get_and_counts_nothing(
    client, session, redis_conn, delivery
):
    pixel = client.head(paths(delivery)["open"], headers={"User-Agent": BROWSER})
    click = client.head(paths(delivery)["click"](0), headers={"User-Agent": BROWSER})

    assert (pixel.status_code, pixel.mimetype) == (200, "image/gif")
    assert "no-store" in pixel.headers["Cache-Control"]
    assert click.status_code == 302
    assert click.headers["Location"] == "https://shop.example/spring"
    # Nothing buffered, nothing queued, nothing counted once the worker has run.
    assert redis_conn.dbsize() == 0
    run_tracking_jobs(redis_conn)
    _counted_nothing(session, delivery)


def test_head_counts_nothing_when_redis_is_down_either(config, session, delivery):
    unreachable = config.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(unreachable).test_client()

    assert client.head(paths(delivery)["open"]).status_code == 200
    assert client.head(paths(delivery)["click"](0)).status_code == 302

    _counted_nothing(session, delivery)


def test_head_with_a_tampered_token_is_refused_like_get(client, session, redis_conn, delivery):
    signed = paths(delivery)["open"].split("/")[3].removesuffix(".gif")
    tampered = signed[:-3] + ("AAA" if signed[-3:] != "AAA" else "BBB")

    assert client.head(f"/t/o/{tampered}.gif").status_code == 404
    assert client.head(f"/t/c/{tampered}/0").status_code == 404
    assert redis_conn.dbsize() == 0


@pytest.mark.parametrize("which", ["open", "click", "view"])
def test_a_tampered_token_gets_404_and_records_nothing(
    client, session, redis_conn, delivery, which
):
    path = paths(delivery)[which]
    path = path(0) if callable(path) else path
    signed = path.split("/")[3]
    tampered = path.replace(signed, signed[:-3] + ("AAA" if signed[-3:] != "AAA" else "BBB"))

    assert client.get(tampered).status_code == 404
    run_tracking_jobs(redis_conn)
    session.refresh(delivery)
    assert (delivery.open_count, delivery.machine_open_count, delivery.click_count) == (0, 0, 0)
    assert session.scalar(select(func.count()).select_from(OpenEvent)) == 0


def test_a_signed_link_of_one_purpose_is_refused_for_another(client, session, redis_conn, delivery):
    signed_for_unsubscribe = paths(delivery)["unsubscribe"].rsplit("/", 1)[1]

    assert client.get(f"/t/o/{signed_for_unsubscribe}.gif").status_code == 404
    run_tracking_jobs(redis_conn)
    session.refresh(delivery)
    assert delivery.open_count == 0


def test_view_in_browser_shows_the_personalized_newsletter(client, delivery):
    response = client.get(paths(delivery)["view"])

    assert response.status_code == 200
    assert "Hello Reader 0," in response.get_data(as_text=True)
