"""A crawl worker: the report spider fed with site groups leased from Redis.

``nianbao crawl --redis URL --worker --db SHARD`` runs :func:`run_worker`, one Scrapy
crawl of :class:`~crawler.distributed.spider.SiteWorkerSpider` into the worker's own
archive, its *shard*. The worker is made of:

* :mod:`crawler.distributed.leases` — the shared queue in Redis: site groups, leased,
  renewed, done, released;
* :mod:`crawler.distributed.spider` — the spider: claims groups, makes and follows
  their requests, renews its leases, marks groups done;
* :mod:`crawler.distributed.tracking` — the lease book: which requests belong to which
  lease, what is in flight, when a lease is settled, lost or released;
* :mod:`crawler.distributed.guards` — the duplicate filter, downloader middleware and
  download handler that keep requests to the leases held;
* :mod:`crawler.distributed.ledger` — the worker's records in its shard.

The shard keeps the crawl, the worker and every lease it held (``distributed_crawls``,
``crawl_workers``, ``crawl_leases``); ``nianbao merge`` brings shards together.
"""

from __future__ import annotations

import os
import socket

from crawler.distributed.leases import Crawl
from crawler.distributed.spider import SiteWorkerSpider


def worker_id() -> str:
    """This worker's name in Redis and in the archive: host, process and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(2).hex()}"


def run_worker(
    redis_url: str,
    crawl: Crawl,
    db: str,
    overrides: dict | None = None,
    sites_at_once: int = 8,
    wait: bool = True,
    max_idle: int = 0,
) -> dict:
    """Run one worker of ``crawl`` into the shard ``db`` until the crawl is done (or, with
    ``wait=False``, until no group is queued; or after ``max_idle`` seconds without work);
    returns Scrapy's stats."""
    from pathlib import Path

    from scrapy.crawler import CrawlerProcess

    from crawler.runner import crawl_settings

    settings = crawl_settings(db, None, overrides)
    settings.set("REDIS_URL", redis_url, priority="cmdline")
    settings.set(
        "REDIS_PARAMS",
        {"decode_responses": True, "socket_timeout": 10, "socket_connect_timeout": 10},
        priority="cmdline",
    )
    settings.set("MAX_IDLE_TIME_BEFORE_CLOSE", int(max_idle), priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SiteWorkerSpider)
    worker = worker_id()
    process.crawl(
        crawler,
        crawl=crawl,
        worker=worker,
        shard=str(Path(db).resolve()),
        sites_at_once=sites_at_once,
        wait=wait,
    )
    process.start()
    stats = crawler.stats.get_stats()
    stats["nianbao/worker"] = worker
    return stats
