"""``nianbao merge SHARD… --into DB``: the workers' shards become one crawl run.

One SQLite file has one writer, so each worker of a crawl on several machines writes its
own archive (its shard), and the shards are merged afterwards — by any machine that
can read them, at any time, in any order, as often as wanted:

* **one crawl, one run**: every capture of a distributed crawl goes into one
  ``crawl_runs`` row of the archive (``distributed_crawls.run_id``), as if one process
  had crawled the registry; ``crawl_site_counts`` and the run's status are recomputed
  after each shard (``finished`` once every site group has a finished lease);
* **one fetch, one capture**: a site group crawled twice (its first worker was killed,
  or lost its lease) has its pages in two shards; a capture whose URL, method and body
  (SHA-256) are already in the run — or, without a body, whose status and error are —
  is not added again. What a killed worker stored before it died is kept: nothing
  fetched is lost;
* **no body stored twice**: a body already in the archive for the same URL becomes a
  revisit record (``revisit_of``), as in a crawl of the archive itself;
* **idempotent and crash-safe**: the same rule makes merging a shard again add
  nothing; captures are added in batches, one transaction each, so a merge killed at
  any moment leaves a consistent archive, and running it again completes it. A shard
  may be merged while its worker still runs (SQLite's WAL gives a consistent view);
  merging it again later adds the rest.

Shards are only read; the leases and workers they record are copied into the archive
(``crawl_leases``, ``crawl_workers``) with the run they now belong to.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from archive.store import Archive, now
from archive.store.schema import SCHEMA_VERSION

# Captures per transaction: a killed merge redoes at most this many.
BATCH = 200
_CAPTURE_COLUMNS = (
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


class MergeError(ValueError):
    """A file that cannot be merged: one line for the operator."""


@dataclass
class ShardMerged:
    shard: str
    crawl_id: str
    run_id: int
    captures: int = 0
    added: int = 0
    workers: list[str] = field(default_factory=list)
    added_by_run: dict[int, int] = field(default_factory=dict)


@dataclass
class CrawlMerged:
    crawl_id: str
    run_id: int
    status: str
    groups: int
    finished_groups: int
    captures: int


def open_shard(path: str | Path) -> sqlite3.Connection:
    """A worker's shard, for reading (a crashed worker's WAL is recovered on opening)."""
    path = Path(path)
    if not path.is_file():
        raise MergeError(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
    except sqlite3.OperationalError:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise MergeError(f"{path} is not a nianbao archive: {exc}") from None
    if version > SCHEMA_VERSION:
        conn.close()
        raise MergeError(
            f"{path} has schema version {version}, newer than this nianbao ({SCHEMA_VERSION}); "
            "upgrade nianbao"
        )
    if (
        "distributed_crawls" not in tables
        or not conn.execute("select 1 from distributed_crawls limit 1").fetchone()
    ):
        conn.close()
        raise MergeError(f"{path} is not a worker's shard (no distributed crawl in it)")
    conn.execute("PRAGMA query_only = ON")
    return conn


def merge_shards(
    shards: list[str | Path], into: str | Path
) -> tuple[list[ShardMerged], list[CrawlMerged]]:
    """Merge every shard into the archive ``into``; per shard and per crawl, what it did."""
    target = Path(into).resolve()
    for shard in shards:
        if Path(shard).resolve() == target:
            raise MergeError(f"{shard} is the archive merged into (--into)")
    merged: list[ShardMerged] = []
    touched: dict[str, int] = {}
    with Archive(target) as archive:
        for shard in shards:
            conn = open_shard(shard)
            try:
                for crawl in conn.execute("select * from distributed_crawls").fetchall():
                    result = _merge_crawl(archive, conn, dict(crawl), str(shard))
                    merged.append(result)
                    touched[result.crawl_id] = result.run_id
                    _finalise(archive, result.crawl_id, result.run_id)
            finally:
                conn.close()
        crawls = [_describe(archive, crawl_id, run_id) for crawl_id, run_id in touched.items()]
    return merged, crawls


def _target_run(archive: Archive, crawl: dict) -> int:
    """The archive's run for the distributed crawl, created on its first shard."""
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


def _merge_crawl(
    archive: Archive, shard: sqlite3.Connection, crawl: dict, path: str
) -> ShardMerged:
    run_id = _target_run(archive, crawl)
    result = ShardMerged(path, crawl["crawl_id"], run_id)
    workers = shard.execute(
        "select * from crawl_workers where crawl_id = ?", [crawl["crawl_id"]]
    ).fetchall()
    runs = [w["run_id"] for w in workers if w["run_id"] is not None]
    result.workers = [w["worker"] for w in workers]
    if runs:
        _merge_sites(archive, shard, runs)
        _merge_captures(archive, shard, runs, run_id, result)
    with archive.transaction():
        for lease in shard.execute(
            "select * from crawl_leases where crawl_id = ?", [crawl["crawl_id"]]
        ):
            _upsert_lease(archive, dict(lease), run_id)
        for worker in workers:
            counted = shard.execute(
                "select count(*) from captures where run_id = ?", [worker["run_id"]]
            ).fetchone()[0]
            added = result.added_by_run.get(worker["run_id"], 0)
            _upsert_worker(archive, dict(worker), run_id, counted, added)
    return result


def _merge_sites(archive: Archive, shard: sqlite3.Connection, runs: list[int]) -> None:
    """The shard's sites its captures name (the registry rows, as the worker had them)."""
    marks = ", ".join("?" for _ in runs)
    rows = shard.execute(
        f"select * from sites where site_id in (select distinct site_id from captures "
        f"where run_id in ({marks}))",
        runs,
    ).fetchall()
    known = {r[1] for r in archive.db.execute("PRAGMA table_info(sites)")}
    archive.load_sites([{k: r[k] for k in r if k in known and k != "loaded_at"} for r in rows])


def _merge_captures(
    archive: Archive, shard: sqlite3.Connection, runs: list[int], run_id: int, result: ShardMerged
) -> None:
    marks = ", ".join("?" for _ in runs)
    cursor = shard.execute(
        f"select id, run_id shard_run, {', '.join(_CAPTURE_COLUMNS)} from captures where run_id in ({marks}) "
        "order by id",
        runs,
    )
    pending = 0
    archive.db.conn.execute("BEGIN IMMEDIATE")
    try:
        for row in cursor:
            result.captures += 1
            row = dict(row)
            shard_run = row.pop("shard_run")
            if _add_capture(archive, shard, row, run_id):
                result.added += 1
                result.added_by_run[shard_run] = result.added_by_run.get(shard_run, 0) + 1
            pending += 1
            if pending >= BATCH:
                archive.db.conn.execute("COMMIT")
                archive.db.conn.execute("BEGIN IMMEDIATE")
                pending = 0
        archive.db.conn.execute("COMMIT")
    except BaseException:
        archive.db.conn.execute("ROLLBACK")
        raise


def _add_capture(archive: Archive, shard: sqlite3.Connection, row: dict, run_id: int) -> bool:
    """Add one shard capture to the run unless the run has that fetch already."""
    row.pop("id")
    record = {**row, "run_id": run_id}
    body_sha = row["sha256"]
    stored: sqlite3.Row | None = None
    if row["revisit_of"] is not None:  # the bytes are in another capture of the shard
        stored = shard.execute(
            "select url, sha256, body from captures where id = ?", [row["revisit_of"]]
        ).fetchone()
        body_sha = body_sha or (stored["sha256"] if stored else None)
    if _already_merged(archive, record, body_sha, run_id):
        return False
    if row["revisit_of"] is None:
        archive.add_fetch(record)  # a body seen before for the URL becomes a revisit
        return True
    holder = None
    if stored is not None:
        holder = archive.db.execute(
            "select id from captures where url = ? and sha256 = ? and body is not null "
            "order by id desc limit 1",
            [stored["url"], stored["sha256"]],
        ).fetchone()
    if holder is not None:
        archive.add_capture({**record, "revisit_of": holder[0]})
    else:  # the archive never got those bytes: this capture keeps them
        body = stored["body"] if stored is not None else None
        archive.add_capture({**record, "revisit_of": None, "body": body})
    return True


def _already_merged(archive: Archive, record: dict, body_sha: str | None, run_id: int) -> bool:
    # ``+run_id``: look the URL up by its index; the run's index would scan the whole run.
    if body_sha is not None:
        row = archive.db.execute(
            "select 1 from captures c left join captures b on b.id = c.revisit_of "
            "where +c.run_id = ? and c.url = ? and c.method is ? "
            "and coalesce(c.sha256, b.sha256) = ? limit 1",
            [run_id, record["url"], record["method"], body_sha],
        ).fetchone()
    else:
        row = archive.db.execute(
            "select 1 from captures where +run_id = ? and url = ? and method is ? "
            "and sha256 is null and revisit_of is null and body is null "
            "and status is ? and error is ? limit 1",
            [run_id, record["url"], record["method"], record["status"], record["error"]],
        ).fetchone()
    return row is not None


def _upsert_lease(archive: Archive, lease: dict, run_id: int) -> None:
    archive.db.conn.execute(
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


def _upsert_worker(archive: Archive, worker: dict, run_id: int, captures: int, added: int) -> None:
    archive.db.conn.execute(
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


def _finalise(archive: Archive, crawl_id: str, run_id: int) -> None:
    """The run's status, counts and per-site counts, from everything merged so far."""
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
    complete = finished >= groups
    status = "finished" if complete else f"partial: {finished} of {groups} site groups finished"
    stats = {
        "response_received_count": pages,
        "nianbao/distributed_crawl": crawl_id,
        "nianbao/site_groups": groups,
        "nianbao/site_groups_finished": finished,
        "nianbao/workers": workers,
    }
    archive.finish_run(run_id, status, stats)
    with archive.transaction():
        archive.update("crawl_runs", run_id, {"finished_at": ended if complete else None})
    site_ids = [s["site_id"] for s in json.loads(registry or "[]")]
    if not site_ids:
        site_ids = [
            r[0]
            for r in conn.execute(
                "select distinct site_id from captures where run_id = ?", [run_id]
            )
        ]
    archive.record_site_counts(run_id, [run_id], site_ids)


def _describe(archive: Archive, crawl_id: str, run_id: int) -> CrawlMerged:
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
    return CrawlMerged(crawl_id, run_id, status, groups, finished, captures)
