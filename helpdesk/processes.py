"""Tying a child process's life to its parent's, for the processes `helpdesk run` and
`worker.py` start."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

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
