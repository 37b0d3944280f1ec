"""Downloader middlewares that keep the crawler gentle with fragile government servers.

Each does one thing, Scrapy's own middlewares do the rest (robots.txt ``Disallow``,
retries, redirects):

* :class:`CrawlDelayMiddleware` — robots.txt ``Crawl-delay``, which Scrapy parses but
  never applies, becomes the minimum delay of the host's download slot.
* :class:`BackoffMiddleware` — after a 429/5xx or a network error the whole host
  pauses: for ``Retry-After`` when the server says so, otherwise exponentially
  longer with each retry (Scrapy's RetryMiddleware alone retries at once).
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
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import task

logger = logging.getLogger(__name__)


def _slot_key(request: Request) -> str:
    return request.meta.get("download_slot") or urlparse_cached(request).hostname or ""


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
                self.delays[_slot_key(request)] = min(delay, self.cap)
                logger.info("%s asks for Crawl-delay %g s", _host_of(request), delay)
                self.crawler.stats.set_value(f"nianbao/crawl_delay/{_host_of(request)}", delay)
        self._enforce(request)
        return response

    def _enforce(self, request: Request) -> None:
        """Raise the slot's delay to the host's Crawl-delay (AutoThrottle may have lowered it)."""
        key = _slot_key(request)
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


class BackoffMiddleware:
    """Pauses a host after a failure: ``Retry-After``, or exponential backoff per retry.

    Sits nearer the downloader than Scrapy's RetryMiddleware, so it sees the failure
    first; the retry that follows then waits in :meth:`process_request` until the pause
    is over, as does every other request to the host.
    """

    def __init__(self, crawler, codes: set[int], base: float, cap: float, jitter: bool):
        self.crawler = crawler
        self.codes = codes
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.paused_until: dict[str, float] = {}

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

    async def process_request(self, request: Request, spider=None) -> None:
        wait = self.paused_until.get(_slot_key(request), 0.0) - time.monotonic()
        if wait > 0:
            self.crawler.stats.inc_value("nianbao/backoff_waits")
            from twisted.internet import reactor  # the one Scrapy installed, never before

            await maybe_deferred_to_future(task.deferLater(reactor, wait, lambda: None))
        return None

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        if response.status in self.codes and not request.meta.get("stored_capture"):
            self.pause(request, retry_after(response))
        return response

    def process_exception(self, request: Request, exception: Exception, spider=None) -> None:
        if not isinstance(exception, IgnoreRequest):
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
        key = _slot_key(request)
        self.paused_until[key] = max(self.paused_until.get(key, 0.0), time.monotonic() + delay)
        self.crawler.stats.inc_value("nianbao/backoffs")
        logger.info("backing off %s for %.1f s", _host_of(request), delay)
        return delay


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
        return response
