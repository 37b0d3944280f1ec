"""The scheduler queue (crawler/scheduling/hostqueue.py) on its own: which request leaves when.

A fake downloader stands in for Scrapy's (its slots: delay, last request, requests
transferring and waiting); a fake clock for time. What is asserted is the order of
requests and how many hosts the queue looks at per request, never a duration.
"""

from __future__ import annotations

import random
from collections import deque

import pytest
from scrapy import Request
from scrapy.squeues import FifoMemoryQueue, PickleFifoDiskQueue
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.test import get_crawler
from twisted.internet.task import Clock

from crawler.middlewares.hosts import host_book, settle
from crawler.scheduling.hostqueue import HostQueue


class FakeSlot:
    def __init__(self, concurrency: int = 2, delay: float = 0.0):
        self.concurrency, self.delay, self.lastseen = concurrency, delay, 0.0
        self.queue: deque = deque()
        self.transferring: set = set()
        self.active: set = set()


class FakeDownloader:
    def __init__(self):
        self.slots: dict[str, FakeSlot] = {}
        self.active: set = set()
        self.domain_concurrency = 2

    def get_slot_key(self, request: Request) -> str:
        return urlparse_cached(request).hostname or ""


class FakeEngine:
    def __init__(self):
        self.downloader = FakeDownloader()
        self._slot = None


def make_queue(settings: dict | None = None, key: str = "", startprios=None, disk=False):
    crawler = get_crawler(settings_dict={"CONCURRENT_REQUESTS": 16, **(settings or {})})
    crawler.engine = FakeEngine()
    clock = Clock()
    book = host_book(crawler)
    book.now = clock.seconds
    queue = HostQueue(crawler, PickleFifoDiskQueue if disk else FifoMemoryQueue, key, startprios)
    queue.clock, queue.now = clock, clock.seconds
    return queue, book, crawler.engine.downloader, clock


def req(host: str, path: str = "/", priority: int = 0) -> Request:
    return Request(f"http://{host}{path}", priority=priority)


def answered(book, downloader, request: Request) -> None:
    """The request reached the downloader, was fetched, and its host answered."""
    host = urlparse_cached(request).hostname
    settle(book, request)
    downloader.slots.setdefault(host, FakeSlot())
    book.answered(host)


def drain(queue) -> list[str]:
    """Every request the queue hands out now, each reaching the downloader at once."""
    out = []
    while (request := queue.pop()) is not None:
        settle(queue.book, request)
        out.append(request.url)
    return out


def test_unproven_hosts_get_one_request_each_in_turn():
    queue, book, downloader, _ = make_queue()
    for host in ("a", "b", "c"):
        for n in range(3):
            queue.push(req(host, f"/{n}"))
    first = [queue.pop() for _ in range(3)]
    assert [r.url for r in first] == ["http://a/0", "http://b/0", "http://c/0"]
    assert queue.pop() is None  # each unproven host has its one request out
    assert len(queue) == 6
    for request in first:
        answered(book, downloader, request)
    # answering hosts take their slot's concurrency (2), still in turn
    assert drain(queue) == [
        "http://a/1",
        "http://b/1",
        "http://c/1",
        "http://a/2",
        "http://b/2",
        "http://c/2",
    ]


def test_a_paused_host_waits_without_holding_back_the_others():
    queue, book, downloader, clock = make_queue()
    for host in ("sick", "well"):
        queue.push(req(host, "/0"))
    for request in (queue.pop(), queue.pop()):
        answered(book, downloader, request)
    book.pause("sick", 30)
    for n in range(1, 4):
        queue.push(req("sick", f"/{n}"))
        queue.push(req("well", f"/{n}"))
    assert drain(queue) == ["http://well/1", "http://well/2", "http://well/3"]
    clock.advance(29.9)
    assert queue.pop() is None
    clock.advance(0.2)
    assert drain(queue) == ["http://sick/1", "http://sick/2", "http://sick/3"]


def test_the_timer_wakes_the_engine_when_a_pause_ends():
    queue, book, downloader, clock = make_queue()
    woken = []

    class Nextcall:
        def schedule(self):
            woken.append(clock.seconds())

    queue.crawler.engine._slot = type("Slot", (), {"nextcall": Nextcall()})()
    queue.push(req("h", "/0"))
    answered(book, downloader, queue.pop())
    book.pause("h", 5)
    woken.clear()
    queue.push(req("h", "/1"))
    assert queue.pop() is None
    clock.advance(5)
    assert woken == [5]
    assert queue.pop().url == "http://h/1"


def test_a_dead_host_releases_its_requests_at_once():
    queue, book, _, _ = make_queue()
    for n in range(3):
        queue.push(req("gone", f"/{n}"))
    assert queue.pop().url == "http://gone/0"  # the probe, still pending
    assert queue.pop() is None
    assert book.failed("gone", "dns_failed", "CannotResolveHostError") is False
    assert book.failed("gone", "dns_failed", "CannotResolveHostError") is True
    # pending or not, paused or not: they leave now, to be recorded as not fetched
    book.pause("gone", 100)
    assert drain(queue) == ["http://gone/1", "http://gone/2"]


def test_download_delay_and_a_full_slot_hold_a_host():
    queue, book, downloader, clock = make_queue()
    queue.push(req("h", "/0"))
    answered(book, downloader, queue.pop())
    slot = downloader.slots["h"] = FakeSlot(concurrency=2, delay=1.0)
    slot.lastseen = clock.seconds()
    queue.push(req("h", "/1"))
    queue.push(req("h", "/2"))
    assert queue.pop() is None  # its delay has not passed
    clock.advance(1.0)
    second = queue.pop()
    assert second.url == "http://h/1"
    assert queue.pop() is None  # on its way to the downloader: pending
    settle(book, second)
    slot.lastseen = clock.seconds()
    slot.transferring = {1, 2}  # both connections busy
    clock.advance(5)
    assert queue.pop() is None
    slot.transferring = set()
    book.changed("h")  # what request_left_downloader does
    assert queue.pop().url == "http://h/2"


def test_priorities_hold_within_a_host():
    queue, book, downloader, _ = make_queue()
    queue.push(req("h", "/probe"))
    answered(book, downloader, queue.pop())
    queue.push(req("h", "/low", priority=-1))
    queue.push(req("h", "/high", priority=5))
    queue.push(req("h", "/mid", priority=0))
    assert drain(queue) == ["http://h/high", "http://h/mid", "http://h/low"]


def test_unproven_hosts_leave_room_for_hosts_that_answer():
    queue, book, downloader, clock = make_queue({"CONCURRENT_REQUESTS": 16})
    assert queue.probe_places == 8
    queue.push(req("known", "/0"))
    answered(book, downloader, queue.pop())
    downloader.active = set(range(8))  # eight places taken (e.g. hosts timing out)
    queue.push(req("new", "/0"))
    queue.push(req("known", "/1"))
    assert queue.pop().url == "http://known/1"
    assert queue.pop() is None
    downloader.active = set()  # a download ended: the engine asks again, no timer needed
    assert queue.pop().url == "http://new/0"


def test_hosts_waiting_for_a_probe_place_are_let_in_in_turn_without_being_polled():
    """While the places kept for probes are taken, unproven hosts queue for them: looked
    at once, then not again until a place frees — then in the order they came, as many as
    places are free, with no timer armed for them."""
    queue, _, downloader, clock = make_queue({"CONCURRENT_REQUESTS": 16})
    downloader.active = set(range(queue.probe_places))
    names = [f"new{n}" for n in range(50)]
    for name in names:
        queue.push(req(name, "/0"))
    assert queue.pop() is None
    assert queue.examined == 50 and not queue._waiting and queue._timer is None
    for _ in range(20):  # the engine asking again while nothing changed
        assert queue.pop() is None
    assert queue.examined == 50  # not one of them looked at again
    clock.advance(3600)
    assert queue.pop() is None and queue.examined == 50
    downloader.active = set(range(queue.probe_places - 2))  # two places free
    out = [queue.pop(), queue.pop()]
    assert [r.url for r in out] == ["http://new0/0", "http://new1/0"]
    downloader.active |= {"p0", "p1"}  # the two probes took the places
    assert queue.pop() is None
    downloader.active -= {"p0"}
    assert queue.pop().url == "http://new2/0"


@pytest.mark.parametrize("hosts", [300, 5_000])
def test_choosing_a_request_costs_the_same_with_many_hosts(hosts):
    """Hosts looked at per request handed out stay under a constant, at any size."""
    queue, book, downloader, clock = make_queue({"CONCURRENT_REQUESTS": 0})
    rng = random.Random(hosts)
    names = [f"h{n}" for n in range(hosts)]
    for name in names:
        queue.push(req(name, "/0"))
    out = [queue.pop() for _ in range(hosts)]
    for request in out:  # every host answers its probe; each gets a 1 s delay
        answered(book, downloader, request)
        slot = downloader.slots[urlparse_cached(request).hostname]
        slot.delay, slot.lastseen = 1.0, clock.seconds()
    for n in range(1, 3):
        for name in rng.sample(names, len(names)):
            queue.push(req(name, f"/{n}"))
    queue.examined = 0
    handed = 0
    while len(queue):
        request = queue.pop()
        if request is None:
            clock.advance(0.01)
            continue
        handed += 1
        settle(book, request)
        downloader.slots[urlparse_cached(request).hostname].lastseen = clock.seconds()
    assert handed == 2 * hosts
    assert queue.examined / handed < 3.0, queue.examined / handed


def test_a_jobdir_queue_comes_back_with_its_requests(tmp_path):
    queue, _, _, _ = make_queue(key=str(tmp_path / "q"), disk=True)
    urls = [f"http://h{n % 3}/{n}" for n in range(9)]
    for url in urls:
        queue.push(Request(url))
    state = queue.close()
    assert set(state) == {"h0", "h1", "h2"}
    again, book, downloader, _ = make_queue(key=str(tmp_path / "q"), startprios=state, disk=True)
    assert len(again) == 9
    got = []
    while len(again):
        request = again.pop()
        if request is None:
            continue
        got.append(request.url)
        answered(book, downloader, request)
    assert sorted(got) == sorted(urls)
