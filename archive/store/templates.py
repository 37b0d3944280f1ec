"""The report templates as data.

The State Council prescribes the three statistical tables of the annual report;
their rows, columns and printed labels live in ``report_template.csv`` beside this
module, one line per row, column or row group. Parsers, checks, the simulated web
and the Datasette views all read them from here, so a new template (or a local
variant) is a data change, not a code change.

Columns of the CSV:

``templates``  space-separated template ids the line belongs to (``2019``, ``2021``)
``table``      ``t2`` / ``t3`` / ``t4``
``axis``       ``row``, ``col`` or ``group`` (a merged label cell over several rows)
``key``        the canonical key of ``docs/report-json.md``
``order``      print order within the table
``group``      for rows inside a merged group (（三）不予公开 …), the group key
``cols``       for rows whose columns differ from the table's (table 2), their keys
``label``      the printed label, as the official format has it
``match``      ``|``-separated phrases that identify the label in a real document;
               a phrase starting with ``=`` must equal the whole (normalised) label
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

TEMPLATES = ("2021", "2019")
TABLES = ("t2", "t3", "t4")
# The parts of the tables' sums, the same in both templates: table 3's applicant columns
# add up to its 总计 column, table 4's results of each block to the block's 总计.
T3_APPLICANTS = (
    "natural_person",
    "enterprise",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
)
T4_PARTS = ("upheld", "corrected", "other", "pending")


@dataclass(frozen=True)
class Entry:
    """One row, column or group of a table in one or more templates."""

    templates: frozenset[str]
    table: str
    axis: str
    key: str
    order: int
    group: str | None
    cols: tuple[str, ...]
    label: str
    match: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    """The rows and columns of the three tables in one template version."""

    id: str
    entries: tuple[Entry, ...]

    def rows(self, table: str) -> list[Entry]:
        return sorted(
            (e for e in self.entries if e.table == table and e.axis == "row"), key=lambda e: e.order
        )

    def cols(self, table: str) -> list[Entry]:
        return sorted(
            (e for e in self.entries if e.table == table and e.axis == "col"), key=lambda e: e.order
        )

    def groups(self, table: str) -> list[Entry]:
        return [e for e in self.entries if e.table == table and e.axis == "group"]

    def row_cols(self, table: str, row_key: str) -> tuple[str, ...]:
        """The column keys of one row, in print order."""
        for row in self.rows(table):
            if row.key == row_key:
                return row.cols or tuple(c.key for c in self.cols(table))
        raise KeyError(f"{table}.{row_key} is not in template {self.id}")

    def cell_keys(self) -> list[tuple[str, str, str]]:
        """Every (table, row, col) of the template, in print order."""
        return [
            (t, r.key, c) for t in TABLES for r in self.rows(t) for c in self.row_cols(t, r.key)
        ]

    def result_rows(self) -> list[str]:
        """The table-3 rows that add up to （七）总计: the 21 (2021) or 19 (2019) outcomes."""
        keys = [r.key for r in self.rows("t3")]
        return keys[keys.index("granted") : keys.index("results_total")]


def _read_entries() -> list[Entry]:
    text = resources.files("archive.store").joinpath("report_template.csv").read_text("utf-8")
    entries = []
    for line in csv.DictReader(text.splitlines()):
        entries.append(
            Entry(
                templates=frozenset(line["templates"].split()),
                table=line["table"],
                axis=line["axis"],
                key=line["key"],
                order=int(line["order"] or 0),
                group=line["group"] or None,
                cols=tuple(line["cols"].split()),
                label=line["label"],
                match=tuple(p for p in line["match"].split("|") if p),
            )
        )
    return entries


@cache
def template(template_id: str) -> Template:
    """The template of one version (``"2021"`` or ``"2019"``)."""
    if template_id not in TEMPLATES:
        raise KeyError(f"unknown template {template_id!r}; known: {', '.join(TEMPLATES)}")
    return Template(template_id, tuple(e for e in _read_entries() if template_id in e.templates))


def template_for_year(year: int | None) -> str | None:
    """The template the rules prescribe for a reporting year (None before 2019)."""
    if year is None:
        return None
    if year >= 2021:
        return "2021"
    if year >= 2019:
        return "2019"
    return "pre2019"
