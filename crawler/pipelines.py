"""The item pipeline that writes captures into the archive.

Captures are committed in batches (``NIANBAO_COMMIT_EVERY`` captures or
``NIANBAO_COMMIT_SECONDS``, whichever comes first), in the order they were stored: a
crawl killed at any moment loses at most the last batch, which the next crawl fetches
again, and the archive is never half-written (SQLite WAL). A fetch that brought
back bytes already stored (a 304, or the same body again) becomes a revisit record
without a body. The run — its outcome, Scrapy's stats and per-site counts — is
closed by :mod:`crawler.frontier` when the spider closes.
"""

from __future__ import annotations

from twisted.internet import task

from crawler.frontier import ArchiveFrontier, frontier_for


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
            self._committer = task.LoopingCall(self.frontier.commit, self.frontier.commit_seconds)
            self._committer.start(self.frontier.commit_seconds, now=False)

    def close_spider(self, spider=None):
        if getattr(self, "_committer", None) is not None and self._committer.running:
            self._committer.stop()

    def process_item(self, item, spider=None):
        capture = dict(item)
        self.frontier.store(capture)
        self.stats.inc_value("nianbao/captures_stored")
        if capture.get("revisit_of"):
            self.stats.inc_value("nianbao/not_modified")
        return {"url": item.get("url"), "status": item.get("status"), "role": item.get("role")}
