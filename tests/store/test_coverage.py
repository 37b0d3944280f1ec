"""Coverage: per registry row, what the crawls have proven, widened by every crawl and
never narrowed — the same whatever order runs are recorded in, and however often."""

from __future__ import annotations

import sqlite3

import pytest

from archive.store import Archive
from archive.store import database as store
from tests.store.test_registry import migration_of

SITES = ["reports", "column", "portal", "dead", "unreached"]


def site(site_id: str) -> dict:
    return {
        "site_id": site_id,
        "agency": f"{site_id}局",
        "region_code": "410711",
        "start_url": f"http://{site_id}.example.gov.cn/",
    }


def capture(site_id: str, path: str, when: str, **fields) -> dict:
    return {
        "site_id": site_id,
        "url": f"http://{site_id}.example.gov.cn/{path}",
        "method": "GET",
        "status": 200,
        "role": "start",
        "body": f"{site_id} {path} {when}".encode(),
        "fetched_at": when,
        **fields,
    }


def crawl(archive: Archive, captures: list[dict]) -> int:
    """One crawl run of every site, with these captures; its per-site counts recorded."""
    run_id = archive.start_run("sites.csv", 1)
    for item in captures:
        archive.add_fetch({**item, "run_id": run_id})
    archive.record_site_counts(run_id, [run_id], SITES)
    return run_id


def coverage(archive: Archive) -> dict[str, dict]:
    archive.db.conn.row_factory = sqlite3.Row
    try:
        rows = archive.db.conn.execute("select * from site_coverage order by site_id")
        return {r["site_id"]: dict(r) for r in rows}
    finally:
        archive.db.conn.row_factory = None


DAY1 = [
    capture("reports", "", "2026-01-01T01:00:00+00:00"),
    capture("reports", "nb/2024.html", "2026-01-01T01:00:05+00:00", role="report"),
    capture("column", "", "2026-01-01T02:00:00+00:00"),
    # a report link followed, but the report page is gone: the column is proven, no report
    capture("column", "nb/2024.html", "2026-01-01T02:00:03+00:00", role="report", status=404),
    capture("portal", "", "2026-01-01T03:00:00+00:00"),
    capture(
        "dead",
        "",
        "2026-01-01T04:00:00+00:00",
        status=None,
        body=None,
        error="dns_failed: DNSLookupError: no such host",
    ),  # fmt: skip
]
DAY2 = [
    capture(
        "reports",
        "",
        "2026-01-02T01:00:00+00:00",
        status=None,
        body=None,
        error="timeout: DownloadTimeoutError: took too long",
    ),  # fmt: skip
    capture("portal", "", "2026-01-02T03:00:00+00:00"),
    capture("portal", "nb/2024.html", "2026-01-02T03:00:02+00:00", role="report"),
]


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        archive.load_sites([site(s) for s in SITES])
        yield archive


def test_one_crawl_proves_each_row_as_far_as_it_got(archive):
    crawl(archive, DAY1)
    got = coverage(archive)
    assert {s: got[s]["proven"] for s in SITES} == {
        "reports": "reports_found",
        "column": "column_found",
        "portal": "portal_answered",
        "dead": "never_fetched",
        "unreached": "never_fetched",
    }
    reports = got["reports"]
    # the time of a proof is when the crawl read the site: its newest capture
    assert reports["reports_first_at"] == reports["reports_last_at"] == "2026-01-01T01:00:05+00:00"
    assert reports["answered_first_at"] == reports["column_first_at"] == reports["reports_first_at"]
    assert reports["reports_found"] == 1 and reports["last_status"] == "ok"
    assert got["column"]["column_first_at"] and got["column"]["reports_first_at"] is None
    assert got["portal"]["answered_first_at"] and got["portal"]["column_first_at"] is None
    dead = got["dead"]
    assert dead["answered_first_at"] is None and dead["last_status"] == "dns_failed"
    assert dead["last_error"].startswith("dns_failed: ") and "no such host" in dead["last_error"]
    assert dead["last_error_at"] == "2026-01-01T04:00:00+00:00"
    # a row the crawl never reached has no error: nothing went wrong with it
    assert (
        got["unreached"]["last_status"] == "not_crawled" and got["unreached"]["last_error"] is None
    )


def test_a_later_crawl_widens_what_is_proven_and_keeps_the_first_proof(archive):
    crawl(archive, DAY1)
    crawl(archive, DAY2)
    got = coverage(archive)
    reports = got["reports"]  # failed on day 2: still proven, with the day-2 error
    assert reports["proven"] == "reports_found"
    assert reports["reports_last_at"] == "2026-01-01T01:00:05+00:00"
    assert reports["last_status"] == "timeout" and reports["last_crawled_at"].startswith(
        "2026-01-02"
    )
    assert reports["last_error"].startswith("timeout: ")
    portal = got["portal"]  # a report on day 2: first proven then, answered since day 1
    assert portal["proven"] == "reports_found"
    assert portal["reports_first_at"] == "2026-01-02T03:00:02+00:00"
    assert portal["answered_first_at"] == "2026-01-01T03:00:00+00:00"
    assert portal["answered_last_at"] == "2026-01-02T03:00:02+00:00"


def test_recording_again_or_out_of_order_changes_nothing(tmp_path, monkeypatch):
    """What a merge of shards does: a run recorded again, an older run recorded after a
    newer one."""
    # both archives' runs start at the same time (a row a run did not reach dates from it)
    monkeypatch.setattr(store, "now", lambda: "2026-01-03T00:00:00+00:00")
    results = []
    for name, order in (("in-order", (0, 1)), ("reversed", (1, 0, 1, 0))):
        with Archive(tmp_path / f"{name}.db") as archive:
            archive.load_sites([site(s) for s in SITES])
            runs = [archive.start_run("sites.csv", 1) for _ in range(2)]
            for run_id, captures in zip(runs, (DAY1, DAY2), strict=True):
                for item in captures:
                    archive.add_fetch({**item, "run_id": run_id})
            for n in order:
                archive.record_site_counts(runs[n], [runs[n]], SITES)
            results.append(coverage(archive))
    assert results[0] == results[1]


def test_an_archive_crawled_before_gets_coverage_from_its_site_counts(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    before = migration_of("CREATE TABLE site_coverage")
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:before])
    monkeypatch.setattr(store, "SCHEMA_VERSION", before)
    with Archive(path) as archive:
        archive.load_sites([site(s) for s in SITES])
        conn = archive.db.conn
        conn.execute(
            "insert into crawl_runs (id, started_at, finished_at, status) values "
            "(1, '2025-01-01T00:00:00+00:00', '2025-01-01T05:00:00+00:00', 'finished'), "
            "(2, '2025-02-01T00:00:00+00:00', '2025-02-01T05:00:00+00:00', 'finished')"
        )
        conn.execute(
            "insert into crawl_site_counts (run_id, site_id, pages_fetched, reports_found, "
            "status, status_detail) values "
            "(1, 'reports', 3, 2, 'ok', null), (2, 'reports', 1, 0, 'timeout', 'took too long'), "
            "(1, 'portal', 4, 0, 'no_report_column', 'no report found'), "
            "(1, 'dead', 0, 0, 'dns_failed', 'no such host')"
        )
    monkeypatch.undo()
    with Archive(path) as archive:
        got = coverage(archive)
    assert {s: r["proven"] for s, r in got.items()} == {
        "reports": "reports_found",
        "portal": "portal_answered",
        "dead": "never_fetched",
    }
    reports = got["reports"]
    assert reports["reports_first_at"] == reports["reports_last_at"] == "2025-01-01T05:00:00+00:00"
    assert reports["reports_found"] == 2 and reports["last_run_id"] == 2
    assert reports["last_status"] == "timeout"
    assert reports["last_error"] == "timeout: took too long"
    assert got["dead"]["last_error"] == "dns_failed: no such host"
