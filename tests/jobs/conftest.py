"""Fixtures of the jobs' tests: an archive of the simulated web, crawled once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s",
    "LOG_LEVEL=WARNING",
]


@pytest.fixture(scope="session")
def crawled(simweb, tmp_path_factory) -> Path:
    """An archive of the simulated web, crawled and not yet parsed (copy it to change it)."""
    db = tmp_path_factory.mktemp("crawled") / "archive.db"
    result = subprocess.run(
        [sys.executable, "-m", "nianbao", "crawl", "--sites", str(simweb.sites_csv)]
        + ["--db", str(db), *FAST],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return db


def copy_archive(db: Path, to: Path) -> Path:
    """A consistent copy of an archive (one SQLite transaction)."""
    to.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db)
    conn.execute("VACUUM INTO ?", [str(to)])
    conn.close()
    return to
