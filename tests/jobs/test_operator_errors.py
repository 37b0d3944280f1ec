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
import re
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
    "port_in_allowed_domains": (
        "site_id,agency,region_code,start_url,allowed_domains\n"
        "x,某县人民政府,410711,http://a.example/,a.example:http\n",
        "site x: allowed_domains 'a.example:http': port 'http' is not a number from 1 to 65535",
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
    assert message in one_error_line(result.stderr, "nightly")
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sites.csv"]  # no crawl, log, lock


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
    line = one_error_line(result.stderr, command)
    assert "cannot write" in line and result.stdout == ""
    if command == "nightly":
        assert line.endswith("; nothing was done")


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


# -- every command, every bad input: one shape ---------------------------------------------
# What each command is given (``{sites}``, ``{db}``, ``{file}``, ``{out}``: the inputs below).
COMMANDS = {
    "crawl": ["crawl", "--sites", "{sites}", "--db", "{db}"],
    "crawl --worker": ["crawl", "--redis", "redis://127.0.0.1:9/0", "--worker", "--db", "{db}"],
    "nightly": ["nightly", "--sites", "{sites}", "--db", "{db}", "--snapshot-dir", "{out}"],
    "discover": ["discover", "--check", "{sites}"],
    "process": ["process", "--db", "{db}"],
    "reparse": ["reparse", "--db", "{db}"],
    "serve": ["serve", "--db", "{db}"],
    "snapshot": ["snapshot", "--db", "{db}", "--out", "{out}"],
    "warc": ["warc", "--db", "{db}", "--out", "{out}"],
    "merge": ["merge", "{file}", "--into", "{db}"],
    "demo": ["demo", "--db", "{db}", "--no-serve"],
    "parse": ["parse", "{file}"],
}
READ_AN_ARCHIVE = ("process", "reparse", "serve", "snapshot", "warc")
TAKE_AN_ARCHIVE = (*READ_AN_ARCHIVE, "crawl", "crawl --worker", "nightly", "merge", "demo")
TAKE_A_REGISTRY = ("crawl", "nightly", "discover")
# bad input → (what it replaces, the commands that take it, what the line says)
BAD_INPUTS = {
    "registry_missing": ("sites", TAKE_A_REGISTRY, "typo.csv' does not exist"),
    "registry_a_directory": ("sites", TAKE_A_REGISTRY, "a-directory' is a directory"),
    "registry_bad_row": ("sites", TAKE_A_REGISTRY, "start_url 'file:///etc/passwd' is not"),
    "registry_bad_allowed": ("sites", TAKE_A_REGISTRY, "allowed_domains 'a.example:http'"),
    "archive_missing": ("db", READ_AN_ARCHIVE, "typo/archive.db does not exist"),
    "archive_a_directory": ("db", TAKE_AN_ARCHIVE, "a-directory' is a directory"),
    "archive_not_sqlite": ("db", TAKE_AN_ARCHIVE, "text.db is not an SQLite archive"),
    "archive_newer": ("db", TAKE_AN_ARCHIVE, "newer.db has schema version 99, newer than"),
    "file_missing": ("file", ("parse",), "typo.html' does not exist"),
    "file_a_directory": ("file", ("parse",), "a-directory' is a directory"),
}
CASES = [(c, bad) for bad, (_, commands, _) in BAD_INPUTS.items() for c in commands]
# What none of these may reach: a crawl, a stage, a server, a copy, a walk.
MUST_NOT_RUN = [
    ("crawler.runner", "run_crawl"),
    ("nianbao.workers", "distributed_crawl"),
    ("nianbao.nightly", "_stages"),
    ("nianbao.process", "process_captures"),
    ("archive.publish", "serve"),
    ("archive.export.snapshot", "make_snapshot"),
    ("archive.export.warc", "write_run_warc"),
    ("nianbao.merge", "merge_shards"),
    ("nianbao.demo", "build_demo"),
    ("nianbao.cli", "_walk"),
    ("archive.parse.isolate", "parse_isolated"),
]


def _inputs(tmp_path: Path) -> dict[str, Path]:
    """The good inputs, and beside them every bad one."""
    good = registry(
        tmp_path / "sites.csv",
        "site_id,agency,region_code,start_url\nx,某县人民政府,410711,http://127.0.0.1:9/\n",
    )
    (tmp_path / "a-directory").mkdir()
    (tmp_path / "text.db").write_bytes(b"a list of sites, not an archive\n" * 64)
    newer = tmp_path / "newer.db"
    Archive(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    bad_row, _ = BAD_REGISTRIES["file_url"]
    bad_allowed, _ = BAD_REGISTRIES["port_in_allowed_domains"]
    page = tmp_path / "report.html"
    page.write_text("<html><title>年度报告</title></html>", encoding="utf-8")
    return {
        "sites": good,
        "db": tmp_path / "archive.db",
        "file": page,
        "out": tmp_path / "out",
        "registry_missing": tmp_path / "typo.csv",
        "registry_a_directory": tmp_path / "a-directory",
        "registry_bad_row": registry(tmp_path / "bad-row.csv", bad_row),
        "registry_bad_allowed": registry(tmp_path / "bad-allowed.csv", bad_allowed),
        "archive_missing": tmp_path / "typo" / "archive.db",
        "archive_a_directory": tmp_path / "a-directory",
        "archive_not_sqlite": tmp_path / "text.db",
        "archive_newer": newer,
        "file_missing": tmp_path / "typo.html",
        "file_a_directory": tmp_path / "a-directory",
    }


def _files(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize("command, bad", CASES)
def test_every_operator_error_is_one_line_the_same_in_every_command(
    tmp_path, monkeypatch, command, bad
):
    """Every command × every bad input it can be given: one line on stderr with the
    command's prefix, exit status 2, no traceback, nothing on stdout, nothing written —
    and nothing started (each stage here would fail the test if it were reached)."""
    for module, name in MUST_NOT_RUN:
        monkeypatch.setattr(
            f"{module}.{name}", lambda *a, _n=name, **k: pytest.fail(f"{_n} was reached")
        )
    inputs = _inputs(tmp_path)
    replaced, _, says = BAD_INPUTS[bad]
    given = {**inputs, replaced: inputs[bad]}
    args = [a.format(**{k: str(v) for k, v in given.items()}) for a in COMMANDS[command]]
    before = _files(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert says in one_error_line(result.stderr, command.split()[0])
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
    assert _files(tmp_path) == before


def test_a_nightly_that_cannot_write_its_log_or_lock_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    db, sites = tmp_path / "a.db", _inputs(tmp_path)["sites"]
    common = ["nightly", "--sites", str(sites), "--db", str(db)]
    log = CliRunner().invoke(main, [*common, "--log", str(tmp_path / "afile" / "n.jsonl")])
    assert log.exit_code == 2
    assert "Invalid value for --log" in one_error_line(log.stderr, "nightly")
    lock = CliRunner().invoke(main, [*common, "--lock", str(tmp_path / "afile" / "n.lock")])
    assert lock.exit_code == 2 and lock.stdout == ""
    line = one_error_line(lock.stderr, "nightly")
    assert "cannot write the lock file" in line and line.endswith("; nothing was done")
    assert not db.exists()


def test_a_bad_group_option_or_command_is_one_line_too():
    # Click's own words differ between its versions (8.2.0 says "No such option: --bogus"
    # and suggests no command): nianbao's part is the prefix, the one line, what it names.
    for args, says in (
        (["--bogus"], r"nianbao: error: No such option:? '?--bogus'?\.?"),
        (
            ["crawlx"],
            r"nianbao: error: No such command:? '?crawlx'?\.?(?: Did you mean '?crawl'?\??)?",
        ),
        (["crawl", "--bogus"], r"nianbao crawl: error: No such option:? '?--bogus'?\.?"),
        (
            ["crawl", "-s", "X"],
            r"nianbao crawl: error: Invalid value for -s: 'X' is not NAME=VALUE",
        ),
    ):
        result = CliRunner().invoke(main, args)
        lines = result.stderr.splitlines()
        assert result.exit_code == 2 and len(lines) == 1, result.stderr
        assert re.fullmatch(says, lines[0]), lines[0]
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0  # help is no error


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


def _fill_the_jobdir(jobdir: Path, room: int = 0, names: tuple[str, ...] = ()) -> str:
    """Python run before ``nianbao``: the files of ``jobdir`` (those ``names``, or every one)
    are on a disk with ``room`` bytes left; then each write fails as on a full disk
    (ENOSPC), and the disk stays full. Scrapy's queue, seen list and the spider's state
    are written through ``open``, which this replaces."""
    return textwrap.dedent(
        f"""
        import builtins, errno, io, os, sys
        jobdir = os.path.realpath({str(jobdir)!r})
        names = {names!r}
        room = [{room}]
        real_open = io.open

        class OnAFillingDisk:
            def __init__(self, file):
                self._file = file
            def write(self, data):
                if len(data) > room[0]:
                    room[0] = 0
                    raise OSError(errno.ENOSPC, "No space left on device")
                room[0] -= len(data)
                return self._file.write(data)
            def __getattr__(self, name):
                return getattr(self._file, name)
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                self._file.close()

        def opened(file, *args, **kwargs):
            handle = real_open(file, *args, **kwargs)
            if not isinstance(file, (str, os.PathLike)):
                return handle
            path = os.path.realpath(os.fspath(file))
            if path.startswith(jobdir + os.sep) and (not names or os.path.basename(path) in names):
                return OnAFillingDisk(handle)
            return handle

        builtins.open = io.open = opened
        from nianbao.cli import main
        sys.argv[0] = "nianbao"
        main()
        """
    )


def test_a_full_disk_under_the_jobdir_stops_the_crawl_in_one_line_and_it_resumes(
    simweb, crawled, tmp_path
):
    db, jobdir = tmp_path / "a.db", tmp_path / "job"
    args = ("crawl", "--sites", str(simweb.sites_csv), "--db", str(db), "--jobdir", str(jobdir))
    result = nianbao(*args, *FAST, python=_fill_the_jobdir(jobdir, room=2000))
    assert result.returncode == 1, result.stderr[-3000:]
    line = one_error_line(result.stderr, "crawl")
    assert f"no space left for the --jobdir {jobdir}" in line and "free some space" in line
    assert len(result.stderr.splitlines()) <= 3  # the log's line, ours, the summary
    assert 0 < len(_content(db)["captures"]) < len(_content(crawled)["captures"])
    assert not (jobdir / "nianbao-paused.json").exists()  # its state is not to be continued
    again = nianbao(*args, *FAST)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _content(db)["captures"] == _content(crawled)["captures"]


def test_a_jobdir_whose_state_cannot_be_written_at_the_end_is_one_line_and_no_pause(
    simweb, tmp_path
):
    """The crawl stops early (as a pause would) and the disk is full when Scrapy writes the
    queue's state and the spider's: no traceback, and no mark that would continue it."""
    db, jobdir = tmp_path / "a.db", tmp_path / "job"
    result = nianbao(
        "crawl",
        "--sites",
        str(simweb.sites_csv),
        "--db",
        str(db),
        "--jobdir",
        str(jobdir),
        *FAST,
        "-s",
        "CLOSESPIDER_ITEMCOUNT=3",
        python=_fill_the_jobdir(jobdir, names=("active.json", "spider.state.part")),
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "no space left for the --jobdir" in one_error_line(result.stderr, "crawl")
    assert not (jobdir / "nianbao-paused.json").exists()
    assert not (jobdir / "spider.state").exists()


def test_a_jobdir_that_cannot_be_written_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    db, jobdir = tmp_path / "a.db", tmp_path / "afile" / "job"
    sites = _inputs(tmp_path)["sites"]
    args = ("--sites", str(sites), "--db", str(db), "--jobdir", str(jobdir))
    result = nianbao("crawl", *args)
    assert result.returncode == 2, result.stderr[-3000:]
    line = one_error_line(result.stderr, "crawl")
    assert "--jobdir" in line and f"{jobdir} cannot be written (Not a directory)" in line
    assert not db.exists()


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
