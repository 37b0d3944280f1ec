"""Stopping a crawl within seconds of SIGTERM or Ctrl-C, with the archive left to resume.

On the first signal Scrapy stops scheduling and closes the spider once every request
in progress has finished — which a hung host can make last ``DOWNLOAD_TIMEOUT`` ×
retries, and a slot delay longer still. :class:`GracefulStop` gives the downloads in
flight ``NIANBAO_STOP_GRACE`` seconds, then cuts them short (:class:`StoppableDownloadHandler`
cancels their connections) and releases the requests still waiting in download slots.
A request cut short is :class:`CrawlStopped`: the spider stores nothing for it, so the
archive holds only whole captures and the next crawl fetches what this one did not
(:mod:`crawler.scheduling.frontier`). The spider then closes as usual: the run is recorded as
``stopped: shutdown`` with its per-site counts. A second signal still kills at once.
"""

from __future__ import annotations

import logging
import signal
import time
from functools import partial

from scrapy import signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet import task
from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

_HANDLERS = "_nianbao_stoppable_handlers"


class CrawlStopped(IgnoreRequest):
    """The crawl is stopping: this request was not (completely) fetched, and is not stored."""


class StoppableDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, with a way to cancel every download in flight."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.stopping = False
        self._inflight: set = set()
        handlers = getattr(crawler, _HANDLERS, None)
        if handlers is None:
            handlers = []
            setattr(crawler, _HANDLERS, handlers)
        handlers.append(self)

    async def download_request(self, request):
        if self.stopping:
            raise CrawlStopped("the crawl is stopping")
        download = deferred_from_coro(super().download_request(request))
        self._inflight.add(download)
        try:
            return await maybe_deferred_to_future(download)
        except BaseException:  # a cancelled download raises asyncio's CancelledError
            if self.stopping:
                raise CrawlStopped("cut short by the crawl stopping") from None
            raise
        finally:
            self._inflight.discard(download)

    def stop(self) -> int:
        """Refuse new downloads and cancel those in flight; returns how many were cut."""
        self.stopping = True
        cut = list(self._inflight)
        for download in cut:
            download.cancel()
        return len(cut)


class GracefulStop:
    """On SIGTERM/SIGINT: ``NIANBAO_STOP_GRACE`` seconds for downloads in flight, then cut."""

    def __init__(self, crawler: Crawler, grace: float):
        self.crawler = crawler
        self.grace = grace
        self.signalled_at: float | None = None
        self._sweeper: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GracefulStop:
        ext = cls(crawler, crawler.settings.getfloat("NIANBAO_STOP_GRACE", 1.5))
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self) -> None:
        if self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()

    def engine_started(self) -> None:
        # Scrapy has installed its shutdown handlers by now; ours runs them, then ours.
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if callable(previous):
                signal.signal(signum, partial(self._signalled, previous))

    def _signalled(self, previous, signum, frame) -> None:
        previous(signum, frame)
        from twisted.internet import reactor

        reactor.callFromThread(self.begin)

    def begin(self) -> None:
        """Start the countdown (once); cut what is still in flight when it ends."""
        if self.signalled_at is not None:
            return
        self.signalled_at = time.monotonic()
        from twisted.internet import reactor

        logger.info("stopping: downloads in flight get %.1f s to finish", self.grace)
        reactor.callLater(self.grace, self.cut)  # type: ignore[arg-type]

    def cut(self) -> None:
        cut = sum(handler.stop() for handler in getattr(self.crawler, _HANDLERS, []))
        released = self._release_waiting()
        # Requests still on their way (waiting for robots.txt) may enter a slot later.
        sweeper = self._sweeper = task.LoopingCall(self._release_waiting)
        sweeper.start(0.2, now=False)
        logger.info(
            "stopping: %d downloads cut short, %d waiting requests released; "
            "they are fetched by the next crawl",
            cut,
            released,
        )
        self.crawler.stats.set_value("nianbao/stop_cut", cut + released)

    def _release_waiting(self) -> int:
        """Fail the requests that wait in a download slot (its delay, a backoff pause)."""
        engine = self.crawler.engine
        if engine is None or engine.downloader is None:
            return 0
        released = 0
        for slot in list(engine.downloader.slots.values()):
            while slot.queue:
                request, waiting = slot.queue.popleft()
                waiting.errback(Failure(CrawlStopped("the crawl stopped before it was sent")))
                released += 1
        return released
