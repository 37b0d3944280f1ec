"""Cell accuracy of the parser on the real corpus: documents agencies actually published.

    python -m benchmarks.real_corpus [--dir DIR] [--json]

The corpus is described by ``tests/fixtures/real/manifest.csv`` (one row per
document: who published it, where its bytes come from, their SHA-256) and
``tests/fixtures/real/expected/<id>.json`` (the cells as printed, read by hand
from the document itself). The bytes are not in the repository: they live in a
directory of their own, ``/work/realcorpus`` by default, or the one named by
``NIANBAO_REAL_CORPUS`` or ``--dir``. A document whose file is absent, or whose
bytes no longer match the recorded SHA-256, is reported and left out of the
figures, never measured on the wrong bytes.

For every document it prints the cells expected and how many the parser read
right, wrong (a value that is not the printed one), missing (not read at all)
or extra (a cell the document does not print), the status it gave against the
status it should give, and then every wrong number. A wrong number is worse
than a missing one: it is the figure to drive to zero. Accuracy is right /
expected, over cells; a blank printed cell is ``null`` and only ``null`` is right
for it (0 is wrong).
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
DEFAULT_DIR = Path("/work/realcorpus")
ENV_DIR = "NIANBAO_REAL_CORPUS"

# Columns of manifest.csv, in order. ``kind`` is ``report`` for an agency's annual
# report and ``template`` for a published blank format (no agency, no year).
MANIFEST_COLUMNS = (
    "id",
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
SOURCE_TYPES = ("repository", "page", "shared-corpus")
FORMATS = ("html", "pdf", "docx", "doc", "text", "mht", "rtf")


@dataclass
class Entry:
    """One manifest row, with its expected record."""

    row: dict[str, str]
    expected: dict

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def file(self) -> str:
        return self.row["file"]


def corpus_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Where the document bytes are: ``--dir``, then the environment, then the default."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(ENV_DIR) or DEFAULT_DIR)


def read_manifest(path: Path = MANIFEST) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_entries(manifest: Path = MANIFEST, expected_dir: Path = EXPECTED) -> list[Entry]:
    """Every manifest row with its expected record (a missing record raises)."""
    entries = []
    for row in read_manifest(manifest):
        record = json.loads((expected_dir / f"{row['id']}.json").read_text(encoding="utf-8"))
        entries.append(Entry(row, record))
    return entries


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_cells(record: dict) -> dict[str, int | float | None]:
    """``t3.granted.total`` → value, for every cell the document prints."""
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


@dataclass
class Outcome:
    """How the parser did on one document."""

    id: str
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
    meta: list[str] = field(default_factory=list)  # agency / year / template mismatches
    message: str = ""
    seconds: float = 0.0

    @property
    def wrong_numbers(self) -> list[tuple[str, object, object]]:
        """Cells where the parser put a number the document does not print there."""
        return [w for w in self.wrong if isinstance(w[2], (int, float))]


def compare(entry: Entry, report) -> Outcome:
    """Cell by cell: the parsed report against the hand-checked record."""
    record = entry.expected
    out = Outcome(
        entry.id,
        entry.row["format"],
        entry.row["template"],
        "measured",
        expected_status=record.get("status", ""),
        status=report.status,
    )
    want = expected_cells(record)
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
    out.extra = sorted(k for k in got if k not in want)
    for name in ("agency", "year", "template"):
        if record.get(name) != getattr(report, name):
            out.meta.append(f"{name}: {getattr(report, name)!r} (printed {record.get(name)!r})")
    return out


def measure(entry: Entry, directory: Path) -> Outcome:
    """Parse one document from ``directory`` and compare; absent or altered bytes are not."""
    from archive.parse import ParseError, parse_document

    path = directory / entry.file
    base = Outcome(entry.id, entry.row["format"], entry.row["template"], "absent")
    base.expected_status = entry.expected.get("status", "")
    if not path.is_file():
        base.message = f"{path} is not there"
        return base
    data = path.read_bytes()
    if sha256(data) != entry.row["sha256"]:
        base.state = "sha-mismatch"
        base.message = f"{path}: SHA-256 {sha256(data)} is not the recorded {entry.row['sha256']}"
        return base
    start = time.process_time()
    try:
        report = parse_document(data, filename=entry.file)
    except ParseError as exc:
        base.state = "parse-error"
        base.status = exc.status
        base.cells = len(expected_cells(entry.expected))
        base.missing = list(expected_cells(entry.expected))
        base.message = f"{exc.status}: {exc.message}"
        base.seconds = time.process_time() - start
        return base
    out = compare(entry, report)
    out.seconds = time.process_time() - start
    return out


def run(directory: Path, entries: list[Entry] | None = None) -> list[Outcome]:
    return [measure(e, directory) for e in (entries if entries is not None else load_entries())]


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
        "status_wrong": sum(1 for o in measured if o.status != o.expected_status),
        "meta_wrong": sum(1 for o in measured if o.meta),
        "accuracy": right / cells if cells else None,
    }


def _pct(right: int, cells: int) -> str:
    return f"{100 * right / cells:6.2f}%" if cells else "     -"


def render(outcomes: list[Outcome], directory: Path) -> str:
    """The table a person reads: one line per document, the totals, then every wrong number."""
    lines = [
        f"real corpus: {directory}  ({len(outcomes)} documents in the manifest)",
        "",
        f"{'id':34} {'fmt':5} {'tpl':4} {'status (expected)':28} "
        f"{'cells':>5} {'right':>5} {'wrong':>5} {'miss':>5} {'extra':>5} {'acc':>7} {'cpu s':>6}",
    ]
    for o in outcomes:
        if o.state in ("absent", "sha-mismatch"):
            lines.append(f"{o.id:34} {o.format:5} {o.template:4} not measured: {o.message}")
            continue
        status = o.status if o.status == o.expected_status else f"{o.status} ({o.expected_status})"
        lines.append(
            f"{o.id:34} {o.format:5} {o.template:4} {status:28} {o.cells:5d} {o.right:5d} "
            f"{len(o.wrong):5d} {len(o.missing):5d} {len(o.extra):5d} "
            f"{_pct(o.right, o.cells):>7} {o.seconds:6.2f}"
        )
    t = totals(outcomes)
    lines += [
        "",
        f"overall: {t['measured']} documents measured ({t['not_measured']} not), "
        f"{t['cells']} cells: {t['right']} right, {t['wrong']} wrong "
        f"({t['wrong_numbers']} wrong numbers), {t['missing']} missing, {t['extra']} extra; "
        f"cell accuracy {_pct(t['right'], t['cells']).strip()}; "
        f"status wrong on {t['status_wrong']}, agency/year/template wrong on {t['meta_wrong']}",
    ]
    wrong = [(o.id, *w) for o in outcomes for w in o.wrong]
    if wrong:
        lines += ["", "wrong cells (document, cell, printed, read):"]
        lines += [f"  {i}  {cell}  {want!r} → {got!r}" for i, cell, want, got in wrong]
    meta = [(o.id, m) for o in outcomes for m in o.meta]
    if meta:
        lines += ["", "metadata read wrong:"] + [f"  {i}  {m}" for i, m in meta]
    missing = [o for o in outcomes if o.missing]
    if missing:
        lines += ["", "missing cells (first 8 per document):"]
        for o in missing:
            more = f" … and {len(o.missing) - 8} more" if len(o.missing) > 8 else ""
            lines.append(f"  {o.id}: {', '.join(o.missing[:8])}{more}")
    errors = [o for o in outcomes if o.state == "parse-error"]
    if errors:
        lines += ["", "not read at all:"] + [f"  {o.id}: {o.message}" for o in errors]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help=f"the document bytes (default ${ENV_DIR} or {DEFAULT_DIR})")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    directory = corpus_dir(args.dir)
    if not directory.is_dir():
        print(
            f"real corpus: {directory} is not a directory (set {ENV_DIR} or --dir)", file=sys.stderr
        )
        return 2
    outcomes = run(directory)
    if args.json:
        print(
            json.dumps(
                {
                    "directory": str(directory),
                    "totals": totals(outcomes),
                    "documents": [
                        {
                            "id": o.id,
                            "state": o.state,
                            "status": o.status,
                            "expected_status": o.expected_status,
                            "cells": o.cells,
                            "right": o.right,
                            "wrong": [list(w) for w in o.wrong],
                            "missing": o.missing,
                            "extra": o.extra,
                            "meta": o.meta,
                            "message": o.message,
                        }
                        for o in outcomes
                    ],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        print(render(outcomes, directory))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
