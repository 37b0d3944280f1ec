"""The whole path against the simulated government web: crawl → store → parse → check → publish.

The crawl is real: Scrapy fetches every page over HTTP from the simulated web
running in its own process, and the archive is compared with the numbers the
simulated web rendered its reports from.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import copy_archive, free_port
from tests.crawling import command, nianbao

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def archive_db(processed, tmp_path_factory):
    """The session's processed default world, copied: reparse changes it in place."""
    db = copy_archive(processed, tmp_path_factory.mktemp("archive") / "archive.db")
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield db, conn
    conn.close()


def report_url(truth: dict) -> str:
    """Where the report's primary original is: the article page, or the PDF of a PDF-only one."""
    return truth["attachment_url"] if truth["format"] == "pdf" else truth["url"]


def test_every_published_report_is_archived_once(simweb, archive_db):
    _, conn = archive_db
    truths = simweb.truth["reports"]
    rows = conn.execute("select url, count(*) n from reports group by url").fetchall()
    by_url = {r["url"]: r["n"] for r in rows}
    assert {report_url(t) for t in truths} == set(by_url), "reports missing or extra"
    assert set(by_url.values()) == {1}
    for url in simweb.truth["non_reports"]:
        assert url not in by_url


def test_every_cell_equals_the_generated_number(simweb, archive_db):
    _, conn = archive_db
    wrong = []
    for truth in simweb.truth["reports"]:
        report = conn.execute("select * from reports where url = ?", [report_url(truth)]).fetchone()
        assert report["template"] == truth["template"] and report["year"] == truth["year"]
        assert report["parse_status"] == "ok", (truth["title"], report["warnings"])
        cells = {
            (r["table_key"], r["row_key"], r["col_key"]): r["value"]
            for r in conn.execute("select * from cells where report_id = ?", [report["id"]])
        }
        expected = {
            (t, r, c): v
            for t, rows in truth["tables"].items()
            for r, cols in rows.items()
            for c, v in cols.items()
        }
        assert set(cells) == set(expected), truth["title"]
        wrong += [(truth["title"], k, v, cells[k]) for k, v in expected.items() if cells[k] != v]
    assert wrong == []


def test_deliberately_wrong_reports_have_exactly_their_findings(simweb, archive_db):
    _, conn = archive_db
    faulted = [t for t in simweb.truth["reports"] if t["expected_findings"]]
    assert len(faulted) >= 2
    for truth in simweb.truth["reports"]:
        found = {
            (f["rule"], f["row_key"] or f["col_key"])
            for f in conn.execute(
                "select f.* from findings f join reports r on r.id = f.report_id "
                "where r.url = ? and f.status = 'fail'",
                [report_url(truth)],
            )
        }
        expected = {
            (f["rule"], f.get("row") or f.get("column")) for f in truth["expected_findings"]
        }
        assert found == expected, truth["title"]


def test_captures_keep_the_bytes_and_the_crawl_run(simweb, archive_db):
    _, conn = archive_db
    truth = next(t for t in simweb.truth["reports"] if t.get("attachment_url"))
    with urllib.request.urlopen(truth["attachment_url"]) as response:
        original = response.read()
    [body] = conn.execute(
        "select body from captures where url = ?", [truth["attachment_url"]]
    ).fetchone()
    assert body == original and body.startswith(b"%PDF")
    [run] = conn.execute("select * from crawl_runs").fetchall()
    assert run["status"] == "finished" and run["captures_stored"] > 10
    roles = {r[0] for r in conn.execute("select distinct role from captures")}
    assert {"start", "listing", "report", "attachment"} <= roles


def test_reparse_updates_in_place_without_fetching(archive_db):
    db, conn = archive_db
    before = conn.execute("select id, sha256 from reports order by id").fetchall()
    captures = conn.execute("select count(*) from captures").fetchone()[0]
    conn.execute("delete from cells where report_id = ?", [before[0]["id"]])
    conn.commit()
    nianbao("reparse", "--db", str(db))
    assert conn.execute("select id, sha256 from reports order by id").fetchall() == before
    assert conn.execute("select count(*) from captures").fetchone()[0] == captures
    assert (
        conn.execute(
            "select count(*) from cells where report_id = ?", [before[0]["id"]]
        ).fetchone()[0]
        > 0
    )


def get_json(url: str, deadline: float) -> dict:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_answers_the_json_api(archive_db):
    db, conn = archive_db
    port = free_port()
    server = subprocess.Popen(
        command("serve", "--db", str(db), "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}/{db.stem}"
        reports = get_json(f"{base}/reports.json?_shape=objects&_size=max", time.monotonic() + 60)
        assert len(reports["rows"]) == conn.execute("select count(*) from reports").fetchone()[0]
        cells = get_json(
            f"{base}/cells.json?table_key=t3&row_key=new_requests&_shape=objects",
            time.monotonic() + 10,
        )
        assert cells["rows"] and all(r["row_key"] == "new_requests" for r in cells["rows"])
        findings = get_json(
            f"{base}/findings.json?status=fail&_shape=objects", time.monotonic() + 10
        )
        assert findings["rows"]
        meta = get_json(f"http://127.0.0.1:{port}/-/metadata.json", time.monotonic() + 10)
        assert "年报" in meta["title"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_demo_builds_the_archive(tmp_path, simweb):
    db = tmp_path / "demo.db"
    nianbao("demo", "--no-serve", "--db", str(db))
    conn = sqlite3.connect(db)
    titles = {r[0] for r in conn.execute("select title from reports")}
    assert len(titles) == conn.execute("select count(*) from reports").fetchone()[0]
    # Same seed, same world: the demo archived exactly the reports the simulated web renders.
    assert conn.execute("select count(*) from reports").fetchone()[0] == len(
        simweb.truth["reports"]
    )
    assert conn.execute("select count(*) from findings where status = 'fail'").fetchone()[0] > 0


def test_demo_never_overwrites_an_archive_of_real_sites(tmp_path):
    from archive.store import Archive

    db = tmp_path / "real.db"
    with Archive(db) as archive:
        archive.load_sites(
            [
                {
                    "site_id": "x",
                    "agency": "某局",
                    "region_code": "410711",
                    "start_url": "http://www.example.gov.cn/",
                }
            ]
        )
    result = nianbao("demo", "--no-serve", "--db", str(db), ok=None)
    assert result.returncode != 0 and "real sites" in result.stderr
    with Archive(db) as archive:
        assert archive.counts()["sites"] == 1


def test_a_report_published_as_article_and_pdf_is_one_report_with_two_originals(simweb, archive_db):
    _, conn = archive_db
    both = [t for t in simweb.truth["reports"] if t["format"] == "html" and t.get("attachment_url")]
    assert len(both) >= 2
    for truth in both:
        [report] = conn.execute("select id from reports where url = ?", [truth["url"]]).fetchall()
        originals = {
            (r["url"], r["format"], r["role"])
            for r in conn.execute(
                "select * from report_originals where report_id = ?", [report["id"]]
            )
        }
        assert originals == {
            (truth["url"], "html", "primary"),
            (truth["attachment_url"], "pdf", "alternate"),
        }
        assert not conn.execute(
            "select 1 from reports where url = ?", [truth["attachment_url"]]
        ).fetchall()
