"""The numbers a reader must not quote without a mark: those a failing rule reads, and those
machine-read from a scan.

The report page marks a failing rule on the cells it reads. Everywhere else a number
travels alone — into year over year, a wide table and its CSV, a stored query, a region's
sum — and would lose that mark: 淮安市人民政府 printed 行政复议·总计 0 in 2023 while its
parts add up to 3, and year over year showed a fall of 100 % without a word. So each
number carries its *check* wherever it goes:

* **不符** — a rule of :mod:`archive.checks` with status ``fail`` reads the cell (its
  ``findings.cells``; for a finding without them, the cells the rule reads by its
  definition). The number is as printed and known to be wrong somewhere in its rule.
* **机读** — the cell was read by OCR from a picture of the table (``cells.confidence``,
  ``reports.cell_source = 'ocr'``): right as far as the recogniser could tell, with the
  confidence it gave.
* **校正** — a person read the cell in the original and recorded another value
  (:mod:`archive.store.reviews`): the number shown is the person's, the parser's is named
  beside it; **校正待复核** when the parser has since read the cell otherwise, and the
  correction is not applied (:mod:`archive.publish.review`).

A note (``uncertain``, ``incomplete``) is no mark: the rule could not be decided, nothing
is known to be wrong.

The check of a wide-table column is a text, ``None`` when there is nothing to say:
``不符：表四：总计＝…`` first, then ``机读：扫描件识别，置信度 0.62``, then
``校正：原件为 3，解析为 0``, joined by ``；``.
It is what a spreadsheet filters on (begins with 不符, contains 机读), and what the
region sums count (:mod:`archive.publish.rollup`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from archive.checks import T3_APPLICANTS, T4_PARTS
from archive.publish.labels import RULE_NAMES
from archive.publish.review_text import correction_text, parts_text
from archive.store.reviews import Correction, corrections_of
from archive.store.templates import TEMPLATES, template

FAILING = "不符"
MACHINE_READ = "机读"
CORRECTED = "校正"
STALE = "校正待复核"
SEPARATOR = "；"


@dataclass
class Mark:
    """What a reader must know about one printed number."""

    rules: set[str] = field(default_factory=set)  # failing rules that read it
    explanations: list[str] = field(default_factory=list)  # what each rule found
    confidence: float | None = None  # OCR confidence, when machine-read
    machine: bool = False
    correction: Correction | None = None  # a person's reading of the original
    corrected_parts: int = 0  # of a sum (combined): how many of its parts a person corrected

    @property
    def failing(self) -> bool:
        return bool(self.rules)

    @property
    def corrected(self) -> bool:
        """Is a person's value shown for this number (a correction not gone stale)?"""
        return self.correction is not None and not self.correction.stale

    @property
    def text(self) -> str | None:
        said = check_text(self.rules, self.confidence if self.machine else None, self.machine)
        if self.correction is not None:
            said = SEPARATOR.join(p for p in (said, correction_text(self.correction)) if p)
        if self.corrected_parts:
            said = SEPARATOR.join(p for p in (said, parts_text(self.corrected_parts)) if p)
        return said or None

    @property
    def machine_text(self) -> str | None:
        """Its 机读 part alone (``机读：扫描件识别，置信度 0.62``), if OCR read it."""
        return check_text((), self.confidence, True) if self.machine else None

    @property
    def short(self) -> str:
        """A tag: 不符, 机读 0.62, 校正, 待复核."""
        if self.rules:
            return FAILING
        if self.correction is not None and not self.machine:
            return CORRECTED if self.corrected else STALE
        return MACHINE_READ + (f" {self.confidence:.2f}" if self.confidence is not None else "")


def rule_names(rules: Iterable[str]) -> str:
    """The failing rules, by their Chinese names, in a stable order."""
    return "、".join(RULE_NAMES.get(r, r) for r in sorted(set(rules)))


def check_text(
    rules: Iterable[str], confidence: float | None, machine: bool | None = None
) -> str | None:
    """``不符：<rules>；机读：扫描件识别，置信度 0.62`` — or None: nothing to say."""
    rules = set(rules)
    machine = confidence is not None if machine is None else machine
    parts = []
    if rules:
        parts.append(f"{FAILING}：{rule_names(rules)}")
    if machine:
        seen = f"，置信度 {confidence:.2f}" if confidence is not None else ""
        parts.append(f"{MACHINE_READ}：扫描件识别{seen}")
    return SEPARATOR.join(parts) or None


def cells_read(finding: dict, template_id: str | None) -> list[str]:
    """The cells (``t4.review.total``) a finding reads: as it lists them, or — a finding
    stored without its list — as its rule defines them."""
    try:
        listed = json.loads(finding.get("cells") or "null")
    except (TypeError, ValueError):
        listed = None
    if isinstance(listed, list) and listed:
        return [k for k in listed if isinstance(k, str)]
    rule, row, col = finding.get("rule"), finding.get("row_key"), finding.get("col_key")
    if rule == "t4_total" and row:
        return [f"t4.{row}.{c}" for c in (*T4_PARTS, "total")]
    if rule == "t3_applicants" and row:
        return [f"t3.{row}.{c}" for c in (*T3_APPLICANTS, "total")]
    if rule == "t3_balance" and col:
        rows = ("new_requests", "carried_over", "results_total", "carried_forward")
        return [f"t3.{r}.{col}" for r in rows]
    if rule == "t3_results" and col:
        tpl = template(template_id if template_id in TEMPLATES else "2021")
        return [f"t3.{r}.{col}" for r in (*tpl.result_rows(), "results_total")]
    return []


def explain(finding: dict) -> str:
    """What the parts add up to and what was printed, in words a reader can check."""
    expected, found = finding.get("expected"), finding.get("found")
    if finding.get("rule") == "t3_balance":
        if expected is None or found is None:
            return ""
        return (
            f"一＋二＝{number_text(expected)}，（七）总计＋四＝{number_text(found)}，"
            f"相差 {number_text(abs(found - expected))}"
        )
    if expected is not None and found is not None:
        text = f"印刷的总计为 {number_text(found)}，各项相加为 {number_text(expected)}"
        if found != expected:
            text += f"，相差 {_difference(found, expected)}"
        return text + ("（部分项空白）" if finding.get("status") == "uncertain" else "")
    if expected is not None:
        return f"总计空白，各项相加为 {number_text(expected)}"
    if found is not None:
        return f"各项均空白，印刷的总计为 {number_text(found)}"
    return ""


def number_text(value) -> str:
    """A number as the pages print it: 1,234; 3 for 3.0; nothing for None."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def _difference(found, expected) -> str:
    delta = found - expected
    return ("+" if delta > 0 else "") + number_text(delta)


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _scoped(sql: str, report_ids: list[int] | None, column: str) -> Iterable[tuple[str, list]]:
    """``sql`` (ending in a WHERE clause) for every report, or chunk by chunk of ids."""
    if report_ids is None:
        yield sql + " 1", []
        return
    for chunk in _chunks(report_ids):
        yield sql + f" {column} IN ({','.join('?' * len(chunk))})", list(chunk)


def marks_of(conn: sqlite3.Connection, report_ids: list[int] | None) -> dict[int, dict[str, Mark]]:
    """Every marked cell of these reports (of every report when ``report_ids`` is None):
    report id → cell key → :class:`Mark`."""
    found: dict[int, dict[str, Mark]] = {}
    failing = (
        "SELECT f.report_id, f.rule, f.row_key, f.col_key, f.cells, f.expected, f.found, "
        "f.status, r.template FROM findings f JOIN reports r ON r.id = f.report_id "
        "WHERE f.status = 'fail' AND"
    )
    names = ("rule", "row_key", "col_key", "cells", "expected", "found", "status")
    for sql, args in _scoped(failing, report_ids, "f.report_id"):
        for report_id, *values, template_id in conn.execute(sql, args):
            finding = dict(zip(names, values, strict=True))
            said = f"{RULE_NAMES.get(finding['rule'], finding['rule'])}：{explain(finding)}"
            for key in cells_read(finding, template_id):
                mark = found.setdefault(report_id, {}).setdefault(key, Mark())
                mark.rules.add(finding["rule"] or "")
                mark.explanations.append(said)
    # Machine-read: the cells of a report read by OCR, and any cell with a confidence.
    machine = (
        "SELECT c.report_id, c.table_key, c.row_key, c.col_key, c.confidence FROM cells c "
        "WHERE (c.confidence IS NOT NULL OR (c.value IS NOT NULL AND c.report_id IN "
        "(SELECT id FROM reports WHERE cell_source = 'ocr'))) AND"
    )
    if _has_column(conn, "cells", "confidence") and _has_column(conn, "reports", "cell_source"):
        for sql, args in _scoped(machine, report_ids, "c.report_id"):
            for report_id, table, row, col, confidence in conn.execute(sql, args):
                key = f"{table}.{row}.{col}"
                mark = found.setdefault(report_id, {}).setdefault(key, Mark())
                mark.machine, mark.confidence = True, confidence
    for report_id, corrections in corrections_of(conn, report_ids).items():
        for key, correction in corrections.items():
            found.setdefault(report_id, {}).setdefault(key, Mark()).correction = correction
    return found


def combined(marks: Iterable[Mark | None]) -> Mark | None:
    """The mark of a number added up from several cells: every failing rule among them,
    machine-read with the lowest confidence if any of them was."""
    out = Mark()
    confidences = []
    for mark in marks:
        if mark is None:
            continue
        out.rules |= mark.rules
        out.explanations += [e for e in mark.explanations if e not in out.explanations]
        if mark.machine:
            out.machine = True
            if mark.confidence is not None:
                confidences.append(mark.confidence)
        out.corrected_parts += int(mark.corrected) + mark.corrected_parts
    out.confidence = min(confidences) if confidences else None
    return out if out.rules or out.machine or out.corrected_parts else None


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"pragma table_info({table})"))
