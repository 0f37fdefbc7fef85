"""Runs one RQ worker on the helpdesk queues; start as many as the mail volume needs.

`helpdesk run` starts one; in production run `python worker.py` under a process supervisor
on any machine that reaches the same database and Redis. Stop it with SIGTERM (or Ctrl-C):
the job running finishes the message it is sending and puts the rest back. A second
SIGTERM stops it at once, which may leave one campaign recipient uncertain.
"""

from __future__ import annotations

import argparse

from helpdesk.campaigns import jobs as campaign_jobs
from helpdesk.config import Config
from helpdesk.db import database
from helpdesk.webhooks import jobs as webhook_jobs
from helpdesk.worker import HelpdeskWorker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--burst", action="store_true", help="work until the queues are empty, then exit"
    )
    args = parser.parse_args(argv)
    config = Config.from_env()
    database.configure(config.database_url)
    campaign_jobs.on_worker_start(config)
    webhook_jobs.notify_on_commit(config)
    webhook_jobs.queue_dispatch(config)
    # Queues are listened to in QUEUE_NAMES order, so a waiting reply always runs before
    # the next chunk of a campaign or import.
    HelpdeskWorker(config).work(burst=args.burst, with_scheduler=not args.burst)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
