"""Matching printed labels to template keys.

Real reports print the official labels with full- or half-width brackets, stray
spaces, line breaks inside a label, missing 、 and shortened headings. Matching
works on a normalised form and on the distinctive phrases the template lists
for each label, so that （二）部分公开（区分处理的…） and "(二) 部分公开" both find
``partially_granted``. A label that matches nothing is never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from archive.store.templates import Entry

# Punctuation and decoration that carry no meaning in a label.
_NOISE = re.compile(
    r"[\s\u3000\u00a0“”\"'‘’、，,。.:：;；·•\-—_/（）()【】\[\]{}<>《》〈〉〔〕［］]"
)
# Numbering in front of a label: 一、 （七） (2) 3. 1、
# Brackets as printed or as OCR reads them: （六）, 〔六〕, 〈六 ), [六].
_OPEN, _CLOSE = r"[（(〈<《〔［\[]", r"[）)〉>》〕］\]]"
_NUMBERING = re.compile(
    rf"^\s*(?:[一二三四五六七八九十]+[、.．]|{_OPEN}\s*[一二三四五六七八九十\d]+\s*{_CLOSE}"
    r"|\d+\s*[、.．])\s*"
)


def normalize(text: str) -> str:
    """Fold widths (NFKC), drop white space and punctuation: the comparable core of a label."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or ""))


@lru_cache(maxsize=2048)
def _phrase(phrase: str) -> str:
    """A template phrase in normalised form (``=`` marker dropped), computed once."""
    return normalize(phrase[1:] if phrase.startswith("=") else phrase)


def strip_numbering(text: str) -> str:
    """Remove the leading 一、/（三）/1. numbering of a label, repeatedly (（三）1. …)."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    while True:
        stripped = _NUMBERING.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


_LEADING_NUMBER = re.compile(
    rf"^\s*(?:([一二三四五六七八九十]+)[、.．]|{_OPEN}\s*([一二三四五六七八九十\d]+)\s*{_CLOSE}"
    r"|(\d+)\s*[、.．])"
)


def numbering(text: str) -> str | None:
    """The number a label is printed with (2. → "2", （三） → "三", 一、 → "一"), or None."""
    m = _LEADING_NUMBER.match(unicodedata.normalize("NFKC", text or ""))
    return next((g for g in m.groups() if g), None) if m else None


def _lcs(a: str, b: str) -> int:
    """Length of the longest common subsequence of two short strings."""
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def label_similarity(printed: str, label: str) -> float:
    """How much a printed label resembles a template label, 0 to 1: their cores' longest
    common subsequence over the longer core. Dropped, added and swapped characters
    (``其他法律行政止公开`` for ``其他法律行政法规禁止公开``: 0.75) lower it gradually."""
    a, b = _core(printed), _core(label)
    if not a or not b:
        return 0.0
    return _lcs(a, b) / max(len(a), len(b))


@dataclass(frozen=True)
class Match:
    entry: Entry
    strength: int  # length of the phrase that matched; exact matches rank above contained ones
    fuzzy: bool = False  # matched only with one character misprinted (the reader warns)


# A phrase this long, misprinted in one character, is still unmistakable; shorter ones are not.
FUZZY_MIN = 6


def _one_off(phrase: str, core: str) -> bool:
    """Whether ``core`` holds ``phrase`` with exactly one character replaced (a typo)."""
    n = len(phrase)
    for i in range(len(core) - n + 1):
        window = core[i : i + n]
        if sum(a != b for a, b in zip(window, phrase, strict=True)) == 1:
            return True
    return False


def _fuzzy(core: str, entries: list[Entry]) -> Match | None:
    """The one entry whose long phrase the label holds with a single misprinted character."""
    found: dict[str, Match] = {}
    for entry in entries:
        for phrase in entry.match:
            norm = _phrase(phrase)
            if len(norm) >= FUZZY_MIN and _one_off(norm, core):
                found.setdefault(entry.key, Match(entry, len(norm), fuzzy=True))
    return next(iter(found.values())) if len(found) == 1 else None


@lru_cache(maxsize=8192)
def _core(text: str) -> str:
    """The comparable core of a label; the same labels recur in every report."""
    return normalize(strip_numbering(text))


def match_label(text: str, entries: list[Entry], fuzzy: bool = False) -> Match | None:
    """The entry whose phrases fit ``text`` best, or None.

    A phrase ``=X`` must equal the whole label (after numbering and noise are gone);
    other phrases must be contained in it. The longest phrase wins; a tie between
    different keys is no match, since a wrong key is worse than none. With ``fuzzy``,
    a label matching nothing may still name the one entry whose long phrase it holds
    with a single character misprinted (``Match.fuzzy``; callers warn).
    """
    core = _core(text)
    if not core:
        return None
    best: list[Match] = []
    for entry in entries:
        for phrase in entry.match:
            norm = _phrase(phrase)
            if phrase.startswith("="):
                hit = core == norm
                strength = 1000 + len(phrase) if hit else 0
            else:
                hit = norm in core
                strength = len(norm) if hit else 0
            if hit:
                best.append(Match(entry, strength))
    if not best:
        return _fuzzy(core, entries) if fuzzy and len(core) >= FUZZY_MIN else None
    top = max(m.strength for m in best)
    winners = {m.entry.key: m for m in best if m.strength == top}
    if len(winners) != 1:
        return None
    return next(iter(winners.values()))


def columns_in(text: str, entries: list[Entry]) -> list[Entry]:
    """Every column label ``text`` holds, in the order printed: a header cell may hold
    several when a text extractor ran them together (信息内容上一年项目数量本年增/减…).

    Phrases that must equal a whole label (``=其他``) are not looked for inside longer
    text (其他 is inside 法人或其他组织); a cell that is exactly such a label is one."""
    core = normalize(text)
    if not core:
        return []
    spans: list[tuple[int, int, Entry]] = []
    for entry in entries:
        for phrase in entry.match:
            if phrase.startswith("="):
                continue
            norm = _phrase(phrase)
            start = core.find(norm)
            while start >= 0:
                spans.append((start, start + len(norm), entry))
                start = core.find(norm, start + 1)
    taken: list[tuple[int, int, Entry]] = []
    for span in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):  # longest first
        if all(span[1] <= t[0] or span[0] >= t[1] for t in taken):
            taken.append(span)
    found: list[Entry] = []
    for _, _, entry in sorted(taken, key=lambda s: s[0]):
        if not found or found[-1].key != entry.key:
            found.append(entry)
    if len(found) <= 1:
        whole = match_label(text, entries)
        return [whole.entry] if whole else found
    return found


# Where a new label starts inside a run of labels: its numbering (二、 （一） 1.), not at
# the start of the run. An Arabic numbering digit follows no digit or point of its own.
_RUN_NUMBERING = re.compile(
    rf"[一二三四五六七八九十]+[、.．](?=\S)|{_OPEN}\s*[一二三四五六七八九十]+\s*{_CLOSE}"
    r"|(?<![\d.．])\d[.．、](?=[\u4e00-\u9fff])"
)


def _normalized_with_positions(text: str) -> tuple[str, list[int]]:
    """``normalize(text)`` and, for each of its characters, the index in ``text`` it came
    from, so that a phrase found in the normalised form can be cut out of the text."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for folded in unicodedata.normalize("NFKC", ch):
            if not _NOISE.match(folded):
                chars.append(folded)
                where.append(i)
    return "".join(chars), where


def split_run(text: str, columns: list[Entry]) -> list[str]:
    """A run of labels as separate labels: where text lost the boundaries between cells,
    a section heading, a block title, column headers and a row's label run into one
    (二、主动公开政府信息情况第二十条第（一）项信息内容本年制发件数本年废止件数现行有效件数规章).
    The run is cut before each numbering and after each column label it holds, so the
    row's own label comes out last; text with neither is returned whole."""
    cuts: set[int] = {m.start() for m in _RUN_NUMBERING.finditer(text) if m.start() > 0}
    core, where = _normalized_with_positions(text)
    spans: list[tuple[int, int]] = []
    phrases = sorted(
        {_phrase(p) for e in columns for p in e.match if not p.startswith("=")}, key=len
    )
    for phrase in reversed(phrases):  # longest first; a shorter one inside it is no label
        start = core.find(phrase)
        while phrase and start >= 0:
            end = start + len(phrase)
            if all(end <= a or start >= b for a, b in spans):
                spans.append((start, end))
            start = core.find(phrase, start + 1)
    cuts |= {where[end - 1] + 1 for _, end in spans}
    pieces = [
        text[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(text)], strict=True)
    ]
    return [p.strip() for p in pieces if p.strip()]
