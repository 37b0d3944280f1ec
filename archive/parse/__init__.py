"""Reading one report document into the record of ``docs/report-json.md``.

``parse_document(bytes)`` is the whole parser: it tells the format from the
bytes, lets the format's reader produce a :class:`~archive.parse.document.Document`,
finds the three tables in it, reads the metadata, decides the template, and
leaves the arithmetic to :mod:`archive.checks` (the next stage). Formats differ
only in their reader.
"""

from __future__ import annotations

from archive.parse import metadata
from archive.parse.document import Document, ParsedReport, ParseError
from archive.parse.sniff import decode_html, decode_text, sniff_format
from archive.parse.tables import assemble, detect_template, read_tables
from archive.store.templates import TEMPLATES, template

PARSER_VERSION = "2"
MAX_BYTES = 64 * 1024 * 1024
# Markup and text reports are a few hundred KB; tens of MB of them is not a report, and
# reading it would only cost time.
MAX_TEXT_BYTES = 16 * 1024 * 1024

__all__ = ["parse_document", "read_document", "ParseError", "ParsedReport", "PARSER_VERSION"]


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
    report.region = metadata.region_from_agency(report.agency)
    report.warnings += metadata.consistency_warnings(year, doc.text, report.published)
    report.status = _status(report, doc)
    if doc.ocr is not None:  # cells read from pictures: confidences, the unsure left null
        from archive.parse import ocr

        ocr.finish(report, doc.ocr)
    if report.status == "not_a_report":
        report.reason = metadata.why_not_a_report(doc, title)
    return report


def _status(report: ParsedReport, doc: Document) -> str:
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
    if report.template not in TEMPLATES:
        return "partial"
    expected = len(template(report.template).cell_keys())
    return "ok" if report.cell_count() == expected else "partial"
