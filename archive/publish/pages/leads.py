"""Leads: the year's largest changes across agencies — what a journalist looks for first.

For one figure (new requests, 不予公开, reviews, lawsuits; :mod:`.figures`) and one
year, every agency with a current report in that year and the year before is compared
with itself, and the largest changes come first:

* **absolute** (``sort=diff``, the default): by the size of the change, up or down;
* **relative** (``sort=pct``): by the percentage, counting only agencies whose figure
  was at least ``min_base`` (default 10) the year before — from 1 to 4 is +300 % and
  no story, and from 0 there is no percentage at all (such a change is "新增", listed
  by its size in the absolute ranking).

``direction=up|down`` keeps one direction; ``region=`` (a place code) keeps one region
and everything under it. A blank figure is no figure: an agency whose report left it
blank in either year is not compared.

A change computed from a number a failing rule reads (不符) is listed, marked, with the
rule, and its change struck through: the misprint, not the agency, may have moved
(``omit_failing=1`` leaves such changes out). Each line links the two reports, the
report's original and the agency's year over year; the report's failing rules are
counted beside it.

Of several current reports of one agency in one year, the one fully read is taken,
then the newest.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from datasette import Response

from archive.publish.marks import FAILING
from archive.publish.pages.errors import page as error_page
from archive.publish.pages.figures import (
    BY_KEY,
    Figure,
    check_of,
    checks_of,
    csv_headers,
    csv_text,
    note,
    plain,
)
from archive.publish.pages.regions import ReaderError, archive_database, page_url, place

# The figures a lead is about (fees change with the template and are rarely printed).
MEASURES = ("new_requests", "withheld", "review", "lawsuits")
DEFAULT_ROWS = 50
MAX_ROWS = 500
DEFAULT_MIN_BASE = 10


@dataclass
class Options:
    """What the reader asked for."""

    measure: str = "new_requests"
    year: int | None = None
    sort: str = "diff"
    direction: str = "both"
    min_base: int = DEFAULT_MIN_BASE
    region: str | None = None
    omit_failing: bool = False
    rows: int = DEFAULT_ROWS

    @classmethod
    def from_args(cls, args) -> Options:
        measure = args.get("measure") or "new_requests"
        if measure not in MEASURES:
            names = "、".join(f"{m}（{BY_KEY[m].label}）" for m in MEASURES)
            raise ReaderError(f"没有「{measure}」这一项。可选：{names}。")
        sort = args.get("sort") or "diff"
        if sort not in ("diff", "pct"):
            raise ReaderError("sort 只能是 diff（按增减的件数）或 pct（按增减的百分比）。")
        direction = args.get("direction") or "both"
        if direction not in ("both", "up", "down"):
            raise ReaderError(
                "direction 只能是 both（增减都列）、up（只列增加）或 down（只列减少）。"
            )
        region = (args.get("region") or "").strip() or None
        if region is not None and not region.isdigit():
            raise ReaderError(f"region 应为地区代码（六位数字，如 410700），而不是「{region}」。")
        return cls(
            measure=measure,
            year=_number(args.get("year"), "year（年度）", None, 1990, 2100),
            sort=sort,
            direction=direction,
            min_base=_number(args.get("min_base"), "min_base（上年至少）", DEFAULT_MIN_BASE, 1),
            region=region,
            omit_failing=args.get("omit_failing") in ("1", "on", "true"),
            rows=_number(args.get("rows"), "rows（行数）", DEFAULT_ROWS, 1, MAX_ROWS),
        )


def _number(text, name: str, default, low: int, high: int | None = None):
    if text in (None, ""):
        return default
    if not str(text).isdigit() or int(text) < low or (high is not None and int(text) > high):
        limit = f"{low}–{high}" if high is not None else f"不小于 {low}"
        raise ReaderError(f"{name} 应为整数（{limit}），而不是「{text}」。")
    return int(text)


def _years(conn: sqlite3.Connection, table: str) -> list[int]:
    return [y for (y,) in conn.execute(f"select distinct year from {table} where year is not null")]


def _preferred(table: str, alias: str) -> str:
    """Is row ``alias`` its agency's report of its year (SQL)? Of several current ones,
    the one fully read, then the newest. Looked up on the (site_id, year) index, whose
    entries carry the report id: an agency with one report a year costs no table read."""
    ok = "(x.parse_status = 'ok')"
    mine = f"({alias}.parse_status = 'ok')"
    return (
        f"not exists (select 1 from {table} x where x.site_id = {alias}.site_id "
        f"and x.year = {alias}.year and x.report_id != {alias}.report_id "
        f"and x.agency = {alias}.agency and x.superseded_by is null "
        f"and ({ok} > {mine} or ({ok} = {mine} and x.report_id > {alias}.report_id)))"
    )


def leads(conn: sqlite3.Connection, options: Options) -> dict:
    """The largest changes of one figure from the year before, across agencies."""
    conn.row_factory = sqlite3.Row
    figure = BY_KEY[options.measure]
    years = sorted(_years(conn, figure.table))
    year = options.year if options.year is not None else (years[-1] if years else None)
    region_name = None
    where, scope_args = "", []
    if options.region:
        found = place(conn, options.region)
        region_name = "".join(t["name"] for t in found.trail if t["name"]) + found.name
        marks = ",".join("?" * len(found.codes))
        where, scope_args = f" and {{a}}.region_code in ({marks})", found.codes
    base = {
        "measure": figure.key,
        "label": figure.label,
        "cells": figure.cells,
        "measures": [{"key": m, "label": BY_KEY[m].label} for m in MEASURES],
        "years": years,
        "year": year,
        "region": options.region,
        "region_name": region_name,
        "rows": [],
        "compared": 0,
    }
    if year is None:
        return {**base, "empty": "存档里还没有这一项的数字。"}
    table = figure.table
    after, before = figure.value_sql("c"), figure.value_sql("p")
    diff = f"({after}) - ({before})"
    failing = " or ".join(
        f"coalesce(substr({check}, 1, 2), '') = '{FAILING}'"
        for side in ("c", "p")
        for check in figure.check_sql(side)
    )
    filters = [f"({after}) is not null", f"({before}) is not null", f"{diff} != 0"]
    if options.direction == "up":
        filters.append(f"{diff} > 0")
    elif options.direction == "down":
        filters.append(f"{diff} < 0")
    if options.omit_failing:
        filters.append(f"not ({failing})")
    if options.sort == "pct":
        filters.append(f"({before}) >= {int(options.min_base)}")
        order = f"abs(1.0 * ({diff}) / ({before})) desc, abs({diff}) desc"
    else:
        order = f"abs({diff}) desc, ({after}) desc"
    check_columns = ", ".join(
        f"{check} as {prefix}{figure.key}_check_{i}"
        for side, prefix in (("c", ""), ("p", "p_"))
        for i, check in enumerate(figure.check_sql(side))
    )
    # Each agency's report of the year (c), joined to its report of the year before (p)
    # through the (site_id, year) index: a self-join of two years' rows on the agency
    # without it compared every pair (54 s at 100,000 reports).
    sql = (
        f"select c.report_id, c.site_id, c.agency, c.region_code, c.capture_id, "
        f"p.report_id as p_report_id, {after} as {figure.key}, {before} as p_{figure.key}, "
        f"{check_columns}, ({failing}) as failing, count(*) over () as compared "
        f"from {table} c join {table} p on p.site_id = c.site_id and p.year = c.year - 1 "
        f"and p.agency = c.agency and p.superseded_by is null "
        f"where c.year = ? and c.superseded_by is null and c.site_id is not null "
        f"and c.agency is not null{where.format(a='c')} and {' and '.join(filters)} "
        f"and {_preferred(table, 'c')} and {_preferred(table, 'p')} "
        f"order by {order} limit {options.rows}"
    )
    rows = conn.execute(sql, [year, *scope_args]).fetchall()
    out = [_lead(r, figure) for r in rows]
    _add_context(conn, out)
    return {
        **base,
        "rows": out,
        "compared": rows[0]["compared"] if rows else 0,
        "empty": None if rows else _why_empty(year, years, options),
        "options": {
            "sort": options.sort,
            "direction": options.direction,
            "min_base": options.min_base,
            "omit_failing": options.omit_failing,
            "rows": options.rows,
        },
    }


def _why_empty(year: int, years: list[int], options: Options) -> str:
    if year not in years:
        return f"存档里没有 {year} 年度的报告。请选另一年度。"
    if year - 1 not in years:
        return f"存档里没有 {year - 1} 年度的报告，{year} 年度无从比较。请选另一年度。"
    if options.sort == "pct":
        return (
            f"没有上年至少 {options.min_base} 件、两年都有数字且有变化的机关。"
            "可以降低「上年至少」，或按增减件数排列。"
        )
    return "没有两年都有数字且有变化的机关（或都已按条件排除）。"


def _lead(row: sqlite3.Row, figure: Figure) -> dict:
    # Both are numbers: the query compares only agencies with the figure in both years.
    after: float = row[figure.key]
    before: float = row[f"p_{figure.key}"]
    previous_checks = [
        row[f"p_{figure.key}_check_{i}"]
        for i in range(len(figure.columns))
        if row[f"p_{figure.key}_check_{i}"]
    ]
    diff = after - before
    return {
        "report_id": row["report_id"],
        "previous_id": row["p_report_id"],
        "site_id": row["site_id"],
        "agency": row["agency"],
        "region_code": row["region_code"],
        "capture_id": row["capture_id"],
        "value": plain(after),
        "previous": plain(before),
        "note": note(checks_of(row, figure), after),
        "previous_note": note(previous_checks, before),
        "diff": plain(diff),
        "pct": round(diff / before * 100, 1) if before else None,
        "failing": bool(row["failing"]),
    }


def _add_context(conn: sqlite3.Connection, leads: list[dict]) -> None:
    """Region names and the report's failing rules, for the lines shown only."""
    if not leads:
        return
    ids = [lead["report_id"] for lead in leads]
    marks = ",".join("?" * len(ids))
    fails = dict(
        conn.execute(
            f"select report_id, count(*) from findings where status = 'fail' "
            f"and report_id in ({marks}) group by report_id",
            ids,
        ).fetchall()
    )
    codes = sorted({lead["region_code"] for lead in leads if lead["region_code"]})
    names = dict(
        conn.execute(
            f"select region_code, full_name from regions where region_code in "
            f"({','.join('?' * len(codes))})",
            codes,
        ).fetchall()
    )
    for lead in leads:
        lead["fails"] = fails.get(lead["report_id"], 0)
        lead["region"] = names.get(lead["region_code"])


ROUTE_PATTERN = r"^/(?P<database>[^/]+)/-/leads(?P<format>\.json|\.csv)?$"


def to_csv(data: dict) -> str:
    """The leads as CSV with Chinese headers, each value's check beside it; a change
    computed from a number marked 不符 is left empty (not to be quoted), as the
    comparison's CSV does, and 不可引用 says why."""
    year = data["year"]
    header = ["名次", "机关", "地区", "地区代码", f"{year - 1}报告编号", f"{year}报告编号"]
    header += [f"{year - 1}{data['label']}", f"{year - 1}核对", f"{year}{data['label']}"]
    header += [f"{year}核对", "增减", "增减%", "可否引用", "本年报告不符项数"]
    rows = [
        [
            rank,
            r["agency"],
            r["region"],
            r["region_code"],
            r["previous_id"],
            r["report_id"],
            r["previous"],
            check_of({"note": r["previous_note"]}),
            r["value"],
            check_of({"note": r["note"]}),
            None if r["failing"] else r["diff"],
            None if r["failing"] or r["pct"] is None else r["pct"],
            "不可引用：由不符勾稽关系的数字算出" if r["failing"] else "",
            r["fails"],
        ]
        for rank, r in enumerate(data["rows"], 1)
    ]
    return csv_text(header, rows)


async def leads_view(datasette, request):
    """The leads page, HTML, JSON or CSV; a reader's mistake is a Chinese 4xx."""
    name = request.url_vars["database"]
    db = await archive_database(datasette, name)
    if db is None:
        return await error_page(datasette, request, f"没有名为「{name}」的存档。", 404)
    try:
        options = Options.from_args(request.args)
        data = await db.execute_fn(lambda conn: leads(conn, options))
    except ReaderError as mistake:
        return await error_page(datasette, request, mistake.message, mistake.status)
    if request.url_vars.get("format") == ".json":
        return Response.json({"ok": True, **data})
    if request.url_vars.get("format") == ".csv":
        if data["year"] is None:
            return await error_page(datasette, request, data["empty"], 404)
        filename = f"nianbao-年度变动线索-{data['label']}-{data['year']}.csv"
        return Response(
            to_csv(data),
            content_type="text/csv; charset=utf-8",
            headers=csv_headers(filename),
        )
    args = {k: request.args.get(k) for k in request.args}
    html = await datasette.render_template(
        "nianbao_leads.html",
        {"database": name, "data": data, "args": args, "page_url": page_url},
        request=request,
        view_name="nianbao_leads",
    )
    return Response.html(html)
