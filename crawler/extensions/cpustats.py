"""The crawl's own CPU time in its stats: what the pages cost, without starting Python.

``nianbao/cpu_seconds`` is the process's user + system CPU from the engine's start to
the spider's close; the crawl run keeps it with Scrapy's other stats (``crawl_runs.stats``),
so CPU per page can be compared across runs and sizes of crawls.
"""

from __future__ import annotations

import resource

from scrapy import signals
from scrapy.crawler import Crawler


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuTime:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.started = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CpuTime:
        ext = cls(crawler)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        # connected before the frontier's handler (extensions come first), which writes the
        # stats into the archive
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def engine_started(self) -> None:
        self.started = _cpu()

    def spider_closed(self) -> None:
        self.crawler.stats.set_value("nianbao/cpu_seconds", round(_cpu() - self.started, 3))
