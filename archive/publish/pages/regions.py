"""Finding a county: every region down to its counties, and a region's agencies side by side.

A region is a *place code* of GB/T 2260 (``410000`` 河南省 → ``410700`` 新乡市 →
``410711`` 牧野区); its reports are those whose ``region_code`` is the place itself or
lies under it (``regions.province_code`` / ``city_code``). Three pages:

* ``/<db>/-/regions`` — the provinces (and codes no province holds), with report counts;
  ``?region=新乡市`` (a name or a code) goes straight to that region's page, or lists
  the places a shared name could mean.
* ``/<db>/-/regions/<code>`` — a region: its sub-regions (a province's cities, a
  city's — or a municipality's — counties and districts) and its own level (本级), with
  the number of reports each has in each year, every number a link to that year's list.
* ``/<db>/-/regions/<code>/<year>`` — a region-year: every agency's current report of
  the region and its sub-regions in that year, with its key figures
  (:mod:`.figures`: new requests, granted, 不予公开, reviews, lawsuits, fees), each marked
  不符 or 机读 as its check says, the report's failing rules counted, and links to the
  report, its original and its agency's year over year. ``basis=steady&from=&to=`` lists
  only the agencies behind a year-over-year sum: those with a report in every year from
  ``from`` to ``to`` (the comparison's own rule).

Each page is ``.json`` too; a bad parameter is a Chinese 400 (JSON for ``.json``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from urllib.parse import urlencode

from datasette import Response

from archive.publish.pages.errors import page as error_page
from archive.publish.pages.figures import (
    ALIASES,
    FIGURES,
    check_of,
    checks_of,
    csv_headers,
    csv_text,
    note,
    plain,
    select_sql,
)
from archive.store.regions import MUNICIPALITIES

PAGE_SIZE = 100
# What the region-year list sorts by: the figures, and these.
SORTS = {
    "agency": ("机关", "r.agency", "asc"),
    "region": ("地区", "r.region_code", "asc"),
    "fails": (
        "不符项数",
        "(select count(*) from findings f where f.report_id = r.id and f.status = 'fail')",
        "desc",
    ),
}
CURRENT = "not exists (select 1 from reports n where n.previous_id = r.id)"


class ReaderError(Exception):
    """A reader's bad request: its status and what to do, in Chinese."""

    def __init__(self, message: str, status: int = 400, choices: list | None = None):
        super().__init__(message)
        self.message, self.status, self.choices = message, status, choices or []


@dataclass
class Place:
    """A region by its place code, with the region codes of the reports under it."""

    code: str
    name: str
    level: str  # province, city, district, or other (a code outside the list)
    province: tuple[str, str] | None = None  # (code, name) of the levels above it
    city: tuple[str, str] | None = None
    members: list[sqlite3.Row] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [m["region_code"] for m in self.members]

    @property
    def trail(self) -> list[dict]:
        """The levels above, for the breadcrumb."""
        return [{"code": lv[0], "name": lv[1]} for lv in (self.province, self.city) if lv and lv[0]]


def place(conn: sqlite3.Connection, code: str) -> Place:
    """The place of a code, with its member region codes; 404 when nothing is there."""
    conn.row_factory = sqlite3.Row
    members = conn.execute(
        "select * from regions where ? in (region_code, province_code, city_code) "
        "order by region_code",
        [code],
    ).fetchall()
    if not members:
        raise ReaderError(f"没有代码为「{code}」的地区，或这个地区没有报告。", 404)
    row = members[0]
    if code == row["province_code"]:
        found = Place(code, row["province"] or code, "province")
    elif code == row["city_code"]:
        municipality = code[:2] in MUNICIPALITIES
        found = Place(
            code,
            row["city"] or code,
            "city",
            province=None if municipality else (row["province_code"], row["province"]),
        )
    else:
        own = next(m for m in members if m["region_code"] == code)
        level = own["level"] if own["level"] in ("province", "city", "district") else "other"
        found = Place(code, own["name"] or own["full_name"] or code, level)
        if level == "district":
            found.province = (own["province_code"], own["province"])
            if own["city_code"] and own["city"] != own["province"]:
                found.city = (own["city_code"], own["city"])
    found.members = members
    return found


def find(conn: sqlite3.Connection, text: str) -> list[dict]:
    """The places a name or code could mean: [{code, name}], one when it is unambiguous.

    A name is matched at every level (河南省, 新乡市, 河南省新乡市, 牧野区,
    河南省新乡市牧野区); a municipality's name is the municipality, not its city level."""
    conn.row_factory = sqlite3.Row
    text = text.strip()
    rows = conn.execute(
        "select * from regions where ? in (region_code, province_code, city_code, full_name, "
        "name, province, city, district, province || city)",
        [text],
    ).fetchall()
    if any(text in (r["region_code"], r["province_code"], r["city_code"]) for r in rows):
        return [{"code": text, "name": text}]
    places: dict[str, str] = {}
    for r in rows:
        for code, name, names in _candidates(r):
            if code and text in names:
                places[code] = name
    return [{"code": c, "name": n} for c, n in sorted(places.items())]


def _candidates(r: sqlite3.Row) -> list[tuple[str | None, str, set]]:
    """The places a row of ``regions`` names: its province, its city, itself."""
    out = [(r["province_code"], r["province"], {r["province"]})]
    if r["city_code"] and r["city"] != r["province"]:
        full = f"{r['province']}{r['city']}"
        out.append((r["city_code"], full, {r["city"], full}))
    if r["level"] != "province" and not (r["level"] == "city" and r["city"] == r["province"]):
        out.append((r["region_code"], r["full_name"], {r["full_name"], r["name"], r["district"]}))
    return [(c, n or c or "", {x for x in names if x}) for c, n, names in out]


# -- a region: its sub-regions and years ------------------------------------------------


def children_key(place: Place, member: sqlite3.Row) -> tuple[str, str] | None:
    """The sub-region a member code counts under (code, name); None for the place's own
    level (本级)."""
    if place.level == "province" and place.code[:2] not in MUNICIPALITIES:
        if member["city_code"] and member["city_code"] != place.code:
            return member["city_code"], member["city"]
        return None
    if place.level in ("province", "city") and member["district_code"]:
        return member["district_code"], member["district"]
    return None


def region_page(conn: sqlite3.Connection, code: str) -> dict:
    """A region, its sub-regions and the number of current reports of each per year."""
    found = place(conn, code)
    marks = ",".join("?" * len(found.codes))
    counts = conn.execute(
        f"select r.region_code, r.year, count(*) as n from reports r "
        f"where r.region_code in ({marks}) and r.year is not null and {CURRENT} "
        "group by r.region_code, r.year",
        found.codes,
    ).fetchall()
    member_of = {m["region_code"]: m for m in found.members}
    years = sorted({r["year"] for r in counts})
    rows: dict[str | None, dict] = {}
    for r in counts:
        key = children_key(found, member_of[r["region_code"]])
        child_code, child_name = key if key else (None, "本级")
        row = rows.setdefault(
            child_code, {"code": child_code, "name": child_name, "years": {}, "reports": 0}
        )
        row["years"][r["year"]] = row["years"].get(r["year"], 0) + r["n"]
        row["reports"] += r["n"]
    own = rows.pop(None, None)
    children = sorted(rows.values(), key=lambda r: r["code"])
    totals = {y: sum(r["n"] for r in counts if r["year"] == y) for y in years}
    agencies = conn.execute(
        f"select count(distinct r.agency) from reports r where r.region_code in ({marks})",
        found.codes,
    ).fetchone()[0]
    return {
        "code": found.code,
        "name": found.name,
        "level": found.level,
        "trail": found.trail,
        "years": years,
        "own": own,
        "children": children,
        "totals": totals,
        "reports": sum(totals.values()),
        "agencies": agencies,
        "child_level": _child_level(found),
    }


def _child_level(found: Place) -> str:
    if found.level == "province" and found.code[:2] not in MUNICIPALITIES:
        return "地市"
    return "区县" if found.level in ("province", "city") else ""


def provinces(conn: sqlite3.Connection) -> dict:
    """Every province with reports, and codes outside the list (their own places)."""
    conn.row_factory = sqlite3.Row
    rows = conn.execute(
        "select coalesce(g.province_code, g.region_code) as code, "
        "coalesce(g.province, g.full_name, g.region_code) as name, sum(c.n) as reports, "
        "count(distinct g.city_code) as cities from "
        f"(select r.region_code, count(*) as n from reports r where {CURRENT} "
        "group by r.region_code) c join regions g on g.region_code = c.region_code "
        "group by 1 order by 1"
    ).fetchall()
    return {"places": [dict(r) for r in rows], "reports": sum(r["reports"] for r in rows)}


# -- a region's agencies in one year ---------------------------------------------------------


@dataclass
class YearOptions:
    """What the reader asked of a region-year page."""

    sort: str = "new_requests"
    page: int = 1
    steady: tuple[int, int] | None = None  # from, to: only the agencies behind a steady sum
    every_page: bool = False  # the CSV: every report, not one page

    @classmethod
    def from_args(cls, args) -> YearOptions:
        sort = args.get("sort") or "new_requests"
        if sort not in SORTS and sort not in {f.key for f in FIGURES}:
            names = "、".join([*(f"{f.key}（{f.label}）" for f in FIGURES), "agency（机关）"])
            raise ReaderError(f"不能按「{sort}」排序。可用：{names}。")
        page = _integer(args.get("page"), "page（页码）", 1)
        steady = None
        if args.get("basis") == "steady":
            start = _integer(args.get("from"), "from（起始年度）", None)
            end = _integer(args.get("to"), "to（截止年度）", None)
            if start is None or end is None or start > end:
                raise ReaderError("basis=steady 须同时给出 from 与 to（起止年度，from ≤ to）。")
            steady = (start, end)
        elif args.get("basis") not in (None, "", "all"):
            raise ReaderError("basis 只能是 steady（历年都有报告的机关）或 all（全部报告）。")
        return cls(sort=sort, page=page, steady=steady)


def _integer(text, name: str, default):
    if text in (None, ""):
        return default
    if not str(text).isdigit() or int(text) < 1:
        raise ReaderError(f"{name} 应为正整数，而不是「{text}」。")
    return int(text)


def _sort_key(sort: str) -> str:
    """The SQL of what the list is sorted by (``k``): a figure, the failing rules, a name."""
    if sort in SORTS:
        return SORTS[sort][1]
    figure = next(f for f in FIGURES if f.key == sort)
    return figure.value_sql(ALIASES[figure.table])


def _order_by(sort: str) -> str:
    """Names A to Z; numbers largest first, blanks last; then by agency and id."""
    direction = SORTS[sort][2] if sort in SORTS else "desc"
    return f"k is null, k {direction}, r.agency, r.id"


def _steady_scope(
    conn: sqlite3.Connection, codes: list[str], start: int, end: int
) -> tuple[str, list]:
    """The agencies with a report in every year the region has between start and end, as
    the year-over-year page counts them (report_t3, current reports): each listed
    report's agency is looked up on the (site_id, year) index, not the region grouped."""
    marks = ",".join("?" * len(codes))
    span = f"between {int(start)} and {int(end)}"
    source = "region_year_sums" if _has_table(conn, "region_year_sums") else "report_t3"
    years = conn.execute(
        f"select count(distinct year) from {source} where region_code in ({marks}) and year {span}",
        codes,
    ).fetchone()[0]
    sql = (
        f"(select count(distinct s.year) from report_t3 s where s.site_id = r.site_id "
        f"and s.agency = r.agency and s.year {span} and s.superseded_by is null "
        f"and s.region_code in ({marks})) = {int(years)}"
    )
    return sql, list(codes)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where name = ?", [name]).fetchone() is not None


def region_year(conn: sqlite3.Connection, code: str, year: int, options: YearOptions) -> dict:
    """Every agency's current report of a region in one year, with its key figures."""
    found = place(conn, code)
    marks = ",".join("?" * len(found.codes))
    where = f"r.region_code in ({marks}) and r.year = ? and {CURRENT}"
    args: list = [*found.codes, year]
    join = "left join"
    if options.steady:
        sql, more = _steady_scope(conn, found.codes, *options.steady)
        where += f" and {sql}"
        args += more
        join = "join"  # the sums add up report_t3's rows
    # Every report's id in the order asked for, once: the counts, the pages and the
    # page's own lines come from it (the region's reports are read, and the steady
    # agencies looked up, one time, not once for the counts and again for the page).
    joins = [f"{join} report_t3 t3 on t3.report_id = r.id"]
    figure = next((f for f in FIGURES if f.key == options.sort), None)
    if figure and figure.table != "report_t3":
        alias = ALIASES[figure.table]
        joins.append(f"left join {figure.table} {alias} on {alias}.report_id = r.id")
    failing = "exists (select 1 from findings f where f.report_id = r.id and f.status = 'fail')"
    everything = conn.execute(
        f"select r.id, r.site_id, r.agency, {failing} as failing, {_sort_key(options.sort)} "
        f"as k from reports r {' '.join(joins)} where {where} order by {_order_by(options.sort)}",
        args,
    ).fetchall()
    total = len(everything)
    pages = max(1, -(-total // PAGE_SIZE))
    if options.page > pages:
        raise ReaderError(f"只有 {pages} 页，没有第 {options.page} 页。", 404)
    shown = [r[0] for r in everything[(options.page - 1) * PAGE_SIZE :][:PAGE_SIZE]]
    if options.every_page:
        shown = [r[0] for r in everything]
    fails = "(select count(*) from findings f where f.report_id = r.id and f.status = 'fail')"
    found_rows = {
        r["id"]: r
        for r in conn.execute(
            f"select r.id, r.agency, r.site_id, r.region_code, r.title, r.capture_id, "
            f"r.parse_status, r.cell_source, r.published, g.full_name as region_name, "
            f"{fails} as fails, {select_sql()} from reports r "
            "left join report_t3 t3 on t3.report_id = r.id "
            "left join report_t4 t4 on t4.report_id = r.id "
            "left join report_t2 t2 on t2.report_id = r.id "
            f"left join regions g on g.region_code = r.region_code "
            "where r.id in (select value from json_each(?))",
            [json.dumps(shown)],
        )
    }
    listed = [_agency_row(found_rows[i]) for i in shown]
    years = _years(conn, found.codes, marks)
    summary = (
        total,
        len({(r[1] or "", r[2] or "") for r in everything}),
        sum(1 for r in everything if r[3]),
    )
    return {
        "code": found.code,
        "name": found.name,
        "level": found.level,
        "trail": found.trail,
        "year": year,
        "years": years,
        "figures": [{"key": f.key, "label": f.label, "cells": f.cells} for f in FIGURES],
        "reports": total,
        "agencies": summary[1],
        "reports_with_findings": summary[2],
        "rows": listed,
        "page": options.page,
        "pages": pages,
        "sort": options.sort,
        "steady": list(options.steady) if options.steady else None,
    }


def _years(conn: sqlite3.Connection, codes: list[str], marks: str) -> list[int]:
    """The years a region has reports in, for its year links: from the rollup's index
    when there is one (the reports table has no index on region and year together)."""
    if _has_table(conn, "region_year_sums"):
        sql = f"select distinct year from region_year_sums where region_code in ({marks})"
    else:
        sql = f"select distinct year from reports where region_code in ({marks})"
    return sorted(y for (y,) in conn.execute(sql, codes) if y is not None)


def _agency_row(row: sqlite3.Row) -> dict:
    figures = {}
    for figure in FIGURES:
        value = plain(row[figure.key])
        figures[figure.key] = {"value": value, "note": note(checks_of(row, figure), value)}
    return {
        "report_id": row["id"],
        "agency": row["agency"],
        "site_id": row["site_id"],
        "region_code": row["region_code"],
        "region": row["region_name"],
        "title": row["title"],
        "capture_id": row["capture_id"],
        "parse_status": row["parse_status"],
        "machine_read": row["cell_source"] == "ocr",
        "published": row["published"],
        "fails": row["fails"],
        "figures": figures,
    }


# -- the routes -------------------------------------------------------------------------------

ROUTES_PATTERN = r"^/(?P<database>[^/]+)/-/regions(?:/(?P<code>\d{2,12})(?:/(?P<year>\d{4}))?)?(?P<format>\.json|\.csv)?$"


async def archive_database(datasette, name: str):
    """The archive served under this name; None for another file served alongside (no
    ``reports``), an internal database or a name not served."""
    if name.startswith("_") or name not in datasette.databases:
        return None
    db = datasette.get_database(name)
    return db if await db.table_exists("reports") else None


async def regions_view(datasette, request):
    """The three region pages, HTML or JSON (a region-year CSV too); a reader's mistake is
    a Chinese 4xx."""
    name = request.url_vars["database"]
    db = await archive_database(datasette, name)
    if db is None:
        return await error_page(datasette, request, f"没有名为「{name}」的存档。", 404)
    code, year = request.url_vars.get("code"), request.url_vars.get("year")
    as_json = request.url_vars.get("format") == ".json"
    if request.url_vars.get("format") == ".csv" and year is None:
        message = "只有某一年度各机关的列表可以下载 CSV：/-/regions/<代码>/<年度>.csv。"
        return await error_page(datasette, request, message, 404)
    try:
        if code is None and request.args.get("region"):
            return await _go_to(datasette, request, db, name, request.args["region"], as_json)
        if code is None:
            data = await db.execute_fn(provinces)
            template = "nianbao_regions.html"
        elif year is None:
            data = await db.execute_fn(lambda conn: region_page(conn, code))
            template = "nianbao_region.html"
        else:
            options = YearOptions.from_args(request.args)
            options.every_page = request.url_vars.get("format") == ".csv"
            data = await db.execute_fn(lambda conn: region_year(conn, code, int(year), options))
            template = "nianbao_region_year.html"
    except ReaderError as mistake:
        return await error_page(datasette, request, mistake.message, mistake.status)
    if as_json:
        return Response.json({"ok": True, **data})
    if request.url_vars.get("format") == ".csv":
        filename = f"nianbao-{data['name']}-{data['year']}年度各机关.csv"
        return Response(
            year_csv(data), content_type="text/csv; charset=utf-8", headers=csv_headers(filename)
        )
    html = await datasette.render_template(
        template,
        {
            "database": name,
            "data": data,
            "args": {k: request.args.get(k) for k in request.args},
            "page_url": page_url,
        },
        request=request,
        view_name="nianbao_regions",
    )
    return Response.html(html)


def year_csv(data: dict) -> str:
    """A region's agencies in one year as CSV with Chinese headers: every report (not one
    page), each figure followed by its check (不符：… / 机读：…), for a spreadsheet to
    filter on."""
    header = ["报告编号", "机关", "地区", "地区代码", "标题"]
    for f in data["figures"]:
        header += [f["label"], f"{f['label']}·核对"]
    header += ["不符项数", "扫描件识别", "解析状态", "原始抓取"]
    rows = []
    for r in data["rows"]:
        line = [r["report_id"], r["agency"], r["region"], r["region_code"], r["title"]]
        for f in data["figures"]:
            figure = r["figures"][f["key"]]
            line += [figure["value"], check_of(figure)]
        line += [r["fails"], "是" if r["machine_read"] else "", r["parse_status"], r["capture_id"]]
        rows.append(line)
    return csv_text(header, rows)


async def _go_to(datasette, request, db, name: str, text: str, as_json: bool):
    """A region typed by name or code: its page, or the places the name could mean."""
    places = await db.execute_fn(lambda conn: find(conn, text))
    if len(places) == 1:
        suffix = ".json" if as_json else ""
        return Response.redirect(
            datasette.urls.path(f"/{name}/-/regions/{places[0]['code']}{suffix}")
        )
    if not places:
        raise_404 = (
            f"没有名为「{text}」的地区，或这个地区没有报告。请输入省、市、县的名称或六位代码。"
        )
        return await error_page(datasette, request, raise_404, 404)
    links = "；".join(f"{p['name']}（{p['code']}）" for p in places)
    return await error_page(
        datasette, request, f"「{text}」是多个地区的名称，请用代码指定其一：{links}。", 400
    )


def page_url(args: dict, **changes) -> str:
    """The query string of this page with some parameters changed (None: removed)."""
    merged = {**args, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})
