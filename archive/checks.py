"""The arithmetic rules (勾稽关系) of ``docs/report-json.md``.

A failed rule is a finding about the agency's own arithmetic, not a parse
error: the numbers stay as printed. There is no tolerance, except that 万元
amounts are compared after rounding. A blank cell counts as 0 when it is one of
the parts being added (agencies leave zero cells empty) — but a sum that then
fails is ``uncertain`` rather than ``fail``, since the blank may hide a number.
A blank total with printed parts cannot be checked: ``incomplete``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from archive.parse.audit import result_rows_printed
from archive.store.templates import template

if TYPE_CHECKING:
    from archive.parse.document import ParsedReport

T3_APPLICANTS = (
    "natural_person",
    "enterprise",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
)
T4_PARTS = ("upheld", "corrected", "other", "pending")


@dataclass
class Check:
    rule: str
    table: str
    status: str  # pass | fail | uncertain | incomplete
    expected: float | None
    found: float | None
    cells: list[str]
    row: str | None = None
    column: str | None = None
    message: str = ""

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _sum_rule(
    rule: str,
    table: str,
    total_cell: tuple[str, str],
    parts: list[tuple[str, str]],
    rows: dict,
    *,
    row: str | None = None,
    column: str | None = None,
    describe: str,
) -> Check | None:
    """total == Σ parts, or None when none of the cells is printed at all."""

    def get(cell: tuple[str, str]):
        return rows.get(cell[0], {}).get(cell[1])

    numbers = [get(c) for c in parts]
    total = get(total_cell)
    cells = [f"{table}.{r}.{c}" for r, c in parts + [total_cell]]
    if all(n is None for n in numbers) and total is None:
        return None
    expected = round(sum(n or 0 for n in numbers), 4)
    if all(n is None for n in numbers):
        return Check(
            rule,
            table,
            "incomplete",
            None,
            total,
            cells,
            row,
            column,
            f"{describe}: the total is printed but every part is blank",
        )
    if total is None:
        return Check(
            rule,
            table,
            "incomplete",
            expected,
            None,
            cells,
            row,
            column,
            f"{describe}: the total is blank while its parts add up to {expected:g}",
        )
    status = "pass" if expected == round(total, 4) else "fail"
    message = (
        ""
        if status == "pass"
        else f"{describe}: printed {total:g}, the parts add up to {expected:g}"
    )
    if status == "fail" and any(n is None for n in numbers):
        status = "uncertain"
        message += " (some parts are blank)"
    return Check(rule, table, status, expected, total, cells, row, column, message)


def check_report(tables: dict, template_id: str | None) -> list[Check]:
    """Every rule that can be evaluated on the cells present, passed or not."""
    if template_id not in ("2019", "2021"):
        return []
    tpl = template(template_id)
    t3 = tables.get("t3", {})
    t4 = tables.get("t4", {})
    results: list[Check | None] = []
    columns = [c.key for c in tpl.cols("t3")]
    result_rows = result_rows_printed(tpl, t3)
    for col in columns:
        if not all(
            r in t3 for r in ("new_requests", "carried_over", "results_total", "carried_forward")
        ):
            break
        a = t3["new_requests"][col], t3["carried_over"][col]
        b = t3["results_total"][col], t3["carried_forward"][col]
        if all(v is None for v in a + b):
            continue
        left, right = sum(v or 0 for v in a), sum(v or 0 for v in b)
        cells = [
            f"t3.{r}.{col}"
            for r in ("new_requests", "carried_over", "results_total", "carried_forward")
        ]
        status = "pass" if left == right else "fail"
        results.append(
            Check(
                "t3_balance",
                "t3",
                status,
                left,
                right,
                cells,
                column=col,
                message=""
                if status == "pass"
                else f"column {col}: 本年新收 + 上年结转 = {left:g}, but 办理结果总计 + 结转下年度 = {right:g}",
            )
        )
    for col in columns:
        if "results_total" not in t3 or not all(r in t3 for r in result_rows):
            break
        results.append(
            _sum_rule(
                "t3_results",
                "t3",
                ("results_total", col),
                [(r, col) for r in result_rows],
                t3,
                column=col,
                describe=f"column {col}: （七）总计 against the outcome rows",
            )
        )
    for row in t3:
        if row.startswith("local_"):
            continue
        results.append(
            _sum_rule(
                "t3_applicants",
                "t3",
                (row, "total"),
                [(row, c) for c in T3_APPLICANTS],
                t3,
                row=row,
                describe=f"row {row}: 总计 against the six applicant columns",
            )
        )
    for row in t4:
        results.append(
            _sum_rule(
                "t4_total",
                "t4",
                (row, "total"),
                [(row, c) for c in T4_PARTS],
                t4,
                row=row,
                describe=f"row {row}: 总计 against 维持 + 纠正 + 其他 + 尚未审结",
            )
        )
    return [r for r in results if r is not None]


def findings(checks: list[Check]) -> list[Check]:
    """The checks worth a row in ``findings``: everything that did not pass."""
    return [c for c in checks if c.status != "pass"]


def check_parsed(report: ParsedReport) -> list[Check]:
    """The findings on one parsed report, also kept in its ``checks`` (the record's JSON)."""
    found = findings(check_report(report.tables, report.template))
    report.checks = [c.to_json() for c in found]
    return found
