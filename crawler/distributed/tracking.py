"""The leases a crawl worker holds, and what of each site group is still in flight.

A worker may report a group done only when nothing of it is left: every request it made
has been answered (its callback or errback has run to the end) and every item those
yielded has been through the pipeline. A request is followed as a *chain*: a redirect or
a retry continues its request's chain, so a chain ends once, when the last request of it
is answered or dropped. A lease is *settled* when it has no open chain and no item
waiting for the pipeline.

A lease ends in one of three ways: *finished* (settled, or the engine went idle), *lost*
(another worker holds it now, or it could not be renewed in time: it then expires by
itself) or *released* (a clean stop gives it back). While it is held, no download of it
may start past its *deadline*: the lease's life after its last renewal, less the longest
a download may take, so that the last download ends before the lease can expire and the
next holder never meets it on the host.

:class:`LeaseBook` keeps this account and nothing else: no Scrapy, no Redis. The worker
spider (:mod:`crawler.distributed.spider`) tells it what happens and acts on its
answers; the guards (:mod:`crawler.distributed.guards`) ask it whether a request may go.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.distributed.leases import Claim

# The reason a lease is lost when its deadline passes before a renewal.
OVERDUE = "the lease could not be renewed in time"
ENDS = ("finished", "lost", "released")


@dataclass
class Lease:
    """A group this worker holds, and what of it is still in flight."""

    claim: Claim
    claimed_at: str
    deadline: float  # monotonic: no download of the group starts after this
    state: str = "active"  # active | finished | lost | released
    chains: set[int] = field(default_factory=set)
    items: int = 0  # yielded by a callback, not yet through the pipeline
    captures: int = 0

    @property
    def token(self) -> str:
        return self.claim.token

    @property
    def settled(self) -> bool:
        return not self.chains and self.items <= 0

    @property
    def active(self) -> bool:
        return self.state == "active"


def _nothing(lease: Lease, reason: str | None) -> None:
    return None


class LeaseBook:
    """Which leases are held, which requests belong to which, and when each is done.

    ``on_end(lease, reason)`` hears every lease that ends, whoever ended it: the worker
    records the end (its shard, its stats, its log) there — including a lease the book
    finds overdue while a guard asks about it.
    """

    def __init__(
        self,
        lease_ttl: float,
        download_timeout: float,
        on_end: Callable[[Lease, str | None], None] = _nothing,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.lease_ttl = lease_ttl
        self.download_timeout = download_timeout
        self.on_end = on_end
        self.clock = clock
        self.leases: dict[str, Lease] = {}
        # Host -> the lease of the group last leased with it: requests Scrapy makes on
        # its own (robots.txt) carry no lease, but go to a group's host all the same.
        self.host_leases: dict[str, str] = {}
        self.unreported: list[Lease] = []  # finished, but the queue did not hear it yet
        self.ends = dict.fromkeys(ENDS, 0)
        self._chains = itertools.count(1)

    # -- holding -----------------------------------------------------------------------
    @property
    def safe_for(self) -> float:
        """How long after a renewal downloads may still start: the lease's life, less the
        longest a download may take, so the last one ends before the lease can expire."""
        return self.lease_ttl - self.download_timeout

    @property
    def active(self) -> list[Lease]:
        return [lease for lease in self.leases.values() if lease.active]

    def hold(self, claim: Claim, claimed_at: str, hosts: Iterable[str]) -> Lease:
        """A lease just claimed, its group's hosts now under it."""
        lease = Lease(claim, claimed_at, self.clock() + self.safe_for)
        self.leases[lease.token] = lease
        self.host_leases.update(dict.fromkeys(hosts, lease.token))
        return lease

    def get(self, token: str | None) -> Lease | None:
        return self.leases.get(token) if token else None

    def holds(self, token: str | None) -> bool:
        """Is the group of this lease still being crawled by this worker?"""
        lease = self.get(token)
        return lease is not None and lease.active

    def token_for(self, token: str | None, host: str) -> str | None:
        """The lease a request is made under: its group's, or — for a request Scrapy makes
        by itself, robots.txt — that of the group last leased with its host."""
        return token if token is not None else self.host_leases.get(host.lower())

    def allows(self, token: str | None) -> bool:
        """May a request under this lease start now? A request of no group may. Not once
        the lease may be about to expire: it is then lost at once (the lease expires;
        the next holder crawls the group), so nothing refused counts as answered."""
        if token is None:
            return True
        lease = self.leases.get(token)
        if lease is not None and lease.active and self.clock() >= lease.deadline:
            self.give_up(lease, "lost", OVERDUE)
        return lease is not None and lease.active

    def renewed(self, held: list[Lease], lost_groups: set[str], sent: float) -> None:
        """The queue answered a renewal of ``held`` sent at ``sent``: the groups it names
        as lost are another worker's now; the others may download until a new deadline."""
        for lease in held:
            if lease.claim.group in lost_groups:
                self.give_up(lease, "lost", "another worker holds the lease now")
            elif lease.active:
                lease.deadline = sent + self.safe_for

    def expire(self) -> None:
        """Give up every lease whose deadline passed without a renewal."""
        now = self.clock()
        for lease in self.active:
            if now >= lease.deadline:
                self.give_up(lease, "lost", OVERDUE)

    # -- what is in flight ---------------------------------------------------------------
    def open_chain(self, lease: Lease) -> int:
        """A new request of the group: its chain is open until it is answered or dropped."""
        chain = next(self._chains)
        lease.chains.add(chain)
        return chain

    def chain_ended(self, token: str | None, chain: int | None) -> Lease | None:
        """A chain's last request was answered or dropped. Returns its lease if that may
        now be settled."""
        lease = self.get(token)
        if lease is None or chain is None:
            return None
        lease.chains.discard(chain)
        return lease if self.is_settled(lease) else None

    def item_yielded(self, token: str | None) -> None:
        """A callback of the group yielded an item: the group waits for the pipeline."""
        lease = self.get(token)
        if lease is not None:
            lease.items += 1

    def item_done(self, token: str | None, stored: bool) -> Lease | None:
        """The pipeline is done with an item of the group (``stored``: it was kept, not
        dropped or failed). Returns its lease if that may now be settled."""
        lease = self.get(token)
        if lease is None:
            return None
        lease.items -= 1
        if stored:
            lease.captures += 1
        return lease if self.is_settled(lease) else None

    @staticmethod
    def is_settled(lease: Lease) -> bool:
        """Held, and nothing of it in flight: its group can be finished."""
        return lease.active and lease.settled

    # -- the ends of a lease -------------------------------------------------------------
    def finish(self, lease: Lease) -> None:
        """The group is crawled: every request answered, every capture stored."""
        self._end(lease, "finished", None)

    def give_up(self, lease: Lease, state: str, reason: str) -> None:
        """The worker stops crawling the group: ``lost`` or ``released``."""
        self._end(lease, state, reason)

    def release_grace(self, lease: Lease) -> float:
        """How long a released group must wait before another worker may take it: as long
        as a download of it may still be under way."""
        return self.download_timeout if lease.chains else 0.0

    def _end(self, lease: Lease, state: str, reason: str | None) -> None:
        if state not in ENDS:
            raise ValueError(f"a lease ends finished, lost or released, not {state!r}")
        lease.state = state
        self.ends[state] += 1
        self.on_end(lease, reason)
