"""One report, several originals: an article page and the PDF it attaches."""

from __future__ import annotations

import copy

import pytest

from archive.store import Archive
from nianbao.process import process_captures
from simweb.render import render_report_html, render_report_pdf
from simweb.truth import generate

PAGE = "http://www.example.gov.cn/zfxxgk/zfxxgknb/202501/t20250120_1.html"
PDF = "http://www.example.gov.cn/zfxxgk/zfxxgknb/202501/P020250120000000000001.pdf"


def truth():
    return generate(
        "x-2024",
        site_id="x",
        agency="某某区财政局",
        region="河南省新乡市牧野区",
        region_code="410711",
        year=2024,
        title="某某区财政局2024年政府信息公开工作年度报告",
        published="2025-01-20 09:00",
        fmt="html",
        size="medium",
        profile="department",
        seed=3,
    )


def archive_with(tmp_path, page_truth, pdf_truth) -> Archive:
    archive = Archive(tmp_path / "a.db")
    archive.load_sites(
        [
            {
                "site_id": "x",
                "agency": "某某区财政局",
                "region_code": "410711",
                "start_url": "http://www.example.gov.cn/",
            }
        ]
    )
    run = archive.start_run(None, 1)
    page = (
        "<html><head><meta charset='utf-8'><title>" + page_truth.title + "</title></head>"
        "<body>" + render_report_html(page_truth) + f"<a href='{PDF}'>附件.pdf</a>"
        "</body></html>"
    ).encode()
    archive.add_capture(
        {
            "run_id": run,
            "site_id": "x",
            "url": PAGE,
            "status": 200,
            "content_type": "text/html; charset=utf-8",
            "body": page,
            "role": "report",
        }
    )
    archive.add_capture(
        {
            "run_id": run,
            "site_id": "x",
            "url": PDF,
            "status": 200,
            "content_type": "application/pdf",
            "body": render_report_pdf(pdf_truth),
            "role": "attachment",
            "referer": PAGE,
        }
    )
    return archive


def originals(archive):
    return [dict(r) for r in archive.db.query("select * from report_originals order by role desc")]


def test_the_same_numbers_make_one_report_with_two_originals(tmp_path):
    t = truth()
    with archive_with(tmp_path, t, t) as archive:
        process_captures(archive)
        [report] = list(archive.db.query("select * from reports"))
        assert report["url"] == PAGE and report["format"] == "html"
        assert [(o["url"], o["format"], o["role"]) for o in originals(archive)] == [
            (PAGE, "html", "primary"),
            (PDF, "pdf", "alternate"),
        ]
        # Reparsing keeps it so, and no original is listed twice.
        process_captures(archive, everything=True)
        assert archive.db["reports"].count == 1 and len(originals(archive)) == 2


@pytest.mark.parametrize("cell", [("t3", "granted", "natural_person"), ("t4", "review", "total")])
def test_different_numbers_stay_two_reports_and_say_so(tmp_path, cell):
    t = truth()
    pdf = copy.deepcopy(t)
    table, row, col = cell
    pdf.tables[table][row][col] = (t.tables[table][row][col] or 0) + 7
    with archive_with(tmp_path, t, pdf) as archive:
        process_captures(archive)
        reports = list(archive.db.query("select * from reports order by id"))
        assert [r["url"] for r in reports] == [PAGE, PDF]
        assert f"{table}.{row}.{col}" in reports[1]["warnings"]
        assert "prints other numbers" in reports[1]["warnings"]
