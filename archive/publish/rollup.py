"""Each region's yearly sums, added up once at publish time so that comparing regions is fast.

Year over year for a region (:mod:`archive.publish.pages.compare`) adds up the wide
tables over every report of the region, per year. For a city of a national archive that
is ~20,000 reports × 60 columns read and summed on every page view (~250 ms measured on
100,000 reports, ``benchmarks/datasette_bench.py``). ``region_year_sums`` holds the same
sums already grouped by region code, year and the set of years the agency has reports
in (``years_mask``), so a region's page sums a few hundred rows instead:

* all reports of a year: every row of the region's codes and that year;
* the agencies with a report in every year compared (``basis=steady``): the rows whose
  ``years_mask`` covers all those years.

Both are exact only when each agency's current reports carry one region code: an
agency whose reports moved to a new code (a county that became a district) would be
counted with its years split. Such agencies are listed in ``region_sums_split`` and a
region that holds one is added up from the wide tables as before (:func:`covers`).
The sums of a group are SQL ``sum()`` as the page's own query takes them: NULL where
every report left the cell blank.

Beside each sum the rollup keeps what a reader must know about it (the checks of
:mod:`archive.publish.marks`): how many of the numbers added up fail a rule that reads
them (``…_failing``), the sum without them (``…_clean``), how many were read by OCR from
a scan (``…_machine``), and how many were added up at all (``…_counted``: a mean over the
reports that did not leave the cell blank). The page says "2 份不符" and can leave them
out; the stored region queries (region_requests, region_requests_steady, outcomes) read
the rollup too, and the wide tables where it is not exact, in plain SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from archive.publish.marks import FAILING, MACHINE_READ
from archive.publish.views import CHECK, WIDE_TABLES

TABLE = "region_year_sums"
SPLIT = "region_sums_split"
# Bit (year - FIRST_YEAR) of years_mask; a year outside the 63 bits is not rolled up.
FIRST_YEAR = 1990
LAST_YEAR = FIRST_YEAR + 62
_ALIASES = {"report_t3": "t3", "report_t4": "t4", "report_t2": "t2"}
# What is kept of each wide column, after its sum: (suffix, SQL over value v and check k).
_KEPT = (
    ("", "sum({v})"),
    (
        "_failing",
        f"count(case when {{v}} is not null and substr({{k}}, 1, 2) = '{FAILING}' then 1 end)",
    ),
    ("_clean", f"sum(case when substr({{k}}, 1, 2) = '{FAILING}' then null else {{v}} end)"),
    (
        "_machine",
        f"count(case when {{v}} is not null and instr({{k}}, '{MACHINE_READ}') > 0 then 1 end)",
    ),
    ("_counted", "count({v})"),
)


@dataclass(frozen=True)
class Sum:
    """One cell of a region's year: the sum, and what a reader must know about it."""

    total: float | None  # SQL sum(): None when every report left the cell blank
    failing: int = 0  # numbers added up that a failing rule reads
    clean: float | None = None  # the sum without them
    machine: int = 0  # numbers added up that OCR read from a scan
    counted: int = 0  # numbers added up (the reports that did not leave the cell blank)


def column(table: str, name: str) -> str:
    """The rollup's column for a wide table's column (``t3_new_requests``)."""
    return f"{_ALIASES[table]}_{name}"


def _columns() -> list[tuple[str, str]]:
    """Every number of the wide tables, and table 3's （三）不予公开 added up (``withheld``)."""
    numbers = [(table, c.name) for table, columns_of in WIDE_TABLES.items() for c in columns_of()]
    return numbers + [("report_t3", "withheld")]


def _kept_columns() -> list[str]:
    return [column(t, n) + suffix for t, n in _columns() for suffix, _ in _KEPT]


def kept_descriptions(sums: dict[str, str]) -> dict[str, str]:
    """Descriptions of what is kept beside each sum, from the sums' own (``sums``: the
    rollup's column descriptions, ``一、本年新收… — t3.new_requests.total（合计）``)."""
    withheld = column("report_t3", "withheld")
    sums = {withheld: "（三）不予公开·合计 — 八行之和（合计）", **sums}
    out = {withheld: sums[withheld]}
    for t, n in _columns():
        name = column(t, n)
        label = sums.get(name, name).split(" — ")[0]
        out[name + "_failing"] = f"{label} — 其中不符勾稽关系的数字个数（即报告份数）"
        out[name + "_clean"] = f"{label} — 不计不符勾稽关系的数字的合计"
        out[name + "_machine"] = f"{label} — 其中由扫描件识别（机读）的数字个数"
        out[name + "_counted"] = f"{label} — 相加的数字个数（没有空白这一格的报告份数）"
    return out


def kept_sql(alias: str, name: str) -> list[str]:
    """The SQL of what is kept of one wide column (its sum first) over table ``alias``."""
    value, check = f"{alias}.{name}", f"{alias}.{name}{CHECK}"
    return [sql.format(v=value, k=check) for _, sql in _KEPT]


def refresh(conn: sqlite3.Connection) -> None:
    """Rebuild the rollup from the wide tables (call after they are refreshed).

    One group-by over the current reports: 1.8 s on the 100,000-report archive of
    ``benchmarks/datasette_bench.py``.
    """
    columns = _columns()
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.execute(f"DROP TABLE IF EXISTS {SPLIT}")
    names = ", ".join(f"{name} NUMERIC" for name in _kept_columns())
    conn.execute(
        f"CREATE TABLE {TABLE} (region_code TEXT, year INTEGER, years_mask INTEGER, "
        f"reports INTEGER, agencies INTEGER, {names})"
    )
    # report_t3 is b itself; t4 and t2 are joined (a report may lack either table).
    sums = ", ".join(
        sql for t, n in columns for sql in kept_sql(_ALIASES[t] if t != "report_t3" else "b", n)
    )
    current = (
        "b.superseded_by is null and b.year is not null "
        f"and b.year between {FIRST_YEAR} and {LAST_YEAR}"
    )
    # An agency without a site or a name is never one of the "every year" agencies
    # (the page's own query compares (site_id, agency) pairs): its mask is 0.
    conn.execute(
        f"""
        INSERT INTO {TABLE}
        WITH masks AS (
            SELECT site_id, agency, sum(1 << (year - {FIRST_YEAR})) AS years_mask
            FROM (SELECT DISTINCT b.site_id, b.agency, b.year FROM report_t3 b
                  WHERE {current})
            GROUP BY site_id, agency
        )
        SELECT b.region_code, b.year, coalesce(m.years_mask, 0), count(*),
               count(DISTINCT b.site_id || '|' || b.agency), {sums}
        FROM report_t3 b
        LEFT JOIN masks m ON m.site_id = b.site_id AND m.agency = b.agency
        LEFT JOIN report_t4 t4 ON t4.report_id = b.report_id
        LEFT JOIN report_t2 t2 ON t2.report_id = b.report_id
        WHERE {current} AND b.region_code IS NOT NULL
        GROUP BY b.region_code, b.year, coalesce(m.years_mask, 0)
        """
    )
    conn.execute(f"CREATE INDEX idx_{TABLE}_region ON {TABLE}(region_code, year)")
    # Agencies whose current reports carry more than one region code (or none), or a
    # year the mask cannot hold. (A report without a site or agency is in no agency.)
    conn.execute(
        f"""
        CREATE TABLE {SPLIT} AS
        SELECT DISTINCT b.site_id, b.agency, b.region_code FROM report_t3 b
        JOIN (SELECT site_id, agency FROM report_t3
              WHERE superseded_by IS NULL AND year IS NOT NULL
                AND site_id IS NOT NULL AND agency IS NOT NULL
              GROUP BY site_id, agency
              HAVING count(DISTINCT coalesce(region_code, '')) > 1) s
          ON s.site_id = b.site_id AND s.agency = b.agency
        WHERE b.superseded_by IS NULL AND b.year IS NOT NULL
        UNION
        SELECT site_id, agency, region_code FROM report_t3
        WHERE superseded_by IS NULL AND year NOT BETWEEN {FIRST_YEAR} AND {LAST_YEAR}
        """
    )
    conn.execute(f"CREATE INDEX idx_{SPLIT}_region ON {SPLIT}(region_code)")


def is_current(conn: sqlite3.Connection) -> bool:
    """Does the rollup exist with this version's columns (they follow the templates)?"""
    have = [r[1] for r in conn.execute(f"pragma table_info({TABLE})")]
    expected = ["region_code", "year", "years_mask", "reports", "agencies"]
    expected += _kept_columns()
    split = conn.execute("select 1 from sqlite_master where name = ?", [SPLIT]).fetchone()
    return have == expected and split is not None


def covers(conn: sqlite3.Connection, codes: Iterable[str]) -> bool:
    """Can these codes' sums be read from the rollup (it exists, no agency split)?"""
    codes = list(codes)
    names = {
        r[0]
        for r in conn.execute("select name from sqlite_master where name in (?, ?)", [TABLE, SPLIT])
    }
    if names != {TABLE, SPLIT}:
        return False
    marks = ",".join("?" * len(codes))
    split = conn.execute(
        f"select 1 from {SPLIT} where region_code in ({marks}) limit 1", codes
    ).fetchone()
    return split is None


def year_mask(years: Iterable[int]) -> int:
    mask = 0
    for year in years:
        mask |= 1 << (year - FIRST_YEAR)
    return mask


def region_sums(
    conn: sqlite3.Connection,
    codes: list[str],
    start: int | None,
    end: int | None,
    steady: bool,
) -> tuple[list[int], dict[int, dict], dict[tuple[str, str], dict[int, Sum]]]:
    """The years, per-year report and agency counts, and per-year sums of every wide
    column with their marks — what the compare page's own queries give — read from the
    rollup.

    ``steady``: only the agencies with a report in every one of the years.
    """
    marks = ",".join("?" * len(codes))
    where = f"region_code in ({marks})"
    args: list = list(codes)
    if start is not None:
        where += f" and year >= {int(start)}"
    if end is not None:
        where += f" and year <= {int(end)}"
    years = [
        r[0]
        for r in conn.execute(f"select distinct year from {TABLE} where {where} order by 1", args)
    ]
    if steady:
        mask = year_mask(years)
        where += f" and (years_mask & {mask}) = {mask}"
    columns = _columns()
    select = ", ".join(f"sum({name})" for name in _kept_columns())
    per_year: dict[int, dict] = {y: {"reports": 0, "agencies": 0} for y in years}
    sums: dict[tuple[str, str], dict[int, Sum]] = {}
    width = len(_KEPT)
    for row in conn.execute(
        f"select year, sum(reports), sum(agencies), {select} from {TABLE} "
        f"where {where} group by year",
        args,
    ):
        year = row[0]
        per_year[year] = {"reports": row[1], "agencies": row[2]}
        for i, (table, name) in enumerate(columns):
            kept = row[3 + i * width : 3 + (i + 1) * width]
            sums.setdefault((table, name), {})[year] = as_sum(kept)
    return years, per_year, sums


def as_sum(kept) -> Sum:
    """A :class:`Sum` from the kept values of one column, in :data:`_KEPT`'s order."""
    total, failing, clean, machine, counted = kept
    return Sum(total, int(failing or 0), clean, int(machine or 0), int(counted or 0))
