"""The parse stage titles a report PDF headed only by its column's name (政府信息公开年报)
with the text of the link that led to it, and takes its year from there."""

from __future__ import annotations

import dataclasses

from archive.parse import parse_document
from archive.store import Archive
from benchmarks.corpus import truths
from nianbao.process import process_capture
from simweb.render import render_report_pdf

LISTING = "http://pt.example.cn/zfxxgknb/index.html"
PDF = "http://pt.example.cn/zfxxgknb/P020240125.pdf"


def test_a_pdf_headed_by_its_columns_name_takes_its_links_title(tmp_path):
    _, _, truth = next(t for t in truths(12, seed=3) if t[1] == "pdf")
    pdf = render_report_pdf(dataclasses.replace(truth, title="政府信息公开年报"))
    assert parse_document(pdf, filename="r.pdf").title == "政府信息公开年报"  # the document alone
    linked = f"{truth.agency}{truth.year}年政府信息公开工作年度报告"
    listing = f"<html><body><a href='P020240125.pdf'>{linked}</a></body></html>"
    with Archive(tmp_path / "a.db") as archive:
        archive.load_sites([{"site_id": "pt", "agency": "某局", "region_code": "350128",
                             "start_url": LISTING}])  # fmt: skip
        run_id = archive.start_run("sites.csv", 1)
        common = {"run_id": run_id, "site_id": "pt", "method": "GET", "status": 200}
        archive.add_fetch({**common, "url": LISTING, "role": "start", "body": listing.encode(),
                           "content_type": "text/html; charset=utf-8"})  # fmt: skip
        capture_id = archive.add_fetch({**common, "url": PDF, "role": "report", "body": pdf,
                                        "content_type": "application/pdf", "referer": LISTING})  # fmt: skip
        capture = next(c for c in archive.captures_to_parse() if c["id"] == capture_id)
        process_capture(archive, capture)
        [report] = archive.db["reports"].rows
    assert report["title"] == linked
    assert report["year"] == truth.year and report["agency"] == truth.agency
