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

BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "title",
}
ATTACHMENT = re.compile(r"\.(pdf|docx?|wps|xlsx?|ofd)(?:$|[?#])", re.I)
# Hanweb and similar CMSs ship the article as a <![CDATA[...]]> record; lxml's HTML
# parser would turn it into a comment, so the markers are dropped before parsing.
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
# A JavaScript string literal, and an assignment of one or more concatenated literals.
_JS_LITERAL = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
_JS_ASSIGN = re.compile(rf"(?:=|\(|:)\s*({_JS_LITERAL}(?:\s*\+\s*{_JS_LITERAL})*)", re.S)
_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r?\n|.)", re.S)
_JS_SIMPLE = {"n": "\n", "t": "\t", "r": "", "b": "", "f": "", "v": "", "0": ""}
_MARKUP = re.compile(r"<\s*(table|tr|td|p|div)\b", re.I)


def _js_unescape(literal: str) -> str:
    """The value of one JavaScript string literal (quotes included)."""

    def one(m: re.Match) -> str:
        esc = m.group(1)
        if esc[0] in "ux" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        if esc[0] in "\r\n":
            return ""  # a line continuation
        return _JS_SIMPLE.get(esc, esc)

    return _JS_ESCAPE.sub(one, literal[1:-1])


def _script_markup(script: str, kind: str = "") -> list[str]:
    """HTML that a script carries: raw markup (an XML/HTML data island) or string literals."""
    if "xml" in kind or "html" in kind or "template" in kind or script.lstrip().startswith("<"):
        return [script] if _MARKUP.search(script) else []
    found = []
    for m in _JS_ASSIGN.finditer(script):
        literals = re.findall(_JS_LITERAL, m.group(1))
        value = "".join(_js_unescape(lit) for lit in literals)
        if _MARKUP.search(value):
            found.append(value)
    return found


def _inline_scripts(root: etree._Element) -> None:
    """Put the report markup that scripts carry (``var content = "<table>…"``) in the page.

    Some CMSs render the article with ``document.write`` from a string; a browser
    would show it where the script stands, so the reader does too.
    """
    for script in list(root.iter("script")):
        markup = _script_markup(script.text or "", (script.get("type") or "").lower())
        if not markup:
            continue
        holder = etree.Element("div")
        for fragment in markup:
            try:
                parts = lxml.html.fragments_fromstring(
                    fragment, parser=lxml.html.HTMLParser(huge_tree=True)
                )
            except (etree.ParserError, ValueError):
                continue
            for part in parts:
                if isinstance(part, str):
                    if holder.text is None and len(holder) == 0:
                        holder.text = part
                    continue
                holder.append(part)
        holder.tail = script.tail
        parent = script.getparent()
        if parent is not None:
            parent.replace(script, holder)


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
    """The text of ``root`` in reading order, block elements on lines of their own.

    Iterative, not recursive: a page may nest thousands of elements (a CMS wrapping the
    article in div after div), deeper than Python's recursion limit."""
    parts: list[str] = []
    # Each stack entry is an element to open, or the closing work of one already opened.
    stack: list[tuple[bool, etree._Element]] = [(True, root)]
    while stack:
        opening, el = stack.pop()
        if not opening:
            if el.tag in ("td", "th"):
                parts.append("\t")
            if el.tag in BLOCK_TAGS:
                parts.append("\n")
            if el.tail:
                parts.append(el.tail)
            continue
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript"):
            if el.tail:
                parts.append(el.tail)
            continue
        if el.tag in BLOCK_TAGS:
            parts.append("\n")
        if el.text:
            parts.append(el.text)
        stack.append((False, el))
        stack.extend((True, child) for child in reversed(el))
    text = "".join(parts).replace("\u00a0", " ")
    lines = (
        re.sub(r"[ \t\u3000]+", lambda m: "\t" if "\t" in m.group() else " ", ln).strip()
        for ln in text.split("\n")
    )
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


# libxml2 stops building the tree at this depth even with its "huge" option; what lies
# deeper is dropped, which would silently turn a report into a page without tables.
MAX_DEPTH = 2048
_WRAPPERS = ("div", "span", "font", "section", "article", "center", "blockquote")
_WRAPPER_TAG = re.compile(rf"<\s*/?\s*(?:{'|'.join(_WRAPPERS)})\b[^>]*>", re.I)


def _depth_exceeded(parser: etree.HTMLParser) -> bool:
    return any("Excessive depth" in e.message for e in parser.error_log)


def _parse_tree(text: str) -> tuple[etree._Element, bool]:
    """The page's element tree, and whether wrappers had to be set aside to build it.

    Pages nested deeper than libxml2 goes are read again with their layout wrappers
    (div, span, font …) replaced by line breaks: they carry no table structure, and
    a line break keeps the text's block boundaries. A page still too deep after that
    (tables nested in tables thousands of times) is refused as ``too_deep``, never
    read as the fragment libxml2 managed to build."""
    for flatten in (False, True):
        source = _WRAPPER_TAG.sub("<br>", text) if flatten else text
        parser = lxml.html.HTMLParser(huge_tree=True)
        try:
            root = lxml.html.document_fromstring(source, parser=parser)
        except (etree.LxmlError, ValueError) as exc:
            raise ParseError("corrupt", f"unreadable HTML: {exc}") from exc
        if not _depth_exceeded(parser):
            return root, flatten
    raise ParseError(
        "too_deep",
        f"the page nests its elements more than {MAX_DEPTH} levels deep even without its "
        f"wrapper elements; it is not read, since what lies deeper would be lost",
    )


def read_html(text: str, url: str | None = None) -> Document:
    """Parse decoded HTML into a Document."""
    if not text.strip():
        raise ParseError("empty", "the page is empty")
    text = _CDATA.sub(lambda m: m.group(1), text)
    root, flattened = _parse_tree(text)
    _inline_scripts(root)
    meta = _meta(root)
    title_el = root.find(".//title")
    title = meta.get("ArticleTitle") or (
        title_el.text_content().strip() if title_el is not None else None
    )
    body = root.find(".//body")
    doc = Document(
        format="html",
        text=_text(body if body is not None else root),
        tables=_grids(root),
        title=title or None,
        meta=meta,
    )
    if flattened:
        doc.warnings.append(
            f"the page nests its elements more than {MAX_DEPTH} levels deep; its wrapper "
            f"elements ({', '.join(_WRAPPERS)}) were set aside to read it"
        )
        doc.meta["flattened"] = "1"
    doc.meta["attachments"] = " ".join(attachment_links(root, url))
    pictures = content_images(body if body is not None else root)
    if pictures:
        doc.meta["table_images"] = str(pictures)
    return doc


_ICON = re.compile(r"(logo|icon|banner|share|qrcode|ewm|erweima|gif$|spacer|blank)", re.I)


def content_images(root: etree._Element) -> int:
    """Pictures in the page that can be content (a table pasted as an image), not chrome:
    no icon-like name, and not declared smaller than 200 px wide."""
    count = 0
    for img in root.iter("img"):
        src = img.get("src") or ""
        width = re.match(r"\d+", img.get("width") or "")
        if src and not _ICON.search(src) and (width is None or int(width.group()) >= 200):
            count += 1
    return count


def read_mht(data: bytes, url: str | None = None) -> Document:
    """A MIME "single file web page" (Word's .mht, often named .doc): its HTML part."""
    import email
    from email import policy

    from archive.parse.sniff import decode_html

    message = email.message_from_bytes(data, policy=policy.compat32)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset()
            ctype = f"text/html; charset={charset}" if charset else None
            doc = read_html(decode_html(payload, ctype), url)
            doc.format = "mht"
            return doc
    raise ParseError("corrupt", "a MIME web archive without an HTML part")
