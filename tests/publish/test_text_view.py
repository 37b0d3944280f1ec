"""Originals as text, in process (Datasette's test client): a PDF page by page, a Word
file and a web page as the text the parser reads, an unreadable file said so."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from datasette.app import Datasette

from archive.publish import metadata_path, prepare
from archive.publish.serve import SETTINGS
from archive.store import Archive
from tests.publish.test_publish_search import build_archive

ROOT = Path(__file__).resolve().parents[2]


def get(ds, url: str):
    return asyncio.run(ds.client.get(url))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """An archive of a few reports (web pages), and three captures beside them: a PDF
    report (the real 淮安 one), a garbage "PDF" and a DOCX."""
    path = tmp_path_factory.mktemp("text") / "nb.db"
    from simweb.render import render_report_docx
    from simweb.truth import generate

    truth = generate(
        "docx-2024",
        site_id="huaian",
        agency="淮安市人民政府",
        region="江苏省淮安市",
        region_code="320800",
        year=2024,
        title="淮安市人民政府2024年政府信息公开工作年度报告",
        published="2025-01-20",
        fmt="docx",
        size="medium",
        profile="city",
        seed=3,
    )
    archive = build_archive(path, seed=5, per_site=1)
    ids = {}
    for name, body, kind in (
        ("pdf", (ROOT / "simweb/corpus/huaian-szf-2024.pdf").read_bytes(), "application/pdf"),
        ("broken", b"%PDF-1.7 nothing more", "application/pdf"),
        ("docx", render_report_docx(truth), "application/msword"),
    ):
        ids[name] = archive.add_capture(
            {
                "site_id": "huaian",
                "url": f"http://127.0.0.1/h/{name}",
                "status": 200,
                "method": "GET",
                "content_type": kind,
                "body": body,
                "role": "attachment",
            }
        )
    prepare(archive.db.conn)
    archive.close()
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    ds = Datasette([str(path)], metadata=metadata, settings=SETTINGS)
    return {"ds": ds, "path": path, **ids}


def test_a_pdf_original_reads_as_text_page_by_page(site):
    response = get(site["ds"], f"/-/original/nb/{site['pdf']}?view=text")
    assert response.status_code == 200
    page = response.text
    assert "第 1 页" in page and "第 6 页" in page and page.index("第 1 页") < page.index("第 6 页")
    assert "淮安市人民政府" in page and "政府信息公开行政复议" in page
    assert "%PDF" not in page and "endobj" not in page
    assert f'href="/-/original/nb/{site["pdf"]}">下载原件</a>' in page
    assert '<p class="crumbs"><a href="/">首页</a> / ' in page
    assert "content-security-policy" not in response.headers  # a page of ours, escaped text
    plain = get(site["ds"], f"/-/original/nb/{site['pdf']}?view=text&format=txt")
    assert plain.headers["content-type"].startswith("text/plain")
    assert plain.text.startswith("—— 第 1 页 ——\n") and "淮安市人民政府" in plain.text
    as_json = get(site["ds"], f"/-/original/nb/{site['pdf']}?view=text&format=json").json()
    assert as_json["format"] == "pdf" and [p["number"] for p in as_json["pages"]] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    # The download is as it was: the bytes, as an attachment, sandboxed.
    raw = get(site["ds"], f"/-/original/nb/{site['pdf']}")
    assert raw.content.startswith(b"%PDF") and raw.headers["content-disposition"].startswith(
        "attachment"
    )


def test_a_word_original_and_an_html_page_read_as_their_text(site):
    page = get(site["ds"], f"/-/original/nb/{site['docx']}?view=text").text
    assert "政府信息公开" in page and "第 1 页" not in page and "word/document.xml" not in page
    report = (
        Archive(site["path"])
        .db.conn.execute("select capture_id from reports order by id limit 1")
        .fetchone()[0]
    )
    html = get(site["ds"], f"/-/original/nb/{report}?view=text")
    assert html.status_code == 200
    assert "<script>alert(1)</script>" not in html.text and "&lt;script&gt;" not in html.text
    assert "报告：" in html.text  # the report read from it, one click away


def test_an_unreadable_original_says_so_beside_its_download(site):
    response = get(site["ds"], f"/-/original/nb/{site['broken']}?view=text")
    assert response.status_code == 422
    assert "读不出来" in response.text and "下载原件" in response.text
    bad = get(site["ds"], f"/-/original/nb/{site['pdf']}?view=text&format=xml")
    assert bad.status_code == 400 and "文本视图可选 html、txt 或 json" in bad.text
    broken = get(site["ds"], f"/-/original/nb/{site['broken']}?view=text&format=txt")
    assert broken.status_code == 422 and "无法读出文本" in broken.text


def test_the_reader_can_start_its_worker_before_the_first_original_is_read():
    """``nianbao serve`` warms the reader as it starts: the first reader of an original
    then waits for the document, not for a worker loading its libraries."""
    from archive.publish.original_text import Reader

    reader = Reader()
    try:
        assert reader._pool is None
        reader.warm()
        assert reader._pool is not None
        assert all(worker.ready and worker.proc.is_alive() for worker in reader._pool.workers)
        text = reader.read("x" * 64, "<p>第一页</p>".encode(), "text/html", None)
        assert "第一页" in text.plain()
    finally:
        reader.close()
