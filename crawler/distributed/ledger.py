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
