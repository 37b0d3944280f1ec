"""Honest statuses: never ``ok`` with a hole, never a silent reclassification.

A table printed entirely blank, a row the template requires that the document lacks,
a table the template requires that is not found: each is ``partial`` with a warning
naming what is missing. A page nested deeper than the HTML parser goes is read anyway
(or refused as ``too_deep``), never turned into ``no_tables`` or ``not_a_report``.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest

from archive.parse import ParseError, parse_document
from tests.parse.test_tables import T3_HEADER, T4, html, t2_rows, t3_rows

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


def huaian_with_lost_digits() -> bytes:
    """The 淮安 2024 PDF with one font's ToUnicode map damaged so that its digits map to
    nothing (U+0000): the damage a corrupted font stream does. That font prints every
    number of table 3; its labels are in other fonts, so the table still reads as a
    table — with every cell blank."""
    data = (CORPUS / "huaian-szf-2024.pdf").read_bytes()
    m = re.search(rb"39 0 obj\s*<</Filter /FlateDecode/Length (\d+)>>\s*stream\r?\n", data)
    start, length = m.end(), int(m.group(1))
    cmap = zlib.decompress(data[start : start + length])
    damaged = re.sub(rb"(<00(?:1[3-9A-C])>) <003[0-9]>", rb"\1 <0000>", cmap)
    assert damaged != cmap
    packed = zlib.compress(damaged)
    out = data[:start] + packed + data[start + length :]
    return out.replace(
        b"/FlateDecode/Length %d>>" % length, b"/FlateDecode/Length %d>>" % len(packed), 1
    )


def test_a_corrupt_pdf_whose_table_reads_all_blank_is_partial_not_ok():
    report = parse_document(huaian_with_lost_digits(), filename="huaian.pdf")
    t3 = report.tables["t3"]
    assert len(t3) == 25 and all(v is None for cols in t3.values() for v in cols.values())
    assert report.status == "partial"
    assert "t3: every one of its 175 cells is printed blank" in report.warnings
    assert report.cell_audit["blank"] == 175


def test_every_table_blank():
    blank = [r[:-7] + [""] * 7 for r in t3_rows()]
    report = parse_document(html(t2_rows() + T3_HEADER + blank + T4))
    assert report.status == "partial"
    assert any(w.startswith("t3: every one") for w in report.warnings)
    t4 = [T4[0], T4[1], [""] * 15]
    report = parse_document(html(t2_rows() + T3_HEADER + t3_rows() + t4))
    assert report.status == "partial"
    assert "t4: every one of its 15 cells is printed blank" in report.warnings


def test_a_missing_row_is_named():
    rows = [r for r in t3_rows() if "重复申请" not in r[-8]]
    report = parse_document(html(t2_rows() + T3_HEADER + rows + T4))
    assert report.status == "partial"
    assert "t3: row rejected_duplicate of the 2021 template not found" in report.warnings


def test_a_missing_table_is_named():
    report = parse_document(html(t2_rows() + T3_HEADER + t3_rows()))
    assert report.status == "partial"
    assert any(w.startswith("t4: table 4") and w.endswith("not found") for w in report.warnings)


def test_a_blank_format_template_is_not_a_report():
    blank2 = [
        r if len(r) == 1 or r[0] == "信息内容" else [r[0]] + [""] * (len(r) - 1) for r in t2_rows()
    ]
    blank3 = [r[:-7] + [""] * 7 for r in t3_rows()]
    page = html(blank2 + T3_HEADER + blank3 + [T4[0], T4[1], [""] * 15]).decode()
    page = page.replace("某某局2024年政府信息公开工作年度报告", "政府信息公开工作年度报告格式模板")
    report = parse_document(page.encode())
    assert report.status == "not_a_report" and "blank format template" in report.reason


@pytest.mark.parametrize("depth", [100, 250, 260, 1000, 2100, 5000])
def test_deep_nesting_is_read_not_reclassified(depth):
    page = (CORPUS / "shanghai-szfbgt-2019.html").read_text("utf-8")
    wrapped = (
        "<html><head><title>x</title></head><body>"
        + "<div>" * depth
        + page
        + "</div>" * depth
        + "</body></html>"
    )
    report = parse_document(wrapped.encode(), filename="deep.html")
    assert report.status == "ok" and report.cell_count() == 198
    assert report.title == "2019年上海市人民政府办公厅政府信息公开工作年度报告"
    assert any("nests" in w for w in report.warnings) == (depth > 2048)


def test_nesting_no_reader_can_follow_has_a_status_of_its_own():
    cell = "<table><tr><td>"
    page = "<html><body>" + cell * 3000 + "x" + "</td></tr></table>" * 3000 + "</body></html>"
    with pytest.raises(ParseError) as caught:
        parse_document(page.encode(), filename="deep.html")
    assert caught.value.status == "too_deep"
