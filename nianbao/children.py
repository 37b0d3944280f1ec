"""Child processes that never outlive the job that started them.

``nianbao nightly`` runs its crawl as a child process. If the nightly process dies
— ``kill -9``, the OOM killer, a crashed interpreter — the child must not go on
writing to the archive while the next nightly run starts. Two guarantees:

* the child dies with its parent: it asks the kernel for a signal when its parent
  dies (Linux ``prctl(PR_SET_PDEATHSIG)``; elsewhere a thread that watches the
  parent's pid), and then sends itself SIGTERM, once, so Scrapy closes the run and
  records it. The kernel's notice is SIGHUP, not SIGTERM itself: it is sent again each
  time the child is handed to another thread of a dying multi-threaded parent, and a
  second SIGTERM makes Scrapy stop at once, without closing its run;
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
# What the kernel sends when the parent dies (possibly several times, see above).
_PARENT_DIED = signal.SIGHUP
_WATCH_SECONDS = 0.5


def spawn_child(cmd: list[str], keep_fds: tuple[int, ...] = (), **popen) -> subprocess.Popen:
    """Start ``cmd`` as a child that dies with this process and inherits ``keep_fds``."""
    env = dict(popen.pop("env", None) or os.environ)
    env[PARENT_ENV] = str(os.getpid())
    return subprocess.Popen(cmd, env=env, pass_fds=keep_fds, **popen)


def die_with_parent_if_asked(sig: int = signal.SIGTERM) -> None:
    """In a child started by :func:`spawn_child`: receive ``sig`` once when the parent dies."""
    wanted = os.environ.pop(PARENT_ENV, None)
    if not wanted or not wanted.isdigit():
        return
    parent = int(wanted)

    def parent_died(signum, frame) -> None:
        signal.signal(_PARENT_DIED, signal.SIG_IGN)  # later notices of the same death
        os.kill(os.getpid(), sig)

    signal.signal(_PARENT_DIED, parent_died)
    if not _set_pdeathsig(_PARENT_DIED):
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before we asked: follow it now
        os.kill(os.getpid(), _PARENT_DIED)


def _set_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    """Where the kernel cannot be asked: notice the parent is gone (we are re-parented)."""
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os.kill(os.getpid(), _PARENT_DIED)
