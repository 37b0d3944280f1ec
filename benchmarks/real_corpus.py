"""Cell accuracy of the parser on the real corpus: documents agencies actually published.

    python -m benchmarks.real_corpus [--shared DIR] [--corpus DIR] [--json]

The corpus is described by ``tests/fixtures/real/manifest.csv``, one row per document
(who published it, where its bytes come from, their SHA-256 and size), and by
``tests/fixtures/real/expected/<truth>.json``, one record per report: the cells as
printed, read by hand from the document itself. A report published in two forms (the
archive's text rendering of the page and the agency's HTML article) is two documents
with one record; the manifest's ``truth`` column names it.

The bytes are not in the repository. A row's ``root`` says where they are: ``shared``,
the directory beside the checkout that every developer and CI have (``../shared``, or
``NIANBAO_SHARED``, or ``--shared``), read in place; or ``corpus``, a directory of one's
own for documents kept nowhere here (``../realcorpus``, or ``NIANBAO_REAL_CORPUS``, or
``--corpus``). A document whose file is absent, or whose bytes no longer match the
recorded SHA-256, is reported and left out of the figures, never measured on the wrong
bytes.

A record says what the report prints: a key missing from ``tables`` is a cell the
report does not print, or one its authors could not read for sure; the latter are
listed in ``unsure`` (printed, but not readable with certainty from the document the
record was read from). Neither is counted. ``null`` is a cell printed blank, and only
``null`` is right for it (0 is wrong).

It prints every wrong number first (a wrong number is worse than a missing one: the
figure to drive to zero), then a table per agency and format and one per format: the
cells expected, and how many the parser read right, wrong (a value that is not the
printed one), missing (not read) or extra (a cell the report does not print), the
status against the expected one; then every document, and every refusal with the
warning that names it. A status is right when it is the record's, or ``run_together``
where the record's is ``ok`` or ``partial`` (printed rows whose digits ran together and
could not be split for sure: a named refusal). Accuracy is right / expected, over cells.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "real"
MANIFEST = REAL / "manifest.csv"
EXPECTED = REAL / "expected"
SHARED_ENV = "NIANBAO_SHARED"
CORPUS_ENV = "NIANBAO_REAL_CORPUS"

# Columns of manifest.csv, in order. ``kind`` is ``report`` for an agency's annual
# report and ``template`` for a published blank format (no agency, no year); ``truth``
# is the record the document is measured against; ``root`` where its bytes are.
MANIFEST_COLUMNS = (
    "id",
    "truth",
    "root",
    "file",
    "kind",
    "agency",
    "region",
    "year",
    "template",
    "format",
    "source_type",
    "repository",
    "path",
    "commit",
    "url",
    "sha256",
    "size",
    "notes",
)
ROOTS = ("shared", "corpus")
# repository: the file as a repository holds it; repository-excerpt: a part of one (the
# row's notes say which); page: as a page served it; shared-corpus: as shared/corpus keeps it.
SOURCE_TYPES = ("repository", "repository-excerpt", "page", "shared-corpus")
FORMATS = ("html", "pdf", "docx", "doc", "text", "mht", "rtf")
# What a record's status may be (what the report prints, whatever form it is read from).
RECORD_STATUSES = ("ok", "partial", "no_tables", "tables_are_images", "not_a_report")


@dataclass
class Document:
    """One manifest row, with the record of its report."""

    row: dict[str, str]
    record: dict

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def truth(self) -> str:
        return self.row["truth"]

    @property
    def file(self) -> str:
        return self.row["file"]

    @property
    def format(self) -> str:
        return self.row["format"]

    @property
    def publisher(self) -> str:
        """Who published it, across renamings: the record's id without its year."""
        head, _, year = self.truth.rpartition("-")
        return head if year.isdigit() else self.truth


def shared_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The shared directory: ``--shared``, then ``NIANBAO_SHARED``, then ``../shared``."""
    return Path(explicit or os.environ.get(SHARED_ENV) or ROOT.parent / "shared")


def corpus_dir(explicit: str | os.PathLike | None = None) -> Path:
    """One's own corpus directory: ``--corpus``, then ``NIANBAO_REAL_CORPUS``, then
    ``../realcorpus``."""
    return Path(explicit or os.environ.get(CORPUS_ENV) or ROOT.parent / "realcorpus")


def read_manifest(path: Path = MANIFEST) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_documents(manifest: Path = MANIFEST, expected_dir: Path = EXPECTED) -> list[Document]:
    """Every manifest row with the record of its report (a missing record raises)."""
    records: dict[str, dict] = {}
    documents = []
    for row in read_manifest(manifest):
        if row["truth"] not in records:
            path = expected_dir / f"{row['truth']}.json"
            records[row["truth"]] = json.loads(path.read_text(encoding="utf-8"))
        documents.append(Document(row, records[row["truth"]]))
    return documents


def locate(doc: Document, shared: Path, corpus: Path) -> Path:
    return (shared if doc.row["root"] == "shared" else corpus) / doc.file


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_cells(record: dict) -> dict[str, int | float | None]:
    """``t3.granted.total`` → value, for every cell the record holds."""
    return {
        f"{t}.{r}.{c}": v
        for t, rows in record.get("tables", {}).items()
        for r, cols in rows.items()
        for c, v in cols.items()
    }


def same_value(a, b) -> bool:
    """Equal as printed: 0 is not blank, and 3 (int) is not 3.0 read from a decimal cell."""
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) and a == b


def status_right(expected: str, status: str) -> bool:
    """The record's status, or ``run_together`` for a report that prints its tables
    (``ok``/``partial``): rows whose digits ran together were refused and named."""
    return status == expected or (status == "run_together" and expected in ("ok", "partial"))


@dataclass
class Outcome:
    """How the parser did on one document."""

    id: str
    truth: str
    publisher: str
    agency: str
    format: str
    template: str
    state: str  # measured | absent | sha-mismatch | parse-error
    expected_status: str = ""
    status: str = ""
    cells: int = 0
    right: int = 0
    wrong: list[tuple[str, object, object]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)  # read where the record is unsure
    meta: list[str] = field(default_factory=list)  # agency / year / template read wrong
    unread: list[str] = field(default_factory=list)  # agency / year / template not read
    refusals: dict[str, str] = field(default_factory=dict)  # missing row → what names it
    message: str = ""
    seconds: float = 0.0

    @property
    def wrong_numbers(self) -> list[tuple[str, object, object]]:
        """Cells where the parser put a number the document does not print there."""
        return [w for w in self.wrong if isinstance(w[2], (int, float))]

    @property
    def status_right(self) -> bool:
        return status_right(self.expected_status, self.status)

    @property
    def unnamed(self) -> list[str]:
        """Rows left out that no status or warning names."""
        return sorted(row for row, why in self.refusals.items() if not why)


def _outcome(doc: Document, state: str) -> Outcome:
    return Outcome(
        doc.id,
        doc.truth,
        doc.publisher,
        doc.row["agency"],
        doc.format,
        doc.row["template"],
        state,
        expected_status=doc.record.get("status", ""),
    )


def _naming(row: str, warnings: list[str]) -> str:
    """The first warning that names a row left out (``t3.granted: …``, or a table's
    ``t2: row regulations … not found``), or ''."""
    table, _, key = row.partition(".")
    naming = [
        w
        for w in warnings
        if row in w
        or (w.startswith(f"{table}:") and key in w)
        or (w.startswith(f"{table}: table") and "not found" in w)  # the whole table
    ]
    refusing = [w for w in naming if "left out" in w or "not found" in w]
    return (refusing or naming or [""])[0]


def compare(doc: Document, report) -> Outcome:
    """Cell by cell: the parsed report against the hand-checked record."""
    record = doc.record
    out = _outcome(doc, "measured")
    out.status = report.status
    want = expected_cells(record)
    unsure = set(record.get("unsure", []))
    got = {
        f"{t}.{r}.{c}": v
        for t, rows in report.tables.items()
        for r, cols in rows.items()
        for c, v in cols.items()
    }
    out.cells = len(want)
    for key, value in want.items():
        if key not in got:
            out.missing.append(key)
        elif same_value(value, got[key]):
            out.right += 1
        else:
            out.wrong.append((key, value, got[key]))
    out.extra = sorted(k for k in got if k not in want and k not in unsure)
    out.unverified = sorted(k for k in got if k in unsure)
    warnings = list(report.warnings) + ([report.reason] if getattr(report, "reason", "") else [])
    for row in sorted({k.rsplit(".", 1)[0] for k in out.missing}):
        out.refusals[row] = _naming(row, warnings)
    for name in ("agency", "year", "template"):
        found = getattr(report, name)
        if found is None and record.get(name) is not None:
            out.unread.append(name)  # the document may not print it (an article without title)
        elif record.get(name) != found:
            out.meta.append(f"{name}: {found!r} (printed {record.get(name)!r})")
    return out


def measure(doc: Document, shared: Path, corpus: Path) -> Outcome:
    """Parse one document in place and compare; absent or altered bytes are not measured."""
    from archive.parse import ParseError, parse_document

    path = locate(doc, shared, corpus)
    base = _outcome(doc, "absent")
    if not path.is_file():
        base.message = f"{path} is not there"
        return base
    data = path.read_bytes()
    if sha256(data) != doc.row["sha256"]:
        base.state = "sha-mismatch"
        base.message = f"{path}: SHA-256 {sha256(data)} is not the recorded {doc.row['sha256']}"
        return base
    start = time.process_time()
    try:
        report = parse_document(data, filename=Path(doc.file).name)
    except ParseError as exc:
        base.state = "parse-error"
        base.status = exc.status
        base.cells = len(expected_cells(doc.record))
        base.missing = list(expected_cells(doc.record))
        base.refusals = {k.rsplit(".", 1)[0]: f"{exc.status}: {exc.message}" for k in base.missing}
        base.message = f"{exc.status}: {exc.message}"
        base.seconds = time.process_time() - start
        return base
    out = compare(doc, report)
    out.seconds = time.process_time() - start
    return out


def run(shared: Path, corpus: Path, documents: list[Document] | None = None) -> list[Outcome]:
    docs = documents if documents is not None else load_documents()
    return [measure(d, shared, corpus) for d in docs]


def totals(outcomes: list[Outcome]) -> dict:
    measured = [o for o in outcomes if o.state in ("measured", "parse-error")]
    cells = sum(o.cells for o in measured)
    right = sum(o.right for o in measured)
    return {
        "documents": len(outcomes),
        "measured": len(measured),
        "not_measured": len(outcomes) - len(measured),
        "cells": cells,
        "right": right,
        "wrong": sum(len(o.wrong) for o in measured),
        "wrong_numbers": sum(len(o.wrong_numbers) for o in measured),
        "missing": sum(len(o.missing) for o in measured),
        "extra": sum(len(o.extra) for o in measured),
        "status_wrong": sum(1 for o in measured if not o.status_right),
        "meta_wrong": sum(1 for o in measured if o.meta),
        "unnamed": sum(len(o.unnamed) for o in measured),
        "accuracy": right / cells if cells else None,
    }


def by_format(outcomes: list[Outcome]) -> dict[str, dict]:
    return {f: totals([o for o in outcomes if o.format == f]) for f in _formats(outcomes)}


def _formats(outcomes: list[Outcome]) -> list[str]:
    return sorted({o.format for o in outcomes}, key=lambda f: (FORMATS.index(f), f))


def _pct(right: int, cells: int) -> str:
    return f"{100 * right / cells:.2f} %" if cells else "—"


def _table_row(name: str, fmt: str, t: dict) -> str:
    return (
        f"| {name} | {fmt} | {t['measured']}/{t['documents']} | {t['cells']} | {t['right']} | "
        f"{t['wrong']} | {t['wrong_numbers']} | {t['missing']} | {t['extra']} | "
        f"{_pct(t['right'], t['cells'])} | {t['measured'] - t['status_wrong']}/{t['measured']} |"
    )


HEADER = (
    "| {} | format | measured | cells | right | wrong | wrong numbers | missing | extra | "
    "accuracy | status right |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def render(outcomes: list[Outcome], shared: Path, corpus: Path) -> str:
    """What a person reads: every wrong number first, the tables per agency and format
    and per format, every document, then every refusal and what names it."""
    measured = [o for o in outcomes if o.state in ("measured", "parse-error")]
    lines = [
        f"real corpus: {len(outcomes)} documents in the manifest, {len(measured)} measured "
        f"(shared: {shared}; own corpus: {corpus})",
        "",
    ]
    wrong = [(o.id, *w) for o in measured for w in o.wrong]
    if wrong:
        lines.append(f"WRONG CELLS ({len(wrong)}; document, cell, printed → read):")
        lines += [f"  {i}  {cell}  {want!r} → {got!r}" for i, cell, want, got in wrong]
    else:
        lines.append("wrong cells: none")
    lines += ["", "Per agency and format:", HEADER.format("agency")]
    groups: dict[tuple[str, str], list[Outcome]] = {}
    names: dict[str, list[str]] = {}  # a publisher's names, in manifest order (renamings)
    for o in outcomes:
        groups.setdefault((o.publisher, o.format), []).append(o)
        known = names.setdefault(o.publisher, [])
        if o.agency and o.agency not in known:
            known.append(o.agency)
    for (publisher, fmt), group in sorted(
        groups.items(), key=lambda g: (g[0][0], FORMATS.index(g[0][1]))
    ):
        lines.append(_table_row(" / ".join(names[publisher]) or publisher, fmt, totals(group)))
    lines += ["", "Per format:", HEADER.format("set")]
    for fmt, t in by_format(outcomes).items():
        lines.append(_table_row("all", fmt, t))
    lines.append(_table_row("all", "all", totals(outcomes)))
    lines += [
        "",
        f"{'document':34} {'fmt':5} {'tpl':4} {'status (expected)':28} "
        f"{'cells':>5} {'right':>5} {'wrong':>5} {'miss':>5} {'extra':>5} {'acc':>8} {'cpu s':>6}",
    ]
    for o in outcomes:
        if o.state in ("absent", "sha-mismatch"):
            lines.append(f"{o.id:34} {o.format:5} {o.template:4} not measured: {o.message}")
            continue
        status = o.status if o.status == o.expected_status else f"{o.status} ({o.expected_status})"
        mark = "" if o.status_right else " !"
        lines.append(
            f"{o.id:34} {o.format:5} {o.template:4} {status + mark:28} {o.cells:5d} {o.right:5d} "
            f"{len(o.wrong):5d} {len(o.missing):5d} {len(o.extra):5d} "
            f"{_pct(o.right, o.cells):>8} {o.seconds:6.2f}"
        )
    meta = [(o.id, m) for o in measured for m in o.meta]
    if meta:
        lines += ["", "metadata read wrong:"] + [f"  {i}  {m}" for i, m in meta]
    unread = [(o.id, ", ".join(o.unread)) for o in measured if o.unread]
    if unread:
        lines += ["", "metadata not read (the document does not print a title):"]
        lines += [f"  {i}  {m}" for i, m in unread]
    bad_status = [o for o in measured if not o.status_right]
    if bad_status:
        lines += ["", "status not the expected one:"]
        lines += [f"  {o.id}: {o.status} (expected {o.expected_status})" for o in bad_status]
    refused = [(o.id, row, why) for o in measured for row, why in o.refusals.items()]
    if refused:
        lines += ["", f"rows left out ({len(refused)}), and what names them:"]
        lines += [f"  {i}  {row}: {why or 'NAMED BY NOTHING'}" for i, row, why in refused]
    extra = [(o.id, k) for o in measured for k in o.extra]
    if extra:
        lines += ["", "extra cells (read where the report prints none):"]
        lines += [f"  {i}  {k}" for i, k in extra]
    return "\n".join(lines)


def as_json(outcomes: list[Outcome], shared: Path, corpus: Path) -> dict:
    return {
        "shared": str(shared),
        "corpus": str(corpus),
        "totals": totals(outcomes),
        "formats": by_format(outcomes),
        "documents": [
            {
                "id": o.id,
                "truth": o.truth,
                "format": o.format,
                "state": o.state,
                "status": o.status,
                "expected_status": o.expected_status,
                "cells": o.cells,
                "right": o.right,
                "wrong": [list(w) for w in o.wrong],
                "missing": o.missing,
                "extra": o.extra,
                "unverified": o.unverified,
                "refusals": o.refusals,
                "meta": o.meta,
                "unread": o.unread,
                "message": o.message,
            }
            for o in outcomes
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--shared", help=f"the shared directory (default ${SHARED_ENV} or ../shared)"
    )
    parser.add_argument(
        "--corpus", help=f"one's own corpus directory (default ${CORPUS_ENV} or ../realcorpus)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    shared, corpus = shared_dir(args.shared), corpus_dir(args.corpus)
    if not shared.is_dir() and not corpus.is_dir():
        print(
            f"real corpus: neither {shared} nor {corpus} is a directory "
            f"(set {SHARED_ENV} / {CORPUS_ENV}, or --shared / --corpus)",
            file=sys.stderr,
        )
        return 2
    outcomes = run(shared, corpus)
    if args.json:
        print(json.dumps(as_json(outcomes, shared, corpus), ensure_ascii=False, indent=1))
    else:
        print(render(outcomes, shared, corpus))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
