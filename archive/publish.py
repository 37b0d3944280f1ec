"""Publishing the archive with Datasette.

Datasette is run as it is (its own ``serve`` command, in this process), with the
project's ``datasette_metadata.json``: the archive is configured, never forked.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# Facets on a large archive need more than Datasette's default 200 ms.
SETTINGS = {
    "facet_time_limit_ms": 1000,
    "sql_time_limit_ms": 3000,
    "default_page_size": 50,
    "allow_download": "on",
}


def metadata_path() -> Path:
    """``datasette_metadata.json``: packaged with the wheel, or at the top of a checkout."""
    packaged = resources.files("archive").joinpath("datasette_metadata.json")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "datasette_metadata.json"


def serve_args(db: str, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    args = ["serve", db, "--metadata", str(metadata_path()), "--host", host,
            "--port", str(port)]
    for key, value in SETTINGS.items():
        args += ["--setting", key, str(value)]
    return args


def serve(db: str, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve the archive until interrupted."""
    from datasette.cli import cli

    print(f"Serving the archive at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    cli.main(serve_args(db, host, port), prog_name="datasette", standalone_mode=False)
