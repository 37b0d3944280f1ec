"""Reading a PDF report (the WPS/Word export most agencies publish).

Two libraries, each for what it does best. PDFium (pypdfium2, which pdfplumber
already depends on) opens the file, tells encrypted and broken files apart,
and gives each page's text in a few milliseconds. pdfplumber finds the ruled
table grids and keeps merged label cells apart from the numbers — every figure
right on the real reports measured — but costs ~40 ms a page, so it only runs
on the pages whose text shows a report table. Tables that run over a page
break come out as one grid per page; the table reader walks rows across grids
(and rejoins a row whose label and numbers the break separated).

A page whose only content is pictures has no text layer: a document of such
pages, or whose tables are pictures, is said so rather than guessed at.
"""

from __future__ import annotations

import io
import re

from archive.parse.document import Document, Grid, ParseError
from archive.parse.pdfgrid import page_grids

MAX_PAGES = 300
# Words every statistical table of the 2019/2021 templates prints on its page.
_TABLE_WORDS = (
    "信息内容",
    "本年新收",
    "上年结转",
    "申请人情况",
    "予以公开",
    "不予公开",
    "本年度办理结果",
    "结转下年度",
    "行政复议",
    "行政诉讼",
    "尚未审结",
    "处理决定",
    "收费金额",
    "采购",
    "规章",
    "规范性文件",
    "总计",
)
# A line ending in a run of numbers: a data row whatever its label.
_DATA_LINE = re.compile(r"(?:^|\s)(?:[\d,.]+\s+){3,}[\d,.]+\s*$", re.M)
# An image covering this share of the page is content (a scanned page or a pictured table).
_BIG_IMAGE = 0.15
# Fewer drawn paths than this cannot make a ruled table (a grid needs its rules).
_MIN_RULES = 4


def _open(data: bytes):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower():
            raise ParseError("encrypted", "the PDF is encrypted (it needs a password)") from exc
        if b"%%EOF" not in data[-2048:]:
            raise ParseError(
                "truncated",
                f"the PDF is cut short (no %%EOF at its end, {len(data)} bytes): {text}",
            ) from exc
        raise ParseError("corrupt", f"unreadable PDF: {text}") from exc


def _scan_objects(page) -> tuple[int, list]:
    """Large images and the drawn paths of a page, in one pass over its objects."""
    import pypdfium2 as pdfium

    width, height = page.get_size()
    area = max(width * height, 1.0)
    big = 0
    paths = []
    for obj in page.get_objects(
        filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE, pdfium.raw.FPDF_PAGEOBJ_PATH], max_depth=3
    ):
        if obj.type == pdfium.raw.FPDF_PAGEOBJ_PATH:
            paths.append(obj)
            continue
        left, bottom, right, top = obj.get_bounds()
        if (right - left) * (top - bottom) / area >= _BIG_IMAGE:
            big += 1
    return big, paths


def holds_table(text: str, paths: int) -> bool:
    """Whether a page shows (part of) a ruled statistical table: rules drawn, and table words
    or rows of numbers in its text. Prose pages that merely name the tables are skipped."""
    if paths < _MIN_RULES:
        return False
    return any(w in text for w in _TABLE_WORDS) or bool(_DATA_LINE.search(text))


def _tables(data: bytes, pages: list[int]) -> list[Grid]:
    """pdfplumber's ruled grids of the given pages (0-based), in page order."""
    import pdfplumber

    if not pages:
        return []
    grids: list[Grid] = []
    try:
        with pdfplumber.open(io.BytesIO(data), pages=[p + 1 for p in pages]) as pdf:
            for page in pdf.pages:
                grids.extend(page.extract_tables())
    except Exception as exc:  # pdfminer raises many kinds on a damaged page
        raise ParseError(
            "corrupt", f"unreadable PDF table page: {type(exc).__name__}: {exc}"
        ) from exc
    return grids


def _cells_read(grids: list[Grid]) -> tuple[int, int]:
    """Template cells the table reader gets from ``grids``, and how many the template has."""
    from archive.parse.tables import assemble, detect_template, read_tables
    from archive.store.templates import TEMPLATES, template

    reading = read_tables(grids)
    template_id, _ = detect_template(reading, None)
    if template_id not in TEMPLATES:
        return 0, 1
    tables, _, _ = assemble(reading, template_id)
    return (
        sum(len(c) for rows in tables.values() for c in rows.values()),
        len(template(template_id).cell_keys()),
    )


def _fast_grids(page, textpage, paths: list, grids: list[Grid]) -> list[Grid] | None:
    """``grids`` plus this page's PDFium grids, or None when they cannot be made (then
    pdfplumber reads the tables: a fault of the fast path must not lose a document)."""
    try:
        return grids + page_grids(page, textpage, paths)
    except Exception:  # geometry the fast path does not expect
        return None


def _best_grids(data: bytes, fast: list[Grid] | None, pages: list[int]) -> tuple[list[Grid], str]:
    """PDFium's grids when they hold a complete report; otherwise pdfplumber's, if those
    hold more (a drawing PDFium's path reading does not turn into a grid)."""
    if fast is None:
        return _tables(data, pages), "pdfplumber"
    if not pages:
        return fast, "pdfium"
    got, expected = _cells_read(fast)
    if got >= expected:
        return fast, "pdfium"
    try:
        slow = _tables(data, pages)
    except ParseError:  # pdfminer cannot read what PDFium could: keep PDFium's reading
        return fast, "pdfium"
    slow_got, _ = _cells_read(slow)
    return (slow, "pdfplumber") if slow_got > got else (fast, "pdfium")


def _metadata(pdf) -> dict[str, str]:
    try:
        meta = pdf.get_metadata_dict(skip_empty=True)
    except Exception:  # a broken Info dictionary costs the metadata, not the document
        return {}
    return {k: str(v) for k, v in meta.items() if isinstance(v, str | int)}


def read_pdf(data: bytes) -> Document:
    """Parse PDF bytes into a Document; raises ParseError for encrypted or broken files."""
    pdf = _open(data)
    try:
        count = len(pdf)
        if count == 0:
            raise ParseError("corrupt", "the PDF has no pages")
        if count > MAX_PAGES:
            raise ParseError("too_large", f"the PDF has {count} pages (limit {MAX_PAGES})")
        texts, images, rules = [], [], []
        fast: list[Grid] | None = []
        try:
            for i in range(count):
                page = pdf[i]
                textpage = page.get_textpage()
                text = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
                big, paths = _scan_objects(page)
                if holds_table(text, len(paths)) and fast is not None:
                    fast = _fast_grids(page, textpage, paths, fast)
                textpage.close()
                page.close()
                texts.append(text)
                images.append(big)
                rules.append(len(paths))
        except ParseError:
            raise
        except Exception as exc:
            raise ParseError(
                "corrupt", f"unreadable PDF page: {type(exc).__name__}: {exc}"
            ) from exc
        meta = _metadata(pdf)
    finally:
        pdf.close()
    table_pages = [i for i, t in enumerate(texts) if holds_table(t, rules[i])]
    grids, reader = _best_grids(data, fast, table_pages)
    doc = Document(format="pdf", text="\n".join(texts), tables=grids, meta=meta)
    doc.meta["table_reader"] = reader
    doc.meta["pages"] = str(count)
    doc.meta["table_pages"] = " ".join(str(p + 1) for p in table_pages)
    pictured = sum(1 for i, big in enumerate(images) if big and i not in table_pages)
    if pictured:
        doc.meta["picture_pages"] = str(pictured)
    if not doc.text.strip():
        doc.meta["image_only"] = "1" if any(images) else "0"
    if not grids and any(images):  # a scan, or tables pasted as pictures: read them
        from archive.parse.ocr import ocr_document

        ocr_document(
            doc, lambda ocr: ocr.read_pdf_pages(data, [i for i, n in enumerate(images) if n])
        )
    return doc
