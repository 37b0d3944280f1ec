"""The nightly job against the simulated web: stages, summary, exit status, lock, log."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.export.snapshot import list_snapshots, verify_snapshot
from nianbao.nightly import (
    EXIT_ALERTS,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_STAGE_FAILED,
    Events,
    LockHeld,
    RunLock,
    site_alerts,
)
from tests.conftest import free_port

pytestmark = pytest.mark.e2e

FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s",
    "RETRY_TIMES=0",
    "-s",
    "DOWNLOAD_TIMEOUT=10",
]


def nightly(db: Path, sites: Path, *extra: str, timeout: int = 240):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "nianbao",
            "nightly",
            "--db",
            str(db),
            "--sites",
            str(sites),
            "--json",
            *FAST,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def summary_of(result: subprocess.CompletedProcess) -> dict:
    try:
        return json.loads(result.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"exit {result.returncode}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
        ) from exc


@pytest.fixture(scope="module")
def two_nights(simweb, tmp_path_factory):
    """Two nightly runs over the same simulated web, the second finding nothing new."""
    folder = tmp_path_factory.mktemp("nightly")
    db = folder / "archive.db"
    extra = ["--flavour", "data", "--flavour", "full", "--warc-dir", str(folder / "warc")]
    first = nightly(db, simweb.sites_csv, *extra)
    # checked before the second night prunes them
    first.verified = [verify_snapshot(s["path"]) for s in summary_of(first)["snapshots"]]
    second = nightly(db, simweb.sites_csv, *extra, "--keep", "1")
    return folder, db, first, second


def test_first_night_archives_everything_and_exits_zero(simweb, two_nights):
    folder, db, first, _ = two_nights
    summary = summary_of(first)
    assert first.returncode == EXIT_OK, summary
    assert summary["exit_status"] == 0 and not summary["alerts"] and not summary["failures"]
    assert summary["crawl"]["status"] == "finished" and summary["crawl"]["captures_stored"] > 10
    assert {s["site_id"] for s in summary["crawl"]["sites"]} == set(simweb.sites)
    assert summary["checks"]["new_reports"] == len(simweb.truth["reports"])
    assert summary["checks"]["changed_reports"] == 0
    faulted = [t for t in simweb.truth["reports"] if t["expected_findings"]]
    assert summary["checks"]["reports_failing_checks"] == len(faulted)
    # Every original reads: one per report, plus the PDFs articles attach of themselves.
    originals = len(simweb.truth["reports"]) + sum(
        1 for t in simweb.truth["reports"] if t["format"] == "html" and t.get("attachment_url")
    )
    assert summary["parse"]["by_status"].get("ok") == originals
    assert [s["flavour"] for s in summary["snapshots"]] == ["data", "full"]
    assert first.verified == [True, True]
    assert Path(summary["warc"]["path"]).exists()
    assert summary["warc"]["run_id"] == summary["crawl"]["run_id"]


def test_second_night_finds_nothing_new_and_prunes(two_nights):
    folder, _, first, second = two_nights
    summary = summary_of(second)
    assert second.returncode == EXIT_OK, summary
    assert summary["crawl"]["run_id"] == summary_of(first)["crawl"]["run_id"] + 1
    assert summary["checks"]["new_reports"] == 0 and summary["checks"]["new_findings"] == 0
    documents = summary["crawl"]["documents"]  # the crawler's per-site counts, summed
    assert documents["new"] == 0 and documents["changed"] == 0
    assert documents["unchanged"] + documents["not_modified"] > 0
    assert (
        summary["checks"]["archive"]["reports"] == summary_of(first)["checks"]["archive"]["reports"]
    )
    kept = list_snapshots(folder / "snapshots")
    assert sorted(m["flavour"] for m in kept) == ["data", "full"]  # --keep 1 per flavour
    assert {m["file"] for m in kept} == {Path(s["path"]).name for s in summary["snapshots"]}


def test_log_is_json_lines_for_every_stage(two_nights):
    folder, *_ = two_nights
    events = [json.loads(line) for line in (folder / "nightly.jsonl").read_text().splitlines()]
    ends = [e["stage"] for e in events if e["event"] == "stage_end"]
    assert ends == ["crawl", "parse", "warc", "snapshot"] * 2
    summaries = [e for e in events if e["event"] == "summary"]
    assert len(summaries) == 2 and summaries[0]["exit_status"] == 0
    assert (folder / "nightly.crawl.log").stat().st_size > 0  # Scrapy's log, kept apart


def test_text_summary_for_cron_mail(simweb, two_nights, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nianbao",
            "nightly",
            "--db",
            str(tmp_path / "a.db"),
            "--sites",
            str(simweb.sites_csv),
            *FAST,
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == EXIT_OK, result.stdout + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("nianbao nightly ") and lines[0].endswith("exit 0")
    assert any(line.startswith("checks ") and " new reports" in line for line in lines)
    assert any(line.startswith("snap   data ") for line in lines)


def test_an_unreachable_site_is_an_alert(simweb, tmp_path):
    rows = list(csv.DictReader(io.StringIO(simweb.sites_csv.read_text("utf-8"))))
    dead = {
        **rows[0],
        "site_id": "dead-site",
        "start_url": f"http://127.0.0.1:{free_port()}/",
        "allowed_domains": "127.0.0.1",
    }
    sites = tmp_path / "sites.csv"
    with open(sites, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([rows[0], dead])
    result = nightly(tmp_path / "a.db", sites)
    summary = summary_of(result)
    assert result.returncode == EXIT_ALERTS, summary
    [alert] = summary["alerts"]
    assert alert["site_id"] == "dead-site" and alert["why"]
    assert summary["crawl"]["failures_by_reason"]
    assert summary["snapshots"], "the archive is still published when a site fails"


def test_a_crawl_that_cannot_run_is_a_failed_stage(tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,agency,region_code,start_url\nx,某局,410711,http://127.0.0.9:9/\n",
        encoding="utf-8",
    )
    # The registry is good (a bad one is exit 2 before anything runs); the crawl dies.
    broken = '{"no.such.Pipeline": 300}'
    result = nightly(tmp_path / "a.db", sites, "-s", f"ITEM_PIPELINES={broken}")
    summary = summary_of(result)
    assert result.returncode == EXIT_STAGE_FAILED, summary
    assert summary["failures"][0]["stage"] == "crawl"
    assert "crawl" in result.stdout


def test_lock_held_means_nothing_is_done(tmp_path):
    db = tmp_path / "a.db"
    with RunLock(tmp_path / "a.db.nightly.lock") as held:
        assert held.holder()["pid"] > 0
        result = nightly(db, tmp_path / "missing.csv")
        with pytest.raises(LockHeld):
            RunLock(held.path).acquire()
    # a missing or bad --sites is refused before anything (the lock included); use a good one
    assert result.returncode == 2
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,agency,region_code,start_url\nx,某县人民政府,410711,http://127.0.0.1:9/\n",
        encoding="utf-8",
    )
    with RunLock(tmp_path / "a.db.nightly.lock"):
        result = nightly(db, sites)
    assert result.returncode == EXIT_LOCKED
    assert summary_of(result)["status"] == "locked"
    assert not db.exists(), "a locked-out run must not touch the archive"
    RunLock(tmp_path / "a.db.nightly.lock").acquire()  # released: free again


def test_two_nightly_runs_never_overlap(simweb, tmp_path):
    db = tmp_path / "a.db"
    cmd = [
        sys.executable,
        "-m",
        "nianbao",
        "nightly",
        "--db",
        str(db),
        "--sites",
        str(simweb.sites_csv),
        "--json",
        *FAST,
    ]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = RunLock(tmp_path / "a.db.nightly.lock")
    deadline = time.monotonic() + 60
    while not (lock.holder() or {}).get("pid") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock.holder()["pid"] == first.pid
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out, err = first.communicate(timeout=240)
    assert second.returncode == EXIT_LOCKED, second.stdout + second.stderr[-2000:]
    assert summary_of(second)["holder"]["pid"] == first.pid
    assert first.returncode == EXIT_OK, out + err[-2000:]


def test_site_alerts_from_crawl_counts():
    sites = [
        {"site_id": "ok", "pages_fetched": 10, "failed": 1},
        {
            "site_id": "shrank",
            "pages_fetched": 10,
            "failed": 0,
            "alert": "fewer reports than the last good run: 1 < 3",
        },
        {"site_id": "blocked", "pages_fetched": 2, "failed": 2, "blocked": "HTTP 403 twice"},
        {"site_id": "half", "pages_fetched": 6, "failed": 3, "failed_by_reason": {"http_500": 3}},
    ]
    alerts = {a["site_id"]: a for a in site_alerts(sites)}
    assert set(alerts) == {"shrank", "blocked", "half"}
    assert "no page fetched successfully" in alerts["blocked"]["why"]
    assert alerts["half"]["failed_by_reason"] == {"http_500": 3}


def test_progress_on_a_terminal_and_json_lines_in_the_log(tmp_path, capsys):
    log = tmp_path / "n.jsonl"
    events = Events(log, terminal=True)
    with events.stage("parse", total=3) as update:
        for done in range(1, 4):
            update(done)
    events.close()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in lines] == ["stage_start", "progress", "stage_end"]
    assert "parse" in capsys.readouterr().err


def test_sigterm_stops_the_crawl_child_and_frees_the_lock(simweb, tmp_path):
    db = tmp_path / "a.db"
    slow = ["-s", "DOWNLOAD_DELAY=1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nianbao",
            "nightly",
            "--db",
            str(db),
            "--sites",
            str(simweb.sites_csv),
            *FAST,
            *slow,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180  # the crawl child starting on a loaded machine
    crawl_pid = None
    while crawl_pid is None and time.monotonic() < deadline:
        time.sleep(0.2)
        if db.exists():
            try:
                row = sqlite3.connect(db).execute("select pid from crawl_runs").fetchone()
            except sqlite3.OperationalError:
                row = None
            crawl_pid = row[0] if row else None
    assert crawl_pid, "the crawl never started"
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 1, out + err[-2000:]
    with pytest.raises(ProcessLookupError):
        os.kill(crawl_pid, 0)
    [status] = sqlite3.connect(db).execute("select status from crawl_runs").fetchone()
    assert status != "running"
    events = [
        json.loads(line)["event"] for line in (tmp_path / "nightly.jsonl").read_text().splitlines()
    ]
    assert "interrupted" in events and "summary" not in events
    RunLock(tmp_path / "a.db.nightly.lock").acquire()


def test_a_night_on_which_most_sites_fail_is_an_alert(tmp_path):
    """No site of the registry resolves (a network outage): exit 3, one crawl-wide alert
    first, then one line per site with its status — not exit 0 with "0 site alerts"."""
    registry = tmp_path / "sites.csv"
    with open(registry, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["site_id", "agency", "region_code", "start_url"])
        for n in range(3):
            writer.writerow([f"gone-{n}", f"不存在第{n}县", "410000", f"http://gone-{n}.invalid/"])
    result = nightly(
        tmp_path / "archive.db",
        registry,
        "-s",
        "DNS_RESOLVER=tests.crawler.offline.NoNetworkResolver",
    )
    summary = summary_of(result)
    assert result.returncode == EXIT_ALERTS, summary
    assert summary["alerts"][0] == {
        "kind": "crawl",
        "why": ["3 of 3 sites could not be crawled (3 dns_failed): is the network (or DNS) down?"],
    }
    assert [a.get("status") for a in summary["alerts"][1:]] == ["dns_failed"] * 3
    assert summary["crawl"]["site_statuses"] == {"dns_failed": 3}


def test_most_sites_failed_is_a_majority_of_sites_not_ok():
    from nianbao.nightly import most_sites_failed

    assert most_sites_failed({"ok": 2, "dns_failed": 2}) is None
    assert most_sites_failed({}) is None
    assert most_sites_failed({"ok": 1, "no_report_column": 2}) == (
        "2 of 3 sites could not be crawled (2 no_report_column)"
    )
