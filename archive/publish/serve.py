"""Serving the archive with Datasette.

Datasette is run as it is (its own ``serve`` command, in this process), with the
project's plugins (:mod:`archive.publish.plugin`, :mod:`archive.publish.pages`,
:mod:`archive.publish.snapshots`): the archive is configured, never forked. The
project's ``datasette_metadata.json`` reaches Datasette through the pages plugin,
under each database's real name (a copy opened without nianbao gets the same from
:mod:`archive.publish.standalone`); passing the file again with ``--metadata`` would
only make Datasette copy it on every permission check.

A **snapshot** (a file with its manifest beside it, :mod:`archive.export.snapshot`) is
served as what it is, a file that never changes: immutable, nothing refreshed, with
Datasette's inspect data built from its manifest (its SHA-256, size and row counts), so
that no page counts a table or hashes the file. A live archive's database page counts
every table on every request (SQLite counts a table in one step that no time limit
interrupts: hundreds of milliseconds at 100,000 reports); a snapshot's counts are known.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

from archive.publish.prepare import prepare_file
from archive.publish.standalone import metadata_path
from archive.store.copies import table_counts
from archive.store.database import ArchiveError, SchemaError
from archive.store.schema import SCHEMA_VERSION

__all__ = ["metadata_path", "serve", "serve_args", "snapshot_inspection"]

SETTINGS = {
    # Every facet column has an index; 1 s is headroom for a busy machine.
    "facet_time_limit_ms": 1000,
    "sql_time_limit_ms": 3000,
    "default_page_size": 50,
    "allow_download": True,
    # Suggested facets cost ~0.7 s per page of a million-row table (measured); the
    # configured facets of each table are the useful ones.
    "suggest_facets": False,
    # Full exports (?_stream=on) must not stop at a size cap.
    "max_csv_mb": 0,
    # A page of 50 reports' full text is megabytes of HTML; the row page shows it whole.
    "truncate_cells_html": 300,
}


class NotTheSnapshot(ArchiveError):
    """A manifest beside the file that does not describe it (another file, or changed)."""


def snapshot_inspection(db: str | Path) -> dict | None:
    """Datasette's inspect data for a snapshot, from the manifest beside it; None for a
    file with no manifest (an archive). Tables the manifest does not count (full-text
    indexes and their shadow tables) are counted here, once, read-only."""
    from archive.export.snapshot import manifest_path

    path = Path(db)
    manifest_file = manifest_path(path)
    if not manifest_file.is_file():
        return None
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        tables, sha, size = manifest["tables"], manifest["sha256"], manifest["size"]
    except (ValueError, KeyError, TypeError) as exc:
        raise NotTheSnapshot(f"{manifest_file} is not a snapshot manifest ({exc})") from exc
    if manifest.get("file") != path.name or size != path.stat().st_size:
        raise NotTheSnapshot(
            f"{manifest_file} describes another file than {path} (its name or size differs)"
        )
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise SchemaError(
            f"{path} is a snapshot of schema version {manifest.get('schema_version')}, and "
            f"this nianbao serves version {SCHEMA_VERSION}: a snapshot is never changed, so "
            "serve a copy of it (without its manifest), which is migrated as an archive is"
        )
    counts = dict(tables)
    counts.update(table_counts(path, skip=counts))
    return {
        path.stem: {
            "hash": sha,
            "size": size,
            "file": str(path),
            "tables": {table: {"count": count} for table, count in counts.items()},
        }
    }


def serve_args(
    db: str,
    host: str = "127.0.0.1",
    port: int = 8001,
    metadata: Path | None = None,
    root: bool = False,
    inspect_file: Path | None = None,
) -> list[str]:
    """Datasette's command line; with ``inspect_file`` the file is served immutable."""
    if inspect_file is None:
        args = ["serve", db, "--host", host, "--port", str(port)]
    else:
        args = ["serve", "-i", db, "--inspect-file", str(inspect_file)]
        args += ["--host", host, "--port", str(port)]
    for key, value in SETTINGS.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        args += ["--setting", key, text]
    if metadata is not None:
        args += ["--metadata", str(metadata)]
    if root:
        args.append("--root")
    return args


def serve(
    db: str,
    host: str = "127.0.0.1",
    port: int = 8001,
    reviewers: list[str] | None = None,
    root: bool = False,
) -> None:
    """Serve the archive until interrupted (bringing its derived tables up to date first).

    ``reviewers``: writing reviews and corrections is allowed to these actor ids
    (``["*"]``: anyone signed in; None: to nobody) — Datasette's plugin configuration,
    in a metadata file of its own (:func:`archive.publish.review_web.plugin_metadata`).
    ``root``: Datasette prints a link that signs its opener in as ``root``."""
    from datasette.cli import cli

    # Imported here, not above: importing Datasette loads its plugins, ours among them,
    # which must find this module whole (a half-imported plugin registers no hooks).
    from archive.publish.original_text import READER
    from archive.publish.pages.warm import ENV as WARM_PAGES
    from archive.publish.review_web import plugin_metadata

    inspection = snapshot_inspection(db)  # a snapshot refused says so before anything starts
    # The text reader's worker starts beside the server, not on the first original read,
    # and each kind of page is rendered once as it starts (archive/publish/pages/warm.py).
    threading.Thread(target=READER.warm, name="nianbao-text-reader", daemon=True).start()
    os.environ[WARM_PAGES] = "1"
    if inspection is None:
        prepare_file(db)
        print(f"Serving the archive at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    else:
        print(f"Serving the snapshot at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    with tempfile.TemporaryDirectory(prefix="nianbao-serve-") as tmp:
        inspect_file = None
        if inspection is not None:
            inspect_file = Path(tmp) / "inspect.json"
            inspect_file.write_text(json.dumps(inspection), encoding="utf-8")
        metadata = None
        if reviewers is not None:
            allow = {"id": "*" if "*" in reviewers else reviewers}
            metadata = Path(tmp) / "review.json"
            metadata.write_text(json.dumps(plugin_metadata(allow)), encoding="utf-8")
            who = "任何登录用户" if "*" in reviewers else "、".join(reviewers)
            print(f"Reviews and corrections may be written by: {who}", flush=True)
        args = serve_args(db, host, port, metadata, root, inspect_file)
        cli.main(args, prog_name="datasette", standalone_mode=False)
