"""The fast PDF table path (PDFium) reads the same grids as pdfplumber, and falls back to it."""

from __future__ import annotations

import io
import re

import pdfplumber
import pypdfium2 as pdfium

from archive.parse import pdf as pdf_reader
from archive.parse.pdfgrid import page_grids
from tests.conftest import CORPUS

PDF = (CORPUS / "huaian-szf-2024.pdf").read_bytes()


def _squash(grid):
    return [[None if c is None else re.sub(r"\s+", "", c) for c in row] for row in grid]


def test_pdfium_grids_equal_pdfplumber_on_a_real_report():
    doc = pdfium.PdfDocument(PDF)
    with pdfplumber.open(io.BytesIO(PDF)) as plumber:
        # The pages of the three statistical tables (page 1's boxed preface differs only by
        # a full stop hanging over the box's edge, which PDFium counts in).
        for i in (2, 3, 4):
            page = plumber.pages[i]
            fast = page_grids(doc[i], doc[i].get_textpage())
            assert [_squash(g) for g in fast] == [_squash(g) for g in page.extract_tables()], i


def test_only_table_pages_are_read_for_tables():
    doc = pdf_reader.read_pdf(PDF)
    assert doc.meta["table_reader"] == "pdfium"
    pages = [int(p) for p in doc.meta["table_pages"].split()]
    assert 2 not in pages and {3, 4, 5} <= set(pages)  # page 2 is prose that names the tables


def test_falls_back_to_pdfplumber_when_the_fast_grids_are_incomplete(monkeypatch):
    monkeypatch.setattr(pdf_reader, "page_grids", lambda *args: [])
    doc = pdf_reader.read_pdf(PDF)
    assert doc.meta["table_reader"] == "pdfplumber"
    assert len(doc.tables) >= 5


def test_a_fault_of_the_fast_path_falls_back_instead_of_failing(monkeypatch):
    def broken(*args):
        raise ValueError("unexpected geometry")

    monkeypatch.setattr(pdf_reader, "page_grids", broken)
    doc = pdf_reader.read_pdf(PDF)
    assert doc.meta["table_reader"] == "pdfplumber" and doc.tables
