"""The templates' printed labels as the engine's dictionary.

Recognisers misread a character or two of a long label (逾期 → 让期); the table reader would
then not know the row. A reading close to one label of the templates, and clearly closer to
it than to any other, is taken for that label; a reading that names a label (or holds its
phrases) is words, however unsure the engine was of it.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from functools import lru_cache

from archive.parse.labels import match_label, normalize
from archive.store.templates import TEMPLATES, template


@lru_cache(maxsize=1)
def _entries() -> tuple:
    return tuple(e for tid in TEMPLATES for e in template(tid).entries)


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, str]:
    """Every printed label of the templates (rows, columns, groups), by its normalised form
    (numbering kept: （七）总计 is told from 总计 by its 七)."""
    return {normalize(e.label): e.label for e in _entries() if e.label}


def correct_label(text: str) -> str | None:
    """The template label a misread label cell stands for, or None.

    Recognisers misread a character or two of a long label (逾期 → 让期); the table reader
    would then not know the row. A reading that already names a row, column or group is
    left alone; one that is a label spaced differently is given the label's printed form.
    Otherwise it is taken for a label of the templates when it is close to
    that one (similarity ≥ 0.8) and clearly closer to it than to any other (by 0.15).
    Readings of fewer than three characters are never corrected."""
    core = normalize(text)
    if core in _lexicon():
        # The template's label, spaced differently ((六 ) 其他处理): its printed form, which
        # the table reader's numbering rules know.
        label = _lexicon()[core]
        return label if label != text else None
    if len(core) < 3 or match_label(text, list(_entries())):
        return None
    scored = []
    for known, label in _lexicon().items():
        if abs(len(known) - len(core)) > max(len(known), len(core)) * 0.4:
            continue
        scored.append((SequenceMatcher(None, core, known, autojunk=False).ratio(), label))
    scored.sort(reverse=True)
    if not scored or scored[0][0] < 0.8:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < 0.15:
        return None
    return scored[0][1]


def names_label(text: str) -> bool:
    """A first reading that is a label of the templates, or holds a label's phrases (a row
    read with a character wrong but its phrases whole): words whatever the engine's
    confidence, since the table reader matches labels by their phrases."""
    return normalize(text) in _lexicon() or match_label(text, list(_entries())) is not None
