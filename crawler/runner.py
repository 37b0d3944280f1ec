"""Running the report spider from Python (what ``nianbao crawl`` does).

Settings come from :mod:`crawler.settings` whatever the working directory, plus
the caller's overrides (the demo turns the politeness delays off for its local
simulated web; an operator may set any Scrapy setting with ``-s``).
"""

from __future__ import annotations

from collections.abc import Callable

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler import BUNDLED_REGISTRY

__all__ = ["BUNDLED_REGISTRY", "LOCAL_WEB_SETTINGS", "crawl_settings", "run_crawl"]

# For a web that runs on this machine (the demo, the tests): no need to be gentle.
LOCAL_WEB_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "RETRY_TIMES": 1,
    "DOWNLOAD_TIMEOUT": 20,
}


def crawl_settings(db: str, jobdir: str | None = None, overrides: dict | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("NIANBAO_DB", db, priority="cmdline")
    if jobdir:
        settings.set("JOBDIR", jobdir, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


# How often a caller's ``on_stats`` hears how the crawl stands.
STATS_EVERY_SECONDS = 0.5


def run_crawl(
    sites_csv: str,
    db: str,
    jobdir: str | None = None,
    overrides: dict | None = None,
    on_stats: Callable[[dict], None] | None = None,
) -> dict:
    """Crawl every site of the registry into the archive; returns Scrapy's stats.

    ``on_stats`` (for progress displays) is called with Scrapy's stats as they stand,
    in the reactor's thread, every half second and once at the end."""
    from crawler.scheduling.frontier import close_unfinished
    from crawler.spiders.reports import ReportSpider

    process = CrawlerProcess(crawl_settings(db, jobdir, overrides))
    crawler = process.create_crawler(ReportSpider)
    process.crawl(crawler, sites=sites_csv)

    def stats_now() -> dict:
        stats = getattr(crawler, "stats", None)
        return stats.get_stats() if stats is not None else {}

    if on_stats is not None:
        from twisted.internet import task  # after CrawlerProcess installed its reactor

        task.LoopingCall(lambda: on_stats(stats_now())).start(STATS_EVERY_SECONDS, now=False)
    process.start()
    close_unfinished(crawler)
    if on_stats is not None:
        on_stats(stats_now())
    return stats_now()
