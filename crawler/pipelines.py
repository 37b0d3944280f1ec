"""The item pipeline that writes captures into the archive.

One commit per capture: a crawl killed at any moment loses at most the response
in flight, and the archive is never half-written (SQLite WAL). The crawl run is
recorded with its outcome and Scrapy's stats.
"""

from __future__ import annotations

import os

from scrapy import signals

from archive.store import Archive


class ArchivePipeline:
    def __init__(self, db_path: str, stats, sites_csv: str | None = None):
        self.db_path = db_path
        self.stats = stats
        self.archive: Archive | None = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls(crawler.settings.get("NIANBAO_DB"), crawler.stats)
        # The run is closed on spider_closed, which (unlike close_spider) knows the reason.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider):
        self.archive = Archive(self.db_path)
        self.archive.load_sites(getattr(spider, "sites", []))
        self.run_id = self.archive.start_run(getattr(spider, "sites_csv", None), os.getpid())
        spider.run_id = self.run_id

    def process_item(self, item, spider):
        self.archive.add_capture({**dict(item), "run_id": self.run_id})
        self.stats.inc_value("nianbao/captures_stored")
        return {"url": item.get("url"), "status": item.get("status"), "role": item.get("role")}

    def spider_closed(self, spider, reason):
        if self.archive is None:
            return
        status = "finished" if reason == "finished" else f"stopped: {reason}"
        self.archive.finish_run(self.run_id, status, self.stats.get_stats())
        self.archive.close()
        self.archive = None
