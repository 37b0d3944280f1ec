"""An operator's error is one line on stderr and the right exit status, never a traceback.

Exit statuses of the single commands (nianbao/cli.py): 2 bad input (nothing done),
1 the command ran and failed; ``nightly`` says 2 for bad input too. A full disk is
produced for real where SQLite writes (``PRAGMA max_page_count`` makes SQLite answer
SQLITE_FULL, as a full disk does) and by ENOSPC from the write path of a snapshot.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.store import Archive
from archive.store import database as store
from archive.store.registry import RegistryError, read_registry
from nianbao.cli import main
from tests.conftest import copy_archive
from tests.crawling import FAST, command

pytestmark = pytest.mark.e2e


def nianbao(*args: str, python: str | None = None, timeout: int = 180):
    """Run the command as an operator would (optionally with a patch run first)."""
    cmd = command(*args)
    if python:
        cmd = [sys.executable, "-c", python, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def one_error_line(stderr: str, command: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [line for line in lines if line.startswith(f"nianbao {command}: error: ")]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


def registry(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(textwrap.dedent(text).lstrip().encode(encoding))
    return path


# -- the registry --------------------------------------------------------------------------
BAD_REGISTRIES = {
    "missing_column": (
        "site_id,agency,start_url\nx,某县人民政府,http://a.example/\n",
        "missing column(s) region_code",
    ),
    "file_url": (
        "site_id,agency,region_code,start_url\nx,某县人民政府,410711,file:///etc/passwd\n",
        "is not an http(s) URL",
    ),
    "malformed_url": (
        "site_id,agency,region_code,start_url\nx,某县人民政府,410711,http://[bad/\n",
        "is not an http(s) URL",
    ),
    "space_in_host": (
        "site_id,agency,region_code,start_url\nx,某县人民政府,410711,http://a b.example/\n",
        "is not an http(s) URL",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REGISTRIES))
def test_a_bad_registry_is_one_line_and_exit_2(tmp_path, case):
    text, message = BAD_REGISTRIES[case]
    sites = registry(tmp_path / "sites.csv", text)
    result = nianbao("crawl", "--sites", str(sites), "--db", str(tmp_path / "a.db"))
    assert result.returncode == 2
    assert message in one_error_line(result.stderr, "crawl")
    assert not (tmp_path / "a.db").exists()


def test_nightly_with_a_bad_registry_is_exit_2_and_does_nothing(tmp_path):
    text, message = BAD_REGISTRIES["file_url"]
    sites = registry(tmp_path / "sites.csv", text)
    db = tmp_path / "a.db"
    result = nianbao("nightly", "--sites", str(sites), "--db", str(db))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("nianbao nightly: error: ") and message in line
    assert not (tmp_path / "nightly.crawl.log").exists()  # no crawl was started


def test_a_registry_saved_by_excel_on_chinese_windows_is_read(simweb, tmp_path):
    text = simweb.sites_csv.read_text("utf-8")
    expected = read_registry(simweb.sites_csv)
    for name, data in {
        "gbk": text.encode("gbk"),
        "gb18030": text.encode("gb18030"),
        "utf-8-bom": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf-16": text.encode("utf-16"),  # Excel's "Unicode text" (with its BOM)
    }.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        assert read_registry(path) == expected, name
    garbage = tmp_path / "latin.csv"
    garbage.write_bytes(
        "site_id,agency,region_code,start_url\nx,Zürich\xff\xfe\x80,1,h\n".encode("latin-1")
    )
    with pytest.raises(RegistryError, match="neither UTF-8 nor GBK"):
        read_registry(garbage)


def test_a_gbk_registry_is_crawled(simweb, tmp_path):
    gbk = tmp_path / "sites-gbk.csv"
    gbk.write_bytes(simweb.sites_csv.read_text("utf-8").encode("gbk"))
    db = tmp_path / "a.db"
    result = nianbao("crawl", "--sites", str(gbk), "--db", str(db), *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    agencies = {r[0] for r in conn.execute("select agency from sites")}
    conn.close()
    assert "新乡市牧野区人民政府" in agencies


# -- the archive ---------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["process", "reparse", "serve", "snapshot", "warc"])
def test_a_db_that_does_not_exist_is_an_error_not_a_new_archive(tmp_path, command):
    db = tmp_path / "typo" / "archive.db"
    result = CliRunner().invoke(main, [command, "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert "does not exist" in one_error_line(result.stderr, command)
    assert not db.parent.exists()


@pytest.mark.parametrize("command", ["crawl", "process"])
def test_an_archive_path_that_cannot_be_created_is_one_line(simweb, tmp_path, command):
    (tmp_path / "afile").write_text("not a directory")
    db = tmp_path / "afile" / "archive.db"
    args = ["--sites", str(simweb.sites_csv)] if command == "crawl" else []
    result = nianbao(command, *args, "--db", str(db))
    assert result.returncode == 2
    line = one_error_line(result.stderr, command)
    assert "afile" in line and ("not a directory" in line or "does not exist" in line)


@pytest.fixture
def read_only(tmp_path):
    """Make a file read-only even for root (chattr +i), or by its mode for anyone else."""
    made = []

    def make(path: Path) -> Path:
        if os.geteuid() == 0:
            if (
                shutil.which("chattr") is None
                or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode
            ):
                pytest.skip("running as root where chattr +i is not available")
        else:
            path.chmod(0o444)
        made.append(path)
        return path

    yield make
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        else:
            path.chmod(0o644)


@pytest.mark.parametrize("command", ["crawl", "process", "nightly"])
def test_a_read_only_archive_is_one_line_and_exit_2(simweb, crawled, tmp_path, read_only, command):
    db = copy_archive(crawled, tmp_path / "ro" / "archive.db")
    read_only(db)
    args = ["--sites", str(simweb.sites_csv)] if command in ("crawl", "nightly") else []
    result = nianbao(command, *args, "--db", str(db), *(FAST if command == "crawl" else []))
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    if command == "nightly":
        assert "Traceback" not in result.stdout + result.stderr
        assert "cannot write" in result.stdout and "nothing was done" in result.stdout
    else:
        assert "cannot write" in one_error_line(result.stderr, command)


def test_an_archive_newer_than_nianbao_is_one_line(tmp_path):
    db = tmp_path / "a.db"
    Archive(db).close()
    sqlite3.connect(db).execute("PRAGMA user_version = 99")
    result = CliRunner().invoke(main, ["process", "--db", str(db)])
    assert result.exit_code == 2
    assert "newer than this nianbao" in one_error_line(result.stderr, "process")


def test_a_failed_migration_is_one_line_and_leaves_the_archive(tmp_path, monkeypatch):
    db = tmp_path / "a.db"
    Archive(db).close()

    def broken(conn):
        conn.execute("ALTER TABLE reports ADD COLUMN half_done TEXT")
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS + [broken])
    monkeypatch.setattr(store, "SCHEMA_VERSION", len(store.MIGRATIONS))
    result = CliRunner().invoke(main, ["process", "--db", str(db)])
    assert result.exit_code == 2
    line = one_error_line(result.stderr, "process")
    assert f"migration {len(store.MIGRATIONS)} of {len(store.MIGRATIONS)} failed" in line
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS) - 1
    assert "half_done" not in [r[1] for r in conn.execute("PRAGMA table_info(reports)")]


# -- a full disk ----------------------------------------------------------------------------
def _limit_archive_growth(extra_pages: int) -> str:
    """Python run before ``nianbao``: every archive it opens may grow ``extra_pages`` more
    pages, then SQLite answers SQLITE_FULL, exactly as on a full disk."""
    return textwrap.dedent(
        f"""
        import sys
        from archive.store import database
        opened = database.Archive.__init__
        def limited(self, *args, **kwargs):
            opened(self, *args, **kwargs)
            pages = self.db.execute("pragma page_count").fetchone()[0]
            self.db.execute(f"pragma max_page_count = {{pages + {extra_pages}}}")
        database.Archive.__init__ = limited
        from nianbao.cli import main
        sys.argv[0] = "nianbao"
        main()
        """
    )


def _content(db: Path) -> dict:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        return {
            "captures": sorted(
                conn.execute("select url, status, sha256, role from captures").fetchall()
            ),
            "reports": sorted(conn.execute("select sha256, year, cell_count from reports")),
            "cells": conn.execute("select count(*) from cells").fetchone()[0],
            "parsed": conn.execute(
                "select count(*) from captures where parse_status is not null"
            ).fetchone()[0],
        }
    finally:
        conn.close()


def test_a_full_disk_stops_the_crawl_in_one_line_and_the_crawl_resumes(simweb, crawled, tmp_path):
    db = tmp_path / "a.db"
    result = nianbao(
        "crawl",
        "--sites",
        str(simweb.sites_csv),
        "--db",
        str(db),
        *FAST,
        "-s",
        "NIANBAO_COMMIT_EVERY=1",  # each capture committed: those before the full disk stay
        python=_limit_archive_growth(40),
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "no space left" in one_error_line(result.stderr, "crawl")
    stored = _content(db)["captures"]
    assert 0 < len(stored) < len(_content(crawled)["captures"])
    again = nianbao("crawl", "--sites", str(simweb.sites_csv), "--db", str(db), *FAST)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _content(db)["captures"] == _content(crawled)["captures"]


def test_a_full_disk_stops_process_in_one_line_and_a_rerun_repairs(crawled, tmp_path):
    whole = copy_archive(crawled, tmp_path / "whole.db")
    assert CliRunner().invoke(main, ["process", "--db", str(whole)]).exit_code == 0
    db = copy_archive(crawled, tmp_path / "full.db")
    result = nianbao("process", "--db", str(db), python=_limit_archive_growth(30))
    assert result.returncode == 1, result.stderr[-3000:]
    assert "no space left" in one_error_line(result.stderr, "process")
    partial = _content(db)
    assert 0 < partial["parsed"] < _content(whole)["parsed"]
    assert CliRunner().invoke(main, ["process", "--db", str(db)]).exit_code == 0
    assert _content(db) == _content(whole)


def test_a_full_disk_during_a_snapshot_is_one_line_and_leaves_nothing(
    crawled, tmp_path, monkeypatch
):
    from archive.export import snapshot as snap

    def full(source, target):
        target.write_bytes(b"x" * 4096)  # some bytes made it, then the disk filled up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(snap, "copy_without_blobs", full)
    out = tmp_path / "snaps"
    result = CliRunner().invoke(main, ["snapshot", "--db", str(crawled), "--out", str(out)])
    assert result.exit_code == 1
    assert "no space left" in one_error_line(result.stderr, "snapshot")
    assert list(out.iterdir()) == []


# -- snapshots, terminal output, the parse worker --------------------------------------------
def test_two_snapshots_in_the_same_second_get_two_names(crawled, tmp_path, monkeypatch):
    from archive.export import snapshot as snap

    instant = datetime(2026, 3, 1, 3, 15, 0, 250_000, tzinfo=UTC)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return instant

    monkeypatch.setattr(snap, "datetime", Frozen)
    runner = CliRunner()
    paths = []
    for _ in range(3):
        result = runner.invoke(main, ["snapshot", "--db", str(crawled), "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
        paths.append(result.stdout.strip())
    assert len(set(paths)) == 3
    listed = [m["file"] for m in snap.list_snapshots(tmp_path)]
    assert listed == sorted((Path(p).name for p in paths), reverse=True)
    assert all(snap.verify_snapshot(p) for p in paths)


def test_parse_never_prints_a_documents_control_bytes(tmp_path):
    title = "\x1b]0;owned\x07\x1b[2J\x9b31m某县\u202e2024年政府信息公开工作年度报告"
    page = tmp_path / "garbage.html"
    page.write_text(
        f"<html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>一、总体情况</p></body></html>",
        encoding="utf-8",
    )
    for args in ([str(page)], [str(page), "--json"]):
        result = nianbao("parse", *args)
        shown = result.stdout + result.stderr
        for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert raw not in shown, (args, raw)
    text = nianbao("parse", str(page)).stdout
    assert "\\x1b]0;owned\\x07" in text and "某县" in text
    record = json.loads(nianbao("parse", str(page), "--json").stdout)
    assert record["title"].startswith("\x1b]0;owned")  # the JSON keeps the value exact


def test_a_dead_parse_worker_says_how_it_died():
    from archive.parse.isolate import worker_death

    assert worker_death(-6, EOFError()) == (
        "the parse worker was killed by SIGABRT (exit code -6) without an answer"
    )
    assert worker_death(3, BrokenPipeError(32, "Broken pipe")).endswith(": [Errno 32] Broken pipe")
    assert not worker_death(-11, EOFError("")).endswith(": ")
