"""A throwaway Dovecot IMAP server for tests and benchmarks.

Runs `dovecot -F` with a config in a temporary directory: plaintext auth on
127.0.0.1, any user name with one static password, and a fresh Maildir per user,
so every test can take an empty mailbox by picking a new user name.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = os.environ.get("TEST_DOVECOT", "/usr/sbin/dovecot")
PASSWORD = "imap-test-password"

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{root}/mail/%u/Maildir
mailbox_list_index = yes
protocol imap {{
  mail_max_userip_connections = 100
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def dovecot_available() -> bool:
    return Path(DOVECOT).exists() or shutil.which(DOVECOT) is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DovecotServer:
    """A running server; `account()` hands out a fresh, empty user."""

    root: Path
    host: str
    port: int
    process: subprocess.Popen | None = None

    password: str = PASSWORD

    def start(self, timeout: float = 15.0) -> DovecotServer:
        uid, gid = os.getuid(), os.getgid()
        login_user = pwd.getpwuid(uid).pw_name
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        if uid == 0:
            # Dovecot refuses root for both the pre-login and the mail processes.
            login_user = "dovenull"
            uid, gid = pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid
            self.root.chmod(0o711)
            os.chown(self.root / "mail", uid, gid)
        config = _CONFIG.format(
            root=self.root,
            port=self.port,
            password=self.password,
            uid=uid,
            gid=gid,
            user=pwd.getpwuid(os.getuid()).pw_name,
            group=grp.getgrgid(os.getgid()).gr_name,
            login_user=login_user,
        )
        conf = self.root / "dovecot.conf"
        conf.write_text(config)
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def account(self, prefix: str = "user") -> ImapAccount:
        return ImapAccount(self, f"{prefix}-{uuid.uuid4().hex[:10]}")


@dataclass
class ImapAccount:
    """One user's mailboxes, with the helpers tests need to set up a scenario."""

    server: DovecotServer
    user: str

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def password(self) -> str:
        return self.server.password

    def connect(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        return client

    def append(self, *messages: bytes, folder: str = "INBOX", flags=()) -> list[int]:
        """Deliver messages; returns their UIDs (Dovecot answers APPENDUID, RFC 4315)."""
        uids = []
        with self.connect() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for message in messages:
                response = client.append(folder, message, flags=flags)
                uids.append(int(response.split(b"]")[0].split()[-1]))
        return uids

    def append_many(self, messages, folder: str = "INBOX") -> None:
        """Bulk delivery for benchmarks: one connection, MULTIAPPEND where offered."""
        with self.connect() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            batch = []
            for message in messages:
                batch.append(message)
                if len(batch) == 200:
                    client.multiappend(folder, batch)
                    batch = []
            if batch:
                client.multiappend(folder, batch)

    def flags(self, folder: str = "INBOX") -> dict[int, set[bytes]]:
        with self.connect() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search()
            fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
            return {uid: set(data[b"FLAGS"]) for uid, data in fetched.items()}

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self.connect() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            return sorted(client.search())

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.connect() as client:
            return client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]

    def recreate_folder(self, folder: str, first: list[bytes] = ()) -> int:
        """Delete and recreate a folder with `first`, then the same messages again: a new
        UIDVALIDITY and new UIDs, as after a server migration (RFC 3501 2.3.1.1).
        Returns the new UIDVALIDITY."""
        with self.connect() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search()
            bodies = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            client.close_folder()
            client.delete_folder(folder)
            client.create_folder(folder)
            for message in first:
                client.append(folder, message)
            for uid in sorted(bodies):
                client.append(folder, bodies[uid][b"BODY[]"])
            return client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]


def start_dovecot(root: Path) -> DovecotServer:
    return DovecotServer(root=root, host="127.0.0.1", port=_free_port()).start()
