"""Snapshots: consistent while a writer writes, data without bodies, served by Datasette."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from archive.export.snapshot import (
    SnapshotError,
    latest_snapshot,
    list_snapshots,
    make_snapshot,
    prune_snapshots,
    snapshot_files,
    verify_snapshot,
)
from archive.store import Archive
from nianbao.cli import main

BODY = b"%PDF-1.4 " + b"x" * 5000


def add_report(archive: Archive, n: int) -> None:
    """One capture and its report, in one transaction (as the parse stage pairs them)."""
    with archive.transaction():
        capture_id = archive.insert(
            "captures",
            {
                "site_id": "s1",
                "url": f"http://127.0.0.1/{n}.pdf",
                "status": 200,
                "body": BODY,
                "sha256": hashlib.sha256(BODY + str(n).encode()).hexdigest(),
                "role": "report",
            },
        )
        archive.insert(
            "reports",
            {
                "capture_id": capture_id,
                "site_id": "s1",
                "year": 2020 + n % 5,
                "title": f"牧野区财政局{2020 + n % 5}年政府信息公开工作年度报告",
                "text": "行政复议 拆迁 低保",
                "sha256": f"{n:064d}",
                "parse_status": "ok",
            },
        )


@pytest.fixture
def archive_db(tmp_path) -> Path:
    db = tmp_path / "archive.db"
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
        for n in range(20):
            add_report(archive, n)
    conn = sqlite_utils.Database(db)
    conn["reports"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True)
    conn["sites"].enable_fts(["agency"], fts_version="FTS4")
    conn.execute("create view report_years as select year, count(*) n from reports group by year")
    # a contentless index (the token index only, as the archive's bigram search uses)
    conn.execute("create virtual table bigrams using fts5(text, content='')")
    conn.execute("insert into bigrams (rowid, text) select id, '行政 政复 复议 议' from reports")
    conn.execute("analyze")
    conn.conn.commit()
    conn.conn.close()
    return db


def rows(path: Path, sql: str, args=()) -> list:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("flavour", ["data", "full"])
def test_snapshot_is_a_complete_single_file_with_manifest(archive_db, tmp_path, flavour):
    snap = make_snapshot(archive_db, tmp_path / "snaps", flavour)
    manifest = json.loads(snap.manifest_path.read_text("utf-8"))
    assert manifest == snap.manifest
    assert snap.path.name == manifest["file"] and snap.path.name.startswith(f"nianbao-{flavour}-")
    assert manifest["sha256"] == hashlib.sha256(snap.path.read_bytes()).hexdigest()
    assert manifest["size"] == snap.path.stat().st_size
    assert manifest["tables"]["reports"] == 20 and manifest["tables"]["captures"] == 20
    assert "reports_fts_data" not in manifest["tables"]
    assert manifest["schema_version"] == rows(archive_db, "pragma user_version")[0][0]
    assert manifest["raw_bodies"] is (flavour == "full")
    sha_line = (snap.path.parent / (snap.path.name + ".sha256")).read_text()
    assert sha_line == f"{manifest['sha256']}  {snap.path.name}\n"
    assert rows(snap.path, "pragma journal_mode") == [("delete",)]
    assert rows(snap.path, "pragma integrity_check") == [("ok",)]
    assert not Path(str(snap.path) + "-wal").exists()
    # search, views, triggers and planner statistics come along
    assert rows(
        snap.path,
        "select count(*) from reports_fts where reports_fts match ?",
        ["牧野区财政局2021年政府信息公开工作年度报告"],
    ) == [(4,)]
    assert rows(
        snap.path, "select count(*) from sites_fts where sites_fts match '牧野区财政局'"
    ) == [(1,)]
    assert rows(snap.path, "select sum(n) from report_years") == [(20,)]
    assert rows(snap.path, "select count(*) from bigrams where bigrams match '复议'") == [(20,)]
    assert rows(snap.path, "select count(*) from sqlite_stat1")[0][0] > 0
    bodies = rows(snap.path, "select count(body) from captures")[0][0]
    assert bodies == (20 if flavour == "full" else 0)
    assert rows(snap.path, "select sha256, url from captures order by id") == rows(
        archive_db, "select sha256, url from captures order by id"
    )


def test_data_snapshot_is_smaller_and_keeps_search_in_sync(archive_db, tmp_path):
    data = make_snapshot(archive_db, tmp_path, "data")
    full = make_snapshot(archive_db, tmp_path, "full")
    assert data.manifest["size"] < full.manifest["size"] - 20 * len(BODY) // 2
    conn = sqlite3.connect(data.path)
    conn.execute("insert into reports (sha256, title) values ('new', '拆迁补偿年度报告')")
    assert conn.execute(
        "select count(*) from reports_fts where reports_fts match '拆迁补偿年度报告'"
    ).fetchone() == (1,)  # the copied triggers still feed the index
    conn.close()


def test_snapshot_is_one_moment_while_a_writer_writes(archive_db, tmp_path):
    """Every capture comes with its report in one transaction: a copy mixing two moments
    would hold more reports than captures, or the reverse."""
    stop = threading.Event()

    def writer():
        with Archive(archive_db) as archive:
            n = 100
            while not stop.is_set():
                add_report(archive, n)
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        snaps = [
            make_snapshot(archive_db, tmp_path / str(i), flavour)
            for i in range(3)
            for flavour in ("data", "full")
        ]
    finally:
        stop.set()
        thread.join()
    total = rows(archive_db, "select count(*) from reports")[0][0]
    assert total > 20, "the writer wrote nothing during the snapshots"
    for snap in snaps:
        captures, reports = snap.manifest["tables"]["captures"], snap.manifest["tables"]["reports"]
        assert captures == reports, snap.path
        assert rows(snap.path, "select count(*) from reports_fts")[0][0] == reports
        assert verify_snapshot(snap.path)


def test_listing_pruning_and_partial_files(archive_db, tmp_path):
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [
        make_snapshot(archive_db, tmp_path, f, at=start + timedelta(days=d))
        for d in range(3)
        for f in ("data", "full")
    ]
    (tmp_path / "nianbao-data-20270101T000000Z.db.part").write_bytes(b"half")
    (tmp_path / "nianbao-data-20270102T000000Z.db").write_bytes(b"no manifest yet")
    listed = list_snapshots(tmp_path)
    assert [m["file"] for m in listed] == [s.path.name for s in reversed(made)]
    assert latest_snapshot(tmp_path, "data") == made[-2].path
    assert "nianbao-data-20270102T000000Z.db" not in snapshot_files(tmp_path)
    removed = prune_snapshots(tmp_path, keep=1)
    assert len(removed) == 4 * 3
    assert [m["file"] for m in list_snapshots(tmp_path)] == [made[-1].path.name, made[-2].path.name]
    made[-1].path.write_bytes(b"tampered")
    assert not verify_snapshot(made[-1].path)


def test_bad_input_is_a_clear_error(archive_db, tmp_path):
    with pytest.raises(SnapshotError, match="does not exist"):
        make_snapshot(tmp_path / "missing.db", tmp_path)
    with pytest.raises(SnapshotError, match="flavour"):
        make_snapshot(archive_db, tmp_path, "raw")
    result = CliRunner().invoke(main, ["snapshot", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 2 and "does not exist" in result.output  # bad input
    assert not (tmp_path / "missing.db").exists()


def test_cli_writes_beside_the_archive_by_default(archive_db):
    result = CliRunner().invoke(main, ["snapshot", "--db", str(archive_db), "--flavour", "full"])
    assert result.exit_code == 0, result.output
    [manifest] = list_snapshots(archive_db.parent / "snapshots")
    assert manifest["flavour"] == "full" and manifest["tables"]["reports"] == 20


# -- Datasette ------------------------------------------------------------------------------
def test_plugin_is_registered_once_as_a_datasette_entry_point():
    ours = [e for e in entry_points(group="datasette") if e.value.startswith("archive.")]
    assert [e.value for e in ours] == ["archive.publish.plugin"]


def test_datasette_lists_the_plugin_once(archive_db):
    from datasette.app import Datasette

    async def plugins():
        return (await Datasette([str(archive_db)]).client.get("/-/plugins.json")).json()

    names = [p["name"] for p in asyncio.run(plugins())]
    assert names.count("nianbao-archive") == 1, names


def test_the_plugin_refuses_to_load_from_a_plugins_dir(archive_db, tmp_path):
    """Copied into a --plugins-dir it would register its hooks a second time: it says how
    it is meant to be loaded instead."""
    import shutil
    import subprocess
    import sys

    import archive.publish.plugin as plugin

    shutil.copy(plugin.__file__, tmp_path / "plugin.py")
    code = (
        "import asyncio, sys; from datasette.app import Datasette; "
        f"Datasette([{str(archive_db)!r}], plugins_dir={str(tmp_path)!r})"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "pip install nianbao-archive" in result.stderr


def datasette_for(db: Path, snaps: Path, immutables=()):
    from datasette.app import Datasette
    from datasette.plugins import pm

    assert any(p.__name__ == "archive.publish.plugin" for p in pm.get_plugins())
    return Datasette(
        [str(db)],
        immutables=[str(p) for p in immutables],
        metadata={"plugins": {"nianbao-snapshots": {"directory": str(snaps)}}},
    )


def test_datasette_lists_and_serves_snapshots(archive_db, tmp_path):
    snaps = tmp_path / "published"
    data = make_snapshot(archive_db, snaps, "data")
    (snaps / "secret.txt").write_text("not a snapshot")
    ds = datasette_for(archive_db, snaps)

    async def fetch():
        listing = await ds.client.get("/-/snapshots.json")
        page = await ds.client.get("/-/snapshots")
        download = await ds.client.get(f"/-/snapshots/{data.path.name}")
        manifest = await ds.client.get(f"/-/snapshots/{data.path.name}.json")
        refused = [
            await ds.client.get(f"/-/snapshots/{name}")
            for name in ("secret.txt", "..%2Farchive.db", data.path.name + ".part")
        ]
        return listing, page, download, manifest, refused

    listing, page, download, manifest, refused = asyncio.run(fetch())
    [entry] = listing.json()["snapshots"]
    assert entry["sha256"] == data.manifest["sha256"]
    assert entry["url"] == f"/-/snapshots/{data.path.name}"
    assert page.status_code == 200 and data.path.name in page.text and "数据快照" in page.text
    assert download.status_code == 200 and download.content == data.path.read_bytes()
    assert download.headers["content-type"] == "application/vnd.sqlite3"
    assert "attachment" in download.headers["content-disposition"]
    assert hashlib.sha256(download.content).hexdigest() == entry["sha256"]
    assert manifest.json()["file"] == data.path.name
    assert [r.status_code for r in refused] == [404, 404, 404]


def test_latest_data_snapshot_served_immutable_is_downloadable(archive_db, tmp_path):
    """Datasette offers a database download only for immutable databases."""
    data = make_snapshot(archive_db, tmp_path / "s", "data")
    ds = datasette_for(archive_db, tmp_path / "s", immutables=[latest_snapshot(tmp_path / "s")])

    async def fetch():
        name = data.path.stem
        return (await ds.client.get(f"/{name}.db"), await ds.client.get(f"/{archive_db.stem}.db"))

    snapshot, live = asyncio.run(fetch())
    assert snapshot.status_code == 200 and snapshot.content == data.path.read_bytes()
    assert live.status_code == 403  # the live, mutable archive is not offered
