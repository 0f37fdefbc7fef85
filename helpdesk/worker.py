"""The RQ worker that `worker.py` runs: RQ's forking worker (a work horse process per job),
made to stop cleanly and to look after campaigns a dead worker left unfinished.

- A stop request (SIGTERM or SIGINT to the worker) is passed on to the running horse,
  which finishes the message it is handing over, puts the rest back and ends its job;
  then the worker exits. A second signal kills the horse at once (RQ's cold shutdown).
- A horse whose worker dies (kill -9) gets SIGTERM from the kernel and stops the same
  way, so no orphan goes on sending.
- While idle, the worker queues a campaign check every CAMPAIGN_CHECK_SECONDS when a
  campaign is sending, so recipients left by a dead worker are recovered once their
  lease ends, without a restart; and once a minute a check that tells agents of their
  tickets gone overdue and one that mails the satisfaction surveys that came due, and
  once an hour one that forgets expired Idempotency-Keys.
- A horse never uses its parent's database connections (`helpdesk.db` drops inherited
  pools at fork).
"""

from __future__ import annotations

import contextlib
import os
import signal
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from rq import Worker
from rq.defaults import DEFAULT_MAINTENANCE_TASK_INTERVAL
from rq.utils import now

from helpdesk.api import jobs as api_jobs
from helpdesk.campaigns import jobs as campaign_jobs
from helpdesk.config import Config
from helpdesk.processes import stop_with_parent
from helpdesk.queue import QUEUE_NAMES, redis_connection, request_stop
from helpdesk.surveys import jobs as survey_jobs
from helpdesk.tickets import jobs as ticket_jobs
from helpdesk.webhooks import jobs as webhook_jobs


class QuickUnsubscribe:
    """For any RQ worker class (the tests' in-process SimpleWorker too)."""

    def unsubscribe(self) -> None:
        """RQ's, ordered so a stop is quick. RQ unsubscribes, then stops the pubsub
        thread and (redis-py 8) waits for it; a thread that has read the unsubscription
        first waits up to its 60 s sleep for a new subscription, and the worker's exit
        with it. Cleared first, the thread ends on that same reply; the wait is bounded
        in any case (the thread is a daemon)."""
        if self.pubsub_thread:
            self.log.info("Worker %s: unsubscribing from channel", self.name)
            self.pubsub_thread.stop(timeout=0)
            with contextlib.suppress(RedisError):
                self.pubsub.unsubscribe()
            self.pubsub_thread.join(timeout=1)


class HelpdeskWorker(QuickUnsubscribe, Worker):
    def __init__(self, config: Config, **kwargs) -> None:
        check_seconds = max(1, config.campaign_check_seconds)
        super().__init__(
            list(QUEUE_NAMES),
            connection=redis_connection(config),
            maintenance_interval=check_seconds,
            # RQ waits for a job for worker_ttl - 15 seconds before it looks at its
            # maintenance tasks again.
            worker_ttl=check_seconds + 15,
            **kwargs,
        )
        self.config = config
        self._rq_upkeep_due: datetime | None = None

    def main_work_horse(self, job, queue) -> None:
        stop_with_parent(parent_pid=self.pid)
        super().main_work_horse(job, queue)

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()
        signal.signal(signal.SIGTERM, lambda *_: request_stop())

    def request_stop(self, signum, frame) -> None:
        if self.horse_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.horse_pid, signal.SIGTERM)
        super().request_stop(signum, frame)

    def run_maintenance_tasks(self) -> None:
        """RQ's own upkeep (registry cleaning, scheduler restart) at RQ's pace; the
        campaign check and, while deliveries wait, a webhook dispatch (retries that came
        due, work a dead job left) every time, which is every CAMPAIGN_CHECK_SECONDS,
        the overdue and survey checks once a minute and the expired Idempotency-Key
        cleanup once an hour."""
        if self._rq_upkeep_due is None or now() >= self._rq_upkeep_due:
            super().run_maintenance_tasks()
            self._rq_upkeep_due = now() + timedelta(seconds=DEFAULT_MAINTENANCE_TASK_INTERVAL)
        else:
            self.last_cleaned_at = now()
        campaign_jobs.queue_campaign_check(self.config, self.connection)
        ticket_jobs.queue_overdue_check(self.connection)
        api_jobs.queue_idempotency_cleanup(self.connection)
        survey_jobs.queue_survey_check(self.connection)
        webhook_jobs.queue_dispatch(self.config, self.connection, only_if_waiting=True)
