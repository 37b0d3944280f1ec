"""The sums of tables 3 and 4, and the unsure cells they confirm.

The arithmetic a report's tables hold (the rules of ``docs/report-json.md``) is a second
reader of the scan: a number the engine read unsurely is kept when a sum along its row
and one down its column both hold with it, over cells read independently, and a number
that breaks a sum is suspect. A sum the same misreading satisfies on both sides is no
evidence; the sum alone never fills a cell (the agency's arithmetic may be wrong): the
engine must have read that number too.
"""

from __future__ import annotations

from archive.store.templates import T3_APPLICANTS, T4_PARTS, TEMPLATES, template

# A cell of a report's tables: (table, row, column)
Key = tuple[str, str, str]


def broken_sums(
    tables: dict, template_id: str | None, unknown: frozenset = frozenset()
) -> list[list[tuple[str, str, str]]]:
    """The sums of tables 3 and 4 (the rules of ``docs/report-json.md``) that do not hold on
    the numbers read, each as the cells it adds up, a blank counting as 0; also a total
    printed blank over parts that add up to more than 0. A sum holding an ``unknown`` cell
    (printed, but not read) says nothing and is not listed. (The checks stage judges the
    agency's arithmetic; this only asks which readings the arithmetic casts doubt on.)"""
    broken = []
    for left, right in sum_rules(tables, template_id):
        cells = left + right
        values = _values(tables, cells)
        if "absent" in values or all(v is None for v in values):
            continue
        if unknown.intersection(cells):
            continue
        a = sum(v or 0 for v in values[: len(left)])
        b = sum(v or 0 for v in values[len(left) :])
        if round(a - b, 4) != 0:
            broken.append(cells)
    return broken


def _values(tables: dict, cells: list[Key]) -> list:
    """The values of a sum's cells as read: a number, None (blank or not read), or
    ``"absent"`` where the report has no such row or column."""
    return [tables.get(t, {}).get(r, {}).get(c, "absent") for t, r, c in cells]


def sum_rules(tables: dict, template_id: str | None) -> list[tuple[list[Key], list[Key]]]:
    """The sums of tables 3 and 4 as (cells added on the left, cells on the right)."""
    return [(left, right) for _, left, right in _sums(tables, template_id)]


def _sums(tables: dict, template_id: str | None) -> list[tuple[str, list[Key], list[Key]]]:
    """The sums of tables 3 and 4, each with its direction: ``row`` (the applicants of a
    row of table 3 adding up to its 总计, the parts of a row of table 4 to its total) or
    ``column`` (down a column of table 3: received and carried over against handled and
    carried forward; the outcomes against （七）总计)."""
    if template_id not in TEMPLATES:
        return []
    tpl = template(template_id)
    t3, t4 = tables.get("t3", {}), tables.get("t4", {})
    rules: list[tuple[str, list[Key], list[Key]]] = []
    for col in (c.key for c in tpl.cols("t3")):
        rules.append(
            (
                "column",
                [("t3", "new_requests", col), ("t3", "carried_over", col)],
                [("t3", "results_total", col), ("t3", "carried_forward", col)],
            )
        )
        rules.append(
            (
                "column",
                [("t3", r, col) for r in tpl.result_rows()],
                [("t3", "results_total", col)],
            )
        )
    for row in t3:
        rules.append(("row", [("t3", row, c) for c in T3_APPLICANTS], [("t3", row, "total")]))
    for row in t4:
        rules.append(("row", [("t4", row, c) for c in T4_PARTS], [("t4", row, "total")]))
    return rules


def confirm_by_sums(
    report, candidates: dict[Key, set], unread: frozenset | None = None
) -> dict[Key, int | float]:
    """Unsure cells the table's arithmetic confirms, as independent evidence: a cell the
    engine read unsurely (its ``candidates``: the readings that agree with the ink) is
    filled with one of them when a sum along its row AND a sum down its column both hold
    with it, each with every other cell read at the cell level (kept by the engine, or
    printed blank: a blank adds 0), and no complete sum over it fails.

    A sum is no evidence for a number that a cell on its other side was read as too: the
    same misreading of the same printed digits satisfies it on both sides (21 read as 2
    in 本年新收 and in its 总计: 2 + 0 = 2 + 0 holds). A cell the sums filled is not used to
    fill another, and the sum alone never fills a cell: the engine must have read that
    number (the agency's arithmetic may be wrong). ``unread``: the cells printed but not
    read (None in the tables but not blank); by default, those with candidates."""
    unread = frozenset(candidates) if unread is None else unread | frozenset(candidates)
    rules = _sums(report.tables, report.template)
    fills: dict[Key, int | float] = {}
    for key, readings in candidates.items():
        table, row, col = key
        if report.tables.get(table, {}).get(row, {}).get(col, "absent") is not None:
            continue
        over = [(kind, left, right) for kind, left, right in rules if key in left + right]
        supported: dict[str, set] = {"row": set(), "column": set()}
        refuted = False
        for kind, left, right in over:
            complete = _complete(report.tables, left + right, key, unread)
            if complete is None:
                continue  # another cell of the sum unread: it says nothing
            side, other = (left, right) if key in left else (right, left)
            value = sum(complete[k] for k in other) - sum(complete[k] for k in side if k != key)
            value = round(value, 4)
            if value not in readings:
                refuted = True
                continue
            if any(complete[k] == value for k in other):
                continue  # the same misreading would satisfy it on both sides
            supported[kind].add(value)
        if refuted or len(supported["row"]) != 1 or supported["row"] != supported["column"]:
            continue
        fills[key] = next(iter(supported["row"]))
    for (table, row, col), value in fills.items():
        report.tables[table][row][col] = value
    return fills


def _complete(tables: dict, cells: list[Key], key: Key, unread: frozenset) -> dict | None:
    """The values of a sum's cells but ``key`` (a blank counting as 0), or None when one is
    unread or not in the report."""
    out = {}
    for k in cells:
        if k == key:
            continue
        t, r, c = k
        value = tables.get(t, {}).get(r, {}).get(c, "absent")
        if value == "absent" or k in unread:
            return None
        out[k] = value or 0
    return out
