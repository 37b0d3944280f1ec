"""Every format and layout variant the parser supports gives back every generated cell.

Documents come from :mod:`benchmarks.corpus` (numbers known from :mod:`simweb.truth`),
rendered as HTML variants, text PDFs (one with a row cut by a page break), DOCX with
real merged cells, legacy DOC (through LibreOffice), tab-separated text and scans.
"""

from __future__ import annotations

import functools
import shutil

import pytest

from archive.parse import parse_document
from archive.parse.document import Document
from archive.parse.html import read_html
from archive.parse.sniff import decode_html
from benchmarks.corpus import (
    DEPARTING,
    KINDS,
    MAY_REFUSE,
    ONLY_2021,
    Sample,
    as_kind,
    render_sample,
    to_doc,
    truths,
    wrong_cells,
)

# Two reports per kind: one of each template, with blanks and faults mixed in by the seed.
PER_KIND = 2


@functools.cache
def _truths() -> list:
    return truths(60, seed=7)


@functools.cache
def _samples(kind: str) -> list[Sample]:
    """Reports of both templates (2021 only for the classes only it makes), printed as
    ``kind`` prints them; the base reports depart from the template in no other way."""
    fmt = next(f for k, f, _ in KINDS if k == kind)
    chosen: list = []
    for own_kind, _, truth in _truths():
        if len(chosen) == PER_KIND:
            break
        if own_kind in DEPARTING or (kind in ONLY_2021 and truth.template != "2021"):
            continue
        if kind in ONLY_2021 or truth.template not in {t.template for t in chosen}:
            chosen.append(truth)
    return [render_sample(kind, fmt, as_kind(kind, t)) for t in chosen]


TABLE_KINDS = [k for k, _, _ in KINDS if k not in ("doc", "rtf", "pdf-images", "pdf-browser")]


@pytest.mark.parametrize("kind", TABLE_KINDS)
def test_every_cell_of_every_variant(kind):
    for sample in _samples(kind):
        report = parse_document(
            sample.data, filename=sample.filename, content_type=sample.content_type
        )
        misses = wrong_cells(sample, report.tables)
        wrong = [m for m in misses if m[4] != "absent"]
        assert wrong == [], (kind, sample.truth.sim_id)  # never a wrong number
        if misses and kind in MAY_REFUSE:
            # Rows refused (digits no single split makes add up): named, and the status says so.
            assert report.status in ("partial", "run_together"), report.warnings
            for table, row, *_ in misses:  # each missing row named, or its whole table
                assert any(
                    row in w or (w.startswith(f"{table}:") and "not found" in w)
                    for w in report.warnings
                ), row
        else:
            assert misses == [], (kind, sample.truth.sim_id)
            assert report.status == sample.expected_status, report.warnings
        assert (report.year, report.template, report.agency) == (
            sample.truth.year,
            sample.truth.template,
            sample.truth.agency,
        )
        assert report.cell_count() == sum(
            len(c) for r in sample.truth.tables.values() for c in r.values()
        ) - len(misses)


def test_both_templates_are_covered():
    assert {s.truth.template for s in _samples("docx")} == {"2019", "2021"}


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice (soffice) is not installed; .ci/run installs it",
)
def test_legacy_doc_through_libreoffice():
    samples = _samples("doc")[:1]
    to_doc(samples)
    sample = samples[0]
    assert sample.data.startswith(b"\xd0\xcf\x11\xe0")  # a real OLE2 Word 97 file
    report = parse_document(sample.data, filename="report.doc")
    assert report.format == "doc"
    assert wrong_cells(sample, report.tables) == []
    assert report.status == "ok"


def test_scanned_pdf_says_its_tables_are_images():
    for sample in _samples("pdf-images"):
        report = parse_document(sample.data, filename=sample.filename)
        assert report.status == "tables_are_images"
        assert report.tables == {}


def test_row_cut_at_page_break_is_joined_and_said():
    sample = _samples("pdf-cut_row")[0]
    report = parse_document(sample.data)
    assert report.tables["t3"]["carried_over"] == sample.truth.tables["t3"]["carried_over"]
    assert any("page break" in w for w in report.warnings)


def test_docx_merged_cells_are_read_once():
    from archive.parse.word import read_docx

    sample = _samples("docx")[0]
    doc = read_docx(sample.data)
    t3 = next(g for g in doc.tables if any("本年度办理结果" in (c or "") for r in g for c in r))
    printed = [c for row in t3 for c in row if c and "本年度办理结果" in c]
    assert len(printed) == 1  # the vertical merge appears once, then as None


def test_html_lying_charset_and_gbk():
    page = (
        '<html><head><meta charset="gb2312"></head><body><p>镕基 主动公开</p></body></html>'
    ).encode("gb18030")
    # The HTTP header says UTF-8; the bytes are GBK with a character only GB18030 has.
    assert "镕基" in decode_html(page, "text/html; charset=utf-8")
    utf8 = "<html><body><p>行政复议</p></body></html>".encode()
    assert "行政复议" in decode_html(utf8, "text/html; charset=gbk")


def test_js_string_unescapes_and_concatenates():
    page = (
        '<html><body><div id=z></div><script>var content = "<table><tr><td>\\u884c\\u653f'
        "<\\/td>\" + '<td>1,234</td></tr></table>';document.write(content);</script>"
        "<p>after</p></body></html>"
    )
    doc = read_html(page)
    assert doc.tables == [[["行政", "1,234"]]]
    assert doc.text.index("行政") < doc.text.index("after")


def test_hanweb_cdata_record():
    page = (
        '<html><body><script type="text/xml"><datastore><record><![CDATA['
        '<table><tr><td align="center">总计</td><td>7</td></tr></table>]]></record>'
        "</datastore></script></body></html>"
    )
    assert read_html(page).tables == [[["总计", "7"]]]


def test_pre2019_report_keeps_text_and_reads_no_cells():
    sample = _samples("html-plain")[0]
    year = sample.truth.year
    data = sample.data.decode("utf-8").replace(f"{year}年", "2017年").encode("utf-8")
    report = parse_document(data, content_type="text/html; charset=utf-8")
    assert report.year == 2017 and report.template == "pre2019"
    assert report.tables == {} and report.status == "text_only"
    assert "主动公开" in report.text
    assert any("predates the 2019 template" in w for w in report.warnings)


def test_template_against_year_is_a_warning():
    sample = next(s for s in _samples("html-plain") if s.truth.template == "2021")
    year = sample.truth.year
    data = sample.data.decode("utf-8").replace(f"{year}年", "2019年").encode("utf-8")
    report = parse_document(data, content_type="text/html; charset=utf-8")
    assert report.template == "2021" and report.year == 2019
    assert any("calls for 2019" in w for w in report.warnings)
    assert wrong_cells(sample, report.tables) == []


def test_signature_date_and_region():
    sample = _samples("docx")[0]
    report = parse_document(sample.data, filename="r.docx")
    assert report.published == sample.truth.published
    assert report.region and sample.truth.agency.startswith(report.region)


def test_text_rows_with_ambiguous_blanks_are_left_out_not_shifted():
    text = (
        "某区2023年政府信息公开工作年度报告\n三、收到和处理政府信息公开申请情况\n"
        "一、本年新收政府信息公开申请数量\t\t5\t\t1\t\t6\t0\t0\t12\n"
    )
    report = parse_document(text.encode("utf-8"), filename="r.txt")
    assert "new_requests" not in report.tables.get("t3", {})
    assert any("left out" in w for w in report.warnings)


def test_document_dataclass_default_is_exact():
    assert Document(format="html", text="").exact_cells


def test_space_aligned_text_like_pdftotext_layout():
    from archive.parse.text import read_text

    text = (
        "某区2023年政府信息公开工作年度报告\n"
        "三、收到和处理政府信息公开申请情况\n"
        "一、本年新收政府信息公开申请数量      3001        53       0        0    61       4   3119\n"
        "二、上年结转政府信息公开申请数量   34 0 0 0 0 0 34\n"
    )
    doc = read_text(text)
    assert doc.meta["layout"] == "spaces"
    report = parse_document(text.encode("utf-8"), filename="r.txt")
    assert report.tables["t3"]["new_requests"]["total"] == 3119
    assert report.tables["t3"]["carried_over"]["natural_person"] == 34


def test_one_misprinted_character_in_a_long_label_is_read_with_a_warning():
    from archive.parse.labels import match_label
    from archive.parse.tables import ROWS

    m = match_label("4.保护第三方合法权溢", ROWS, fuzzy=True)
    assert m is not None and m.entry.key == "withheld_third_party" and m.fuzzy
    assert match_label("4.保护第三方合法权溢", ROWS) is None  # only when asked for
    assert match_label("（一）予以公升", ROWS, fuzzy=True) is None  # too short to tell


def test_year_contradicting_the_statistics_period_is_a_warning():
    sample = _samples("html-plain")[0]
    year = sample.truth.year
    data = sample.data.decode("utf-8").replace(f"统计期限自{year}年", "统计期限自2015年")
    report = parse_document(data.encode("utf-8"), content_type="text/html; charset=utf-8")
    assert report.year == year
    assert any("statistics period starts in 2015" in w for w in report.warnings)


def test_word_single_file_web_page_served_as_doc():
    from simweb.render import render_report_mht

    sample = _samples("html-plain")[0]
    report = parse_document(render_report_mht(sample.truth), filename="report.doc")
    assert report.format == "mht" and report.status == "ok"
    assert wrong_cells(sample, report.tables) == []


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice (soffice) is not installed; .ci/run installs it",
)
def test_rtf_served_as_doc():
    from simweb.render import docx_to_doc

    sample = _samples("docx")[0]
    rtf = docx_to_doc([sample.data], "rtf")[0]
    assert rtf.startswith(b"{\\rtf")
    report = parse_document(rtf, filename="report.doc")
    assert report.format == "rtf" and report.status == "ok"
    assert wrong_cells(sample, report.tables) == []
