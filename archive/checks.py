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
from archive.store.templates import T3_APPLICANTS, T4_PARTS, template

if TYPE_CHECKING:
    from archive.parse.document import ParsedReport


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
    """The findings on one parsed report, also kept in its ``checks`` (the record's JSON);
    the narrative's go to its ``narrative_checks`` (see :func:`narrative_findings`)."""
    found = findings(check_report(report.tables, report.template))
    report.checks = [c.to_json() for c in found]
    narrative_findings(report)
    return found


# --- the narrative against the tables ----------------------------------------------------

# What each narrative rule compares with: the table cells whose sum the text restates.
NARRATIVE_CELLS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "text_new_requests": (("t3", "new_requests", "total"),),
    "text_results": (("t3", "results_total", "total"),),
    "text_carried_over": (("t3", "carried_over", "total"),),
    "text_carried_forward": (("t3", "carried_forward", "total"),),
    "text_review": (("t4", "review", "total"),),
    "text_litigation": (
        ("t4", "litigation_direct", "total"),
        ("t4", "litigation_after_review", "total"),
    ),
}
# Phrasings that count the carried-over requests in: 共受理…N件（含上年结转M件）.
NARRATIVE_ALSO: dict[str, tuple[tuple[str, str, str], ...]] = {
    "text_new_requests": (("t3", "new_requests", "total"), ("t3", "carried_over", "total")),
}
NARRATIVE_WORDS = {
    "text_new_requests": "本年新收政府信息公开申请",
    "text_results": "办理结果总计",
    "text_carried_over": "上年结转",
    "text_carried_forward": "结转下年度继续办理",
    "text_review": "行政复议",
    "text_litigation": "行政诉讼（直接起诉 + 复议后起诉）",
}


@dataclass
class NarrativeCheck:
    """A figure the text states, against the tables: a finding of its own kind."""

    rule: str
    status: str  # pass | fail | uncertain
    stated: float
    table_value: float | None
    cells: list[str]
    section: int
    quote: str
    message: str = ""

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _cell(tables: dict, ref: tuple[str, str, str]):
    return tables.get(ref[0], {}).get(ref[1], {}).get(ref[2], "absent")


def _table_sum(tables: dict, refs) -> tuple[float | None, bool]:
    """The sum of the cells (None when one was not read) and whether a part is blank."""
    values = [_cell(tables, r) for r in refs]
    if any(v == "absent" for v in values):
        return None, False
    return float(sum(v or 0 for v in values)), any(v is None for v in values)


def check_narrative(report: ParsedReport) -> list[NarrativeCheck]:
    """Every narrative rule the text and the tables allow, passed or not.

    A rule passes when any figure the text states for it equals the table (a report may
    state the region's figure and its own); otherwise it fails, or is ``uncertain`` when
    the table leaves the cell blank. The fee rule is softer: 信息处理费 is one of the
    行政事业性收费 an agency collects, so table 2's amount (万元) cannot be below it."""
    out: list[NarrativeCheck] = []
    by_rule: dict[str, list[dict]] = {}
    for statement in report.stated:
        by_rule.setdefault(statement["rule"], []).append(statement)
    for rule, statements in by_rule.items():
        if rule == "text_fee":
            out += _fee_check(report, statements[0])
            continue
        refs = NARRATIVE_CELLS.get(rule)
        if refs is None:
            continue
        value, blank = _table_sum(report.tables, refs)
        if value is None:
            continue
        alternatives = {value}
        if rule in NARRATIVE_ALSO:
            also, _ = _table_sum(report.tables, NARRATIVE_ALSO[rule])
            if also is not None:
                alternatives.add(also)
        cells = [".".join(r) for r in refs]
        hit = next((s for s in statements if s["value"] in alternatives), None)
        if hit is not None:
            out.append(
                NarrativeCheck(
                    rule, "pass", hit["value"], value, cells, hit["section"], hit["quote"]
                )
            )
            continue
        first = statements[0]
        stated = "、".join(f"{s['value']:g}" for s in statements)
        out.append(
            NarrativeCheck(
                rule,
                "uncertain" if blank else "fail",
                first["value"],
                value,
                cells,
                first["section"],
                first["quote"],
                f"the text states {NARRATIVE_WORDS[rule]} {stated} 件; the table gives {value:g}"
                + (" (with blank cells)" if blank else ""),
            )
        )
    return out


def _fee_check(report: ParsedReport, statement: dict) -> list[NarrativeCheck]:
    fee = statement["value"]
    ref = ("t2", "fees", "amount_10k_yuan")
    amount = _cell(report.tables, ref)
    if not fee or amount == "absent" or amount is None:
        return []
    status = "pass" if amount * 10000 + 1e-6 >= fee else "uncertain"
    return [
        NarrativeCheck(
            "text_fee",
            status,
            fee,
            float(amount),
            [".".join(ref)],
            statement["section"],
            statement["quote"],
            ""
            if status == "pass"
            else f"the text states 信息处理费 {fee:g} 元 collected, but table 2's 行政事业性收费 "
            f"amount is {amount:g} 万元 ({amount * 10000:g} 元), less than that fee alone",
        )
    ]


def narrative_findings(report: ParsedReport) -> list[NarrativeCheck]:
    """The narrative checks worth a row in ``narrative_findings`` (not passed), also kept
    in the record's ``narrative_checks``."""
    found = [c for c in check_narrative(report) if c.status != "pass"]
    report.narrative_checks = [c.to_json() for c in found]
    return found
