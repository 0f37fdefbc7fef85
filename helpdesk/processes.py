"""Tying child processes' lives to their parents', for the processes `helpdesk run`,
`worker.py` and the poller start."""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading
from contextlib import suppress
from pathlib import Path

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def stop_with_parent(parent_pid: int | None = None) -> None:
    """Ask the kernel to send this process SIGTERM when its parent dies (kill -9, the OOM
    killer), so it never lives on unsupervised. Linux only; elsewhere a no-op.

    With `parent_pid`, a parent that died before the request took effect is noticed too.
    """
    if sys.platform != "linux":
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)


def stop_with(pid: int) -> None:
    """End this process (SIGTERM to itself) as soon as process `pid` ends, also when `pid`
    is not its parent: the poller's parse processes are children of multiprocessing's fork
    server, which lives on as long as they do when the poller is killed with -9.
    Where there are no process file descriptors (Linux before 5.3), a no-op."""
    if not hasattr(os, "pidfd_open"):
        return
    try:
        watched = os.pidfd_open(pid)
    except ProcessLookupError:
        os.kill(os.getpid(), signal.SIGTERM)
        return
    except OSError:
        return

    def stop_when_it_ends() -> None:
        select.select([watched], [], [])  # readable once the process has ended
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_it_ends, name=f"stop-with-{pid}", daemon=True).start()


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid` (children, their children...) with its command line, read
    from /proc; empty where there is no /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: dict[int, str] = {}
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        with suppress(OSError):
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            found[child] = command.decode(errors="replace")
            pending.extend(children.get(child, []))
    return found
