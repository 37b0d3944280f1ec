"""The archive as a journalist sees it: headless Chromium over a served demo archive.

Builds the demo archive (the simulated web, crawled), serves it with ``nianbao serve``,
and walks it in a real browser: the front page, a search for a two-character word, a
report page with its failing arithmetic marked on the cells, year over year for the
agency and its region (and its print layout), a stored query given a region by name,
then from a cell to its capture and the original; and what the package's scripts make of
Datasette's own pages (a row as name | value lines, folded column descriptions, long text
in a box, the CSV for Excel, region names suggested). Each page is screenshotted into
``build/screenshots/`` (or ``$NIANBAO_SCREENSHOTS``) for a person to look at; the test
checks what a script can: the links exist where a reader clicks, the pages hold the
Chinese text, and a CJK font makes different characters render differently (with no
font every character is the same empty box).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import free_port, require_tool
from tests.crawling import command, nianbao

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"  # build/ is not committed
CHROMIUM = next(
    (n for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), "chromium"
)


def wait_for(url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Browser:
    """Headless Chromium, one page load per call."""

    def __init__(self, profile: Path, shots: Path):
        self.profile = profile
        self.shots = shots
        self.server_log: Path | None = None
        self.chromium = require_tool(CHROMIUM, "Debian's chromium and fonts-wqy-microhei")

    def _run(self, *args: str, height: int = 1600) -> str:
        command = [
            self.chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={self.profile}",
            f"--window-size=1280,{height}",
            "--virtual-time-budget=3000",  # let scripts (charts) finish before the capture
            *args,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=90)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def dom(self, url: str) -> str:
        """The page as Chromium built it (scripts run): what a reader's clicks can reach."""
        return self._run("--dump-dom", url)

    @staticmethod
    def html(url: str) -> str:
        """The page as served; enough to find the next link, at a fraction of the cost."""
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read().decode("utf-8")

    def pdf(self, url: str, name: str) -> Path:
        """The page as printed (the print stylesheet applies)."""
        path = self.shots / f"{name}.pdf"
        path.unlink(missing_ok=True)
        self._run("--no-pdf-header-footer", f"--print-to-pdf={path}", url)
        assert path.exists() and path.stat().st_size > 5000, name
        return path

    def screenshot(self, url: str, name: str, height: int = 1600) -> Path:
        """The page's first ``height`` pixels, 1280 wide."""
        path = self.shots / f"{name}.png"
        path.unlink(missing_ok=True)
        self._run(f"--screenshot={path}", url, height=height)
        assert path.exists() and path.stat().st_size > 5000, name
        return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    browser = Browser(tmp / "profile", Path(os.environ.get("NIANBAO_SCREENSHOTS", SHOTS)))
    db = tmp / "demo.db"
    nianbao("demo", "--no-serve", "--db", str(db))
    port = free_port()
    browser.server_log = tmp / "serve.log"  # what the server printed: no tracebacks
    log = browser.server_log.open("wb")
    server = subprocess.Popen(
        command("serve", "--db", str(db), "--port", str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/-/versions.json", time.monotonic() + 60)
    browser.shots.mkdir(parents=True, exist_ok=True)
    try:
        yield base, db.stem, browser
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def links(dom: str, pattern: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="(' + pattern + r')"', dom)]


def test_chinese_renders_as_glyphs_not_boxes(site, tmp_path):
    _, _, browser = site
    shots = []
    for i, char in enumerate("年复"):
        page = tmp_path / f"{i}.html"
        page.write_text(
            f"<meta charset=utf-8><body style='margin:0;font-size:160px'>{char}", encoding="utf-8"
        )
        browser.screenshot(page.as_uri(), f"_glyph_{i}")
        shots.append((browser.shots / f"_glyph_{i}.png").read_bytes())
    assert shots[0] != shots[1], "two different characters render identically: no CJK font"
    for i in range(2):
        (browser.shots / f"_glyph_{i}.png").unlink()


def test_search_open_report_follow_cell_to_original(site):
    base, name, browser = site
    home = browser.html(f"{base}/")
    assert "年报" in home
    browser.screenshot(f"{base}/", "1-home")

    search_url = f"{base}/{name}/reports?_search={quote('复议')}"
    results = browser.dom(search_url)
    assert "复议" in results and "search matches" in results
    reports = links(results, rf"/{name}/reports/\d+")
    assert reports, "the search found no report"
    browser.screenshot(search_url, "2-search-复议")

    report_url = base + reports[0]
    report = browser.dom(report_url)
    assert "政府信息公开" in report
    # vertical-row.js: the one row of Datasette's row page as name | value lines
    assert re.search(r'<table class="nb-vertical"><tbody><tr><th>id</th><td class="col-id', report)
    assert re.search(
        r'<tr><th>sha256</th><td class="col-sha256[^"]*"><a href="/-/original/', report
    )
    browser.screenshot(report_url, "3-report")
    cells_links = links(report, rf"/{name}/cells\?report_id=\d+")
    assert cells_links, "the report page does not link its cells"

    cells_url = base + cells_links[0] + "&table_key=t3"
    cells = browser.html(cells_url)
    browser.screenshot(cells_url, "4-cells")
    captures = links(cells, rf"/{name}/captures/\d+")
    assert captures, "a cell does not link to its capture"

    capture_url = base + captures[0]
    capture = browser.html(capture_url)
    assert re.search(r"[0-9a-f]{64}", capture), "the capture page shows no SHA-256"
    browser.screenshot(capture_url, "5-capture")
    originals = links(capture, r"/-/original/[^\"?]+/\d+")
    assert originals, "the capture page does not link the original"

    with urllib.request.urlopen(base + originals[0]) as response:
        headers = response.headers
        body = response.read()
    assert headers["content-disposition"].startswith("attachment")
    assert headers["content-security-policy"].startswith("sandbox")
    assert body
    browser.screenshot(base + originals[0] + "?view=text", "6-original-as-text")


def test_table_page_folds_its_descriptions_boxes_long_text_and_offers_csv_for_excel(site):
    """What readable.js and excel-csv.js make of Datasette's table page."""
    base, name, browser = site
    page = browser.dom(f"{base}/{name}/reports")
    details = '<details><summary>列说明</summary><dl class="column-descriptions">'
    assert details in page, "the column descriptions are not folded"
    assert re.search(r'<td class="col-text[^"]*"><div class="nb-clip">', page), "text not boxed"
    checkbox = (
        '<label><input type="checkbox" name="_bom" value="1" checked=""> Excel 用（UTF-8 BOM）'
        '</label><input type="submit" value="Export CSV">'
    )
    assert checkbox in page, "the CSV export form has no Excel checkbox, checked"
    excel = re.search(r'<a href="([^"]+)">CSV（Excel 中文）</a>', page)
    assert excel, "no CSV for Excel link"
    url = html.unescape(excel.group(1))
    assert url.startswith(f"{base}/{name}/reports.csv?") and url.endswith("&_bom=1&_dl=1")
    with urllib.request.urlopen(url) as response:
        assert response.read(3) == b"\xef\xbb\xbf"  # the byte-order mark Excel needs


def test_wide_table_and_chart_pages(site):
    base, name, browser = site
    view = f"{base}/{name}/{quote('表三_依申请公开')}"
    wide = browser.dom(view)
    assert "一、本年新收政府信息公开申请数量" in wide and "新乡市" in wide
    browser.screenshot(view, "7-表三_依申请公开")
    chart_url = (
        f"{base}/{name}/region_requests?region={quote('新乡市')}#g.mark=line&g.x_column="
        f"{quote('年度')}&g.x_type=ordinal&g.y_column={quote('每份报告平均新收')}"
        f"&g.y_type=quantitative"
    )
    browser.screenshot(chart_url, "8-chart-region-requests")


def test_front_page_leads_to_reports(site):
    base, name, browser = site
    home = browser.dom(f"{base}/")
    assert 'name="q"' in home and "最新收录" in home and "勾稽关系不符" in home
    assert re.search(r"勾稽不符 \d+ 项", home) and re.search(r"无法核对的备注 \d+ 条", home)
    assert links(home, rf"/{name}/reports/\d+"), "the front page lists no report"
    assert links(home, rf"/{name}/-/regions/\d+"), "no region links"
    browser.screenshot(f"{base}/", "0-front-page")


def failing_report(base: str, name: str) -> int:
    with urllib.request.urlopen(
        f"{base}/{name}/failing_arithmetic.json?_shape=array&year=&rule=&region="
    ) as response:
        return json.loads(response.read())[0]["报告编号"]


def test_report_page_marks_the_failing_cells(site):
    base, name, browser = site
    report_id = failing_report(base, name)
    url = f"{base}/{name}/reports/{report_id}"
    page = browser.dom(url)
    assert "三、收到和处理政府信息公开申请情况" in page and "（三）不予公开" in page
    failing = re.findall(r'<td class="nb-cell[^"]*nb-fail[^"]*" data-cell="([^"]+)"', page)
    assert failing, "no cell of the failing rule is marked"
    assert re.search(r"项不符", page) and re.search(r"相差", page)
    assert 'rel="prev"' in page or 'rel="next"' in page or "无更早报告" in page
    # Tall enough for table 4, where a failing rule's cells are as often as in table 3.
    browser.screenshot(url, "9-report-failing-cells", height=3400)


def test_year_over_year_and_its_print_layout(site):
    base, name, browser = site
    report_id = failing_report(base, name)
    url = f"{base}/{name}/-/compare?report={report_id}"
    page = browser.dom(url)
    assert "历年对比" in page and "增减" in page and "<svg" in page
    assert len(re.findall(r'<th colspan="3"><a href="/[^"]+/reports/\d+">\d{4}</a>', page)) >= 1
    browser.screenshot(url, "10-year-over-year-agency")
    region = f"{base}/{name}/-/compare?region={quote('牧野区')}"
    page = browser.dom(region)
    assert "历年都有报告的机关" in page and "个机关" in page
    browser.screenshot(region, "11-year-over-year-region")
    pdf = browser.pdf(url, "10-year-over-year-agency")
    if shutil.which("pdftotext"):  # poppler-utils; the PDF is kept for a person either way
        printed = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60
        )
        assert "历年对比" in printed.stdout and "收到和处理政府信息公开申请情况" in printed.stdout
        assert "更新" not in printed.stdout and "下载 CSV" not in printed.stdout  # no controls


def test_stored_query_takes_a_region_by_name(site):
    base, name, browser = site
    url = f"{base}/{name}/region_requests?region={quote('新乡市')}"
    page = browser.dom(url)
    assert "报告数" in page and "每份报告平均新收" in page and "2024" in page
    # region-names.js: the region input suggests the names of the regions table
    assert re.search(r'<input [^>]*name="region" value="新乡市" list="nb-region-names"', page)
    assert '<option value="牧野区"></option>' in page and '<option value="河南省"></option>' in page
    browser.screenshot(url, "12-stored-query-region-by-name")


# -- a number not to quote: marked wherever it is quoted -----------------------------------


def failing_review(base: str, name: str) -> dict:
    """The demo's 淮安市人民政府 2023: 行政复议·总计 printed 0, its parts adding up to 3."""
    url = f"{base}/{name}/failing_arithmetic.json?_shape=array&rule={quote('表四')}"
    with urllib.request.urlopen(url) as response:
        rows = json.loads(response.read())
    return next(r for r in rows if r["实为"] == 0 and r["行或列"] == "行：行政复议")


def row_of(page: str, label: str) -> str:
    row = page[page.index(f'<th class="nb-label">{label}</th>') :]
    return row[: row.index("</tr>")]


def test_a_failing_number_is_marked_on_the_comparison_view_csv_and_region_page(site):
    base, name, browser = site
    failing = failing_review(base, name)
    report, year = failing["报告编号"], failing["年度"]
    # Year over year: the 0 is marked 不符, the −100 % computed from it struck through.
    url = f"{base}/{name}/-/compare?report={report}"
    row = row_of(browser.dom(url), "行政复议·总计")
    assert re.search(r'<td class="nb-cell nb-fail" title="此数不符勾稽关系[^"]*">0<sup', row)
    assert re.search(r'class="nb-delta nb-derived-fail"[^>]*>-100%</td>', row)
    browser.screenshot(url + "#compare-t4", "13-year-over-year-failing-marked", height=2600)
    # The Chinese view: the number marked in its cell, the check columns folded by checks.js.
    view = f"{base}/{name}/{quote('表四_复议诉讼')}?{quote('报告编号')}={report}"
    page = browser.dom(view)
    assert re.search(r'<span class="nb-flag nb-flag-fail" title="不符：表四[^"]*">0</span>', page)
    assert 'class="rows-and-columns nb-checks-folded"' in page
    assert re.search(r"显示每个数字的核对列（\d+ 列）", page)
    # Its CSV: the check beside the number, for a spreadsheet to filter on.
    csv_url = f"{base}/{name}/{quote('表四_复议诉讼')}.csv?{quote('报告编号')}={report}"
    with urllib.request.urlopen(csv_url) as response:
        [line] = list(csv.DictReader(io.StringIO(response.read().decode("utf-8"))))
    assert line["行政复议·总计"] == "0" and line["行政复议·总计·核对"].startswith("不符：表四")
    # The region's sums: how many reports fail there, and the sums without them.
    region = f"{base}/{name}/-/compare?region={quote('淮安市')}&basis=all"
    row = row_of(browser.dom(region), "行政复议·总计")
    assert "1 份不符" in row
    without = row_of(browser.html(region + "&omit_failing=1"), "行政复议·总计")
    assert "已剔除 1 份" in without and "1 份不符" not in without
    browser.screenshot(region + "#compare-t4", "14-region-failing-counted", height=2600)
    assert str(year) in page


MISTAKES = [
    ("GET", "/-/original/_internal/1", 404),
    ("GET", "/{name}/表三_依申请公开.csv", 200),  # redirected to the view's CSV
    ("POST", "/{name}/top_lawsuits", 405),
    ("GET", "/{name}/-/compare.json", 400),
    ("GET", "/{name}/reports?_sort=nosuch", 400),
    ("GET", "/{name}/reports/99999999", 404),
    ("GET", "/a/b/c/d/e", 404),
]


def test_a_reader_s_mistakes_are_4xx_pages_and_leave_no_traceback_in_the_log(site):
    base, name, browser = site
    for method, path, status in MISTAKES:
        url = base + quote(path.format(name=name), safe="/?=&_.-")
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request) as response:
                got = response.status
        except urllib.error.HTTPError as error:
            got = error.code
        assert got == status, (method, path, got)
    time.sleep(0.5)  # the server's last lines
    log = browser.server_log.read_text("utf-8", "replace")
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]


def test_search_page_ranks_what_reports_say_and_reads_a_pdf_original_as_text(site):
    """The front page's box leads to the search page: 复议, which every report prints in
    its table-4 heading, lists first the reports whose narrative says it, each with its
    snippet marked; a year's facet filters; a PDF original reads as text, page by page."""
    base, name, browser = site
    home = browser.html(f"{base}/")
    action = re.search(r'<form class="nb-search" action="([^"]+)"', home).group(1)
    assert action == f"/{name}/-/search"
    results = browser.html(f"{base}{action}?q={quote('复议')}")
    assert "<mark>复议</mark>" in results
    assert re.search(r"找到 <strong>\d+</strong> 份报告", results)
    year = links(results, rf"/{name}/-/search\?q=[^\"]+&amp;year=2024")
    assert year, "no facet link for 2024"
    url = base + year[0]
    page = browser.dom(url)
    hits = re.findall(r'<li class="nb-hit nb-hit-(\w+)" data-report="(\d+)"', page)
    kinds = [kind for kind, _ in hits]
    assert "narrative" in kinds and "printed" in kinds, kinds
    assert kinds.index("printed") > max(i for i, k in enumerate(kinds) if k == "narrative")
    assert 'aria-current="true">2024</a>' in page  # the filter shows as chosen
    browser.screenshot(url, "15-search-复议-2024")
    pdf = re.search(
        r'原件（PDF）</a> · <a href="(/-/original/[^"?]+/\d+)\?view=text">原件文本</a>', page
    )
    assert pdf, "no PDF original among the results"
    text_url = f"{base}{pdf.group(1)}?view=text"
    text = browser.dom(text_url)
    assert "第 1 页" in text and "政府信息公开" in text and "%PDF" not in text
    browser.screenshot(text_url, "16-original-pdf-as-text")
