"""The sums of tables 3 and 4, and the unsure cells they confirm.

The arithmetic a report's tables hold (the rules of ``docs/report-json.md``) is a second
reader of the scan: a number the engine read unsurely is kept when it is the one reading
that makes a sum of surely read cells hold, and a number that breaks a sum is suspect.
The sum alone never fills a cell (the agency's arithmetic may be wrong): the engine must
have read that number too.
"""

from __future__ import annotations

import itertools

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
    if template_id not in TEMPLATES:
        return []
    tpl = template(template_id)
    t3, t4 = tables.get("t3", {}), tables.get("t4", {})
    rules: list[tuple[list[Key], list[Key]]] = []
    for col in (c.key for c in tpl.cols("t3")):
        rules.append(
            (
                [("t3", "new_requests", col), ("t3", "carried_over", col)],
                [("t3", "results_total", col), ("t3", "carried_forward", col)],
            )
        )
        rules.append(([("t3", r, col) for r in tpl.result_rows()], [("t3", "results_total", col)]))
    for row in t3:
        rules.append(([("t3", row, c) for c in T3_APPLICANTS], [("t3", row, "total")]))
    for row in t4:
        rules.append(([("t4", row, c) for c in T4_PARTS], [("t4", row, "total")]))
    return rules


# At most this many unknown cells in one sum are solved together (their readings' product).
MAX_UNKNOWN = 3


def confirm_by_sums(report, candidates: dict[Key, set]) -> dict[Key, int | float]:
    """Unsure cells the table's arithmetic confirms: the cells left null in a sum (at most
    :data:`MAX_UNKNOWN`) whose every other cell was read surely are filled when exactly one
    combination of the numbers the engine read in them (its unsure reading, or either of
    two readings its models disagreed on) makes the sum hold. Two readers agreeing — the
    engine and the agency's own sums — is what makes it a number rather than a guess; the
    sum alone is never enough (the agency's arithmetic may be wrong). Repeats while cells
    are filled."""
    confirmed: dict[Key, int | float] = {}
    rules = sum_rules(report.tables, report.template)
    progress = True
    while progress:
        progress = False
        for left, right in rules:
            cells = left + right
            values = _values(report.tables, cells)
            if "absent" in values:
                continue
            unknown = [k for k, v in zip(cells, values, strict=True) if v is None]
            known = dict(zip(cells, values, strict=True))
            if len(unknown) > 1 and _zeros(left, right, known, unknown, candidates):
                for table, row, col in unknown:
                    report.tables[table][row][col] = 0
                    confirmed[(table, row, col)] = 0
                progress = True
                continue
            if not unknown or len(unknown) > MAX_UNKNOWN:
                continue
            if any(k not in candidates for k in unknown):
                continue
            fits = []
            for combo in itertools.product(*(sorted(candidates[k]) for k in unknown)):
                known.update(zip(unknown, combo, strict=True))
                if round(sum(known[k] for k in left) - sum(known[k] for k in right), 4) == 0:
                    fits.append(combo)
            if len(fits) != 1:
                continue
            if len(unknown) > 1 and not _each_checked_again(report, rules, unknown, fits[0]):
                continue
            for (table, row, col), value in zip(unknown, fits[0], strict=True):
                report.tables[table][row][col] = value
                confirmed[(table, row, col)] = value
            progress = True
    return confirmed


def _zeros(left: list[Key], right: list[Key], known: dict, unknown: list[Key], candidates) -> bool:
    """Whether several unsure cells, all on one side of a sum, must each be 0: the sum's
    other cells leave them 0 to add up to, and the engine read 0 in each (among its
    readings). Counts are never negative, so no other numbers fit: misreadings that still
    balance (523 → 923 with 507 → 907) need cells on both sides, or one below 0. Any number
    of cells: a row of zeros under a seal is the commonest thing a scan leaves unread."""
    if not (set(unknown) <= set(left) or set(unknown) <= set(right)):
        return False
    if any(0 not in candidates.get(k, ()) for k in unknown):
        return False
    rest = sum(known[k] for k in left if k not in unknown) - sum(
        known[k] for k in right if k not in unknown
    )
    return round(rest, 4) == 0


def _each_checked_again(report, rules, unknown: list[Key], values: tuple) -> bool:
    """Whether each of several cells filled together is also in another sum that, with
    them filled, has every cell known and holds. Two unsure cells of one sum can be misread
    alike (5 read 9 in both totals of a column: 523 → 923 and 507 → 907 still balance), so
    one sum does not confirm several readings; a second sum over each one does."""
    filled = dict(zip(unknown, values, strict=True))
    for key in unknown:
        checked = False
        for left, right in rules:
            cells = left + right
            if key not in cells or all(k in cells for k in unknown):
                continue  # not over this cell, or over all of them as the confirming sum is
            read = _values(report.tables, cells)
            got = [filled.get(k, v) for k, v in zip(cells, read, strict=True)]
            if any(v is None or v == "absent" for v in got):
                continue
            if round(sum(got[: len(left)]) - sum(got[len(left) :]), 4) == 0:
                checked = True
                break
        if not checked:
            return False
    return True
