"""The parse stage: read stored captures into reports, cells and findings.

It runs apart from the crawl (after it, beside it, or as ``nianbao reparse``
long after), reads only what the archive holds, and records every outcome
against the capture — a document that cannot be read is a status and a message,
never an exception that stops the stage.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from archive.checks import NarrativeCheck, check_parsed, narrative_findings
from archive.parse import PARSER_VERSION, ParsedReport, ParseError
from archive.parse.isolate import ParseWorker, parse_isolated
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

    def count(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1


def process_captures(archive: Archive, everything: bool = False) -> ProcessSummary:
    """Parse the captures not parsed yet (or all of them) and store what they hold."""
    summary = ProcessSummary()
    with ParseWorker() as worker:  # one isolated worker, replaced if a document kills it
        for capture in archive.captures_to_parse(everything):
            summary.captures += 1
            status = process_capture(archive, capture, worker)
            summary.count(status)
            if status in REPORT_STATUSES:
                summary.reports += 1
    publish_prepare(archive.db.conn)  # Datasette's derived tables and search index
    return summary


def process_capture(archive: Archive, capture: dict, worker: ParseWorker | None = None) -> str:
    """Parse one capture in an isolated worker (bounded time and memory); returns its status."""
    kwargs = {
        "source": capture["url"],
        "content_type": capture["content_type"],
        "url": capture["final_url"] or capture["url"],
    }
    try:
        parsed = (
            worker.parse(capture["body"], **kwargs)
            if worker is not None
            else parse_isolated(capture["body"], **kwargs)
        )
    except ParseError as exc:
        with archive.transaction():  # one unit of work: the capture's status and what it drops
            archive.mark_capture(capture["id"], exc.status, exc.message, PARSER_VERSION)
            archive.drop_report(capture["sha256"])
        return exc.status
    except Exception as exc:  # a parser bug must not stop the stage; it is recorded
        log.exception("parser failed on capture %s (%s)", capture["id"], capture["url"])
        archive.mark_capture(
            capture["id"], "parser_error", f"{type(exc).__name__}: {exc}", PARSER_VERSION
        )
        return "parser_error"
    # One transaction for the capture's status with its report, cells and findings: killed
    # at any instant, the archive holds all of it or none (and the capture is parsed again).
    with archive.transaction():
        return _store_outcome(archive, capture, parsed)


def _store_outcome(archive: Archive, capture: dict, parsed: ParsedReport) -> str:
    """Record what the parse of ``capture`` found (inside the caller's transaction)."""
    if parsed.status not in REPORT_STATUSES:
        archive.mark_capture(
            capture["id"],
            parsed.status,
            parsed.reason or "; ".join(parsed.warnings[:5]) or None,
            PARSER_VERSION,
        )
        archive.drop_report(capture["sha256"])
        return parsed.status
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
    save_parsed(archive, capture, parsed)
    return parsed.status


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


def save_parsed(archive: Archive, capture: dict, parsed: ParsedReport) -> int:
    """Write one parsed report with its cells and findings, with the registry's context."""
    site = archive.site(capture["site_id"]) or {}
    if site.get("agency") and parsed.agency and parsed.agency != site["agency"]:
        parsed.warnings.append(
            f"the document names its agency {parsed.agency!r}; the registry row says "
            f"{site['agency']!r}"
        )
    issues = check_parsed(parsed)
    narrative = narrative_findings(parsed)
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
    with archive.transaction():  # the report and its narrative are one unit of work
        report_id = archive.save_report(report, cells, rows)
        save_narrative(archive, report_id, parsed, narrative)
    return report_id


def save_narrative(
    archive: Archive, report_id: int, parsed: ParsedReport, narrative: list[NarrativeCheck]
) -> None:
    """A report's sections and narrative findings, replacing what an earlier parse left
    (inside the caller's transaction)."""
    conn = archive.db.conn
    conn.execute("delete from report_sections where report_id = ?", [report_id])
    conn.execute("delete from narrative_findings where report_id = ?", [report_id])
    for s in parsed.sections:
        archive.insert(
            "report_sections",
            {
                "report_id": report_id,
                "section": s["number"],
                "section_key": s["key"],
                "heading": s["heading"],
                "text": s["text"],
                "chars": len(s["text"]),
            },
        )
    for f in narrative:
        archive.insert(
            "narrative_findings",
            {
                "report_id": report_id,
                "rule": f.rule,
                "status": f.status,
                "stated": f.stated,
                "table_value": f.table_value,
                "cells": json.dumps(f.cells),
                "section": f.section,
                "quote": f.quote,
                "message": f.message,
            },
        )
