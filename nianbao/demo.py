"""``nianbao demo``: the whole pipeline on the bundled simulated government web.

The simulated web runs in its own process on 127.0.0.1; the crawl, the parse
stage and the checks run exactly as they do against real sites, only without
the politeness delays a local server does not need. Among its generated reports
it serves real published ones (``simweb/corpus``, shipped in the package); the
summary says how many of each it served and how many the archive holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from archive.store import Archive
from nianbao.process import process_captures


@dataclass
class DemoSummary:
    db: str
    real_served: int
    generated_served: int
    archive: dict[str, int]
    by_status: dict[str, int] = field(default_factory=dict)
    real_archived: int = 0

    @property
    def served(self) -> int:
        return self.real_served + self.generated_served

    def line(self) -> str:
        real = f"{self.real_served} real" + (
            "" if self.real_served else " (the package's simweb/corpus is missing)"
        )
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items()))
        return (
            f"demo archive {self.db}: the simulated web served {self.served} reports "
            f"({real}, {self.generated_served} generated); archived "
            f"{self.archive['reports']} reports ({self.real_archived} real), "
            f"{self.archive['captures']} captures, {self.archive['cells']} cells, "
            f"{self.archive['findings']} findings (parse stage: {statuses})"
        )


def prepare_demo_db(db: str) -> None:
    """Start from an empty archive: replace a previous demo archive, never a real one."""
    if not os.path.exists(db):
        return
    with Archive(db) as archive:
        hosts = {urlsplit(url).hostname or "" for url in archive.start_urls()}
    if any(not h.startswith("127.") for h in hosts):
        raise RuntimeError(
            f"{db} holds an archive of real sites; the demo will not touch it (choose another --db)"
        )
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def build_demo(db: str, workdir: Path, seed: int = 0, progress=None) -> DemoSummary:
    """Crawl the simulated web into a fresh ``db``, parse and check; return what it holds.

    ``progress`` is an :class:`nianbao.progress.Progress` (none: silent)."""
    from nianbao.progress import Progress

    progress = progress or Progress("demo", "quiet")
    prepare_demo_db(db)
    from crawler.runner import LOCAL_WEB_SETTINGS, run_crawl
    from simweb.process import SimWeb

    with SimWeb(workdir, seed=seed) as web:
        served = web.truth["reports"]
        real_sources = {r["source"] for r in served if r.get("corpus")}
        with progress.stage("crawl") as update:
            stats = run_crawl(
                str(web.sites_csv),
                db,
                overrides={**LOCAL_WEB_SETTINGS, "LOG_LEVEL": "WARNING"},
                on_stats=lambda s: update(
                    s.get("response_received_count", 0),
                    captures=s.get("nianbao/captures_stored", 0),
                ),
            )
    if stats.get("finish_reason") != "finished":
        raise RuntimeError(f"the demo crawl ended with {stats.get('finish_reason')}")
    with Archive(db) as archive, progress.stage("parse") as update:
        parsed = process_captures(
            archive,
            progress=lambda done, total: update(done.captures, total, **done.by_status),
        )
        counts = archive.counts()
        real_archived = sum(1 for url in archive.report_urls() if url in real_sources)
    return DemoSummary(
        db=db,
        real_served=len(real_sources),
        generated_served=len(served) - len(real_sources),
        archive=counts,
        by_status=dict(parsed.by_status),
        real_archived=real_archived,
    )
