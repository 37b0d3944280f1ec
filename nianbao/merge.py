"""``nianbao merge SHARD… --into DB``: the workers' shards become one crawl run.

One SQLite file has one writer, so each worker of a crawl on several machines writes its
own archive (its shard), and the shards are merged afterwards — by any machine that
can read them, at any time, in any order, as often as wanted:

* **one crawl, one run**: every capture of a distributed crawl goes into one
  ``crawl_runs`` row of the archive (``distributed_crawls.run_id``), as if one process
  had crawled the registry; ``crawl_site_counts`` and the run's status are recomputed
  after each shard (``finished`` once every site group has a finished lease), and what
  the run proved of each registry row widens its coverage (``site_coverage``: the same
  whatever order the shards come in, however often);
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
from dataclasses import dataclass, field
from pathlib import Path

from archive.store import Archive
from archive.store.shards import (
    Shard,
    ShardError,
    body_holder,
    crawl_progress,
    crawl_run,
    crawl_state,
    fetch_in_run,
    finish_merged_run,
    merge_lease,
    merge_worker,
    run_site_ids,
    site_columns,
)

# Captures per transaction: a killed merge redoes at most this many.
BATCH = 200


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


def open_shard(path: str | Path) -> Shard:
    """A worker's shard, for reading (a crashed worker's WAL is recovered on opening)."""
    try:
        return Shard(path)
    except ShardError as exc:
        raise MergeError(str(exc)) from None


def merge_shards(
    shards: list[str | Path], into: str | Path
) -> tuple[list[ShardMerged], list[CrawlMerged]]:
    """Merge every shard into the archive ``into``; per shard and per crawl, what it did."""
    target = Path(into).resolve()
    for path in shards:
        if Path(path).resolve() == target:
            raise MergeError(f"{path} is the archive merged into (--into)")
    merged: list[ShardMerged] = []
    touched: dict[str, int] = {}
    with Archive(target) as archive:
        for path in shards:
            with open_shard(path) as shard:
                for crawl in shard.crawls():
                    result = _merge_crawl(archive, shard, crawl, str(path))
                    merged.append(result)
                    touched[result.crawl_id] = result.run_id
                    _finalise(archive, result.crawl_id, result.run_id)
        crawls = [_describe(archive, crawl_id, run_id) for crawl_id, run_id in touched.items()]
    return merged, crawls


def _merge_crawl(archive: Archive, shard: Shard, crawl: dict, path: str) -> ShardMerged:
    run_id = crawl_run(archive, crawl)
    result = ShardMerged(path, crawl["crawl_id"], run_id)
    workers = shard.workers(crawl["crawl_id"])
    runs = [w["run_id"] for w in workers if w["run_id"] is not None]
    result.workers = [w["worker"] for w in workers]
    if runs:
        _merge_sites(archive, shard, runs)
        _merge_captures(archive, shard, runs, run_id, result)
    with archive.transaction():
        for lease in shard.leases(crawl["crawl_id"]):
            merge_lease(archive, lease, run_id)
        for worker in workers:
            counted = shard.capture_count(worker["run_id"])
            added = result.added_by_run.get(worker["run_id"], 0)
            merge_worker(archive, worker, run_id, counted, added)
    return result


def _merge_sites(archive: Archive, shard: Shard, runs: list[int]) -> None:
    """The shard's sites its captures name (the registry rows, as the worker had them)."""
    rows = shard.sites(runs)
    known = site_columns(archive)
    archive.load_sites([{k: r[k] for k in r if k in known and k != "loaded_at"} for r in rows])


def _merge_captures(
    archive: Archive, shard: Shard, runs: list[int], run_id: int, result: ShardMerged
) -> None:
    captures = shard.captures(runs)
    with archive.batches(BATCH) as done_one:
        for row in captures:
            result.captures += 1
            shard_run = row.pop("shard_run")
            if _add_capture(archive, shard, row, run_id):
                result.added += 1
                result.added_by_run[shard_run] = result.added_by_run.get(shard_run, 0) + 1
            done_one()


def _add_capture(archive: Archive, shard: Shard, row: dict, run_id: int) -> bool:
    """Add one shard capture to the run unless the run has that fetch already."""
    row.pop("id")
    record = {**row, "run_id": run_id}
    body_sha = row["sha256"]
    stored = None
    if row["revisit_of"] is not None:  # the bytes are in another capture of the shard
        stored = shard.stored_body(row["revisit_of"])
        body_sha = body_sha or (stored["sha256"] if stored else None)
    if fetch_in_run(archive, run_id, record, body_sha):
        return False
    if row["revisit_of"] is None:
        archive.add_fetch(record)  # a body seen before for the URL becomes a revisit
        return True
    holder = None
    if stored is not None:
        holder = body_holder(archive, stored["url"], stored["sha256"])
    if holder is not None:
        archive.add_capture({**record, "revisit_of": holder})
    else:  # the archive never got those bytes: this capture keeps them
        body = stored["body"] if stored is not None else None
        archive.add_capture({**record, "revisit_of": None, "body": body})
    return True


def _finalise(archive: Archive, crawl_id: str, run_id: int) -> None:
    """The run's status, counts and per-site counts, from everything merged so far."""
    progress = crawl_progress(archive, crawl_id, run_id)
    groups, finished = progress["groups"], progress["finished"]
    complete = finished >= groups
    status = "finished" if complete else f"partial: {finished} of {groups} site groups finished"
    stats = {
        "response_received_count": progress["pages"],
        "nianbao/distributed_crawl": crawl_id,
        "nianbao/site_groups": groups,
        "nianbao/site_groups_finished": finished,
        "nianbao/workers": progress["workers"],
    }
    finish_merged_run(archive, run_id, status, stats, progress["ended"] if complete else None)
    site_ids = [s["site_id"] for s in json.loads(progress["registry"] or "[]")]
    if not site_ids:
        site_ids = run_site_ids(archive, run_id)
    archive.record_site_counts(run_id, [run_id], site_ids)


def _describe(archive: Archive, crawl_id: str, run_id: int) -> CrawlMerged:
    state = crawl_state(archive, crawl_id, run_id)
    return CrawlMerged(
        crawl_id, run_id, state["status"], state["groups"], state["finished"], state["captures"]
    )
