"""A scanned report through the parse stage: stored with its source and each cell's confidence."""

from __future__ import annotations

import json

import pytest

from archive.parse import ocr
from archive.parse.isolate import ParseWorker
from archive.store import Archive
from nianbao.process import process_capture
from simweb.render import Scan, render_scan_pdf
from simweb.truth import generate

pytestmark = pytest.mark.ocr

pytest.importorskip("tesserocr")
if ocr.tessdata_dir() is None:
    pytest.skip("Tesseract's chi_sim data is not installed", allow_module_level=True)

URL = "http://www.example.gov.cn/zfxxgk/zfxxgknb/202501/P020250120000000000009.pdf"


def test_scanned_report_is_stored_with_source_and_confidence(tmp_path):
    truth = generate(
        "scan-2023",
        site_id="x",
        agency="某某区财政局",
        region="河南省新乡市牧野区",
        region_code="410711",
        year=2023,
        title="某某区财政局2023年政府信息公开工作年度报告",
        published="2024-01-20",
        fmt="pdf",
        size="small",
        profile="department",
        seed=5,
    )
    archive = Archive(tmp_path / "a.db")
    archive.load_sites([{"site_id": "x", "agency": "某某区财政局", "region_code": "410711"}])
    archive.add_capture(
        {
            "run_id": archive.start_run(None, 1),
            "site_id": "x",
            "url": URL,
            "status": 200,
            "content_type": "application/pdf",
            "body": render_scan_pdf(truth, Scan(dpi=200, skew=1.0, seal=True)),
            "role": "attachment",
        }
    )
    # The parse worker's 60 s limit is wall time; on a loaded machine OCR can need more.
    # What is tested here is what is stored (speed is benchmarks/ocr_bench.py's).
    with ParseWorker(timeout=600) as worker:
        for capture in archive.captures_to_parse():
            process_capture(archive, capture, worker)
    capture = next(iter(archive.db.query("select parse_status, parse_message from captures")))
    reports = list(archive.db.query("select * from reports"))
    assert len(reports) == 1, capture
    report = reports[0]
    assert report["cell_source"] == "ocr" and report["format"] == "pdf"
    assert report["parse_status"] in ("ok", "partial")
    cells = list(archive.db.query("select * from cells where report_id = ?", [report["id"]]))
    assert cells and all(c["confidence"] is not None for c in cells)
    warnings = json.loads(report["warnings"] or "[]")
    for c in cells:
        printed = truth.tables[c["table_key"]][c["row_key"]][c["col_key"]]
        if c["value"] is None and printed is not None:  # unsure: null, and said so
            key = f"{c['table_key']}.{c['row_key']}.{c['col_key']}"
            assert any(w.startswith(key) for w in warnings), key
        else:
            assert c["value"] == printed, c
