"""After the table reader: each OCR cell's confidence onto the report, and every number the
engine was unsure of left null with a warning, never a guess.

A number is kept when read with confidence; one that breaks a sum of table 3 or 4 is kept
only when read with near certainty (it is likelier a misreading than the agency's error);
an unsure one is filled only when the table's sums confirm one of the engine's readings
(:func:`archive.parse.ocr.sums.confirm_by_sums`).
"""

from __future__ import annotations

from archive.parse.document import OcrCell, OcrResult
from archive.parse.ocr.sums import Key, broken_sums, confirm_by_sums
from archive.parse.tables import place_by_position, read_tables
from archive.parse.values import clean_cell, read_cell
from archive.store.templates import TEMPLATES

# A number read with at least this confidence (that of its least sure character) is kept;
# below it the cell is null with a warning. Set on the scans of benchmarks/ocr_bench.py so
# that no cell kept is wrong there.
KEEP = 0.90
# A number kept that breaks a sum of table 3 or 4 (which holds otherwise) must be surer
# than this, or it is taken for a misreading rather than the agency's arithmetic.
SURE = 0.97


def _row_cells(result: OcrResult, template_id: str | None) -> dict[tuple[str, str], list[OcrCell]]:
    """The OCR cells behind each row the table reader recognised, by (table, row key).

    The reader is walked again over the same grids (with the rows it placed by position
    between their neighbours, as the report's were); each of its rows is found in the grid
    rows, in order, as the run of cells whose text it holds."""
    rows = [[c for c in row if c is not None] for t in result.tables for row in t.cells]
    reading = read_tables(result.grids())
    if template_id in TEMPLATES:
        place_by_position(reading, template_id)
    found: dict[tuple[str, str], list[OcrCell]] = {}
    at, offset = 0, 0
    for rr in reading.rows:
        want = [c.raw for c in rr.cells]
        for q in range(at, len(rows)):
            texts = [clean_cell(c.text) for c in rows[q]]
            # In a new row the data cells are the rightmost; table 4's one row holds three
            # rows of the template side by side, taken left to right.
            if q == at:
                places = range(offset, len(texts) - len(want) + 1)
            elif rr.table == "t4":
                places = range(0, len(texts) - len(want) + 1)
            else:
                places = range(len(texts) - len(want), -1, -1)
            hit = next((k for k in places if texts[k : k + len(want)] == want), None)
            if hit is not None:
                found.setdefault((rr.table, rr.key), rows[q][hit : hit + len(want)])
                at, offset = q, hit + len(want)
                break
    return found


def finish(report, result: OcrResult) -> None:
    """Give an OCR-read report its confidences, and leave null (with a warning) every number
    the engine was unsure of, or that breaks a sum no other cell explains."""
    report.cell_source = "ocr"
    report.warnings += result.warnings
    if not report.tables:
        report.warnings.append(
            f"OCR found {len(result.tables)} ruled table(s) in {result.pages} picture(s) but "
            f"no row of the report's tables in them"
        )
    corrected = [
        f"'{c.corrected_from}' → '{c.text}'"
        for t in result.tables
        for row in t.cells
        for c in row
        if c is not None and c.corrected_from
    ]
    if corrected:
        report.warnings.append(
            f"OCR: {len(corrected)} label(s) read with misrecognised characters taken for the "
            f"template's wording: {'; '.join(corrected[:3])}{' …' if len(corrected) > 3 else ''}"
        )
    cells = _row_cells(result, report.template)
    confidence: dict[str, dict[str, dict[str, float]]] = {}
    candidates: dict[Key, set] = {}  # what the engine made of the cells it left null
    for table, rows in report.tables.items():
        for row, values in rows.items():
            read = cells.get((table, row))
            if read is None or len(read) != len(values):
                for col in values:
                    values[col] = None
                    confidence.setdefault(table, {}).setdefault(row, {})[col] = 0.0
                report.warnings.append(
                    f"{table}.{row}: the OCR cells of the row could not be told apart; "
                    f"its {len(values)} cells left null"
                )
                continue
            for col, cell in zip(list(values), read, strict=True):
                confidence.setdefault(table, {}).setdefault(row, {})[col] = round(
                    cell.confidence, 3
                )
                if values[col] is None and not cell.text:
                    if cell.confidence < KEEP:  # ink the engine could not read
                        readings = _numbers(cell.seen)
                        if readings:
                            candidates[(table, row, col)] = readings
                        seen = f" (it made {cell.seen!r} of it)" if cell.seen else ""
                        report.warnings.append(
                            f"{table}.{row}.{col}: something is printed that OCR could not "
                            f"read{seen}; left null"
                        )
                    continue
                if (cell.confidence < KEEP and not cell.evidence) or read_cell(
                    cell.text
                ).kind != "number":
                    if values[col] is not None:
                        candidates[(table, row, col)] = {values[col]}
                    values[col] = None
                    report.warnings.append(
                        f"{table}.{row}.{col}: OCR read {cell.text!r} with confidence "
                        f"{cell.confidence:.2f}; left null"
                    )
    doubted = _cross_check(report, confidence)
    unread = frozenset(
        (t, r, c)
        for t, rows in report.tables.items()
        for r, values in rows.items()
        for c, v in values.items()
        if v is None and confidence.get(t, {}).get(r, {}).get(c, 1.0) < KEEP
    )
    confirmed = confirm_by_sums(report, candidates, unread | doubted)
    if confirmed:
        named = {f"{t}.{r}.{c}: " for t, r, c in confirmed}
        report.warnings = [w for w in report.warnings if not any(w.startswith(n) for n in named)]
        shown = ", ".join(f"{t}.{r}.{c} = {v}" for (t, r, c), v in list(confirmed.items())[:5])
        report.warnings.append(
            f"OCR: {len(confirmed)} cell(s) read unsurely and confirmed by the table's sums "
            f"(a number the engine read that makes the sum along its row and the sum down its "
            f"column hold, every other cell read by itself): "
            f"{shown}{' …' if len(confirmed) > 5 else ''}"
        )
    report.confidence = confidence
    unsure = sum(
        1
        for t, rows in report.tables.items()
        for r, values in rows.items()
        for c, v in values.items()
        if v is None
        and confidence.get(t, {}).get(r, {}).get(c, 1.0) < KEEP
        or (v is None and any(w.startswith(f"{t}.{r}.{c}: OCR") for w in report.warnings))
    )
    report.meta["ocr_unsure_cells"] = str(unsure)
    if unsure and report.status == "ok":
        report.status = "partial"  # every cell found, not every cell read


def _numbers(seen: str | None) -> set:
    """The numbers among what the engine made of an unsure cell ("30", "3 or 8")."""
    found = set()
    for part in (seen or "").split(" or "):
        cell = read_cell(part.strip())
        if cell.kind == "number" and cell.value is not None:
            found.add(cell.value)
    return found


def _cross_check(report, confidence: dict) -> frozenset:
    """A number that takes part in a sum that does not hold, not read with near certainty,
    is a likelier misreading than the agency's error: null, with a warning. A sum with a
    cell printed but not read is not held against the others: the unread cell may be what
    makes it hold."""
    suspects: dict[tuple[str, str, str], int] = {}
    unknown = frozenset(
        (t, r, c)
        for t, rows in report.tables.items()
        for r, values in rows.items()
        for c, v in values.items()
        if v is None and confidence.get(t, {}).get(r, {}).get(c, 1.0) < KEEP
    )
    for cells in broken_sums(report.tables, report.template, unknown):
        for key in cells:
            suspects[key] = suspects.get(key, 0) + 1
    doubted = set()
    for (table, row, col), failing in sorted(suspects.items()):
        value = report.tables.get(table, {}).get(row, {}).get(col)
        sure = confidence.get(table, {}).get(row, {}).get(col, 1.0)
        if value is None or sure >= SURE:
            continue
        report.tables[table][row][col] = None
        doubted.add((table, row, col))
        report.warnings.append(
            f"{table}.{row}.{col}: OCR read {value!r} (confidence {sure:.2f}), which breaks "
            f"{failing} sum(s) of the table; left null as a likely misreading"
        )
    return frozenset(doubted)
