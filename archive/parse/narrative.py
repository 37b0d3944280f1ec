"""Numbers the narrative states, to be compared with the tables (``checks.check_narrative``).

Section 一 (and often 三 and 四) repeats the year's figures in words:
``全市共受理政府信息公开申请3119件，答复3050件（含上年度结转申请34件，另有103件顺延到
下年度答复）…政府信息公开行政复议351件…行政诉讼46件``, and section 六 the
信息处理费 collected. Each statement found is kept with the sentence it came from, so
a finding can quote it. Only sentences about information disclosure count: an
agency that is itself a 复议机关 reports its general 行政复议 caseload elsewhere in
the text, and that is no statement about table 4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archive.parse import metadata

# The sections whose sentences may state the tables' figures (0: no section found).
FIGURE_SECTIONS = {0, 1, 3, 4}
_N = r"(\d[\d,]*)"
_JIAN = r"(?:件|宗|个|条)"
_SENTENCE = re.compile(r"[^。；;！？!?]+[。；;！？!?]?")

# (rule, pattern): the number is the pattern's first group.
PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    (
        "text_new_requests",
        re.compile(
            rf"(?:收到|受理|新收|接收|接到|办理)(?:各类|了)?(?:政府)?信息(?:依申请)?公开申请"
            rf"(?:事项)?(?:共计|合计|总计|共|计)?{_N}{_JIAN}"
            rf"|收到(?:政府)?信息依申请公开(?:申请)?(?:共计|共)?{_N}{_JIAN}"
            rf"|依申请公开(?:政府信息)?申请(?:共计|共)?{_N}{_JIAN}"
        ),
    ),
    (
        "text_results",
        re.compile(
            rf"(?:办结|答复|办理完毕|作出答复)(?:了)?(?:政府)?(?:信息公开)?(?:申请)?(?:共计|共)?{_N}{_JIAN}"
        ),
    ),
    (
        "text_carried_over",
        re.compile(rf"上(?:一)?年(?:度)?结转(?:的)?(?:政府信息公开)?(?:申请)?(?:共)?{_N}{_JIAN}"),
    ),
    (
        "text_carried_forward",
        re.compile(
            rf"结转(?:至|到)?下(?:一)?年度?(?:继续)?(?:办理|答复)?(?:的)?(?:申请)?{_N}{_JIAN}"
            rf"|{_N}{_JIAN}(?:申请)?(?:按照[^，。]{{0,12}})?顺延(?:至|到)下(?:一)?年度?"
        ),
    ),
    (
        "text_review",
        re.compile(
            rf"行政复议(?:案件|申请)?(?:共计|共|合计)?{_N}{_JIAN}"
            rf"|行政复议、行政诉讼各{_N}{_JIAN}|行政复议和行政诉讼各{_N}{_JIAN}"
        ),
    ),
    (
        "text_litigation",
        re.compile(
            rf"行政诉讼(?:案件)?(?:共计|共|合计)?{_N}{_JIAN}"
            rf"|行政复议、行政诉讼各{_N}{_JIAN}|行政复议和行政诉讼各{_N}{_JIAN}"
        ),
    ),
)
# "No request / no review or lawsuit" stated in words: the figure is 0.
NONE_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    (
        "text_new_requests",
        re.compile(
            r"(?:未|没有)(?:收到|受理|接到)[^。；，]{0,10}(?:信息公开|依申请公开)[^。；，]{0,6}申请"
        ),
    ),
    (
        "text_review",
        re.compile(
            r"(?:未|没有|无)(?:发生|收到|出现|涉及)?[^。；，]{0,24}行政复议(?![^。；]{0,4}\d)"
        ),
    ),
    (
        "text_litigation",
        re.compile(
            r"(?:未|没有|无)(?:发生|收到|出现|涉及)?[^。；，]{0,24}行政诉讼(?![^。；]{0,4}\d)"
        ),
    ),
)
# A statement about review and lawsuits must be about information disclosure: its
# sentence or the one before names it, or it stands in section 四.
_ABOUT_DISCLOSURE = re.compile(r"信息公开|依申请|公开申请")


@dataclass
class Statement:
    rule: str
    value: float
    section: int  # the section it stands in (0: none found)
    quote: str  # the sentence, as flattened

    def to_json(self) -> dict:
        return {
            "rule": self.rule,
            "value": self.value,
            "section": self.section,
            "quote": self.quote,
        }


_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _flat(text: str) -> str:
    """Text with the line breaks and spaces a PDF puts inside sentences removed."""
    return re.sub(r"\s+", "", text.translate(_DIGITS))


def _sentences(sections: list[dict], text: str) -> list[tuple[int, str]]:
    if sections:
        chunks = [(s["number"], s["text"]) for s in sections if s["number"] in FIGURE_SECTIONS]
    else:
        chunks = [(0, text)]
    out = []
    for number, chunk in chunks:
        out += [(number, m.group().strip()) for m in _SENTENCE.finditer(_flat(chunk))]
    return [(n, s) for n, s in out if s]


def _about_disclosure(rule: str, section: int, about: bool) -> bool:
    """Whether a statement of ``rule`` counts: review and lawsuits only when the sentence or
    the one before names information disclosure (``about``), or in section 四."""
    return rule not in ("text_review", "text_litigation") or section == 4 or about


# What every pattern needs: a figure needs a digit, "none" a word of negation.
_DIGIT = re.compile(r"\d")
_NEGATION = re.compile(r"未|没有|无")


def stated_figures(sections: list[dict], text: str) -> list[Statement]:
    """Every figure the narrative states that a table also gives, in text order."""
    found: list[Statement] = []
    said: set[tuple[str, str]] = set()  # (rule, sentence) of every statement found so far
    sentences = _sentences(sections, text)
    names = [bool(_ABOUT_DISCLOSURE.search(sentence)) for _, sentence in sentences]
    for i, (section, sentence) in enumerate(sentences):
        about = names[i] or (i > 0 and names[i - 1])
        if _DIGIT.search(sentence):
            for rule, pattern in PATTERNS:
                if not _about_disclosure(rule, section, about):
                    continue
                for m in pattern.finditer(sentence):
                    number = next(g for g in m.groups() if g is not None)
                    found.append(Statement(rule, float(number.replace(",", "")), section, sentence))
                    said.add((rule, sentence))
        if _NEGATION.search(sentence):
            for rule, pattern in NONE_PATTERNS:
                if (rule, sentence) in said:
                    continue
                if _about_disclosure(rule, section, about) and pattern.search(sentence):
                    found.append(Statement(rule, 0.0, section, sentence))
                    said.add((rule, sentence))
    return found


def stated_fee(text: str, sections: list[dict]) -> Statement | None:
    """The 信息处理费 section 六 states, in 元, as a statement (None when it is silent)."""
    six = next((s["text"] for s in sections if s["number"] == 6), None)
    fee = metadata.information_fee(six if six is not None else text)
    if fee is None:
        return None
    sentence = next(
        (
            m.group().strip()
            for m in _SENTENCE.finditer(_flat(six if six is not None else text))
            if "信息处理费" in m.group()
        ),
        "",
    )
    return Statement("text_fee", fee, 6 if six is not None else 0, sentence)


__all__ = ["Statement", "stated_figures", "stated_fee"]
