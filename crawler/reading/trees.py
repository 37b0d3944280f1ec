"""Per-year and per-unit 年报 trees: which folders a tree has, and whose reports they hold.

A county's 年报 column is often a tree rather than a list: one folder per year (通州
``zfxxgknb/2024n78/``, 怀柔 ``gknb/2024nb/``, 大兴 ``2024n/``, 密云 ``gknb2017/``), in it the
county government's own report, category folders (区政府部门 ``qzfbm/``, 乡镇街道 ``xzjd/``,
怀柔 ``zxjd2024/``) and under them one folder per unit, often under an opaque id (通州's
19-digit ones). The units are other agencies — the county's departments, 街道 and 乡镇 —
so their reports are theirs, not the county's: each unit is named from what the tree says
of it (the titles of its reports, its folder's page title, the text of the link to it),
never from the URL.

Both spiders read trees the same way: ``nianbao discover`` gives each unit a registry row,
the report spider gives it a site of its own under the row it crawls
(:func:`unit_row`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

from crawler.reading.cms import Link
from crawler.reading.links import agency_of_title, is_report_title, squash, year_label

# Below a tree's root: year folder → category folder → unit folder.
MAX_TREE_DEPTH = 3
# A page names the 年报 column (by its title, its ColumnName, or the link to it).
STRONG = re.compile(r"年报|年度报告|gknb|xxgknb|ndbg", re.I)
_TOWNSHIP = re.compile(r"(镇|乡|街道|苏木|地区)(人民政府|办事处)?$")
_GOVERNMENT = ("人民政府", "管委会", "管理委员会")
# "区财政局_2024年" (a folder page's title), "2024年度区财政局": the unit, without the year.
_SEPARATOR = re.compile(r"[_\-—|｜:：]+")
_YEAR_NOISE = re.compile(r"(?:19|20)\d{2}年?度?")
_GENERIC = {"政府信息公开", "信息公开", "政务公开", "政府信息公开专栏", "首页"}
_REGION_END = tuple("省市区县州盟")
_GOVERNMENT_SUFFIX = re.compile(r"(?:人民政府|管委会|管理委员会)(?:办公室)?$")


def below(url: str, base: str) -> bool:
    """Is ``url`` inside the folder of ``base`` (a sub-folder or page of it)?"""
    a, b = urlsplit(url), urlsplit(base)
    folder = b.path.rsplit("/", 1)[0] + "/"
    return a.netloc == b.netloc and a.path.startswith(folder) and a.path != b.path


def year_folders(links: Iterable[Link], url: str) -> list[tuple[Link, int]]:
    """The links of a page to year folders below it (``2024年度`` → ``./2024n78/``)."""
    return [
        (link, year)
        for link in links
        if (year := year_label(link.text, link.url)) and below(link.url, url)
    ]


def is_tree_root(links: Iterable[Link], url: str, named: bool) -> bool:
    """Is a page that names the 年报 column the root of a per-year tree (two years or more)?"""
    return named and len({y for _, y in year_folders(links, url)}) >= 2


def tree_folders(links: Iterable[Link], url: str) -> list[Link]:
    """The links of a year or category folder to the folders and pages below it that are
    not reports: its categories, units and the pages of its own list."""
    return [
        link
        for link in links
        if below(link.url, url) and link.url != url and not is_report_title(link.text)
    ]


def agency_of_titles(titles: Iterable[str]) -> str | None:
    """The agency most of a folder's report titles name (``某局2024年政府信息公开…``)."""
    names = Counter(a for t in titles if (a := agency_of_title(t)))
    return names.most_common(1)[0][0] if names else None


def unit_name(
    report_titles: Iterable[str], page_title: str | None, link_text: str | None
) -> str | None:
    """A unit of a tree as the tree names it: by its reports' titles, else by its folder's
    page title or the link that led to it, less the year (``区财政局_2024年`` → ``区财政局``)."""
    if name := agency_of_titles(report_titles):
        return name
    for said in (page_title, link_text):
        for part in _SEPARATOR.split(squash(said)):
            name = _YEAR_NOISE.sub("", part)
            if len(name) >= 2 and not STRONG.search(name) and name not in _GENERIC:
                return name
    return None


def qualified(name: str, parent_agency: str | None) -> str:
    """A unit named as its county lists it (``区财政局``, ``县教育局``) with the county's own
    name in front (``通顺区财政局``), the way the county's parent agency spells it."""
    if not parent_agency or name[:1] not in "区县市旗":
        return name
    region = _GOVERNMENT_SUFFIX.sub("", squash(parent_agency))
    return region + name[1:] if region != parent_agency and region.endswith(name[0]) else name


def is_government(agency: str) -> bool:
    return agency.endswith(_GOVERNMENT)


def same_agency(a: str | None, b: str | None) -> bool:
    """Two spellings of one agency: equal, or one the other with its province or city in
    front (``通州区人民政府``, ``北京市通州区人民政府``)."""
    if not a or not b:
        return False
    short, long = sorted((squash(a), squash(b)), key=len)
    if short == long:
        return True
    before = long[: len(long) - len(short)]
    return long.endswith(short) and short[0] not in "区县市旗镇乡" and before[-1:] in _REGION_END


def unit_level(name: str, portal_agency: str | None) -> str:
    """The level of a unit of a tree: a 乡镇 or 街道 is a township, the county itself (or
    another government) is a county, anything else one of its departments."""
    if _TOWNSHIP.search(name):
        return "township"
    if same_agency(name, portal_agency) or is_government(name):
        return "county"
    return "department"


def unit_slug(name: str) -> str:
    """A short stable id for a unit's name (its registry row's and site's id end in it)."""
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]


def unit_row(parent: dict, agency: str, folder: str, hosts: Iterable[str] = ()) -> dict:
    """The registry row of a unit found in the tree of ``parent`` (a registry row): the
    unit's agency and level, the parent's region, and the parent's scope (with the hosts the
    parent has moved to), so that the unit reaches nothing its parent could not."""
    domains = " ".join(
        dict.fromkeys([*(parent.get("allowed_domains") or "").split(), *sorted(hosts)])
    )
    extra = {"tree_of": parent["site_id"], "tree_folder": folder}
    return {
        "site_id": f"{parent['site_id']}~{unit_slug(agency)}",
        "agency": agency,
        "region_code": parent.get("region_code") or "",
        "region": parent.get("region") or "",
        "level": unit_level(agency, parent.get("agency")),
        "start_url": folder,
        "allowed_domains": domains or urlsplit(folder).hostname or "",
        "cms": parent.get("cms") or "",
        "encoding": parent.get("encoding") or "",
        "extra": json.dumps(extra, ensure_ascii=False, sort_keys=True),
    }
