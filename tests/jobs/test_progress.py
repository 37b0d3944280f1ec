"""What the long commands print: bars on a terminal, one summary line elsewhere, nothing
with --quiet, JSON lines with --json (nianbao.progress)."""

from __future__ import annotations

import io
import json

import pytest

from archive.store import Archive
from nianbao.progress import Progress, choose_mode
from simweb.sites import CORPUS
from tests.crawling import crawl, nianbao


@pytest.fixture
def archive_db(tmp_path):
    """An archive with three captures to parse: two real reports and a page that is not one."""
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        archive.load_sites(
            [{"site_id": "x", "agency": "某局", "region_code": "410711", "start_url": "http://x/"}]
        )
        run = archive.start_run(None, 1)
        bodies = [
            ((CORPUS / "shanghai-szfbgt-2019.html").read_bytes(), "text/html; charset=utf-8"),
            ((CORPUS / "huaian-szf-2024.pdf").read_bytes(), "application/pdf"),
            (b"<html><body><p>nothing here</p></body></html>", "text/html"),
        ]
        for n, (body, content_type) in enumerate(bodies):
            archive.add_capture(
                {
                    "run_id": run,
                    "site_id": "x",
                    "url": f"http://x/{n}",
                    "status": 200,
                    "content_type": content_type,
                    "body": body,
                    "role": "report",
                }
            )
    return db


def test_json_lines_end_in_the_summary(archive_db):
    result = nianbao("process", "--db", str(archive_db), "--json", ok=None)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events][0] == "stage"
    assert [e["event"] for e in events][-2:] == ["stage_end", "summary"]
    assert all(e["command"] == "process" and e["time"] for e in events)
    end, summary = events[-2], events[-1]
    assert end["done"] == end["total"] == 3
    assert summary["captures"] == 3 and summary["reports"] == 2 and summary["exit_status"] == 0
    assert summary["archive"]["reports"] == 2
    assert summary["message"].startswith("parsed 3 captures")
    assert result.stderr == ""


def test_quiet_prints_nothing_and_plain_prints_one_line(archive_db):
    quiet = nianbao("reparse", "--db", str(archive_db), "--quiet", ok=None)
    assert quiet.returncode == 0 and quiet.stdout == quiet.stderr == ""
    plain = nianbao("reparse", "--db", str(archive_db), ok=None)  # stderr is a pipe: no bars
    assert plain.returncode == 0 and plain.stdout == ""
    [line] = plain.stderr.splitlines()
    assert line.startswith("parsed 3 captures (") and "archive now holds 2 reports" in line


@pytest.mark.timing
def test_json_progress_is_throttled_and_counts_by_status():
    out = io.StringIO()
    progress = Progress("reparse", "json", out=out, json_every=3600)
    with progress.stage("parse") as update:
        for done in range(1, 101):
            update(done, 100, ok=done)
    progress.summary("done", captures=100)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    # the first update, then nothing for an hour; the end always
    assert [e["event"] for e in events] == ["stage", "progress", "stage_end", "summary"]
    assert events[2]["counts"] == {"ok": 100} and events[2]["done"] == 100


def test_bars_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert choose_mode(stream=Terminal()) == "bars"
    assert choose_mode(stream=io.StringIO()) == "plain"
    assert choose_mode(quiet=True, stream=Terminal()) == "quiet"
    assert choose_mode(as_json=True, stream=Terminal()) == "json"


@pytest.mark.e2e
def test_a_crawl_reports_its_counts_as_json(tmp_path, simweb):
    result = crawl(simweb.sites_csv, tmp_path / "a.db", "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    summary = events[-1]
    assert summary["event"] == "summary" and summary["finish_reason"] == "finished"
    assert summary["captures"] > 29 and summary["responses"] >= summary["captures"]
    with Archive(tmp_path / "a.db") as archive:
        assert archive.counts()["captures"] == summary["captures"]
