"""Who published a report, for which year, and when.

The reporting year (统计年度) is the year the title names — not the publication
date, which is usually the following January to March. The agency is the body
as the title names it. Page meta tags (``ArticleTitle``, ``PubDate``) come first
where the CMS provides them; the document text is the fallback.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html
from lxml import etree

from archive.parse.document import Document

_REPORT_TITLE = re.compile(
    r"(政府)?信息公开.{0,6}(年度报告|年报)|政务公开.{0,6}年度报告"
    r"|(?:19|20)\d{2}\s*年度?.{0,4}信息公开工作报告"  # 2021年度政府信息公开工作报告
)
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年\s*(?:度)?")
_TITLE_SUFFIX = re.compile(r"(关于)?(的)?(政府)?信息公开(工作)?(年度报告|年报|工作报告).*$")
_PERIOD = re.compile(
    r"统计(?:期限|数据时间段|时间段|时段|期间)(?:从|自|为|是)"
    r"\s*((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日"
)
_PUBLISHED = re.compile(
    r"(?:发布日期|发布时间|成文日期|日期)\s*[:：]\s*((?:19|20)\d{2})[-年/.](\d{1,2})[-月/.](\d{1,2})"
)
_DATE = re.compile(r"^((?:19|20)\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})")
_FEE_NONE = re.compile(
    r"(不存在|未|没有|无)[^。；;]{0,12}收取[^。；;]{0,6}信息处理费|信息处理费[^。；;\d]{0,6}(?<!\d)0\s*元"
)
_FEE_AMOUNT = re.compile(r"信息处理费[^。；;]{0,20}?(\d[\d,]*(?:\.\d+)?)\s*(万元|元)")


# A page number line as PDF text puts it first or last on a page: "- 1 -", "第 2 页", "3/6".
_PAGE_NUMBER = re.compile(
    r"^(?:[-—–]\s*\d+\s*[-—–]|第\s*\d+\s*页(?:\s*共\s*\d+\s*页)?|"
    r"\d+\s*/\s*\d+|\d+)$"
)


# Field names a CMS prints in front of the title (标题：…, 信息名称：…): page chrome.
_CHROME = re.compile(r"^\s*(?:文章标题|信息名称|标\s*题|题\s*目|名\s*称|主\s*题)\s*[:：]\s*")


def strip_chrome(title: str | None) -> str | None:
    """A title without the field name a CMS printed in front of it."""
    if not title:
        return title
    return _CHROME.sub("", title).strip() or None


def looks_like_report_title(title: str | None) -> bool:
    """Whether ``title`` names an annual report. A breadcrumb (首页 > 政府信息公开 > 年报) is
    page chrome: only its last segment counts."""
    if not title:
        return False
    last = re.split(r"[>＞»]", title)[-1]
    return bool(_REPORT_TITLE.search(re.sub(r"\s+", "", last)))


def find_title(doc: Document) -> str | None:
    """The report's title: the CMS's, else the first short line that reads like one —
    and of these, the first that names a year. A title naming none (政府信息公开年报: the
    column's name, which a CMS puts in a page's <title> or a PDF prints as its running
    head) is the column's, not the report's: it is taken only when nothing names one."""
    found = [t for t in _titles(doc) if t]
    return next((t for t in found if names_a_year(t)), found[0] if found else doc.title)


def link_title(page: str, page_url: str, targets: set[str]) -> str | None:
    """What the page that linked a document calls it: the text (or ``title``) of its link
    to one of ``targets`` (the document's URL, as linked and as fetched; a PDF.js viewer's
    ``file=`` counts) — when that text reads like a report's title."""
    try:
        root = lxml.html.fromstring(page)
    except (etree.ParserError, ValueError):
        return None
    for anchor in root.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href:
            continue
        url = urljoin(page_url, href)
        viewer = parse_qs(urlsplit(url).query).get("file")
        if url not in targets and not (viewer and urljoin(url, viewer[0]) in targets):
            continue
        for text in (anchor.text_content(), anchor.get("title")):
            text = strip_chrome(re.sub(r"\s+", " ", text or "").strip())
            if text and len(text) <= 120 and looks_like_report_title(text):
                return text
    return None


def names_a_year(title: str | None) -> bool:
    """Does a title name the year of its report (not only the column it sits in)?"""
    return bool(title and _YEAR.search(unicodedata.normalize("NFKC", title)))


def _titles(doc: Document):
    """The titles a document offers, in order: its CMS title, then short lines that read
    like a report's title."""
    if doc.title and looks_like_report_title(doc.title):
        yield strip_chrome(re.sub(r"\s+", " ", doc.title).strip())
    lines = [
        strip_chrome(ln.strip()) or ""
        for ln in doc.text.split("\n")[:40]
        if ln.strip() and not _PAGE_NUMBER.match(ln.strip())
    ]
    for i, line in enumerate(lines):
        if len(line) <= 80 and looks_like_report_title(line):
            # A title set over two lines: 淮安市人民政府 / 2024 年政府信息公开工作年度报告.
            if (
                _YEAR.match(line)
                and i > 0
                and len(lines[i - 1]) <= 30
                and not re.search(r"[。，；：>＞»]", lines[i - 1])  # not a sentence or a breadcrumb
            ):
                line = lines[i - 1] + line
            yield re.sub(r"\s+", " ", line).strip()
    # An article copied without its heading still names itself in its first sentence.
    yield _quoted_title(doc.text)


# A report's title quoted in its first sentence (特向社会公布《某局2025年政府信息公开工作年度报告》):
# an article copied without its heading still names itself there.
_QUOTED = re.compile(r"《([^《》]{6,60}?(?:年度报告|年报|工作报告))》")


def _quoted_title(text: str) -> str | None:
    for m in _QUOTED.finditer(text[:600]):
        if looks_like_report_title(m.group(1)) and _YEAR.search(m.group(1)):
            return m.group(1).strip()
    return None


def reporting_year(title: str | None, text: str) -> int | None:
    """The year the report covers: the title's year, else the stated statistics period."""
    if title:
        m = _YEAR.search(unicodedata.normalize("NFKC", title))
        if m:
            return int(m.group(1))
    m = _PERIOD.search(text)
    return int(m.group(1)) if m else None


def agency_from_title(title: str | None) -> str | None:
    """The publishing body as the title names it: 牧野区财政局2024年… → 牧野区财政局."""
    if not title:
        return None
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", title))
    t = _TITLE_SUFFIX.sub("", t)
    # Page chrome before the name: a field name (标题:), a breadcrumb (首页>政务公开>…).
    t = re.split(r"[:：>＞»]", strip_chrome(t) or "")[-1]
    t = _YEAR.sub("", t, count=1)
    t = re.sub(r"关于$", "", t)  # 某局关于2021年度…报告: the year stood between
    t = t.strip("-_—:：|")
    return t or None


def published_date(doc: Document) -> str | None:
    """Publication date as YYYY-MM-DD, from ``PubDate`` or a 发布日期 line."""
    pub = doc.meta.get("PubDate") or doc.meta.get("pubdate")
    if pub and (m := _DATE.match(pub.strip())):
        return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    m = _PUBLISHED.search(doc.text)
    if m:
        return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    return signature_date(doc.text)


_CN_DATE = re.compile(r"^((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")


def signature_date(text: str) -> str | None:
    """The date a report is signed with: a line of its own among the last lines."""
    lines = [ln.strip() for ln in text.strip().split("\n")[-8:] if ln.strip()]
    for line in reversed(lines):
        m = _CN_DATE.match(unicodedata.normalize("NFKC", line).replace(" ", ""))
        if m and 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31:
            return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    return None


_REGION = re.compile(
    r"^((?:[\u4e00-\u9fff]{1,8}?(?:省|自治区|特别行政区))?"
    r"(?:[\u4e00-\u9fff]{1,8}?(?:市|自治州|地区|盟))?"
    r"(?:[\u4e00-\u9fff]{1,8}?(?:区|县|自治县|旗|市))?)"
)


def region_from_agency(agency: str | None) -> str | None:
    """The administrative region an agency's name begins with (淮安市人民政府 → 淮安市).

    A hint only: the registry's region code is authoritative."""
    if not agency:
        return None
    m = _REGION.match(agency)
    region = m.group(1) if m else ""
    return region if region and region != agency else None


def information_fee(text: str) -> float | None:
    """信息处理费 collected, in 元, as section 六 states it; 0 when it says none; None when silent."""
    section = text[text.rfind("六、") :] if "六、" in text else text
    if _FEE_NONE.search(section):
        return 0.0
    m = _FEE_AMOUNT.search(section)
    if not m:
        return None
    amount = float(m.group(1).replace(",", ""))
    return amount * 10000 if m.group(2) == "万元" else amount


_SOFT_404 = re.compile(
    r"页面不存在|页面未找到|找不到(该|此)?页面|您访问的页面|404\s*(not\s*found|错误)?|"
    r"页面已删除|信息不存在|文章不存在|页面找不到|not\s*found",
    re.I,
)
_OTHER_DOCS = (
    ("预算", "a budget document (预算), not a disclosure annual report"),
    ("决算", "a final-accounts document (决算), not a disclosure annual report"),
    ("通知", "a notice (通知), not a disclosure annual report"),
    ("公告", "an announcement (公告), not a disclosure annual report"),
)


def why_not_a_report(doc: Document, title: str | None) -> str:
    """One line saying what the document is instead of a report."""
    head = re.sub(r"\s+", "", (title or "") + " " + doc.text[:400])
    if len(doc.text) < 3000 and _SOFT_404.search(head):
        return "the page says it does not exist (a soft 404 served with a normal status)"
    for word, what in _OTHER_DOCS:
        if word in re.sub(r"\s+", "", title or ""):
            return f"{what}: {title!r}"
    if not doc.text.strip():
        return "the document has no text"
    return (
        f"no report title and none of the three report tables found (title {title!r})"
        if title
        else "no report title and no report tables found"
    )


def consistency_warnings(year: int | None, text: str, published: str | None) -> list[str]:
    """Metadata that contradicts itself: said, never silently corrected."""
    warnings = []
    period = _PERIOD.search(text)
    if year and period and int(period.group(1)) != year:
        warnings.append(
            f"the title names the year {year} but the statistics period starts in {period.group(1)}"
        )
    if year and published and published < f"{year + 1}-01-01":
        warnings.append(f"published {published}, before its reporting year {year} ended")
    return warnings


_TABLE_SECTIONS = (
    "主动公开政府信息情况",
    "收到和处理政府信息公开申请情况",
    "行政复议、行政诉讼情况",
)


def names_table_sections(text: str) -> bool:
    """Whether the text has the headings the three statistical tables stand under."""
    flat = re.sub(r"\s+", "", text)
    return sum(1 for h in _TABLE_SECTIONS if h in flat) >= 2
