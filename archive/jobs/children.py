"""Child processes that never outlive the job that started them.

``nianbao nightly`` runs its crawl as a child process. If the nightly process dies
— ``kill -9``, the OOM killer, a crashed interpreter — the child must not go on
writing to the archive while the next nightly run starts. Two guarantees:

* the child dies with its parent: it asks the kernel for a signal when its parent
  dies (Linux ``prctl(PR_SET_PDEATHSIG)``; elsewhere a thread that watches the
  parent's pid), and the signal is SIGTERM, so Scrapy closes the run and records it;
* the nightly lock is the child's too: the locked file descriptor is passed to the
  child, and a ``flock`` belongs to the open file, so the kernel holds the lock until
  the last process holding it — parent *or* child — has exited.

The parent names itself in the child's environment (``NIANBAO_PARENT_PID``); the
child calls :func:`die_with_parent_if_asked` first thing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time

PARENT_ENV = "NIANBAO_PARENT_PID"
_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 0.5


def spawn_child(cmd: list[str], keep_fds: tuple[int, ...] = (), **popen) -> subprocess.Popen:
    """Start ``cmd`` as a child that dies with this process and inherits ``keep_fds``."""
    env = dict(popen.pop("env", None) or os.environ)
    env[PARENT_ENV] = str(os.getpid())
    return subprocess.Popen(cmd, env=env, pass_fds=keep_fds, **popen)


def die_with_parent_if_asked(sig: int = signal.SIGTERM) -> None:
    """In a child started by :func:`spawn_child`: receive ``sig`` when the parent dies."""
    wanted = os.environ.pop(PARENT_ENV, None)
    if not wanted or not wanted.isdigit():
        return
    parent = int(wanted)
    if not _set_pdeathsig(sig):
        threading.Thread(target=_watch, args=(parent, sig), daemon=True).start()
    if os.getppid() != parent:  # the parent died before we asked: follow it now
        os.kill(os.getpid(), sig)


def _set_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, sig: int) -> None:
    """Where the kernel cannot be asked: notice the parent is gone (we are re-parented)."""
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os.kill(os.getpid(), sig)
