"""Who publishes what discovery found: a registry row's agency and level, from the pages.

A row names its agency and level as the pages do, not as a guess from the host:

* **the agency** is the body the report titles name (平潭综合实验区2023年政府信息公开…),
  completed by what the pages on the way state of it — the column page's title, its
  发布机构, its column path (当前位置：首页 > … > 平潭综合实验区管委会 > 年报), the portal's
  SiteName — when the titles give only the region's name (平潭综合实验区 →
  平潭综合实验区管委会). With no titles to go by, the agency is the one the column page
  states, else the portal's.
* **the level** follows from the agency and its region: a government (人民政府, 管委会,
  管理委员会, 行政公署) is a government of its region's level (province, prefecture or
  county by its 行政区划代码), a 镇/乡/街道 one a township, a department (局, 委, 办 …) a
  department, anything at the national code a ministry. A name that is none of these is
  left without a level rather than given a wrong one.
"""

from __future__ import annotations

import re
from collections import Counter

from scrapy.http import Response

from archive.store.regions import MUNICIPALITIES
from crawler.reading.links import squash

# A government, whose level is its region's.
_GOVERNMENT = re.compile(r"(人民政府|管委会|管理委员会|行政公署)$")
# A township's government or a sub-district office.
_TOWNSHIP = re.compile(r"((镇|乡|苏木)(人民政府)?|街道(办事处)?|地区办事处)$")
# A department or office of a government (or of the Party or the courts that publish too).
_DEPARTMENT = re.compile(
    r"(局|委员会|委|办公室|办公厅|办|厅|部|署|院|中心|所|站|队|处|室|馆|社|会|庭|"
    r"分局|支队|大队|公司|集团|银行)$"
)
# A region's own name (the government the titles of its reports mean): 新乡市, 通顺区,
# 平潭综合实验区, 锡林郭勒盟.
_REGION = re.compile(r"(省|自治区|市|自治州|州|地区|盟|(?<![社园景校])区|县|自治县|旗|自治旗)$")
# A site, a system or a column, not who publishes on it (门户网站 ends as 站 does).
_NOT_AGENCY = re.compile(r"(网站|门户|网|平台|系统|专栏|栏目|专题)$")
_SITE_SUFFIX = re.compile(r"(门户网站|政府网站|网站|门户网|门户)$")
_NATIONAL = "100000"

# Where a page states its publisher: 发布机构：某局 (also a column of a listing's table).
_PUBLISHER_FIELD = re.compile(
    r"(?:发布机构|发布单位|发文机关|发文单位|公开主体|信息来源)\s*[:：]\s*"
    r"([^\s|｜,，;；:：>＞]{2,40})"
)
_PUBLISHER_HEADER = re.compile(r"^(发布机构|发布单位|发文机关|公开主体|信息来源)$")
_CRUMB_LEAD = re.compile(r"(?:当前位置|您的位置|您现在的位置|所在位置|当前栏目)\s*[:：]?")
_SEPARATOR = re.compile(r"\s*(?:>>|>|＞|›|»|→|-|_|\||｜|—|–|·)\s*")


def stated_names(response: Response, title: str | None, site_name: str | None) -> list[str]:
    """The agency names a page states, nearest first: the publisher it gives (发布机构),
    its column path from the end, the parts of its title, the site's name."""
    names: list[str] = []
    text = "\n".join(response.css("body ::text").getall()[:2000])
    names += [squash(m) for m in _PUBLISHER_FIELD.findall(text)]
    names += _table_publishers(response)
    for crumb in _crumbs(response):
        names += reversed(_SEPARATOR.split(_CRUMB_LEAD.sub("", crumb)))
    names += _SEPARATOR.split(title or "")
    names.append(site_name or "")
    return [n for n in dict.fromkeys(site_owner(n) for n in names) if agency_like(n)]


def site_owner(name: str | None) -> str:
    """A name without the 门户网站 / 网站 a site's name ends with: 新乡市人民政府门户网站
    names 新乡市人民政府."""
    return _SITE_SUFFIX.sub("", squash(name))


def _table_publishers(response: Response) -> list[str]:
    """The publisher column of a listing's table (发布机构 as a header)."""
    found: list[str] = []
    for table in response.css("table")[:20]:
        rows = table.css("tr")
        if not rows:
            continue
        header = [squash(" ".join(c.css("::text").getall())) for c in rows[0].css("th, td")]
        at = next((i for i, h in enumerate(header) if _PUBLISHER_HEADER.match(h)), None)
        if at is None:
            continue
        for row in rows[1:50]:
            cells = row.css("td")
            if len(cells) > at:
                found.append(squash(" ".join(cells[at].css("::text").getall())))
    return [name for name, _ in Counter(found).most_common()]


def _crumbs(response: Response) -> list[str]:
    """The page's column path(s): a 当前位置 line, or an element named like a breadcrumb."""
    paths = [
        " ".join(node.css("::text").getall())
        for node in response.xpath(
            "//*[contains(text(), '当前位置') or contains(text(), '您的位置') or "
            "contains(text(), '所在位置') or contains(text(), '您现在的位置')]/.."
        )[:3]
    ]
    paths += [
        " > ".join(t.strip() for t in node.css("::text").getall() if t.strip())
        for node in response.xpath(
            "//*[contains(@class, 'crumb') or contains(@class, 'position') or "
            "contains(@class, 'location') or contains(@id, 'crumb') or "
            "contains(@id, 'position') or contains(@id, 'location')]"
        )[:3]
    ]
    return [p for p in paths if len(p) < 400]


def agency_like(name: str) -> bool:
    """A name that can be a publishing agency (not 首页, 政府信息公开, 2023年 …)."""
    if not 2 <= len(name) <= 40 or re.search(r"\d|年报|年度报告|信息公开|首页|政务公开", name):
        return False
    if _NOT_AGENCY.search(name):
        return False
    return bool(_GOVERNMENT.search(name) or _TOWNSHIP.search(name) or _DEPARTMENT.search(name))


def agency_of(titled: str | None, stated: list[str]) -> str:
    """The agency of a row: the titles' name, completed by a stated government name of the
    same region (平潭综合实验区 → 平潭综合实验区管委会); else the first stated name."""
    if titled:
        if not _GOVERNMENT.search(titled) and _REGION.search(titled):
            for name in stated:
                if name.startswith(titled) and _GOVERNMENT.fullmatch(name[len(titled) :]):
                    return name
        return titled
    return stated[0] if stated else ""


def level_of(agency: str, region_code: str | None) -> str:
    """The registry level of an agency in its region ("" when the name does not say)."""
    if region_code == _NATIONAL:
        return "ministry"
    if _NOT_AGENCY.search(agency):
        return ""
    if _TOWNSHIP.search(agency):
        return "township"
    if _GOVERNMENT.search(agency) or _REGION.search(agency):
        return region_level(region_code)
    if _DEPARTMENT.search(agency):
        return "department"
    return ""


def region_level(region_code: str | None) -> str:
    """province, prefecture or county: the level of a region's own government, by the
    structure of its code (GB/T 2260: 41 0000 province, 4107 00 prefecture, 410711
    county), so that divisions newer than the shipped list are placed too. The second
    level of a municipality (110100, 500200: 市辖区, 县) is the municipality itself."""
    if not region_code or not re.fullmatch(r"\d{6}", region_code):
        return ""
    if region_code.endswith("0000"):
        return "province"
    if region_code.endswith("00"):
        return "province" if region_code[:2] in MUNICIPALITIES else "prefecture"
    return "county"
