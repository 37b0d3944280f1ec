"""A registry row at a portal reaches the reports of each listing pattern's replica: per-year
trees down to their units (each unit's reports under a site of its own, named from the
tree), 江苏 Epoint's JSON POSTs, 广东 gkmlpt under a department's path; and the rows the
bundled registry really has for them (a tree's root, ``govInfoPub.html``, a fragment)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from simweb.patterns import pattern_sites
from simweb.process import SimWeb
from tests.crawling import crawl

pytestmark = pytest.mark.e2e

KEYS = ("yeartree", "unittree", "epoint", "gkmlpt-sub")
HEADER = "site_id,agency,region_code,region,level,start_url,allowed_domains\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("patterns-crawl")
    with SimWeb(out / "web", extra=KEYS, default_world=False, log_requests=True) as web:
        expected = {site.site_id: (site, exp) for site, exp in pattern_sites(KEYS)}
        portals = out / "portals.csv"  # every row at the front page of its portal
        portals.write_text(
            HEADER
            + "".join(
                f"{sid},{site.name},{site.region_code},,county,"
                f"{web.sites[sid]}{site.start_path.lstrip('/')},{site.ip}\n"
                for sid, (site, _) in expected.items()
            ),
            "utf-8",
        )
        portal_crawl = crawl(portals, out / "portals.db", ok=None)
        portal_requests = web.requests()
        base = web.sites
        starts = out / "starts.csv"  # rows as crawler/sites.csv has them for these patterns
        starts.write_text(
            HEADER + f"tree-root,通顺区人民政府,110198,,county,"
            f"{base['sim-yeartree']}bjtz/zwgk/zcwj67/zfxxgknb/,127.0.0.39\n"
            + f"govinfopub,苏徐市发展和改革委员会,320301,,department,"
            f"{base['sim-epoint']}dynamic/zwgk/govInfoPub.html,127.0.0.45\n"
            + f"fragment,东城市河流域管理局,441900,,department,"
            f"{base['sim-gkmlpt-sub']}dghlz/gkmlpt/annualreport#2972,127.0.0.46\n",
            "utf-8",
        )
        starts_crawl = crawl(starts, out / "starts.db", ok=None)
        yield {
            "base": base,
            "expected": expected,
            "portals": sqlite3.connect(out / "portals.db"),
            "starts": sqlite3.connect(out / "starts.db"),
            "requests": portal_requests,
            "crawls": (portal_crawl, starts_crawl),
        }


def test_every_row_is_crawled_without_a_failing_site(world):
    for result in world["crawls"]:  # a site without reports would make the crawl exit 3
        assert result.returncode == 0, result.stderr[-2000:]


def _reports(conn, site_like: str = "%") -> dict[str, str]:
    """Report URL → site id, of every report page the crawl archived."""
    return dict(
        conn.execute(
            "select coalesce(final_url, url), site_id from captures where role = 'report' "
            "and status = 200 and site_id like ?",
            [site_like],
        ).fetchall()
    )


def _want(world, site_id: str) -> set[str]:
    base = world["base"][site_id]
    return {base + p.lstrip("/") for p in world["expected"][site_id][1].reports}


@pytest.mark.parametrize("site_id", [f"sim-{k}" for k in KEYS])
def test_a_portal_row_reaches_every_report_and_nothing_else(world, site_id):
    got = _reports(world["portals"], f"{site_id}%")
    assert set(got) == _want(world, site_id)
    everything = {u for u in _reports(world["portals"]) if world["base"][site_id] in u}
    assert everything == _want(world, site_id)  # no look-alike (预算) archived as a report


def test_tree_units_are_sites_of_their_own_named_from_the_tree(world):
    conn, base = world["portals"], world["base"]
    sites = {
        r[0]: r[1:]
        for r in conn.execute(
            "select site_id, agency, level, region_code, allowed_domains, extra from sites"
        )
    }
    by_url = _reports(conn)
    for key, county in (("sim-yeartree", "通顺区人民政府"), ("sim-unittree", "怀岭区人民政府")):
        _, expected = world["expected"][key]
        units = {sid: v for sid, v in sites.items() if sid.startswith(key + "~")}
        assert {v[0] for v in units.values()} == set(expected.units), key
        for sid, (agency, level, region, domains, extra) in units.items():
            folders = [base[key] + f.lstrip("/") for f in expected.units[agency]]
            theirs = {u for u, s in by_url.items() if s == sid}
            assert theirs and all(any(u.startswith(f) for f in folders) for u in theirs), agency
            assert len(theirs) == len(folders)  # one report a year
            assert region == world["expected"][key][0].region_code
            assert domains == world["expected"][key][0].ip  # the county's scope, no wider
            assert json.loads(extra)["tree_of"] == key
            want = (
                "township"
                if agency.endswith(("镇", "街道", "办事处", "人民政府"))
                else "department"
            )
            assert level == want, agency
        own = {u for u, s in by_url.items() if s == key}
        assert own and all(county in t for t in _titles(conn, own))  # the county keeps its own


def _titles(conn, urls) -> list[str]:
    titles = []
    for url in urls:
        (body,) = conn.execute(
            "select body from captures where coalesce(final_url, url) = ? and body is not null",
            [url],
        ).fetchone()
        titles.append(body.decode("utf-8"))
    return titles


def test_unit_sites_get_their_counts_in_the_run(world):
    rows = dict(
        world["portals"].execute(
            "select site_id, reports_found from crawl_site_counts where site_id like 'sim-%~%'"
        )
    )
    assert len(rows) == 6 + 5 and set(rows.values()) <= {2, 3}


def test_epoint_lists_come_by_json_post_page_by_page(world):
    host = world["base"]["sim-epoint"].split("//")[1].split(":")[0]
    asked = [r for r in world["requests"] if r["host"] == host]
    posts = sorted(r["path"] for r in asked if r["method"] == "POST")
    assert posts == [
        "/EWB-FRONT/rest/lightfrontaction/getgovinfolist?categorynum=003008&pageIndex=0",
        "/EWB-FRONT/rest/lightfrontaction/getgovinfolist?categorynum=003008&pageIndex=1",
    ]  # the 年报 category only, both its pages; the catalogue's others never asked
    assert sum(r["path"] == "/js/webBuilderCommon.js" for r in asked) == 1
    methods = dict(
        world["portals"]
        .execute("select url, method from captures where url like '%getgovinfolist%'")
        .fetchall()
    )
    assert set(methods.values()) == {"POST"} and len(methods) == 2


def test_gkmlpt_api_is_asked_beside_the_department_never_at_the_root(world):
    host = world["base"]["sim-gkmlpt-sub"].split("//")[1].split(":")[0]
    api = sorted(r["path"] for r in world["requests"] if r["host"] == host and "/api/" in r["path"])
    assert api == [f"/dghlz/gkmlpt/api/all/2972?page={n}&sid=769031" for n in (1, 2, 3)]


@pytest.mark.parametrize(
    "row, site_id",
    [("tree-root", "sim-yeartree"), ("govinfopub", "sim-epoint"), ("fragment", "sim-gkmlpt-sub")],
)
def test_the_registrys_own_start_urls_reach_every_report(world, row, site_id):
    got = set(_reports(world["starts"], f"{row}%"))
    assert got == _want(world, site_id)
