"""Reading an HTML report page: its tables as grids, its text, its meta tags.

Government CMSs wrap the report in a page with navigation, put it in layout
tables, and label cells with ``<br>``/``<p>`` inside. Only rows of tables are
read as table rows (a row that holds a nested table is layout, not data), and
the text keeps block boundaries as line breaks so that headings stay findable.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from archive.parse.document import Document, Grid, ParseError

BLOCK_TAGS = {"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "li", "table",
              "section", "article", "header", "footer", "title"}
ATTACHMENT = re.compile(r"\.(pdf|docx?|wps|xlsx?|ofd)(?:$|[?#])", re.I)


def _cell_text(cell: etree._Element) -> str:
    # A label broken by <br>/<p> is one label: join the pieces without a gap.
    return "".join(cell.itertext())


def _grids(root: etree._Element) -> list[Grid]:
    grids: dict[etree._Element, Grid] = {}
    for tr in root.iter("tr"):
        cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
        if any(c.find(".//table") is not None for c in cells):
            continue
        table = next(tr.iterancestors("table"), None)
        grids.setdefault(table, []).append([_cell_text(c) for c in cells])
    return list(grids.values())


def _text(root: etree._Element) -> str:
    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript"):
            if el.tail:
                parts.append(el.tail)
            return
        block = el.tag in BLOCK_TAGS
        if block:
            parts.append("\n")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
        if el.tag in ("td", "th"):
            parts.append("\t")
        if block:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    walk(root)
    text = "".join(parts).replace("\u00a0", " ")
    lines = (re.sub(r"[ \t\u3000]+", lambda m: "\t" if "\t" in m.group() else " ", ln).strip()
             for ln in text.split("\n"))
    return "\n".join(ln for ln in lines if ln)


def _meta(root: etree._Element) -> dict[str, str]:
    meta = {}
    for m in root.iter("meta"):
        name = m.get("name") or m.get("property")
        if name and m.get("content") is not None:
            meta.setdefault(name, m.get("content").strip())
    return meta


def attachment_links(root: etree._Element, base_url: str | None) -> list[str]:
    """Links to report files (PDF, DOC …): ``href``, never the dead ``OLDSRC``."""
    links = []
    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        if href and ATTACHMENT.search(href):
            links.append(urljoin(base_url or "", href))
    return list(dict.fromkeys(links))


def read_html(text: str, url: str | None = None) -> Document:
    """Parse decoded HTML into a Document."""
    if not text.strip():
        raise ParseError("empty", "the page is empty")
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError("corrupt", f"unreadable HTML: {exc}") from exc
    meta = _meta(root)
    title_el = root.find(".//title")
    title = meta.get("ArticleTitle") or (title_el.text_content().strip() if title_el is not None
                                          else None)
    body = root.find(".//body")
    doc = Document(format="html", text=_text(body if body is not None else root),
                   tables=_grids(root), title=title or None, meta=meta)
    doc.meta["attachments"] = " ".join(attachment_links(root, url))
    return doc
