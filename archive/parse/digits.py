"""Digits printed run together, split by the template and the table's arithmetic — or refused.

Text taken from web pages or PDF extractors often loses the separators between cells:
``一、本年新收政府信息公开申请数量142000016`` is seven cells, 14, 2, 0, 0, 0, 0 and 16.
The template fixes how many cells a row has; a number is never printed with a leading
zero (``0000000`` can only be seven zeros); a space that survived is a boundary no
number crosses. Read alone, the digits still allow many splits; the tables constrain
them. In table 3 every row's 总计 is the sum of its six applicant columns, and every
column satisfies 一 + 二 = 三（七）总计 + 四 and （七）总计 = the sum of the outcome rows;
in table 4 each block's 总计 is the sum of its four parts. Table 2 has no sums.

Every reading of every row is considered, jointly: a row is read only when *every*
assignment of readings to all the run-together rows of its table that satisfies all
of those sums gives that row the same numbers — a sum that a misreading satisfies as
well as the true reading (the same digits misread the same way on both sides of it)
then decides nothing, as it should. A row no reading of which adds up (the agency's own
arithmetic is wrong, so its digits cannot be trusted to any split), a row the sums leave
several readings for, and every row with several readings of a table whose sums hold
under no assignment at all (whichever row is misprinted, or hides a blank, cannot be
told), are refused and named — never guessed. A column rule whose rows are all decided
by their digits alone decides nothing and is not used (when such a rule fails, it is the
agency's arithmetic, which the checks report). Table 4's three blocks are each a row of
the record: when no reading makes all three add up, the blocks that do are read one by
one (``_decide_blocks``).

A blank cell leaves no digit behind. With ``blanks``, every reading also considers blank
cells anywhere (a blank counts as 0 in a sum, as in the checks); the caller allows for
them where a row of the document prints fewer digits than it has cells (blanks evidently
vanish from that rendering) and in table 2, which no sum protects.

The work is bounded: the readings of one row (``MAX_STEPS`` steps, ``MAX_READINGS``
readings kept) and the joint search of one table (``MAX_NODES`` steps). Past a bound the
rows concerned are refused with a reason that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Bounds on the work: beyond them the rows are refused, never guessed.
MAX_READINGS = 20000  # readings of one row kept
MAX_STEPS = 200_000  # steps of the walk that finds one row's readings
MAX_NODES = 50_000  # steps of the joint search over one table's rows

Value = int | float | None
Values = tuple[Value, ...]

# A printed token a split may take apart: digits, with a decimal part and a unit on the
# last number (采购总金额 3922533.2元), or a mark for a blank cell (/ — 无).
_NUMBER_TOKEN = re.compile(r"^(\d+)(\.\d+)?(?:万元|元|件|个|项|次)?$")
_MARK_TOKEN = re.compile(r"^(?:[/／\\]|[-—–－─]{1,2}|无)$")


@dataclass(frozen=True)
class Token:
    """One printed token: ``digits`` (empty for a blank mark) and the decimal part that
    belongs to the token's last number."""

    digits: str = ""
    fraction: str = ""

    @property
    def mark(self) -> bool:
        return not self.digits


def parse_tokens(printed: list[str]) -> list[Token] | None:
    """The tokens of a row as printed, or None when one is neither digits nor a mark."""
    out: list[Token] = []
    for text in printed:
        text = text.replace(" ", "")
        m = _NUMBER_TOKEN.match(text)
        if m:
            out.append(Token(m.group(1), m.group(2) or ""))
        elif _MARK_TOKEN.match(text):
            out.append(Token())
        else:
            return None
    return out


def digit_count(printed: list[str]) -> int:
    """How many cells the tokens could fill at most: one per digit, one per mark."""
    tokens = parse_tokens(printed) or []
    return sum(len(t.digits) or 1 for t in tokens)


@dataclass
class RunTogether:
    """A row whose printed tokens are fewer than its cells, or do not fill them one each."""

    table: str
    key: str  # a row key, or "t4" for table 4's single data row
    tokens: list[str]
    cols: tuple[str, ...]  # the column keys its cells stand for, in print order
    label: str = ""


# A sum within one row: (the cells it adds up, the cell that holds their total).
Sum = tuple[tuple[int, ...], int]


def row_sums(run: RunTogether) -> list[Sum]:
    """The row's own sums: table 3's 总计 (and a printed 小计), table 4's block totals."""
    cols = run.cols
    if run.table == "t3" and "total" in cols:
        applicants = tuple(i for i, c in enumerate(cols) if c not in ("total", "subtotal"))
        sums: list[Sum] = [(applicants, cols.index("total"))]
        if "subtotal" in cols:
            orgs = tuple(i for i in applicants if cols[i] != "natural_person")
            sums.append((orgs, cols.index("subtotal")))
        return sums
    if run.table == "t4" and len(cols) == 15:
        return [(tuple(range(b, b + 4)), b + 4) for b in range(0, 15, 5)]
    return []


def _n(v: Value) -> int | float:
    return v or 0


def adds_up(sums: list[Sum], values: Values) -> bool:
    return all(_n(values[total]) == sum(_n(values[i]) for i in parts) for parts, total in sums)


def row_adds_up(run: RunTogether, values: Values) -> bool:
    """Whether one reading of the row satisfies the row's own sums."""
    return adds_up(row_sums(run), values)


class _OverBudget(Exception):
    """The walk took more steps than allowed."""


class _Enough(Exception):
    """More readings were found than asked for."""


def readings(
    tokens: list[Token],
    width: int,
    sums: list[Sum] | None = None,
    *,
    blanks: bool = False,
    limit: int = MAX_READINGS,
) -> list[Values] | None:
    """Every reading of ``tokens`` as ``width`` cells that satisfies ``sums``.

    A token's digits are one or more numbers, none with a leading zero, none crossing
    into the next token; a mark is one blank cell; with ``blanks``, a blank cell may
    also stand anywhere without leaving a trace. A total whose parts all come before it
    is not guessed but computed, and its digits must follow; the row's last total is
    the digits the row ends with, tried at each length, and caps the parts before it.
    Returns at most ``limit`` + 1 readings (more than ``limit`` means "more than that"),
    or None when finding them took more than ``MAX_STEPS`` steps."""
    out: list[Values] = []
    steps = [MAX_STEPS]
    sums = [s for s in sums or [] if s[1] < width]
    try:
        last = next((s for s in sums if s[1] == width - 1 and max(s[0]) < s[1]), None)
        if last is None:
            _walk(tokens, width, sums, blanks, None, out, steps, limit)
        else:
            for pinned, head in _last_totals(tokens, blanks):
                _walk(head, width, sums, blanks, (last, pinned), out, steps, limit)
    except _OverBudget:
        return None
    except _Enough:
        pass
    return out


def _last_totals(tokens: list[Token], blanks: bool):
    """The values the row's last cell can hold, with the tokens left for the cells before
    it: each number the last token ends with, and (with ``blanks``) a vanished blank."""
    if tokens and not tokens[-1].mark and not tokens[-1].fraction:
        digits = tokens[-1].digits
        for start in range(len(digits)):
            text = digits[start:]
            if text != "0" and text.startswith("0"):
                continue
            head = tokens[:-1] + ([Token(digits[:start])] if start else [])
            yield (int(text), head)
    if tokens and tokens[-1].mark:
        yield (None, tokens[:-1])
    if blanks:
        yield (None, tokens)


def _walk(
    tokens: list[Token],
    width: int,
    sums: list[Sum],
    blanks: bool,
    pin: tuple[Sum, Value] | None,
    out: list[Values],
    steps: list[int],
    limit: int,
) -> None:
    """Depth first over the cells; see :func:`readings`. With ``pin`` the last cell's
    value is fixed and ``tokens`` are what the cells before it must use up."""
    totals = {total: parts for parts, total in sums if max(parts) < total}
    room = [0] * (len(tokens) + 1)  # the most cells tokens[t:] can fill: a digit or mark each
    for t in range(len(tokens) - 1, -1, -1):
        room[t] = room[t + 1] + (len(tokens[t].digits) or 1)
    cells = width - 1 if pin is not None else width
    capped: set[int] = set(pin[0][0]) if pin is not None else set()
    cap = _n(pin[1]) if pin is not None else 0
    # The parts of the last total are at most as long as it: from the first of them on,
    # the digits left must fit in that many numbers of that length.
    first_capped = min(capped) if capped and capped == set(range(min(capped), cells)) else None
    longest = len(str(int(cap))) if isinstance(cap, int) else None
    digits_left = [0] * (len(tokens) + 1)
    for t in range(len(tokens) - 1, -1, -1):
        digits_left[t] = digits_left[t + 1] + len(tokens[t].digits)
    acc: list[Value] = []

    def emit() -> None:
        if pin is not None:
            (parts, _), value = pin
            if sum(_n(acc[i]) for i in parts) != _n(value):
                return
            acc.append(value)
            out.append(tuple(acc))
            acc.pop()
        else:
            out.append(tuple(acc))
        if len(out) > limit:
            raise _Enough

    def step(i: int, t: int, p: int) -> None:
        steps[0] -= 1
        if steps[0] < 0:
            raise _OverBudget
        if i == cells:
            if t == len(tokens):
                emit()
            return
        left = cells - i
        need = len(tokens) - t  # every token not yet used needs a cell of its own
        if left < need or (not blanks and left > room[t] - p):
            return
        if (
            first_capped is not None
            and longest is not None
            and i >= first_capped
            and digits_left[t] - p > left * longest
        ):
            return
        parts = totals.get(i)
        due = sum(_n(acc[k]) for k in parts) if parts is not None else None
        if blanks and left - 1 >= need and not due:
            acc.append(None)  # a blank cell that left no trace
            step(i + 1, t, p)
            acc.pop()
        if t == len(tokens):
            return
        token = tokens[t]
        if token.mark:
            if not due:
                acc.append(None)
                step(i + 1, t + 1, 0)
                acc.pop()
            return
        digits = token.digits
        if due is not None:  # a total: its value is known, its digits must follow
            if isinstance(due, float) or token.fraction:
                ends = range(p + 1, len(digits) + 1)  # amounts with decimals: compare
            else:
                text = str(due)
                ends = range(p + len(text), p + len(text) + 1)
            for q in ends:
                if q > len(digits):
                    break
                value = _number(token, p, q)
                if value is not None and value == due:
                    acc.append(value)
                    step(i + 1, *((t + 1, 0) if q == len(digits) else (t, q)))
                    acc.pop()
            return
        so_far = sum(_n(acc[k]) for k in capped if k < i) if i in capped else 0
        for q in range(p + 1, len(digits) + 1):
            value = _number(token, p, q)
            if value is None:
                break  # a leading zero: no longer number starting here either
            if i in capped and value > cap - so_far:
                break  # longer numbers are larger still
            acc.append(value)
            step(i + 1, *((t + 1, 0) if q == len(digits) else (t, q)))
            acc.pop()

    step(0, 0, 0)


def _number(token: Token, p: int, q: int) -> int | float | None:
    """The number ``token.digits[p:q]`` (with the token's decimal part when it ends the
    token), or None when it would have a leading zero."""
    text = token.digits[p:q]
    if len(text) > 1 and text[0] == "0":
        return None
    if q == len(token.digits) and token.fraction:
        return float(text + token.fraction)
    return int(text)


def compositions(tokens: list[str], width: int, blanks: bool = False) -> list[Values] | None:
    """Every reading of printed ``tokens`` as ``width`` cells, sums aside (None: more than
    ``MAX_READINGS`` of them, or more than ``MAX_STEPS`` steps to find them)."""
    parsed = parse_tokens(tokens)
    if parsed is None:
        return []
    found = readings(parsed, width, blanks=blanks)
    return None if found is None or len(found) > MAX_READINGS else found


def summed_splits(tokens: list[str], groups: list[int]) -> list[Values] | None:
    """Every reading of ``tokens`` as groups of free numbers each followed by their sum
    (table 3: [6], table 4: [4, 4, 4]); None past the bounds."""
    sums: list[Sum] = []
    at = 0
    for size in groups:
        sums.append((tuple(range(at, at + size)), at + size))
        at += size + 1
    parsed = parse_tokens(tokens)
    if parsed is None:
        return []
    found = readings(parsed, at, sums)
    return None if found is None or len(found) > MAX_READINGS else found


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
    """What the solver decided for one table: rows read, rows refused with the reason,
    and for rows read, how (the warning's words)."""

    read: dict[str, Values] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    # A row of blocks (table 4) of which only some could be decided: block → its cells;
    # ``refused`` then says why the others were not.
    blocks: dict[str, dict[int, Values]] = field(default_factory=dict)


TOO_LONG = "the split would take too long to decide"


def solve(
    runs: list[RunTogether],
    fixed: dict[str, Values],
    rules: list[Rule],
    width: int,
    blanks: bool = False,
) -> Outcome:
    """Decide every run-together row of one table (see the module's docstring).

    ``fixed``: rows of the table read from their printed cells; ``rules``: its column
    rules; ``width``: the cells the rules add up per row; ``blanks``: whether blank cells
    may have vanished from this rendering."""
    outcome = Outcome()
    options: dict[str, list[Values]] = {}
    settled: dict[str, Values] = dict(fixed)  # rows whose digits alone decide them
    for run in runs:
        tokens = parse_tokens(run.tokens)
        if tokens is None:
            outcome.refused[run.key] = "printed something other than digits between its cells"
            continue
        width_ = len(run.cols)
        any_two = readings(tokens, width_, blanks=blanks, limit=1)
        sums = row_sums(run)
        if any_two is not None and not any_two:
            outcome.refused[run.key] = (
                f"its digits cannot fill its {width_} cells"
                if blanks or digit_count(run.tokens) >= width_
                else f"{digit_count(run.tokens)} digits for {width_} cells: a blank cell's "
                f"place is unknown"
            )
            continue
        if any_two is not None and len(any_two) == 1:
            values = any_two[0]
            if not adds_up(sums, values) and _blocks_of(sums):
                _decide_blocks(outcome, run, tokens, sums, blanks)
                continue
            if not adds_up(sums, values):
                outcome.refused[run.key] = (
                    "no way of splitting the digits makes the row add up (its one split "
                    "does not: the agency's own total is wrong, so the digits cannot be trusted)"
                )
                continue
            settled[run.key] = values
            outcome.read[run.key] = _drop_subtotal(run, values)
            outcome.how[run.key] = "the only split of its digits"
            continue
        if not sums:
            outcome.refused[run.key] = (
                TOO_LONG if any_two is None else "several splits fit and no sum decides"
            )
            continue
        found = readings(tokens, width_, sums, blanks=blanks)
        if found is None or len(found) > MAX_READINGS:
            outcome.refused[run.key] = (
                f"more than {MAX_READINGS} ways to split the digits" if found else TOO_LONG
            )
            continue
        fitting = list(dict.fromkeys(_drop_subtotal(run, v) for v in found if adds_up(sums, v)))
        if len(fitting) != 1 and _blocks_of(sums):
            _decide_blocks(outcome, run, tokens, sums, blanks, found)
            continue
        if not fitting:
            outcome.refused[run.key] = "no way of splitting the digits makes the row add up"
            continue
        options[run.key] = fitting
    if not options:
        return outcome
    if not rules:
        for key, fitting in options.items():
            if len(fitting) == 1:
                outcome.read[key] = fitting[0]
                outcome.how[key] = "the only split that adds up"
            else:
                outcome.refused[key] = f"{len(fitting)} ways of splitting the digits fit"
        return outcome
    _decide_jointly(outcome, options, settled, rules, width)
    return outcome


def _blocks_of(sums: list[Sum]) -> list[tuple[int, int]]:
    """The cell ranges [first, last] of a row made of blocks, each its parts then their
    total, side by side (table 4's three); empty for any other row."""
    blocks = sorted((min(parts), total) for parts, total in sums)
    whole = [(parts, total) for parts, total in sums if set(parts) == set(range(min(parts), total))]
    if len(sums) < 2 or len(whole) != len(sums):
        return []
    if any(a[1] >= b[0] for a, b in zip(blocks, blocks[1:], strict=False)):
        return []
    return blocks


def _decide_blocks(
    outcome: Outcome,
    run: RunTogether,
    tokens: list[Token],
    sums: list[Sum],
    blanks: bool,
    found: list[Values] | None = None,
) -> None:
    """A row of blocks, each with its own total, when no single reading of the whole row
    adds up: each block is a row of the record (table 4's 行政复议 and two 行政诉讼), and its
    own total is evidence for it alone. A block is read when every reading in which it
    adds up agrees on it, together with the blocks that must add up to place it: those
    before it (their digits come first) or those after it (theirs come last). When every
    block adds up in some reading, that is the evidence; a block the two directions read
    differently is refused."""
    blocks = _blocks_of(sums)
    order = sorted(sums, key=lambda s: s[1])
    width = len(run.cols)
    evidence: list[tuple[range, list[Values]]] = []
    if found is None:
        found = readings(tokens, width, sums, blanks=blanks)
    if found and len(found) <= MAX_READINGS:
        evidence.append((range(len(blocks)), found))
    else:
        for k in range(len(blocks) - 1, 0, -1):  # the first k blocks add up
            prefix = readings(tokens, width, order[:k], blanks=blanks)
            if prefix and len(prefix) <= MAX_READINGS:
                evidence.append((range(k), prefix))
                break
        for k in range(1, len(blocks)):  # the blocks from the k-th on add up
            suffix = readings(tokens, width, order[k:], blanks=blanks)
            if suffix and len(suffix) <= MAX_READINGS:
                evidence.append((range(k, len(blocks)), suffix))
                break
    decided: dict[int, Values] = {}
    doubtful: set[int] = set()
    for indices, readings_ in evidence:
        for b in indices:
            first, last = blocks[b]
            values = {v[first : last + 1] for v in readings_}
            if len(values) != 1 or (b in decided and decided[b] != next(iter(values))):
                doubtful.add(b)
            else:
                decided[b] = next(iter(values))
    decided = {b: v for b, v in decided.items() if b not in doubtful}
    if len(decided) == len(blocks):
        outcome.read[run.key] = tuple(v for b in range(len(blocks)) for v in decided[b])
        outcome.how[run.key] = "the only split under which each block adds up"
        return
    if decided:
        outcome.blocks[run.key] = decided
        outcome.how[run.key] = "the only split under which these blocks add up"
    outcome.refused[run.key] = (
        "no split makes every block add up, and the digits of the others cannot be placed for sure"
        if not found
        else "more than one way of splitting the digits makes every block add up"
    )


def _drop_subtotal(run: RunTogether, values: Values) -> Values:
    """The record knows table 3's seven columns; a printed 小计 is checked, then set aside."""
    return tuple(v for c, v in zip(run.cols, values, strict=True) if c != "subtotal")


def _decide_jointly(
    outcome: Outcome,
    options: dict[str, list[Values]],
    settled: dict[str, Values],
    rules: list[Rule],
    width: int,
) -> None:
    """Rows with readings that add up, decided under the table's column rules."""
    # Rows refused above take no part: a rule that needs one of them cannot be checked.
    known = set(options) | set(settled)
    checks = [
        (left, right, col)
        for left, right in rules
        if set(left + right) <= known and any(k in options for k in left + right)
        for col in range(width)
    ]
    # Rows with one reading first, then those a rule sums to (they bound the rest).
    order = sorted(options, key=lambda k: (len(options[k]) > 1, len(options[k])))
    budget = [MAX_NODES]  # shared by every search of this table
    first = _search(order, options, settled, checks, budget)
    if first is None:
        # Even a row its own total decides is refused: that the table's sums fail under
        # every split says its digits are not what the split assumes (a misprint, or a
        # blank cell that left no trace), and which row it is cannot be told.
        for key in order:
            outcome.refused[key] = (
                TOO_LONG
                if budget[0] < 0
                else "no way of splitting the digits makes the table's sums hold, so no "
                "split can be trusted"
            )
        return
    for key in order:
        if len(options[key]) == 1:
            outcome.read[key] = first[key]
            outcome.how[key] = "the only split that adds up"
            continue
        others = dict(options)
        others[key] = [v for v in options[key] if v != first[key]]
        second = _search(order, others, settled, checks, budget)
        if second is None and budget[0] >= 0:
            outcome.read[key] = first[key]
            outcome.how[key] = "the only split under which the table's sums hold"
        else:
            outcome.refused[key] = (
                TOO_LONG
                if second is None
                else "more than one way of splitting the digits makes the table add up"
            )


@dataclass
class _Check:
    """One column of one rule, with what the settled rows already add on each side."""

    left: tuple[str, ...]  # rows still to choose, on each side
    right: tuple[str, ...]
    col: int
    left_settled: int | float
    right_settled: int | float


def _search(
    order: list[str],
    options: dict[str, list[Values]],
    settled: dict[str, Values],
    checks: list[tuple[tuple[str, ...], tuple[str, ...], int]],
    budget: list[int],
) -> dict[str, Values] | None:
    """One assignment of ``order``'s rows satisfying every check (depth first), or None.

    A row's choice is checked against the rules it takes part in only, each with the sum
    its settled rows already make. ``budget`` is decremented per node; when it runs out
    the search gives up (None)."""
    chosen: dict[str, Values] = {}
    prepared = [
        _Check(
            tuple(r for r in left if r not in settled),
            tuple(r for r in right if r not in settled),
            col,
            sum(_n(settled[r][col]) for r in left if r in settled),
            sum(_n(settled[r][col]) for r in right if r in settled),
        )
        for left, right, col in checks
    ]
    involving = {key: [c for c in prepared if key in c.left or key in c.right] for key in order}

    def side(rows: tuple[str, ...], col: int, base: int | float) -> tuple[int | float, bool]:
        s, complete = base, True
        for r in rows:
            v = chosen.get(r)
            if v is None:
                complete = False
            else:
                s += _n(v[col])
        return s, complete

    def consistent(key: str) -> bool:
        for c in involving[key]:
            ls, lc = side(c.left, c.col, c.left_settled)
            rs, rc = side(c.right, c.col, c.right_settled)
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
        key = order[i]
        for values in options[key]:
            chosen[key] = values
            if consistent(key) and walk(i + 1):
                return True
        del chosen[key]
        return False

    return dict(chosen) if walk(0) else None


def describe(values: Values) -> str:
    return " ".join("·" if v is None else str(v) for v in values)


__all__ = ["RunTogether", "Token", "readings", "compositions", "solve", "t3_rules", "describe"]
