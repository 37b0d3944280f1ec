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

from archive.parse.sections import SECTIONS
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

# The arithmetic rules (勾稽关系) of archive.checks, as a reader reads them.
RULE_NAMES = {
    "t3_balance": "表三收支平衡：一＋二＝（七）总计＋四",
    "t3_results": "表三办理结果：（七）总计＝各项结果之和",
    "t3_applicants": "表三申请人：总计＝六类申请人之和",
    "t4_total": "表四：总计＝结果维持＋结果纠正＋其他结果＋尚未审结",
}
# What a finding's status means: the numbers don't add up, or the rule could not be decided.
STATUS_NAMES = {
    "fail": "不符",
    "uncertain": "存疑（部分单元格空白）",
    "incomplete": "无法核对（单元格空白）",
}
# The figures a report's text states, against its tables (narrative_findings.rule).
NARRATIVE_RULES = {
    "text_new_requests": "正文所述本年新收申请数与表三“一、本年新收”",
    "text_results": "正文所述办理结果数与表三“（七）总计”",
    "text_carried_over": "正文所述上年结转数与表三“二、上年结转”",
    "text_carried_forward": "正文所述结转下年度数与表三“四、结转下年度继续办理”",
    "text_review": "正文所述行政复议数与表四“行政复议·总计”",
    "text_litigation": "正文所述行政诉讼数与表四行政诉讼总计",
    "text_fee": "正文所述信息处理费与表二行政事业性收费金额",
}
NARRATIVE_STATUS_NAMES = {"fail": "不符", "uncertain": "存疑（表格单元格空白，或金额低于正文所述）"}
# The sections of a report's text (report_sections.section_key), as the template prints them.
SECTION_NAMES = {"preface": "前言"} | {key: heading for _, key, heading, _ in SECTIONS}
# What the parse stage made of a document (reports.parse_status), as the report page says it.
PARSE_STATUS_NAMES = {
    "ok": "表格全部读取",
    "partial": "表格部分读取",
    "no_tables": "未找到表格",
    "text_only": "只有正文（格式版本无表格）",
    "tables_are_images": "表格是图片",
    "run_together": "数字连排无法拆分（相关行未收录）",
    "landing_page": "不是报告本身（指向报告的页面）",
    "not_a_report": "不是年度报告",
    "corrupt": "文件损坏",
    "too_large": "文件过大",
    "timeout": "读取超时",
}
# The stored queries' parameters, as the query form labels them.
PARAMETER_LABELS = {
    "year": "年度",
    "region": "地区（省、市、区县的名称或代码）",
    "province": "省级（省的名称或代码；留空为各省）",
    "rule": "规则",
    "q": "关键词（多个词以空格分开）",
    "section": "正文部分（一至六，或其标题）",
    "from_year": "起始年度",
    "to_year": "截止年度",
    "min_percent": "空白单元格至少占（%）",
    "omit_failing": "不计不符的数字（填 1）",
    "rows": "行数（留空为 100）",
}

# The headers table 三 prints above its columns, and the label of its result rows.
T3_HEADER = "申请人情况"
T3_ORGANISATIONS = "法人或其他组织"
T3_ORGANISATION_COLUMNS = (
    "enterprise",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
)
T3_RESULTS = "三、本年度办理结果"
# Table 四 is printed as one row of 15 numbers: 行政复议, then 行政诉讼 in two halves.
T4_HEADER = "行政诉讼"
T4_PARTS = {
    "review": "行政复议",
    "litigation_direct": "未经复议直接起诉",
    "litigation_after_review": "复议后起诉",
}

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


def label_rows() -> list[tuple[str, str]]:
    """(key, Chinese name) of every key a stored query shows, for the ``labels`` table:
    ``rule:t4_total``, ``status:fail``, ``narrative:text_review``, ``row:t3.granted``,
    ``col:t3.natural_person``, ``parse_status:ok``, ``section:problems``; and ``section_alias:五`` (any way a
    reader names a section: its number, heading, key words, key) → its key."""
    rows = {f"rule:{k}": v for k, v in RULE_NAMES.items()}
    rows |= {f"status:{k}": v.split("（")[0] for k, v in STATUS_NAMES.items()}
    rows |= {f"narrative:{k}": v for k, v in NARRATIVE_RULES.items()}
    rows |= {f"narrative_status:{k}": v.split("（")[0] for k, v in NARRATIVE_STATUS_NAMES.items()}
    for (table, axis, key), _ in _entries(None).items():
        if axis == "row":
            rows[f"row:{table}.{key}"] = row_label(table, key)
        elif axis == "col":
            rows[f"col:{table}.{key}"] = col_label(table, key)
    rows |= {f"parse_status:{k}": v for k, v in PARSE_STATUS_NAMES.items()}
    rows |= {f"section:{k}": v for k, v in SECTION_NAMES.items()}
    aliases = {"preface": "preface", "前言": "preface", "0": "preface"}
    for number, key, heading, words in SECTIONS:
        names = (key, heading, heading[2:], "一二三四五六"[number - 1], str(number), *words)
        aliases |= dict.fromkeys(names, key)
    rows |= {f"section_alias:{alias}": key for alias, key in aliases.items()}
    return sorted(rows.items())
