"""A crawl worker: the report spider fed with site groups leased from Redis.

``nianbao crawl --redis URL --worker --db SHARD`` runs :class:`SiteWorkerSpider`:
scrapy-redis's :class:`~scrapy_redis.spiders.RedisMixin` feeds it from Redis and keeps
an idle worker waiting for work; :mod:`crawler.distributed.leases` makes what it takes a *lease*
on a group of sites (the hosts they share). Within a group the crawl is the
single-process crawl — the same spider, middlewares and pipeline, writing to the
worker's own archive, its *shard* — so politeness per host holds across machines:
one worker at a time has a host.

What this module adds to Scrapy and scrapy-redis:

* a group is done when every request of its lease has been answered and its captures
  are committed: requests are followed as *chains* (a redirect or retry continues its
  request's chain) from ``request_scheduled`` to the end of their callback or errback,
  and items until the pipeline has stored them. Then the group is marked done in Redis
  and another is claimed at once; an idle engine settles whatever is left;
* the lease is renewed while the group is crawled; a worker that cannot renew stops
  *starting* downloads for the group one ``DOWNLOAD_TIMEOUT`` before the lease can
  expire (:class:`LeaseCheckedDownloadHandler`, the last step before the wire), so the
  next worker never meets a download of the last one on the host;
* a group given up (lease lost, clean stop) leaves no failure records behind: its
  requests are dropped silently; the next holder crawls the group again;
* duplicate filtering per lease, so a group leased again by the same worker is
  crawled again, not filtered out as seen.

What is in flight, and when a lease is settled, lost or released, is the account of a
:class:`~crawler.distributed.tracking.LeaseBook`: the spider tells it what happens, the
guards ask it whether a request may go.

The shard keeps the crawl, the worker and every lease it held (``distributed_crawls``,
``crawl_workers``, ``crawl_leases``); ``nianbao merge`` brings shards together.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import redis
import scrapy
from scrapy import signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.spiders import RedisMixin
from twisted.internet import task

from archive.store import Archive
from crawler.distributed.leases import Claim, Crawl, SiteQueue, redacted, site_hosts
from crawler.distributed.tracking import Lease, LeaseBook
from crawler.scheduling.frontier import frontier_for
from crawler.scope import CrawlScope
from crawler.spiders.reports import ReportSpider

logger = logging.getLogger(__name__)

# The key, in the site dict every request of a group carries, naming the lease.
LEASE = "nianbao_lease"
_BOOK = "_nianbao_lease_book"
# The request meta keys of a request's chain (a redirect or a retry continues it) and of
# the spider's own callback and errback, run inside the chain.
CHAIN = "nianbao_chain"
CALLBACKS = "nianbao_callbacks"


def lease_of(request: Request) -> str | None:
    site = request.meta.get("site")
    return site.get(LEASE) if isinstance(site, dict) else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def worker_id() -> str:
    """This worker's name in Redis and in the archive: host, process and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(2).hex()}"


class LeaseLost(IgnoreRequest):
    """The worker no longer holds the lease of the request's site group."""


def attach_book(crawler, book: LeaseBook) -> None:
    """Make ``book`` the crawler's: the leases its requests are checked against."""
    setattr(crawler, _BOOK, book)


def book_of(crawler) -> LeaseBook | None:
    return getattr(crawler, _BOOK, None)


def check_lease(book: LeaseBook | None, request: Request) -> None:
    """Raise :class:`LeaseLost` for a request whose lease (its group's, or its host's for
    robots.txt) may not start a download now."""
    if book is None:
        return
    token = book.token_for(lease_of(request), urlparse_cached(request).hostname or "")
    if not book.allows(token):
        raise LeaseLost(f"lease {token} no longer held")


class LeaseDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, one set of fingerprints per lease: the requests of a
    group leased a second time are not "seen" because its first lease made them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.by_lease: dict[str | None, set[bytes]] = {}

    def request_seen(self, request: Request) -> bool:
        seen = self.by_lease.setdefault(lease_of(request), set())
        fingerprint = self.fingerprinter.fingerprint(request)
        if fingerprint in seen:
            return True
        seen.add(fingerprint)
        return False


class LeaseCheckedDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP handler, refusing a download whose lease is not safely held.

    It is the last step before the wire: a request that waited in a slot's queue past
    its lease's safe deadline is dropped here, not sent."""

    async def download_request(self, request: Request) -> Response:
        check_lease(book_of(self._crawler), request)
        return await super().download_request(request)


class LeaseGuardMiddleware:
    """Drops a request of a lost lease before anything (robots.txt included) is asked."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        check_lease(book_of(self.crawler), request)
        return None


class ShardLedger:
    """The worker's records in its shard: the crawl, the worker, each lease and its end."""

    def __init__(
        self,
        db_path: str,
        crawl: Crawl,
        worker: str,
        before_write: Callable[[], None] = lambda: None,
    ):
        self.archive = Archive(db_path)
        # The crawl commits its captures in batches on its own connection: each record
        # here first commits that batch, so a lease is never written finished before the
        # captures it counts are durable (and the shard is never locked by an open batch).
        self.before_write = before_write
        # As the crawl's own writes (crawler/scheduling/frontier.py): atomic and safe against the
        # process being killed, without an fsync per record.
        self.archive.db.conn.execute("PRAGMA synchronous = NORMAL")
        self.crawl = crawl
        self.worker = worker

    @contextlib.contextmanager
    def _transaction(self):
        """One record, after the crawl's pending batch of captures is committed."""
        self.before_write()
        with self.archive.transaction():
            yield

    def joined(self, run_id: int, registry: list[dict], shard: str) -> None:
        conn = self.archive.db.conn
        with self._transaction():
            conn.execute(
                "INSERT INTO distributed_crawls (crawl_id, redis_prefix, sites_csv, enqueued_at, "
                "sites, site_groups, registry) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (crawl_id) DO NOTHING",
                [
                    self.crawl.id,
                    self.crawl.prefix,
                    self.crawl.sites_csv,
                    self.crawl.enqueued_at,
                    self.crawl.sites,
                    self.crawl.groups,
                    json.dumps(registry, ensure_ascii=False),
                ],
            )
            conn.execute(
                "INSERT INTO crawl_workers (worker, crawl_id, run_id, host, pid, shard, "
                "started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    self.worker,
                    self.crawl.id,
                    run_id,
                    socket.gethostname(),
                    os.getpid(),
                    shard,
                    _now(),
                ],
            )

    def claimed(self, lease: Lease, run_id: int) -> None:
        with self._transaction():
            self.archive.db.conn.execute(
                "INSERT OR REPLACE INTO crawl_leases (crawl_id, group_id, attempt, site_ids, "
                "worker, run_id, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    self.crawl.id,
                    lease.claim.group,
                    lease.claim.attempt,
                    json.dumps([s["site_id"] for s in lease.claim.sites]),
                    self.worker,
                    run_id,
                    lease.claimed_at,
                ],
            )

    def ended(self, lease: Lease, reason: str | None = None) -> None:
        with self._transaction():
            self.archive.db.conn.execute(
                "UPDATE crawl_leases SET ended_at = ?, outcome = ?, reason = ?, captures = ? "
                "WHERE crawl_id = ? AND group_id = ? AND attempt = ?",
                [
                    _now(),
                    lease.state,
                    reason,
                    lease.captures,
                    self.crawl.id,
                    lease.claim.group,
                    lease.claim.attempt,
                ],
            )

    def stopped(self, reason: str) -> None:
        with self._transaction():
            self.archive.db.conn.execute(
                "UPDATE crawl_workers SET stopped_at = ?, stop_reason = ? "
                "WHERE worker = ? AND crawl_id = ?",
                [_now(), reason, self.worker, self.crawl.id],
            )
        self.archive.close()


class SiteWorkerSpider(RedisMixin, ReportSpider):
    """The report spider, crawling the site groups it leases from Redis."""

    name = "reports-worker"
    custom_settings = {
        "DUPEFILTER_CLASS": "crawler.distributed.worker.LeaseDupeFilter",
        "DOWNLOADER_MIDDLEWARES": {"crawler.distributed.worker.LeaseGuardMiddleware": 45},
        "DOWNLOAD_HANDLERS": {
            "http": "crawler.distributed.worker.LeaseCheckedDownloadHandler",
            "https": "crawler.distributed.worker.LeaseCheckedDownloadHandler",
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
        attach_book(crawler, spider.book)
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
