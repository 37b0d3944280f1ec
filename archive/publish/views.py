"""The wide tables: one row per report with its table-2, table-3 or table-4 numbers.

``cells`` holds one row per printed number, which is right for storage and wrong for a
journalist, who wants "新收 and 予以公开 of every 区 in 新乡, 2019–2024" as columns.
``report_t3`` (依申请公开, the row totals), ``report_t4`` (复议诉讼, every cell) and
``report_t2`` (主动公开, every cell of either template) put the numbers of a report on
one row, beside its agency, region (province / city / district) and year, with an
index behind every facet.

No foreign keys are declared (they would stop the parse stage from dropping a report);
the project's Datasette plugin links ``report_id``, ``capture_id`` and
``superseded_by`` to their rows instead. They are tables, not SQL views: a pivot of 1.7 million cells costs seconds per page,
while a table answers a page, a count and a facet in milliseconds. The parse stage
refreshes them (:func:`archive.publish.prepare`), report by report.

Every number has its *check* beside it (``<column>_check``; ``…·核对`` in the views): 不符
and the failing rules when a rule of the report's arithmetic that reads it fails, 机读 and
the confidence when OCR read it from a scan, 校正 and both values when a person corrected
it against the original — the number is then the person's (:mod:`archive.publish.marks`,
:mod:`archive.publish.review`); empty when there is nothing to say. A number travels into CSV, stored queries and sums without the
report page around it: its check travels with it, in the next column, where a
spreadsheet filters on it.

The wide tables keep the specification's English keys (``new_requests``) for the API
and for SQL. A reader gets the same rows with Chinese headers from the template's
printed labels (:mod:`archive.publish.labels`) in the views ``表三_依申请公开``,
``表四_复议诉讼`` and ``表二_主动公开``: plain SQL views (a renaming, which SQLite
flattens into the table, so every index still serves), so their CSV and JSON carry
the Chinese headers too, in nianbao and in a snapshot opened by anything that reads SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from archive.publish.labels import CONTEXT_HEADERS, WITHHELD_HEADER, cell_label
from archive.publish.marks import Mark, combined, marks_of
from archive.store.templates import TEMPLATES, template

CHECK = "_check"  # the check of column X is X_check
CHECK_HEADER = "·核对"  # and in the Chinese views, 行政复议·总计·核对


@dataclass(frozen=True)
class WideColumn:
    """One numeric column of a wide table: where its number comes from."""

    name: str
    table_key: str
    row_key: str
    col_key: str
    label: str
    template: str | None = None  # the template whose wording names it, where they differ

    @property
    def check(self) -> str:
        return self.name + CHECK

    @property
    def cell(self) -> str:
        return f"{self.table_key}.{self.row_key}.{self.col_key}"


# Columns every wide table starts with: who, where, when, and the way back to the original.
CONTEXT_COLUMNS = {
    "report_id": "INTEGER PRIMARY KEY",
    "capture_id": "INTEGER",
    "site_id": "TEXT",
    "agency": "TEXT",
    "region_code": "TEXT",
    "province": "TEXT",
    "city": "TEXT",
    "district": "TEXT",
    "year": "INTEGER",
    "template": "TEXT",
    "parse_status": "TEXT",
    "title": "TEXT",
    "published": "TEXT",
    "superseded_by": "INTEGER",
}
FACET_COLUMNS = (
    "agency",
    "region_code",
    "province",
    "city",
    "district",
    "year",
    "template",
    "parse_status",
)


def _ordered_unique(columns: Iterable[WideColumn]) -> list[WideColumn]:
    seen: dict[str, WideColumn] = {}
    for column in columns:
        seen.setdefault(column.name, column)
    return list(seen.values())


def t3_columns() -> list[WideColumn]:
    """Table 3 by its row totals (总计), in print order; 2019's 其他处理 included."""
    rows = template("2021").rows("t3")
    keys = {r.key for r in rows}
    older = [r for r in template("2019").rows("t3") if r.key not in keys]
    at = [r.key for r in rows].index("results_total")
    rows = rows[:at] + older + rows[at:]
    return [WideColumn(r.key, "t3", r.key, "total", r.label) for r in rows]


def t4_columns() -> list[WideColumn]:
    """Every cell of table 4 (3 rows × 5 columns), named row_col."""
    tpl = template("2021")
    return [
        WideColumn(f"{r.key}_{c.key}", "t4", r.key, c.key, f"{r.label}·{c.label}")
        for r in tpl.rows("t4")
        for c in tpl.cols("t4")
    ]


def t2_columns() -> list[WideColumn]:
    """Every cell of table 2 in either template, named row_col."""
    columns = []
    for t in TEMPLATES:
        tpl = template(t)
        labels = {c.key: c.label for c in tpl.cols("t2")}
        columns += [
            WideColumn(f"{r.key}_{c}", "t2", r.key, c, f"{r.label}·{labels[c]}", t)
            for r in tpl.rows("t2")
            for c in tpl.row_cols("t2", r.key)
        ]
    return _ordered_unique(columns)


WIDE_TABLES = {"report_t3": t3_columns, "report_t4": t4_columns, "report_t2": t2_columns}
# The Chinese-headed view of each wide table, and what it is about.
ZH_VIEWS = {
    "report_t3": ("表三_依申请公开", "收到和处理政府信息公开申请情况（表三，各行总计）"),
    "report_t4": ("表四_复议诉讼", "政府信息公开行政复议、行政诉讼情况（表四）"),
    "report_t2": ("表二_主动公开", "主动公开政府信息情况（表二）"),
}
# Context columns before the numbers, and after them, in a view.
_VIEW_LEAD = ("report_id", "agency", "province", "city", "district", "year", "published")
_VIEW_TAIL = (
    "title",
    "template",
    "parse_status",
    "superseded_by",
    "region_code",
    "site_id",
    "capture_id",
)


def _withheld_sql() -> str:
    keys = [c.row_key for c in t3_columns() if c.row_key.startswith("withheld_")]
    return " + ".join(f"coalesce({k}, 0)" for k in keys)


def number_columns(name: str) -> list[str]:
    """A wide table's numeric columns, in order (report_t3's withheld last)."""
    numbers = [c.name for c in WIDE_TABLES[name]()]
    return numbers + (["withheld"] if name == "report_t3" else [])


def table_columns(name: str) -> list[str]:
    """Every column of a wide table: context, then each number followed by its check."""
    return list(CONTEXT_COLUMNS) + [
        column for number in number_columns(name) for column in (number, number + CHECK)
    ]


def is_current(conn: sqlite3.Connection) -> bool:
    """Do the wide tables exist with this version's columns (they follow the templates) and
    the indexes of their checks?"""
    indexes = {r[0] for r in conn.execute("select name from sqlite_master where type = 'index'")}
    return all(
        [r[1] for r in conn.execute(f"pragma table_info({name})")] == table_columns(name)
        and _check_index(name, number_columns(name)[0]) in indexes
        for name in WIDE_TABLES
    )


def _check_index(table: str, number: str) -> str:
    return f"idx_{table}_{number}{CHECK}"


def _create(conn: sqlite3.Connection, name: str, columns: list[WideColumn]) -> None:
    have = [r[1] for r in conn.execute(f"pragma table_info({name})")]
    indexed = conn.execute(
        "select 1 from sqlite_master where name = ?", [_check_index(name, number_columns(name)[0])]
    ).fetchone()
    if have and (have != table_columns(name) or not indexed):  # an older layout: rebuilt
        conn.execute(f'DROP VIEW IF EXISTS "{ZH_VIEWS[name][0]}"')
        conn.execute(f"DROP TABLE {name}")
    defs = [f"{c} {t}" for c, t in CONTEXT_COLUMNS.items()]
    # A check is compared without case (it has none: Chinese) so that LIKE '不符%' — a
    # reader's "starts with" filter on a view — can read its index.
    defs += [
        f"{number} NUMERIC, {number}{CHECK} TEXT COLLATE NOCASE" for number in number_columns(name)
    ]
    conn.execute(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(defs)})")
    # Few numbers have a check: each check's index holds only those rows.
    for number in number_columns(name):
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {_check_index(name, number)} ON {name}"
            f"({number}{CHECK}) WHERE {number}{CHECK} IS NOT NULL"
        )
    for facet in FACET_COLUMNS:
        conn.execute(f"CREATE INDEX IF NOT EXISTS idx_{name}_{facet} ON {name}({facet})")
    conn.execute(f"CREATE INDEX IF NOT EXISTS idx_{name}_site_year ON {name}(site_id, year)")


def _insert_sql(name: str, columns: list[WideColumn], where: str) -> str:
    table_key = columns[0].table_key
    pivots = [
        f"max(case when c.row_key = '{c.row_key}' and c.col_key = '{c.col_key}' "
        f"then c.value end) as {c.name}"
        for c in columns
    ]
    context = [
        "r.id",
        "r.capture_id",
        "r.site_id",
        "r.agency",
        "r.region_code",
        "g.province",
        "g.city",
        "g.district",
        "r.year",
        "r.template",
        "r.parse_status",
        "r.title",
        "r.published",
        "NULL",
    ]
    return (
        f"INSERT INTO {name} ({', '.join(CONTEXT_COLUMNS)}, "
        f"{', '.join(c.name for c in columns)}) "
        f"SELECT {', '.join(context)}, {', '.join(pivots)} "
        f"FROM reports r JOIN cells c ON c.report_id = r.id AND c.table_key = '{table_key}' "
        f"LEFT JOIN regions g ON g.region_code = r.region_code "
        f"WHERE {where} GROUP BY r.id"
    )


def refresh_wide_tables(conn: sqlite3.Connection, report_ids: list[int] | None) -> None:
    """Rewrite the wide rows of these reports (every report when ``report_ids`` is None).

    Ids of reports that no longer exist are simply deleted. Call after ``regions``
    is refreshed: region names are copied in.
    """
    for name, columns_of in WIDE_TABLES.items():
        columns = columns_of()
        _create(conn, name, columns)
        if report_ids is None:
            conn.execute(f"DELETE FROM {name}")
            conn.execute(_insert_sql(name, columns, "1"))
        else:
            for start in range(0, len(report_ids), 500):
                chunk = report_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM {name} WHERE report_id IN ({marks})", chunk)
                conn.execute(_insert_sql(name, columns, f"r.id IN ({marks})"), chunk)
        if name == "report_t3":
            where = "1" if report_ids is None else "withheld IS NULL"
            conn.execute(f"UPDATE report_t3 SET withheld = {_withheld_sql()} WHERE {where}")
        _mark_superseded(conn, name)
        _create_view(conn, name, columns)
    _write_checks(conn, report_ids)


def _write_checks(conn: sqlite3.Connection, report_ids: list[int] | None) -> None:
    """Each marked number's check, beside it (the rows were just written without)."""
    marks = marks_of(conn, report_ids)
    for name, columns_of in WIDE_TABLES.items():
        columns = columns_of()
        for report_id, cells in marks.items():
            # A person's reading of the original, where it stands (archive.publish.review):
            # the number is theirs, the parser's is named in its check.
            corrected = {
                c.name: mark.correction.value
                for c in columns
                if (mark := cells.get(c.cell)) is not None and mark.corrected and mark.correction
            }
            checks = {c.check: _text(cells.get(c.cell)) for c in columns}
            if name == "report_t3":
                withheld = [cells.get(c.cell) for c in columns if c.row_key.startswith("withheld_")]
                checks["withheld" + CHECK] = _text(combined(withheld))
            checks = {column: text for column, text in checks.items() if text}
            updates = {**corrected, **checks}
            if updates:
                sets = ", ".join(f"{column} = ?" for column in updates)
                conn.execute(
                    f"UPDATE {name} SET {sets} WHERE report_id = ?", [*updates.values(), report_id]
                )
            if name == "report_t3" and any(k.startswith("withheld_") for k in corrected):
                conn.execute(
                    f"UPDATE report_t3 SET withheld = {_withheld_sql()} WHERE report_id = ?",
                    [report_id],
                )


def _text(mark: Mark | None) -> str | None:
    return mark.text if mark is not None else None


def _mark_superseded(conn: sqlite3.Connection, name: str) -> None:
    """Point every older version at its newest successor (one pass over ``reports``)."""
    conn.execute(f"UPDATE {name} SET superseded_by = NULL WHERE superseded_by IS NOT NULL")
    conn.execute(
        f"UPDATE {name} SET superseded_by = n.newest FROM (SELECT previous_id, "
        f"max(id) AS newest FROM reports WHERE previous_id IS NOT NULL "
        f"GROUP BY previous_id) n WHERE n.previous_id = {name}.report_id"
    )


def view_headers(name: str) -> dict[str, str]:
    """The Chinese view's columns of a wide table: English column → Chinese header, each
    number followed by its check (``行政复议·总计``, ``行政复议·总计·核对``)."""
    numbers = {
        c.name: cell_label(c.table_key, c.row_key, c.col_key, c.template)
        for c in WIDE_TABLES[name]()
    }
    if name == "report_t3":
        numbers["withheld"] = WITHHELD_HEADER
    headers = {c: CONTEXT_HEADERS[c] for c in _VIEW_LEAD}
    for column, header in numbers.items():
        headers[column] = header
        headers[column + CHECK] = header + CHECK_HEADER
    headers.update({c: CONTEXT_HEADERS[c] for c in _VIEW_TAIL})
    if len(set(headers.values())) != len(headers):
        raise ValueError(f"two columns of {name} would share a Chinese header")
    return headers


def _create_view(conn: sqlite3.Connection, name: str, columns: list[WideColumn]) -> None:
    """(Re)create the Chinese view: cheap, and follows the template data when it changes."""
    view = ZH_VIEWS[name][0]
    select = ", ".join(f'{c} AS "{h}"' for c, h in view_headers(name).items())
    conn.execute(f'DROP VIEW IF EXISTS "{view}"')
    conn.execute(f'CREATE VIEW "{view}" AS SELECT {select} FROM {name}')


# What a check says, for the column descriptions.
CHECK_DESCRIPTION = (
    "核对 — 空白：无须核对。「不符：规则」：报告中读到此数的勾稽关系不符（此数照印刷，"
    "其中至少一个数有误）；「机读：扫描件识别，置信度 0.62」：由扫描件识别而来；"
    "「校正：原件为 3，解析为 0」：有人对照原件校正，本列数字为原件的值；"
    "「校正待复核」：重新解析后解析值已变，校正未采用，本列为解析值"
)


def check_descriptions(name: str) -> dict[str, str]:
    """The descriptions of a wide table's check columns (``review_total_check``)."""
    labels = {c.name: c.label for c in WIDE_TABLES[name]()} | {"withheld": WITHHELD_HEADER}
    return {
        number + CHECK: f"{labels[number]}的{CHECK_DESCRIPTION}" for number in number_columns(name)
    }


def view_metadata(described: dict[str, dict]) -> dict[str, dict]:
    """Datasette metadata of the Chinese views, from the wide tables' own (``described``:
    the ``tables`` block of ``datasette_metadata.json``) and the template's labels."""
    views = {}
    for name, (view, about) in ZH_VIEWS.items():
        columns = (described.get(name) or {}).get("columns", {}) | check_descriptions(name)
        views[view] = {
            "description": (
                f"{about} — 与 {name} 同样的行，每份报告一行，列名取自报告模板的印刷标签；"
                f"空白即报告中空白（不是 0）。每个数字后一列「…·核对」：不符（勾稽关系不符，"
                f"列出规则）或机读（扫描件识别，附置信度），空白即无须核对；在电子表格中按它筛选。"
            ),
            "sort_desc": CONTEXT_HEADERS["year"],
            # A screenful of a table of 40–90 columns; more rows only cost rendering time.
            "size": 20,
            "facets": [CONTEXT_HEADERS[c] for c in ("province", "city", "district", "year")],
            "columns": {
                header: f"{columns.get(column, header)} ({name}.{column})"
                for column, header in view_headers(name).items()
            },
        }
    return views


def wide_column_labels() -> dict[str, dict[str, str]]:
    """Printed labels of every numeric column, for the Datasette descriptions."""
    return {
        name: {c.name: c.label for c in columns_of()} for name, columns_of in WIDE_TABLES.items()
    }
