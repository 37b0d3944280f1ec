"""The words every report prints, told apart from what a report says in its own words.

Every annual report follows a template: the headings of its six sections
(``四、政府信息公开行政复议、行政诉讼情况``), the labels of its three tables
(``（三）不予公开``, ``1.属于国家秘密``, ``结果维持`` …) and the subheadings the template
prescribes for its narrative (``（一）主动公开情况``, ``（一）存在的主要问题``). A search for
复议 finds every report because every report prints the table-4 heading; a reader wants
first the reports that *say* something about 复议. :func:`own_words` gives a report's
narrative with the template's wording left out: the text the search page ranks by
(:mod:`archive.publish.search`), and where it looks for a snippet first.

What is left out is decided clause by clause (a clause ends at a line break or at 。；！？
or a colon): a clause whose core — numbering, punctuation and spaces gone — is a printed
label of the templates or a section heading, and a numbered clause that reads as a
heading (``（二）改进情况``, ``三、监督保障情况``). Everything else stays, including what
most agencies write in the same words: that is still their own narrative.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from archive.parse.labels import normalize, numbering, strip_numbering
from archive.parse.sections import SECTIONS
from archive.store.templates import TEMPLATES, template

# Where a clause ends: a line, a sentence, a colon (「（一）主动公开情况：全年…」).
_CLAUSE_END = re.compile(r"[\n。；;！!？?：:]")
# How a numbered heading ends (the template's subheadings and the sections' own).
_HEADING_ENDINGS = ("情况", "问题", "事项", "措施", "概述", "成效", "做法", "计划", "方向")
# A numbered clause longer than this is a sentence, not a heading.
MAX_HEADING = 30


@cache
def printed_labels() -> frozenset[str]:
    """The cores of everything the templates print: table labels and the phrases that
    identify them, group labels, and the six section headings with their key words."""
    cores: set[str] = set()
    for template_id in TEMPLATES:
        for entry in template(template_id).entries:
            cores.add(normalize(strip_numbering(entry.label)))
            cores.update(normalize(p.lstrip("=")) for p in entry.match)
    for _, _, heading, words in SECTIONS:
        cores.add(normalize(strip_numbering(heading)))
        cores.update(normalize(w) for w in words)
    # The heading lines tables print above their columns, in both templates.
    cores.update(
        normalize(w)
        for w in ("信息内容", "申请人情况", "法人或其他组织", "行政复议", "行政诉讼", "复议后起诉")
    )
    cores.discard("")
    return frozenset(cores)


@lru_cache(maxsize=65536)
def is_printed(clause: str) -> bool:
    """Is this clause the template's wording (a label, a heading), not the report's own?
    (Cached: tables repeat their labels and numbers in every report.)"""
    core = normalize(strip_numbering(clause))
    if not core:
        return True  # punctuation, numbering alone
    if core in printed_labels():
        return True
    numbered = numbering(clause) is not None
    return numbered and len(core) <= MAX_HEADING and core.endswith(_HEADING_ENDINGS)


def own_words(text: str | None) -> str:
    """``text`` without the clauses the template prints: what the report says itself."""
    if not text:
        return ""
    kept = []
    start = 0
    for end in _CLAUSE_END.finditer(text + "\n"):
        clause = text[start : end.start()]
        if clause.strip() and not is_printed(clause):
            kept.append(clause.strip() + end.group(0).strip())
        start = end.end()
    return "\n".join(kept)
