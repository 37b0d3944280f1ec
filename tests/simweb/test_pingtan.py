"""The 平潭 replica (simweb/pingtan.py) serves what its docstring says is real as it is:
the archived listings byte for byte but for the port, each article verbatim, each text
page's text; and what it rebuilds, it rebuilds in the site's own template. Without the
material the tests skip, in CI they fail; a replica asked for without it is one line."""

from __future__ import annotations

import re
import subprocess
import sys

import lxml.html
import pytest

from simweb import pingtan
from tests.conftest import in_ci

BASE = "https://www.pingtan.gov.cn:8443/"


@pytest.fixture(scope="module")
def served():
    try:
        site, columns = pingtan.replica()
    except pingtan.MaterialMissing as exc:
        if in_ci():
            pytest.fail(f"{exc}; CI must check the real columns' replica")
        pytest.skip(str(exc))
    pingtan.finish(site, BASE)
    return site, columns


def body(site, path: str) -> str:
    return site.pages[path].body.decode("utf-8")


def test_the_archived_listings_are_served_as_they_are_but_for_the_port(served):
    site, columns = served
    real = [c for c in columns if c.listing_real]
    assert len(real) == 7
    for column in real:
        archived = (pingtan.material_dir() / column.folder / "listing" / "index.html").read_text(
            "utf-8"
        )
        assert "https://www.pingtan.gov.cn/" in archived
        for path in pingtan.listing_paths(column):
            assert body(site, path) == archived.replace("https://www.pingtan.gov.cn/", BASE)


def test_every_report_of_the_material_is_on_its_column_first_page(served):
    _, columns = served
    for column in columns:
        assert {r.path for r in column.reports} <= set(column.listed), column.folder
    missing = {c.folder: len(c.missing) for c in columns if c.missing}
    assert missing == {"ptzhsyqshs": 3, "ptzhsyqzhz": 3}  # their 2016–2018 reports


def test_the_listing_without_a_copy_is_rebuilt_in_the_template_of_its_sibling(served):
    site, columns = served
    [zrz] = [c for c in columns if not c.listing_real]
    assert zrz.folder == "ptzhsyqzrz"
    page = body(site, zrz.path)
    template = (pingtan.material_dir() / "ptzhsyqgyz" / "listing" / "index.html").read_text("utf-8")
    newest_first = sorted(zrz.reports, key=lambda r: r.when, reverse=True)
    items = re.findall(
        r'<a href="\./([^"]+)" target="_blank" title="([^"]+)">\2</a>\s*</dd>\s*<dd[^>]*>\s*'
        r"(\S+)",
        page,
    )
    assert items == [
        (r.path.split("/zfxxgknb/")[1], r.title, r.published[:10]) for r in newest_first
    ]
    assert (
        "recordCount: '6'" in page
        and "政府信息公开年报_平潭综合实验区自然资源与生态环境局_" in page
    )
    # Outside the list, the name, the channel id and the count, the page is its sibling's.
    allowed = re.compile(
        r'<a href="\./|\d{4}-\d{2}-\d{2}$|政府信息公开年报_平潭综合实验区自然资源与生态环境局_'
        r'|<meta name="ChnlId" content="">$|classsql: "" \|\| "",$|recordCount: \'6\',$'
    )
    changed = set(page.replace(BASE, "https://www.pingtan.gov.cn/").splitlines())
    changed -= set(template.splitlines())
    assert all(allowed.match(line.strip()) for line in changed), changed


def test_an_article_is_served_verbatim_in_the_page_shell(served):
    site, columns = served
    articles = [(c, r) for c in columns for r in c.reports if r.article is not None]
    assert len(articles) == 10
    for _, report in articles:
        page = body(site, report.path)
        assert report.article in page  # byte for byte, even the site's address in its text
        doc = lxml.html.document_fromstring(page)
        assert doc.find(".//meta[@name='ArticleTitle']").get("content") == report.title
        assert doc.find(".//meta[@name='PubDate']").get("content") == report.published
        assert report.title in doc.find(".//h1").text_content()


def test_a_text_page_is_the_archive_text_and_nothing_else(served):
    site, columns = served
    texts = [r for c in columns for r in c.reports if r.article is None]
    assert len(texts) == 45
    for report in texts:
        doc = lxml.html.document_fromstring(body(site, report.path))
        assert doc.find(".//body").text_content().strip() == report.text
        assert doc.find(".//title").text_content() == report.title
    every = [r for c in columns for r in c.reports]
    assert len({r.path for r in every}) == 55
    assert all(site.pages[r.path].modified == r.when for r in every)


def test_without_the_material_the_replica_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(pingtan.ENV, str(tmp_path))
    with pytest.raises(pingtan.MaterialMissing, match="NIANBAO_SHARED"):
        pingtan.load()
    result = subprocess.run(
        [sys.executable, "-m", "simweb", "--out", str(tmp_path / "web"), "--no-default"]
        + ["--extra", "pingtan"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "NIANBAO_SHARED" in result.stderr, result.stderr
