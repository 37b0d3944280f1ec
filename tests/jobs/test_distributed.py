"""A crawl on several machines, for real: a Redis server, two worker processes on the
simulated web, one of them killed (SIGKILL) at a seeded random moment in the middle of
its sites, and the merged archive compared with a single-process crawl of the same world."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict

import pytest

from archive.jobs.merge import merge_shards
from archive.jobs.process import process_captures
from archive.store import Archive
from crawler.leases import SiteQueue, connect
from simweb.process import SimWeb

# One connection per host and a small delay, as in the resume test: slow enough for a
# worker to be killed in the middle of its sites. Short leases (a killed worker's sites
# come back within 8 s) need a download timeout under two thirds of them.
STEADY = [
    "-s",
    "DOWNLOAD_DELAY=0.03",
    "-s",
    "RANDOMIZE_DOWNLOAD_DELAY=False",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=1",
    "-s",
    "DOWNLOAD_TIMEOUT=5",
    "-s",
    "LOG_LEVEL=INFO",
]
LEASE_TTL = "8"


def nianbao(*args: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "archive", *args], capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"nianbao {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
        )
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The default world, the CMS sites (POST and JSON listings), a moved site and small
    sites: 12 site groups; every request logged with its User-Agent."""
    with SimWeb(
        tmp_path_factory.mktemp("distributed-web"),
        seed=0,
        extra=("hanweb", "gkmlpt", "moved"),
        scale=6,
        log_requests=True,
    ) as web:
        yield web


def content(db) -> dict:
    """What must be equal: captures by URL, SHA-256, role and site; no body stored twice;
    the reports, their cells and findings; the per-site counts."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        return {
            "captures": sorted(
                conn.execute("select url, sha256, role, site_id from captures").fetchall()
            ),
            "stored_twice": conn.execute(
                "select url, sha256 from captures where body is not null "
                "group by url, sha256 having count(*) > 1"
            ).fetchall(),
            "reports": sorted(
                conn.execute(
                    "select url, sha256, year, template, parse_status, cell_count, "
                    "finding_count from reports"
                ).fetchall()
            ),
            "cells": conn.execute("select count(*), total(value) from cells").fetchone(),
            "site_counts": sorted(
                conn.execute(
                    "select site_id, pages_fetched, failed, failed_by_reason, reports_found, "
                    "new from crawl_site_counts"
                ).fetchall()
            ),
        }
    finally:
        conn.close()


@pytest.fixture(scope="module")
def single_process(world, tmp_path_factory):
    db = tmp_path_factory.mktemp("single") / "archive.db"
    nianbao("crawl", "--sites", str(world.sites_csv), "--db", str(db), *STEADY)
    nianbao("process", "--db", str(db))
    return content(db)


def captures_in(db) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("select count(*) from captures").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def start_worker(redis_url: str, prefix: str, shard, name: str, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "archive", "crawl", "--redis", redis_url]
        + ["--redis-prefix", prefix, "--worker", "--db", str(shard), "--sites-at-once", "3"]
        + [*STEADY, "-s", f"USER_AGENT=nianbao-test-{name}"],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def hosts_by_worker(web: SimWeb, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Per host, the workers that asked it, in the order their requests arrived."""
    order: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for request in web.requests():
        ua = request.get("ua") or ""
        for name in names:
            if ua.endswith(f"nianbao-test-{name}"):
                order[request["host"]].append((request["t"], name))
    return {host: [name for _, name in sorted(seq)] for host, seq in order.items()}


@pytest.mark.parametrize("seed", [7, 11])
def test_two_workers_one_killed_merge_to_the_single_process_archive(
    world, single_process, redis_url, tmp_path, seed
):
    rng = random.Random(seed)
    prefix = f"t{seed}-{uuid.uuid4().hex[:6]}"
    redis = ["--redis", redis_url, "--redis-prefix", prefix]
    nianbao("crawl", *redis, "--enqueue", "--sites", str(world.sites_csv), "--lease-ttl", LEASE_TTL)
    names = (f"victim{seed}", f"survivor{seed}")
    shards = [tmp_path / f"shard-{name}.db" for name in names]
    logs = [open(tmp_path / f"{name}.log", "wb") for name in names]  # noqa: SIM115
    victim, survivor = (
        start_worker(redis_url, prefix, shard, name, log)
        for shard, name, log in zip(shards, names, logs, strict=True)
    )
    try:
        # Killed at a random moment: after a random number of its captures are stored.
        kill_after = rng.randint(1, 30)
        deadline = time.monotonic() + 60
        while captures_in(shards[0]) < kill_after:
            assert victim.poll() is None, "the victim finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        assert survivor.wait(timeout=90) == 0, (tmp_path / f"{names[1]}.log").read_text()[-3000:]
    finally:
        for proc in (victim, survivor):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()

    # The victim died holding groups (no end recorded in its shard); the survivor took
    # them over and the crawl is complete, nothing failed.
    conn = sqlite3.connect(shards[0])
    cut_short = conn.execute("select group_id from crawl_leases where outcome is null").fetchall()
    conn.close()
    assert cut_short, "the victim was not killed in the middle of a site group"
    queue = SiteQueue(connect(redis_url), prefix)
    status = queue.status(queue.current())
    assert status["counts"]["queued"] == status["counts"]["leased"] == 0
    assert status["counts"]["failed"] == 0 and status["counts"]["done"] == 12
    conn = sqlite3.connect(shards[1])
    [(survivor_id,)] = conn.execute("select worker from crawl_workers").fetchall()
    conn.close()
    for (group,) in cut_short:
        assert status["done"][group]["worker"] == survivor_id
        assert status["done"][group]["attempt"] >= 2

    # A host is never asked by two workers at once: per host, the victim's requests all
    # come before the survivor's (at most one change of worker, never back).
    for host, sequence in hosts_by_worker(world, names).items():
        changes = [i for i in range(1, len(sequence)) if sequence[i] != sequence[i - 1]]
        assert len(changes) <= 1 and (not changes or sequence[0] == names[0]), (host, sequence)

    merged = tmp_path / "merged.db"
    merge_shards(shards, merged)
    with Archive(merged) as archive:
        process_captures(archive)
    got = content(merged)
    assert got["stored_twice"] == []
    assert got["captures"] == single_process["captures"]
    assert got["reports"] == single_process["reports"]
    assert got["cells"] == single_process["cells"]
    assert got["site_counts"] == single_process["site_counts"]

    # Merging again (one shard, then both) changes nothing; the run is one finished crawl.
    again = nianbao("merge", str(shards[1]), str(shards[0]), "--into", str(merged))
    assert "0 added" in again.stderr and "finished (12 of 12 site groups" in again.stderr
    assert content(merged) == got
    conn = sqlite3.connect(merged)
    runs = conn.execute("select status, sites_csv from crawl_runs").fetchall()
    leases = conn.execute(
        "select group_id, outcome from crawl_leases where outcome = 'finished'"
    ).fetchall()
    conn.close()
    assert runs == [("finished", str(world.sites_csv.resolve()))]
    assert len({g for g, _ in leases}) == 12
