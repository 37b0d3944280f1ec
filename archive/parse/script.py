"""Reports served in traditional characters, read as simplified.

Some sites convert their pages to traditional characters on the fly (a 简繁 switch
whose choice a crawler inherits), and mirrors copy them that way: 「政府信息公開工作年度報告」,
「本機關不掌握相關政府信息」. The template's labels, the title patterns and the
narrative's phrases are simplified, and so are the searches journalists type. A
document whose text is mostly traditional is therefore converted to simplified
(OpenCC's ``t2s``) before it is read — text, title and every table cell — with a
warning; the original bytes stay in the archive as fetched.
"""

from __future__ import annotations

from functools import cache

from archive.parse.document import Document

# Characters of the text sampled to tell the script, and the share of them that must
# change under t2s: a simplified report has a few characters OpenCC maps anyway (乾, 著 …).
SAMPLE = 4000
TRADITIONAL_SHARE = 0.03
MIN_CHANGED = 8


@cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def _changed(text: str) -> tuple[int, int]:
    """(characters t2s changes, Chinese characters) in ``text``."""
    converted = _converter().convert(text)
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return sum(1 for a, b in zip(text, converted, strict=False) if a != b), cjk


def is_traditional(text: str) -> bool:
    changed, cjk = _changed(text[:SAMPLE])
    return changed >= MIN_CHANGED and changed >= TRADITIONAL_SHARE * max(cjk, 1)


def simplify(doc: Document) -> bool:
    """Convert a document in traditional characters to simplified, in place; True if it was."""
    if not is_traditional((doc.title or "") + doc.text):
        return False
    convert = _converter().convert
    doc.text = convert(doc.text)
    if doc.title:
        doc.title = convert(doc.title)
    doc.tables = [
        [[None if cell is None else convert(cell) for cell in row] for row in grid]
        for grid in doc.tables
    ]
    for key in ("ArticleTitle", "Description"):
        if doc.meta.get(key):
            doc.meta[key] = convert(doc.meta[key])
    doc.meta["script"] = "traditional"
    doc.warnings.append(
        "the document is printed in traditional characters; read as simplified (OpenCC t2s)"
    )
    return True


__all__ = ["simplify", "is_traditional"]
