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

from archive.publish.labels import TABLE_NAMES, TABLE_NUMBERS, cell_key_label, short_label
from archive.store.templates import TEMPLATES, Template, template

# Finding statuses: the numbers don't add up, or the rule could not be decided.
FAIL = "fail"
NOTES = ("uncertain", "incomplete")
RULE_NAMES = {
    "t3_balance": "表三收支平衡：一＋二＝（七）总计＋四",
    "t3_results": "表三办理结果：（七）总计＝各项结果之和",
    "t3_applicants": "表三申请人：总计＝六类申请人之和",
    "t4_total": "表四：总计＝结果维持＋结果纠正＋其他结果＋尚未审结",
}
STATUS_NAMES = {
    "fail": "不符",
    "uncertain": "存疑（部分单元格空白）",
    "incomplete": "无法核对（单元格空白）",
}
# Tables the narrative sections may live in, and the columns they may use.
SECTION_TABLES = ("report_sections", "sections", "narrative_sections")
_SECTION_ORDER = ("section", "ordinal", "position", "seq", "number", "section_no", "idx")
_SECTION_HEADING = ("heading", "title", "name", "label")
# The figures a report's text states, against its tables (their own kind of finding).
NARRATIVE_TABLE = "narrative_findings"
NARRATIVE_RULES = {
    "text_new_requests": "正文所述本年新收申请数与表三“一、本年新收”",
    "text_results": "正文所述办理结果数与表三“（七）总计”",
    "text_carried_over": "正文所述上年结转数与表三“二、上年结转”",
    "text_carried_forward": "正文所述结转下年度数与表三“四、结转下年度继续办理”",
    "text_review": "正文所述行政复议数与表四“行政复议·总计”",
    "text_litigation": "正文所述行政诉讼数与表四行政诉讼总计",
    "text_fee": "正文所述信息处理费与表二行政事业性收费金额",
}
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
    }


# -- findings ------------------------------------------------------------------------


def _findings(conn: sqlite3.Connection, report_id: int, template_id: str | None) -> list[dict]:
    found = []
    rows = conn.execute(
        "select * from findings where report_id = ? order by status != 'fail', id", [report_id]
    ).fetchall()
    for number, row in enumerate(rows, start=1):
        finding = dict(row)
        try:
            keys = json.loads(finding.get("cells") or "[]")
        except ValueError:
            keys = []
        keys = [k for k in keys if isinstance(k, str)]
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


def explain(finding: dict) -> str:
    """What the parts add up to and what was printed, in words a reader can check."""
    expected, found = finding.get("expected"), finding.get("found")
    if finding.get("rule") == "t3_balance":
        if expected is None or found is None:
            return finding.get("message") or ""
        return (
            f"一＋二＝{_num(expected)}，（七）总计＋四＝{_num(found)}，"
            f"相差 {_num(abs(found - expected))}"
        )
    if expected is not None and found is not None:
        text = f"印刷的总计为 {_num(found)}，各项相加为 {_num(expected)}"
        if found != expected:
            text += f"，相差 {_diff(found, expected)}"
        return text + ("（部分项空白）" if finding.get("status") == "uncertain" else "")
    if expected is not None:
        return f"总计空白，各项相加为 {_num(expected)}"
    if found is not None:
        return f"各项均空白，印刷的总计为 {_num(found)}"
    return finding.get("message") or ""


def _num(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def _diff(found, expected) -> str:
    delta = found - expected
    return ("+" if delta > 0 else "") + _num(delta)


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
            status_name=STATUS_NAMES.get(finding.get("status") or "", finding.get("status")),
            explanation=(
                f"正文为 {_num(stated)}，表格为 {_num(table)}"
                if stated is not None and table is not None
                else finding.get("message") or ""
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
        else:
            layout = [_grid(tpl, table, cells, placed)]
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


def _grid(tpl: Template, table: str, cells: dict[str, CellView], placed: set[str]) -> dict:
    """Rows × columns, a merged group label spanning its rows (（三）不予公开 …)."""
    columns = tpl.cols(table)
    groups = {g.key: g for g in tpl.groups(table)}
    rows = tpl.rows(table)
    out = []
    for i, row in enumerate(rows):
        group = groups.get(row.group) if row.group else None
        first_of_group = group is not None and (i == 0 or rows[i - 1].group != row.group)
        span = sum(1 for r in rows if r.group == row.group) if first_of_group else 0
        keys = [f"{table}.{row.key}.{c.key}" for c in columns]
        placed.update(keys)
        out.append(
            {
                "label": short_label(row.label) if group else row.label,
                "full_label": row.label,
                "group": short_label(group.label) if first_of_group and group is not None else None,
                "group_span": span,
                "in_group": group is not None,
                "cells": [cells.get(k) or CellView(k) for k in keys],
            }
        )
    return {"columns": [c.label for c in columns], "rows": out}


def _blocks(tpl: Template, table: str, cells: dict[str, CellView], placed: set[str]) -> list:
    """Table 2 is printed as small tables, one per set of columns its rows share."""
    labels = {c.key: c.label for c in tpl.cols(table)}
    blocks: list[dict] = []
    for row in tpl.rows(table):
        columns = tpl.row_cols(table, row.key)
        if not blocks or blocks[-1]["keys"] != columns:
            blocks.append({"keys": columns, "columns": [labels[c] for c in columns], "rows": []})
        keys = [f"{table}.{row.key}.{c}" for c in columns]
        placed.update(keys)
        blocks[-1]["rows"].append(
            {
                "label": row.label,
                "full_label": row.label,
                "group": None,
                "group_span": 0,
                "in_group": False,
                "cells": [cells.get(k) or CellView(k) for k in keys],
            }
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
        rows = conn.execute(
            f'select {heading or "null"} as heading, "{text}" as text from "{table}" '
            f"where report_id = ? order by {order}",
            [report_id],
        ).fetchall()
        return [{"heading": r["heading"], "text": r["text"]} for r in rows]
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
