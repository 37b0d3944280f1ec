"""What the crawl knows about each host right now: unproven, answering, paused or dead.

One :class:`HostBook` per crawler, shared by the scheduler queue
(:mod:`crawler.scheduling.hostqueue`), which hands out a host's requests only when the host can
take them, and the middlewares that learn how a host behaves
(:mod:`crawler.middlewares.politeness`). A host here is a download slot: the URL's host name.

* A host is **unproven** until it answers anything (its robots.txt included): it gets
  one request at a time, each with the short ``NIANBAO_PROBE_TIMEOUT``, so a host that
  drops packets costs seconds, not ``DOWNLOAD_TIMEOUT`` × retries.
* A failure **pauses** the host (``Retry-After``, or exponential backoff): its requests
  wait in the scheduler queue, where they hold no concurrency slot, while every other
  host goes on.
* A host is **dead** for the run when it has never answered and failed
  ``NIANBAO_DEAD_AFTER_UNPROVEN`` times to connect (DNS, refused, timeout, TLS), or has
  answered before and then failed to connect ``NIANBAO_DEAD_AFTER`` times in a row. Its
  remaining requests are recorded at once as not fetched, with that reason, and the
  site's one-line summary says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import error as tx_error

_ATTRIBUTE = "_nianbao_hosts"
# Set on a request the queue handed out, until it reaches the downloader (or is answered
# or refused by a middleware before that): the host's ``pending`` count.
_DISPATCHED = "_nianbao_dispatched"
_PROBE = "_nianbao_probe"

# Failures that say the host cannot be reached at all (as opposed to a server error,
# or a connection lost mid-body): these, repeated, make a host dead.
CONNECT_FAILURES = ("dns_failed", "refused", "timeout", "tls_error")


def failure_kind(exception: BaseException) -> str:
    """``dns_failed``, ``refused``, ``timeout``, ``tls_error`` or ``network_error``."""
    if isinstance(exception, CannotResolveHostError | tx_error.DNSLookupError):
        return "dns_failed"
    if isinstance(exception, DownloadConnectionRefusedError | tx_error.ConnectionRefusedError):
        return "refused"
    if isinstance(
        exception,
        DownloadTimeoutError | tx_error.TimeoutError | tx_error.TCPTimedOutError | TimeoutError,
    ):
        return "timeout"
    text = f"{type(exception).__name__} {exception} {exception.__cause__ or ''}"
    if any(mark in text for mark in ("SSL", "TLS", "certificate", "handshake")):
        return "tls_error"
    return "network_error"


class HostUnreachable(IgnoreRequest):
    """The host is dead for this run; the message starts with the failure kind."""


@dataclass
class Host:
    key: str
    answered: bool = False  # it sent any response in this run
    failures: int = 0  # connection failures since its last response
    paused_until: float = 0.0  # time.monotonic()
    dead: str | None = None  # the failure kind that killed it
    why: str | None = None  # the last failure, as the downloader put it
    pending: int = 0  # handed out by the queue, not yet inside the downloader

    @property
    def unproven(self) -> bool:
        return not self.answered


class HostBook:
    """Every host's state, and who to tell when a host may be able to take a request."""

    def __init__(self, dead_after_unproven: int = 2, dead_after: int = 5):
        self.dead_after_unproven = dead_after_unproven
        self.dead_after = dead_after
        self.hosts: dict[str, Host] = {}
        self._listeners: list[Callable[[str], None]] = []
        self.now = time.monotonic  # the downloader's clock

    def host(self, key: str) -> Host:
        host = self.hosts.get(key)
        if host is None:
            host = self.hosts[key] = Host(key)
        return host

    def listen(self, callback: Callable[[str], None]) -> None:
        """``callback(key)`` whenever the host ``key`` may take a request it could not."""
        self._listeners.append(callback)

    def changed(self, key: str) -> None:
        for callback in self._listeners:
            callback(key)

    # -- the queue's side --------------------------------------------------------------
    def dispatched(self, key: str) -> None:
        self.host(key).pending += 1

    def settled(self, key: str) -> None:
        """A request handed out reached the downloader, or was answered without it."""
        host = self.host(key)
        host.pending = max(0, host.pending - 1)
        self.changed(key)

    # -- what the middlewares learn ------------------------------------------------------
    def answered(self, key: str) -> None:
        host = self.host(key)
        first = not host.answered
        host.answered, host.failures = True, 0
        if first:
            self.changed(key)

    def failed(self, key: str, kind: str, why: str) -> bool:
        """Count a failure of the host; True when it makes the host dead."""
        host = self.host(key)
        host.why = why
        if host.dead:
            return True
        if kind not in CONNECT_FAILURES:
            return False
        host.failures += 1
        limit = self.dead_after if host.answered else self.dead_after_unproven
        if host.failures >= limit:
            host.dead = kind
            self.changed(key)
            return True
        return False

    def give_up(self, key: str, status: str, why: str) -> None:
        """Leave the host alone for the run (a JS challenge): its requests leave the queue
        at once, to be recorded as not fetched with ``status: why``."""
        host = self.host(key)
        if not host.dead:
            host.dead, host.why = status, why
            self.changed(key)

    def pause(self, key: str, seconds: float) -> float:
        """Hold the host's requests for ``seconds``; returns when the pause ends."""
        host = self.host(key)
        host.paused_until = max(host.paused_until, self.now() + seconds)
        self.changed(key)
        return host.paused_until

    def dead_hosts(self) -> dict[str, Host]:
        return {k: h for k, h in self.hosts.items() if h.dead}


def slot_key(request: Request) -> str:
    """The request's host as the downloader keys its slots."""
    return request.meta.get("download_slot") or urlparse_cached(request).hostname or ""


def mark_dispatched(book: HostBook, request: Request, key: str) -> None:
    book.dispatched(key)
    request.meta[_DISPATCHED] = key


def settle(book: HostBook, request: Request) -> None:
    """The request handed out by the queue is no longer on its way to the downloader."""
    key = request.meta.pop(_DISPATCHED, None)
    if key is not None:
        book.settled(key)


def host_book(crawler: Crawler) -> HostBook:
    """The crawler's host book, made on first use from its settings."""
    book = getattr(crawler, _ATTRIBUTE, None)
    if book is None:
        settings = crawler.settings
        book = HostBook(
            settings.getint("NIANBAO_DEAD_AFTER_UNPROVEN", 2),
            settings.getint("NIANBAO_DEAD_AFTER", 5),
        )
        setattr(crawler, _ATTRIBUTE, book)

        def reached(request: Request, spider=None) -> None:
            settle(book, request)

        def left(request: Request, spider=None) -> None:
            book.changed(slot_key(request))  # a place in its slot is free again

        crawler.signals.connect(reached, signal=signals.request_reached_downloader, weak=False)
        crawler.signals.connect(left, signal=signals.request_left_downloader, weak=False)
    return book


class HostGateMiddleware:
    """Where a request meets what the crawl knows of its host, before anything is sent.

    A request to a dead host is refused (:class:`HostUnreachable`, recorded by the
    spider as not fetched, with the reason); one to an unproven host gets the short
    ``NIANBAO_PROBE_TIMEOUT``. And the queue learns that a request it handed out is no
    longer on its way (answered from the archive, refused, or past every middleware).
    """

    def __init__(self, crawler: Crawler, probe_timeout: float):
        self.book = host_book(crawler)
        self.probe_timeout = probe_timeout

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGateMiddleware:
        settings = crawler.settings
        probe = min(
            settings.getfloat("NIANBAO_PROBE_TIMEOUT", 15.0),
            settings.getfloat("DOWNLOAD_TIMEOUT", 180.0),
        )
        return cls(crawler, probe)

    def process_request(self, request: Request, spider=None) -> None:
        host = self.book.host(slot_key(request))
        if host.dead:
            raise HostUnreachable(f"{host.dead}: {host.why}")
        if host.unproven:
            if "download_timeout" not in request.meta:
                request.meta["download_timeout"] = self.probe_timeout
                request.meta[_PROBE] = True
        elif request.meta.pop(_PROBE, False):  # a retry of a probe, the host known now
            request.meta.pop("download_timeout", None)
        return None

    def process_response(self, request: Request, response, spider=None):
        settle(self.book, request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider=None) -> None:
        settle(self.book, request)
        return None
