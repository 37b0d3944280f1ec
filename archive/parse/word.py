"""Reading Word reports: DOCX with python-docx, legacy DOC/WPS through LibreOffice.

python-docx reports a merged cell once per grid position it covers (a
horizontal span repeats the cell; a vertical span repeats the top cell in every
row below). The table reader wants each printed cell once, as HTML gives it, so
every ``<w:tc>`` is kept at its first position and later repeats become
``None`` ("covered by a merged cell").

A DOCX is a ZIP: its declared sizes are checked before anything is inflated,
so a ZIP bomb is refused instead of filling memory. Legacy binary DOC (and WPS
files saved in that format) are converted to DOCX by LibreOffice headless —
the converter that keeps table structure, merged cells included — in a
private profile directory, with its own time limit.
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from archive.parse.document import Document, Grid, ParseError

MAX_UNPACKED = 200 * 1024 * 1024  # all members of the ZIP, as declared
MAX_RATIO = 150  # uncompressed / compressed of any large member
CONVERT_TIMEOUT = 45  # under the parse worker's 60 s, so the converter is never orphaned


def check_zip(data: bytes) -> None:
    """Refuse a ZIP that is not a Word document or would inflate to a bomb."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ParseError("corrupt", f"unreadable DOCX (bad ZIP): {exc}") from exc
    names = {i.filename for i in infos}
    if "word/document.xml" not in names:
        raise ParseError(
            "unsupported_format", "a ZIP file that is not a Word document (no word/document.xml)"
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED:
        raise ParseError(
            "zip_bomb", f"the DOCX would unpack to {total} bytes (limit {MAX_UNPACKED}); refused"
        )
    for i in infos:
        if i.file_size > 10 * 1024 * 1024 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise ParseError(
                "zip_bomb",
                f"{i.filename} inflates {i.compress_size} bytes to "
                f"{i.file_size}; refused as a ZIP bomb",
            )


def _grid(table) -> Grid:
    """One Word table as rows of printed cells, each merged cell once."""
    from docx.table import Table

    seen: set = set()  # the <w:tc> elements already read (held, so identity is stable)
    grid: Grid = []
    assert isinstance(table, Table)
    for row in table.rows:
        cells: list[str | None] = []
        for cell in row.cells:
            if cell._tc in seen:
                cells.append(None)
                continue
            seen.add(cell._tc)
            cells.append(cell.text)
        grid.append(cells)
    return grid


def read_docx(data: bytes) -> Document:
    """A DOCX as a Document: paragraphs and tables in body order."""
    check_zip(data)
    import docx
    from docx.table import Table

    try:
        word = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, XMLSyntaxError, … on bad parts
        raise ParseError("corrupt", f"unreadable DOCX: {type(exc).__name__}: {exc}") from exc
    lines: list[str] = []
    grids: list[Grid] = []
    try:
        for block in word.iter_inner_content():
            if isinstance(block, Table):
                grid = _grid(block)
                grids.append(grid)
                lines += ["\t".join(c for c in row if c) for row in grid]
            else:
                lines.append(block.text)
    except Exception as exc:
        raise ParseError("corrupt", f"unreadable DOCX body: {type(exc).__name__}: {exc}") from exc
    props = word.core_properties
    meta = {
        k: str(v)
        for k, v in (("Title", props.title), ("Author", props.author), ("Created", props.created))
        if v
    }
    text = "\n".join(ln.strip() for ln in lines if ln.strip())
    doc = Document(format="docx", text=text, tables=grids, meta=meta)
    if not any(c for g in grids for row in g for c in row) and word.inline_shapes:
        from archive.parse.ocr import docx_pictures, ocr_document

        pictures = docx_pictures(word)  # tables pasted as pictures: read them
        if pictures:
            doc.meta["table_images"] = str(len(pictures))
            ocr_document(doc, lambda ocr: ocr.read_pictures(pictures))
    return doc


def converter() -> str | None:
    """The LibreOffice executable, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _unlimited() -> None:
    """Give the converter back the address space the parse worker gave up."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    os.setsid()


def doc_to_docx(data: bytes, suffix: str = ".doc") -> bytes:
    """Convert a legacy Word/WPS (or RTF) document with LibreOffice headless; raises
    ParseError."""
    exe = converter()
    if exe is None:
        raise ParseError(
            "converter_missing",
            "reading DOC/WPS needs LibreOffice (soffice), which is not installed",
        )
    with tempfile.TemporaryDirectory(prefix="nianbao-doc-") as tmp:
        src = Path(tmp) / f"report{suffix}"
        src.write_bytes(data)
        cmd = [
            exe,
            f"-env:UserInstallation=file://{tmp}/profile",
            "--headless",
            "--norestore",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            tmp,
            str(src),
        ]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_unlimited
        )
        try:
            _, err = proc.communicate(timeout=CONVERT_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, 9)
            proc.communicate()
            raise ParseError(
                "timeout", f"converting the DOC took longer than {CONVERT_TIMEOUT} s"
            ) from exc
        out = Path(tmp) / "report.docx"
        if not out.exists():
            why = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise ParseError("corrupt", f"LibreOffice could not read the DOC: {why[0]}")
        return out.read_bytes()


def read_doc(data: bytes) -> Document:
    """A legacy DOC/WPS as a Document, through its DOCX conversion."""
    doc = read_docx(doc_to_docx(data))
    doc.format = "doc"
    return doc


def read_rtf(data: bytes) -> Document:
    """An RTF document (Word saves them; sites serve them as .doc) through LibreOffice."""
    doc = read_docx(doc_to_docx(data, suffix=".rtf"))
    doc.format = "rtf"
    return doc
