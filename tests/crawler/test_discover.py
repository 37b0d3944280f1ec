"""``nianbao discover`` on every listing pattern of the simulated web, then ``nianbao
crawl`` on the rows it printed appended to a registry of the bundled one's header,
unchanged; and ``--check`` on a registry whose rows moved, vanished, stayed, or whose
host cannot be asked — each row on its own, whatever other rows share its host."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from archive.store.registry import COLUMNS
from crawler import BUNDLED_REGISTRY
from simweb.patterns import PATTERN_SITES, pattern_sites
from simweb.process import SimWeb
from tests.conftest import free_port
from tests.crawling import crawl, nianbao

pytestmark = pytest.mark.e2e

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    out = tmp_path_factory.mktemp("patterns")
    # "empty": a portal that answers, with no 年报 column behind it (a vanished row)
    extra = (*PATTERN_SITES, "empty")
    with SimWeb(out / "web", extra=extra, default_world=False, log_requests=True) as w:
        w.expected = {site.site_id: exp for site, exp in pattern_sites()}
        yield w, out


@pytest.fixture(scope="module")
def discovered(web):
    w, out = web
    urls = out / "portals.txt"
    urls.write_text("# every pattern site\n" + "\n".join(w.sites.values()) + "\n", "utf-8")
    result = nianbao("discover", "--file", str(urls), *FAST, ok=None)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    return result, rows


def _base(w, site_id: str) -> str:
    return w.sites[site_id]


def _rows_of(w, rows, site_id):
    host = _base(w, site_id).split("//")[1].split("/")[0]
    return [r for r in rows if f"//{host}/" in r["start_url"]]


def test_discover_finds_the_column_on_every_pattern_site(web, discovered):
    w, _ = web
    result, rows = discovered
    assert result.returncode == 3, result.stderr[-2000:]  # robots-all cannot be read
    for site_id, expected in w.expected.items():
        if site_id == "sim-robots-all":
            continue
        found = _rows_of(w, rows, site_id)
        assert found, f"{site_id}: no row; {result.stderr[-2000:]}"
        base = _base(w, site_id)
        if expected.units:
            assert {r["column_url"] for r in found} == {base + expected.column.lstrip("/")}
            continue
        [row] = found
        want = base + expected.column.lstrip("/")
        assert row["start_url"] == want or row["start_url"] == want + "index.html", site_id
        assert int(row["reports_seen"]) >= 1 and row["region_code"].isdigit()
        assert row["listing"] == expected.listing, site_id


def test_listing_details_pages_cms_and_encoding(web, discovered):
    w, _ = web
    _, rows = discovered
    by_site = {sid: _rows_of(w, rows, sid) for sid in w.expected}
    [more] = by_site["sim-hanweb-more"]
    assert more["cms"] == "hanweb" and more["pages"] == "3"
    [get] = by_site["sim-hanweb-get"]
    assert get["pages"] == "4"
    [chengdu] = by_site["sim-column-index"]
    assert chengdu["pages"] == "3" and chengdu["agency"] == "锦府区人民政府"
    [gbk] = by_site["sim-http-gbk"]
    assert gbk["encoding"] == "gb18030" and gbk["start_url"].startswith("http://")
    [tls] = by_site["sim-https-only"]
    assert tls["start_url"].startswith("https://")
    [shell] = by_site["sim-shells"]
    assert shell["found_via"].count(">") >= 2  # the shells it went through are listed


def test_year_tree_gives_one_row_per_unit_with_every_year(web, discovered):
    w, _ = web
    _, rows = discovered
    expected = w.expected["sim-yeartree"]
    found = {r["agency"]: r for r in _rows_of(w, rows, "sim-yeartree")}
    assert set(found) == set(expected.units) | {"通顺区人民政府"}
    base = _base(w, "sim-yeartree")
    for agency, folders in expected.units.items():
        row = found[agency]
        urls = [row["start_url"], *row["more_urls"].split()]
        assert sorted(urls) == sorted(base + f.lstrip("/") for f in folders), agency
        assert row["start_url"] == base + folders[-1].lstrip("/")  # the newest year first
    assert found["通顺区永顺镇人民政府"]["level"] == "township"
    assert found["通顺区北苑街道办事处"]["level"] == "township"
    assert found["通顺区财政局"]["level"] == "department"
    assert found["通顺区人民政府"]["level"] == "county"  # a government at its region's level
    assert len({r["site_id"] for r in rows}) == len(rows)


def test_robots_disallow_all_gets_a_status_and_nothing_is_fetched(web, discovered):
    w, _ = web
    result, rows = discovered
    assert not _rows_of(w, rows, "sim-robots-all")
    base = _base(w, "sim-robots-all")
    assert f"{base}: disallowed: " in result.stderr
    host = base.split("//")[1].split(":")[0]
    asked = {r["path"] for r in w.requests() if r["host"] == host}
    assert asked == {"/robots.txt"}


def test_rows_discover_prints_crawl_as_they_are(web, discovered):
    """Appended to a registry with the bundled one's header, the rows crawl every report
    of every pattern site — the other years of a per-year tree (``more_urls``) too."""
    w, out = web
    result, rows = discovered
    header, *printed = result.stdout.splitlines()
    bundled_header = BUNDLED_REGISTRY.read_text("utf-8").splitlines()[0]
    assert header == bundled_header == ",".join(COLUMNS)
    assert all(r["discovered_at"] and r["start_kind"] == "column" for r in rows)
    assert any(r["more_urls"] for r in rows)  # the year tree's units
    registry = out / "discovered.csv"
    registry.write_text(bundled_header + "\n" + "\n".join(printed) + "\n", "utf-8")
    db = out / "archive.db"
    crawl(registry, db, *FAST, fast=False)
    conn = sqlite3.connect(db)
    stored = {
        url
        for (url,) in conn.execute(
            "select coalesce(final_url, url) from captures where role = 'report' and status = 200"
        )
    }
    conn.close()
    for site_id, expected in w.expected.items():
        base = _base(w, site_id)
        want = {base + p.lstrip("/") for p in expected.reports}
        host = base.split("//")[1]
        got = {u for u in stored if f"//{host}" in u}
        assert got == want, site_id


def test_check_reports_rows_moved_vanished_and_ok(web, tmp_path):
    w, _ = web
    numbered, shells, itemobj, empty = (
        _base(w, k) for k in ("sim-numbered", "sim-shells", "sim-itemobj", "sim-empty")
    )
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "site_id,agency,region_code,start_url\n"
        f"ok,国家模拟防控局,110000,{itemobj}jbkzzx/c100128/common/list.html\n"
        f"moved,延河区教育局,610602,{numbered}zfxxgk/nb/\n"
        f"shell,东岭区人民政府,110119,{shells}zfxxgk/zfxxgknb/\n"
        f"gone,无栏县人民政府,410731,{empty}zfxxgknb/\n"
        f"nohost,无处县人民政府,410799,http://127.0.0.1:{free_port()}/zfxxgknb/\n",
        "utf-8",
    )
    result = nianbao("discover", "--check", str(registry), *FAST, ok=None)
    assert result.returncode == 3, result.stderr[-2000:]
    status = {r["site_id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert status["ok"]["status"] == "ok"
    assert status["moved"]["status"] == "moved"
    assert status["moved"]["column_url"] == numbered + "zfxxgk/zfxxgknb/1.html"
    assert status["shell"]["status"] == "moved"
    assert status["shell"]["column_url"] == shells + "zfxxgk/zfxxgknb/nbxx/"
    assert status["gone"]["status"] == "vanished"
    # refused connections: the host could not be asked, which says nothing of its column
    assert status["nohost"]["status"] == "unreachable"
    assert "refused" in status["nohost"]["message"]
    all_ok = tmp_path / "ok.csv"
    lines = registry.read_text("utf-8").splitlines()
    all_ok.write_text("\n".join(lines[:2]) + "\n", "utf-8")
    assert nianbao("discover", "--check", str(all_ok), *FAST, ok=None).returncode == 0


def test_rows_of_one_host_are_checked_each_on_its_own(web, tmp_path):
    """A 404 start URL reads ``moved`` (its column found again from the site's root)
    whether or not other rows of its host are checked beside it: no row's requests stand
    in for another's."""
    w, _ = web
    numbered = _base(w, "sim-numbered")
    alone = tmp_path / "alone.csv"
    beside = tmp_path / "beside.csv"
    header = "site_id,agency,region_code,start_url\n"
    row = f"moved,延河区教育局,610602,{numbered}zfxxgk/nb/\n"
    alone.write_text(header + row, "utf-8")
    beside.write_text(
        header
        + f"front,延河区人民政府,610602,{numbered}\n"
        + f"column,延河区教育局年报,610602,{numbered}zfxxgk/zfxxgknb/1.html\n"
        + row
        + f"front-again,延河区政府门户,610602,{numbered}index.html\n",
        "utf-8",
    )
    for registry in (alone, beside):
        result = nianbao("discover", "--check", str(registry), *FAST, ok=None)
        status = {r["site_id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
        assert status["moved"]["status"] == "moved", (registry.name, result.stdout)
        assert status["moved"]["column_url"] == numbered + "zfxxgk/zfxxgknb/1.html"
    assert status["column"]["status"] == "ok"


def test_operator_errors_are_one_line(tmp_path):
    result = nianbao("discover", ok=None)
    assert result.returncode == 2 and "give portal URLs" in result.stderr
    result = nianbao("discover", "ftp://x.example.cn/", ok=None)
    assert result.returncode == 2 and "not an http(s) URL" in result.stderr
    result = nianbao("discover", "http://x.example.cn/", "--region-code", "41", ok=None)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_page_budget_bounds_a_portal(web):
    w, _ = web
    base = _base(w, "sim-yeartree")
    result = nianbao("discover", base, "--max-pages", "5", *FAST, ok=None)
    assert "page budget reached" in result.stderr, result.stderr[-2000:]
    assert ", 5 requests" in result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) < 7  # not every unit of the tree within five pages


def test_check_offline_says_unreachable_for_every_row(tmp_path):
    """Without a network (every name fails to resolve) nothing can be said of a row's
    column: each row reads ``unreachable``, in one line, and none ``vanished``."""
    with open(BUNDLED_REGISTRY, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_host: dict[str, list[dict]] = {}
    for row in rows:
        by_host.setdefault(row["start_url"].split("/")[2], []).append(row)
    shared = next(group for group in by_host.values() if len(group) >= 3)[:3]
    chosen = shared + [group[0] for group in list(by_host.values())[:5]]
    registry = tmp_path / "offline.csv"
    with open(registry, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    offline = ["-s", "DNS_RESOLVER=tests.crawler.offline.NoNetworkResolver", *FAST]
    result = nianbao("discover", "--check", str(registry), *offline, ok=None)
    assert result.returncode == 3, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 + len(chosen), result.stdout
    status = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["site_id"] for r in status] == [r["site_id"] for r in chosen]
    assert {r["status"] for r in status} == {"unreachable"}, result.stdout
    assert all("dns_failed" in r["message"] for r in status), result.stdout
    assert f"checked {len(chosen)} rows: unreachable {len(chosen)}" in result.stderr
