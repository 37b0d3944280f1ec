"""The key figures a reader compares across agencies, read from the wide tables with their checks.

A region's page and the leads page show a few numbers of each report side by side: new
requests, granted, 不予公开, reviews, lawsuits, fees. Each is one number of a wide table
(:mod:`archive.publish.views`), or two added up, and each travels with its *check* — 不符
when a failing rule reads it, 机读 when OCR read it (:mod:`archive.publish.marks`) — so
that no page quotes it unmarked.

A figure added up from several printed cells is blank when any of them is blank: a
number computed from a blank is a number the report did not print. 不予公开 is the one
exception the wide table already makes (``report_t3.withheld`` adds its eight rows,
blanks as 0); here it is blank when all eight are blank, since then nothing was printed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from urllib.parse import quote

from archive.publish.marks import FAILING, MACHINE_READ, SEPARATOR
from archive.publish.views import CHECK, t3_columns

_WITHHELD_ROWS = [c.row_key for c in t3_columns() if c.row_key.startswith("withheld_")]


@dataclass(frozen=True)
class Figure:
    """One key figure: its Chinese label and where it is read."""

    key: str
    label: str
    table: str  # the wide table it is read from (its alias in SQL is the table's own name)
    columns: tuple[str, ...]  # the numbers added up
    cells: str  # what it is, in the report's printed words (for the column's title)
    blank_if_all_blank: bool = False

    def value_sql(self, alias: str) -> str:
        """The figure in SQL over ``alias`` (a row of its wide table)."""
        if self.key == "withheld":
            parts = ", ".join(f"{alias}.{c}" for c in _WITHHELD_ROWS)
            return f"(case when coalesce({parts}) is null then null else {alias}.withheld end)"
        return " + ".join(f"{alias}.{c}" for c in self.columns)

    def check_sql(self, alias: str) -> list[str]:
        """Its checks in SQL: one column per number it adds up."""
        return [f"{alias}.{c}{CHECK}" for c in self.columns]


FIGURES = (
    Figure(
        "new_requests",
        "新收申请",
        "report_t3",
        ("new_requests",),
        "表三 一、本年新收政府信息公开申请数量（总计）",
    ),
    Figure("granted", "予以公开", "report_t3", ("granted",), "表三 （一）予以公开（总计）"),
    Figure(
        "withheld",
        "不予公开",
        "report_t3",
        ("withheld",),
        "表三 （三）不予公开，八项相加（总计）",
    ),
    Figure("review", "行政复议", "report_t4", ("review_total",), "表四 行政复议·总计"),
    Figure(
        "lawsuits",
        "行政诉讼",
        "report_t4",
        ("litigation_direct_total", "litigation_after_review_total"),
        "表四 行政诉讼：未经复议直接起诉·总计＋复议后起诉·总计",
    ),
    Figure(
        "fees",
        "收费（万元）",
        "report_t2",
        ("fees_amount_10k_yuan",),
        "表二 行政事业性收费·本年收费金额（万元，2021 年版表格）",
    ),
)
BY_KEY = {f.key: f for f in FIGURES}
ALIASES = {"report_t3": "t3", "report_t4": "t4", "report_t2": "t2"}


def select_sql(figures=FIGURES) -> str:
    """The figures and their checks as SQL columns over the aliases t3, t4, t2."""
    parts = []
    for figure in figures:
        alias = ALIASES[figure.table]
        parts.append(f"{figure.value_sql(alias)} as {figure.key}")
        parts += [
            f"{sql} as {figure.key}_check_{i}" for i, sql in enumerate(figure.check_sql(alias))
        ]
    return ", ".join(parts)


def checks_of(row, figure: Figure) -> list[str]:
    """The non-empty checks of one figure in a row selected with :func:`select_sql`."""
    found = [row[f"{figure.key}_check_{i}"] for i in range(len(figure.columns))]
    return [c for c in found if c]


def note(checks: list[str], value) -> dict | None:
    """What a page shows beside a figure: 不符 (at least one number it reads fails a rule:
    not to be quoted as it stands) or 机读, with the checks in full as its title. A blank
    figure has nothing to quote and no mark."""
    if value is None or not checks:
        return None
    text = SEPARATOR.join(dict.fromkeys(checks))
    if any(c.startswith(FAILING) for c in checks):
        title = "此数不符勾稽关系（照印刷，至少一个数有误，引用前请核对原件）：" + text
        return {"kind": "fail", "tag": FAILING, "title": title, "check": text}
    confidence = [c.rsplit("置信度", 1)[1].strip() for c in checks if "置信度" in c]
    tag = MACHINE_READ + (f" {min(confidence)}" if confidence else "")
    return {"kind": "machine", "tag": tag, "title": text, "check": text}


def plain(value) -> float | int | None:
    """A number as JSON and the pages give it: 3 for 3.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def csv_text(header: list[str], rows: list[list]) -> str:
    """A CSV table; None as an empty cell, 3.0 as 3."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else plain(v) for v in row])
    return out.getvalue()


def csv_headers(filename: str) -> dict[str, str]:
    """The download's name, Chinese kept (RFC 5987)."""
    return {"content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}


def check_of(figure: dict) -> str:
    """A figure's check as a CSV cell: 不符：… / 机读：…, or empty."""
    note = figure.get("note")
    return note["check"] if note else ""
