"""Opens and clicks buffered in Redis: no database work while the reader waits, the same
figures as writing each one at once, nothing lost or counted twice when a flusher dies,
and a pixel that still answers when Redis is down."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from helpdesk import create_app
from helpdesk.campaigns import jobs, reports, tracking, tracking_events
from helpdesk.campaigns.models import CampaignLink, ClickEvent, Delivery, OpenEvent
from helpdesk.db import database, utcnow
from helpdesk.queue import DEFAULT_QUEUE
from tests.campaigns.tracking_support import SECRET, paths, run_tracking_jobs
from tests.conftest import free_port
from tests.factories import make_delivery, make_sending_campaign, make_subscribers

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)


def _campaign_with_deliveries(session, customers, name):
    campaign = make_sending_campaign(session, name=name)
    session.add_all(
        [
            CampaignLink(campaign_id=campaign.id, url="https://shop.example/a", position=0),
            CampaignLink(campaign_id=campaign.id, url="https://shop.example/b", position=1),
        ]
    )
    session.commit()
    now = utcnow()
    deliveries = [
        make_delivery(session, campaign, customer, sent_at=now - timedelta(hours=1))
        for customer in customers
    ]
    # Fetched two seconds after sending: a scanner, whatever its user agent says.
    deliveries[3].sent_at = now - timedelta(seconds=2)
    session.commit()
    return campaign, deliveries


# (delivery index, what, user agent, client address)
SCRIPT = [
    (0, "open", BROWSER, "127.0.0.1"),
    (0, "open", BROWSER, "127.0.0.1"),
    (0, "open", GMAIL_PROXY, "127.0.0.1"),
    (1, "open", "Mozilla/5.0", "127.0.0.1"),
    (2, "open", BROWSER, "17.58.1.2"),
    (3, "open", BROWSER, "127.0.0.1"),
    (4, "open", BROWSER, "127.0.0.1"),
    (0, "click", BROWSER, 0),
    (0, "click", BROWSER, 1),
    (0, "click", BROWSER, 0),
    (4, "click", BROWSER, 1),
]


def _snapshot(session, campaign, deliveries):
    session.rollback()  # a fresh transaction sees what the flush committed
    session.expire_all()
    rows = [session.get(Delivery, d.id) for d in deliveries]
    open_events = Counter(
        session.execute(
            select(OpenEvent.delivery_id, OpenEvent.is_machine).where(
                OpenEvent.delivery_id.in_([d.id for d in deliveries])
            )
        ).all()
    )
    click_events = Counter(
        session.execute(
            select(ClickEvent.delivery_id, CampaignLink.position)
            .join(CampaignLink, CampaignLink.id == ClickEvent.link_id)
            .where(ClickEvent.delivery_id.in_([d.id for d in deliveries]))
        ).all()
    )
    index = {d.id: n for n, d in enumerate(deliveries)}
    return {
        "figures": reports.campaign_figures(session, campaign.id),
        "links": [
            (link.clicks, link.unique_clicks)
            for link in reports.clicks_per_link(session, campaign.id)
        ],
        "deliveries": [
            (
                d.open_count,
                d.machine_open_count,
                d.click_count,
                d.first_opened_at is not None,
                d.first_clicked_at is not None,
            )
            for d in rows
        ],
        "open_events": {(index[d], machine): n for (d, machine), n in open_events.items()},
        "click_events": {(index[d], pos): n for (d, pos), n in click_events.items()},
    }


def test_flushed_figures_equal_writing_each_event_at_once(app, session, redis_conn, worker_env):
    customers = make_subscribers(session, 5)
    direct, direct_deliveries = _campaign_with_deliveries(session, customers, "Direct")
    buffered, buffered_deliveries = _campaign_with_deliveries(session, customers, "Buffered")

    with database.session() as writer:
        for n, what, user_agent, extra in SCRIPT:
            signed = paths(direct_deliveries[n])
            if what == "open":
                tracking.record_open(
                    writer,
                    SECRET,
                    signed["open"].split("/")[3].removesuffix(".gif"),
                    user_agent=user_agent,
                    remote_ip=extra,
                    now=utcnow(),
                )
            else:
                tracking.record_click(
                    writer,
                    SECRET,
                    signed["click"](extra).split("/")[3],
                    extra,
                    user_agent=user_agent,
                    now=utcnow(),
                )
            writer.commit()

    client = app.test_client()
    for n, what, user_agent, extra in SCRIPT:
        path = paths(buffered_deliveries[n])
        if what == "open":
            response = client.get(
                path["open"],
                headers={"User-Agent": user_agent},
                environ_base={"REMOTE_ADDR": extra},
            )
            assert response.status_code == 200
        else:
            response = client.get(path["click"](extra), headers={"User-Agent": user_agent})
            assert response.status_code == 302
    before = _snapshot(session, buffered, buffered_deliveries)
    run_tracking_jobs(redis_conn)
    after = _snapshot(session, buffered, buffered_deliveries)

    assert before["figures"].human_opens == 0
    assert before["open_events"] == {}
    expected = _snapshot(session, direct, direct_deliveries)
    assert after == expected
    assert expected["figures"].human_opens == 2
    assert expected["figures"].machine_opens == 3
    assert expected["figures"].unique_clicks == 2
    assert expected["links"] == [(2, 1), (2, 2)]


def test_pixel_and_click_answer_without_a_database_query(app, session, redis_conn, worker_env):
    (customer,) = make_subscribers(session, 1)
    campaign, (delivery, *_rest) = _campaign_with_deliveries(
        session, make_subscribers(session, 4, start=10) + [customer], "One"
    )
    client = app.test_client()
    # The first click of a campaign in this process reads its links once.
    assert client.get(paths(delivery)["click"](1)).status_code == 302
    statements = []

    def count(*_args):
        statements.append(_args[2])

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        pixel = client.get(paths(delivery)["open"], headers={"User-Agent": BROWSER})
        click = client.get(paths(delivery)["click"](0), headers={"User-Agent": BROWSER})
    finally:
        event.remove(database.engine, "before_cursor_execute", count)

    assert statements == []
    assert pixel.status_code == 200
    assert pixel.data == tracking.PIXEL_GIF
    assert "no-store" in pixel.headers["Cache-Control"]
    assert click.headers["Location"] == "https://shop.example/a"
    assert tracking_events.TrackingEventLog(redis_conn).waiting() == 3
    run_tracking_jobs(redis_conn)
    session.refresh(delivery)
    assert (delivery.open_count, delivery.click_count) == (1, 2)
    assert tracking_events.TrackingEventLog(redis_conn).waiting() == 0


def _open_three(app, session):
    customers = make_subscribers(session, 3)
    campaign = make_sending_campaign(session)
    deliveries = [make_delivery(session, campaign, c) for c in customers]
    client = app.test_client()
    for delivery in deliveries:
        assert client.get(paths(delivery)["open"], headers={"User-Agent": BROWSER}).status_code
    return deliveries


def _open_counts(session, deliveries):
    session.rollback()  # a fresh transaction sees what the flush committed
    session.expire_all()
    counted = [session.get(Delivery, d.id).open_count for d in deliveries]
    events = session.scalar(select(func.count()).select_from(OpenEvent))
    return counted, events


def test_a_flusher_that_dies_before_committing_loses_no_event(
    app, session, redis_conn, worker_env, monkeypatch
):
    deliveries = _open_three(app, session)
    real_apply = tracking_events.apply_events

    def apply_then_die(*args, **kwargs):
        real_apply(*args, **kwargs)
        raise SystemExit("worker killed")

    monkeypatch.setattr(tracking_events, "apply_events", apply_then_die)
    with pytest.raises(SystemExit):
        jobs.drain_tracking_events(redis_conn, 10)
    assert _open_counts(session, deliveries) == ([0, 0, 0], 0)
    assert tracking_events.TrackingEventLog(redis_conn).in_flight() == 1

    monkeypatch.setattr(tracking_events, "apply_events", real_apply)
    # Within the lease the batch still belongs to the dead flusher ...
    jobs.drain_tracking_events(redis_conn, 10)
    assert _open_counts(session, deliveries) == ([0, 0, 0], 0)
    # ... and once it has run out, the next flush takes it over.
    jobs.drain_tracking_events(redis_conn, 10, lease_seconds=0)
    assert _open_counts(session, deliveries) == ([1, 1, 1], 3)
    assert tracking_events.TrackingEventLog(redis_conn).waiting() == 0


def test_a_batch_committed_but_not_acknowledged_is_not_counted_twice(
    app, session, redis_conn, worker_env, monkeypatch
):
    deliveries = _open_three(app, session)

    def die(self, batch_id):
        raise SystemExit("worker killed between the commit and the acknowledgement")

    monkeypatch.setattr(tracking_events.TrackingEventLog, "ack", die)
    with pytest.raises(SystemExit):
        jobs.drain_tracking_events(redis_conn, 10)
    assert _open_counts(session, deliveries) == ([1, 1, 1], 3)

    monkeypatch.undo()
    result = jobs.drain_tracking_events(redis_conn, 10, lease_seconds=0)

    assert result["batches"] == 1
    assert result["opens"] == 0
    assert _open_counts(session, deliveries) == ([1, 1, 1], 3)
    assert tracking_events.TrackingEventLog(redis_conn).waiting() == 0


def test_an_open_after_a_flush_queues_the_next_flush(app, session, redis_conn, worker_env):
    deliveries = _open_three(app, session)
    queued = redis_conn.llen(f"rq:queue:{DEFAULT_QUEUE}")
    run_tracking_jobs(redis_conn)
    assert redis_conn.llen(f"rq:queue:{DEFAULT_QUEUE}") == 0

    client = app.test_client()
    client.get(paths(deliveries[0])["open"], headers={"User-Agent": BROWSER})
    client.get(paths(deliveries[1])["open"], headers={"User-Agent": BROWSER})

    # One job for the three opens before, one for the two after.
    assert queued == 1
    assert redis_conn.llen(f"rq:queue:{DEFAULT_QUEUE}") == 1
    run_tracking_jobs(redis_conn)
    assert _open_counts(session, deliveries) == ([2, 2, 1], 5)


def test_pixel_and_click_still_work_when_redis_is_down(config, session):
    unreachable = config.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(unreachable).test_client()
    (customer,) = make_subscribers(session, 1)
    campaign, deliveries = _campaign_with_deliveries(
        session, make_subscribers(session, 4, start=10) + [customer], "No Redis"
    )
    delivery = deliveries[0]

    pixel = client.get(paths(delivery)["open"], headers={"User-Agent": BROWSER})
    click = client.get(paths(delivery)["click"](1), headers={"User-Agent": BROWSER})

    assert pixel.status_code == 200
    assert pixel.data == tracking.PIXEL_GIF
    assert click.headers["Location"] == "https://shop.example/b"
    # Written straight to the database, since there is nowhere to buffer them.
    session.refresh(delivery)
    assert (delivery.open_count, delivery.click_count) == (1, 1)
    assert reports.campaign_figures(session, campaign.id).unique_clicks == 1
