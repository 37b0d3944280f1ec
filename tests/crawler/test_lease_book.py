"""The lease book: which requests belong to which lease, when a lease is settled, and how
it ends — the account a crawl worker keeps, without Scrapy or Redis."""

from __future__ import annotations

import pytest

from crawler.distributed.leases import Claim
from crawler.distributed.tracking import OVERDUE, LeaseBook


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claim(group: str = "a", attempt: int = 1) -> Claim:
    return Claim(group=group, attempt=attempt, sites=[{"site_id": group}])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ended() -> list:
    return []


@pytest.fixture
def book(clock, ended) -> LeaseBook:
    return LeaseBook(
        lease_ttl=180.0,
        download_timeout=60.0,
        on_end=lambda lease, reason: ended.append((lease.token, lease.state, reason)),
        clock=clock,
    )


def test_a_lease_settles_when_every_chain_is_answered_and_every_item_stored(book, ended):
    lease = book.hold(claim(), "t0", ["www.a.gov.cn"])
    first, second = book.open_chain(lease), book.open_chain(lease)
    assert first != second and not lease.settled
    assert book.chain_ended(lease.token, first) is None  # the second is still in flight
    book.item_yielded(lease.token)  # the second's callback yields a capture …
    assert book.chain_ended(lease.token, second) is None  # … not yet stored
    assert book.item_done(lease.token, stored=True) is lease
    assert lease.settled and lease.captures == 1
    book.finish(lease)
    assert lease.state == "finished" and ended == [("a#1", "finished", None)]
    assert book.active == [] and book.ends == {"finished": 1, "lost": 0, "released": 0}


def test_an_item_the_pipeline_dropped_settles_without_a_capture(book):
    lease = book.hold(claim(), "t0", [])
    chain = book.open_chain(lease)
    book.item_yielded(lease.token)
    book.item_yielded(lease.token)
    assert book.chain_ended(lease.token, chain) is None
    assert book.item_done(lease.token, stored=False) is None
    assert book.item_done(lease.token, stored=True) is lease
    assert lease.captures == 1


def test_a_chain_ends_once_however_often_it_is_told(book):
    lease = book.hold(claim(), "t0", [])
    chain, other = book.open_chain(lease), book.open_chain(lease)
    book.chain_ended(lease.token, chain)
    book.chain_ended(lease.token, chain)  # its request dropped, then its errback ran
    assert lease.chains == {other}


def test_requests_of_no_lease_or_of_no_chain_count_for_nothing(book):
    lease = book.hold(claim(), "t0", [])
    book.open_chain(lease)
    assert book.chain_ended(None, 1) is None
    assert book.chain_ended(lease.token, None) is None
    assert book.chain_ended("b#1", 1) is None
    assert book.item_done("b#1", stored=True) is None
    book.item_yielded(None)
    assert lease.items == 0 and len(lease.chains) == 1


def test_a_lost_lease_drops_its_requests_and_never_settles(book, ended):
    lease = book.hold(claim(), "t0", ["www.a.gov.cn"])
    chain = book.open_chain(lease)
    book.renewed([lease], lost_groups={"a"}, sent=1000.0)
    assert lease.state == "lost"
    assert ended == [("a#1", "lost", "another worker holds the lease now")]
    assert not book.allows(lease.token) and not book.holds(lease.token)
    assert not book.allows(book.token_for(None, "www.a.gov.cn"))  # its robots.txt too
    assert book.chain_ended(lease.token, chain) is None  # answered: nothing to finish
    assert book.active == []


def test_no_download_starts_past_the_deadline_the_lease_is_lost_at_once(book, clock, ended):
    lease = book.hold(claim(), "t0", [])
    assert lease.deadline == 1000.0 + 180.0 - 60.0  # its life, less the longest download
    clock.now = lease.deadline - 0.1
    assert book.allows(lease.token)
    clock.now = lease.deadline
    assert not book.allows(lease.token)
    assert not book.allows(lease.token)
    assert ended == [("a#1", "lost", OVERDUE)]  # one end, however often asked


def test_a_renewal_moves_the_deadline_from_when_it_was_sent(book, clock):
    held = book.hold(claim("a"), "t0", [])
    other = book.hold(claim("b"), "t0", [])
    book.finish(other)
    clock.now = 1100.0
    book.renewed([held, other], lost_groups=set(), sent=1090.0)
    assert held.deadline == 1090.0 + 120.0
    assert other.deadline == 1000.0 + 120.0  # finished: not renewed
    assert other.state == "finished"


def test_expire_gives_up_only_the_leases_past_their_deadline(book, clock, ended):
    late = book.hold(claim("a"), "t0", [])
    clock.now = 1050.0
    fresh = book.hold(claim("b"), "t0", [])
    clock.now = late.deadline
    book.expire()
    assert (late.state, fresh.state) == ("lost", "active")
    assert ended == [("a#1", "lost", OVERDUE)]
    assert book.active == [fresh]


def test_a_request_goes_by_its_own_lease_else_by_its_hosts(book):
    first = book.hold(claim("a", 1), "t0", ["www.a.gov.cn"])
    assert book.token_for(None, "WWW.A.gov.cn") == first.token
    assert book.token_for("x#3", "www.a.gov.cn") == "x#3"  # the request names its lease
    assert book.token_for(None, "www.b.gov.cn") is None
    assert book.allows(None)  # a request of no group goes
    book.give_up(first, "lost", "another worker holds the lease now")
    again = book.hold(claim("a", 2), "t1", ["www.a.gov.cn"])  # the group leased again
    assert book.token_for(None, "www.a.gov.cn") == again.token
    assert book.allows(again.token) and not book.allows(first.token)


def test_a_released_group_waits_only_while_a_download_may_be_under_way(book, ended):
    busy, idle = book.hold(claim("a"), "t0", []), book.hold(claim("b"), "t0", [])
    book.open_chain(busy)
    assert book.release_grace(busy) == 60.0 and book.release_grace(idle) == 0.0
    book.give_up(busy, "released", "the worker stopped (shutdown)")
    assert ended == [("a#1", "released", "the worker stopped (shutdown)")]
    assert book.ends["released"] == 1


def test_a_lease_ends_only_as_finished_lost_or_released(book):
    lease = book.hold(claim(), "t0", [])
    with pytest.raises(ValueError):
        book.give_up(lease, "paused", "no such end")
    assert lease.state == "active"
