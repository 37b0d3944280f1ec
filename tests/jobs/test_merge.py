"""``nianbao merge``: shards of one crawl become one run — one capture per fetch, no body
twice, the same result in any order, idempotent, and whole after being killed at random
moments and run again."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from archive.store import Archive
from nianbao.merge import MergeError, merge_shards
from tests.crawling import command

CRAWL = "20250101T000000Z-abc123"
REGISTRY = [
    {"site_id": f"site{i}", "agency": f"机关{i}", "region_code": "410700",
     "start_url": f"http://s{i}.example.gov.cn/", "allowed_domains": f"s{i}.example.gov.cn"}
    for i in range(4)
]  # fmt: skip


def page(site: int, n: int, size: int = 200) -> tuple[str, bytes]:
    body = (f"<html>site {site} page {n} " + "年报" * size + "</html>").encode()
    return f"http://s{site}.example.gov.cn/p{n}.html", body


def make_shard(path, worker: str, fetches: list[dict], leases: list[tuple], crawl=CRAWL) -> None:
    """A worker's shard as a worker writes it: the crawl, the worker, its run, captures
    (through the archive's own add_fetch) and its leases."""
    with Archive(path) as archive:
        archive.load_sites(REGISTRY)
        run_id = archive.start_run(f"redis:nianbao:{crawl}", os.getpid())
        conn = archive.db.conn
        with archive.transaction():
            conn.execute(
                "insert or ignore into distributed_crawls (crawl_id, redis_prefix, sites_csv, "
                "enqueued_at, sites, site_groups, registry) values (?, 'nianbao', '/r.csv', "
                "'2025-01-01T00:00:00+00:00', 4, 4, ?)",
                [crawl, json.dumps(REGISTRY, ensure_ascii=False)],
            )
            conn.execute(
                "insert into crawl_workers (worker, crawl_id, run_id, host, pid, shard, "
                "started_at) values (?, ?, ?, 'h', 1, ?, '2025-01-01T00:00:01+00:00')",
                [worker, crawl, run_id, str(path)],
            )
            for group, attempt, outcome in leases:
                conn.execute(
                    "insert into crawl_leases (crawl_id, group_id, attempt, site_ids, worker, "
                    "run_id, claimed_at, ended_at, outcome) values (?, ?, ?, ?, ?, ?, "
                    "'2025-01-01T00:00:02+00:00', ?, ?)",
                    [crawl, group, attempt, json.dumps([group]), worker, run_id,
                     "2025-01-01T00:10:00+00:00" if outcome else None, outcome],
                )  # fmt: skip
        with archive.transaction():
            for fetch in fetches:
                archive.add_fetch(
                    {"run_id": run_id, "method": "GET", "role": "report", "fetched_at": "t"} | fetch
                )


def fetch(site: int, n: int, **extra) -> dict:
    url, body = page(site, n)
    return {"site_id": f"site{site}", "url": url, "final_url": url, "status": 200,
            "body": body, **extra}  # fmt: skip


def summary(db) -> dict:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        return {
            "captures": sorted(
                conn.execute(
                    "select c.url, coalesce(c.sha256, b.sha256), c.role, c.site_id, c.status, "
                    "c.error from captures c left join captures b on b.id = c.revisit_of"
                ).fetchall()
            ),
            "bodies": sorted(
                conn.execute(
                    "select url, sha256, count(*) from captures where body is not null "
                    "group by url, sha256"
                ).fetchall()
            ),
            "runs": conn.execute("select id, status from crawl_runs").fetchall(),
            "leases": sorted(
                conn.execute("select group_id, attempt, outcome from crawl_leases").fetchall()
            ),
            "site_counts": sorted(
                conn.execute(
                    "select site_id, pages_fetched, failed, new from crawl_site_counts"
                ).fetchall()
            ),
            "coverage": conn.execute("select * from site_coverage order by site_id").fetchall(),
        }
    finally:
        conn.close()


@pytest.fixture
def shards(tmp_path):
    """Site group site1 was crawled twice: its first worker (shard a) died after two
    pages; shard b crawled it whole. One failure, a 404, a POST listing, a revisit."""
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    make_shard(
        a,
        "w-a",
        [fetch(0, n) for n in range(3)]
        + [fetch(1, 0), fetch(1, 1)]
        + [
            {
                "site_id": "site0",
                "url": "http://s0.example.gov.cn/gone",
                "status": None,
                "error": "TimeoutError: took too long",
            }
        ],  # fmt: skip
        [("site0", 1, "finished"), ("site1", 1, None)],
    )
    dataproxy = "http://s2.example.gov.cn/dataproxy.jsp"
    make_shard(
        b,
        "w-b",
        [fetch(1, n) for n in range(4)]
        + [fetch(2, 0), fetch(2, 0, url=dataproxy, method="POST", body=b"<xml>page 1</xml>")]
        + [fetch(2, 0, url=dataproxy, method="POST", body=b"<xml>page 2</xml>")]
        + [fetch(3, 0, status=404), fetch(3, 1)],
        [("site1", 2, "finished"), ("site2", 1, "finished"), ("site3", 1, "finished")],
    )
    return a, b


def test_a_group_crawled_twice_merges_to_one_capture_per_fetch(shards, tmp_path):
    a, b = shards
    merged, crawls = merge_shards([a, b], tmp_path / "main.db")
    assert [(m.captures, m.added) for m in merged] == [(6, 6), (9, 7)]  # site1 p0, p1 twice
    [crawl] = crawls
    assert (crawl.status, crawl.groups, crawl.finished_groups) == ("finished", 4, 4)
    got = summary(tmp_path / "main.db")
    assert len(got["captures"]) == 13
    assert {c[0] for c in got["captures"]} >= {page(1, n)[0] for n in range(4)}
    assert all(count == 1 for *_, count in got["bodies"])
    assert got["runs"] == [(1, "finished")]
    posts = [c for c in got["captures"] if c[0].endswith("dataproxy.jsp")]
    assert len(posts) == 2  # same URL, different pages: both kept
    assert ("site1", 1, None) in got["leases"] and ("site1", 2, "finished") in got["leases"]


def test_the_sites_come_over_as_the_registry_had_them(shards, tmp_path):
    """Each site the shards' captures name is one row of ``sites``, with its registry
    fields — merged twice, still one row each and no row without a site."""
    a, b = shards
    main = tmp_path / "main.db"
    merge_shards([a, b], main)
    merge_shards([a], main)
    conn = sqlite3.connect(main)
    try:
        rows = conn.execute(
            "select site_id, agency, region_code, start_url, allowed_domains from sites "
            "order by site_id"
        ).fetchall()
    finally:
        conn.close()
    named = {c[0].split("//")[1].split(".")[0][1:] for c in summary(main)["captures"]}
    expected = [
        tuple(r[k] for k in ("site_id", "agency", "region_code", "start_url", "allowed_domains"))
        for r in REGISTRY
        if r["site_id"][4:] in named
    ]
    assert rows == expected


def test_coverage_comes_from_the_merged_shards(shards, tmp_path):
    """What the workers' crawls proved of each registry row is the archive's coverage
    after the merge, as a crawl by one process would have recorded it."""
    a, b = shards
    main = tmp_path / "main.db"
    merge_shards([a, b], main)
    conn = sqlite3.connect(main)
    try:
        rows = conn.execute(
            "select site_id, proven, reports_found, last_status, reports_first_at "
            "from site_coverage order by site_id"
        ).fetchall()
    finally:
        conn.close()
    # every shard capture is a report page fetched at "t" (make_shard); site3's first is a 404
    assert rows == [
        ("site0", "reports_found", 3, "ok", "t"),
        ("site1", "reports_found", 4, "ok", "t"),
        ("site2", "reports_found", 2, "ok", "t"),  # a page and the POST listing URL
        ("site3", "reports_found", 1, "ok", "t"),
    ]


def test_order_and_repetition_do_not_matter(shards, tmp_path):
    a, b = shards
    merge_shards([a, b], tmp_path / "ab.db")
    merge_shards([b], tmp_path / "ba.db")
    partial = summary(tmp_path / "ba.db")
    assert partial["runs"] == [(1, "partial: 3 of 4 site groups finished")]
    merge_shards([a, b, a], tmp_path / "ba.db")
    assert summary(tmp_path / "ab.db") == summary(tmp_path / "ba.db")


def test_a_body_already_archived_becomes_a_revisit(shards, tmp_path):
    a, b = shards
    main = tmp_path / "main.db"
    with Archive(main) as archive:  # last night's crawl, on one machine
        archive.load_sites(REGISTRY)
        run = archive.start_run("/r.csv", 1)
        archive.add_fetch({**fetch(0, 0), "run_id": run, "method": "GET", "role": "report"})
    merge_shards([a, b], main)
    conn = sqlite3.connect(main)
    url, body = page(0, 0)
    rows = conn.execute(
        "select run_id, body is not null, revisit_of from captures where url = ? order by id",
        [url],
    ).fetchall()
    assert rows == [(1, 1, None), (2, 0, 1)]
    assert (
        conn.execute("select sha256 from captures where url = ? and run_id = 2", [url]).fetchone()[
            0
        ]
        == hashlib.sha256(body).hexdigest()
    )
    conn.close()


def test_what_cannot_be_merged_is_one_line(tmp_path, shards):
    plain = tmp_path / "plain.db"
    Archive(plain).close()
    with pytest.raises(MergeError, match="not a worker's shard"):
        merge_shards([plain], tmp_path / "main.db")
    with pytest.raises(MergeError, match="is the archive merged into"):
        merge_shards([shards[0]], shards[0])
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "nianbao", "merge", str(tmp_path / "junk.db"), "--into",
         str(tmp_path / "main.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("nianbao merge: error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def big_shards(tmp_path):
    """Shards big enough for a merge to take a while (the kill lands inside it)."""
    a, b = tmp_path / "big-a.db", tmp_path / "big-b.db"
    make_shard(
        a,
        "w-a",
        [fetch(s, n) | {"body": page(s, n, 3000)[1]} for s in (0, 1) for n in range(400)],
        [("site0", 1, "finished"), ("site1", 1, None)],
    )
    make_shard(
        b,
        "w-b",
        [fetch(s, n) | {"body": page(s, n, 3000)[1]} for s in (1, 2, 3) for n in range(400)],
        [("site1", 2, "finished"), ("site2", 1, "finished"), ("site3", 1, "finished")],
    )
    return a, b


def merged_captures(db) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("select count(*) from captures").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("seed", [3, 5])
def test_a_merge_killed_at_random_moments_completes_when_run_again(big_shards, tmp_path, seed):
    rng = random.Random(seed)
    whole = tmp_path / "whole.db"
    started = time.monotonic()
    merge_shards(list(big_shards), whole)
    duration = time.monotonic() - started
    killed = tmp_path / "killed.db"
    merge = command("merge", *map(str, big_shards), "--into")
    interrupted = 0
    for _ in range(2):
        before = merged_captures(killed)
        proc = subprocess.Popen(
            [*merge, str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while merged_captures(killed) == before and proc.poll() is None:  # it is merging
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(rng.uniform(0, duration * 0.7))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            interrupted += 1
        proc.wait()
    assert interrupted, "every merge ended before its kill"
    subprocess.run([*merge, str(killed)], check=True, capture_output=True, timeout=120)
    assert summary(killed) == summary(whole)
    assert len(summary(whole)["captures"]) == 1600  # site1's 400 pages once
