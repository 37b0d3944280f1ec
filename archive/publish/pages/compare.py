"""Year over year: one agency's reports (or a region's) side by side, cell by cell.

For **one agency** (a registry row and the agency's name, or any one of its reports) the
page puts its report of each year side by side — table 三 by row totals (every column
with ``detail``), tables 四 and 二 cell by cell — with each cell's change from the year
before, as a difference and a percentage. A change of at least ``swing`` per cent and
at least ``min`` requests is a large swing, highlighted ("不予公开 doubled").

For **a region** (by name — 新乡市, 牧野区, 河南省新乡市牧野区 — or by code) the numbers
of its agencies are added up per year. Adding up whatever reports exist would show a
district with one report in 2019 and seven in 2024 as a sevenfold rise, so the page
says which of two bases it uses: by default only the agencies that have a report in
every year compared (``basis=steady``), else all reports (``basis=all``), with the number
of reports behind every year and the mean per report charted instead of the sum.

A cell the report printed blank is blank (no difference is computed against it); a
row that is not in a year's template is marked "not in this template" (—).

A number a failing rule reads is marked 不符 with the rule and what it found, and the
changes computed from it are marked too and never count as a large swing: a total
printed 0 whose parts add up to 3 is no fall of 100 %. A number OCR read from a scan is
marked 机读 with its confidence (:mod:`archive.publish.marks`). A region's sum says how
many of the reports in it print that number failing a rule; ``omit_failing=1`` leaves
those numbers out of the sums (and the means).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup

from archive.publish import rollup
from archive.publish.labels import TABLE_NAMES, TABLE_NUMBERS, cell_label
from archive.publish.marks import Mark, marks_of
from archive.publish.pages.chart import line_chart
from archive.publish.views import WIDE_TABLES, t3_columns
from archive.store.templates import TEMPLATES, template

NOT_IN_TEMPLATE = "n/a"
DEFAULT_CHART = "t3.new_requests.total"


@dataclass
class Options:
    """What the reader asked for, from the query string."""

    site: str | None = None
    agency: str | None = None
    report: int | None = None
    region: str | None = None
    basis: str = "steady"
    start: int | None = None
    end: int | None = None
    swing: float = 50.0
    minimum: float = 5.0
    detail: bool = False
    chart: str = DEFAULT_CHART
    omit_failing: bool = False

    @classmethod
    def from_args(cls, args) -> Options:
        def number(name: str, default, kind=float):
            try:
                return kind(args.get(name)) if args.get(name) not in (None, "") else default
            except ValueError:
                return default

        return cls(
            site=args.get("site") or None,
            agency=args.get("agency") or None,
            report=number("report", None, int),
            region=(args.get("region") or "").strip() or None,
            basis="all" if args.get("basis") == "all" else "steady",
            start=number("from", None, int),
            end=number("to", None, int),
            swing=number("swing", 50.0),
            minimum=number("min", 5.0),
            detail=args.get("detail") in ("1", "on", "true"),
            chart=args.get("chart") or DEFAULT_CHART,
            omit_failing=args.get("omit_failing") in ("1", "on", "true"),
        )


def compare(conn: sqlite3.Connection, options: Options) -> dict:
    conn.row_factory = sqlite3.Row
    if options.report is not None:
        row = conn.execute(
            "select site_id, agency from reports where id = ?", [options.report]
        ).fetchone()
        if row is None:
            return {"error": f"没有编号为 {options.report} 的报告。", "status": 404}
        options.site, options.agency = row["site_id"], row["agency"]
    if options.region:
        return _region(conn, options)
    if options.agency:
        return _agency(conn, options)
    return {
        "error": "请指定一个机关或地区：在报告页点「历年对比」，或在首页点地区名；"
        "网址写法：?report=报告编号、?region=新乡市（地区名称或代码）。",
        "status": 400,
    }


# -- the rows compared -----------------------------------------------------------------


def cell_rows(templates: set[str], detail: bool) -> list[tuple[str, str, str]]:
    """Every (table, row, col) compared, in print order, over the templates involved."""
    keys: list[tuple[str, str, str]] = []
    t3_cols = ["total"]
    if detail:
        t3_cols = [c.key for c in template("2021").cols("t3")]
    for column in t3_columns():
        if any(_has_row(t, "t3", column.row_key) for t in templates):
            keys += [("t3", column.row_key, c) for c in t3_cols]
    for t in ("t4", "t2"):
        for tid in [t for t in TEMPLATES if t in templates]:
            tpl = template(tid)
            keys += [(t, r.key, c) for r in tpl.rows(t) for c in tpl.row_cols(t, r.key)]
    return list(dict.fromkeys(keys))


def _has_row(template_id: str, table: str, row_key: str) -> bool:
    return any(r.key == row_key for r in template(template_id).rows(table))


def _in_template(template_id: str | None, key: tuple[str, str, str]) -> bool:
    if template_id not in TEMPLATES:
        return True  # unknown layout: whatever was read counts
    return key in _template_keys(template_id)


_KEYS: dict[str, set] = {}


def _template_keys(template_id: str) -> set:
    if template_id not in _KEYS:
        _KEYS[template_id] = set(template(template_id).cell_keys())
    return _KEYS[template_id]


def _changes(values: list, options: Options, notes: list) -> list[dict]:
    """Each year's change from the year before: difference, per cent, a large swing?

    A change computed from a number marked 不符 is marked too (``failing``) and is no
    swing: it may be the misprint, not the agency, that moved."""
    out = []
    for i, (before, after) in enumerate(zip(values, values[1:], strict=False)):
        failing = any(
            n is not None and (n["kind"] == "fail" or n.get("failing")) for n in notes[i : i + 2]
        )
        if not _is_number(before) or not _is_number(after):
            out.append({"diff": None, "pct": None, "swing": False, "failing": False})
            continue
        diff = after - before
        pct = (diff / before * 100) if before else None
        big = abs(diff) >= options.minimum and (pct is None or abs(pct) >= options.swing)
        swing = big and diff != 0 and not failing
        out.append({"diff": diff, "pct": pct, "swing": swing, "failing": failing})
    return out


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sections(keys, values_of, notes_of, options: Options) -> list[dict]:
    sections: dict[str, dict] = {}
    for key in keys:
        table = key[0]
        section = sections.setdefault(
            table,
            {
                "table": table,
                "number": TABLE_NUMBERS[table],
                "name": TABLE_NAMES[table],
                "rows": [],
            },
        )
        values = values_of(key)
        if all(v is None or v == NOT_IN_TEMPLATE for v in values):
            continue
        notes = notes_of(key)
        section["rows"].append(
            {
                "key": ".".join(key),
                "label": cell_label(*key),
                "values": values,
                "notes": notes,
                "changes": _changes(values, options, notes),
            }
        )
    return [sections[t] for t in ("t3", "t4", "t2") if t in sections and sections[t]["rows"]]


# -- one agency --------------------------------------------------------------------------


def _agency(conn: sqlite3.Connection, options: Options) -> dict:
    rows = conn.execute(
        "select id, year, title, template, published, parse_status, cell_count, previous_id "
        "from reports where site_id is ? and agency = ? and year is not null order by year, id",
        [options.site, options.agency],
    ).fetchall()
    if not rows:
        return {"error": f"没有「{options.agency}」的报告。"}
    replaced = {r["previous_id"] for r in rows if r["previous_id"] is not None}
    by_year: dict[int, list] = {}
    for row in rows:
        if row["id"] not in replaced and _in_range(row["year"], options):
            by_year.setdefault(row["year"], []).append(row)
    chosen = {year: max(found, key=_preference) for year, found in by_year.items()}
    years = sorted(chosen)
    reports = [chosen[y] for y in years]
    ids = [r["id"] for r in reports]
    marks = ",".join("?" * len(ids))
    cells = {
        (r["report_id"], r["table_key"], r["row_key"], r["col_key"]): r["value"]
        for r in conn.execute(
            f"select report_id, table_key, row_key, col_key, value from cells "
            f"where report_id in ({marks})",
            ids,
        )
    }
    templates = {r["template"] for r in reports if r["template"] in TEMPLATES}
    cell_marks = marks_of(conn, ids)
    # A person's reading of the original stands in for the parsed value (its note says so).
    for report_id, marked in cell_marks.items():
        for mark in marked.values():
            if mark.corrected and mark.correction is not None:
                fixed = mark.correction
                cells[(report_id, fixed.table_key, fixed.row_key, fixed.col_key)] = fixed.value

    def values_of(key):
        return [
            cells.get((r["id"], *key)) if _in_template(r["template"], key) else NOT_IN_TEMPLATE
            for r in reports
        ]

    def notes_of(key):
        cell = ".".join(key)
        return [
            agency_note(cell_marks.get(r["id"], {}).get(cell), cells.get((r["id"], *key)))
            for r in reports
        ]

    keys = cell_rows(templates or set(TEMPLATES), options.detail)
    columns = [
        {
            "year": r["year"],
            "report_id": r["id"],
            "title": r["title"],
            "template": r["template"],
            "published": r["published"],
            "others": [o["id"] for o in by_year[r["year"]] if o["id"] != r["id"]],
        }
        for r in reports
    ]
    sections = _sections(keys, values_of, notes_of, options)
    chart_key = tuple(options.chart.split("."))
    series = (
        [
            (str(c["year"]), v if _is_number(v) else None, _chart_note(n))
            for c, v, n in zip(columns, values_of(chart_key), notes_of(chart_key), strict=True)
        ]
        if len(chart_key) == 3
        else []
    )
    return {
        "mode": "agency",
        "title": options.agency,
        "site": options.site,
        "agency": options.agency,
        "columns": columns,
        "sections": sections,
        "swings": sum(c["swing"] for s in sections for r in s["rows"] for c in r["changes"]),
        "failing": _failing_count(sections),
        "chart": _chart(series, options.chart, "本机关各年报告"),
        "chart_options": _chart_options(sections),
        "basis_note": "同一机关各年的报告（每年一份；有新版本时用最新版本）。",
        "error": None,
    }


def agency_note(mark: Mark | None, value) -> dict | None:
    """What the page says beside one report's number: 不符 (the rule and what it found),
    or 机读 with the confidence. A blank cell is shown blank: nothing to quote, no mark."""
    if mark is not None and mark.correction is not None:
        return correction_note(mark)
    if mark is None or value is None:
        return None
    if mark.failing:
        title = "此数不符勾稽关系（照印刷，不可直接引用）：" + "；".join(mark.explanations)
        if mark.machine_text:
            title += "。" + mark.machine_text
        return {"kind": "fail", "tag": "不符", "title": title, "check": mark.text}
    return {"kind": "machine", "tag": mark.short, "title": mark.text, "check": mark.text}


def correction_note(mark: Mark) -> dict:
    """A number a person corrected (校正: their value is shown, the parsed one named), or
    whose correction the parser has since overtaken (校正待复核: the parsed value shown)."""
    title = mark.text or ""
    if mark.failing:  # the checks read the parsed values: a correction does not rerun them
        title = "；".join(mark.explanations) + "。" + title
    kind, tag = ("corrected", "校正") if mark.corrected else ("stale", "待复核")
    return {"kind": kind, "tag": tag, "title": title, "check": mark.text, "failing": mark.failing}


def _chart_note(note: dict | None) -> str:
    return "不符" if note is not None and note["kind"] == "fail" else ""


def _failing_count(sections: list[dict]) -> int:
    return sum(
        1
        for s in sections
        for r in s["rows"]
        for n in r["notes"]
        if n is not None and n["kind"] in ("fail", "omitted")
    )


def _preference(row) -> tuple:
    """Of several reports of one year: fully read first, then most cells, then newest."""
    return (row["parse_status"] == "ok", row["cell_count"] or 0, row["id"])


def _in_range(year: int | None, options: Options) -> bool:
    if year is None:
        return False
    return (options.start is None or year >= options.start) and (
        options.end is None or year <= options.end
    )


# -- a region ------------------------------------------------------------------------------


def resolve_region(conn: sqlite3.Connection, name: str) -> dict:
    """A region by code or name → its codes, or the places a shared name could mean."""
    conn.row_factory = sqlite3.Row
    matches = conn.execute(
        "select * from regions where ? in (region_code, province_code, city_code, full_name, "
        "province, city, district)",
        [name],
    ).fetchall()
    if not matches:
        return {"error": f"没有名为「{name}」的地区，或这个地区没有报告。"}
    by_code = [m for m in matches if name in (m["region_code"], m["province_code"], m["city_code"])]
    if by_code:
        codes = [m["region_code"] for m in by_code]
        label = next((m for m in by_code if m["region_code"] == name), by_code[0])
        return {"codes": codes, "label": _place_name(label, name), "code": name}
    for level in ("district", "city", "province"):
        hits = [m for m in matches if m[level] == name]
        if not hits:
            continue
        places = {m[f"{level}_code"] or m["region_code"]: m for m in hits}
        if len(places) > 1:
            return {
                "error": f"「{name}」是多个地区的名称，请选择其一：",
                "choices": [
                    {"code": code, "name": _full(m, level)} for code, m in sorted(places.items())
                ],
            }
        code = next(iter(places))
        return {
            "codes": [m["region_code"] for m in hits],
            "label": _full(hits[0], level),
            "code": code,
        }
    return {"codes": [m["region_code"] for m in matches], "label": name, "code": None}


def _full(row, level: str) -> str:
    parts = [row["province"]]
    if level in ("city", "district") and row["city"] != row["province"]:
        parts.append(row["city"])
    if level == "district":
        parts.append(row["district"])
    return "".join(p for p in parts if p)


def _place_name(row, code: str) -> str:
    if code == row["province_code"]:
        return row["province"] or code
    if code == row["city_code"]:
        return _full(row, "city") or code
    return row["full_name"] or code


def _region(conn: sqlite3.Connection, options: Options) -> dict:
    place = resolve_region(conn, options.region or "")
    if "error" in place:
        return {**place, "mode": "region", "title": options.region}
    codes = place["codes"]
    wide = {name: columns_of() for name, columns_of in WIDE_TABLES.items()}
    key_of = {
        (c.table_key, c.row_key, c.col_key): (name, c.name)
        for name, cols in wide.items()
        for c in cols
    }

    steady = options.basis == "steady"
    if rollup.covers(conn, codes):
        years, per_year, by_column = rollup.region_sums(
            conn, codes, options.start, options.end, steady
        )
        sums = {key: by_column.get(column, {}) for key, column in key_of.items()}
    else:  # an agency of the region moved between codes: added up report by report
        years, per_year, sums = _region_sums(conn, codes, options, steady, wide)
    if not years:
        return {
            "error": f"{place['label']} 在所选年份没有报告。",
            "status": 404,
            "mode": "region",
            "title": place["label"],
        }
    reported_years = [y for y in years if per_year[y]["reports"]]
    templates = set(TEMPLATES)

    def values_of(key):
        """Sums over the steady agencies; over all reports, the mean per report (sums of
        different numbers of reports are not comparable). With ``omit_failing``, the
        numbers a failing rule reads are left out of both."""
        found = sums.get(key, {})
        return [
            region_value(found.get(y), per_year[y]["reports"], steady, options.omit_failing)
            for y in reported_years
        ]

    def notes_of(key):
        found = sums.get(key, {})
        return [region_note(found.get(y), options.omit_failing) for y in reported_years]

    keys = [k for k in cell_rows(templates, False) if k in key_of]
    sections = _sections(keys, values_of, notes_of, options)
    year_columns = [{"year": y, **per_year[y]} for y in reported_years]
    chart_key = tuple(options.chart.split("."))
    values = values_of(chart_key) if chart_key in key_of else []
    marked = notes_of(chart_key) if chart_key in key_of else []
    if steady:
        notes = [f"{c['agencies']}个机关" for c in year_columns]
        chart_note = "历年都有报告的机关之和"
    else:
        notes = [f"n={c['reports']}" for c in year_columns]
        chart_note = "每份报告平均；n 为报告数"
    notes = [
        note + (f"，{m['tag']}" if m is not None and m["kind"] != "machine" else "")
        for note, m in zip(notes, marked or [None] * len(notes), strict=False)
    ]
    if options.omit_failing:
        chart_note += "；不计不符的数字"
    series = [
        (str(c["year"]), v, note) for c, v, note in zip(year_columns, values, notes, strict=False)
    ]
    steady_agencies = year_columns[0]["agencies"] if steady and year_columns else None
    return {
        "mode": "region",
        "title": place["label"],
        "region": options.region,
        # The place's code: each year's agencies are listed at /-/regions/<code>/<year>.
        "region_code": place["code"],
        "columns": year_columns,
        "sections": sections,
        "swings": sum(c["swing"] for s in sections for r in s["rows"] for c in r["changes"]),
        "failing": _failing_count(sections),
        "chart": _chart(series, options.chart, chart_note),
        "chart_options": _chart_options(sections),
        "basis": options.basis,
        "basis_note": (
            f"只计 {years[0]}–{years[-1]} 年每年都有报告的 {steady_agencies} 个机关（各年可比）。"
            if steady
            else "计入该地区各年的全部报告。各年报告数不同，总和不可比，表与图均为每份报告的平均数"
            "（总和见“历年都有报告的机关”口径，或常用查询 region_requests）。"
        ),
        "years_all": years,
        "error": None if year_columns else "所选年份里没有每年都有报告的机关。",
    }


def region_value(found: rollup.Sum | None, reports: int, steady: bool, omit_failing: bool):
    """The number a region's cell shows: the sum (steady agencies) or the mean per report
    (all reports), with or without the numbers a failing rule reads."""
    if found is None:
        return None
    total = found.clean if omit_failing else found.total
    if total is None:
        return None
    if steady:
        return total
    counted = reports - (found.failing if omit_failing else 0)
    return round(total / counted, 2) if counted else None


def region_note(found: rollup.Sum | None, omit_failing: bool) -> dict | None:
    """How many reports in a region's sum print this number failing a rule (and whether
    they were left out), how many had it read by OCR."""
    if found is None or not (found.failing or found.machine):
        return None
    machine = f"其中 {found.machine} 份报告的此数由扫描件识别（机读）。" if found.machine else ""
    if found.failing and omit_failing:
        title = f"已剔除 {found.failing} 份报告中不符勾稽关系的此数。" + machine
        return {
            "kind": "omitted",
            "tag": f"已剔除 {found.failing} 份",
            "title": title,
            "check": title,
        }
    if found.failing:
        title = (
            f"其中 {found.failing} 份报告的此数不符勾稽关系（照印刷计入，至少一个数有误）；"
            "点「不计不符的数字」剔除。" + machine
        )
        return {"kind": "fail", "tag": f"{found.failing} 份不符", "title": title, "check": title}
    return {"kind": "machine", "tag": f"{found.machine} 份机读", "title": machine, "check": machine}


def _region_sums(
    conn: sqlite3.Connection, codes: list[str], options: Options, steady: bool, wide: dict
) -> tuple[list[int], dict[int, dict], dict[tuple, dict[int, rollup.Sum]]]:
    """The region's years, per-year counts and sums, from the wide tables themselves."""
    marks = ",".join("?" * len(codes))

    def scope(alias: str) -> str:
        """The region's current reports within the years asked for."""
        sql = (
            f"from report_t3 {alias} where {alias}.region_code in ({marks}) "
            f"and {alias}.superseded_by is null and {alias}.year is not null"
        )
        if options.start is not None:
            sql += f" and {alias}.year >= {int(options.start)}"
        if options.end is not None:
            sql += f" and {alias}.year <= {int(options.end)}"
        return sql

    years = [r[0] for r in conn.execute(f"select distinct b.year {scope('b')} order by 1", codes)]
    per_year: dict[int, dict] = {y: {"reports": 0, "agencies": 0} for y in years}
    sums: dict[tuple, dict[int, rollup.Sum]] = {}
    if not years:
        return years, per_year, sums
    if steady:  # the agencies with a report in every one of these years
        members = (
            f"select b.report_id {scope('b')} and (b.site_id, b.agency) in "
            f"(select s.site_id, s.agency {scope('s')} group by s.site_id, s.agency "
            f"having count(distinct s.year) = {len(years)})"
        )
        args = codes * 2
    else:
        members = f"select b.report_id {scope('b')}"
        args = codes
    # The members once, as a list: four queries read them, and selecting them in each
    # (a group-by over the region's reports) repeated the costliest part four times.
    chosen = json.dumps([r[0] for r in conn.execute(members, args)])
    members, args = "select value from json_each(?)", [chosen]
    for row in conn.execute(
        f"select year, count(*) as reports, count(distinct site_id || '|' || agency) as agencies "
        f"from report_t3 where report_id in ({members}) group by year",
        args,
    ):
        per_year[row["year"]] = {"reports": row["reports"], "agencies": row["agencies"]}
    for name, columns in wide.items():
        select = ", ".join(sql for c in columns for sql in rollup.kept_sql(name, c.name))
        width = len(rollup.kept_sql(name, columns[0].name))
        for row in conn.execute(
            f"select year, {select} from {name} where report_id in ({members}) group by year",
            args,
        ):
            for i, c in enumerate(columns):
                kept = tuple(row)[1 + i * width : 1 + (i + 1) * width]
                key = (c.table_key, c.row_key, c.col_key)
                sums.setdefault(key, {})[row["year"]] = rollup.as_sum(kept)
    return years, per_year, sums


# -- chart and CSV -------------------------------------------------------------------------


def _chart(series: list, key: str, note: str) -> Markup | None:
    parts = key.split(".")
    if not series or len(parts) != 3 or all(v is None for _, v, _ in series):
        return None
    return Markup(line_chart(series, f"{cell_label(*parts)}（{note}）"))


def _chart_options(sections: list[dict]) -> list[dict]:
    return [{"key": r["key"], "label": r["label"]} for s in sections for r in s["rows"]]


def to_csv(data: dict) -> str:
    """The comparison as CSV with Chinese headers: one line per cell compared, each
    year's value, then each year's check (不符 and the rule, 机读 and the confidence;
    for a region, how many reports print the number failing), then the changes.
    A change computed from a number marked 不符 is left empty: it is not to be quoted."""
    out = io.StringIO()
    writer = csv.writer(out)
    years = [str(c["year"]) for c in data.get("columns", [])]
    pairs = list(zip(years, years[1:], strict=False))
    writer.writerow(
        ["表", "项目", "单元格", *years]
        + [f"{y}核对" for y in years]
        + [f"{b}比{a}增减" for a, b in pairs]
        + [f"{b}比{a}增减%" for a, b in pairs]
    )
    for section in data.get("sections", []):
        for row in section["rows"]:
            values = [
                "" if v is None else ("不适用" if v == NOT_IN_TEMPLATE else _plain(v))
                for v in row["values"]
            ]
            checks = ["" if n is None else n["check"] or "" for n in row["notes"]]
            shown = row["changes"]
            diffs = ["" if c["diff"] is None or c["failing"] else _plain(c["diff"]) for c in shown]
            pcts = ["" if c["pct"] is None or c["failing"] else f"{c['pct']:.1f}" for c in shown]
            writer.writerow(
                [f"表{section['number']}", row["label"], row["key"], *values, *checks]
                + diffs
                + pcts
            )
    return out.getvalue()


def to_json(data: dict) -> dict:
    """The comparison as JSON: what the page shows, without the chart's drawing; ``ok``
    false with the error, as Datasette's own JSON errors have it."""
    return {"ok": data.get("error") is None} | {k: v for k, v in data.items() if k != "chart"}


def _plain(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def csv_filename(data: dict) -> str:
    name = f"nianbao-{data.get('title') or 'compare'}-历年对比.csv"
    return quote(name.replace("/", "_"))
