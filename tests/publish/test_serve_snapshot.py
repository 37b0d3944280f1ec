"""A snapshot served as what it is: immutable, its counts and hash from its manifest, so
that no page counts a table or hashes the file; refused, in one line, when the manifest
beside it is not its own or the reader asks to write reviews into it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3

import pytest
from click.testing import CliRunner
from datasette.app import Datasette

from archive.export.snapshot import make_snapshot, manifest_path
from archive.publish import prepare
from archive.publish.serve import SETTINGS, serve_args, snapshot_inspection
from nianbao import cli
from tests.publish.test_publish_search import build_archive


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("snap")
    archive = build_archive(folder / "nb.db", seed=3, per_site=2)
    prepare(archive.db.conn)
    archive.close()
    return folder / "nb.db", make_snapshot(folder / "nb.db", folder / "snaps", "data")


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_inspection_is_the_manifest_and_counts_every_table(snapshot):
    archive, snap = snapshot
    assert snapshot_inspection(archive) is None  # no manifest: an archive, served live
    inspection = snapshot_inspection(snap.path)
    ((name, data),) = inspection.items()
    assert name == snap.path.stem
    assert data["hash"] == snap.manifest["sha256"] == _sha256(snap.path)
    assert data["size"] == snap.path.stat().st_size
    conn = sqlite3.connect(snap.path)
    try:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        for table in tables:  # full-text indexes and their shadow tables too
            count = conn.execute(f'select count(*) from "{table}"').fetchone()[0]
            assert data["tables"][table] == {"count": count}, table
    finally:
        conn.close()
    assert data["tables"]["reports"]["count"] > 0


def test_datasette_serves_it_immutable_with_the_counts_it_was_given(snapshot):
    _, snap = snapshot
    inspection = snapshot_inspection(snap.path)
    name = snap.path.stem
    inspection[name]["tables"]["reports"]["count"] = 987654  # a count nobody could have made
    args = serve_args(str(snap.path), inspect_file=snap.path)  # the command line, as built
    assert args[:3] == ["serve", "-i", str(snap.path)] and "--inspect-file" in args
    ds = Datasette(immutables=[str(snap.path)], inspect_data=inspection, settings=SETTINGS)

    async def walk():
        databases = (await ds.client.get("/-/databases.json")).json()
        page = await ds.client.get(f"/{name}")
        listing = (await ds.client.get(f"/{name}.json")).json()
        report = await ds.client.get(f"/{name}/reports.json?_size=1")
        return databases, page, listing, report

    databases, page, listing, report = asyncio.run(walk())
    (served,) = [d for d in databases if d["name"] == name]
    assert served["is_mutable"] is False and served["hash"] == snap.manifest["sha256"]
    assert page.status_code == 200
    counts = {t["name"]: t["count"] for t in listing["tables"]}
    assert counts["reports"] == 987654  # the database page counted nothing itself
    assert report.status_code == 200 and report.json()["rows"]


def _run(*args: str):
    return CliRunner().invoke(cli.main, list(args))


def test_a_manifest_of_another_file_is_one_line(snapshot, tmp_path):
    _, snap = snapshot
    other = tmp_path / "other.db"
    shutil.copy(snap.path, other)
    shutil.copy(manifest_path(snap.path), manifest_path(other))  # names the original
    result = _run("serve", "--db", str(other), "--port", "1")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"nianbao serve: error: {manifest_path(other)} describes another file than {other} "
        "(its name or size differs)"
    ]


def test_a_snapshot_of_another_schema_is_one_line_and_left_as_it_is(snapshot, tmp_path):
    _, snap = snapshot
    old = tmp_path / snap.path.name
    shutil.copy(snap.path, old)
    manifest = dict(snap.manifest, schema_version=snap.manifest["schema_version"] - 1)
    manifest_path(old).write_text(json.dumps(manifest), encoding="utf-8")
    before = _sha256(old)
    result = _run("serve", "--db", str(old), "--port", "1")
    assert result.exit_code == 2 and "serve a copy of it" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert _sha256(old) == before  # never migrated


def test_reviews_are_not_offered_on_a_snapshot(snapshot):
    _, snap = snapshot
    before = _sha256(snap.path)
    result = _run("serve", "--db", str(snap.path), "--allow-review", "--port", "1")
    assert result.exit_code == 2
    assert "is a snapshot, never written: reviews go into the archive" in result.output
    assert _sha256(snap.path) == before


@pytest.mark.e2e
def test_nianbao_serve_serves_a_snapshot_immutable_and_leaves_it_untouched(snapshot, tmp_path):
    import subprocess
    import time
    import urllib.request

    from tests.conftest import free_port
    from tests.crawling import command

    _, snap = snapshot
    before = _sha256(snap.path)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        command("serve", "--db", snap.path, "--port", port), stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}/-/databases.json"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    databases = json.loads(answer.read())
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    (served,) = databases
    assert served["name"] == snap.path.stem and served["is_mutable"] is False
    assert served["hash"] == snap.manifest["sha256"]
    assert "Serving the snapshot" in (tmp_path / "serve.log").read_text()
    assert _sha256(snap.path) == before
    assert not snap.path.with_name(snap.path.name + "-wal").exists()


def test_each_kind_of_page_is_rendered_once_when_warming(snapshot, monkeypatch):
    """What ``nianbao serve`` renders as it starts: every page answers 200 (a page that
    failed would be a reader's first request failing, after all)."""
    from archive.publish.pages import warm

    archive, _ = snapshot
    ds = Datasette([str(archive)], settings=SETTINGS)
    done = asyncio.run(warm.warm(ds))
    kinds = {path.split("?")[0].rsplit("/", 1)[-1] for path, _ in done}
    assert {"search", "regions", "leads", "compare", "nb"} <= kinds
    assert any("/reports/" in path for path, _ in done)
    assert all(status == 200 for _, status in done), done

    calls = []

    async def app(scope, receive, send):
        calls.append(scope["type"])
        if scope["type"] == "lifespan":
            await send({"type": "lifespan.startup.complete"})

    async def send(message):
        calls.append(message["type"])

    async def warming(datasette):
        calls.append("warm")

    monkeypatch.delenv(warm.ENV, raising=False)
    assert warm.wrapper(ds, app) is app  # only nianbao serve asks for it
    monkeypatch.setenv(warm.ENV, "1")
    monkeypatch.setattr(warm, "warm", warming)
    wrapped = warm.wrapper(ds, app)
    asyncio.run(wrapped({"type": "http"}, None, send))
    asyncio.run(wrapped({"type": "lifespan"}, None, send))
    # Warm before the server is told it has started (and so before it listens).
    assert calls == ["http", "lifespan", "warm", "lifespan.startup.complete"]


def test_a_snapshots_front_page_figures_are_counted_once(snapshot, monkeypatch):
    from archive.publish import pages
    from archive.publish.pages import home

    monkeypatch.setattr(pages, "_FRONT_OF_IMMUTABLE", {})  # not what earlier tests left
    _, snap = snapshot
    calls = []
    counted = home.front_page

    def front_page(conn):
        calls.append(1)
        return counted(conn)

    monkeypatch.setattr(home, "front_page", front_page)
    inspection = snapshot_inspection(snap.path)
    ds = Datasette(immutables=[str(snap.path)], inspect_data=inspection, settings=SETTINGS)

    async def walk():
        return [
            (await ds.client.get(path)).status_code
            for path in ("/", f"/{snap.path.stem}", "/", f"/{snap.path.stem}")
        ]

    assert asyncio.run(walk()) == [200] * 4
    assert len(calls) == 1  # a snapshot never changes: its figures neither
