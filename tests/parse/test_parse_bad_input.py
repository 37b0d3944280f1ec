"""Bad input: every broken, hostile or wrong document gets a clear status, never a crash or hang."""

from __future__ import annotations

import io
import subprocess
import time
import zipfile

import pytest

from archive.parse import ParseError, parse_document
from archive.parse.isolate import ParseWorker, parse_isolated
from tests.conftest import CORPUS
from tests.crawling import command

PDF = (CORPUS / "huaian-szf-2024.pdf").read_bytes()


def _encrypted_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, encrypt="secret")
    pdf.drawString(100, 700, "2024年政府信息公开工作年度报告")
    pdf.save()
    return buf.getvalue()


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        # Declared 300 MB; a few hundred KB on disk.
        zf.writestr("word/document.xml", b"<w:document>" + b" " * (300 * 1024 * 1024))
    return buf.getvalue()


def _html(body: str, title: str = "") -> bytes:
    return (f"<html><head><title>{title}</title></head><body>{body}</body></html>").encode()


CASES = {
    "zero_bytes": (b"", None, "empty"),
    "truncated_pdf": (PDF[: len(PDF) // 2], None, "truncated"),
    "encrypted_pdf": (_encrypted_pdf(), None, "encrypted"),
    "corrupt_pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n", None, "corrupt"),
    "zip_bomb_docx": (_zip_bomb(), "report.docx", "zip_bomb"),
    "zip_not_word": (b"PK\x03\x04" + b"\x00" * 200, "report.docx", "corrupt"),
    "text_50_mb": (b"0\t" * (25 * 1024 * 1024), "big.txt", "too_large"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_unreadable_documents_raise_a_clear_status(name):
    data, filename, status = CASES[name]
    start = time.perf_counter()
    with pytest.raises(ParseError) as err:
        parse_document(data, filename=filename)
    assert err.value.status == status, err.value.message
    assert err.value.message and "\n" not in err.value.message
    assert time.perf_counter() - start < 10


def test_docx_that_is_really_html_is_read_as_html():
    page = _html("<p>页面不存在</p><p>您访问的页面已删除或不存在</p>", "页面不存在")
    report = parse_document(page, filename="report.docx")
    assert report.format == "html" and report.status == "not_a_report"
    assert "soft 404" in report.reason


def test_soft_404_with_status_200():
    report = parse_document(
        _html("<h1>404</h1><p>抱歉，您访问的页面不存在！</p>", "页面不存在"),
        content_type="text/html; charset=utf-8",
    )
    assert report.status == "not_a_report" and "does not exist" in report.reason


def test_budget_page_is_not_a_report():
    body = (
        "<h1>牧野区财政局2024年部门预算公开</h1><table><tr><td>收入总计</td><td>1,234.5</td>"
        "</tr><tr><td>支出总计</td><td>1,234.5</td></tr></table>"
    )
    report = parse_document(_html(body, "牧野区财政局2024年部门预算公开"))
    assert report.status == "not_a_report" and "budget" in report.reason
    assert report.tables == {}


def test_worker_times_out_and_is_replaced():
    with ParseWorker(timeout=0.001) as worker:
        with pytest.raises(ParseError) as err:
            worker.parse(PDF)
        assert err.value.status == "timeout"
        worker.timeout = 60
        assert worker.parse(PDF).status == "ok"  # a fresh worker took over


def test_worker_memory_limit():
    huge = b"1\t" * 7_000_000  # 14 MB of text: millions of cells, far beyond 40 MB
    with ParseWorker(timeout=60, memory_mb=40) as worker:
        with pytest.raises(ParseError) as err:
            worker.parse(huge)
        assert err.value.status == "too_much_memory"
        assert worker.parse(_html("<p>x</p>")).status == "not_a_report"


def test_isolated_parse_gives_the_same_record():
    direct = parse_document(PDF, filename="a.pdf")
    isolated = parse_isolated(PDF, filename="a.pdf")
    assert isolated.tables == direct.tables and isolated.status == "ok"


def _cli(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        command("parse", str(path)),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", ["zero_bytes", "encrypted_pdf", "zip_bomb_docx"])
def test_cli_exits_non_zero_with_one_stderr_line(tmp_path, name):
    data, filename, status = CASES[name]
    path = tmp_path / (filename or f"{name}.pdf")
    path.write_bytes(data)
    result = _cli(path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and status in lines[0], result.stderr


def test_cli_soft_404_one_line(tmp_path):
    path = tmp_path / "gone.html"
    path.write_bytes(_html("<p>页面不存在</p>", "页面不存在"))
    result = _cli(path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not_a_report" in lines[0] and "soft 404" in lines[0]


def test_process_capture_records_status_and_message(tmp_path):
    from archive.store import Archive
    from nianbao.process import process_captures

    with Archive(tmp_path / "a.db") as archive:
        for i, (name, (data, _, _)) in enumerate(CASES.items()):
            if name == "text_50_mb":
                continue
            archive.add_capture(
                {
                    "url": f"http://127.0.0.1/{i}",
                    "status": 200,
                    "role": "report",
                    "body": data,
                    "content_type": "application/octet-stream",
                }
            )
        summary = process_captures(archive)
        rows = {
            r[0]: r
            for r in archive.db.execute(
                "select url, parse_status, parse_message from captures"
            ).fetchall()
        }
    assert summary.captures == len(CASES) - 1
    for i, (name, (_, _, status)) in enumerate(CASES.items()):
        if name == "text_50_mb":
            continue
        row = rows[f"http://127.0.0.1/{i}"]
        assert row[1] == status and row[2], (name, row)


def test_html_report_whose_tables_are_pictures():
    body = (
        "<h1>某区2023年政府信息公开工作年度报告</h1><p>一、总体情况</p><p>……</p>"
        "<p>二、主动公开政府信息情况</p><p><img src='/u/2024/t1.png' width='600'></p>"
        "<p>三、收到和处理政府信息公开申请情况</p><p><img src='/u/2024/t2.jpg'></p>"
        "<p>四、政府信息公开行政复议、行政诉讼情况</p><p><img src='/u/2024/t3.jpg'></p>"
        "<img src='/images/logo.png'>"
    )
    report = parse_document(_html(body, "某区2023年政府信息公开工作年度报告"))
    assert report.status == "tables_are_images" and report.year == 2023
    assert "主动公开" in report.text
