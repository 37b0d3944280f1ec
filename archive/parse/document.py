"""What every format reader produces, and what the parse produces from it.

Format readers (HTML, PDF, text …) turn bytes into a :class:`Document`: the text
in reading order and the tables as grids of printed cells. Everything after that
(finding the three tables, matching labels, metadata) works on a Document and
does not know the format. Tables read from pictures by OCR (:mod:`archive.parse.ocr`)
come with what the engine made of each cell (:class:`OcrResult`), which the Document
keeps: it is defined here, with the Document, so that the OCR reader depends on this
module and not the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A table as printed: rows of cells. ``None`` marks a position covered by a merged
# cell (readers that expand spans use it); a reader that keeps only the printed
# cells of each row never emits it.
Grid = list[list[str | None]]


class ParseError(Exception):
    """The document cannot be read at all (corrupt, empty, not a report format).

    ``status`` is the short machine-readable reason stored in the archive.
    """

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class OcrCell:
    """A cell read from a picture: its text and the engine's confidence (0–1) in it."""

    text: str
    confidence: float
    numeric: bool = False
    corrected_from: str | None = None  # a label read with misrecognised characters
    seen: str | None = None  # what the engine made of a number cell it could not read
    # what, besides the engine's confidence, made a number of it (read again larger, the
    # table's sums): a number read less surely is kept only on such evidence
    evidence: str | None = None


@dataclass
class OcrTable:
    """One ruled table found in a picture: rows of cells (``None``: covered by a merge)."""

    cells: list[list[OcrCell | None]]
    page: int = 0

    def grid(self) -> Grid:
        return [[None if c is None else c.text for c in row] for row in self.cells]


@dataclass
class OcrResult:
    """What OCR made of a document's pictures, kept beside its Document."""

    tables: list[OcrTable] = field(default_factory=list)
    pages: int = 0  # pictures read
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    header: str = ""  # the text above the first table of the first picture (the title)

    def grids(self) -> list[Grid]:
        """The tables as the table reader takes them: grids of the cells' texts."""
        return [t.grid() for t in self.tables]


@dataclass
class Document:
    format: str
    text: str
    tables: list[Grid] = field(default_factory=list)
    title: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    # Readers of formats whose empty cells are unreliable (plain text) say so, and
    # the table reader then refuses to place a row whose blanks it cannot locate.
    exact_cells: bool = True
    warnings: list[str] = field(default_factory=list)
    # The tables were read from pictures (by archive.parse.ocr): cells carry a
    # confidence, and the unsure ones are left null after the table reader.
    ocr: OcrResult | None = None


@dataclass
class ParsedReport:
    """One document read as a report: the record of ``docs/report-json.md``."""

    source: str
    format: str
    status: str  # ok | partial | not_a_report | tables_are_images
    agency: str | None = None
    region: str | None = None
    region_code: str | None = None
    year: int | None = None
    template: str | None = None
    title: str | None = None
    published: str | None = None
    tables: dict[str, dict[str, dict[str, int | float | None]]] = field(default_factory=dict)
    raw: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    text: str = ""
    fee_yuan: float | None = None
    meta: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # why the status is not ok, in words (e.g. a soft 404)
    # How the cells read were printed (blank / dash / zero / number), see parse.audit.
    cell_audit: dict[str, int] = field(default_factory=dict)
    # The narrative, one entry per section found (see parse.sections), the figures it
    # states (parse.narrative), and how they compare with the tables (checks).
    sections: list[dict] = field(default_factory=list)
    stated: list[dict] = field(default_factory=list)
    narrative_checks: list[dict] = field(default_factory=list)
    # "ocr" when the cells were read from pictures; then each cell's confidence (0–1)
    cell_source: str | None = None
    confidence: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The object ``nianbao parse FILE --json`` prints."""
        out: dict = {"source": self.source, "status": self.status}
        for name in ("agency", "region", "region_code", "year", "template", "title", "published"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["format"] = self.format
        out["tables"] = self.tables
        out["checks"] = self.checks
        out["warnings"] = self.warnings
        if self.fee_yuan is not None:
            out["fee_yuan"] = self.fee_yuan
        if self.reason:
            out["reason"] = self.reason
        if self.cell_audit:
            out["cell_audit"] = self.cell_audit
        if self.sections:
            out["sections"] = self.sections
        if self.stated:
            out["stated"] = self.stated
        if self.narrative_checks:
            out["narrative_checks"] = self.narrative_checks
        if self.cell_source:
            out["cell_source"] = self.cell_source
            out["confidence"] = self.confidence
        return out

    def cell_count(self) -> int:
        return sum(len(cols) for rows in self.tables.values() for cols in rows.values())
