"""The bundled registry of real government sites (``crawler/sites.csv``).

Every row names a real agency, the 6-digit 行政区划代码 of its region, a start
URL (its 政府信息公开年报 column, a report page inside that column, or a page
from which the column can be reached) and where that URL was seen.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.store.registry import read_registry, site_domains

SITES_CSV = Path(__file__).resolve().parents[2] / "crawler" / "sites.csv"

LEVELS = {"province", "prefecture", "county", "department", "ministry"}
CMS_HINTS = {"", "trs", "hanweb", "gkmlpt"}
MINISTRY_CODE = "100000"
XINXIANG = "4107"  # 河南省新乡市 410700 and its districts/counties
# The province-level name a region starts with: 河南省…, 北京市…, 内蒙古自治区…
PROVINCE_PREFIX = re.compile(r"^(.+?(?:省|自治区|市))")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return read_registry(SITES_CSV)


@pytest.fixture(scope="module")
def raw_rows() -> list[dict]:
    with open(SITES_CSV, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_registry_loads_with_at_least_100_sites(rows):
    assert len(rows) >= 100


def test_every_row_names_its_evidence(raw_rows):
    assert raw_rows, "empty registry"
    missing = [r["site_id"] for r in raw_rows if not (r.get("source") or "").strip()]
    assert not missing, f"rows without a source: {missing}"


def test_start_urls_are_unique(rows):
    seen: dict[str, str] = {}
    for row in rows:
        url = row["start_url"]
        assert url not in seen, f"{row['site_id']} repeats the start URL of {seen[url]}"
        seen[url] = row["site_id"]


def test_site_ids_are_short_ascii(rows):
    for row in rows:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", row["site_id"]), row["site_id"]


def test_levels_and_cms_hints_are_known(rows):
    for row in rows:
        assert row["level"] in LEVELS, (row["site_id"], row["level"])
        assert (row["cms"] or "") in CMS_HINTS, (row["site_id"], row["cms"])


def test_allowed_domains_cover_the_start_url(rows):
    for row in rows:
        host = urlsplit(row["start_url"]).hostname
        domains = site_domains(row)
        assert any(host == d or host.endswith("." + d) for d in domains), row["site_id"]


def test_every_row_has_a_region_name(rows):
    for row in rows:
        assert row["region"], row["site_id"]


def test_ministries_use_the_national_code(rows):
    for row in rows:
        if row["level"] == "ministry":
            assert row["region_code"] == MINISTRY_CODE, row["site_id"]
            assert row["region"] == "中华人民共和国", row["site_id"]
        else:
            assert row["region_code"] != MINISTRY_CODE, row["site_id"]


def test_province_level_rows_have_province_codes(rows):
    for row in rows:
        if row["level"] == "province":
            assert row["region_code"].endswith("0000"), row["site_id"]


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


def test_rows_of_one_prefecture_share_the_first_four_digits(rows):
    prefectures = {
        row["region"]: row["region_code"][:4] for row in rows if row["level"] == "prefecture"
    }
    assert prefectures
    for row in rows:
        for name, prefix in prefectures.items():
            if row["region"].startswith(name):
                assert row["region_code"].startswith(prefix), (row["site_id"], name)


def test_municipality_and_county_codes_match_their_level(rows):
    for row in rows:
        code = row["region_code"]
        if row["level"] == "prefecture":
            assert code.endswith("00") and not code.endswith("0000"), row["site_id"]
        if row["level"] == "county":
            assert not code.endswith("00"), row["site_id"]


def test_xinxiang_is_covered(rows):
    xinxiang = [row for row in rows if row["region_code"].startswith(XINXIANG)]
    assert len(xinxiang) >= 10
    for row in xinxiang:
        assert row["region"].startswith("河南省新乡市"), row["site_id"]
    assert {"410700", "410711"} <= {row["region_code"] for row in xinxiang}
    for row in rows:
        if row["region"].startswith("河南省新乡市"):
            assert row["region_code"].startswith(XINXIANG), row["site_id"]
