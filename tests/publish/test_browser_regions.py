"""Finding a county and reading the year's leads, in headless Chromium over the served demo.

From the front page to a county as a reader clicks (province → city → county), to a
year's list of the county's agencies with their figures and links, from the city's
year over year to the agencies behind its sums; then the leads page, where the demo's
淮安市人民政府 2023 行政复议·总计 — printed 0 while its parts add up to 3 — is a fall
of 73 that must not be quoted: marked, its change struck through. Screenshots go to
``build/screenshots/`` (or ``$NIANBAO_SCREENSHOTS``) for a person to look at.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest

from tests.publish.test_browser import links, site  # noqa: F401 (the served demo, a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_from_the_front_page_to_a_county_and_its_agencies(site):  # noqa: F811
    base, name, browser = site
    home = browser.dom(f"{base}/")
    province = links(home, rf"/{name}/-/regions/410000")
    city = links(home, rf"/{name}/-/regions/410700")
    assert province and city, "the front page does not lead to 河南省 and 新乡市"
    assert 'action="/' + name + '/-/regions"' in home, "no box to find a region by name"

    page = browser.dom(base + province[0])
    assert "下辖地市" in page and links(page, rf"/{name}/-/regions/410700")
    browser.screenshot(base + province[0], "20-region-province")

    page = browser.dom(base + city[0])
    county = links(page, rf"/{name}/-/regions/410711")
    assert "下辖区县" in page and county, "新乡市 does not list 牧野区"
    browser.screenshot(base + city[0], "21-region-city")

    page = browser.dom(base + county[0])
    assert "河南省" in page and "新乡市" in page and "牧野区" in page
    years = links(page, rf"/{name}/-/regions/410711/\d{{4}}")
    assert years, "the county page does not list its years"
    browser.screenshot(base + county[0], "22-region-county")

    year_url = base + years[-1]
    page = browser.dom(year_url)
    assert "各机关报告" in page and "新收申请" in page and "行政诉讼" in page
    reports = links(page, rf"/{name}/reports/\d+")
    originals = links(page, r"/-/original/[^\"?]+/\d+")
    assert reports and originals, "the agencies do not link their reports and originals"
    assert re.search(r'<td class="nb-number" data-figure="new_requests">[^<]*<span', page)
    browser.screenshot(year_url, "23-region-year-agencies")

    # The region by name, as typed in the box: Chromium follows the redirect.
    typed = browser.dom(f"{base}/{name}/-/regions?region={quote('牧野区')}")
    assert re.search(r"<h1>河南省新乡市牧野区 <span", typed)


def test_a_region_s_comparison_names_the_agencies_behind_its_sums(site):  # noqa: F811
    base, name, browser = site
    page = browser.dom(f"{base}/{name}/-/compare?region={quote('牧野区')}")
    behind = links(page, rf"/{name}/-/regions/410711/\d{{4}}\?basis=steady[^\"]*")
    assert behind, "the comparison does not link the agencies behind its sums"
    listed = browser.dom(base + behind[0])
    assert "只列" in listed and "每年都有报告的机关" in listed
    assert links(listed, rf"/{name}/reports/\d+")
    browser.screenshot(base + behind[0], "24-region-year-steady-agencies")


def test_the_leads_page_marks_a_change_not_to_quote(site):  # noqa: F811
    base, name, browser = site
    url = f"{base}/{name}/-/leads?measure=review&year=2023"
    page = browser.dom(url)
    assert "年度变动线索" in page and "行政复议" in page
    row = re.search(r'<tr data-report="\d+" class="nb-lead-failing">(.*?)</tr>', page, re.S)
    assert row, "the failing change is not marked"
    line = row.group(1)
    assert "淮安市人民政府" in line and "不可引用" in line
    assert re.search(r'class="nb-number nb-delta nb-derived-fail"[^>]*>-73</td>', line)
    assert re.search(
        r'<span class="nb-figure-value nb-flag-fail" title="此数不符[^"]*">0</span>', line
    )
    assert links(line, rf"/{name}/reports/\d+") and links(line, r"/-/original/[^\"?]+/\d+")
    browser.screenshot(url, "25-leads-review-2023")
    default = f"{base}/{name}/-/leads"
    page = browser.dom(default)
    assert "新收申请" in page and links(page, rf"/{name}/reports/\d+")
    browser.screenshot(default, "26-leads-new-requests")
    time.sleep(0.3)  # the server's last lines
    log = browser.server_log.read_text("utf-8", "replace")
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]
