"""An endpoint paused after a day of failures is mailed to every admin, once per pause,
through the one outbound path to a real SMTP server."""

from __future__ import annotations

from rq import Queue

from helpdesk.queue import MAIL_QUEUE
from helpdesk.webhooks import service
from helpdesk.webhooks.jobs import run_dispatch, send_pause_notices
from helpdesk.webhooks.models import PauseReason
from tests.factories import make_user
from tests.webhooks.conftest import customer_created, mark_failing_for_a_day


def _fail_once_more(session, hook_config, redis_conn, customer_id=5):
    customer_created(session, customer_id)
    run_dispatch(hook_config, slice_seconds=5, redis=redis_conn)
    session.expire_all()


def test_every_active_admin_is_mailed_about_the_pause(
    session, hook_config, redis_conn, failing_endpoint, admin, agent, worker_env, smtp_handler
):
    other = make_user(session, role="admin", email="root@example.com", name="Rhea Root")
    gone = make_user(session, role="admin", email="gone@example.com", name="Gone")
    gone.is_active = False
    session.commit()
    _fail_once_more(session, hook_config, redis_conn)

    assert send_pause_notices() == 2
    assert sorted(r.rcpt_tos[0] for r in smtp_handler.received) == [admin.email, other.email]


def test_the_pause_mail_names_the_endpoint_the_error_and_its_page(
    session, hook_config, redis_conn, failing_endpoint, admin, worker_env, smtp_handler
):
    _fail_once_more(session, hook_config, redis_conn)
    send_pause_notices()

    [received] = smtp_handler.received
    message = received.message
    text = message.get_content()
    assert message["Auto-Submitted"] == "auto-generated"
    assert failing_endpoint.url in message["Subject"]
    assert "HTTP 500" in text
    assert f"https://helpdesk.test/admin/webhooks/{failing_endpoint.id}" in text


def test_a_pause_is_mailed_only_once(
    session, hook_config, redis_conn, failing_endpoint, admin, worker_env, smtp_handler
):
    _fail_once_more(session, hook_config, redis_conn)
    send_pause_notices()

    assert send_pause_notices() == 0
    assert len(smtp_handler.received) == 1


def test_the_dispatch_that_pauses_an_endpoint_queues_the_mail(
    session, hook_config, redis_conn, failing_endpoint
):
    _fail_once_more(session, hook_config, redis_conn)

    assert service.get_endpoint(session, failing_endpoint.id).paused_reason == PauseReason.failing
    jobs = Queue(MAIL_QUEUE, connection=redis_conn).jobs
    assert [job.func_name for job in jobs] == ["helpdesk.webhooks.jobs.send_pause_notices"]


def test_an_endpoint_resumed_and_paused_again_is_mailed_again(
    session, hook_config, redis_conn, failing_endpoint, admin, worker_env, smtp_handler
):
    _fail_once_more(session, hook_config, redis_conn)
    send_pause_notices()
    service.resume_endpoint(session, failing_endpoint.id)
    session.commit()
    mark_failing_for_a_day(session, failing_endpoint)

    _fail_once_more(session, hook_config, redis_conn, customer_id=6)

    assert send_pause_notices() == 1
    assert len(smtp_handler.received) == 2


def test_a_pause_by_an_admin_is_not_mailed(
    session, failing_endpoint, admin, worker_env, smtp_handler
):
    service.pause_endpoint(session, failing_endpoint.id)
    session.commit()

    assert send_pause_notices() == 0
    assert smtp_handler.received == []


def test_the_mail_is_in_the_admins_language(
    session, hook_config, redis_conn, failing_endpoint, worker_env, smtp_handler
):
    make_user(session, role="admin", email="kim@example.com", name="Kim", language="ko")
    _fail_once_more(session, hook_config, redis_conn)
    send_pause_notices()

    assert "일시 중지" in smtp_handler.received[0].message["Subject"]
