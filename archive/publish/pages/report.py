"""One report as a reader wants it: its tables as printed, its arithmetic, its originals.

:func:`report_page` gathers, with one connection, everything the report page shows:
the report's identity (title, agency, region, year, dates), every original it was read
from with fetch time and SHA-256, tables 二, 三 and 四 laid out by its template's rows,
groups and columns with their printed labels (:mod:`archive.store.templates`), each
finding placed on the cells it reads, the narrative sections when the archive has them,
and the same agency's other years.

A cell the report printed blank stays blank (``None`` is never shown as 0); a cell the
parser did not read at all is marked as such, so a gap in the archive never passes
for a blank in the report.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from archive.publish.labels import (
    NARRATIVE_RULES,
    NARRATIVE_STATUS_NAMES,
    PARSE_STATUS_NAMES,
    RULE_NAMES,
    SECTION_NAMES,
    STATUS_NAMES,
    T3_HEADER,
    T3_ORGANISATION_COLUMNS,
    T3_ORGANISATIONS,
    T3_RESULTS,
    T4_HEADER,
    T4_PARTS,
    TABLE_NAMES,
    TABLE_NUMBERS,
    cell_key_label,
    short_label,
)
from archive.publish.marks import cells_read, explain, marks_of, number_text
from archive.publish.review_text import correction_text, shown
from archive.store.reviews import Correction
from archive.store.templates import TEMPLATES, Template, template

# Finding statuses: the numbers don't add up, or the rule could not be decided.
FAIL = "fail"
NOTES = ("uncertain", "incomplete")
# Tables the narrative sections may live in, and the columns they may use.
SECTION_TABLES = ("report_sections", "sections", "narrative_sections")
_SECTION_ORDER = ("section", "ordinal", "position", "seq", "number", "section_no", "idx")
_SECTION_HEADING = ("heading", "title", "name", "label")
# The figures a report's text states, against its tables (their own kind of finding).
NARRATIVE_TABLE = "narrative_findings"
_SECTION_TEXT = ("text", "body", "content")


@dataclass
class CellView:
    """One cell as the page shows it."""

    key: str
    value: float | None = None
    raw: str | None = None
    read: bool = False  # the parser read this cell (blank or not)
    marks: list[int] = field(default_factory=list)  # numbers of the findings on it
    status: str | None = None  # the worst finding on it: fail > uncertain > incomplete
    total: bool = False  # the cell a rule compares its parts against
    machine: str | None = None  # "机读：扫描件识别，置信度 0.62" when OCR read it
    correction: Correction | None = None  # a person's reading of the original
    correction_text: str | None = None  # what the correction says (archive.publish.review)

    @property
    def corrected(self) -> str | None:
        """The person's value, when it stands (the parsed one is :attr:`shown`)."""
        if self.correction is None or self.correction.stale:
            return None
        return shown(self.correction.value)

    @property
    def shown(self) -> str:
        """What the report printed: the number, the dash it printed, or nothing."""
        if self.value is None:
            return (self.raw or "").strip()
        if isinstance(self.value, float) and self.value.is_integer():
            return f"{int(self.value):,}"
        return f"{self.value:,}" if isinstance(self.value, int) else str(self.value)


def report_page(conn: sqlite3.Connection, report_id: int) -> dict | None:
    """Everything the report page shows, or None when there is no such report."""
    conn.row_factory = sqlite3.Row
    regions = _has_table(conn, "regions")
    report = conn.execute(
        "select r.*, "
        + (
            "g.full_name as region_name, g.province, g.city, g.district from reports r "
            "left join regions g on g.region_code = r.region_code "
            if regions
            else "r.region as region_name, null as province, null as city, null as district "
            "from reports r "
        )
        + "where r.id = ?",
        [report_id],
    ).fetchone()
    if report is None:
        return None
    report = dict(report)
    cells = {
        f"{t}.{r}.{c}": CellView(f"{t}.{r}.{c}", v, raw, True)
        for t, r, c, v, raw in conn.execute(
            "select table_key, row_key, col_key, value, raw from cells where report_id = ?",
            [report_id],
        )
    }
    findings = _findings(conn, report_id, report.get("template"))
    narrative = _narrative(conn, report_id, report.get("template"), len(findings))
    _place_findings(findings, cells)
    _place_findings(narrative, cells, status="narrative")
    for key, mark in marks_of(conn, [report_id]).get(report_id, {}).items():
        if key in cells:
            cells[key].machine = mark.machine_text
        if mark.correction is not None:  # a cell the parser missed may be corrected too
            cell = cells.setdefault(key, CellView(key))
            cell.correction, cell.correction_text = (
                mark.correction,
                correction_text(mark.correction),
            )
    return {
        "report": report,
        "originals": _originals(conn, report),
        "tables": _tables(report.get("template"), cells),
        "findings": findings,
        "fails": [f for f in findings if f["status"] == FAIL],
        "notes": [f for f in findings if f["status"] != FAIL],
        "narrative": narrative,
        "sections": sections(conn, report_id),
        "timeline": _timeline(conn, report),
        "newer": _newer_version(conn, report_id),
        "previous_version": report.get("previous_id"),
        "parse_status_name": PARSE_STATUS_NAMES.get(
            report.get("parse_status") or "", report.get("parse_status") or "—"
        ),
    }


# -- findings ------------------------------------------------------------------------


def _findings(conn: sqlite3.Connection, report_id: int, template_id: str | None) -> list[dict]:
    found = []
    rows = conn.execute(
        "select * from findings where report_id = ? order by status != 'fail', id", [report_id]
    ).fetchall()
    for number, row in enumerate(rows, start=1):
        finding = dict(row)
        keys = cells_read(finding, template_id)
        finding.update(
            number=number,
            keys=keys,
            cell_names=[cell_key_label(k, template_id) for k in keys],
            rule_name=RULE_NAMES.get(finding.get("rule") or "", finding.get("rule") or ""),
            status_name=STATUS_NAMES.get(finding.get("status") or "", finding.get("status")),
            explanation=explain(finding),
        )
        found.append(finding)
    return found


_RANK = {"fail": 4, "narrative": 3, "uncertain": 2, "incomplete": 1}


def _place_findings(
    findings: list[dict], cells: dict[str, CellView], status: str | None = None
) -> None:
    """Mark every cell a finding reads; the total it checks is the last cell it lists
    (both sides are sums in the balance rule: no single total there). ``status``
    overrides the findings' own (the narrative's are marked as such)."""
    for finding in findings:
        keys = finding["keys"]
        for i, key in enumerate(keys):
            cell = cells.setdefault(key, CellView(key))
            cell.marks.append(finding["number"])
            mark = status or finding["status"]
            if _RANK.get(mark, 0) > _RANK.get(cell.status or "", 0):
                cell.status = mark
            if i == len(keys) - 1 and finding.get("rule") != "t3_balance" and status is None:
                cell.total = True


def _narrative(
    conn: sqlite3.Connection, report_id: int, template_id: str | None, start: int
) -> list[dict]:
    """The report's text against its tables, when the archive checks it (the table
    ``narrative_findings``): each with the sentence, the figure stated, the table's."""
    if not _has_table(conn, NARRATIVE_TABLE):
        return []
    found = []
    rows = conn.execute(
        f"select * from {NARRATIVE_TABLE} where report_id = ? order by status != 'fail', id",
        [report_id],
    ).fetchall()
    for number, row in enumerate(rows, start=start + 1):
        finding = dict(row)
        try:
            keys = [k for k in json.loads(finding.get("cells") or "[]") if isinstance(k, str)]
        except (ValueError, TypeError):
            keys = []
        stated, table = finding.get("stated"), finding.get("table_value")
        finding.update(
            number=number,
            keys=keys,
            cell_names=[cell_key_label(k, template_id) for k in keys],
            rule_name=NARRATIVE_RULES.get(finding.get("rule") or "", finding.get("rule") or ""),
            status_name=NARRATIVE_STATUS_NAMES.get(finding.get("status") or "", "存疑"),
            explanation=(
                f"正文为 {number_text(stated)}，表格为 {number_text(table) or '空白'}"
                if stated is not None
                else ""
            ),
        )
        found.append(finding)
    return found


# -- the tables as printed ---------------------------------------------------------


def _tables(template_id: str | None, cells: dict[str, CellView]) -> list[dict]:
    """Tables 二, 三, 四 in the report's template; cells outside it listed after."""
    tpl = template(template_id) if template_id in TEMPLATES else None
    tables = []
    placed: set[str] = set()
    for table in ("t2", "t3", "t4"):
        if tpl is None:
            layout = None
        elif table == "t2":
            layout = _blocks(tpl, table, cells, placed)
        elif table == "t3":
            layout = [_t3(tpl, cells, placed)]
        else:
            layout = [_t4(tpl, cells, placed)]
        extra = [
            cell
            for key, cell in sorted(cells.items())
            if key.startswith(table + ".") and key not in placed
        ]
        tables.append(
            {
                "key": table,
                "number": TABLE_NUMBERS[table],
                "name": TABLE_NAMES[table],
                "blocks": layout,
                "extra": [{"label": cell_key_label(c.key, template_id), "cell": c} for c in extra],
                "read": any(k.startswith(table + ".") and c.read for k, c in cells.items()),
            }
        )
    return tables


# A printed table is header rows over body rows; each row starts with its label cells.
# A header or label cell: {"label", "colspan", "rowspan", "kind", "title"}; kind is the
# class the page gives it (nb-corner, nb-group, nb-label …).


def _head(label: str, kind: str, colspan: int = 1, rowspan: int = 1, title: str = "") -> dict:
    return {"label": label, "kind": kind, "colspan": colspan, "rowspan": rowspan, "title": title}


def _cells_of(keys: list[str], cells: dict[str, CellView], placed: set[str]) -> list[CellView]:
    placed.update(keys)
    return [cells.get(k) or CellView(k) for k in keys]


def _t3(tpl: Template, cells: dict[str, CellView], placed: set[str]) -> dict:
    """Table 三 as printed: 申请人情况 over 自然人, 法人或其他组织 (over its five columns)
    and 总计; the outcome rows under 三、本年度办理结果, each group (（三）不予公开 …)
    spanning its rows. Three label columns: 三、, the group, the row."""
    columns = tpl.cols("t3")
    keys = [c.key for c in columns]
    organisations = list(T3_ORGANISATION_COLUMNS)
    printed = keys == ["natural_person", *organisations, "total"]
    labels = {c.key: c.label for c in columns}
    if printed:
        header = [
            [_head("", "nb-corner", 3, 3), _head(T3_HEADER, "nb-colgroup", len(keys))],
            [
                _head(labels["natural_person"], "nb-col", rowspan=2),
                _head(T3_ORGANISATIONS, "nb-colgroup", len(organisations)),
                _head(labels["total"], "nb-col", rowspan=2),
            ],
            [_head(labels[k], "nb-col") for k in organisations],
        ]
    else:  # a layout of its own: its columns, flat
        header = [[_head("", "nb-corner", 3)] + [_head(labels[k], "nb-col") for k in keys]]
    groups = {g.key: g for g in tpl.groups("t3")}
    rows = tpl.rows("t3")
    outcomes = set(tpl.result_rows()) | {"results_total"}
    out = []
    for i, row in enumerate(rows):
        heads = []
        group = groups.get(row.group) if row.group else None
        if row.key in outcomes:
            if i == 0 or rows[i - 1].key not in outcomes:
                span = sum(1 for r in rows if r.key in outcomes)
                heads.append(_head(T3_RESULTS, "nb-group nb-results", rowspan=span))
            if group is not None:
                if i == 0 or rows[i - 1].group != row.group:
                    span = sum(1 for r in rows if r.group == row.group)
                    heads.append(_head(short_label(group.label), "nb-group", rowspan=span))
                heads.append(_head(short_label(row.label), "nb-label", title=row.label))
            else:
                heads.append(_head(row.label, "nb-label", 2))
        else:
            heads.append(_head(row.label, "nb-label", 3))
        out.append(
            {"heads": heads, "cells": _cells_of([f"t3.{row.key}.{k}" for k in keys], cells, placed)}
        )
    return {"header": header, "rows": out}


def _t4(tpl: Template, cells: dict[str, CellView], placed: set[str]) -> dict:
    """Table 四 as printed: one row of 15 numbers — 行政复议 (5 columns), then 行政诉讼 in
    two halves, 未经复议直接起诉 and 复议后起诉 (5 each)."""
    rows = [r.key for r in tpl.rows("t4")]
    columns = tpl.cols("t4")
    if rows != list(T4_PARTS):  # a layout of its own: rows × columns
        header = [[_head("", "nb-corner")] + [_head(c.label, "nb-col") for c in columns]]
        return {
            "header": header,
            "rows": [
                {
                    "heads": [_head(r.label, "nb-label")],
                    "cells": _cells_of([f"t4.{r.key}.{c.key}" for c in columns], cells, placed),
                }
                for r in tpl.rows("t4")
            ],
        }
    width = len(columns)
    review, *litigation = rows
    header = [
        [
            _head(T4_PARTS[review], "nb-colgroup", width, 2),
            _head(T4_HEADER, "nb-colgroup", width * len(litigation)),
        ],
        [_head(T4_PARTS[r], "nb-colgroup", width) for r in litigation],
        [_head(c.label, "nb-col") for _ in rows for c in columns],
    ]
    keys = [f"t4.{r}.{c.key}" for r in rows for c in columns]
    return {"header": header, "rows": [{"heads": [], "cells": _cells_of(keys, cells, placed)}]}


def _blocks(tpl: Template, table: str, cells: dict[str, CellView], placed: set[str]) -> list:
    """Table 2 is printed as small tables, one per set of columns its rows share."""
    labels = {c.key: c.label for c in tpl.cols(table)}
    blocks: list[dict] = []
    for row in tpl.rows(table):
        columns = tpl.row_cols(table, row.key)
        if not blocks or blocks[-1]["keys"] != columns:
            header = [[_head("", "nb-corner")] + [_head(labels[c], "nb-col") for c in columns]]
            blocks.append({"keys": columns, "header": header, "rows": []})
        keys = [f"{table}.{row.key}.{c}" for c in columns]
        blocks[-1]["rows"].append(
            {"heads": [_head(row.label, "nb-label")], "cells": _cells_of(keys, cells, placed)}
        )
    return blocks


# -- originals, sections, the agency's other years ------------------------------------


def _originals(conn: sqlite3.Connection, report: dict) -> list[dict]:
    """Every original of the report, primary first, with fetch time and whether the
    bytes are in this archive (a data snapshot keeps URLs and SHA-256, not bodies)."""
    rows = conn.execute(
        "select o.capture_id, o.sha256, coalesce(o.url, c.url) as url, o.format, o.role, "
        "c.fetched_at, c.size, c.content_type, c.final_url, "
        "exists(select 1 from captures b where b.id = coalesce(c.revisit_of, c.id) "
        "and b.body is not null) as has_body "
        "from report_originals o left join captures c on c.id = o.capture_id "
        "where o.report_id = ? order by o.role != 'primary', o.capture_id",
        [report["id"]],
    ).fetchall()
    originals = [dict(r) for r in rows]
    if not originals and report.get("capture_id") is not None:
        row = conn.execute(
            "select id as capture_id, sha256, url, fetched_at, size, content_type, final_url, "
            "body is not null as has_body from captures where id = ?",
            [report["capture_id"]],
        ).fetchone()
        if row:
            originals = [{**dict(row), "format": report.get("format"), "role": "primary"}]
    return originals


def sections(conn: sqlite3.Connection, report_id: int) -> list[dict] | None:
    """The report's narrative sections (一、总体情况 …) when the archive has a table of
    them; None when it has none (then the page shows the full text instead)."""
    names = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    for table in SECTION_TABLES:
        if table not in names:
            continue
        columns = [r[1] for r in conn.execute(f'pragma table_info("{table}")')]
        text = next((c for c in _SECTION_TEXT if c in columns), None)
        if "report_id" not in columns or text is None:
            continue
        heading = next((c for c in _SECTION_HEADING if c in columns), None)
        order = next((c for c in _SECTION_ORDER if c in columns), "rowid")
        key = "section_key" if "section_key" in columns else "null"
        rows = conn.execute(
            f'select {heading or "null"} as heading, {key} as section_key, "{text}" as text '
            f'from "{table}" where report_id = ? order by {order}',
            [report_id],
        ).fetchall()
        # A section printed without a heading (the text before 一、) is named by its kind.
        return [
            {"heading": r["heading"] or SECTION_NAMES.get(r["section_key"]), "text": r["text"]}
            for r in rows
        ]
    return None


def _timeline(conn: sqlite3.Connection, report: dict) -> dict:
    """The same agency's reports (same registry row, same name), one per year, with
    the years before and after this one a click away."""
    superseded = "t.superseded_by" if _has_table(conn, "report_t3") else "null"
    join = "left join report_t3 t on t.report_id = r.id " if superseded != "null" else ""
    rows = conn.execute(
        f"select r.id, r.year, r.title, r.published, {superseded} as superseded_by "
        f"from reports r {join}where r.site_id is ? and r.agency is ? order by r.year, r.id",
        [report.get("site_id"), report.get("agency")],
    ).fetchall()
    current = [dict(r) for r in rows if r["superseded_by"] is None or r["id"] == report["id"]]
    year = report.get("year")
    earlier = [
        r for r in current if year is not None and r["year"] is not None and r["year"] < year
    ]
    later = [r for r in current if year is not None and r["year"] is not None and r["year"] > year]
    return {
        "reports": current,
        "previous": earlier[-1] if earlier else None,
        "next": later[0] if later else None,
        "same_year": [r for r in current if r["year"] == year and r["id"] != report["id"]],
    }


def _newer_version(conn: sqlite3.Connection, report_id: int) -> int | None:
    if not _has_table(conn, "report_t3"):
        return None
    row = conn.execute(
        "select superseded_by from report_t3 where report_id = ?", [report_id]
    ).fetchone()
    return row[0] if row else None


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where name = ?", [name]).fetchone() is not None
