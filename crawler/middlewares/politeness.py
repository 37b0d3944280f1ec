"""Downloader middlewares that keep the crawler gentle with fragile government servers.

Each does one thing, Scrapy's own middlewares do the rest (robots.txt ``Disallow``,
retries, redirects):

* :class:`CrawlDelayMiddleware` — robots.txt ``Crawl-delay``, which Scrapy parses but
  never applies, becomes the minimum delay of the host's download slot.
* :class:`BackoffMiddleware` — after a 429/5xx or a network error the whole host
  pauses: for ``Retry-After`` when the server says so, otherwise exponentially
  longer with each retry (Scrapy's RetryMiddleware alone retries at once). The pause
  holds the host's requests in the scheduler queue (:mod:`crawler.scheduling.hostqueue`), not
  in the downloader; a host that cannot be reached is given up (:mod:`crawler.middlewares.hosts`).
* :class:`ChallengeMiddleware` — a JS challenge (瑞数 412 with ``$_ts``, 加速乐 521
  with ``__jsl``) marks the host blocked: the challenge page is archived as
  ``blocked``, the rest of the host is left alone for this run. Never solved.
"""

from __future__ import annotations

import logging
import random
import time
from email.utils import parsedate_to_datetime

from protego import Protego
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.middlewares.hosts import HostUnreachable, failure_kind, host_book, slot_key

logger = logging.getLogger(__name__)


def _host_of(request: Request) -> str:
    return urlparse_cached(request).netloc.lower()


class CrawlDelayMiddleware:
    """Applies robots.txt ``Crawl-delay`` (capped by ``NIANBAO_MAX_CRAWL_DELAY``)."""

    def __init__(self, crawler, user_agent: str, cap: float):
        self.crawler = crawler
        self.user_agent = user_agent
        self.cap = cap
        self.delays: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(
            crawler,
            settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT"),
            settings.getfloat("NIANBAO_MAX_CRAWL_DELAY", 60.0),
        )

    def process_request(self, request: Request, spider=None) -> None:
        self._enforce(request)

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        if urlparse_cached(request).path == "/robots.txt" and response.status == 200:
            delay = crawl_delay(response.body, self.user_agent)
            if delay:
                self.delays[slot_key(request)] = min(delay, self.cap)
                logger.info("%s asks for Crawl-delay %g s", _host_of(request), delay)
                self.crawler.stats.set_value(f"nianbao/crawl_delay/{_host_of(request)}", delay)
        self._enforce(request)
        return response

    def _enforce(self, request: Request) -> None:
        """Raise the slot's delay to the host's Crawl-delay (AutoThrottle may have lowered it)."""
        key = slot_key(request)
        delay = self.delays.get(key)
        engine = self.crawler.engine
        if not delay or engine is None or engine.downloader is None:
            return
        slot = engine.downloader.slots.get(key)
        if slot is None:
            return
        slot.delay = max(slot.delay, delay)
        # A host's stated minimum is not to be undercut by the random variation of the
        # delay (±50 % by default), whichever of the two set the delay.
        slot.jitter = 0.0


def crawl_delay(robots_txt: bytes, user_agent: str) -> float | None:
    """The ``Crawl-delay`` a robots.txt sets for ``user_agent`` (or ``*``), in seconds."""
    try:
        parser = Protego.parse(robots_txt.decode("utf-8", "replace"))
        delay = parser.crawl_delay(user_agent)
    except Exception:  # a broken robots.txt imposes nothing  # noqa: BLE001
        return None
    return float(delay) if delay else None


def retry_after(response: Response, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class RobotsTxtUnavailable(IgnoreRequest):
    """robots.txt could not be fetched: Scrapy's robots.txt middleware then allows all."""


class BackoffMiddleware:
    """Pauses a host after a failure: ``Retry-After``, or exponential backoff per retry.

    Sits nearer the downloader than Scrapy's RetryMiddleware, so it sees each failure
    first. The pause lives in the host book (:mod:`crawler.middlewares.hosts`): the scheduler queue
    holds the host's requests, the retry included, until it is over — no request waits
    inside the downloader holding a concurrency slot, and every other host goes on. A
    request already waiting in the host's download slot waits out the pause there.

    It also counts connection failures towards a host being dead, and turns a failed
    robots.txt fetch into a quiet "allow all" (Scrapy would log a traceback for it).
    """

    def __init__(self, crawler, codes: set[int], base: float, cap: float, jitter: bool):
        self.crawler = crawler
        self.book = host_book(crawler)
        self.codes = codes
        self.base = base
        self.cap = cap
        self.jitter = jitter

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        codes = {int(c) for c in settings.getlist("RETRY_HTTP_CODES")} | {429, 503}
        return cls(
            crawler,
            codes,
            settings.getfloat("NIANBAO_BACKOFF_BASE", 2.0),
            settings.getfloat("NIANBAO_BACKOFF_MAX", 600.0),
            settings.getbool("RANDOMIZE_DOWNLOAD_DELAY", True),
        )

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        if request.meta.get("stored_capture"):
            return response
        self.book.answered(slot_key(request))
        if response.status in self.codes:
            self.pause(request, retry_after(response))
        return response

    def process_exception(self, request: Request, exception: Exception, spider=None) -> None:
        if isinstance(exception, IgnoreRequest):
            return None
        kind = failure_kind(exception)
        why = f"{type(exception).__name__}: {exception}"
        dead = self.book.failed(slot_key(request), kind, why)
        self.crawler.stats.inc_value(f"nianbao/host_failures/{kind}")
        if _is_robots_txt(request):
            if not dead:
                self.pause(request, None)
            raise RobotsTxtUnavailable(f"robots.txt not fetched: {why}")
        if dead:
            raise HostUnreachable(f"{kind}: {why}")
        self.pause(request, None)
        return None

    def pause(self, request: Request, told: float | None) -> float:
        """Pause the request's host; returns the pause in seconds."""
        if told is not None:
            delay = min(told, self.cap)
        else:
            delay = min(self.base * 2 ** request.meta.get("retry_times", 0), self.cap)
            if self.jitter:
                delay *= random.uniform(0.75, 1.25)  # noqa: S311 (not cryptography)
        key = slot_key(request)
        until = self.book.pause(key, delay)
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(key) if engine and engine.downloader else None
        if slot is not None and slot.delay < delay:
            # a request already in the download slot starts after the pause, not before
            slot.lastseen = max(slot.lastseen, until - slot.delay)
        self.crawler.stats.inc_value("nianbao/backoffs")
        logger.debug("backing off %s for %.1f s", _host_of(request), delay)
        return delay


def _is_robots_txt(request: Request) -> bool:
    return bool(request.meta.get("dont_obey_robotstxt")) and (
        urlparse_cached(request).path == "/robots.txt"
    )


# Markers of the JS challenges of the usual anti-bot gateways on government sites.
CHALLENGES = {
    412: ("rs-412", (b"$_ts", b"_$ts")),  # 瑞数 (Riversecurity)
    521: ("jsl-521", (b"__jsl", b"document.cookie")),  # 加速乐 (Jiasule)
}


def challenge_kind(response: Response) -> str | None:
    """``rs-412`` or ``jsl-521`` when the response is a JS challenge, else None."""
    kind, markers = CHALLENGES.get(response.status, (None, ()))
    if kind and any(m in response.body[:65536] for m in markers):
        return kind
    return None


class HostBlocked(IgnoreRequest):
    """The host answered with a JS challenge earlier in this run."""


class ChallengeMiddleware:
    """Records JS challenges as ``blocked`` and stops asking the host for this run."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.book = host_book(crawler)
        self.blocked: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        kind = self.blocked.get(_host_of(request))
        if kind and not request.meta.get("stored_capture"):
            raise HostBlocked(f"blocked: {kind}: host answered a JS challenge earlier")
        return None

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        kind = challenge_kind(response)
        if kind:
            host = _host_of(request)
            if host not in self.blocked:
                logger.warning(
                    "%s answers with a JS challenge (%s): not crawled further", host, kind
                )
                self.crawler.stats.inc_value("nianbao/hosts_blocked")
            self.blocked[host] = kind
            request.meta["blocked"] = f"blocked: {kind}"
            # the rest of the host's requests leave the queue at once, each refused
            self.book.give_up(
                slot_key(request), "blocked", f"{kind}: host answered a JS challenge earlier"
            )
        return response
