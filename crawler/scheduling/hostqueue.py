"""The scheduler's priority queue: a host's request leaves only when the host can take it.

Scrapy counts every request handed to the downloader against ``CONCURRENT_REQUESTS``,
including one that then waits in its host's download slot (for the download delay, a
Crawl-delay, a backoff pause, or robots.txt). A queue that hands out requests blind to
that lets a few slow or failing hosts fill every global slot while healthy hosts
wait. Scrapy's ``DownloaderAwarePriorityQueue`` avoids it by looking at every download
slot for each request, which costs more the more hosts a crawl has.

:class:`HostQueue` keeps one priority queue per host (as ``DownloaderAwarePriorityQueue``
does, with the same on-disk layout for ``JOBDIR``) and sorts the hosts themselves:

* **ready** hosts, served in turn (round robin: per-host fairness);
* **waiting** hosts, in a heap by the moment they can take a request again — their
  download delay or Crawl-delay has not passed since their last request, or a backoff
  pause (:mod:`crawler.middlewares.hosts`) is not over; a timer wakes the engine at the first of them;
* **parked** hosts, which already have as many requests in flight as they may (one
  while unproven, their slot's concurrency after): woken when one of those leaves;
* **probing** hosts, unproven hosts waiting, first come first served, for one of the
  places kept for probes: let in as places free, never polled.

Unproven hosts (:mod:`crawler.middlewares.hosts`) share at most three quarters of
``CONCURRENT_REQUESTS``: however many dead hosts a registry holds, hosts that answer
always find room. While those places are all taken, the unproven hosts queue for them:
each ``pop`` lets in as many as places are free (the engine asks again whenever a
download ends), so thousands of hosts waiting to be probed cost nothing until their turn.

A host moves between these only when something about it changes, so each request
costs O(log hosts), not O(hosts). Requests of a dead host leave at once, to be
recorded as not fetched. Priorities hold within a host, as in Scrapy's queues.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.pqueues import ScrapyPriorityQueue, _path_safe

from crawler.middlewares.hosts import host_book, mark_dispatched, settle

READY, WAITING, PARKED, PROBING = "ready", "waiting", "parked", "probing"
# What _free_at says of an unproven host while every place kept for probes is taken.
PROBE_PLACE = -math.inf


class HostQueue:
    """``SCHEDULER_PRIORITY_QUEUE``: per-host queues, handed out when the host can take one."""

    @classmethod
    def from_crawler(
        cls,
        crawler: Crawler,
        downstream_queue_cls,
        key: str,
        startprios: dict[str, Iterable[int]] | None = None,
        *,
        start_queue_cls=None,
    ) -> HostQueue:
        return cls(crawler, downstream_queue_cls, key, startprios, start_queue_cls=start_queue_cls)

    def __init__(
        self,
        crawler: Crawler,
        downstream_queue_cls,
        key: str,
        slot_startprios: dict[str, Iterable[int]] | None = None,
        *,
        start_queue_cls=None,
    ):
        if crawler.settings.getint("CONCURRENT_REQUESTS_PER_IP") != 0:
            raise ValueError("HostQueue does not support CONCURRENT_REQUESTS_PER_IP")
        if slot_startprios and not isinstance(slot_startprios, dict):
            raise ValueError(
                "the JOBDIR was written by another scheduler queue; "
                "continue it with the queue that wrote it"
            )
        self.crawler = crawler
        self.downstream_queue_cls = downstream_queue_cls
        self.start_queue_cls = start_queue_cls
        self.key = key
        self.downloader = crawler.engine.downloader
        # Unproven hosts (each may hold two places: its robots.txt and the request
        # waiting for it) may take this many of the crawl's places in the downloader;
        # the rest stay for hosts that answer, whatever a registry's dead hosts do.
        self.default_concurrency = self.downloader.domain_concurrency
        total = crawler.settings.getint("CONCURRENT_REQUESTS")
        self.probe_places = total - max(min(16, total // 2), total // 4) if total else 0
        self.book = host_book(crawler)
        self.book.listen(self._wake)
        self.pqueues: dict[str, ScrapyPriorityQueue] = {}
        self._size = 0
        self._where: dict[str, str] = {}
        self._ready: deque[str] = deque()
        self._waiting: list[tuple[float, int, str]] = []
        self._wait_seq: dict[str, int] = {}
        self._probing: deque[str] = deque()  # unproven hosts waiting for a probe place
        self._let_in: set[str] = set()  # let in from _probing, in _ready, not yet asked
        self._seq = itertools.count()
        self._timer = None
        self._timer_at = math.inf
        self.clock: Any = None  # what schedules the wake-up call: Twisted's reactor by default
        self.now = time.monotonic  # the host book and the downloader's clock
        self.examined = 0  # hosts looked at by pop(): what choosing a request costs
        for slot, startprios in (slot_startprios or {}).items():
            queue = self._pqueue(slot, startprios)
            if len(queue):
                self.pqueues[slot] = queue
                self._size += len(queue)
                self._make_ready(slot)

    def _pqueue(self, slot: str, startprios: Iterable[int] = ()) -> ScrapyPriorityQueue:
        return ScrapyPriorityQueue(
            self.crawler,
            self.downstream_queue_cls,
            self.key + "/" + _path_safe(slot),
            startprios,
            start_queue_cls=self.start_queue_cls,
        )

    # -- Scrapy's queue interface ----------------------------------------------------------
    def push(self, request: Request) -> None:
        settle(self.book, request)  # handed out before, and back without reaching a host
        slot = self.downloader.get_slot_key(request)
        queue = self.pqueues.get(slot)
        if queue is None:
            queue = self.pqueues[slot] = self._pqueue(slot)
        queue.push(request)
        self._size += 1
        if slot not in self._where:
            self._make_ready(slot)

    def pop(self) -> Request | None:
        now = self.now()
        self._release_due(now)
        self._let_probes_in()
        for _ in range(len(self._ready)):
            slot = self._ready.popleft()
            self.examined += 1
            let_in = slot in self._let_in
            self._let_in.discard(slot)
            when = self._free_at(slot, now)
            if when == PROBE_PLACE:
                self._await_probe_place(slot, first=let_in)
            elif when <= now:
                return self._take(slot)
            elif when == math.inf:
                self._where[slot] = PARKED
            else:
                self._wait(slot, when)
        return None

    def peek(self) -> Request | None:
        for slot in self._ready:
            return self.pqueues[slot].peek()
        return None

    def close(self) -> dict[str, list[int]]:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        active = {slot: queue.close() for slot, queue in self.pqueues.items()}
        self.pqueues.clear()
        self._where.clear()
        self._ready.clear()
        self._waiting.clear()
        self._probing.clear()
        self._let_in.clear()
        self._size = 0
        return active

    def __len__(self) -> int:
        return self._size

    def __contains__(self, slot: str) -> bool:
        return slot in self.pqueues

    # -- which host next ---------------------------------------------------------------------
    def _free_at(self, slot: str, now: float) -> float:
        """When the host can take a request: ``now`` or earlier, a later time, or never
        (``inf``: until one of its requests in flight leaves)."""
        host = self.book.host(slot)
        if host.dead:
            return now  # handed out to be recorded as not fetched, not downloaded
        if host.paused_until > now:
            return host.paused_until
        dslot = self.downloader.slots.get(slot)
        if host.unproven:
            limit = 1
        else:
            limit = dslot.concurrency if dslot is not None else self.default_concurrency
        busy = host.pending
        if dslot is not None:
            busy += len(dslot.queue) + len(dslot.transferring)
        if busy >= limit:
            return math.inf
        if host.unproven and self._probe_places_free() <= 0:
            return PROBE_PLACE  # the places left are kept for hosts that answer
        if dslot is not None and dslot.delay:
            if host.pending or dslot.queue:
                return math.inf  # through a delay, one request at a time
            if dslot.lastseen + dslot.delay > now:
                return dslot.lastseen + dslot.delay
        return now

    def _probe_places_free(self) -> float:
        if not self.probe_places:
            return math.inf
        return self.probe_places - len(self.downloader.active)

    def _await_probe_place(self, slot: str, first: bool) -> None:
        """Queue an unproven host for a probe place; one just let in that found the
        places taken again keeps its turn at the head of the queue."""
        self._where[slot] = PROBING
        if first:
            self._probing.appendleft(slot)
        else:
            self._probing.append(slot)

    def _let_probes_in(self) -> None:
        """As many hosts waiting for a probe place as places are free (less those let in
        and not yet asked) go back among the ready hosts, in their order."""
        free = self._probe_places_free() - len(self._let_in)
        while free > 0 and self._probing:
            slot = self._probing.popleft()
            if self._where.get(slot) != PROBING:
                continue  # woken meanwhile, or gone: a stale entry
            self._make_ready(slot)
            self._let_in.add(slot)
            free -= 1

    def _take(self, slot: str) -> Request:
        queue = self.pqueues[slot]
        request = queue.pop()
        assert request is not None  # a slot is ready only while its queue holds requests
        self._size -= 1
        if len(queue):
            self._ready.append(slot)  # its turn comes again after every other ready host
        else:
            self._drop(slot)
        mark_dispatched(self.book, request, slot)
        return request

    def _drop(self, slot: str) -> None:
        queue = self.pqueues.pop(slot)
        queue.close()
        self._where.pop(slot, None)
        self._wait_seq.pop(slot, None)
        if self.key:  # reclaim the slot's directory when its queues left no file in it
            with suppress(OSError):
                Path(self.key, _path_safe(slot)).rmdir()

    def _make_ready(self, slot: str) -> None:
        self._where[slot] = READY
        self._ready.append(slot)

    def _wait(self, slot: str, when: float) -> None:
        seq = next(self._seq)
        self._where[slot] = WAITING
        self._wait_seq[slot] = seq
        heapq.heappush(self._waiting, (when, seq, slot))
        self._arm(when)

    def _release_due(self, now: float) -> None:
        while self._waiting and self._waiting[0][0] <= now:
            _, seq, slot = heapq.heappop(self._waiting)
            if self._where.get(slot) == WAITING and self._wait_seq.get(slot) == seq:
                self._make_ready(slot)

    def _wake(self, slot: str) -> None:
        """The host may take a request now (a request left, a pause changed, it answered)."""
        where = self._where.get(slot)
        if where is None or where == READY:
            return
        self._make_ready(slot)  # a heap entry left behind is skipped as stale
        self._poke_engine()

    # -- waking the engine -------------------------------------------------------------------
    def _arm(self, when: float) -> None:
        """Make sure the engine asks again when the first waiting host is free."""
        if when >= self._timer_at and self._timer is not None and self._timer.active():
            return
        if self.clock is None:
            from twisted.internet import reactor  # the one Scrapy installed

            self.clock = reactor
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer_at = when
        self._timer = self.clock.callLater(max(0.0, when - self.now()), self._ring)

    def _ring(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self._release_due(self.now())
        if self._waiting:
            self._arm(self._waiting[0][0])
        self._poke_engine()

    def _poke_engine(self) -> None:
        # The engine asks the scheduler again on its next turn (Scrapy's own heartbeat
        # would, but only every 5 s).
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()
