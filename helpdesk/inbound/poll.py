"""The IMAP poller: fetches new mail from each mailbox and hands the raw bytes to ingest.

Order of events per batch, so that nothing is lost and nothing is done twice:
FETCH with BODY.PEEK[] (the server sets no flag), ingest the batch (its raw bytes
committed first, then its tickets in one more commit), queue the acknowledgements, then
flag \\Seen or move to the archive folder, then record the batch's highest UID. A crash
anywhere before that last commit means the batch is fetched again and the Message-ID
dedupe in ingest recognizes what was already taken in. Mail is never deleted or expunged.
A reader thread fetches the next batch, and a parse process parses it, while one is being
ingested.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from imapclient import IMAPClient
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from helpdesk.config import Config
from helpdesk.db import database, utcnow
from helpdesk.inbound.incoming import (
    Incoming,
    IngestResult,
    IngestSettings,
    own_addresses,
    parse_incoming,
)
from helpdesk.inbound.ingest import ingest_batch, queue_after_ingest, recover_unprocessed
from helpdesk.inbound.poll_lock import LOCK_SECONDS, PollLock, PollLockLost
from helpdesk.mail import imap
from helpdesk.mail.models import Mailbox, RawSource, RawStatus
from helpdesk.mail.parse import ParsedMail
from helpdesk.processes import stop_with
from helpdesk.queue import redis_connection

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300
MAILBOX_REFRESH_SECONDS = 30
ALREADY_RUNNING = "already running"
# A watcher that finds another poller on its mailbox (or the lock of one that died) looks
# again this often, so it takes over within seconds of the lock running out.
LOCK_RETRY_SECONDS = LOCK_SECONDS / 5

# Processes that parse fetched mail, beside the one writing to the database.
PARSE_PROCESSES = max(1, min(4, (os.cpu_count() or 2) - 1))


@dataclass
class PollResult:
    mailbox_id: int
    fetched: int = 0
    ingested: int = 0
    duplicates: int = 0
    quarantined: int = 0
    # Stored messages a crash had left unprocessed, taken in before fetching.
    recovered: int = 0
    # False when a budget ran out with mail still waiting; the next poll continues.
    complete: bool = True
    skipped: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and not self.skipped


def poll_mailbox(
    mailbox_id: int,
    config: Config,
    *,
    batch_size: int | None = None,
    time_budget: float | None = None,
    size_budget: int | None = None,
    after_commit: Callable[[int], None] | None = None,
) -> PollResult:
    """Fetch what arrived since the last poll. `after_commit(uid)` runs for each message
    after its batch is committed and before it is flagged; tests use it to simulate a
    crash there."""
    batch_size = batch_size or config.mailbox_poll_batch
    time_budget = config.poll_time_budget_seconds if time_budget is None else time_budget
    size_budget = config.poll_size_budget_bytes if size_budget is None else size_budget
    result = PollResult(mailbox_id)
    lock = PollLock(redis_connection(config), mailbox_id)
    try:
        acquired = lock.acquire()
    except RedisError as exc:
        result.error = f"cannot take the poll lock: {exc}"
        log.warning("mailbox %s: %s", mailbox_id, result.error)
        return result
    if not acquired:
        result.skipped = ALREADY_RUNNING
        return result
    try:
        result.recovered = recover_unprocessed(config, polled_mailbox_id=mailbox_id)
        with database.session() as session:
            _poll(
                session,
                mailbox_id,
                config,
                result,
                batch_size,
                time_budget,
                size_budget,
                after_commit,
                still_ours=lock.check,
            )
    finally:
        lock.release()
    return result


def _poll(
    session: Session,
    mailbox_id: int,
    config: Config,
    result: PollResult,
    batch_size: int,
    time_budget: float,
    size_budget: int,
    after_commit: Callable[[int], None] | None,
    still_ours: Callable[[], None],
) -> None:
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None or not mailbox.is_active or not mailbox.has_imap:
        result.skipped = "mailbox is inactive or has no IMAP settings"
        return
    settings = IngestSettings.from_config(config)
    started = time.monotonic()
    client = None
    try:
        client = imap.connect(mailbox)
        uids = imap.new_uids(session, client, mailbox)
        archive = mailbox.archive_folder or None
        if uids and archive and not client.folder_exists(archive):
            client.create_folder(archive)
        batches = imap.batches(client, uids, batch_size, config.mailbox_poll_batch_bytes)
        own = own_addresses(session, settings)
        parse = functools.partial(parse_incoming, settings=settings, own=own)
        fetched_bytes = 0
        with _BatchReader(client, batches, parse) as reader:
            for number, batch in enumerate(reader):
                # Budgets are checked after the first batch, so every poll makes progress.
                over_time = time.monotonic() - started > time_budget
                if number and (over_time or fetched_bytes > size_budget):
                    result.complete = False
                    break
                fetched_bytes += sum(len(message.raw) for message in batch.messages)
                outcomes = ingest_batch(
                    session,
                    batch.messages,
                    source=RawSource.imap,
                    settings=settings,
                    mailbox_id=mailbox_id,
                )
                _count(result, outcomes)
                queue_after_ingest(config, outcomes)
                if after_commit is not None:
                    for message in batch.messages:
                        after_commit(message.imap_uid)
                with reader.lock:
                    imap.mark_taken(client, batch.uids, archive)
                mailbox = session.get(Mailbox, mailbox_id)
                mailbox.last_uid = batch.uids[-1]
                mailbox.total_fetched += len(batch.messages)
                session.commit()
                still_ours()
        mailbox.last_error = ""
    except PollLockLost as exc:
        # What was taken in is committed; whoever holds the lock now carries on.
        result.error = str(exc)
        result.complete = False
        log.warning("mailbox %s: %s; stopping this poll", mailbox_id, exc)
    except imap.POLL_ERRORS as exc:
        session.rollback()
        mailbox = session.get(Mailbox, mailbox_id)
        result.error = imap.describe(exc, mailbox)
        mailbox.last_error = result.error
        mailbox.last_error_at = utcnow()
        log.warning("mailbox %s: poll failed: %s", mailbox_id, result.error)
    finally:
        if client is not None:
            imap.close(client)
    mailbox.last_poll_at = utcnow()
    mailbox.last_poll_fetched = result.fetched
    session.commit()


@dataclass
class _FetchedBatch:
    uids: list[int]
    # Parsed unless the parse pool failed; fewer than `uids` when some were expunged since.
    messages: list[Incoming]


_parse_pool: ProcessPoolExecutor | None = None
_parse_pool_lock = threading.Lock()


def parse_in_processes(parse: Callable[[bytes], ParsedMail], raws: list[bytes]) -> list[ParsedMail]:
    """`parse` applied to each message in the parse processes, so that parsing uses
    another core than the database work. The pool lives as long as this process; when
    one of its processes dies, this raises BrokenProcessPool and the next call makes a
    new pool."""
    global _parse_pool
    with _parse_pool_lock:
        if _parse_pool is None:
            # Not fork: the poller runs beside other threads (one per mailbox).
            context = multiprocessing.get_context("forkserver")
            _parse_pool = ProcessPoolExecutor(
                PARSE_PROCESSES,
                mp_context=context,
                initializer=_start_parse_process,
                initargs=(os.getpid(),),
            )
        pool = _parse_pool
    try:
        chunk = max(1, len(raws) // (PARSE_PROCESSES * 4))
        return list(pool.map(parse, raws, chunksize=chunk))
    except BrokenProcessPool:
        with _parse_pool_lock:
            if _parse_pool is pool:
                _parse_pool = None
        raise


def _start_parse_process(poller_pid: int) -> None:
    # Ctrl-C reaches the whole process group; the poller ends the pool as it exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A poller killed alone (-9, the OOM killer) cannot end its pool, and the fork server
    # between them lives as long as its children do: each ends itself.
    stop_with(poller_pid)


class _BatchReader:
    """Fetches the batches in a thread, one batch ahead of ingest, and has them parsed.

    Fetching waits for the IMAP server and parsing runs in other processes, while ingest
    mostly waits for the database: the three overlap. The thread only reads
    (BODY.PEEK[]); flagging stays with the ingest side, after its commit. They share the
    connection, and `lock` keeps their commands apart.
    """

    def __init__(
        self,
        client: IMAPClient,
        batches: Iterator[list[int]],
        parse: Callable[[bytes], ParsedMail],
    ):
        self.client = client
        self.lock = threading.Lock()
        self._batches = batches
        self._parse = parse
        self._ready: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="imap-reader", daemon=True)

    def __enter__(self) -> _BatchReader:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            self._ready.get_nowait()  # lets a reader blocked on a full queue see the stop
        self._thread.join()

    def __iter__(self) -> Iterator[_FetchedBatch]:
        while (item := self._ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _read(self) -> None:
        try:
            while not self._stop.is_set():
                with self.lock:
                    # Taking the next batch may ask the server for sizes (`imap.batches`).
                    uids = next(self._batches, None)
                    if uids is None:
                        break
                    fetched = self.client.fetch(uids, ["BODY.PEEK[]"])
                # A UID missing from the answer was expunged by someone else since SEARCH.
                raws = [(uid, fetched.get(uid, {}).get(b"BODY[]")) for uid in uids]
                raws = [(uid, raw) for uid, raw in raws if raw is not None]
                try:
                    parsed = parse_in_processes(self._parse, [raw for _, raw in raws])
                except BrokenProcessPool:
                    # A parse process died (killed, or crashed on one of these): ingest
                    # parses this batch itself, after its bytes are stored, as it would
                    # without the pool. The next batch gets a new pool.
                    log.warning("parse process died; batch of UID %s parsed in ingest", uids[0])
                    parsed = [None] * len(raws)
                messages = [
                    Incoming(raw, imap_uid=uid, parsed=mail)
                    for (uid, raw), mail in zip(raws, parsed, strict=True)
                ]
                self._put(_FetchedBatch(uids, messages))
            self._put(None)
        except BaseException as exc:  # raised on the ingest side, where the poll handles it
            self._put(exc)

    def _put(self, item: _FetchedBatch | BaseException | None) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                self._ready.put(item, timeout=0.5)
                return


def _count(result: PollResult, outcomes: list[IngestResult]) -> None:
    for outcome in outcomes:
        result.fetched += 1
        if outcome.status is RawStatus.duplicate:
            result.duplicates += 1
        elif outcome.status is RawStatus.quarantined:
            result.quarantined += 1
        else:
            result.ingested += 1


def watch_mailboxes(config: Config, stop: threading.Event) -> None:
    """Poll every active IMAP mailbox until `stop` is set, one thread per mailbox.

    New or deactivated mailboxes are noticed within MAILBOX_REFRESH_SECONDS.
    """
    database.configure(config.database_url)
    watchers: dict[int, tuple[threading.Thread, threading.Event]] = {}
    while not stop.is_set():
        try:
            with database.session() as session:
                wanted = set(imap.active_imap_mailbox_ids(session))
        except Exception:
            log.exception("cannot read the mailbox list; retrying")
            wanted = set(watchers)
        for mailbox_id in wanted - watchers.keys():
            own_stop = threading.Event()
            thread = threading.Thread(
                target=watch_mailbox,
                args=(mailbox_id, config, own_stop),
                name=f"poll-{mailbox_id}",
                daemon=True,
            )
            thread.start()
            watchers[mailbox_id] = (thread, own_stop)
        for mailbox_id in watchers.keys() - wanted:
            watchers.pop(mailbox_id)[1].set()
        stop.wait(MAILBOX_REFRESH_SECONDS)
    for _thread, own_stop in watchers.values():
        own_stop.set()
    for thread, _ in watchers.values():
        thread.join(timeout=10)


def watch_mailbox(mailbox_id: int, config: Config, stop: threading.Event) -> None:
    """Poll, then wait for new mail (IDLE where offered, else the poll interval);
    after a failure wait with exponential back-off so a down server is not hammered."""
    backoff = 1.0
    while not stop.is_set():
        try:
            result = poll_mailbox(mailbox_id, config)
        except Exception:
            # A database outage or a bug must not end the watch; it is retried later.
            log.exception("mailbox %s: poll crashed", mailbox_id)
            result = PollResult(mailbox_id, error="crashed")
        if result.skipped == ALREADY_RUNNING:
            stop.wait(LOCK_RETRY_SECONDS)
            continue
        if result.skipped:
            return
        if not result.ok:
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            continue
        if not result.complete:
            continue
        try:
            imap.wait_for_mail(mailbox_id, stop)
        except imap.POLL_ERRORS as exc:
            log.warning("mailbox %s: waiting for mail failed: %s", mailbox_id, exc)
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            continue
        backoff = 1.0
