"""Reading one report document into the record of ``docs/report-json.md``.

``parse_document(bytes)`` is the whole parser: it tells the format from the
bytes, lets the format's reader produce a :class:`~archive.parse.document.Document`,
finds the three tables in it, reads the metadata, decides the template, and
leaves the arithmetic to :mod:`archive.checks` (the next stage). Formats differ
only in their reader.
"""

from __future__ import annotations

import re
from pathlib import Path

from archive.parse import audit, metadata, narrative, script, sections
from archive.parse.document import Document, ParsedReport, ParseError
from archive.parse.sniff import decode_html, decode_text, sniff_format
from archive.parse.tables import assemble, detect_template, read_tables
from archive.store.templates import TEMPLATES, template

PARSER_VERSION = "3"  # 3: honest statuses, tolerant reading, sections and narrative
MAX_BYTES = 64 * 1024 * 1024
# Markup and text reports are a few hundred KB; tens of MB of them is not a report, and
# reading it would only cost time.
MAX_TEXT_BYTES = 16 * 1024 * 1024

__all__ = [
    "parse_document",
    "read_document",
    "read_file",
    "ParseError",
    "ParsedReport",
    "PARSER_VERSION",
]


def read_file(path: Path, limit: int = MAX_BYTES) -> bytes:
    """A document's bytes from a file, bounded before they are read: a file larger than
    ``limit`` is refused from its size alone, and at most ``limit`` + 1 bytes are read
    whatever the size said (a pipe, a device, a file that grows meanwhile), so the memory
    of reading one document never depends on what the file holds."""
    size = path.stat().st_size
    if size > limit:
        raise ParseError("too_large", f"{size} bytes is over the {limit} byte limit")
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ParseError("too_large", f"more than {limit} bytes: over the byte limit")
    return data


def read_document(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    url: str | None = None,
) -> Document:
    """Bytes → Document, by the format the bytes show. Raises ParseError."""
    if len(data) > MAX_BYTES:
        raise ParseError("too_large", f"{len(data)} bytes is over the {MAX_BYTES} byte limit")
    fmt = sniff_format(data, filename, content_type)
    if fmt in ("html", "text") and len(data) > MAX_TEXT_BYTES:
        raise ParseError(
            "too_large",
            f"{len(data)} bytes of {fmt} is over the "
            f"{MAX_TEXT_BYTES} byte limit for markup and text",
        )
    if fmt == "pdf":
        from archive.parse.pdf import read_pdf

        return read_pdf(data)
    if fmt == "docx":
        from archive.parse.word import read_docx

        return read_docx(data)
    if fmt == "doc":
        from archive.parse.word import read_doc

        return read_doc(data)
    if fmt == "rtf":
        from archive.parse.word import read_rtf

        return read_rtf(data)
    if fmt == "mht":
        from archive.parse.html import read_mht

        return read_mht(data, url)
    if fmt == "zip":
        from archive.parse.word import read_docx

        return read_docx(data)  # a DOCX without the usual member order; refused if not one
    if fmt == "html":
        from archive.parse.html import read_html

        return read_html(decode_html(data, content_type), url)
    if fmt == "text":
        from archive.parse.text import read_text

        return read_text(decode_text(data))
    raise ParseError("unsupported_format", f"{fmt} documents are not read yet")


def parse_document(
    data: bytes,
    *,
    source: str = "",
    filename: str | None = None,
    content_type: str | None = None,
    url: str | None = None,
) -> ParsedReport:
    """Read one document. Raises ParseError when it cannot be read at all."""
    doc = read_document(data, filename=filename, content_type=content_type, url=url)
    return interpret(doc, source or filename or url or "")


def interpret(doc: Document, source: str) -> ParsedReport:
    """Find the report in a Document: tables, template, metadata."""
    script.simplify(doc)
    title = metadata.find_title(doc)
    year = metadata.reporting_year(title, doc.text)
    reading = read_tables(doc.tables, doc.exact_cells)
    template_id, template_warnings = detect_template(reading, year)
    tables, raw, table_warnings = assemble(reading, template_id)
    report = ParsedReport(
        source=source,
        format=doc.format,
        status="ok",
        agency=metadata.agency_from_title(title)
        if metadata.looks_like_report_title(title)
        else None,
        year=year,
        template=template_id,
        title=title,
        published=metadata.published_date(doc),
        tables=tables,
        raw=raw,
        text=doc.text,
        meta=dict(doc.meta),
        warnings=doc.warnings + reading.warnings + template_warnings + table_warnings,
        fee_yuan=metadata.information_fee(doc.text),
    )
    report.sections = [s.to_json() for s in sections.split_sections(doc)]
    report.stated = [s.to_json() for s in narrative.stated_figures(report.sections, doc.text)]
    fee = narrative.stated_fee(doc.text, report.sections)
    if fee is not None:
        report.stated.append(fee.to_json())
    if template_id in TEMPLATES and tables:
        missing = sections.missing_sections(report.sections)
        if missing:
            report.warnings.append(f"sections not found in the text: {', '.join(missing)}")
    report.region = metadata.region_from_agency(report.agency)
    report.warnings += metadata.consistency_warnings(year, doc.text, report.published)
    holes = audit.completeness(tables, template_id) if tables else []
    report.warnings += holes
    report.cell_audit = audit.cell_audit(tables, raw) if tables else {}
    report.status = _status(report, doc, holes)
    if report.status != "not_a_report" and _blank_form(report):
        report.status = "not_a_report"
        report.reason = (
            "a blank format template: every cell of its tables is empty"
            + (
                f" and its title says so ({report.title!r})"
                if _FORM.search(report.title or "")
                else ""
            )
            + ("" if report.year else "; it names no reporting year")
        )
    elif report.status == "not_a_report":
        report.reason = metadata.why_not_a_report(doc, title)
    elif reading.refused and report.status in ("partial", "no_tables"):
        # Rows whose digits ran together and cannot be split for sure: a status of their
        # own, since a reader of the original can still recover them.
        report.status = "run_together"
        report.reason = (
            f"digits printed run together in {', '.join(reading.refused)}; no single split "
            f"adds up under the table's sums, so those rows are left out"
        )
    if doc.ocr is not None:  # cells read from pictures: confidences, the unsure left null
        from archive.parse import ocr

        ocr.finish(report, doc.ocr)
    return report


_FORM = re.compile(r"模板|模版|格式|样表|范本")


def _blank_form(report: ParsedReport) -> bool:
    """The report format itself (a template with every cell empty), not a report: its
    tables hold no number at all, and its title calls it a template or it has no year."""
    audit_ = report.cell_audit
    if not audit_ or audit_["zero"] or audit_["number"]:
        return False
    return bool(_FORM.search(report.title or "")) or report.year is None


def _status(report: ParsedReport, doc: Document, holes: list[str]) -> str:
    titled = metadata.looks_like_report_title(report.title)
    if not report.tables:
        if doc.meta.get("image_only") == "1" or (titled and doc.meta.get("picture_pages")):
            return "tables_are_images"
        if not titled:
            return "not_a_report"
        if doc.meta.get("attachments"):
            return "landing_page"
        if doc.meta.get("table_images") and metadata.names_table_sections(doc.text):
            return "tables_are_images"  # the sections are there, their tables are pictures
        return "no_tables" if report.template in TEMPLATES else "text_only"
    if report.template not in TEMPLATES or holes:
        return "partial"
    expected = len(template(report.template).cell_keys())
    return "ok" if report.cell_count() == expected else "partial"
