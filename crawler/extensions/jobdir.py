"""Scrapy's JOBDIR, kept only to continue the run that paused cleanly with it.

``--jobdir`` (Scrapy's JOBDIR) can only make a crawl faster, never worse: its request
queue is written only when a run is paused cleanly (one Ctrl-C, SIGTERM), while its list
of requests already seen is written as it goes. After ``kill -9`` the list says "seen"
for requests whose queue is gone, and a resume would fetch nothing. So the saved state is
used only to continue the very run that paused cleanly with it; in every other case it
is discarded and the archive decides what is left (:mod:`crawler.scheduling.frontier`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.store.runs import last_run
from crawler.scheduling.frontier import frontier_for

logger = logging.getLogger(__name__)

PAUSE_MARK = "nianbao-paused.json"
# What Scrapy keeps in a JOBDIR: the seen list, the request queue, the spider's state.
_SCRAPY_STATE = ("requests.seen", "requests.queue", "spider.state")


class JobdirGuard:
    """Scrapy's JOBDIR state is kept only to continue the run that paused cleanly with it.

    When a run stops cleanly with a JOBDIR (Scrapy has then written its queue), a mark
    naming the archive, the registry and the run is left in the directory. A new crawl
    keeps Scrapy's state only if the mark names this archive and registry, and that
    run is still the last one of the registry, stopped and not finished. Otherwise the
    state is discarded (after ``kill -9``: the queue was never written; after a finished
    run: every request is "seen"), and the crawl continues from the archive alone.
    """

    def __init__(self, crawler: Crawler, jobdir: Path):
        self.crawler = crawler
        self.jobdir = jobdir
        spider = crawler.spider
        self.db = str(Path(crawler.settings.get("NIANBAO_DB")).resolve())
        self.sites_csv = getattr(spider, "sites_csv", None)
        mark = self.jobdir / PAUSE_MARK
        self.kept = paused_cleanly(mark, self.db, self.sites_csv)
        if not self.kept:
            discard_scrapy_state(self.jobdir)
        mark.unlink(missing_ok=True)  # the state is being used: a second kill discards it
        logger.info(
            "JOBDIR %s: %s",
            jobdir,
            "continuing the run paused with it"
            if self.kept
            else "no cleanly paused run to continue; the archive says what is left",
        )
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler):
        jobdir = crawler.settings.get("JOBDIR")
        if not jobdir:
            raise NotConfigured
        return cls(crawler, Path(jobdir))

    def opened(self, spider) -> None:
        """Without the walk from the start pages, the sites' moves come from the archive."""
        if self.kept and hasattr(spider, "moved_to"):
            for site_id, hosts in frontier_for(self.crawler).moved_hosts().items():
                spider.moved_to.setdefault(site_id, set()).update(hosts)

    def closed(self, spider, reason: str) -> None:
        """After Scrapy wrote its queue (spider_closed comes after the scheduler closed)."""
        run_id = getattr(spider, "run_id", None)
        if reason == "finished" or run_id is None:
            return
        self.jobdir.mkdir(parents=True, exist_ok=True)
        mark = {"db": self.db, "sites_csv": self.sites_csv, "run_id": run_id, "reason": reason}
        partial = self.jobdir / (PAUSE_MARK + ".part")
        partial.write_text(json.dumps(mark), encoding="utf-8")
        os.replace(partial, self.jobdir / PAUSE_MARK)


def paused_cleanly(mark: Path, db: str, sites_csv: str | None) -> bool:
    """Does the mark name the last run of ``sites_csv`` in ``db``, stopped cleanly?"""
    try:
        paused = json.loads(mark.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    if paused.get("db") != db or paused.get("sites_csv") != sites_csv or not Path(db).is_file():
        return False
    run = last_run(db, sites_csv)
    return bool(run and run[0] == paused.get("run_id") and (run[1] or "").startswith("stopped"))


def discard_scrapy_state(jobdir: Path) -> None:
    for name in _SCRAPY_STATE:
        path = jobdir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
