"""The narrative of a report, split into its six sections.

Both templates prescribe six sections; their headings vary in wording between the
templates and between agencies (2019 reports often print
``五、政府信息公开工作存在的主要问题及改进情况``, older ones
``四、因政府信息公开工作被申请行政复议和提起行政诉讼情况``), so a heading is
recognised by its number and key words, not by exact text, and only in order: the
table-3 rows ``一、本年新收…`` to ``四、结转下年度继续办理`` also start with 一 to 四
but name none of the key words. The text before 一、 is the preface. Lines that
belong to the statistical tables (table rows in HTML and text, cell texts a PDF's
text layer repeats) are left out of the sections: they are in the cells.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from archive.parse.document import Document
from archive.parse.labels import normalize

# (number, key, canonical heading, key words: any of them names the section)
SECTIONS = (
    (1, "overall", "一、总体情况", ("总体情况", "概述", "总体")),
    (2, "proactive", "二、主动公开政府信息情况", ("主动公开",)),
    (3, "requests", "三、收到和处理政府信息公开申请情况", ("收到和处理", "依申请公开", "申请情况")),
    (4, "review_litigation", "四、政府信息公开行政复议、行政诉讼情况", ("复议", "诉讼")),
    (5, "problems", "五、存在的主要问题及改进情况", ("问题", "改进")),
    (6, "other", "六、其他需要报告的事项", ("其他需要报告", "其他事项", "需要报告")),
)
SECTION_KEYS = {number: key for number, key, _, _ in SECTIONS}
_NUMERALS = "一二三四五六"
_HEADING = re.compile(r"^\s*([一二三四五六])\s*[、.．]\s*(\S.*)$")
MAX_HEADING = 40  # characters after the number; longer is a paragraph, not a heading
_VALUE = re.compile(r"^(?:[+-]?\d[\d,]*(?:\.\d+)?(?:万元|元|件|%)?|[/／\\]|[-—–－]{1,2})$")


@dataclass
class Section:
    number: int  # 0 for the preface, 1–6
    key: str
    heading: str  # as printed ("" for the preface)
    text: str

    def to_json(self) -> dict:
        return {"number": self.number, "key": self.key, "heading": self.heading, "text": self.text}


def heading_number(line: str) -> int | None:
    """The number of the section whose heading ``line`` is, or None.

    Every line of a report is asked, and a text rendering's line can be the whole report:
    only a line that begins with a numeral 一–六 (as NFKC reads its first characters) is
    normalised whole, once."""
    start = line.lstrip()[:2]
    if not start or unicodedata.normalize("NFKC", start).lstrip()[:1] not in _NUMERALS:
        return None
    m = _HEADING.match(unicodedata.normalize("NFKC", line).replace("\t", " "))
    if not m:
        return None
    number = _NUMERALS.index(m.group(1)) + 1
    rest = m.group(2).strip()
    if len(rest) > MAX_HEADING:
        return None
    words = SECTIONS[number - 1][3]
    return number if any(w in normalize(rest) for w in words) else None


# Table cells are short; a longer "cell" is prose a page frame or layout table boxed in.
MAX_CELL = 40


def _table_text(doc: Document) -> str:
    """The tables' cell texts, normalised, for telling table lines from prose: cells of
    grids with a number in a cell of its own. In text documents every line is a row: only rows of
    several cells are table rows there."""
    pieces = []
    for grid in doc.tables:
        if not any(c and _VALUE.match(c.strip()) for row in grid for c in row):
            continue  # not a number in it: a frame or layout box around prose, not a table
        for row in grid:
            cells = [c for c in row if c and c.strip()]
            if doc.format == "text" and len(cells) < 2:
                continue
            pieces += [normalize(c) for c in cells if len(normalize(c)) <= MAX_CELL]
    return "\n".join(pieces)


def _is_table_line(line: str, cells: str) -> bool:
    """A line of a table: cells separated by tabs (HTML, text), or nothing but values and
    pieces of the tables' cell texts (a PDF's text layer). A line ending a sentence is
    prose whatever its words."""
    if "\t" in line:
        return True
    if line.rstrip().endswith(("。", "；", ".")):
        return False
    for token in line.split():
        if _VALUE.match(unicodedata.normalize("NFKC", token)):
            continue
        core = normalize(token)
        if not core or core not in cells:
            return False
    return True


def split_sections(doc: Document) -> list[Section]:
    """The preface and the sections found, in order; a section not found is absent."""
    lines = doc.text.split("\n")
    starts: list[tuple[int, int]] = []  # (line index, section number)
    number = 1  # the lowest section still to find: headings come in order
    for i, line in enumerate(lines):
        heading = heading_number(line)
        if heading is not None and heading >= number:
            starts.append((i, heading))
            number = heading + 1
        if number > 6:
            break
    if not starts:
        return []
    cells = _table_text(doc)

    def body(lo: int, hi: int) -> str:
        kept = [ln.strip() for ln in lines[lo:hi] if ln.strip()]
        return "\n".join(ln for ln in kept if not _is_table_line(ln, cells))

    found: list[Section] = []
    preface = body(0, starts[0][0])
    if preface:
        found.append(Section(0, "preface", "", preface))
    for j, (i, n) in enumerate(starts):
        end = starts[j + 1][0] if j + 1 < len(starts) else len(lines)
        found.append(Section(n, SECTION_KEYS[n], lines[i].strip(), body(i + 1, end)))
    return found


def missing_sections(found: list[dict]) -> list[str]:
    """The canonical headings of the six sections not found (``found``: sections' JSON)."""
    have = {s["number"] for s in found}
    return [heading for number, _, heading, _ in SECTIONS if number not in have]


__all__ = ["Section", "SECTIONS", "split_sections", "missing_sections"]
