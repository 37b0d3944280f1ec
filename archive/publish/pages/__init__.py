"""The reader's pages, as a Datasette plugin: reports, year over year, a home that leads to them.

Registered as the ``nianbao_pages`` entry point; a package, so that Datasette finds its
``templates/`` and ``static/`` beside it. Datasette stays as it is: its own templates
are extended (``{% extends "default:row.html" %}``), its pages get extra template
variables, and two routes are added.

* **The report page** — the row page of ``reports`` (``/<db>/reports/<id>``) shows the
  report as printed (:mod:`.report`); Datasette's generic row follows, folded.
* **Year over year** — ``/<db>/-/compare?site=…&agency=…`` (one agency) or
  ``?region=新乡市`` (a region, by name or code), with ``.csv`` (:mod:`.compare`).
* **Home** — the front page and the database page lead with search, regions, the latest
  reports and the failing arithmetic; raw tables are folded away (:mod:`.home`).
* **Chinese headers** — the wide tables' Chinese views link their ids like the tables do.
* **Marks** — a number whose check says 不符 or 机读 (the wide tables, their views, stored
  queries) is shown marked, the check beside it as a tag (:mod:`archive.publish.marks`).
* **A reader's mistakes** — a bad request is a Chinese 4xx page, not a traceback
  (:mod:`.errors`); stored queries label their parameters in Chinese and say what to type.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlencode

from datasette import Response, hookimpl
from markupsafe import Markup, escape

from archive.publish.marks import CORRECTED, FAILING, MACHINE_READ, STALE
from archive.publish.pages import compare, errors, home, leads, queries, regions, warm
from archive.publish.pages.report import report_page
from archive.publish.standalone import database_metadata, project_metadata
from archive.publish.views import CHECK, CHECK_HEADER, WIDE_TABLES, ZH_VIEWS

# Datasette serves a plugin's static/ under its name: the module's, as archive.publish.plugin
# registers it (not an entry point of its own).
STATIC = __name__
# Columns of the Chinese views that point at rows, as the wide tables' do.
VIEW_LINKS = {"报告编号": "reports", "原始抓取": "captures", "已被替代": "reports"}
VIEW_NAMES = {view for view, _ in ZH_VIEWS.values()}


async def is_archive(datasette, database: str | None) -> bool:
    """Is this database an archive (has reports), not some other file served alongside?"""
    if not database or database.startswith("_"):
        return False
    try:
        db = datasette.get_database(database)
    except KeyError:
        return False
    return await db.table_exists("reports")


@hookimpl
def get_metadata(datasette, key):
    """The project's metadata for every database served, under its real name.

    ``datasette_metadata.json`` keeps one block for "any archive" under ``"*"``, which
    Datasette 0.65 does not read; this spells it out per database, with the Chinese
    views described. Datasette asks for metadata on every permission check (dozens per
    page) and deep-copies what it gets for the ``"tables"`` key, which only permission
    rules (``allow``) and ``facet_size`` use: that key gets only those.
    """
    names = [name for name in datasette.databases if not name.startswith("_")]
    block = _database_block()
    if key == "tables":
        slim = _permission_tables()
        return {"databases": {name: {"tables": slim} for name in names}} if slim else {}
    top = {k: v for k, v in project_metadata().items() if k != "databases"}
    # Fresh dicts down to each table: Datasette merges later sources into what it gets.
    databases = {
        name: {**block, "tables": {t: dict(c) for t, c in block["tables"].items()}}
        for name in names
    }
    return {**top, "databases": databases}


@cache
def _database_block() -> dict:
    return database_metadata()


@cache
def _permission_tables() -> dict:
    tables = _database_block().get("tables", {})
    keep = ("allow", "facet_size")
    return {
        name: {k: config[k] for k in keep if k in config}
        for name, config in tables.items()
        if isinstance(config, dict) and any(k in config for k in keep)
    }


@hookimpl
def extra_css_urls(datasette):
    return [{"url": datasette.urls.static_plugins(STATIC, "nianbao.css")}]


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def inner():
        if view_name == "row" and table == "reports" and request is not None:
            return await _report_vars(datasette, database, request)
        if template == "query.html":
            return {"nianbao_chinese_form": queries.chinese_form}
        if view_name == "database" and await is_archive(datasette, database):
            return {
                "nianbao_front": await _front_page(datasette, database),
                "nianbao_group_tables": home.group_tables,
            }
        if view_name == "index":
            for name in datasette.databases:
                if await is_archive(datasette, name):
                    front = await _front_page(datasette, name)
                    return {"nianbao_front": front, "nianbao_database": name}
        return {}

    return inner


# The front page's figures of databases that never change (snapshots served immutable),
# by name and SHA-256: counted once, not on every request (~45 ms at 100,000 reports).
_FRONT_OF_IMMUTABLE: dict[tuple[str, str], dict] = {}


async def _front_page(datasette, name: str) -> dict:
    db = datasette.get_database(name)
    if db.is_mutable:
        return await db.execute_fn(home.front_page)
    key = (name, db.hash)
    if key not in _FRONT_OF_IMMUTABLE:
        _FRONT_OF_IMMUTABLE[key] = await db.execute_fn(home.front_page)
    return _FRONT_OF_IMMUTABLE[key]


async def _report_vars(datasette, database: str, request) -> dict:
    try:
        report_id = int(request.url_vars.get("pks", ""))
    except ValueError:
        return {}
    db = datasette.get_database(database)
    data = await db.execute_fn(lambda conn: report_page(conn, report_id))
    if data is None:
        return {}
    report = data["report"]
    data["compare_url"] = datasette.urls.path(
        f"/{database}/-/compare?"
        + urlencode({"site": report["site_id"] or "", "agency": report["agency"] or ""})
    )
    data["region_compare_url"] = (
        datasette.urls.path(
            f"/{database}/-/compare?" + urlencode({"region": report["region_code"]})
        )
        if report.get("region_code")
        else None
    )
    return {"nianbao_report": data}


# -- year over year -------------------------------------------------------------------


@hookimpl
def register_routes():
    return [
        (r"^/(?P<database>[^/]+)/-/compare(?P<format>\.csv|\.json)?$", compare_view),
        (regions.ROUTES_PATTERN, regions.regions_view),
        (leads.ROUTE_PATTERN, leads.leads_view),
    ]


async def compare_view(datasette, request):
    name = request.url_vars["database"]
    if not await is_archive(datasette, name):
        return await errors.page(datasette, request, f"没有名为「{name}」的存档。", 404)
    db = datasette.get_database(name)
    options = compare.Options.from_args(request.args)
    data = await db.execute_fn(lambda conn: compare.compare(conn, options))
    status = data.get("status", 404) if data.get("error") else 200
    if request.url_vars.get("format") == ".json":
        return Response.json(compare.to_json(data), status=status)
    if request.url_vars.get("format") == ".csv":
        if data.get("error"):
            return await errors.page(datasette, request, data["error"], status)
        filename = compare.csv_filename(data)
        return Response(
            compare.to_csv(data),
            content_type="text/csv; charset=utf-8",
            headers={"content-disposition": f"attachment; filename*=UTF-8''{filename}"},
        )
    args = {key: request.args.get(key) for key in request.args}
    other_failing = {**args, "omit_failing": "" if options.omit_failing else "1"}
    args["basis"] = "all" if options.basis == "steady" else "steady"
    html = await datasette.render_template(
        "nianbao_compare.html",
        {
            "database": name,
            "data": data,
            "options": options,
            "query": request.query_string,
            "other_basis": urlencode(args),
            "other_failing": urlencode({k: v for k, v in other_failing.items() if v}),
            "agencies_query": _agencies_query(data, options),
        },
        request=request,
        view_name="nianbao_compare",
    )
    return Response.html(html, status=status)


def _agencies_query(data: dict, options: compare.Options) -> str:
    """The region-year list of the agencies behind a region's sums: on the steady basis,
    those with a report in every year compared (:mod:`.regions`)."""
    years = data.get("years_all") or []
    if data.get("mode") != "region" or not years or options.basis != "steady":
        return ""
    return urlencode({"basis": "steady", "from": years[0], "to": years[-1]})


# -- the Chinese views' links -----------------------------------------------------------


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Ids in the Chinese views and in stored queries (报告编号, 原始抓取) link to their rows;
    a number whose check (the next column) says 不符 or 机读 is shown marked."""
    in_query = table is None and column in ("报告编号", "上年报告编号", "原始抓取")
    if (table in VIEW_NAMES or in_query) and column in {**VIEW_LINKS, "上年报告编号": "reports"}:
        if value in (None, "") or not str(value).isdigit():
            return None
        column = "报告编号" if column == "上年报告编号" else column
        href = datasette.urls.row(database, VIEW_LINKS[column], str(value))
        return Markup(f'<a href="{escape(href)}">{escape(str(value))}</a>')
    if table is None or table in VIEW_NAMES or table in WIDE_TABLES:
        return _marked(row, value, column, CHECK if table in WIDE_TABLES else CHECK_HEADER)
    return None


def _marked(row, value, column: str, suffix: str) -> Markup | None:
    """A check as a tag; a number with a check, marked (its check in its title)."""
    if column.endswith(suffix):
        return _tag(value) if isinstance(value, str) and value else None
    if value is None or isinstance(value, str):
        return None
    try:
        check = row[column + suffix]
    except (IndexError, KeyError, TypeError):
        return None
    if not check:
        return None
    kind, tag = _kind(str(check))
    return Markup(
        f'<span class="nb-flag nb-flag-{kind}" title="{escape(check)}">{escape(value)}</span>'
        f'<sup class="nb-flag-tag nb-flag-tag-{kind}">{tag}</sup>'
    )


def _kind(check: str) -> tuple[str, str]:
    """The class and tag of a check: 不符 first, then a person's correction, then 机读."""
    if check.startswith(FAILING):
        return "fail", FAILING
    if STALE in check:
        return "stale", "待复核"
    if CORRECTED + "：" in check:
        return "corrected", CORRECTED
    return "machine", MACHINE_READ


def _tag(check: str) -> Markup:
    kind, short = _kind(check)
    if kind == "machine":
        confidence = check.rsplit("置信度", 1)
        short = MACHINE_READ + (f" {confidence[1].strip()}" if len(confidence) == 2 else "")
    return Markup(
        f'<span class="nb-tag nb-tag-{kind}" title="{escape(check)}">{escape(short)}</span>'
    )


# -- a reader's mistakes ------------------------------------------------------------------


@hookimpl
def startup(datasette):
    """Every exception is answered by errors.handle_exception, not Datasette's default
    handler (registered after the plugins' entry points are loaded: removed here)."""
    errors.replace_default_handler()


@hookimpl
def handle_exception(datasette, request, exception):
    return errors.handle_exception(datasette, request, exception)


@hookimpl
def asgi_wrapper(datasette):
    return lambda app: warm.wrapper(datasette, errors.wrapper(datasette, app))


@hookimpl
def extra_js_urls(template, database, table, view_name, datasette):
    """Stored queries that take a region: suggest the region names as one types
    (query.html renders the empty list of names with the URL of the regions table;
    region-names.js fills it, if the query has a region input). The wide tables and
    their views: fold the check columns away, the marks being on the numbers (checks.js).
    """
    if template == "query.html" and database:
        return [{"url": datasette.urls.static_plugins(STATIC, "region-names.js"), "module": True}]
    if view_name == "table" and (table in VIEW_NAMES or table in WIDE_TABLES):
        return [{"url": datasette.urls.static_plugins(STATIC, "checks.js"), "module": True}]
    return []
