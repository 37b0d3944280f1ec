"""Reading a text PDF report (the WPS/Word export most agencies publish).

pdfplumber finds the ruled table grids and keeps merged label cells apart from
the numbers (measured on a real 6-page report: every figure right, labels
clean). Tables that run over a page break come out as one grid per page; the
table reader walks rows across grids, so the split needs no special joining
here. A PDF without any text layer is a scan: it is said so, not guessed at.
"""

from __future__ import annotations

import io

from archive.parse.document import Document, ParseError

MAX_PAGES = 200


def read_pdf(data: bytes) -> Document:
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise ParseError("encrypted", f"the PDF is encrypted: {exc}") from exc
    except (PDFSyntaxError, Exception) as exc:  # pdfminer raises many kinds on bad input
        raise ParseError("corrupt", f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    with pdf:
        if len(pdf.pages) > MAX_PAGES:
            raise ParseError("too_large", f"the PDF has {len(pdf.pages)} pages (limit {MAX_PAGES})")
        texts, grids, images = [], [], 0
        try:
            for page in pdf.pages:
                texts.append(page.extract_text() or "")
                grids.extend(page.extract_tables())
                images += len(page.images)
        except Exception as exc:
            raise ParseError("corrupt", f"unreadable PDF page: {type(exc).__name__}: {exc}") from exc
        meta = {k: str(v) for k, v in (pdf.metadata or {}).items() if isinstance(v, str | int)}
    text = "\n".join(texts)
    doc = Document(format="pdf", text=text, tables=grids, meta=meta)
    if not text.strip():
        doc.meta["image_only"] = "1" if images else "0"
    return doc
