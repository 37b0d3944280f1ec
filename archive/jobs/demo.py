"""``nianbao demo``: the whole pipeline on the bundled simulated government web.

The simulated web runs in its own process on 127.0.0.1; the crawl, the parse
stage and the checks run exactly as they do against real sites, only without
the politeness delays a local server does not need.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from archive.jobs.process import process_captures
from archive.store import Archive


def prepare_demo_db(db: str) -> None:
    """Start from an empty archive: replace a previous demo archive, never a real one."""
    if not os.path.exists(db):
        return
    with Archive(db) as archive:
        hosts = {
            urlsplit(r[0]).hostname or "" for r in archive.db.execute("select start_url from sites")
        }
    if any(not h.startswith("127.") for h in hosts):
        raise RuntimeError(
            f"{db} holds an archive of real sites; the demo will not touch it (choose another --db)"
        )
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def build_demo(db: str, workdir: Path, seed: int = 0) -> str:
    """Crawl the simulated web into a fresh ``db``, parse and check; return a summary line."""
    prepare_demo_db(db)
    from crawler.runner import LOCAL_WEB_SETTINGS, run_crawl
    from simweb.process import SimWeb

    with SimWeb(workdir, seed=seed) as web:
        stats = run_crawl(
            str(web.sites_csv), db, overrides={**LOCAL_WEB_SETTINGS, "LOG_LEVEL": "WARNING"}
        )
    if stats.get("finish_reason") != "finished":
        raise RuntimeError(f"the demo crawl ended with {stats.get('finish_reason')}")
    with Archive(db) as archive:
        summary = process_captures(archive)
        counts = archive.counts()
    return (
        f"demo archive {db}: {counts['captures']} captures, {counts['reports']} reports, "
        f"{counts['cells']} cells, {counts['findings']} findings "
        f"(parse stage: {summary.by_status})"
    )
