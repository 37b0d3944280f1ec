"""The `nianbao` command as the tests run it, and "crawl this world into this archive".

Every test that runs the command in a child process — as an operator or a scheduler
would, so that exit statuses, stderr lines and signals are the real ones — goes through
:func:`nianbao`; every crawl of a simulated world through :func:`crawl`. The settings a
test crawl needs are named once here (:data:`FAST`, :func:`settings`).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

# The simulated web runs on this machine: no politeness delays, more connections per host,
# only warnings in Scrapy's log.
FAST = (
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s",
    "LOG_LEVEL=WARNING",
)


def settings(**values: object) -> list[str]:
    """Scrapy settings as ``-s NAME=VALUE`` options: ``settings(RETRY_TIMES=0)``."""
    options: list[str] = []
    for name, value in values.items():
        options += ["-s", f"{name}={value}"]
    return options


def command(*args: str | Path) -> list[str]:
    """``python -m nianbao …`` with this interpreter (for Popen, kills and signals)."""
    return [sys.executable, "-m", "nianbao", *map(str, args)]


def nianbao(
    *args: str | Path,
    ok: Iterable[int] | None = (0,),
    timeout: float = 300,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``nianbao ARGS`` in a child process; its exit status must be one of ``ok``
    (``ok=None``: any, for tests of failures), else the test fails with its stderr."""
    result = subprocess.run(
        command(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )
    if ok is not None and result.returncode not in tuple(ok):
        raise AssertionError(
            f"nianbao {' '.join(map(str, args))} exited {result.returncode}:\n"
            f"{result.stderr[-3000:]}"
        )
    return result


def crawl_args(
    sites_csv: str | Path, db: str | Path, *options: str, fast: bool = True
) -> list[str]:
    """The arguments of ``nianbao crawl`` for one registry into one archive."""
    return ["crawl", "--sites", str(sites_csv), "--db", str(db), *(FAST if fast else ()), *options]


def crawl(
    sites_csv: str | Path,
    db: str | Path,
    *options: str,
    fast: bool = True,
    ok: Iterable[int] | None = (0,),
    timeout: float = 300,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess:
    """Crawl the registry ``sites_csv`` (a simulated world's) into the archive ``db``:
    with :data:`FAST` unless ``fast=False``, then ``options`` (later ones win)."""
    return nianbao(*crawl_args(sites_csv, db, *options, fast=fast), ok=ok, timeout=timeout, cwd=cwd)
