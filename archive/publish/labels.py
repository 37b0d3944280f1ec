"""Chinese labels for what a reader sees: column headers, cell names, the project's columns.

The numbers' labels come from the report templates (``archive/store/report_template.csv``),
as printed: a header is the row's printed label, prefixed by its merged group label
when it has one (``（三）不予公开·1.属于国家秘密``), without the explanatory note some
labels end with (``（二）部分公开（区分处理的，只计这一情形，不计其他情形）`` →
``（二）部分公开``); a cell of a table with several columns adds the column's label
(``行政复议·结果维持``). The columns the project adds (agency, region, year …) have
their Chinese names here.
"""

from __future__ import annotations

import re
from functools import cache

from archive.store.templates import TEMPLATES, Entry, template

# The project's own columns, as the wide tables and their views name them.
CONTEXT_HEADERS = {
    "report_id": "报告编号",
    "capture_id": "原始抓取",
    "site_id": "站点",
    "agency": "机关",
    "region_code": "行政区划代码",
    "province": "省级",
    "city": "地市级",
    "district": "县级",
    "year": "年度",
    "template": "格式版本",
    "parse_status": "解析状态",
    "title": "标题",
    "published": "发布日期",
    "superseded_by": "已被替代",
}
TABLE_NAMES = {
    "t2": "主动公开政府信息情况",
    "t3": "收到和处理政府信息公开申请情况",
    "t4": "政府信息公开行政复议、行政诉讼情况",
}
TABLE_NUMBERS = {"t2": "二", "t3": "三", "t4": "四"}
WITHHELD_HEADER = "（三）不予公开·合计"

# A note in full-width brackets at the end of a label, after its own text.
_NOTE = re.compile(r"(?<=[^）])（[^（）]*）$")


def short_label(label: str) -> str:
    """A printed label without its trailing explanatory note."""
    return _NOTE.sub("", label).strip()


@cache
def _entries(template_id: str | None) -> dict[tuple[str, str, str], Entry]:
    """Every row, column and group by (table, axis, key): of one template, or of all
    (the newest template's wording winning where two print the same key)."""
    found: dict[tuple[str, str, str], Entry] = {}
    order = [template_id] if template_id in TEMPLATES else []
    for tid in order + [t for t in TEMPLATES if t not in order]:
        for entry in template(tid).entries:
            found.setdefault((entry.table, entry.axis, entry.key), entry)
    return found


def row_label(table: str, row_key: str, template_id: str | None = None) -> str:
    """A row's header: its printed label, after its group's (``（三）不予公开·1.属于国家秘密``)."""
    entries = _entries(template_id)
    entry = entries.get((table, "row", row_key))
    if entry is None:
        return row_key
    label = short_label(entry.label)
    group = entries.get((table, "group", entry.group)) if entry.group else None
    return f"{short_label(group.label)}·{label}" if group else label


def col_label(table: str, col_key: str, template_id: str | None = None) -> str:
    """A column's printed label, in full (a unit such as （单位：万元） is no note)."""
    entry = _entries(template_id).get((table, "col", col_key))
    return entry.label if entry else col_key


def cell_label(table: str, row_key: str, col_key: str, template_id: str | None = None) -> str:
    """A cell's name: ``行政复议·结果维持``; table 3's row totals are named by the row alone.

    ``template_id`` picks the wording of that template where they differ (table 2:
    2019's 规范性文件·本年新制作数量, 2021's 行政规范性文件·本年制发件数).
    """
    if table == "t3" and col_key == "total":
        return row_label(table, row_key, template_id)
    return f"{row_label(table, row_key, template_id)}·{col_label(table, col_key, template_id)}"


def cell_key_label(key: str, template_id: str | None = None) -> str:
    """``t3.granted.total`` → the cell's Chinese name (for findings' cell lists)."""
    parts = key.split(".")
    if len(parts) != 3:
        return key
    return cell_label(parts[0], parts[1], parts[2], template_id=template_id)
