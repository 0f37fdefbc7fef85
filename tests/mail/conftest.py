"""Mail fixtures: a real Dovecot IMAP server, and a mailbox row pointing at a fresh account."""

from __future__ import annotations

import contextlib
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
