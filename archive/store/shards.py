"""A distributed crawl's records: written by each worker into its shard, merged into one archive.

One SQLite file has one writer, so each worker of a crawl on several machines writes its
own archive, its *shard*, and keeps there, beside its captures, the crawl, itself and
every lease it held (``distributed_crawls``, ``crawl_workers``, ``crawl_leases``).

- the worker's side: :func:`join_crawl`, :func:`claim_lease`, :func:`end_lease`,
  :func:`stop_worker` — each a transaction of its own, or part of the caller's;
- a shard opened for reading: :class:`Shard`;
- the archive's side of a merge (:mod:`nianbao.merge` decides what is merged and how
  many captures go in a transaction): the run a crawl merges into, whether the run
  holds a fetch already, the leases and workers copied over, how far the crawl has got.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from archive.store.database import Archive, ArchiveError, now
from archive.store.schema import SCHEMA_VERSION

# The columns of a capture a merge copies (the shard's id and run are the shard's own).
CAPTURE_COLUMNS = (
    "site_id",
    "url",
    "final_url",
    "status",
    "method",
    "fetched_at",
    "content_type",
    "size",
    "sha256",
    "body",
    "headers",
    "role",
    "referer",
    "redirects",
    "error",
    "revisit_of",
    "not_modified",
)


class ShardError(ArchiveError):
    """A file that cannot be read as a worker's shard: one line for the operator."""


# -- the worker's records, in its shard ---------------------------------------------------
def join_crawl(shard: Archive, crawl: dict, worker: dict) -> None:
    """The crawl (recorded by the shard's first worker run) and this worker joining it.

    ``crawl``: crawl_id, redis_prefix, sites_csv, enqueued_at, sites, site_groups,
    registry; ``worker``: worker, crawl_id, run_id, host, pid, shard, started_at."""
    with shard.transaction():
        conn = shard.db.conn
        conn.execute(
            "INSERT INTO distributed_crawls (crawl_id, redis_prefix, sites_csv, enqueued_at, "
            "sites, site_groups, registry) VALUES (:crawl_id, :redis_prefix, :sites_csv, "
            ":enqueued_at, :sites, :site_groups, :registry) "
            "ON CONFLICT (crawl_id) DO NOTHING",
            crawl,
        )
        conn.execute(
            "INSERT INTO crawl_workers (worker, crawl_id, run_id, host, pid, shard, "
            "started_at) VALUES (:worker, :crawl_id, :run_id, :host, :pid, :shard, :started_at)",
            worker,
        )


def claim_lease(shard: Archive, lease: dict) -> None:
    """A lease the worker took: crawl_id, group_id, attempt, site_ids, worker, run_id,
    claimed_at (a lease claimed again by the same attempt replaces the first record)."""
    with shard.transaction():
        shard.db.conn.execute(
            "INSERT OR REPLACE INTO crawl_leases (crawl_id, group_id, attempt, site_ids, "
            "worker, run_id, claimed_at) VALUES (:crawl_id, :group_id, :attempt, :site_ids, "
            ":worker, :run_id, :claimed_at)",
            lease,
        )


def end_lease(shard: Archive, lease: dict) -> None:
    """How a lease ended: crawl_id, group_id, attempt; ended_at, outcome, reason, captures."""
    with shard.transaction():
        shard.db.conn.execute(
            "UPDATE crawl_leases SET ended_at = :ended_at, outcome = :outcome, "
            "reason = :reason, captures = :captures "
            "WHERE crawl_id = :crawl_id AND group_id = :group_id AND attempt = :attempt",
            lease,
        )


def stop_worker(shard: Archive, worker: str, crawl_id: str, stopped_at: str, reason: str) -> None:
    """When and why the worker stopped."""
    with shard.transaction():
        shard.db.conn.execute(
            "UPDATE crawl_workers SET stopped_at = ?, stop_reason = ? "
            "WHERE worker = ? AND crawl_id = ?",
            [stopped_at, reason, worker, crawl_id],
        )


# -- a shard, read --------------------------------------------------------------------------
class Shard:
    """A worker's shard, for reading only (a crashed worker's WAL is recovered on opening).

    A shard may be read while its worker still writes it: SQLite's WAL gives each read a
    consistent view."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise ShardError(f"{path} does not exist")
        try:
            conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
        except sqlite3.OperationalError:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                r[0] for r in conn.execute("select name from sqlite_master where type='table'")
            }
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ShardError(f"{path} is not a nianbao archive: {exc}") from None
        if version > SCHEMA_VERSION:
            conn.close()
            raise ShardError(
                f"{path} has schema version {version}, newer than this nianbao "
                f"({SCHEMA_VERSION}); upgrade nianbao"
            )
        if (
            "distributed_crawls" not in tables
            or not conn.execute("select 1 from distributed_crawls limit 1").fetchone()
        ):
            conn.close()
            raise ShardError(f"{path} is not a worker's shard (no distributed crawl in it)")
        conn.execute("PRAGMA query_only = ON")
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Shard:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def crawls(self) -> list[dict]:
        """The distributed crawls the shard took part in (one, in practice)."""
        return [dict(r) for r in self.conn.execute("select * from distributed_crawls")]

    def workers(self, crawl_id: str) -> list[dict]:
        """The worker runs of the crawl that wrote this shard."""
        return [
            dict(r)
            for r in self.conn.execute("select * from crawl_workers where crawl_id = ?", [crawl_id])
        ]

    def sites(self, runs: list[int]) -> list[dict]:
        """The shard's registry rows of the sites its captures in ``runs`` name, as dicts
        (column → value: a ``sqlite3.Row`` iterates over its values, not its columns)."""
        marks = ", ".join("?" for _ in runs)
        return [
            dict(row)
            for row in self.conn.execute(
                f"select * from sites where site_id in (select distinct site_id from captures "
                f"where run_id in ({marks}))",
                runs,
            )
        ]

    def captures(self, runs: list[int]) -> Iterator[dict]:
        """The captures of ``runs`` in the order they were stored: the shard's ``id``, its
        run as ``shard_run``, and :data:`CAPTURE_COLUMNS`."""
        marks = ", ".join("?" for _ in runs)
        cursor = self.conn.execute(
            f"select id, run_id shard_run, {', '.join(CAPTURE_COLUMNS)} from captures "
            f"where run_id in ({marks}) order by id",
            runs,
        )
        return (dict(row) for row in cursor)

    def stored_body(self, capture_id: int) -> sqlite3.Row | None:
        """url, sha256 and body of a capture (the one a revisit record points to)."""
        return self.conn.execute(
            "select url, sha256, body from captures where id = ?", [capture_id]
        ).fetchone()

    def leases(self, crawl_id: str) -> list[dict]:
        return [
            dict(r)
            for r in self.conn.execute("select * from crawl_leases where crawl_id = ?", [crawl_id])
        ]

    def capture_count(self, run_id: int) -> int:
        return self.conn.execute(
            "select count(*) from captures where run_id = ?", [run_id]
        ).fetchone()[0]


# -- the archive's side of a merge ------------------------------------------------------------
def crawl_run(archive: Archive, crawl: dict) -> int:
    """The archive's run for the distributed crawl (a ``distributed_crawls`` row of a
    shard), created with the crawl's record and its registry on the crawl's first shard."""
    conn = archive.db.conn
    with archive.transaction():
        row = conn.execute(
            "select run_id from distributed_crawls where crawl_id = ?", [crawl["crawl_id"]]
        ).fetchone()
        if row and row[0] is not None:
            return row[0]
        run_id = archive.insert(
            "crawl_runs",
            {
                "started_at": crawl["enqueued_at"],
                "status": "merging",
                "sites_csv": crawl["sites_csv"],
                "pid": None,
                "pages_fetched": 0,
                "captures_stored": 0,
                "failures": 0,
            },
        )
        conn.execute(
            "INSERT INTO distributed_crawls (crawl_id, redis_prefix, sites_csv, enqueued_at, "
            "sites, site_groups, registry, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (crawl_id) DO UPDATE SET run_id = excluded.run_id",
            [
                crawl["crawl_id"],
                crawl["redis_prefix"],
                crawl["sites_csv"],
                crawl["enqueued_at"],
                crawl["sites"],
                crawl["site_groups"],
                crawl["registry"],
                run_id,
            ],
        )
        registry = json.loads(crawl["registry"] or "[]")
        if registry:
            archive.load_sites(registry)
    return run_id


def site_columns(archive: Archive) -> set[str]:
    """The columns of ``sites`` in the archive (a shard's rows may carry others)."""
    return {r[1] for r in archive.db.execute("PRAGMA table_info(sites)")}


def fetch_in_run(archive: Archive, run_id: int, capture: dict, body_sha: str | None) -> bool:
    """Does the run hold this fetch already: the same URL and method with the same body
    (``body_sha``, stored or revisited), or — a fetch without a body — the same status
    and error?"""
    # ``+run_id``: look the URL up by its index; the run's index would scan the whole run.
    if body_sha is not None:
        row = archive.db.execute(
            "select 1 from captures c left join captures b on b.id = c.revisit_of "
            "where +c.run_id = ? and c.url = ? and c.method is ? "
            "and coalesce(c.sha256, b.sha256) = ? limit 1",
            [run_id, capture["url"], capture["method"], body_sha],
        ).fetchone()
    else:
        row = archive.db.execute(
            "select 1 from captures where +run_id = ? and url = ? and method is ? "
            "and sha256 is null and revisit_of is null and body is null "
            "and status is ? and error is ? limit 1",
            [run_id, capture["url"], capture["method"], capture["status"], capture["error"]],
        ).fetchone()
    return row is not None


def body_holder(archive: Archive, url: str, sha: str) -> int | None:
    """The newest capture of ``url`` that holds the body with this SHA-256."""
    row = archive.db.execute(
        "select id from captures where url = ? and sha256 = ? and body is not null "
        "order by id desc limit 1",
        [url, sha],
    ).fetchone()
    return row[0] if row else None


def merge_lease(archive: Archive, lease: dict, run_id: int) -> None:
    """A shard's lease, now of the archive's run: what a later shard knows of its end wins."""
    with archive.transaction():
        _upsert_lease(archive.db.conn, lease, run_id)


def _upsert_lease(conn: sqlite3.Connection, lease: dict, run_id: int) -> None:
    conn.execute(
        "INSERT INTO crawl_leases (crawl_id, group_id, attempt, site_ids, worker, run_id, "
        "claimed_at, ended_at, outcome, reason, captures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?) ON CONFLICT (crawl_id, group_id, attempt) DO UPDATE SET "
        "ended_at = coalesce(excluded.ended_at, ended_at), "
        "outcome = coalesce(excluded.outcome, outcome), "
        "reason = coalesce(excluded.reason, reason), "
        "captures = coalesce(excluded.captures, captures), run_id = excluded.run_id",
        [
            lease["crawl_id"],
            lease["group_id"],
            lease["attempt"],
            lease["site_ids"],
            lease["worker"],
            run_id,
            lease["claimed_at"],
            lease["ended_at"],
            lease["outcome"],
            lease["reason"],
            lease["captures"],
        ],
    )


def merge_worker(archive: Archive, worker: dict, run_id: int, captures: int, added: int) -> None:
    """A shard's worker run, now of the archive's run: its ``captures`` in the shard, and
    ``added`` to the ones earlier merges added."""
    with archive.transaction():
        _upsert_worker(archive.db.conn, worker, run_id, captures, added)


def _upsert_worker(
    conn: sqlite3.Connection, worker: dict, run_id: int, captures: int, added: int
) -> None:
    conn.execute(
        "INSERT INTO crawl_workers (worker, crawl_id, run_id, host, pid, shard, started_at, "
        "stopped_at, stop_reason, merged_at, captures, captures_added) VALUES (?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?) ON CONFLICT (worker, crawl_id) DO UPDATE SET "
        "run_id = excluded.run_id, stopped_at = excluded.stopped_at, "
        "stop_reason = excluded.stop_reason, merged_at = excluded.merged_at, "
        "captures = excluded.captures, "
        "captures_added = coalesce(captures_added, 0) + excluded.captures_added",
        [
            worker["worker"],
            worker["crawl_id"],
            run_id,
            worker["host"],
            worker["pid"],
            worker["shard"],
            worker["started_at"],
            worker["stopped_at"],
            worker["stop_reason"],
            now(),
            captures,
            added,
        ],
    )


def crawl_progress(archive: Archive, crawl_id: str, run_id: int) -> dict:
    """How far the crawl has got, from everything merged so far: its site groups and
    registry, the groups finished and when the last one ended, the run's pages, and its
    workers (in the order they started)."""
    conn = archive.db.conn
    groups, registry = conn.execute(
        "select site_groups, registry from distributed_crawls where crawl_id = ?", [crawl_id]
    ).fetchone()
    finished, ended = conn.execute(
        "select count(distinct group_id), max(ended_at) from crawl_leases "
        "where crawl_id = ? and outcome = 'finished'",
        [crawl_id],
    ).fetchone()
    pages = conn.execute(
        "select count(status) from captures where run_id = ?", [run_id]
    ).fetchone()[0]
    workers = [
        dict(zip(("worker", "host", "stop_reason", "captures", "captures_added"), r, strict=True))
        for r in conn.execute(
            "select worker, host, stop_reason, captures, captures_added from crawl_workers "
            "where crawl_id = ? order by started_at",
            [crawl_id],
        )
    ]
    return {
        "groups": groups,
        "registry": registry,
        "finished": finished,
        "ended": ended,
        "pages": pages,
        "workers": workers,
    }


def finish_merged_run(
    archive: Archive, run_id: int, status: str, stats: dict, finished_at: str | None
) -> None:
    """Close the run as :meth:`Archive.finish_run` does, then give it the time its crawl
    ended (None while site groups are unfinished), not the time of the merge."""
    archive.finish_run(run_id, status, stats)
    with archive.transaction():
        archive.update("crawl_runs", run_id, {"finished_at": finished_at})


def run_site_ids(archive: Archive, run_id: int) -> list[str]:
    """The sites the run's captures name (for a crawl whose registry was not recorded)."""
    return [
        r[0]
        for r in archive.db.execute(
            "select distinct site_id from captures where run_id = ?", [run_id]
        )
    ]


def crawl_state(archive: Archive, crawl_id: str, run_id: int) -> dict:
    """The merged crawl as the operator is told it: the run's status and captures, the
    crawl's site groups and how many of them finished."""
    status, captures = archive.db.execute(
        "select status, captures_stored from crawl_runs where id = ?", [run_id]
    ).fetchone()
    groups = archive.db.execute(
        "select site_groups from distributed_crawls where crawl_id = ?", [crawl_id]
    ).fetchone()[0]
    finished = archive.db.execute(
        "select count(distinct group_id) from crawl_leases where crawl_id = ? and "
        "outcome = 'finished'",
        [crawl_id],
    ).fetchone()[0]
    return {"status": status, "captures": captures, "groups": groups, "finished": finished}
