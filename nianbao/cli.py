"""The ``nianbao`` command: a thin layer over the library.

Each subcommand calls one function of :mod:`archive` or :mod:`crawler`; what it
adds is argument parsing, output, and exit codes an operator can rely on. An
operator's error (a bad option or path, a bad registry, a missing, foreign or
unwritable archive, a full disk …) is one line on stderr, ``nianbao <command>:
error: …``, and an exit status, the same in every command:

====  ===========================================================================
1     the command ran and failed (a crawl that did not finish, parser errors, a
      full disk, an input/output error)
2     bad input, nothing was done (options and paths, registry, an archive that
      does not exist, is no SQLite file, cannot be written or is newer than this
      nianbao, a failed migration)
====  ===========================================================================

One handler says them all (:class:`_Nianbao`): click's own usage errors (a path that
does not exist, a bad value) included, in place of its usage text. ``nightly`` has
its own statuses (:mod:`nianbao.nightly`), its errors in the same one line. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import click
from click.core import ParameterSource

from nianbao.workers import redis_options

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
# `process --follow` started before the crawl: how long it waits for the crawl's run.
FOLLOW_START_SECONDS = 30.0

DEFAULT_DB = "nianbao.db"
db_option = click.option(
    "--db",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The archive (SQLite file).",
)


# Exit status when the packages imported are not this installation's (nothing was done).
EXIT_NOT_OURS = EXIT_BAD_INPUT


def output_options(command):
    """``--quiet`` and ``--json`` for a command a scheduler runs (nianbao.progress)."""
    command = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Progress and the summary as JSON lines on stdout, for a scheduler.",
    )(command)
    return click.option(
        "--quiet", "-q", is_flag=True, help="Print nothing but errors (no bars, no summary)."
    )(command)


def _progress(command: str, quiet: bool, as_json: bool):
    from nianbao.progress import Progress, choose_mode

    return Progress(command, choose_mode(quiet, as_json))


# Control characters (C0 but newline and tab, DEL, C1) and the bidirectional overrides
# that can reorder or hide text: never written raw to a terminal from a document.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` safe for a terminal: control bytes a document (or a server) put in a
    title, an agency name or a message are shown escaped (``\\x1b``), not obeyed."""

    def escape(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNPRINTABLE.sub(escape, str(text))


def printable_lines(text: str) -> str:
    """Several lines of output, each made :func:`printable` (the line breaks are ours)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def operator_error(exc: BaseException, db: str | None = None) -> tuple[str, int] | None:
    """The one line and exit status for an operator's error, or None for a bug."""
    from archive.export.snapshot import SnapshotError
    from archive.export.warc import WarcError
    from archive.store import ArchiveError, DiskFull, storage_error
    from archive.store.database import ArchiveMissing, ArchiveUnwritable, NotAnArchive, SchemaError
    from archive.store.registry import RegistryError
    from archive.store.reviews import ReviewError
    from nianbao.merge import MergeError

    if isinstance(exc, click.ClickException):  # click's usage errors (2) and ours
        return exc.format_message(), exc.exit_code
    if isinstance(exc, sqlite3.Error | OSError) and db is not None:
        exc = storage_error(db, exc) or exc
    from archive.publish.serve import NotTheSnapshot

    bad_input = (
        NotTheSnapshot
        | ArchiveMissing
        | ArchiveUnwritable
        | NotAnArchive
        | SchemaError
        | RegistryError
        | ReviewError
    )
    if isinstance(exc, bad_input | MergeError):
        return str(exc), EXIT_BAD_INPUT
    if isinstance(exc, DiskFull | ArchiveError | SnapshotError | WarcError):
        return str(exc), EXIT_FAILED
    return None


class _Nianbao(click.Group):
    """The command group: operator errors become one line and an exit status, in every
    command, whether click found them in the arguments or the command met them."""

    def make_context(self, info_name, args, parent=None, **extra):
        """The group's own arguments (``nianbao --bogus``)."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            if isinstance(exc, click.exceptions.NoArgsIsHelpError):
                raise  # ``nianbao`` alone: its help, as click shows it
            fail("nianbao", exc.format_message(), exc.exit_code)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 (re-raised unless it is an operator's error)
            sub = ctx.invoked_subcommand
            found = operator_error(exc, ctx.meta.get("nianbao.db"))
            if found is None:
                raise
            fail(f"nianbao {sub}" if sub else "nianbao", *found)


def fail(command: str, message: str, code: int) -> NoReturn:
    """The one line of an operator's error, on stderr, and the exit status."""
    click.echo(f"{command}: error: {printable(' '.join(message.split()))}", err=True)
    sys.exit(code)


def _archive_path(db: str, must_exist: bool = False) -> str:
    """Note ``--db`` for error messages; for commands that read an archive, it must exist.
    One that exists must be an SQLite archive this nianbao can read: said before any
    command opens it, reads it or writes beside it."""
    from archive.store import ArchiveMissing, check_archive

    click.get_current_context().find_root().meta["nianbao.db"] = db
    if must_exist and not Path(db).is_file():
        raise ArchiveMissing(f"{db} does not exist (is --db right?)")
    if Path(db).is_file():
        check_archive(db)
    return db


@click.group(cls=_Nianbao)
@click.version_option(package_name="nianbao-archive", prog_name="nianbao")
def main() -> None:
    """nianbao (年报): an archive of government information-disclosure annual reports."""
    from nianbao.installation import InstallationError, check_installation

    try:
        check_installation()
    except InstallationError as exc:
        click.echo(f"nianbao: error: {exc}", err=True)
        sys.exit(EXIT_NOT_OURS)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report-json object.")
def parse(file: str, as_json: bool) -> None:
    """Read one saved report document (HTML, PDF, DOCX, DOC, text) and print its record."""
    from archive.checks import check_parsed
    from archive.parse import ParseError, read_file
    from archive.parse.isolate import parse_isolated

    path = Path(file)
    try:
        report = parse_isolated(read_file(path), source=path.name, filename=path.name)
    except ParseError as exc:
        click.echo(
            f"nianbao parse: {printable(path.name)}: {exc.status}: {printable(exc.message)}",
            err=True,
        )
        sys.exit(2)
    check_parsed(report)
    if as_json:  # JSON escapes C0 controls itself; C1 and bidi controls are escaped here
        click.echo(_json_escape(json.dumps(report.to_json(), ensure_ascii=False, indent=1)))
    else:
        click.echo(_describe(report))
    if report.status in ("not_a_report", "landing_page"):
        why = (
            "it links its report as an attachment"
            if report.status == "landing_page"
            else report.reason or "no report tables or title found"
        )
        click.echo(
            f"nianbao parse: {printable(path.name)}: {report.status}: {printable(why)}", err=True
        )
        sys.exit(3)


# In JSON, json.dumps escapes C0 controls inside strings; these it leaves raw.
_JSON_UNPRINTABLE = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _json_escape(text: str) -> str:
    """JSON for a terminal: DEL, C1 and bidi controls as ``\\uXXXX`` (still valid JSON)."""
    return _JSON_UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _describe(report) -> str:
    """The record for a terminal; every string the document supplied made printable."""
    p = printable
    lines = [
        f"{p(report.title or '(no title)')}",
        f"  agency {p(report.agency)}  year {report.year}  template {report.template}  "
        f"format {report.format}  status {report.status}",
        f"  cells {report.cell_count()}  findings {len(report.checks)}  "
        f"warnings {len(report.warnings)}",
    ]
    lines += [
        f"  ! {c['rule']} {p(c.get('row') or c.get('column'))}: {p(c['message'])}"
        for c in report.checks
    ]
    lines += [f"  ? {p(w)}" for w in report.warnings]
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
@redis_options
@output_options
def crawl(
    sites: str | None,
    db: str,
    jobdir: str | None,
    overrides: tuple[str, ...],
    quiet: bool,
    as_json: bool,
    **distributed,
) -> None:
    """Crawl the sites of a registry into the archive (raw captures only); with --redis,
    on several machines (README: "A crawl on several machines").

    On a terminal a bar counts pages and captures and Scrapy logs only warnings
    (``-s LOG_LEVEL=INFO`` for its full log); elsewhere Scrapy's log goes to stderr."""
    from archive.store import Archive
    from archive.store.registry import read_registry
    from nianbao.children import die_with_parent_if_asked

    die_with_parent_if_asked()
    if distributed["redis_url"]:
        from nianbao.workers import distributed_crawl

        source = click.get_current_context().get_parameter_source("db")
        db_given = source is not None and source.name != "DEFAULT"
        if distributed["worker"] and db_given and Path(db).exists():
            # a shard there already is checked before Redis is asked; a new one is made
            # only when there is work
            with Archive(_archive_path(db)) as archive:
                archive.ensure_writable()
        settings = dict(_setting(o) for o in overrides)
        # --json (of output_options) also makes --status print JSON
        return distributed_crawl(
            sites, db, db_given, jobdir, settings, as_json=as_json, **distributed
        )
    from crawler.runner import BUNDLED_REGISTRY, run_crawl
    from crawler.scope import check_allowed_domains

    settings = dict(_setting(o) for o in overrides)
    sites = sites or str(BUNDLED_REGISTRY)
    # a bad registry is one line here, not a traceback in Scrapy
    check_allowed_domains(read_registry(sites), sites)
    if jobdir:
        _writable_directory(jobdir, "--jobdir")
    with Archive(_archive_path(db)) as archive:  # so is an archive that cannot be written
        archive.ensure_writable()
    progress = _progress("crawl", quiet, as_json)
    if progress.drawing or quiet:
        settings.setdefault("LOG_LEVEL", "ERROR" if quiet else "WARNING")
    with progress, progress.stage("crawl") as update:
        stats = run_crawl(
            sites,
            db,
            jobdir,
            settings,
            on_stats=lambda s: update(s.get("response_received_count", 0), **crawl_counts(s)),
        )
    _exit_on_crawl_failure(stats, progress)


def _writable_directory(path: str, option: str) -> None:
    """A directory the command will write in: made if missing, and written to once (an
    error in Scrapy's start-up would be a traceback, after the archive was opened)."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise click.BadParameter(
            f"{path} cannot be written ({exc.strerror or exc})", param_hint=option
        ) from None


def crawl_counts(stats: dict) -> dict[str, int]:
    """What a crawl's progress shows, from Scrapy's stats as they stand."""
    return {
        "captures": stats.get("nianbao/captures_stored", 0),
        "not_modified": stats.get("nianbao/not_modified", 0),
        "errors": stats.get("log_count/ERROR", 0),
    }


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="-s")
    return name.strip(), value.strip()


def _exit_on_crawl_failure(stats: dict, progress=None) -> None:
    """One summary line; exit 1 if the crawl did not finish, 3 if most sites failed."""
    from nianbao.nightly import most_sites_failed
    from nianbao.progress import Progress

    progress = progress or Progress("crawl")
    reason = stats.get("finish_reason")
    if stats.get("nianbao/storage_error"):
        click.echo(f"nianbao crawl: error: {printable(stats['nianbao/storage_error'])}", err=True)
    statuses = {
        key.rsplit("/", 1)[1]: n for key, n in stats.items() if key.startswith("nianbao/sites/")
    }
    by_status = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items(), key=lambda i: -i[1]))
    # a crawl that could not write what it had to (the archive, its --jobdir) failed
    code = 1 if reason != "finished" or stats.get("nianbao/storage_error") else 0
    failing = most_sites_failed(statuses) if not code else None
    if failing:
        code = 3
    progress.summary(
        f"crawl {reason}: {stats.get('response_received_count', 0)} responses, "
        f"{stats.get('nianbao/captures_stored', 0)} captures stored, "
        f"{stats.get('log_count/ERROR', 0)} errors, "
        f"{stats.get('nianbao/not_modified', 0)} not modified, "
        f"{stats.get('nianbao/site_alerts', 0)} site alerts; "
        f"sites: {by_status or 'none'} (per site: table crawl_site_counts)",
        finish_reason=reason,
        responses=stats.get("response_received_count", 0),
        **crawl_counts(stats),
        site_alerts=stats.get("nianbao/site_alerts", 0),
        sites_blocked=stats.get("nianbao/sites_blocked", 0),
        sites=statuses,
        exit_status=code,
    )
    if failing:
        click.echo(f"ALERT: {failing}", err=True)
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
@click.argument("shards", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--into",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The archive the shards are merged into (created if missing).",
)
def merge(shards: tuple[str, ...], into: str) -> None:
    """Merge the workers' archives (shards) of a crawl on several machines into one
    archive: one crawl run per crawl, no fetch or body twice; safe to repeat."""
    from nianbao.merge import merge_shards

    shards_merged, crawls = merge_shards(list(shards), _archive_path(into))
    for item in shards_merged:
        click.echo(
            f"{item.shard}: crawl {item.crawl_id}, {len(item.workers)} worker run(s): "
            f"{item.captures} captures, {item.added} added, "
            f"{item.captures - item.added} already in run {item.run_id}",
            err=True,
        )
    for crawl in crawls:
        click.echo(
            f"crawl {crawl.crawl_id} is run {crawl.run_id} of {into}: {crawl.status} "
            f"({crawl.finished_groups} of {crawl.groups} site groups finished), "
            f"{crawl.captures} captures (per site: table crawl_site_counts)",
            err=True,
        )


@main.command()
@click.argument("urls", nargs=-1)
@click.option(
    "--file",
    "url_file",
    type=click.File("r", encoding="utf-8"),
    help="Portal URLs, one a line (optionally followed by its 6-digit region code).",
)
@click.option(
    "--check",
    "check_registry",
    type=click.Path(exists=True, dir_okay=False),
    help="Re-validate this registry instead: is each row's column ok, moved, vanished, "
    "or its host unreachable?",
)
@click.option("--region-code", help="Region code (行政区划代码) of the portals given.")
@click.option(
    "--max-pages",
    default=60,
    show_default=True,
    type=click.IntRange(min=1),
    help="At most this many requests per portal.",
)
@click.option("--no-header", is_flag=True, help="Rows only, to append to a registry.")
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting, e.g. -s DOWNLOAD_DELAY=2.",
)
def discover(
    urls: tuple[str, ...],
    url_file,
    check_registry: str | None,
    region_code: str | None,
    max_pages: int,
    no_header: bool,
    overrides: tuple[str, ...],
) -> None:
    """Find the 年报 column(s) of portals and print registry rows (exit 0 all found, 3 not).

    The rows are in the registry format, every column (``crawler/sites.csv`` has its
    header): appended to such a registry, they crawl as they are."""
    import csv
    import re
    from datetime import UTC, datetime

    from archive.store.registry import COLUMNS
    from crawler.spiders import discover as finder

    settings = dict(_setting(o) for o in overrides)
    if region_code and not re.fullmatch(r"\d{6}", region_code):
        raise click.BadParameter(f"{region_code!r} is not 6 digits", param_hint="--region-code")
    if check_registry:
        if urls or url_file:
            raise click.UsageError("--check takes a registry, not URLs")
        _check(check_registry, max_pages, settings)
        return
    targets = [(u, region_code) for u in urls]
    for n, line in enumerate(url_file or [], start=1):
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        code = parts[1] if len(parts) > 1 else region_code
        if code and not re.fullmatch(r"\d{6}", code):
            raise click.BadParameter(f"line {n}: {code!r} is not a 6-digit region code")
        targets.append((parts[0], code))
    if not targets:
        raise click.UsageError("give portal URLs, or --file with one a line")
    for url, _ in targets:
        if not re.match(r"https?://[^/\s]+", url):
            raise click.BadParameter(f"{url!r} is not an http(s) URL")
    portals = [finder.Portal(i, u, region_code=c) for i, (u, c) in enumerate(targets)]
    portals = _walk(portals, max_pages, settings)
    writer = csv.DictWriter(sys.stdout, COLUMNS, lineterminator="\n")
    if not no_header:
        writer.writeheader()
    used: set[str] = set()
    complete = True
    today = datetime.now(UTC).date().isoformat()
    for portal in portals:
        rows = finder.registry_rows(portal, finder.region_by_name, today)
        unplaced = [r for r in rows if not r["region_code"]]
        for row in rows:
            if row in unplaced:
                continue
            base, n = row["site_id"], 2
            while row["site_id"] in used:
                row["site_id"], n = f"{base}-{n}", n + 1
            used.add(row["site_id"])
            writer.writerow(row)
        note = f" ({len(rows)} rows)" if rows else ""
        click.echo(printable(f"{portal.url}: {portal.status}: {portal.message}{note}"), err=True)
        if unplaced:
            click.echo(
                f"{portal.url}: region code unknown for {len(unplaced)} rows (not printed): "
                "give it with --region-code or after the URL in --file",
                err=True,
            )
        complete = complete and portal.status == "found" and not unplaced
    sys.exit(0 if complete else 3)


def _walk(portals: list, max_pages: int, settings: dict) -> list:
    """Discovery's walk, with a bar of the requests made on a terminal (its output is CSV
    on stdout and one status line per portal on stderr, so no JSON mode)."""
    from crawler.spiders import discover as finder
    from nianbao.progress import Progress, choose_mode

    progress = Progress("discover", "bars" if choose_mode() == "bars" else "quiet")
    with progress, progress.stage(f"discover ({len(portals)} portals)") as update:
        return finder.run(
            portals,
            max_pages,
            settings,
            on_stats=lambda s: update(
                s.get("response_received_count", 0), errors=s.get("log_count/ERROR", 0)
            ),
        )


def _check(registry: str, max_pages: int, settings: dict) -> None:
    """One CSV line per registry row: ``ok``, ``moved``, ``vanished``, ``unreachable``,
    ``disallowed`` or ``blocked``, each row checked on its own. A bad registry is one
    line, ``nianbao discover: error: …``, exit 2 (the command group's)."""
    import csv

    from archive.store.registry import read_registry
    from crawler.scope import check_allowed_domains
    from crawler.spiders import discover as finder

    rows = read_registry(registry)  # a bad row: bad input, one line (exit 2)
    check_allowed_domains(rows, registry)
    portals = _walk(
        [finder.Portal(i, r["start_url"], r.get("region_code"), row=r) for i, r in enumerate(rows)],
        max_pages,
        settings,
    )
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["site_id", "status", "start_url", "column_url", "reports_seen", "message"])
    counts: dict[str, int] = {}
    for portal in portals:
        status, column, message = finder.check_status(portal)
        counts[status] = counts.get(status, 0) + 1
        seen = max((len(c.reports) for c in finder.useful_columns(portal)), default=0)
        writer.writerow(
            [portal.row["site_id"], status, portal.url, column, seen, printable(message)]
        )
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    click.echo(f"checked {len(portals)} rows: {summary}", err=True)
    sys.exit(0 if set(counts) <= {"ok"} else 3)


@main.command()
@db_option
@output_options
@workers_option
@click.option(
    "--follow",
    is_flag=True,
    help="Beside a crawl of this archive: parse captures as the crawl stores them, at a "
    "lower priority, until it has ended and everything it stored is parsed.",
)
@click.option(
    "--wait",
    "wait",
    default=FOLLOW_START_SECONDS,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="With --follow: how long to wait for the crawl to start (to create the archive "
    "and its run) before there is nothing to follow.",
)
def process(
    db: str, quiet: bool, as_json: bool, workers: int | None, follow: bool, wait: float
) -> None:
    """Parse and check the captures not parsed yet (the stage after a crawl, or beside it)."""
    context = click.get_current_context()
    if not follow and context.get_parameter_source("wait") is not ParameterSource.DEFAULT:
        raise click.UsageError("--wait needs --follow", context)
    _process(db, False, _progress("process", quiet, as_json), workers, follow, wait)


def _wait_for_file(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)


@main.command()
@db_option
@output_options
@workers_option
def reparse(db: str, quiet: bool, as_json: bool, workers: int | None) -> None:
    """Re-read every stored original with the current parser; nothing is fetched."""
    _process(db, True, _progress("reparse", quiet, as_json), workers)


def _process(
    db: str,
    everything: bool,
    progress,
    workers: int | None = None,
    follow: bool = False,
    wait: float = FOLLOW_START_SECONDS,
) -> None:
    from archive.store import Archive
    from nianbao.process import BESIDE_CRAWL_NICE, crawl_storing, process_captures

    if follow:  # the crawl beside may not have created the archive yet
        _wait_for_file(Path(db), wait)
        if not Path(db).is_file():
            from archive.store import ArchiveMissing

            raise ArchiveMissing(
                f"{db} does not exist: no crawl created it within {wait:g} s "
                "(did the crawl start, with the same --db?)"
            )
    with (
        Archive(_archive_path(db, must_exist=True)) as archive,
        progress,
        progress.stage("parse") as update,
    ):
        archive.ensure_writable()
        if follow:
            os.nice(BESIDE_CRAWL_NICE)  # the writer too: the crawl comes first
        summary = process_captures(
            archive,
            everything,
            workers,
            progress=lambda done, total: update(done.captures, total, **done.by_status),
            follow=crawl_storing(archive, wait) if follow else None,
        )
        counts = archive.counts()
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_status.items())) or "none"
    code = 1 if summary.by_status.get("parser_error") else 0
    progress.summary(
        f"parsed {summary.captures} captures ({statuses}); archive now holds "
        f"{counts['reports']} reports, {counts['cells']} cells, "
        f"{counts['findings']} findings",
        captures=summary.captures,
        reports=summary.reports,
        by_status=dict(sorted(summary.by_status.items())),
        archive=counts,
        exit_status=code,
    )
    sys.exit(code)


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option(
    "--allow-review",
    "allow_review",
    is_flag=True,
    help="Let signed-in users record reviews and corrections on the report page.",
)
@click.option(
    "--reviewer",
    "reviewers",
    multiple=True,
    metavar="ACTOR_ID",
    help="With --allow-review: only these actor ids may (repeat; default: anyone signed in).",
)
@click.option("--root", is_flag=True, help="Print Datasette's link that signs in as root.")
def serve(
    db: str, host: str, port: int, allow_review: bool, reviewers: tuple[str, ...], root: bool
) -> None:
    """Serve the archive with Datasette."""
    from archive.export.snapshot import manifest_path
    from archive.publish import serve as run_server
    from archive.store import Archive

    if reviewers and not allow_review:
        raise click.UsageError("--reviewer needs --allow-review", click.get_current_context())
    if manifest_path(Path(_archive_path(db, must_exist=True))).is_file():  # a snapshot
        if allow_review:
            raise click.UsageError(
                f"{db} is a snapshot, never written: reviews go into the archive",
                click.get_current_context(),
            )
    else:
        Archive(db).close()  # migrated, or one line why not
    run_server(db, host, port, (list(reviewers) or ["*"]) if allow_review else None, root)


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
@output_options
def demo(db: str, port: int, no_serve: bool, seed: int, quiet: bool, as_json: bool) -> None:
    """Crawl the bundled simulated government web, parse, check, and serve the archive."""
    from archive.publish import serve as run_server
    from nianbao.demo import build_demo

    _archive_path(db)  # an archive there must be one this nianbao can read and replace
    progress = _progress("demo", quiet, as_json)
    with tempfile.TemporaryDirectory(prefix="nianbao-simweb-") as tmp:
        try:
            summary = build_demo(db, Path(tmp), seed, progress)
        except RuntimeError as exc:
            progress.close()
            raise click.ClickException(str(exc)) from exc
    progress.summary(
        summary.line(),
        db=db,
        served={"real": summary.real_served, "generated": summary.generated_served},
        archived={"reports": summary.archive["reports"], "real": summary.real_archived},
        archive=summary.archive,
        by_status=summary.by_status,
    )
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
@output_options
def warc(
    db: str,
    run_id: int | None,
    out_dir: str,
    revisits: str,
    no_gzip: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Write a crawl run as a WARC 1.1 file (readable by warcio, pywb, ReplayWeb.page).

    Its path is printed on stdout (with --json: in the summary object)."""
    from archive.export.warc import write_run_warc

    _archive_path(db, must_exist=True)
    progress = _progress("warc", quiet, as_json)
    with progress, progress.stage("warc") as update:
        summary = write_run_warc(
            db,
            run_id,
            out_dir,
            revisits,
            gzip=not no_gzip,
            progress=update,
        )
    records = ", ".join(f"{k} {v}" for k, v in sorted(summary.records.items()))
    progress.summary(
        f"{summary.path}: run {summary.run_id}, {summary.captures} captures ({records})",
        **summary.to_json(),
    )
    if not as_json:
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
@output_options
def snapshot(
    db: str, out_dir: str | None, flavour: str, keep: int | None, quiet: bool, as_json: bool
) -> None:
    """Write a consistent, dated copy of the archive with its SHA-256 and a manifest.

    Its path is printed on stdout (with --json: in the summary object)."""
    from archive.export.snapshot import make_snapshot, prune_snapshots

    _archive_path(db, must_exist=True)
    progress = _progress("snapshot", quiet, as_json)
    folder = Path(out_dir) if out_dir else Path(db).resolve().parent / "snapshots"
    with progress, progress.stage(f"snapshot ({flavour})"):  # one SQLite copy: time, no count
        snap = make_snapshot(db, folder, flavour)
    removed = prune_snapshots(folder, keep) if keep else []
    progress.summary(
        f"{snap.path}: {snap.manifest['size']:,} bytes, sha256 {snap.manifest['sha256']}"
        f"{f', {len(removed)} old files removed' if removed else ''}",
        path=str(snap.path),
        flavour=flavour,
        size=snap.manifest["size"],
        sha256=snap.manifest["sha256"],
        removed=[str(p) for p in removed],
    )
    if not as_json:
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
@click.option(
    "--parse-after",
    is_flag=True,
    help="Parse once the crawl has ended, not beside it as its captures are stored.",
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
    parse_after: bool,
    as_json: bool,
) -> None:
    """Crawl, parse, check, snapshot; exit 0 ok, 3 alerts, 4 a stage failed, 5 locked."""
    from archive.store.registry import read_registry
    from crawler.runner import BUNDLED_REGISTRY
    from crawler.scope import check_allowed_domains
    from nianbao.nightly import (
        Events,
        NightlyConfig,
        default_paths,
        format_summary,
        run_nightly,
    )

    sites = sites or str(BUNDLED_REGISTRY)
    check_allowed_domains(read_registry(sites), sites)  # before the lock and the log
    defaults = default_paths(Path(_archive_path(db)))
    config = NightlyConfig(
        db=Path(db),
        sites=sites,
        snapshot_dir=Path(snapshot_dir) if snapshot_dir else defaults["snapshot_dir"],
        log_path=Path(log_path) if log_path else defaults["log_path"],
        lock_path=Path(lock_path) if lock_path else defaults["lock_path"],
        flavours=flavours or ("data",),
        keep=keep,
        overrides=dict(_setting(o) for o in overrides),
        warc_dir=Path(warc_dir) if warc_dir else None,
        parse_beside=not parse_after,
    )
    try:
        events = Events(config.log_path)
    except OSError as exc:
        raise click.BadParameter(
            f"{config.log_path} cannot be written ({exc.strerror or exc})", param_hint="--log"
        ) from None
    try:
        code, summary = run_nightly(config, events)
    finally:
        events.close()
    if as_json:
        click.echo(_json_escape(json.dumps(summary, ensure_ascii=False, indent=1)))
    if summary.get("status") == "bad_input":  # an operator's error: one line on stderr
        fail("nianbao nightly", f"{summary['error']}; nothing was done", code)
    if not as_json:
        click.echo(printable_lines(format_summary(summary, code)))
    sys.exit(code)


# -- review and correction ---------------------------------------------------------------
# A thin layer over archive.publish.review (writing, then publishing the corrected numbers)
# and archive.store.reviews (reading). Who did it is --by (or $NIANBAO_REVIEWER). A value,
# cell, report or verdict that cannot be recorded is an operator's error: one line, exit 2,
# nothing written.

by_option = click.option(
    "--by",
    "reviewer",
    envvar="NIANBAO_REVIEWER",
    required=True,
    help="Who checked the original (or $NIANBAO_REVIEWER).",
)
note_option = click.option("--note", default=None, help="What was found, and where.")


def _open_for_review(db: str):
    from archive.store import Archive

    return Archive(_archive_path(db, must_exist=True), create=False)


@main.group()
def review() -> None:
    """Reviews and corrections: a report checked or disputed, a cell read from the original.

    \b
    nianbao review mark 12 checked --by 张三
    nianbao review mark 12 disputed --note "表四与原件不符" --by 张三
    nianbao review correct 12 t4.review.total 3 --note "扫描件误读" --by 张三
    nianbao review withdraw 12 t4.review.total --by 张三
    nianbao review show 12 [--json]
    nianbao review list [--status disputed] [--json]
    """


@review.command()
@db_option
@click.argument("report_id", type=int)
@click.argument("status", metavar="checked|disputed|withdrawn")
@note_option
@by_option
def mark(db: str, report_id: int, status: str, note: str | None, reviewer: str) -> None:
    """Mark a report checked (核对无误) or disputed (有争议, with a --note), or withdraw
    the verdict in force."""
    from archive.publish.review import STATUS_NAMES, record_review

    with _open_for_review(db) as archive:
        done = record_review(archive, report_id, status, reviewer, note)
    click.echo(
        f"report {report_id}: {STATUS_NAMES[done.status]} ({done.status}) by {printable(done.reviewer)}"
    )


@review.command()
@db_option
@click.argument("report_id", type=int)
@click.argument("cell", metavar="TABLE.ROW.COL")
@click.argument("value")
@note_option
@by_option
def correct(
    db: str, report_id: int, cell: str, value: str, note: str | None, reviewer: str
) -> None:
    """Record VALUE, read in the original, for one cell (``—`` for a cell printed blank);
    the parsed value is kept, and the archive's tables show VALUE marked 校正."""
    from archive.publish.review import record_correction, shown

    with _open_for_review(db) as archive:
        done = record_correction(archive, report_id, cell, value, reviewer, note)
    parsed = shown(done.parsed_value) if done.parsed_read else "not read"
    click.echo(
        f"report {report_id} {done.cell}: original {shown(done.value)}, parsed {parsed}, "
        f"by {printable(done.reviewer)}"
    )


@review.command()
@db_option
@click.argument("report_id", type=int)
@click.argument("cell", metavar="TABLE.ROW.COL")
@note_option
@by_option
def withdraw(db: str, report_id: int, cell: str, note: str | None, reviewer: str) -> None:
    """Withdraw a cell's correction: the parsed value is shown again."""
    from archive.publish.review import withdraw as withdraw_correction

    with _open_for_review(db) as archive:
        done = withdraw_correction(archive, report_id, cell, reviewer, note)
    click.echo(
        f"report {report_id} {done.cell}: correction withdrawn by {printable(done.reviewer)}"
    )


@review.command()
@db_option
@click.argument("report_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
def show(db: str, report_id: int, as_json: bool) -> None:
    """A report's verdicts and corrections, and whether each correction still stands."""
    from archive.publish.review import STATUS_NAMES, correction_text
    from archive.store.reviews import corrections_of, require_report, reviews_of

    with _open_for_review(db) as archive:
        require_report(archive, report_id)
        verdicts = reviews_of(archive, report_id)
        corrections = list(corrections_of(archive, [report_id]).get(report_id, {}).values())
    if as_json:
        out = {
            "report_id": report_id,
            "reviews": [asdict(v) for v in verdicts],
            "corrections": [
                {**asdict(c), "cell": c.cell, "stale": c.stale, "check": correction_text(c)}
                for c in corrections
            ],
        }
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if not verdicts and not corrections:
        click.echo(f"report {report_id}: not reviewed")
    for v in verdicts:
        note = f": {v.note}" if v.note else ""
        click.echo(
            printable(
                f"{v.reviewed_at}  {STATUS_NAMES.get(v.status, v.status)} ({v.status})"
                f"  {v.reviewer}{note}"
            )
        )
    for c in corrections:
        click.echo(printable(f"{c.cell}  {correction_text(c)}"))


@review.command(name="list")
@db_option
@click.option(
    "--status", type=click.Choice(["checked", "disputed"]), help="Only reports with this verdict."
)
@click.option("--json", "as_json", is_flag=True, help="As JSON lines.")
def list_reviewed(db: str, status: str | None, as_json: bool) -> None:
    """Every report with a verdict or a correction in force."""
    from archive.store.reviews import reviewed_reports

    with _open_for_review(db) as archive:
        found = reviewed_reports(archive, status)
    for r in found:
        if as_json:
            click.echo(json.dumps(asdict(r), ensure_ascii=False))
            continue
        fixes = f"{r.corrections} corrected" + (f" ({r.stale} stale)" if r.stale else "")
        click.echo(
            printable(
                f"{r.report_id}\t{r.year or ''}\t{r.agency or ''}\t{r.status or '-'}"
                f"\t{r.reviewer or ''}\t{fixes}"
            )
        )
