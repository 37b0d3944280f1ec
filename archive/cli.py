"""The ``nianbao`` command: a thin layer over the library.

Each subcommand calls one function of :mod:`archive` or :mod:`crawler`; what it
adds is argument parsing, output, and exit codes an operator can rely on.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from archive import __version__

DEFAULT_DB = "nianbao.db"
db_option = click.option("--db", default=DEFAULT_DB, show_default=True,
                         type=click.Path(dir_okay=False), help="The archive (SQLite file).")


@click.group()
@click.version_option(__version__, prog_name="nianbao")
def main() -> None:
    """nianbao (年报): an archive of government information-disclosure annual reports."""


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report-json object.")
def parse(file: str, as_json: bool) -> None:
    """Read one saved report document (HTML, PDF, text) and print its record."""
    from archive.parse import ParseError, parse_document

    path = Path(file)
    try:
        report = parse_document(path.read_bytes(), source=path.name, filename=path.name)
    except ParseError as exc:
        click.echo(f"nianbao parse: {path.name}: {exc.status}: {exc.message}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        click.echo(_describe(report))
    if report.status in ("not_a_report", "landing_page"):
        why = ("it links its report as an attachment" if report.status == "landing_page"
               else "no report tables or title found")
        click.echo(f"nianbao parse: {path.name}: {report.status}: {why}", err=True)
        sys.exit(3)


def _describe(report) -> str:
    lines = [
        f"{report.title or '(no title)'}",
        f"  agency {report.agency}  year {report.year}  template {report.template}  "
        f"format {report.format}  status {report.status}",
        f"  cells {report.cell_count()}  findings {len(report.checks)}  "
        f"warnings {len(report.warnings)}",
    ]
    lines += [f"  ! {c['rule']} {c.get('row') or c.get('column')}: {c['message']}"
              for c in report.checks]
    lines += [f"  ? {w}" for w in report.warnings]
    return "\n".join(lines)


@main.command()
@click.option("--sites", type=click.Path(exists=True, dir_okay=False),
              help="Site registry CSV (docs/interfaces.md); default: the bundled registry "
                   "of real sites.")
@db_option
@click.option("--jobdir", type=click.Path(file_okay=False), help="Scrapy JOBDIR to pause/resume.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting, e.g. -s DOWNLOAD_DELAY=2.")
def crawl(sites: str | None, db: str, jobdir: str | None, overrides: tuple[str, ...]) -> None:
    """Crawl the sites of a registry into the archive (raw captures only)."""
    from crawler.runner import BUNDLED_REGISTRY, run_crawl

    stats = run_crawl(sites or str(BUNDLED_REGISTRY), db, jobdir,
                      dict(_setting(o) for o in overrides))
    _exit_on_crawl_failure(stats)


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="-s")
    return name.strip(), value.strip()


def _exit_on_crawl_failure(stats: dict) -> None:
    reason = stats.get("finish_reason")
    click.echo(f"crawl {reason}: {stats.get('response_received_count', 0)} responses, "
               f"{stats.get('nianbao/captures_stored', 0)} captures stored, "
               f"{stats.get('log_count/ERROR', 0)} errors", err=True)
    if reason != "finished":
        sys.exit(1)


@main.command()
@db_option
def process(db: str) -> None:
    """Parse and check the captures not parsed yet (the stage after a crawl)."""
    _process(db, everything=False)


@main.command()
@db_option
def reparse(db: str) -> None:
    """Re-read every stored original with the current parser; nothing is fetched."""
    _process(db, everything=True)


def _process(db: str, everything: bool) -> None:
    from archive.process import process_captures
    from archive.store import Archive

    with Archive(db) as archive:
        summary = process_captures(archive, everything)
        counts = archive.counts()
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_status.items())) or "none"
    click.echo(f"parsed {summary.captures} captures ({statuses}); archive now holds "
               f"{counts['reports']} reports, {counts['cells']} cells, "
               f"{counts['findings']} findings", err=True)
    if summary.by_status.get("parser_error"):
        sys.exit(1)


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
def serve(db: str, host: str, port: int) -> None:
    """Serve the archive with Datasette."""
    from archive.publish import serve as run_server

    if not Path(db).exists():
        raise click.ClickException(f"{db} does not exist; build it with `nianbao demo` or crawl")
    run_server(db, host, port)


@main.command()
@db_option
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Build the archive and exit.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the simulated web's generated reports.")
def demo(db: str, port: int, no_serve: bool, seed: int) -> None:
    """Crawl the bundled simulated government web, parse, check, and serve the archive."""
    from archive.demo import build_demo
    from archive.publish import serve as run_server

    with tempfile.TemporaryDirectory(prefix="nianbao-simweb-") as tmp:
        try:
            summary = build_demo(db, Path(tmp), seed)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(summary, err=True)
    if not no_serve:
        run_server(db, "127.0.0.1", port)
