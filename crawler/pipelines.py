"""The item pipeline that writes captures into the archive.

Captures are committed in batches (``NIANBAO_COMMIT_EVERY`` captures or
``NIANBAO_COMMIT_SECONDS``, whichever comes first), in the order they were stored: a
crawl killed at any moment loses at most the last batch, which the next crawl fetches
again, and the archive is never half-written (SQLite WAL). A fetch that brought
back bytes already stored (a 304, or the same body again) becomes a revisit record
without a body. The run — its outcome, Scrapy's stats and per-site counts — is
closed by :mod:`crawler.scheduling.frontier` when the spider closes.
"""

from __future__ import annotations

import logging
import sqlite3

from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from archive.store import ArchiveError, DiskFull, storage_error
from crawler.scheduling.frontier import ArchiveFrontier, frontier_for

logger = logging.getLogger(__name__)


class ArchivePipeline:
    def __init__(self, crawler, stats):
        self.crawler = crawler
        self.stats = stats
        self.frontier: ArchiveFrontier | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.stats)

    def open_spider(self, spider=None):
        self.frontier = frontier_for(self.crawler)
        spider = self.crawler.spider
        spider.run_id = self.frontier.run_id
        if self.frontier.resumed:
            spider.logger.info("continuing interrupted crawl run(s) %s", self.frontier.resumed)
        if self.frontier.commit_seconds > 0:  # a quiet crawl still commits what it stored
            self._committer = task.LoopingCall(self.commit_quiet_batch)
            self._committer.start(self.frontier.commit_seconds, now=False)

    def close_spider(self, spider=None):
        if getattr(self, "_committer", None) is not None and self._committer.running:
            self._committer.stop()

    def commit_quiet_batch(self) -> None:
        """The timer's commit of a batch older than ``NIANBAO_COMMIT_SECONDS``. A full disk
        here stops the crawl as it does at a store; any other error is logged and the
        timer goes on (an exception would end the timer, and the quiet crawl's commits
        with it)."""
        assert self.frontier is not None  # the timer starts after open_spider
        try:
            self.frontier.commit(self.frontier.commit_seconds)
        except sqlite3.Error as exc:
            if not self._stopped_for_full_disk(exc):
                known = storage_error(self.frontier.archive.path, exc)
                logger.error("could not commit the last captures: %s", known or exc)

    def process_item(self, item, spider=None):
        if self.frontier is None:
            raise RuntimeError("the archive pipeline got an item before open_spider")
        capture = dict(item)
        try:
            self.frontier.store(capture)
        except sqlite3.Error as exc:
            if not self._stopped_for_full_disk(exc):
                raise
            return {"url": item.get("url"), "stored": False}
        self.stats.inc_value("nianbao/captures_stored")
        if capture.get("revisit_of"):
            self.stats.inc_value("nianbao/not_modified")
        return {"url": item.get("url"), "status": item.get("status"), "role": item.get("role")}

    def _stopped_for_full_disk(self, exc: sqlite3.Error) -> bool:
        """Whether ``exc`` says the disk is full; if so, the crawl is stopped."""
        assert self.frontier is not None
        known = storage_error(self.frontier.archive.path, exc)
        if isinstance(known, DiskFull):
            self.stop(known)
            return True
        return False

    def stop(self, error: DiskFull) -> None:
        """A full disk: every further capture would be lost, so the crawl stops here (what
        is stored stays; the same command continues once there is space)."""
        stop_for_storage(self.crawler, error)


def stop_for_storage(crawler, error: ArchiveError, closing: bool = False) -> None:
    """A storage error (a full disk, a file that cannot be written) that loses what the
    crawl writes from now on: the first one goes into the stats, for the command to say
    in one line, and the crawl stops (unless it is ``closing`` already)."""
    stats = crawler.stats
    if stats.get_value("nianbao/storage_error"):
        return
    stats.set_value("nianbao/storage_error", str(error))
    logger.error("stopping the crawl: %s", error)
    if closing:
        return
    reason = "disk_full" if isinstance(error, DiskFull) else "storage_error"
    engine = crawler.engine
    if hasattr(engine, "close_spider_async"):
        deferred_from_coro(engine.close_spider_async(reason=reason))
    else:  # Scrapy before 2.14
        engine.close_spider(crawler.spider, reason)
