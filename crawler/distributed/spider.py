"""The worker spider: the report spider, crawling the site groups it leases from Redis.

scrapy-redis's :class:`~scrapy_redis.spiders.RedisMixin` feeds it from Redis and keeps an
idle worker waiting for work; :mod:`crawler.distributed.leases` makes what it takes a
*lease* on a group of sites. Within a group the crawl is the single-process crawl — the
same callbacks, middlewares and pipeline — so politeness per host holds across machines:
one worker at a time has a host.

The spider is the Scrapy side of the worker: it claims groups, makes their requests,
runs their callbacks inside a *chain* (a redirect or retry continues its request's
chain), and hears Scrapy's signals. What is in flight and when a lease is done is the
:class:`~crawler.distributed.tracking.LeaseBook`'s account; the spider tells it what
happens, and acts when it answers: a settled group is marked done in Redis and another
claimed at once; the heartbeat renews the leases held and gives up the lost ones; a
group given up leaves no failure records behind (its requests are dropped silently; the
next holder crawls the group again). Each lease and its end is written in the shard
(:class:`~crawler.distributed.ledger.ShardLedger`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import redis
import scrapy
from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.spiders import RedisMixin
from twisted.internet import task

from crawler.distributed import guards
from crawler.distributed.guards import LEASE, LeaseLost, lease_of
from crawler.distributed.leases import Claim, Crawl, SiteQueue, redacted, site_hosts
from crawler.distributed.ledger import ShardLedger
from crawler.distributed.tracking import Lease, LeaseBook
from crawler.scheduling.frontier import frontier_for
from crawler.scope import CrawlScope
from crawler.spiders.reports import ReportSpider

logger = logging.getLogger(__name__)

# The request meta keys of a request's chain (a redirect or a retry continues it) and of
# the spider's own callback and errback, run inside the chain.
CHAIN = "nianbao_chain"
CALLBACKS = "nianbao_callbacks"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SiteWorkerSpider(RedisMixin, ReportSpider):
    """The report spider, crawling the site groups it leases from Redis."""

    name = "reports-worker"
    custom_settings = {
        "DUPEFILTER_CLASS": "crawler.distributed.guards.LeaseDupeFilter",
        "DOWNLOADER_MIDDLEWARES": {"crawler.distributed.guards.LeaseGuardMiddleware": 45},
        "DOWNLOAD_HANDLERS": {
            "http": "crawler.distributed.guards.LeaseCheckedDownloadHandler",
            "https": "crawler.distributed.guards.LeaseCheckedDownloadHandler",
        },
    }
    book: LeaseBook  # made in from_crawler, which knows the download timeout

    def __init__(
        self,
        crawl: Crawl,
        worker: str,
        shard: str,
        sites_at_once: int = 8,
        wait: bool = True,
        *args,
        **kwargs,
    ):
        # ReportSpider.__init__ reads a registry file; a worker's sites come from Redis.
        scrapy.Spider.__init__(self, *args, **kwargs)
        self.crawl = crawl
        self.worker = worker
        self.shard = shard
        self.sites_at_once = max(1, int(sites_at_once))
        self.wait_for_work = wait
        self.sites: list[dict] = []
        self.sites_csv = f"redis:{crawl.prefix}:{crawl.id}"
        self.scope = CrawlScope()  # each leased site's scope is made from its row
        self.units: dict[str, dict] = {}  # the units of the leased rows' 年报 trees
        self.redis_key = crawl.key("queue")
        self.closing = False
        self.replaced = False
        self.redis_down_since: float | None = None
        self.ledger: ShardLedger | None = None
        self.beat: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.setup_redis(crawler)
        spider.queue = SiteQueue(spider.server, spider.crawl.prefix)
        spider.fetch_data = spider.claim_groups  # scrapy-redis pops its data; we lease it
        spider.book = LeaseBook(
            spider.crawl.lease_ttl,
            crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180),
            on_end=spider.lease_ended,
        )
        guards.attach(crawler, spider.book)
        hook = crawler.signals.connect
        hook(spider.on_scheduled, signal=signals.request_scheduled)
        hook(spider.on_dropped, signal=signals.request_dropped)
        hook(spider.on_item_done, signal=signals.item_scraped)
        hook(spider.on_item_done, signal=signals.item_dropped)
        hook(spider.on_item_done, signal=signals.item_error)
        hook(spider.on_opened, signal=signals.spider_opened)
        hook(spider.on_closed, signal=signals.spider_closed)
        return spider

    # -- claiming ------------------------------------------------------------------------
    def claim_groups(self, redis_key: str, batch_size: int) -> list[Claim]:
        """scrapy-redis's ``fetch_data``: lease as many groups as there is room for."""
        room = self.sites_at_once - len(self.book.active)
        if self.closing or self.replaced or room <= 0:
            return []
        try:
            claims = self.queue.claim(self.crawl, self.worker, room)
        except redis.RedisError as exc:
            self._redis_failed(exc)
            return []
        if claims:
            self.spider_idle_start_time = int(time.time())  # scrapy-redis's idle clock
        return claims

    def make_request_from_data(self, data: Claim) -> list[Request]:
        """The start requests of a leased group, each site's dict naming the lease."""
        claim = data
        frontier = frontier_for(self.crawler)
        frontier.archive.load_sites(claim.sites)  # captures reference their site
        frontier.site_ids.extend(
            s["site_id"] for s in claim.sites if s["site_id"] not in frontier.site_ids
        )
        lease = self.hold(claim)
        self._ledger().claimed(lease, frontier.run_id)
        logger.info(
            "leased site group %s (attempt %d): %s",
            claim.group,
            claim.attempt,
            ", ".join(s["site_id"] for s in claim.sites),
        )
        requests = [
            self.request(
                s["start_url"], {**s, LEASE: claim.token}, "start", self.parse_page, hops=0
            )
            for s in claim.sites
        ]
        for request in requests:  # followed from now: Scrapy may take start requests late
            self._follow(request, lease)
        return requests

    def hold(self, claim: Claim) -> Lease:
        """Record a lease just claimed, and its group's hosts as under it."""
        hosts = {host for site in claim.sites for host in site_hosts(site)}
        lease = self.book.hold(claim, _now(), hosts)
        self._forget_refused_robots(hosts)
        return lease

    def _forget_refused_robots(self, hosts: set[str]) -> None:
        """A robots.txt refused under a lost lease leaves Scrapy treating the host as having
        none; a new lease of the host asks for it again instead of ignoring its rules."""
        engine = getattr(getattr(self, "crawler", None), "engine", None)
        downloader = getattr(engine, "downloader", None)
        for middleware in getattr(getattr(downloader, "middleware", None), "middlewares", ()):
            if isinstance(middleware, RobotsTxtMiddleware):
                for netloc, parser in list(middleware._parsers.items()):
                    if parser is None and netloc.rsplit(":", 1)[0].lower() in hosts:
                        del middleware._parsers[netloc]

    # -- following a group's requests ----------------------------------------------------
    def on_scheduled(self, request: Request, spider=None) -> None:
        lease = self.book.get(lease_of(request))
        if lease is None or CHAIN in request.meta:
            return  # not a group's request, or a redirect/retry continuing its chain
        self._follow(request, lease)

    def _follow(self, request: Request, lease: Lease) -> None:
        """Open the request's chain: its callback or errback, run through
        :meth:`tracked_callback` / :meth:`tracked_errback`, will close it. (One method for
        every request, not a closure each: Scrapy inspects each callback's source once.)"""
        request.meta[CHAIN] = self.book.open_chain(lease)
        request.meta[CALLBACKS] = (request.callback or self._parse, request.errback)
        request.callback = self.tracked_callback
        request.errback = self.tracked_errback

    def on_dropped(self, request: Request, spider=None) -> None:
        self._chain_ended(request)

    def on_item_done(self, item=None, response=None, spider=None, **kwargs) -> None:
        request = getattr(response, "request", None)
        if request is None:
            return
        stored = "exception" not in kwargs and "failure" not in kwargs
        self._settle(self.book.item_done(lease_of(request), stored))

    def tracked_callback(self, response, **kwargs):
        """A group's response: the spider's callback, its items counted."""
        request = response.request
        try:
            callback, _ = request.meta[CALLBACKS]
            yield from self._counted(request, callback(response, **kwargs))
        finally:
            self._chain_ended(request)

    def tracked_errback(self, failure):
        """A group's failed request: recorded by the spider's errback while the group is
        held; a group given up records nothing (the next holder crawls it)."""
        request = failure.request
        try:
            _, errback = request.meta[CALLBACKS]
            if failure.check(LeaseLost) or not self.book.holds(lease_of(request)):
                return
            if errback is None:  # logged as Scrapy would, nothing to store
                logger.error("fetch failed: %s: %s", request, failure.getErrorMessage())
                return
            yield from self._counted(request, errback(failure))
        finally:
            self._chain_ended(request)

    def _counted(self, request: Request, output):
        """The callback's output, each item counted until the pipeline has stored it."""
        token = lease_of(request)
        for value in _iterate(output):
            if value is not None and not isinstance(value, Request):
                self.book.item_yielded(token)
            yield value

    def _chain_ended(self, request: Request) -> None:
        self._settle(self.book.chain_ended(lease_of(request), request.meta.get(CHAIN)))

    def _settle(self, lease: Lease | None) -> None:
        """A lease the book says may be settled: checked again a tick later, so that
        whatever is being handed on right now lands first."""
        if lease is not None:
            from twisted.internet import reactor

            reactor.callLater(0, self._finish_if_settled, lease.token)  # type: ignore[arg-type]

    def _finish_if_settled(self, token: str) -> None:
        lease = self.book.get(token)
        if lease is not None and self.book.is_settled(lease):
            self._finish(lease)
            self.schedule_next_requests()

    # -- the ends of a lease -------------------------------------------------------------
    def _finish(self, lease: Lease) -> None:
        self.book.finish(lease)
        self.spider_idle_start_time = int(time.time())
        self._report_done(lease)

    def _report_done(self, lease: Lease) -> None:
        try:
            if not self.queue.complete(self.crawl, self.worker, lease.claim, lease_summary(lease)):
                logger.warning(
                    "site group %s: another worker holds it now (this lease had expired); "
                    "both crawls are in the shards and merge to one",
                    lease.claim.group,
                )
        except redis.RedisError as exc:
            self._redis_failed(exc)
            self.book.unreported.append(lease)

    def _release(self, lease: Lease, reason: str) -> None:
        """A clean stop gives the group back: to the queue as soon as no download of it can
        be under way (Redis unreachable: the lease expires by itself and is requeued)."""
        grace = self.book.release_grace(lease)
        self.book.give_up(lease, "released", reason)
        with contextlib.suppress(redis.RedisError):
            self.queue.release(self.crawl, self.worker, lease.claim, grace)

    def lease_ended(self, lease: Lease, reason: str | None) -> None:
        """The book's word that a lease ended — finished, or lost (taken over, or not
        renewed in time: it expires by itself, after the last download can have ended),
        or released: counted, written in the shard, logged."""
        self.crawler.stats.inc_value(f"nianbao/site_groups_{lease.state}")
        self._ledger().ended(lease, reason)
        if lease.state == "finished":
            logger.info("site group %s finished: %d captures", lease.claim.group, lease.captures)
        else:
            log = logger.info if lease.state == "released" else logger.warning
            log("site group %s %s: %s", lease.claim.group, lease.state, reason)

    # -- heartbeat -------------------------------------------------------------------------
    def on_opened(self, spider=None) -> None:
        frontier = frontier_for(self.crawler)
        try:
            registry = self.queue.registry(self.crawl)
        except redis.RedisError as exc:
            self._redis_failed(exc)
            registry = []
        self._ledger().joined(frontier.run_id, registry, self.shard)
        self.beat = task.LoopingCall(self.heartbeat)
        self.beat.start(max(0.2, self.crawl.lease_ttl / 6), now=False)

    def heartbeat(self) -> None:
        """Renew the leases held, hear about lost ones, report progress, claim more."""
        try:
            self._heartbeat()
        except Exception:  # noqa: BLE001 (a failed beat must not stop the next ones)
            logger.exception("worker heartbeat failed")

    def _heartbeat(self) -> None:
        if self.closing:
            return
        sent = self.book.clock()
        held = self.book.active
        try:
            lost = self.queue.renew(self.crawl, self.worker, [lease.claim for lease in held])
            while self.book.unreported:
                lease = self.book.unreported[0]
                self.queue.complete(self.crawl, self.worker, lease.claim, lease_summary(lease))
                self.book.unreported.pop(0)
            current = self.server.get(f"{self.crawl.prefix}:current")
            self.queue.report_worker(self.crawl, self.worker, self.progress())
        except redis.RedisError as exc:
            self._redis_failed(exc)
        else:
            if self.redis_down_since is not None:
                logger.warning("Redis answers again")
            self.redis_down_since = None
            self.book.renewed(held, lost, sent)
            if current != self.crawl.id and not self.replaced:
                self.replaced = True
                logger.warning(
                    "crawl %s was replaced by %s: finishing the groups held, claiming no more",
                    self.crawl.id,
                    current,
                )
            self.schedule_next_requests()
        self.book.expire()
        down = self.redis_down_since
        if down is not None and time.monotonic() - down > self.crawl.lease_ttl:
            self._stop("redis_unreachable")

    def progress(self) -> dict:
        stats = self.crawler.stats
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "shard": self.shard,
            "state": "stopping" if self.closing else "crawling",
            "leases": [lease.claim.group for lease in self.book.active],
            "groups": dict(self.book.ends),
            "captures": stats.get_value("nianbao/captures_stored", 0),
            "pages": stats.get_value("response_received_count", 0),
        }

    def _redis_failed(self, exc: Exception) -> None:
        if self.redis_down_since is None:
            self.redis_down_since = time.monotonic()
            logger.error(
                "Redis unreachable (%s): %s; downloads of the groups held stop when their "
                "leases could expire, the worker stops after %g s without Redis",
                redacted(self.settings.get("REDIS_URL", "")),
                exc,
                self.crawl.lease_ttl,
            )

    def _stop(self, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        engine = self.crawler.engine
        if hasattr(engine, "close_spider_async"):
            deferred_from_coro(engine.close_spider_async(reason=reason))
        else:  # Scrapy before 2.14
            engine.close_spider(self, reason)

    # -- idle and closing ------------------------------------------------------------------
    def spider_idle(self):
        """Nothing in flight: settle the groups held, claim more, wait or close."""
        try:
            for lease in self.book.active:  # an idle engine has nothing of them in flight
                if not lease.settled:
                    logger.warning(
                        "site group %s: %d requests and %d items unaccounted for when the "
                        "engine went idle; finished all the same",
                        lease.claim.group,
                        len(lease.chains),
                        lease.items,
                    )
                self._finish(lease)
            if self.closing:
                return
            done = self.queue.is_complete(self.crawl)
        except redis.RedisError as exc:
            self._redis_failed(exc)
            raise DontCloseSpider from None
        if self.replaced or done:
            logger.info(
                "crawl %s %s: the worker stops",
                self.crawl.id,
                "replaced" if self.replaced else "has no site group queued or leased",
            )
            return
        self.schedule_next_requests()
        if self.book.active:
            raise DontCloseSpider
        if not self.wait_for_work:
            logger.info("no site group queued for this worker (--no-wait): it stops")
            return
        try:
            return super().spider_idle()  # scrapy-redis: wait, or stop after max idle time
        except redis.RedisError as exc:
            self._redis_failed(exc)
            raise DontCloseSpider from None

    def on_closed(self, spider=None, reason: str = "") -> None:
        self.closing = True
        if self.beat is not None and self.beat.running:
            self.beat.stop()
        for lease in self.book.active:
            self._release(lease, f"the worker stopped ({reason})")
        with contextlib.suppress(redis.RedisError):
            self.queue.report_worker(self.crawl, self.worker, {**self.progress(), "state": reason})
        if self.ledger is not None:
            self.ledger.stopped(reason)
            self.ledger = None

    def _ledger(self) -> ShardLedger:
        if self.ledger is None:
            frontier = frontier_for(self.crawler)
            self.ledger = ShardLedger(
                self.settings.get("NIANBAO_DB"), self.crawl, self.worker, frontier.commit
            )
        return self.ledger


def lease_summary(lease: Lease) -> dict:
    return {"at": _now(), "captures": lease.captures}


def _iterate(output) -> Iterable:
    if output is None:
        return ()
    if isinstance(output, dict | scrapy.Item | Request):
        return (output,)
    return output
