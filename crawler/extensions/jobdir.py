"""Scrapy's JOBDIR, kept only to continue the run that paused cleanly with it.

``--jobdir`` (Scrapy's JOBDIR) can only make a crawl faster, never worse: its request
queue is written only when a run is paused cleanly (one Ctrl-C, SIGTERM), while its list
of requests already seen is written as it goes. After ``kill -9`` the list says "seen"
for requests whose queue is gone, and a resume would fetch nothing. So the saved state is
used only to continue the very run that paused cleanly with it; in every other case it
is discarded and the archive decides what is left (:mod:`crawler.scheduling.frontier`).

A disk that fills up (or a JOBDIR that can no longer be written) under a crawl stops it
as a full disk at the archive does: one line, in the stats for ``nianbao crawl`` to say,
and exit status 1. Scrapy would raise from every request it then tries to queue, and
go on losing them. :class:`JobdirScheduler` keeps the requests in memory from then on
and stops the crawl; the state left in the directory is incomplete, so no pause mark is
written and the next crawl discards it — the archive says what is left to fetch.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
from contextlib import suppress
from pathlib import Path

from scrapy import Request, signals
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.store import storage_error
from archive.store.runs import last_run
from crawler.pipelines import stop_for_storage
from crawler.scheduling.frontier import frontier_for

logger = logging.getLogger(__name__)

PAUSE_MARK = "nianbao-paused.json"
SPIDER_STATE = "spider.state"
# What Scrapy keeps in a JOBDIR: the seen list, the request queue, the spider's state.
_SCRAPY_STATE = ("requests.seen", "requests.queue", SPIDER_STATE)


def jobdir_failed(crawler: Crawler, jobdir: str | Path, exc: OSError, closing: bool = False):
    """Stop the crawl for an error writing the JOBDIR that is the operator's (a full disk,
    a directory no longer writable); re-raise any other (a bug keeps its traceback)."""
    error = storage_error(f"the --jobdir {jobdir}", exc)
    if error is None:
        raise exc
    stop_for_storage(crawler, error, closing)


class JobdirScheduler(Scheduler):
    """Scrapy's scheduler, for a JOBDIR that may fail to be written.

    When writing a request to the disk queue, or its fingerprint to the seen list, fails
    for a full disk, the crawl stops (:func:`jobdir_failed`) and the scheduler carries on
    in memory only: the request that failed is queued there, the seen list stays in
    memory, and the disk queue — which may now end in half a request — is read no more.
    The requests it held are the archive's to find again (the run is not paused cleanly).
    """

    jobdir_broken = False

    def enqueue_request(self, request: Request) -> bool:
        try:
            return super().enqueue_request(request)
        except OSError as exc:
            self._broken(exc)
        # Refused by the disk: the dupefilter has noted it (in memory), the disk queue
        # has not taken it. It waits in memory, with the requests that follow.
        self._mqpush(request)
        assert self.stats is not None
        self.stats.inc_value("scheduler/enqueued/memory")
        self.stats.inc_value("scheduler/enqueued")
        return True

    def _dqpush(self, request: Request) -> bool:
        return False if self.jobdir_broken else super()._dqpush(request)

    def _dqpop(self) -> Request | None:
        return None if self.jobdir_broken else super()._dqpop()

    def __len__(self) -> int:
        return len(self.mqs) if self.jobdir_broken else super().__len__()

    def close(self, reason: str):
        """Write the queue's state and close the seen list — or, after the disk failed,
        let them go quietly: what they hold is incomplete and will be discarded."""
        if self.dqs is not None:
            try:
                state = self.dqs.close()
                if not self.jobdir_broken:
                    assert isinstance(self.dqdir, str)
                    self._write_dqs_state(self.dqdir, state)
            except OSError as exc:
                self._broken(exc, closing=True)
        try:
            return self.df.close(reason)
        except OSError as exc:
            self._broken(exc, closing=True)
        return None

    def _broken(self, exc: OSError, closing: bool = False) -> None:
        assert self.crawler is not None
        jobdir_failed(self.crawler, self.crawler.settings["JOBDIR"], exc, closing)
        self.jobdir_broken = True
        seen = getattr(self.df, "file", None)
        if seen is not None:  # the seen list: kept in memory only, its file let go
            self.df.file = None  # type: ignore[attr-defined]
            with suppress(OSError):  # what it had not written is lost with the rest
                seen.close()


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
        """The spider's state (Scrapy's ``spider.state``) as it was saved; without the
        walk from the start pages, the sites' moves come from the archive."""
        state = self.jobdir / SPIDER_STATE
        spider.state = pickle.loads(state.read_bytes()) if state.exists() else {}  # noqa: S301 (written by the crawl)
        if self.kept and hasattr(spider, "moved_to"):
            for site_id, hosts in frontier_for(self.crawler).moved_hosts().items():
                spider.moved_to.setdefault(site_id, set()).update(hosts)

    def closed(self, spider, reason: str) -> None:
        """After Scrapy wrote its queue (spider_closed comes after the scheduler closed):
        the spider's state, then the mark — only when all the state is there."""
        try:
            self.save_state(spider)
            if self._pausable(spider, reason):
                self.mark_paused(spider.run_id, reason)
        except OSError as exc:
            jobdir_failed(self.crawler, self.jobdir, exc, closing=True)

    def save_state(self, spider) -> None:
        """What Scrapy's SpiderState extension saves, whole or not at all."""
        self.jobdir.mkdir(parents=True, exist_ok=True)
        partial = self.jobdir / (SPIDER_STATE + ".part")
        partial.write_bytes(pickle.dumps(getattr(spider, "state", {}), protocol=4))
        os.replace(partial, self.jobdir / SPIDER_STATE)

    def _pausable(self, spider, reason: str) -> bool:
        """A run that stopped before its end, with every part of its state written."""
        stats = self.crawler.stats
        assert stats is not None
        failed = stats.get_value("nianbao/storage_error")
        return reason != "finished" and getattr(spider, "run_id", None) is not None and not failed

    def mark_paused(self, run_id: int, reason: str) -> None:
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
