"""Digits printed run together, split by the table's own arithmetic — or refused.

Text pasted from web pages or PDF extractors sometimes loses the separators between
cells: ``一、本年新收政府信息公开申请数量 142000016`` is seven cells, 14, 2, 0, 0, 0, 0
and 16. Read alone the digits allow many splits; the tables constrain them. In
table 3 every row's 总计 is the sum of its six applicant columns, and every column
satisfies 一 + 二 = 三（七）总计 + 四 and （七）总计 = the sum of the outcome rows; in
table 4 each block's 总计 is the sum of its four parts. A number is never printed
with a leading zero, so ``0000000`` can only be seven zeros.

A row is read only when *every* way of splitting all the run-together rows of its
table that satisfies all of those sums gives that row the same numbers. A row whose
split is not unique — or that no split makes add up (the agency's own arithmetic may
be wrong, and then no split can be trusted) — is refused and named. Table 2 has no
sums: its rows are read only when their digits allow a single split at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

# Bounds on the work for one table: beyond them the rows are refused, never guessed.
MAX_CANDIDATES = 20000
MAX_NODES = 50_000

Values = tuple[int | None, ...]
T3_APPLICANT_COLS = 6  # the six applicant columns come first, 总计 last


@dataclass
class RunTogether:
    """A row whose printed tokens are fewer than its cells: digits that ran together."""

    table: str
    key: str  # a row key, or "t4" for table 4's single data row
    tokens: list[str]
    cols: tuple[str, ...]  # the column keys its cells stand for, in print order
    label: str = ""
    candidates: list[Values] = field(default_factory=list)


def _splits(digits: str, parts: int) -> Iterator[tuple[int, ...]]:
    """Every way to read ``digits`` as ``parts`` numbers, none with a leading zero."""
    if parts == 1:
        if digits and (digits == "0" or digits[0] != "0"):
            yield (int(digits),)
        return
    if digits[0] == "0":  # a leading 0 is the number 0 itself
        for rest in _splits(digits[1:], parts - 1) if len(digits) > 1 else ():
            yield (0, *rest)
        return
    for cut in range(1, len(digits) - parts + 2):
        for rest in _splits(digits[cut:], parts - 1):
            yield (int(digits[:cut]), *rest)


def summed_splits(tokens: list[str], groups: list[int]) -> list[Values] | None:
    """Every reading of digit ``tokens`` as cells laid out in ``groups``: each group is that
    many free numbers followed by their sum (table 3: [6], table 4: [4, 4, 4]).

    The sums prune the search: once a group's numbers are chosen its sum is known, and
    the digits that follow must spell it. A number never spans two tokens (a printed
    separator), and never has a leading zero. None when there are too many readings."""
    digits = "".join(tokens)
    ends: set[int] = set()
    at = 0
    for token in tokens:
        at += len(token)
        ends.add(at)  # a printed separator: a number ends here
    boundary = sorted(ends)

    def limit(p: int) -> int:
        return next(b for b in boundary if b > p)  # where the token holding p ends

    out: list[Values] = []
    layout = [(g, k) for g, size in enumerate(groups) for k in range(size + 1)]
    cells_left = [len(layout) - i for i in range(len(layout) + 1)]

    def number(p: int, q: int) -> int | None:
        text = digits[p:q]
        return int(text) if text == "0" or not text.startswith("0") else None

    last = len(groups) - 1
    last_start = len(layout) - groups[last] - 1  # the first cell of the last group

    def walk(i: int, p: int, acc: tuple[int, ...], group_sum: int, end: int | None) -> bool:
        """Cells from ``i`` on, from digit ``p``. ``end``: where the last group's parts end
        once its sum (the digits from ``end`` to the end of the string) is chosen."""
        if i == len(layout):
            if p == len(digits):
                out.append(acc)
            return len(out) <= MAX_CANDIDATES
        if len(digits) - p < cells_left[i]:
            return True
        g, k = layout[i]
        if i == last_start and end is None:
            # The last group's sum is the digits the string ends with: try each length;
            # its parts then fill exactly the digits before it and add up to it.
            for length in range(1, len(digits) - p - groups[last] + 1):
                start = len(digits) - length
                if start < boundary_before(len(digits)):
                    continue  # a number never spans a printed separator
                if number(start, len(digits)) is not None and not walk(i, p, acc, 0, start):
                    return False
            return True
        if k == groups[g]:  # the group's sum: its digits must follow
            if end is not None and g == last:
                if p == end and group_sum == number(end, len(digits)):
                    return walk(i + 1, len(digits), (*acc, group_sum), 0, end)
                return True
            text = str(group_sum)
            q = p + len(text)
            if digits.startswith(text, p) and q <= limit(p):
                return walk(i + 1, q, (*acc, group_sum), 0, end)
            return True
        stop = limit(p)
        cap = None
        if end is not None and g == last:
            total = number(end, len(digits))
            if total is None:  # never: ``end`` is only chosen where the sum is a number
                return True
            stop, cap = min(stop, end), total - group_sum
            parts_left = groups[g] - k  # this one included
            room = end - p - (parts_left - 1)  # digits the longest remaining part may take
            if room < 1 or cap < 0 or cap >= 10**room + 9 * parts_left:
                return True  # the rest cannot reach the sum (or has no room)
        for q in range(p + 1, stop + 1):
            n = number(p, q)
            if n is None or (cap is not None and n > cap):
                break
            if not walk(i + 1, q, (*acc, n), group_sum + n, end):
                return False
        return True

    def boundary_before(q: int) -> int:
        return max((b for b in [0, *boundary] if b < q), default=0)

    return out if walk(0, 0, (), 0, None) else None


def compositions(tokens: list[str], width: int) -> list[Values] | None:
    """Every reading of ``tokens`` as ``width`` cells (None: more than MAX_CANDIDATES, or
    more than MAX_NODES × 10 partial readings looked at to find them).

    A digit token is one or more numbers; any other token (a blank mark) one blank cell.
    Each token takes no more cells than the tokens after it leave room for, and no fewer
    than they can fill: without the second bound, 28 digits over 15 cells walked 83 s
    of readings that could never end on the last cell before the count refused them."""
    out: list[Values] = []
    # the most cells tokens[i:] can fill: one per digit, one per blank mark
    most = [0] * (len(tokens) + 1)
    for i in range(len(tokens) - 1, -1, -1):
        most[i] = most[i + 1] + (len(tokens[i]) if tokens[i].isdigit() else 1)
    budget = [MAX_NODES * 10]

    def walk(i: int, room: int, acc: Values) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if i == len(tokens):
            if room == 0:
                out.append(acc)
            return len(out) <= MAX_CANDIDATES
        token = tokens[i]
        rest = len(tokens) - i - 1  # every later token needs at least one cell
        if not token.isdigit():
            fits = rest <= room - 1 <= most[i + 1]
            return walk(i + 1, room - 1, (*acc, None)) if fits else True
        for parts in range(max(1, room - most[i + 1]), min(len(token), room - rest) + 1):
            for numbers in _splits(token, parts):
                if not walk(i + 1, room - parts, acc + numbers):
                    return False
        return True

    return out if walk(0, width, ()) else None


def _n(v: int | None) -> int:
    return v or 0


def row_adds_up(run: RunTogether, values: Values) -> bool:
    """The row's own sums: table 3's 总计 (and any 小计), table 4's block totals."""
    if run.table == "t3":
        cells = dict(zip(run.cols, values, strict=True))
        applicants = [c for c in run.cols if c not in ("total", "subtotal")]
        if "subtotal" in cells:
            orgs = [c for c in applicants if c != "natural_person"]
            if _n(cells["subtotal"]) != sum(_n(cells[c]) for c in orgs):
                return False
        return _n(cells["total"]) == sum(_n(cells[c]) for c in applicants)
    if run.table == "t4":
        return all(
            _n(values[i + 4]) == sum(_n(v) for v in values[i : i + 4]) for i in range(0, 15, 5)
        )
    return True  # table 2 has no sums


def _sum_groups(run: RunTogether) -> list[int] | None:
    """The row's layout as groups of free numbers each followed by their sum, when it has
    one: table 3's seven columns ([6]), table 4's three blocks ([4, 4, 4])."""
    if run.table == "t3" and len(run.cols) == 7 and run.cols[-1] == "total":
        return [6]
    if run.table == "t4" and len(run.cols) == 15:
        return [4, 4, 4]
    return None


# A column rule: (left rows, right rows): Σ left = Σ right in every column.
Rule = tuple[tuple[str, ...], tuple[str, ...]]


def t3_rules(result_rows: list[str], present: set[str]) -> list[Rule]:
    """Table 3's column rules over the rows the document printed."""
    rules: list[Rule] = []
    balance = ("new_requests", "carried_over"), ("results_total", "carried_forward")
    if set(balance[0] + balance[1]) <= present:
        rules.append(balance)
    if "results_total" in present and set(result_rows) <= present:
        rules.append((("results_total",), tuple(result_rows)))
    return rules


@dataclass
class Outcome:
    """What the solver decided for one table: rows read, rows refused with the reason."""

    read: dict[str, Values] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def _search(
    order: list[str],
    options: dict[str, list[Values]],
    fixed: dict[str, Values],
    rules: list[Rule],
    width: int,
    budget: list[int],
) -> dict[str, Values] | None:
    """One assignment of ``order``'s rows satisfying every rule (depth first), or None.

    ``budget`` is decremented per node; when it runs out the search gives up (None)."""
    chosen: dict[str, Values] = {}

    def total(rows: tuple[str, ...], col: int) -> tuple[int, bool]:
        s, complete = 0, True
        for r in rows:
            v = chosen.get(r, fixed.get(r))
            if v is None:
                complete = False
            else:
                s += _n(v[col])
        return s, complete

    def consistent() -> bool:
        for left, right in rules:
            for col in range(width):
                ls, lc = total(left, col)
                rs, rc = total(right, col)
                if lc and rc and ls != rs:
                    return False
                # Counts are never negative: a finished side bounds the other's partial sum.
                if (lc and rs > ls) or (rc and ls > rs):
                    return False
        return True

    def walk(i: int) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if i == len(order):
            return True
        for values in options[order[i]]:
            chosen[order[i]] = values
            if consistent() and walk(i + 1):
                return True
        del chosen[order[i]]
        return False

    return dict(chosen) if walk(0) else None


def solve(
    runs: list[RunTogether],
    fixed: dict[str, Values],
    rules: list[Rule],
    width: int,
) -> Outcome:
    """Decide every run-together row of one table (see the module's docstring)."""
    outcome = Outcome()
    options: dict[str, list[Values]] = {}
    for run in runs:
        groups = _sum_groups(run)
        if groups and all(t.isdigit() for t in run.tokens):
            found = summed_splits(run.tokens, groups)
        else:
            found = compositions(run.tokens, len(run.cols))
        if found is None:
            outcome.refused[run.key] = f"more than {MAX_CANDIDATES} ways to split the digits"
            continue
        # The rules and the record know table 3's seven columns; a printed 小计 is checked
        # above (``row_adds_up``) and then set aside.
        keep = [i for i, c in enumerate(run.cols) if c != "subtotal"]
        fitting = list(
            dict.fromkeys(tuple(v[i] for i in keep) for v in found if row_adds_up(run, v))
        )
        if not fitting:
            outcome.refused[run.key] = "no way of splitting the digits makes the row add up"
            continue
        options[run.key] = fitting
    if not rules:
        for key, fitting in options.items():
            if len(fitting) == 1:
                outcome.read[key] = fitting[0]
            else:
                outcome.refused[key] = f"{len(fitting)} ways of splitting the digits fit"
        return outcome
    # Rows refused above take no part in the rules: a rule that needs them cannot be checked.
    usable = [r for r in rules if all(k in options or k in fixed for k in r[0] + r[1])]
    # Rows with one reading first, then those a rule sums to (they bound the rest).
    sums = {k for left, right in usable for k in (left if len(left) <= len(right) else right)}
    order = sorted(options, key=lambda k: (len(options[k]) > 1, k not in sums, len(options[k])))
    budget = [MAX_NODES]  # shared by every search of this table
    first = _search(order, options, fixed, usable, width, budget)
    if first is None:
        reason = (
            "the split would take too long to decide"
            if budget[0] < 0
            else "no way of splitting the digits makes the table add up"
        )
        for key in order:
            outcome.refused[key] = reason
        return outcome
    for key in order:
        if len(options[key]) == 1:
            outcome.read[key] = first[key]
            continue
        others = dict(options)
        others[key] = [v for v in options[key] if v != first[key]]
        second = _search(order, others, fixed, usable, width, budget)
        if second is None and budget[0] >= 0:
            outcome.read[key] = first[key]
        else:
            outcome.refused[key] = (
                "the split would take too long to decide"
                if second is None
                else "more than one way of splitting the digits makes the table add up"
            )
    return outcome


def describe(values: Values) -> str:
    return " ".join("·" if v is None else str(v) for v in values)


__all__ = ["RunTogether", "compositions", "solve", "t3_rules", "describe"]
