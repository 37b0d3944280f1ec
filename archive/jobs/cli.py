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
db_option = click.option(
    "--db",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The archive (SQLite file).",
)


@click.group()
@click.version_option(__version__, prog_name="nianbao")
def main() -> None:
    """nianbao (年报): an archive of government information-disclosure annual reports."""


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report-json object.")
def parse(file: str, as_json: bool) -> None:
    """Read one saved report document (HTML, PDF, DOCX, DOC, text) and print its record."""
    from archive.checks import check_parsed
    from archive.parse import ParseError
    from archive.parse.isolate import parse_isolated

    path = Path(file)
    try:
        report = parse_isolated(path.read_bytes(), source=path.name, filename=path.name)
    except ParseError as exc:
        click.echo(f"nianbao parse: {path.name}: {exc.status}: {exc.message}", err=True)
        sys.exit(2)
    check_parsed(report)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        click.echo(_describe(report))
    if report.status in ("not_a_report", "landing_page"):
        why = (
            "it links its report as an attachment"
            if report.status == "landing_page"
            else report.reason or "no report tables or title found"
        )
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
    lines += [
        f"  ! {c['rule']} {c.get('row') or c.get('column')}: {c['message']}" for c in report.checks
    ]
    lines += [f"  ? {w}" for w in report.warnings]
    return "\n".join(lines)


@main.command()
@click.option(
    "--sites",
    type=click.Path(exists=True, dir_okay=False),
    help="Site registry CSV (docs/interfaces.md); default: the bundled registry of real sites.",
)
@db_option
@click.option("--jobdir", type=click.Path(file_okay=False), help="Scrapy JOBDIR to pause/resume.")
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting, e.g. -s DOWNLOAD_DELAY=2.",
)
def crawl(sites: str | None, db: str, jobdir: str | None, overrides: tuple[str, ...]) -> None:
    """Crawl the sites of a registry into the archive (raw captures only)."""
    from crawler.runner import BUNDLED_REGISTRY, run_crawl

    stats = run_crawl(
        sites or str(BUNDLED_REGISTRY), db, jobdir, dict(_setting(o) for o in overrides)
    )
    _exit_on_crawl_failure(stats)


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="-s")
    return name.strip(), value.strip()


def _exit_on_crawl_failure(stats: dict) -> None:
    """One summary line; exit 1 if the crawl did not finish, 3 if most sites failed."""
    from archive.jobs.nightly import most_sites_failed

    reason = stats.get("finish_reason")
    statuses = {
        key.rsplit("/", 1)[1]: n for key, n in stats.items() if key.startswith("nianbao/sites/")
    }
    by_status = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items(), key=lambda i: -i[1]))
    click.echo(
        f"crawl {reason}: {stats.get('response_received_count', 0)} responses, "
        f"{stats.get('nianbao/captures_stored', 0)} captures stored, "
        f"{stats.get('log_count/ERROR', 0)} errors, "
        f"{stats.get('nianbao/not_modified', 0)} not modified, "
        f"{stats.get('nianbao/site_alerts', 0)} site alerts; "
        f"sites: {by_status or 'none'} (per site: table crawl_site_counts)",
        err=True,
    )
    code = 1 if reason != "finished" else 0
    if not code and (failing := most_sites_failed(statuses)):
        click.echo(f"ALERT: {failing}", err=True)
        code = 3
    _exit_now(code)


def _exit_now(code: int) -> None:
    """End the crawl process now. The archive is closed and the log flushed; tearing down
    Scrapy's and Twisted's objects one by one only delays the exit (seconds on a busy
    machine, which a SIGTERM-stopped crawl should not take)."""
    import logging
    import os

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Parse worker processes; default: one per CPU.",
)


@main.command()
@db_option
@workers_option
def process(db: str, workers: int | None) -> None:
    """Parse and check the captures not parsed yet (the stage after a crawl)."""
    _process(db, everything=False, workers=workers)


@main.command()
@db_option
@workers_option
def reparse(db: str, workers: int | None) -> None:
    """Re-read every stored original with the current parser; nothing is fetched."""
    _process(db, everything=True, workers=workers)


def _process(db: str, everything: bool, workers: int | None = None) -> None:
    from archive.jobs.process import process_captures
    from archive.store import Archive

    with Archive(db) as archive:
        summary = process_captures(archive, everything, workers)
        counts = archive.counts()
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_status.items())) or "none"
    click.echo(
        f"parsed {summary.captures} captures ({statuses}); archive now holds "
        f"{counts['reports']} reports, {counts['cells']} cells, "
        f"{counts['findings']} findings",
        err=True,
    )
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
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    help="Seed of the simulated web's generated reports.",
)
def demo(db: str, port: int, no_serve: bool, seed: int) -> None:
    """Crawl the bundled simulated government web, parse, check, and serve the archive."""
    from archive.jobs.demo import build_demo
    from archive.publish import serve as run_server

    with tempfile.TemporaryDirectory(prefix="nianbao-simweb-") as tmp:
        try:
            summary = build_demo(db, Path(tmp), seed)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(summary, err=True)
    if not no_serve:
        run_server(db, "127.0.0.1", port)


@main.command()
@db_option
@click.option(
    "--run", "run_id", type=int, help="Crawl run id (crawl_runs.id); default: the latest."
)
@click.option(
    "--out",
    "out_dir",
    default="warc",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Directory for the .warc.gz file.",
)
@click.option(
    "--revisits",
    type=click.Choice(["archive", "run", "none"]),
    default="archive",
    show_default=True,
    help="Revisit records for payloads archived earlier in the "
    "whole archive, only earlier in this run, or never.",
)
@click.option("--no-gzip", is_flag=True, help="Write an uncompressed .warc.")
def warc(db: str, run_id: int | None, out_dir: str, revisits: str, no_gzip: bool) -> None:
    """Write a crawl run as a WARC 1.1 file (readable by warcio, pywb, ReplayWeb.page)."""
    from archive.export.warc import WarcError, write_run_warc

    try:
        summary = write_run_warc(db, run_id, out_dir, revisits, gzip=not no_gzip)
    except WarcError as exc:
        raise click.ClickException(str(exc)) from exc
    records = ", ".join(f"{k} {v}" for k, v in sorted(summary.records.items()))
    click.echo(
        f"{summary.path}: run {summary.run_id}, {summary.captures} captures ({records})", err=True
    )
    click.echo(str(summary.path))


@main.command()
@db_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Snapshot directory; default: snapshots/ beside the archive.",
)
@click.option(
    "--flavour",
    type=click.Choice(["data", "full"]),
    default="data",
    show_default=True,
    help="data: no raw bodies; full: everything.",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    help="Then delete all but the newest N snapshots of each flavour.",
)
def snapshot(db: str, out_dir: str | None, flavour: str, keep: int | None) -> None:
    """Write a consistent, dated copy of the archive with its SHA-256 and a manifest."""
    from archive.export.snapshot import SnapshotError, make_snapshot, prune_snapshots

    folder = Path(out_dir) if out_dir else Path(db).resolve().parent / "snapshots"
    try:
        snap = make_snapshot(db, folder, flavour)
        removed = prune_snapshots(folder, keep) if keep else []
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{snap.path}: {snap.manifest['size']:,} bytes, sha256 {snap.manifest['sha256']}"
        f"{f', {len(removed)} old files removed' if removed else ''}",
        err=True,
    )
    click.echo(str(snap.path))


@main.command()
@click.option(
    "--sites",
    type=click.Path(exists=True, dir_okay=False),
    help="Site registry CSV; default: the bundled registry of real sites.",
)
@db_option
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting of the crawl, e.g. -s DOWNLOAD_DELAY=2.",
)
@click.option(
    "--snapshot-dir",
    type=click.Path(file_okay=False),
    help="Default: snapshots/ beside the archive.",
)
@click.option(
    "--flavour",
    "flavours",
    multiple=True,
    type=click.Choice(["data", "full"]),
    help="Snapshot flavour(s) to write; default: data.",
)
@click.option("--keep", type=click.IntRange(min=1), help="Keep the newest N snapshots per flavour.")
@click.option(
    "--warc-dir",
    type=click.Path(file_okay=False),
    help="Also write tonight's crawl run as WARC into this directory.",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False),
    help="JSON-lines log; default: nightly.jsonl beside the archive.",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(dir_okay=False),
    help="Lock file; default: <db>.nightly.lock beside the archive.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def nightly(
    sites: str | None,
    db: str,
    overrides: tuple[str, ...],
    snapshot_dir: str | None,
    flavours: tuple[str, ...],
    keep: int | None,
    warc_dir: str | None,
    log_path: str | None,
    lock_path: str | None,
    as_json: bool,
) -> None:
    """Crawl, parse, check, snapshot; exit 0 ok, 3 alerts, 4 a stage failed, 5 locked."""
    from archive.jobs.nightly import (
        Events,
        NightlyConfig,
        default_paths,
        format_summary,
        run_nightly,
    )
    from crawler.runner import BUNDLED_REGISTRY

    defaults = default_paths(Path(db))
    config = NightlyConfig(
        db=Path(db),
        sites=sites or str(BUNDLED_REGISTRY),
        snapshot_dir=Path(snapshot_dir) if snapshot_dir else defaults["snapshot_dir"],
        log_path=Path(log_path) if log_path else defaults["log_path"],
        lock_path=Path(lock_path) if lock_path else defaults["lock_path"],
        flavours=flavours or ("data",),
        keep=keep,
        overrides=dict(_setting(o) for o in overrides),
        warc_dir=Path(warc_dir) if warc_dir else None,
    )
    events = Events(config.log_path)
    try:
        code, summary = run_nightly(config, events)
    finally:
        events.close()
    click.echo(
        json.dumps(summary, ensure_ascii=False, indent=1)
        if as_json
        else format_summary(summary, code)
    )
    sys.exit(code)
