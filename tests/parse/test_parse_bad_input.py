"""Bad input: every broken, hostile or wrong document gets a clear status, never a crash or hang."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from archive.parse import MAX_BYTES, ParseError, parse_document, read_file
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


def _sparse(path, size: int):
    """A file of ``size`` bytes that takes no room on disk (a hole)."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def test_a_file_over_the_limit_is_refused_before_a_byte_is_read(tmp_path, monkeypatch):
    big = _sparse(tmp_path / "big.pdf", MAX_BYTES + 1)
    opened = []
    real_open = Path.open
    monkeypatch.setattr(
        Path, "open", lambda self, *a, **k: opened.append(self) or real_open(self, *a, **k)
    )
    with pytest.raises(ParseError) as refused:
        read_file(big)
    assert refused.value.status == "too_large" and str(MAX_BYTES + 1) in refused.value.message
    assert opened == []  # decided from the size alone
    exact = _sparse(tmp_path / "exact.pdf", 1000)
    assert read_file(exact, limit=1000) == bytes(1000)


def test_a_file_growing_past_its_size_is_read_no_further_than_the_limit(tmp_path, monkeypatch):
    """The size can lie (a pipe, a device, a file still being written): the read itself is
    bounded too."""
    path = _sparse(tmp_path / "growing.txt", 10)
    real_stat = Path.stat
    monkeypatch.setattr(
        Path,
        "stat",
        lambda self, *a, **k: (
            os.stat_result((0,) * 6 + (0,) * 4) if self == path else real_stat(self, *a, **k)
        ),
    )
    with pytest.raises(ParseError) as refused:
        read_file(path, limit=5)
    assert refused.value.status == "too_large"


def test_parse_of_a_3_gib_file_stays_small_and_says_too_large(tmp_path):
    """`nianbao parse` of a 3 GiB file is one line and exit 2, its peak memory a small
    fraction of the file (it once read the whole file and copied it: 6.4 GB)."""
    big = _sparse(tmp_path / "huge.pdf", 3 * 2**30)
    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "print(r.returncode, peak, r.stderr.strip().replace('\\n', ' | '))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *command("parse", big)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, peak_mb, stderr = result.stdout.split(" ", 2)
    assert int(code) == 2 and "too_large" in stderr and stderr.count("|") == 0, result.stdout
    assert int(peak_mb) < 600, f"peak {peak_mb} MB"
