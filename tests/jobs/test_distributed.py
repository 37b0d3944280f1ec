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
from datetime import datetime

import pytest
from click.testing import CliRunner, Result

from archive.store import Archive
from crawler.distributed.leases import SiteQueue, connect
from nianbao.cli import main
from nianbao.merge import merge_shards
from nianbao.process import process_captures
from simweb.process import SimWeb
from tests.crawling import command, nianbao

pytestmark = [pytest.mark.redis, pytest.mark.e2e, pytest.mark.timing]

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


def cli(*args: str) -> Result:
    """``nianbao`` in this process, for the commands that start no crawl."""
    return CliRunner().invoke(main, list(args))


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
            # Every cell by its report's URL and bytes (a float total would depend on the
            # order of summation, that is on the row order).
            "cells": sorted(
                conn.execute(
                    "select r.url, r.sha256, c.table_key, c.row_key, c.col_key, c.value, c.raw "
                    "from cells c join reports r on r.id = c.report_id"
                ).fetchall(),
                key=repr,
            ),
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
        command("crawl", "--redis", redis_url)
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
    enqueued = cli(
        "crawl", *redis, "--enqueue", "--sites", str(world.sites_csv), "--lease-ttl", LEASE_TTL
    )
    assert enqueued.exit_code == 0, enqueued.output
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
    again = cli("merge", str(shards[1]), str(shards[0]), "--into", str(merged))
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


# -- the operator's side: errors, waiting, status, stopping ------------------------------


def test_an_unreachable_redis_is_one_line_and_status_2(tmp_path):
    for mode in (["--enqueue"], ["--worker", "--db", str(tmp_path / "s.db")]):
        result = cli("crawl", "--redis", "redis://127.0.0.1:1/0", *mode)
        assert result.exit_code == 2, (mode, result.output)
        assert result.stderr.startswith("nianbao crawl: error: cannot reach Redis at redis://")
    result = nianbao("crawl", "--redis", "redis://:pw@127.0.0.1:1/0", "--status", ok=None)
    assert result.returncode == 2
    assert result.stderr.startswith("nianbao crawl: error: cannot reach Redis at redis://:***@")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_redis_options_are_checked_before_anything_runs(redis_url, tmp_path):
    both = cli("crawl", "--redis", redis_url, "--enqueue", "--status")
    assert both.exit_code == 2 and "one of --enqueue, --worker" in both.stderr
    no_shard = cli("crawl", "--redis", redis_url, "--worker")
    assert no_shard.exit_code == 2 and "give --db" in no_shard.stderr
    prefix = ["--redis-prefix", f"none-{uuid.uuid4().hex[:6]}"]
    status = cli("crawl", "--redis", redis_url, *prefix, "--status")
    assert status.exit_code == 2 and "no crawl on redis://" in status.stderr
    bad = cli("crawl", "--redis", redis_url, "--redis-prefix", "a b", "--status")
    assert bad.exit_code == 2 and "--redis-prefix 'a b'" in bad.stderr
    short = cli("crawl", "--redis", redis_url, *prefix, "--enqueue", "--lease-ttl", "30")
    assert short.exit_code == 0  # the bundled registry
    again = cli("crawl", "--redis", redis_url, *prefix, "--enqueue")
    assert again.exit_code == 2 and "is not finished" in again.stderr
    worker = cli("crawl", "--redis", redis_url, *prefix, "--worker", "--db", str(tmp_path / "s"))
    assert worker.exit_code == 2 and "too short for DOWNLOAD_TIMEOUT 60" in worker.stderr


def test_a_worker_without_work_waits_or_stops_as_told(redis_url, tmp_path):
    prefix = ["--redis-prefix", f"idle-{uuid.uuid4().hex[:6]}"]
    shard = ["--db", str(tmp_path / "s.db")]
    now = cli("crawl", "--redis", redis_url, *prefix, "--worker", *shard, "--no-wait")
    assert now.exit_code == 0
    assert "no crawl is enqueued" in now.stderr and "nothing to do (--no-wait)" in now.stderr
    started = time.monotonic()
    later = cli("crawl", "--redis", redis_url, *prefix, "--worker", *shard, "--max-idle", "3")
    assert later.exit_code == 0 and time.monotonic() - started >= 3
    assert (
        "waiting for the next one" in later.stderr and "stopped waiting after 3 s" in later.stderr
    )
    assert not (tmp_path / "s.db").exists()  # nothing crawled, nothing written


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    """Three small sites and a slow one (1.5 s a page), and a registry where a second
    agency shares the first site's host: four groups of five sites."""
    out = tmp_path_factory.mktemp("small-web")
    with SimWeb(out, extra=("slow",), scale=3, default_world=False) as web:
        lines = web.sites_csv.read_text(encoding="utf-8").splitlines()
        first = next(line for line in lines if line.startswith("scale-00000,"))
        fields = first.split(",")
        fields[0], fields[5] = "scale-00000-column", fields[5] + "xxgknb/index.html"
        registry = out / "registry.csv"
        registry.write_text("\n".join([*lines, ",".join(fields)]) + "\n", encoding="utf-8")
        yield web, registry


def worker_command(redis_url, prefix, shard, *extra) -> list[str]:
    return [
        sys.executable, "-m", "nianbao", "crawl", "--redis", redis_url, "--redis-prefix", prefix,
        "--worker", "--db", str(shard), "-s", "DOWNLOAD_TIMEOUT=4", "-s", "LOG_LEVEL=INFO",
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", *extra,
    ]  # fmt: skip


def test_sites_sharing_a_host_are_crawled_as_one_group(small_world, redis_url, tmp_path):
    web, registry = small_world
    prefix = f"group-{uuid.uuid4().hex[:6]}"
    redis = ["--redis", redis_url, "--redis-prefix", prefix]
    enqueued = cli("crawl", *redis, "--enqueue", "--sites", str(registry), "--lease-ttl", "8")
    assert "5 sites in 4 site groups" in enqueued.stderr
    shown = cli("crawl", *redis, "--status").stdout
    assert "5 sites in 4 site groups: 0 done, 0 leased, 4 queued, 0 failed" in shown
    shard = tmp_path / "shard.db"
    worker = subprocess.run(
        worker_command(redis_url, prefix, shard, "--sites-at-once", "1"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert "4 site groups finished, 0 lost, 0 given back" in worker.stderr
    done = cli("crawl", *redis, "--status").stdout
    assert "4 done, 0 leased, 0 queued, 0 failed" in done and "workers:" in done
    conn = sqlite3.connect(shard)
    leases = conn.execute("select group_id, site_ids, outcome from crawl_leases").fetchall()
    starts = conn.execute("select site_id from captures where role = 'start'").fetchall()
    conn.close()
    assert ("scale-00000", '["scale-00000", "scale-00000-column"]', "finished") in leases
    assert {s for (s,) in starts} == {
        "scale-00000", "scale-00000-column", "scale-00001", "scale-00002", "sim-slow"
    }  # fmt: skip


def log_time(log: str, marker: str) -> datetime:
    """When the worker logged the first line holding ``marker``."""
    line = next(line for line in log.splitlines() if marker in line)
    return datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")


def leased_in(shard, group: str) -> bool:
    """Has the worker taken the group (its lease recorded in its shard)?"""
    try:
        conn = sqlite3.connect(f"file:{shard}?mode=ro", uri=True, timeout=1)
        try:
            return bool(
                conn.execute("select 1 from crawl_leases where group_id = ?", [group]).fetchone()
            )
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def held_by(queue: SiteQueue, group: str) -> bool:
    return any(lease["group"] == group for lease in queue.status(queue.current())["leased"])


def test_a_stopped_worker_gives_its_groups_back(small_world, redis_url, tmp_path):
    web, registry = small_world
    prefix = f"stop-{uuid.uuid4().hex[:6]}"
    cli(
        "crawl", "--redis", redis_url, "--redis-prefix", prefix, "--enqueue", "--sites",
        str(web.sites_csv), "--lease-ttl", "30",
    )  # fmt: skip
    queue = SiteQueue(connect(redis_url), prefix)
    shard = tmp_path / "shard.db"
    proc = subprocess.Popen(
        worker_command(redis_url, prefix, shard),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not leased_in(shard, "sim-slow"):  # the slow site takes seconds a page
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert "stopped (shutdown)" in err and "given back" in err
    status = queue.status(queue.current())
    # Given back at once, or once its downloads can have ended (DOWNLOAD_TIMEOUT), not
    # after the 30 s lease: and not counted as a failure of the group.
    assert held_by(queue, "sim-slow") is False or status["leased"][0]["expires_in"] <= 4
    conn = sqlite3.connect(shard)
    outcome = conn.execute(
        "select outcome, reason from crawl_leases where group_id = 'sim-slow'"
    ).fetchone()
    conn.close()
    assert outcome == ("released", "the worker stopped (shutdown)")


def test_a_worker_that_loses_redis_stops_with_one_line(small_world, tmp_path):
    from tests.conftest import start_redis

    web, _ = small_world
    server, url = start_redis(tmp_path)
    try:
        prefix = "lost"
        cli(
            "crawl", "--redis", url, "--redis-prefix", prefix, "--enqueue", "--sites",
            str(web.sites_csv), "--lease-ttl", "6",
        )  # fmt: skip
        proc = subprocess.Popen(
            worker_command(url, prefix, tmp_path / "shard.db", "-s", "DOWNLOAD_TIMEOUT=3"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not leased_in(tmp_path / "shard.db", "sim-slow"):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        server.kill()
        server.wait()
        _, err = proc.communicate(timeout=90)
    finally:
        if server.poll() is None:
            server.kill()
    assert proc.returncode == 1
    # It stops a lease after it found Redis gone (its log's clock; 1 s resolution, one
    # heartbeat of 1 s), whatever the time the process then takes to exit.
    noticed = log_time(err, "ERROR: Redis unreachable")
    closed = log_time(err, "Spider closed (redis_unreachable)")
    assert 6 <= (closed - noticed).total_seconds() <= 6 + 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("nianbao crawl: error: lost Redis at redis://127.0.0.1:")
    conn = sqlite3.connect(tmp_path / "shard.db")
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    outcomes = dict(conn.execute("select group_id, outcome from crawl_leases").fetchall())
    conn.close()
    assert outcomes["sim-slow"] in ("lost", "released", "finished")


def test_the_redis_options_defaults_are_the_leases_own():
    """``nianbao crawl``'s options name the defaults without importing crawler/ (the
    start-up check must run before it is imported); they must be crawler.distributed.leases' values."""
    from crawler.distributed import leases
    from nianbao.workers import DEFAULTS

    assert DEFAULTS == {
        "prefix": leases.DEFAULT_PREFIX,
        "lease_ttl": leases.DEFAULT_LEASE_TTL,
        "max_expiries": leases.DEFAULT_MAX_EXPIRIES,
    }
