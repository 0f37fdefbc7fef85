"""Runs one RQ worker on the helpdesk queues; start as many as the mail volume needs.

`helpdesk run` starts one; in production run `python worker.py` under a process supervisor
on any machine that reaches the same database and Redis.
"""

from __future__ import annotations

import argparse

from rq import Worker

from helpdesk.campaigns import jobs as campaign_jobs
from helpdesk.config import Config
from helpdesk.db import database
from helpdesk.queue import QUEUE_NAMES, redis_connection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--burst", action="store_true", help="work until the queues are empty, then exit"
    )
    args = parser.parse_args(argv)
    config = Config.from_env()
    database.configure(config.database_url)
    campaign_jobs.on_worker_start(config)
    # Queues are listened to in QUEUE_NAMES order, so a waiting reply always runs before
    # the next chunk of a campaign or import.
    worker = Worker(list(QUEUE_NAMES), connection=redis_connection(config))
    worker.work(burst=args.burst, with_scheduler=not args.burst)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
