"""Mail fixtures: a real Dovecot IMAP server, and a mailbox row pointing at a fresh account."""

from __future__ import annotations

import contextlib
import re
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from helpdesk.mail.models import Mailbox, TLSMode
from tests.conftest import require_service
from tests.factories import make_mailbox
from tests.mail.dovecot import DOVECOT, dovecot_available, start_dovecot

IMAP_PASSWORD_ENV = "HELPDESK_TEST_IMAP_PASSWORD"


@pytest.fixture(scope="session")
def dovecot():
    """One server for the whole run; tests isolate themselves by taking a fresh account."""
    if not dovecot_available():
        require_service("Dovecot", f"{DOVECOT} is not installed (apt-get install dovecot-imapd)")
    with tempfile.TemporaryDirectory(prefix="dovecot-") as root:
        server = start_dovecot(Path(root))
        yield server
        server.stop()


@pytest.fixture
def imap_account(dovecot):
    return dovecot.account()


@pytest.fixture
def imap_password(imap_account, monkeypatch):
    """The mailbox reads its password from the environment, as in production."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, imap_account.password)
    return imap_account.password


@pytest.fixture
def imap_mailbox(session, imap_account, imap_password) -> Mailbox:
    return make_mailbox(
        session,
        imap_host=imap_account.host,
        imap_port=imap_account.port,
        imap_tls=TLSMode.none,
        imap_user=imap_account.user,
        password_ref=f"env:{IMAP_PASSWORD_ENV}",
        imap_folder="INBOX",
    )


class CuttingProxy:
    """A TCP proxy to the IMAP server that drops the connection after `limit` bytes
    from the server, the way a flaky network or a restarted server does mid-FETCH."""

    def __init__(self, upstream: tuple[str, int], limit: int):
        self.upstream = upstream
        self.limit = limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(server, client, self.limit), daemon=True
            ).start()

    def _pump(self, source: socket.socket, target: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(4096):
                if limit is not None and sent + len(data) > limit:
                    target.sendall(data[: limit - sent])
                    self.cuts += 1
                    break
                target.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def cutting_proxy(imap_account):
    proxies = []

    def make(limit: int) -> CuttingProxy:
        proxy = CuttingProxy((imap_account.host, imap_account.port), limit)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


# A FETCH of message bodies as imapclient sends it: `TAG UID FETCH 1:10 (BODY.PEEK[])`.
_BODY_FETCH = re.compile(rb"^(\S+) UID FETCH [^\r\n]*BODY\.PEEK\[\]", re.MULTILINE)


class WatchingProxy:
    """A TCP proxy to the IMAP server that follows the FETCHes of message bodies on its
    latest connection, and can stop forwarding in the middle of one's answer and hold it
    there: while `paused` is set, that client is waiting in the middle of a FETCH.

    `pause_in_fetch(n, offset)` arms it: once the connection has sent its n-th body FETCH
    (or a later one), the answer stops after `offset` bytes. An answer shorter than that
    passes, and the next FETCH is held instead.
    """

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.paused = threading.Event()
        self.latest: _WatchedConnection | None = None
        self._plan: tuple[int, int] | None = None
        self._plan_lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def pause_in_fetch(self, fetch_number: int, offset: int) -> None:
        with self._plan_lock:
            self._plan = (fetch_number, offset)
            self.paused.clear()

    def disarm(self) -> None:
        with self._plan_lock:
            self._plan = None
            self.paused.clear()

    def fetches_answered(self) -> int:
        latest = self.latest
        return 0 if latest is None else latest.fetches - (latest.tag is not None)

    def fetching(self) -> bool:
        """A body FETCH on the latest connection is waiting for the end of its answer."""
        latest = self.latest
        return latest is not None and latest.tag is not None and not latest.closed.is_set()

    def forget(self) -> None:
        self.latest = None

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.latest = _WatchedConnection(self, client, server)
            self.latest.start()

    def _pause_offset(self, fetches: int) -> int | None:
        with self._plan_lock:
            if self._plan is None or self.paused.is_set() or fetches < self._plan[0]:
                return None
            return self._plan[1]

    def close(self) -> None:
        self.listener.close()


class _WatchedConnection:
    def __init__(self, proxy: WatchingProxy, client: socket.socket, server: socket.socket):
        self.proxy, self.client, self.server = proxy, client, server
        self.fetches = 0
        self.tag: bytes | None = None  # of the body FETCH being answered
        self.answered = 0  # bytes of its answer forwarded so far
        self.closed = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._from_client, daemon=True).start()
        threading.Thread(target=self._from_server, daemon=True).start()

    def _from_client(self) -> None:
        with contextlib.suppress(OSError):
            while data := self.client.recv(65536):
                # Noted before the command is passed on, so before any answer comes back.
                for match in _BODY_FETCH.finditer(data):
                    self.tag, self.answered = match.group(1), 0
                    self.fetches += 1
                self.server.sendall(data)
        self._close()

    def _from_server(self) -> None:
        tail = b""
        with contextlib.suppress(OSError):
            while data := self.server.recv(65536):
                if self.tag is not None:
                    offset = self.proxy._pause_offset(self.fetches)
                    if offset is not None and self.answered + len(data) >= offset:
                        self.client.sendall(data[: max(0, offset - self.answered)])
                        self.proxy.paused.set()
                        self.closed.wait()  # held until the client goes away
                        break
                    self.answered += len(data)
                    if b"\r\n" + self.tag + b" " in tail + data:
                        self.tag = None
                    tail = data[-64:]
                self.client.sendall(data)
        self._close()

    def _close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def watching_proxy(imap_account):
    proxy = WatchingProxy((imap_account.host, imap_account.port))
    yield proxy
    proxy.close()
