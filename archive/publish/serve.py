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


def serve_args(db: str, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    args = ["serve", db, "--host", host, "--port", str(port)]
    for key, value in SETTINGS.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        args += ["--setting", key, text]
    return args


def serve(db: str, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve the archive until interrupted (bringing its derived tables up to date first)."""
    from datasette.cli import cli

    prepare_file(db)
    print(f"Serving the archive at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    cli.main(serve_args(db, host, port), prog_name="datasette", standalone_mode=False)
