"""The `helpdesk` command: run the whole service, migrate, create users, load demo data."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from helpdesk import embedded_redis
from helpdesk.auth.models import Role, User
from helpdesk.auth.service import UserError, create_user
from helpdesk.config import PROJECT_ROOT, Config, ConfigError, reachable_host
from helpdesk.db import database, make_engine, session_scope
from helpdesk.demo import load_demo
from helpdesk.inbound.incoming import IngestSettings
from helpdesk.migrate import alembic_config, upgrade
from helpdesk.processes import descendants, stop_with_parent
from helpdesk.queue import redis_connection
from helpdesk.webhooks.jobs import notify_on_commit

# How long a child gets to finish its current request or job after SIGTERM.
STOP_TIMEOUT = 20.0
# Once every child is up, how long their last start-up lines take to come out.
START_UP_SETTLE_SECONDS = 1.0


def _config() -> Config:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        _fail(str(exc))
    config.instance_path.mkdir(parents=True, exist_ok=True)
    # Mail taken in by `helpdesk poll` and `helpdesk smtpd` records events: deliver them now.
    notify_on_commit(config)
    return config


def _fail(message: str, code: int = 2):
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(code)


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _session(config: Config) -> Iterator[Session]:
    engine = database.configure(config.database_url)
    if not inspect(engine).has_table(User.__tablename__):
        _fail("the database has no tables yet; run `helpdesk migrate` first")
    with session_scope() as session:
        yield session


@click.group()
def main() -> None:
    """Self-hosted helpdesk and email campaigns."""


@main.command()
def migrate() -> None:
    """Bring the database schema up to the latest revision."""
    _migrate(_config())


def _migrate(config: Config) -> None:
    url = config.database_url
    before = _current_revision(url)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if before == head:
        click.echo(f"Database {_safe_url(url)} is up to date (revision {head}).")
        return
    upgrade(url)
    click.echo(f"Database {_safe_url(url)} upgraded from revision {before or 'none'} to {head}.")


def _current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


@main.command("create-user")
@click.option("--email", required=True, help="Login address.")
@click.option("--name", required=True, help="Name shown to colleagues.")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--manager", is_flag=True, help="Sees the team's queue and reports.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for when not given, so it stays out of the shell history.",
)
def create_user_command(email: str, name: str, role: str, manager: bool, password: str) -> None:
    """Add a staff account."""
    config = _config()
    try:
        with _session(config) as session:
            user = create_user(
                session,
                email=email,
                name=name,
                password=password,
                role=role,
                is_manager=manager,
            )
            click.echo(f"Created {user.role.value} {user.email}.")
    except UserError as exc:
        _fail(str(exc))


@main.command("reset-two-factor")
@click.option("--email", required=True, help="the staff member who lost their authenticator")
def reset_two_factor_command(email: str) -> None:
    """Turn a user's two-factor login off (for when no other admin can do it on the web)."""
    from helpdesk.auth import two_factor

    config = _config()
    with _session(config) as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        if user is None:
            _fail(f"no user has the email address {email}")
        two_factor.turn_off(session, user.id)
    click.echo(
        f"Two-factor login of {user.email} is off; they set it up again at their next login."
    )


@main.command()
def demo() -> None:
    """Fill an empty database with demo staff and customers."""
    config = _config()
    with _session(config) as session:
        if _has_users(session):
            _fail("the database already has users; demo data only goes into an empty database")
        result = load_demo(session, IngestSettings.from_config(config))
    click.echo(f"Demo data loaded: {result.customer_count} customers.")
    click.echo(f"Admin login: {result.admin_email} / {result.admin_password}")


def _has_users(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User)))


@main.command()
def sink() -> None:
    """Run the development SMTP sink in the foreground."""
    from helpdesk.mail.sink import run_sink

    run_sink(_config())


@main.command()
@click.option("--mailbox", "mailbox_id", type=int, help="Only this mailbox (by id).")
@click.option("--watch", is_flag=True, help="Keep running and take in new mail as it arrives.")
def poll(mailbox_id: int | None, watch: bool) -> None:
    """Fetch new mail from the IMAP mailboxes into tickets."""
    from helpdesk.inbound import poll as poller
    from helpdesk.mail import imap

    config = _config()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with _session(config) as session:
        ids = [mailbox_id] if mailbox_id else imap.active_imap_mailbox_ids(session)
    if watch:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        if mailbox_id:
            poller.watch_mailbox(mailbox_id, config, stop)
        else:
            poller.watch_mailboxes(config, stop)
        return
    failed = False
    for each in ids:
        result = poller.poll_mailbox(each, config)
        click.echo(
            f"mailbox {each}: fetched {result.fetched}, ingested {result.ingested}, "
            f"duplicates {result.duplicates}, quarantined {result.quarantined}"
            + (f", recovered {result.recovered}" if result.recovered else "")
            + (f", skipped: {result.skipped}" if result.skipped else "")
            + (f", error: {result.error}" if result.error else "")
        )
        failed = failed or bool(result.error)
    if failed:
        raise click.exceptions.Exit(1)


@main.command()
def smtpd() -> None:
    """Run the inbound SMTP gateway in the foreground (mail to our mailboxes becomes tickets)."""
    from helpdesk.inbound.gateway import run_gateway

    config = _config()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    database.configure(config.database_url)
    run_gateway(config)


@main.command()
def run() -> None:
    """Run web, worker and SMTP sink together until Ctrl-C."""
    raise click.exceptions.Exit(run_service(_config()))


# Threads let one web process overlap many short requests that wait on Redis or the
# database (the open pixel, fetched by the thousand after a send); bench/tracking.py
# measures this set-up, and README's production command uses the same threads.
WEB_WORKERS = 2
WEB_THREADS = 16


def web_server_argv(
    bind: str, *options: str, workers: int = WEB_WORKERS, threads: int = WEB_THREADS
) -> list[str]:
    """The gunicorn command line for the web app, with extra gunicorn `options`."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        # The default control socket is one path in $HOME shared by every gunicorn on
        # the machine; nothing here uses it.
        "--no-control-socket",
        *options,
        "helpdesk:create_app()",
    ]


@dataclass(frozen=True)
class ChildCommand:
    name: str
    argv: list[str]


def child_commands(config: Config) -> list[ChildCommand]:
    """Every process `helpdesk run` starts and watches; new kinds of process go here."""
    commands = [
        ChildCommand(
            "web",
            web_server_argv(
                f"{config.host}:{config.port}",
                "--graceful-timeout",
                str(int(STOP_TIMEOUT / 2)),
            ),
        ),
        ChildCommand("worker", [sys.executable, str(PROJECT_ROOT / "worker.py")]),
    ]
    if config.smtp_url is None:
        commands.append(ChildCommand("sink", [sys.executable, "-m", "helpdesk.cli", "sink"]))
    # Mail delivered straight to us (and bounces to the campaigns' VERP addresses).
    commands.append(ChildCommand("gateway", [sys.executable, "-m", "helpdesk.cli", "smtpd"]))
    if _has_imap_mailboxes(config):
        commands.append(
            ChildCommand("poller", [sys.executable, "-m", "helpdesk.cli", "poll", "--watch"])
        )
    return commands


def _has_imap_mailboxes(config: Config) -> bool:
    from helpdesk.mail.imap import active_imap_mailbox_ids

    with _session(config) as session:
        return bool(active_imap_mailbox_ids(session))


@dataclass
class Supervisor:
    """Starts child processes and stops them all together."""

    children: dict[str, subprocess.Popen] = field(default_factory=dict)
    redis: subprocess.Popen | None = None
    stop_signals: int = 0

    def request_stop(self, signum, _frame) -> None:
        self.stop_signals += 1

    def start(self, command: ChildCommand) -> None:
        # Own process group: Ctrl-C reaches only this supervisor, so each child gets
        # exactly one SIGTERM from it (a second signal makes RQ abandon a running job).
        self.children[command.name] = subprocess.Popen(
            command.argv,
            process_group=0,
            # If `helpdesk run` itself is killed, the child gets SIGTERM instead of living on.
            preexec_fn=stop_with_parent,
        )

    def wait_until_ready(self, checks: list[Callable[[], bool]], timeout: float = 60.0) -> None:
        """Returns once every check passes (or a child died, or a stop was asked for), so
        what is printed next comes after the children's start-up logs instead of
        scrolling away under them."""
        deadline = time.monotonic() + timeout
        waiting = list(checks)
        while waiting and time.monotonic() < deadline and not self.stop_signals:
            if any(process.poll() is not None for process in self.children.values()):
                return
            waiting = [check for check in waiting if not check()]
            if waiting:
                time.sleep(0.2)
        # The last start-up lines (gunicorn's second worker, RQ's scheduler) follow
        # the moment a child is ready.
        time.sleep(START_UP_SETTLE_SECONDS)

    def wait(self) -> int:
        """Block until a stop signal (exit 0) or a child's death (exit 1)."""
        while not self.stop_signals:
            for name, process in self.children.items():
                if process.poll() is not None:
                    click.echo(
                        f"{name} exited unexpectedly with code {process.returncode}; "
                        "stopping the others.",
                        err=True,
                    )
                    return 1
            time.sleep(0.2)
        return 0

    def stop_all(self) -> None:
        processes = list(self.children.values())
        _terminate(processes, self)
        if self.redis is not None:
            # Redis goes last: workers write their final state to it while stopping.
            _terminate([self.redis], self)


def _terminate(processes: list[subprocess.Popen], supervisor: Supervisor) -> None:
    signals_seen = supervisor.stop_signals
    # Taken before the children exit, when their own children are still theirs: an RQ work
    # horse lives in a process group of its own, so killing the worker's group misses it.
    families = {process.pid: descendants(process.pid) for process in processes}
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        # Another Ctrl-C while stopping means "now": skip the grace period.
        while process.poll() is None and time.monotonic() < deadline:
            if supervisor.stop_signals > signals_seen:
                break
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()
        process.wait()
        _kill_leftovers(process.pid, families[process.pid])


def _kill_leftovers(group_id: int, family: dict[int, str]) -> None:
    """Kill what a child left behind, in its process group (say, the RQ scheduler of a
    killed worker) or below it in a group of its own (a work horse still busy), so no
    process outlives `helpdesk run`."""
    deadline = time.monotonic() + 5
    for pid in family:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with suppress(ProcessLookupError):
        os.killpg(group_id, signal.SIGKILL)
        while time.monotonic() < deadline:
            os.killpg(group_id, 0)  # raises once the last of them is gone
            time.sleep(0.05)


def run_service(config: Config) -> int:
    supervisor = Supervisor()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, supervisor.request_stop)
    try:
        if config.uses_embedded_redis:
            try:
                supervisor.redis = embedded_redis.start(
                    config.instance_path, config.embedded_redis_socket
                )
            except RuntimeError as exc:
                _fail(str(exc), code=1)
        _migrate(config)
        admin_login = _load_demo_on_first_start(config)
        _take_in_mail_left_unprocessed(config)
        for command in child_commands(config):
            if supervisor.stop_signals:
                return 0
            supervisor.start(command)
        supervisor.wait_until_ready(_readiness_checks(config, supervisor))
        click.echo(_urls_line(config))
        if admin_login is not None:
            click.echo(_admin_login_box(config, *admin_login))
        return supervisor.wait()
    finally:
        supervisor.stop_all()
        click.echo("Helpdesk stopped.")


def _load_demo_on_first_start(config: Config) -> tuple[str, str] | None:
    """The demo admin's email and password on the first start; None on later starts."""
    with _session(config) as session:
        if _has_users(session):
            return None
        result = load_demo(session, IngestSettings.from_config(config))
    click.echo(f"First start: demo data loaded ({result.customer_count} customers).")
    return result.admin_email, result.admin_password


def _readiness_checks(config: Config, supervisor: Supervisor) -> list[Callable[[], bool]]:
    """What shows that each child is up: its port answers, or the worker is registered."""
    host = _local_host(config)
    checks = [lambda: _web_answers(f"http://{host}:{config.port}/login")]
    if "sink" in supervisor.children:
        checks.append(lambda: _port_open(reachable_host(config.sink_host), config.sink_port))
    checks.append(lambda: _port_open(reachable_host(config.smtpd_host), config.smtpd_port))
    worker = supervisor.children["worker"]
    checks.append(lambda: _worker_registered(config, worker.pid))
    return checks


def _web_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _port_open(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def _worker_registered(config: Config, pid: int) -> bool:
    try:
        return any(w.pid == pid for w in Worker.all(connection=redis_connection(config)))
    except RedisError:
        return False


def _admin_login_box(config: Config, email: str, password: str) -> str:
    # The only place this password ever appears: it is not logged or stored in clear.
    lines = [
        "Admin login (shown only this once)",
        f"  email:    {email}",
        f"  password: {password}",
        f"Sign in at {config.public_url}/login",
    ]
    width = max(66, max(len(line) for line in lines) + 4)
    edge = "+" + "=" * (width - 2) + "+"
    body = [f"|  {line.ljust(width - 5)}|" for line in lines]
    return click.style("\n".join(["", edge, *body, edge, ""]), bold=True)


def _take_in_mail_left_unprocessed(config: Config) -> None:
    from helpdesk.inbound.ingest import recover_unprocessed

    recovered = recover_unprocessed(config)
    if recovered:
        click.echo(f"Took in {recovered} received messages a crash had left unprocessed.")


def _local_host(config: Config) -> str:
    return reachable_host(config.host)


def _urls_line(config: Config) -> str:
    base = f"http://{_local_host(config)}:{config.port}"
    outbox = f", outbox {base}/admin/outbox" if config.smtp_url is None else ""
    gateway = f", mail in at smtp://{config.smtpd_host}:{config.smtpd_port}"
    return f"Helpdesk is running: web UI {base}/{outbox}{gateway} (Ctrl-C stops it)"


if __name__ == "__main__":
    main()
