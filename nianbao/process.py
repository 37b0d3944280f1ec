"""The parse stage: read stored captures into reports, cells and findings.

It runs apart from the crawl (after it, beside it, or as ``nianbao reparse``
long after), reads only what the archive holds, and records every outcome
against the capture — a document that cannot be read is a status and a message,
never an exception that stops the stage.

Reading uses every core: a pool of isolated workers (:class:`archive.parse.isolate.ParsePool`,
each document with its own time and memory bound) parses and checks; this process is
the one writer, storing each capture's outcome — capture marked, report, cells and
findings — in one transaction, in capture order, as one worker would.

Beside a crawl (``follow``), the stage reads the captures as the crawl commits them, its
workers at a lower priority so that the crawl keeps the cores it needs, and ends when the
crawl has ended and every capture it stored is read: a night costs about the longer of
the two stages, not their sum. Killed at any moment, it loses nothing: each capture's
outcome is one transaction, and what was not read yet is read by the next run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from archive.checks import NarrativeCheck, check_parsed, narrative_findings
from archive.parse import PARSER_VERSION, ParsedReport, ParseError, metadata, parse_document
from archive.parse.isolate import NO_JOB_YET, ParsePool, ParseWorker, parse_isolated
from archive.parse.sniff import decode_html
from archive.publish import prepare as publish_prepare
from archive.store import Archive, now

log = logging.getLogger(__name__)

# Statuses of a capture that make it a row in ``reports``.
REPORT_STATUSES = {"ok", "partial", "run_together", "no_tables", "tables_are_images", "text_only"}


@dataclass
class ProcessSummary:
    captures: int = 0
    reports: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    workers: int = 0
    worker_cpu_seconds: float = 0.0  # what reading the documents cost, in all workers
    worker_peak_rss_mb: float = 0.0  # the most memory one worker held
    waited_seconds: float = 0.0  # the writer idle, every worker busy: workers bound the stage
    parse_seconds: float = 0.0  # reading and storing every capture
    publish_seconds: float = 0.0  # then refreshing Datasette's derived tables and search

    def count(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1


# Called after each capture with the summary so far and the number of captures to parse.
ProgressCallback = Callable[[ProcessSummary, int], None]
# Beside a crawl: the parse workers' niceness (the crawl keeps the cores it needs).
BESIDE_CRAWL_NICE = 10


def process_captures(
    archive: Archive,
    everything: bool = False,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    follow: Callable[[], bool] | None = None,
) -> ProcessSummary:
    """Parse the captures not parsed yet (or all of them) and store what they hold.

    ``workers`` isolated processes (default: one per CPU) read the documents and run the
    checks; this process alone writes, in capture order, each capture's outcome in one
    transaction. ``progress`` is called after each capture. With ``follow`` (is the crawl
    still storing?) the stage reads captures as they are committed until the crawl ends
    and nothing is left, its workers niced.
    """
    if follow is not None and everything:
        raise ValueError("a reparse reads what is stored; it does not follow a crawl")
    summary = ProcessSummary()
    total = archive.count_captures_to_parse(everything)
    if progress is not None:
        progress(summary, total)
    # Each capture's outcome is still one atomic transaction and survives this process
    # being killed; only a power cut could lose the last few, which stay unparsed and are
    # read again by the next run.
    archive.fsync_at_checkpoints()
    captures = (
        archive.captures_to_parse(everything)
        if follow is None
        else captures_as_stored(archive, follow)
    )
    jobs = (
        capture if capture is NO_JOB_YET else (capture, (capture["body"],), _parse_kwargs(capture))
        for capture in captures
    )
    started = time.monotonic()
    pool = ParsePool(
        workers, task=READ_AND_CHECK, nice=BESIDE_CRAWL_NICE if follow is not None else 0
    )
    summary.workers = pool.size
    with pool:
        for capture, outcome in pool.map(jobs):
            summary.captures += 1
            status = record_outcome(archive, capture, outcome)
            summary.count(status)
            if status in REPORT_STATUSES:
                summary.reports += 1
            if progress is not None:
                progress(summary, max(total, summary.captures))
    summary.worker_cpu_seconds = pool.cpu_seconds
    summary.worker_peak_rss_mb = pool.peak_rss_mb
    summary.waited_seconds = pool.waited
    summary.parse_seconds = time.monotonic() - started
    publish_prepare(archive)  # Datasette's derived tables and search index
    summary.publish_seconds = time.monotonic() - started - summary.parse_seconds
    return summary


def crawl_storing(archive: Archive, start_within: float = 30.0) -> Callable[[], bool]:
    """For ``process --follow``: is a crawl storing into the archive — its newest run is
    running in a live process, or, for ``start_within`` seconds after this was asked
    first, no crawl has started yet (a parse started just before its crawl)."""
    first = archive.newest_run_id()
    asked = time.monotonic()

    def storing() -> bool:
        if archive.crawl_storing():
            return True
        waiting = archive.newest_run_id() == first
        return waiting and time.monotonic() - asked < start_within

    return storing


def captures_as_stored(archive: Archive, storing: Callable[[], bool]) -> Iterator[Any]:
    """The captures to parse, as a crawl commits them, in capture order: each look gives
    those stored after the last one given; :data:`NO_JOB_YET` when there is none yet and
    ``storing()`` says the crawl goes on. The look that follows the crawl's end gives the
    last ones (``storing()`` is asked before the look, so nothing committed before the
    crawl ended is missed)."""
    last = 0
    while True:
        going_on = storing()
        given = 0
        for capture in archive.captures_to_parse(after=last):
            last = capture["id"]
            given += 1
            yield capture
        if not going_on:
            return
        if not given:
            yield NO_JOB_YET


# What the parse workers run: the document read, the checks on what was read and the
# rows to store (all pure functions of the bytes), so that the one writer only writes.
READ_AND_CHECK = "nianbao.process:read_and_check"


@dataclass
class Reading:
    """What a worker gives back for one document."""

    parsed: ParsedReport
    findings: list
    narrative: list[NarrativeCheck]
    cells: list[dict]
    finding_rows: list[dict]


def read_and_check(data: bytes, **kwargs) -> Reading:
    parsed = parse_document(data, **kwargs)
    if parsed.status not in REPORT_STATUSES:
        return Reading(parsed, [], [], [], [])
    findings = check_parsed(parsed)
    narrative = narrative_findings(parsed)  # also fills parsed.narrative_checks
    cells, rows = report_rows(parsed, findings)
    parsed.raw = {}  # in the cell rows now: not sent back twice
    return Reading(parsed, findings, narrative, cells, rows)


def _parse_kwargs(capture: dict) -> dict:
    return {
        "source": capture["url"],
        "content_type": capture["content_type"],
        "url": capture["final_url"] or capture["url"],
    }


def process_capture(archive: Archive, capture: dict, worker: ParseWorker | None = None) -> str:
    """Parse one capture in an isolated worker (bounded time and memory; ``worker`` to
    reuse one, e.g. with a longer limit); returns its status."""
    outcome: ParsedReport | ParseError
    try:
        if worker is not None:
            outcome = worker.parse(capture["body"], **_parse_kwargs(capture))
        else:
            outcome = parse_isolated(capture["body"], **_parse_kwargs(capture))
    except ParseError as exc:
        outcome = exc
    return record_outcome(archive, capture, outcome)


def record_outcome(archive: Archive, capture: dict, outcome) -> str:
    """Store what reading one capture gave, in one transaction; returns its status.

    ``outcome``: a ParsedReport, a :class:`Reading` from the workers, or the ParseError
    that says why there is nothing. Killed at any instant, the archive holds all of the
    capture's status, report, cells, findings and narrative, or none of it (and the
    capture is parsed again).
    """
    with archive.transaction():
        return _record(archive, capture, outcome)


def _record(archive: Archive, capture: dict, outcome) -> str:
    if isinstance(outcome, ParseError):
        archive.mark_capture(capture["id"], outcome.status, outcome.message, PARSER_VERSION)
        archive.drop_report(capture["sha256"])
        return outcome.status
    if isinstance(outcome, BaseException):  # a parser bug must not stop the stage
        log.error("parser failed on capture %s (%s): %r", capture["id"], capture["url"], outcome)
        archive.mark_capture(
            capture["id"], "parser_error", f"{type(outcome).__name__}: {outcome}", PARSER_VERSION
        )
        return "parser_error"
    reading = outcome if isinstance(outcome, Reading) else None
    parsed = reading.parsed if reading else outcome
    if parsed.status not in REPORT_STATUSES:
        archive.mark_capture(
            capture["id"],
            parsed.status,
            parsed.reason or "; ".join(parsed.warnings[:5]) or None,
            PARSER_VERSION,
        )
        archive.drop_report(capture["sha256"])
        return parsed.status
    title_from_link(archive, capture, parsed)
    twin = archive.twin_report(capture, parsed.year, parsed.template)
    if twin is not None:
        differences = _differences(archive.report_cells(twin), _cells(parsed))
        if not differences:
            archive.drop_report(capture["sha256"])
            archive.add_original(
                twin, capture["id"], capture["sha256"], capture["url"], parsed.format
            )
            archive.mark_capture(
                capture["id"], parsed.status, f"another original of report {twin}", PARSER_VERSION
            )
            return parsed.status
        parsed.warnings.append(
            f"report {twin} (the page linking this document, or the document it links) "
            f"prints other numbers: {'; '.join(differences[:5])}"
        )
    message = (
        parsed.warnings[-1]
        if twin is not None
        else parsed.reason or "; ".join(parsed.warnings[:5]) or None
    )
    archive.mark_capture(capture["id"], parsed.status, message, PARSER_VERSION)
    save_parsed(archive, capture, parsed, reading)
    return parsed.status


def title_from_link(archive: Archive, capture: dict, parsed: ParsedReport) -> None:
    """A report whose document names no year in its title — a PDF headed only by its
    column's name, 政府信息公开年报 — takes the title its link gives on the page that
    linked it (``XX2023年政府信息公开工作年度报告``), and the year and agency in it where the
    document gave none."""
    if metadata.names_a_year(parsed.title):
        return
    page = archive.linking_page(capture)
    if page is None:
        return
    targets = {capture["url"], capture.get("final_url") or capture["url"]}
    text = metadata.link_title(
        decode_html(page["body"], page["content_type"]), page["url"], targets
    )
    if not metadata.names_a_year(text):
        return
    parsed.title = text
    parsed.year = parsed.year or metadata.reporting_year(text, "")
    parsed.agency = parsed.agency or metadata.agency_from_title(text)


def _cells(parsed: ParsedReport) -> dict[tuple[str, str, str], int | float | None]:
    return {
        (t, r, c): v
        for t, rows in parsed.tables.items()
        for r, cols in rows.items()
        for c, v in cols.items()
    }


def _differences(stored: dict, parsed: dict) -> list[str]:
    """Cells printed in both originals with different values (a missing cell is no conflict)."""
    common = stored.keys() & parsed.keys()
    if not common:
        return ["no cell in common"]
    return [
        f"{'.'.join(key)} {stored[key]} ≠ {parsed[key]}"
        for key in sorted(common)
        if stored[key] != parsed[key]
    ]


def save_parsed(
    archive: Archive, capture: dict, parsed: ParsedReport, reading: Reading | None = None
) -> int:
    """Write one parsed report with its cells and findings, with the registry's context."""
    site = archive.registry_row(capture["site_id"])
    if site.get("agency") and parsed.agency and parsed.agency != site["agency"]:
        parsed.warnings.append(
            f"the document names its agency {parsed.agency!r}; the registry row says "
            f"{site['agency']!r}"
        )
    if reading is None:
        issues = check_parsed(parsed)
        narrative = narrative_findings(parsed)
        cells, rows = report_rows(parsed, issues)
    else:
        issues, narrative = reading.findings, reading.narrative
        cells, rows = reading.cells, reading.finding_rows
    audit = parsed.cell_audit
    report = {
        "capture_id": capture["id"],
        "site_id": capture["site_id"],
        "agency": parsed.agency or site.get("agency"),
        "registry_agency": site.get("agency"),
        "region_code": site.get("region_code"),
        "region": site.get("region"),
        "year": parsed.year,
        "template": parsed.template,
        "title": parsed.title,
        "url": capture["url"],
        "published": parsed.published,
        "format": parsed.format,
        "sha256": capture["sha256"],
        "text": parsed.text,
        "parse_status": parsed.status,
        "cell_count": parsed.cell_count(),
        "finding_count": len(issues),
        "fee_yuan": parsed.fee_yuan,
        "warnings": json.dumps(parsed.warnings, ensure_ascii=False) if parsed.warnings else None,
        "parsed_at": now(),
        "parser_version": PARSER_VERSION,
        "narrative_finding_count": len(narrative),
        "blank_cells": audit.get("blank"),
        "dash_cells": audit.get("dash"),
        "zero_cells": audit.get("zero"),
        "cell_source": parsed.cell_source,
    }
    with archive.transaction():  # the report and its narrative are one unit of work
        report_id = archive.save_report(report, cells, rows)
        save_narrative(archive, report_id, parsed, narrative)
    return report_id


def report_rows(parsed: ParsedReport, issues: list) -> tuple[list[dict], list[dict]]:
    """The ``cells`` and ``findings`` rows of one parsed report."""
    cells = [
        {
            "table_key": t,
            "row_key": r,
            "col_key": c,
            "value": v,
            "raw": parsed.raw.get(t, {}).get(r, {}).get(c),
            "confidence": parsed.confidence.get(t, {}).get(r, {}).get(c),
        }
        for (t, r, c), v in _cells(parsed).items()
    ]
    rows = [
        {
            "rule": f.rule,
            "table_key": f.table,
            "row_key": f.row,
            "col_key": f.column,
            "status": f.status,
            "expected": f.expected,
            "found": f.found,
            "cells": json.dumps(f.cells),
            "message": f.message,
        }
        for f in issues
    ]
    return cells, rows


def save_narrative(
    archive: Archive, report_id: int, parsed: ParsedReport, narrative: list[NarrativeCheck]
) -> None:
    """A report's sections and narrative findings, replacing what an earlier parse left
    (inside the caller's transaction)."""
    sections = [
        {
            "section": s["number"],
            "section_key": s["key"],
            "heading": s["heading"],
            "text": s["text"],
            "chars": len(s["text"]),
        }
        for s in parsed.sections
    ]
    findings = [
        {
            "rule": f.rule,
            "status": f.status,
            "stated": f.stated,
            "table_value": f.table_value,
            "cells": json.dumps(f.cells),
            "section": f.section,
            "quote": f.quote,
            "message": f.message,
        }
        for f in narrative
    ]
    archive.replace_narrative(report_id, sections, findings)
