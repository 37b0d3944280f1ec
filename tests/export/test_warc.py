"""Crawl runs written as WARC 1.1: read back with warcio and checked with its own CLI."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from archive.export.warc import WarcError, hex_to_digest, record_id, write_run_warc
from archive.store import Archive
from nianbao.cli import main

HTML = "<html><body><h1>政府信息公开工作年度报告</h1></body></html>".encode()
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def warcio_cli() -> str:
    """The ``warcio`` command installed beside this Python (the venv's)."""
    beside = Path(sys.executable).parent / "warcio"
    return str(beside) if beside.exists() else shutil.which("warcio")


def capture(run_id: int, url: str, body: bytes | None, **extra) -> dict:
    return {
        "run_id": run_id,
        "site_id": "s1",
        "url": url,
        "final_url": extra.pop("final", url),
        "status": 200 if body is not None else None,
        "method": "GET",
        "content_type": "text/html; charset=utf-8",
        "role": "report",
        "headers": {
            "Content-Type": ["text/html; charset=utf-8"],
            "Content-Length": [str(len(body or b""))],
        },
        "body": body,
        "fetched_at": "2026-03-01T08:00:00+00:00",
        **extra,
    }


@pytest.fixture
def archive_db(tmp_path) -> Path:
    """Two runs: a decoded body, a chunked one, a redirect, a failed fetch, and repeats."""
    db = tmp_path / "a.db"
    with Archive(db) as archive:
        archive.load_sites(
            [
                {
                    "site_id": "s1",
                    "agency": "牧野区财政局",
                    "region_code": "410711",
                    "start_url": "http://127.0.0.1/",
                }
            ]
        )
        run1 = archive.start_run("sites.csv", 1)
        archive.add_capture(
            capture(run1, "http://127.0.0.1/a.html", HTML, referer="http://127.0.0.1/")
        )
        archive.add_capture(
            {
                **capture(run1, "http://127.0.0.1/r.pdf", PDF),
                "headers": {"Content-Type": ["application/pdf"], "Content-Length": ["1234"]},
            }
        )
        archive.add_capture(
            {
                **capture(run1, "http://127.0.0.1/chunked.html", HTML + b" "),
                "headers": {"Transfer-Encoding": ["chunked"], "Set-Cookie": ["a=1", "b=2"]},
            }
        )
        archive.add_capture(
            capture(
                run1,
                "http://127.0.0.1/old",
                HTML + b"  ",
                final="http://127.0.0.1/new",
                redirects=["http://127.0.0.1/old", "http://127.0.0.1/new"],
            )
        )
        archive.add_capture(
            capture(run1, "http://127.0.0.1/gone", None, error="ConnectionRefusedError: refused")
        )
        archive.finish_run(
            run1, "finished", {"robotstxt/request_count": 1, "downloader/request_count": 6}
        )
        run2 = archive.start_run("sites.csv", 2)
        archive.add_capture(capture(run2, "http://127.0.0.1/a-copy.html", HTML))
        archive.add_capture(
            {
                **capture(run2, "http://127.0.0.1/a.html", None),
                "status": 304,
                "revisit_of": 1,
                "not_modified": 1,
            }
        )
        archive.finish_run(run2, "finished", {"downloader/request_count": 2})
    return db


def records(summary) -> list:
    with open(summary.path, "rb") as fh:
        return [
            (r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
            for r in ArchiveIterator(fh)
        ]


def test_run_is_valid_warc_checked_and_indexed_by_warcio(archive_db, tmp_path):
    summary = write_run_warc(archive_db, 1, tmp_path / "w")
    assert summary.path.name.startswith("nianbao-run00001-") and summary.path.suffix == ".gz"
    check = subprocess.run(
        [warcio_cli(), "check", "-v", str(summary.path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == sum(summary.records.values())
    index = subprocess.run(
        [warcio_cli(), "index", "-f", "warc-type,warc-target-uri", str(summary.path)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [json.loads(line) for line in index.stdout.splitlines()]
    assert [line["warc-type"] for line in lines].count("response") == 4
    assert {"warc-type": "response", "warc-target-uri": "http://127.0.0.1/new"} in lines
    with gzip.open(summary.path) as fh:  # standard gzip members: any gzip reader opens it
        assert fh.read(9) == b"WARC/1.1\r"


def test_warcinfo_names_software_and_robots_policy(archive_db, tmp_path):
    info = records(write_run_warc(archive_db, 1, tmp_path)).pop(0)
    assert info[0] == "warcinfo"
    fields = dict(line.split(": ", 1) for line in info[3].decode().splitlines())
    assert fields["software"].startswith("nianbao-archive/")
    assert fields["robots"] == "classic"
    assert fields["isPartOf"] == "nianbao crawl run 1"
    run2 = records(write_run_warc(archive_db, 2, tmp_path))[0][3].decode()
    assert "robots: ignore" in run2


def test_response_payload_is_the_stored_body_and_headers_tell_the_truth(archive_db, tmp_path):
    recs = records(write_run_warc(archive_db, 1, tmp_path))
    responses = {r[1].get_header("WARC-Target-URI"): r for r in recs if r[0] == "response"}
    _, head, http, payload = responses["http://127.0.0.1/r.pdf"]
    assert payload == PDF
    assert head.get_header("WARC-Payload-Digest") == hex_to_digest(hashlib.sha256(PDF).hexdigest())
    # the wire length of a decoded body is kept aside, the header matches the payload
    assert http.get_header("X-Crawler-Content-Length") == "1234"
    assert http.get_header("Content-Length") == str(len(PDF))
    _, _, http, payload = responses["http://127.0.0.1/chunked.html"]
    assert http.get_header("Transfer-Encoding") is None
    assert http.get_header("X-Crawler-Transfer-Encoding") == "chunked"
    assert [v for k, v in http.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert payload == HTML + b" "
    requests = [r for r in recs if r[0] == "request"]
    request_line = f"{requests[0][2].protocol} {requests[0][2].statusline}"
    assert request_line == "GET /a.html HTTP/1.1"
    assert requests[0][2].get_header("Referer") == "http://127.0.0.1/"


def test_redirects_and_failures_are_described_in_metadata(archive_db, tmp_path):
    recs = records(write_run_warc(archive_db, 1, tmp_path))
    meta = [r[3].decode() for r in recs if r[0] == "metadata"]
    redirect = next(m for m in meta if "nianbao-redirect-hop" in m)
    assert "nianbao-redirect-hop: http://127.0.0.1/old" in redirect
    assert "nianbao-requested-url: http://127.0.0.1/old" in redirect
    failed = next(m for m in meta if "nianbao-fetch-error" in m)
    assert "ConnectionRefusedError" in failed
    # a fetch without a response has neither request nor response record
    targets = [r[1].get_header("WARC-Target-URI") for r in recs if r[0] in ("request", "response")]
    assert "http://127.0.0.1/gone" not in targets


def test_repeated_payloads_are_revisits_pointing_at_the_original(archive_db, tmp_path):
    first = records(write_run_warc(archive_db, 1, tmp_path / "1"))
    ids = {r[1].get_header("WARC-Record-ID"): r for r in first}
    second = records(write_run_warc(archive_db, 2, tmp_path / "2"))
    revisits = [r for r in second if r[0] == "revisit"]
    assert len(revisits) == 2 and not [r for r in second if r[0] == "response"]
    copy = next(r for r in revisits if r[1].get_header("WARC-Target-URI").endswith("a-copy.html"))
    assert copy[1].get_header("WARC-Profile").endswith("/warc/1.1/revisit/identical-payload-digest")
    original = ids[copy[1].get_header("WARC-Refers-To")]
    assert original[0] == "response" and original[3] == HTML
    assert copy[1].get_header("WARC-Refers-To-Target-URI") == "http://127.0.0.1/a.html"
    assert copy[1].get_header("WARC-Payload-Digest") == original[1].get_header(
        "WARC-Payload-Digest"
    )
    not_modified = next(r for r in revisits if r[2].get_statuscode() == "304")
    assert not_modified[1].get_header("WARC-Profile").endswith("/revisit/server-not-modified")
    assert not_modified[1].get_header("WARC-Refers-To") == original[1].get_header("WARC-Record-ID")
    # run mode: a payload first archived in another run is written in full again
    alone = records(write_run_warc(archive_db, 2, tmp_path / "3", revisits="run"))
    assert [r[3] for r in alone if r[0] == "response"] == [HTML]


def test_record_ids_are_stable_across_writes(archive_db, tmp_path):
    a = records(write_run_warc(archive_db, 1, tmp_path / "a"))
    b = records(write_run_warc(archive_db, 1, tmp_path / "b"))
    assert [r[1].get_header("WARC-Record-ID") for r in a[1:]] == [
        r[1].get_header("WARC-Record-ID") for r in b[1:]
    ]
    assert a[2][1].get_header("WARC-Record-ID") == record_id(
        {
            "id": 1,
            "url": "http://127.0.0.1/a.html",
            "fetched_at": "2026-03-01T08:00:00+00:00",
            "sha256": hashlib.sha256(HTML).hexdigest(),
        },
        "response",
    )


def test_bad_input_is_a_clear_error(archive_db, tmp_path):
    with pytest.raises(WarcError, match="no crawl run 9"):
        write_run_warc(archive_db, 9, tmp_path)
    with pytest.raises(WarcError, match="does not exist"):
        write_run_warc(tmp_path / "nope.db", 1, tmp_path)
    result = CliRunner().invoke(
        main, ["warc", "--db", str(archive_db), "--run", "9", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1 and "no crawl run 9" in result.output
    assert not list(tmp_path.glob("*.part"))


def test_cli_writes_the_latest_run(archive_db, tmp_path):
    result = CliRunner().invoke(
        main, ["warc", "--db", str(archive_db), "--out", str(tmp_path / "w"), "--no-gzip"]
    )
    assert result.exit_code == 0, result.output
    [written] = (tmp_path / "w").iterdir()
    assert written.name.startswith("nianbao-run00002-") and written.suffix == ".warc"
    assert written.read_bytes().startswith(b"WARC/1.1\r\n")
