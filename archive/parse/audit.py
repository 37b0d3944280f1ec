"""What a report's tables lack, and how their cells were printed.

A report is ``ok`` only when every cell of its template was read. Anything less is
``partial``, and the user must be able to see *what* is missing without comparing
against the template by hand: a whole table not found, a row the template requires
that the document does not print, or a table printed with every cell left empty
(which reads like a table but says nothing — a corrupt font or an agency that left
the form blank look the same). :func:`completeness` names each of these.

The blank-cell audit (:func:`cell_audit`) counts, for the cells that were read,
how many were printed empty, with a dash or slash, as ``0``, or as another number:
"the agency left the table empty" is then a column in the archive, not a guess.
"""

from __future__ import annotations

from archive.store.templates import TABLES, TEMPLATES, template

TABLE_NAMES = {
    "t2": "table 2 (二、主动公开政府信息情况)",
    "t3": "table 3 (三、收到和处理政府信息公开申请情况)",
    "t4": "table 4 (四、行政复议、行政诉讼情况)",
}
# A 2021 report may print （六）其他处理 as the single row of the 2019 layout: its three
# rows are then absent, and ``other_handling`` stands in for them (see tables.assemble).
HYBRID_STANDIN = ("t3", "other_handling")
HYBRID_ROWS = ("other_no_correction", "other_unpaid_fee", "other_other")


def result_rows_printed(tpl, rows) -> list[str]:
    """The table-3 outcome rows that add up to （七）总计 in one report (``rows``: the row
    keys it printed): the template's, except that a 2021 report printing （六）其他处理 as one
    row (the 2019 layout) has that row, ``other_handling``, in place of its three."""
    result = tpl.result_rows()
    if tpl.id == "2021" and "other_handling" in rows and not any(k in rows for k in HYBRID_ROWS):
        result = [r for r in result if r not in HYBRID_ROWS] + ["other_handling"]
    return result


def completeness(tables: dict, template_id: str | None) -> list[str]:
    """One warning per hole: a table not found, rows not found, a table printed all blank.

    Empty when the tables hold every row of the template with something printed."""
    if template_id not in TEMPLATES:
        return []
    tpl = template(template_id)
    problems: list[str] = []
    for table in TABLES:
        expected = [r.key for r in tpl.rows(table)]
        rows = tables.get(table) or {}
        if not rows:
            problems.append(f"{table}: {TABLE_NAMES[table]} not found")
            continue
        standin = (
            template_id == "2021"
            and table == HYBRID_STANDIN[0]
            and HYBRID_STANDIN[1] in rows
            and not any(k in rows for k in HYBRID_ROWS)
        )
        missing = [k for k in expected if k not in rows and not (standin and k in HYBRID_ROWS)]
        if missing:
            problems.append(
                f"{table}: row{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} of the {template_id} template not found"
            )
        values = [
            v for key, cols in rows.items() if not key.startswith("local_") for v in cols.values()
        ]
        if values and all(v is None for v in values):
            problems.append(f"{table}: every one of its {len(values)} cells is printed blank")
    return problems


def cell_audit(tables: dict, raw: dict) -> dict[str, int]:
    """How the cells read were printed: ``blank`` (empty), ``dash`` (a dash, slash, 无 …),
    ``zero`` and ``number`` (any other number); ``cells`` is their sum."""
    counts = {"cells": 0, "blank": 0, "dash": 0, "zero": 0, "number": 0}
    for table, rows in tables.items():
        for row, cols in rows.items():
            for col, value in cols.items():
                counts["cells"] += 1
                if value is None:
                    printed = (raw.get(table, {}).get(row, {}).get(col) or "").strip()
                    counts["dash" if printed else "blank"] += 1
                elif value == 0:
                    counts["zero"] += 1
                else:
                    counts["number"] += 1
    return counts


__all__ = ["completeness", "cell_audit", "result_rows_printed", "TABLE_NAMES"]
