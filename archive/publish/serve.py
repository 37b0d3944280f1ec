"""Serving the archive with Datasette.

Datasette is run as it is (its own ``serve`` command, in this process), with the
project's plugins (:mod:`archive.publish.plugin`, :mod:`archive.publish.pages`,
:mod:`archive.publish.snapshots`): the archive is configured, never forked. The
project's ``datasette_metadata.json`` reaches Datasette through the pages plugin,
under each database's real name (a copy opened without nianbao gets the same from
:mod:`archive.publish.standalone`); passing the file again with ``--metadata`` would
only make Datasette copy it on every permission check.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from archive.publish.prepare import prepare_file
from archive.publish.standalone import metadata_path

__all__ = ["metadata_path", "serve", "serve_args"]

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


def serve_args(
    db: str,
    host: str = "127.0.0.1",
    port: int = 8001,
    metadata: Path | None = None,
    root: bool = False,
) -> list[str]:
    args = ["serve", db, "--host", host, "--port", str(port)]
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
    from archive.publish.review_web import plugin_metadata

    prepare_file(db)
    print(f"Serving the archive at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    with tempfile.TemporaryDirectory(prefix="nianbao-serve-") as tmp:
        metadata = None
        if reviewers is not None:
            allow = {"id": "*" if "*" in reviewers else reviewers}
            metadata = Path(tmp) / "review.json"
            metadata.write_text(json.dumps(plugin_metadata(allow)), encoding="utf-8")
            who = "任何登录用户" if "*" in reviewers else "、".join(reviewers)
            print(f"Reviews and corrections may be written by: {who}", flush=True)
        args = serve_args(db, host, port, metadata, root)
        cli.main(args, prog_name="datasette", standalone_mode=False)
