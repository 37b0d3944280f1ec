"""The worker's records in its shard: the crawl it joined, itself, each lease and its end.

The shard is the worker's own archive; these tables (``distributed_crawls``,
``crawl_workers``, ``crawl_leases``) say which groups it crawled under which lease and
how each lease ended, so that ``nianbao merge`` can bring the shards together.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

from archive.store import Archive
from archive.store.shards import claim_lease, end_lease, join_crawl, stop_worker
from crawler.distributed.leases import Crawl
from crawler.distributed.tracking import Lease


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
        self.archive.fsync_at_checkpoints()
        self.crawl = crawl
        self.worker = worker

    @contextlib.contextmanager
    def _transaction(self):
        """One record, after the crawl's pending batch of captures is committed."""
        self.before_write()
        with self.archive.transaction():
            yield

    def joined(self, run_id: int, registry: list[dict], shard: str) -> None:
        with self._transaction():
            join_crawl(
                self.archive,
                {
                    "crawl_id": self.crawl.id,
                    "redis_prefix": self.crawl.prefix,
                    "sites_csv": self.crawl.sites_csv,
                    "enqueued_at": self.crawl.enqueued_at,
                    "sites": self.crawl.sites,
                    "site_groups": self.crawl.groups,
                    "registry": json.dumps(registry, ensure_ascii=False),
                },
                {
                    "worker": self.worker,
                    "crawl_id": self.crawl.id,
                    "run_id": run_id,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "shard": shard,
                    "started_at": _now(),
                },
            )

    def claimed(self, lease: Lease, run_id: int) -> None:
        with self._transaction():
            claim_lease(
                self.archive,
                {
                    "crawl_id": self.crawl.id,
                    "group_id": lease.claim.group,
                    "attempt": lease.claim.attempt,
                    "site_ids": json.dumps([s["site_id"] for s in lease.claim.sites]),
                    "worker": self.worker,
                    "run_id": run_id,
                    "claimed_at": lease.claimed_at,
                },
            )

    def ended(self, lease: Lease, reason: str | None = None) -> None:
        with self._transaction():
            end_lease(
                self.archive,
                {
                    "crawl_id": self.crawl.id,
                    "group_id": lease.claim.group,
                    "attempt": lease.claim.attempt,
                    "ended_at": _now(),
                    "outcome": lease.state,
                    "reason": reason,
                    "captures": lease.captures,
                },
            )

    def stopped(self, reason: str) -> None:
        with self._transaction():
            stop_worker(self.archive, self.worker, self.crawl.id, _now(), reason)
        self.archive.close()
