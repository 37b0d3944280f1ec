"""A report's printed form, in HTML (article body) and PDF, from its known numbers.

The three tables are first laid out as rows of cells with rowspan/colspan, the
way real sites print them (``t2_layout``/``t3_layout``/``t4_layout``); HTML and
PDF are then two renderings of the same layout, so both show the same grid.
Labels come from the template CSV. Each report gets a seeded set of cosmetic
variants (``Style``) seen on real sites, none of which changes what a cell says.
"""

from __future__ import annotations

import html
import io
import random
import re
from dataclasses import dataclass

from archive.store.templates import template
from simweb.truth import ReportTruth, Value

# Table 2 is printed in blocks headed by the article of the regulation they report on.
T2_BLOCKS = (
    ("第二十条第（一）项", ("regulations", "normative_documents")),
    ("第二十条第（五）项", ("licensing", "other_services")),
    ("第二十条第（六）项", ("penalty", "coercion")),
    ("第二十条第（八）项", ("fees",)),
    ("第二十条第（九）项", ("procurement",)),
)
T3_CORNER = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
T3_RESULTS_LABEL = "三、本年度办理结果"
SECTIONS = (
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
)
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
# Headings as real reports word them besides the canonical ones: 2019-template reports
# (上海 2019), older wordings, and agencies' own (沭阳 2023: 整改措施).
HEADING_VARIANTS = {
    3: ("四、因政府信息公开工作被申请行政复议和提起行政诉讼情况",),
    4: ("五、政府信息公开工作存在的主要问题及改进情况", "五、存在的主要问题及整改措施"),
}


def printed_heading(truth: ReportTruth, i: int) -> str:
    """Section ``i``'s heading as this report prints it (seeded; most print the canonical)."""
    rng = random.Random(f"heading:{truth.sim_id}:{i}")
    if i in HEADING_VARIANTS and rng.random() < (0.5 if truth.template == "2019" else 0.2):
        return rng.choice(HEADING_VARIANTS[i])
    return SECTIONS[i]


@dataclass
class Cell:
    """One printed cell: a header, a row label, a number, or padding."""

    text: str = ""
    colspan: int = 1
    rowspan: int = 1
    kind: str = "label"  # head | label | num | pad
    value: Value = None
    unit: str = ""


Layout = list[list[Cell]]


@dataclass
class Style:
    """Cosmetic choices of one report's HTML; every combination prints the same numbers."""

    table_attrs: str
    num_wrap: str  # none | p | span
    label_wrap: str  # none | p
    blank: str  # "" | "&nbsp;"
    head_breaks: bool  # 本年新<br />制作数量
    label_space: bool  # "1. 属于国家秘密"
    halfwidth: bool  # "(一) 予以公开"
    fullwidth_digits: bool
    t2_quirk: bool  # 2019: value colspans not aligned with header colspans (上海 2019)
    t2_pad: bool  # single-value rows as value + empty cells instead of one colspan cell
    amount_unit: bool  # 采购总金额 printed as "251000元"
    tbody: bool

    @classmethod
    def pick(cls, truth: ReportTruth) -> Style:
        rng = random.Random(f"style:{truth.sim_id}")
        return cls(
            table_attrs=rng.choice(
                [
                    'border="1" cellspacing="0" cellpadding="0" align="center"',
                    'class="MsoNormalTable" border="1" cellspacing="0" '
                    'style="border-collapse:collapse;width:100%"',
                    'align="center" border="1" cellspacing="1"',
                    'width="600" border="1"',
                ]
            ),
            num_wrap=rng.choice(["none", "p", "span"]),
            label_wrap=rng.choice(["none", "p"]),
            blank=rng.choice(["", "&nbsp;"]),
            head_breaks=rng.random() < 0.4,
            label_space=rng.random() < 0.3,
            halfwidth=rng.random() < 0.25,
            fullwidth_digits=rng.random() < 0.12,
            t2_quirk=truth.template == "2019" and rng.random() < 0.5,
            t2_pad=rng.random() < 0.3,
            amount_unit=rng.random() < 0.6,
            tbody=rng.random() < 0.7,
        )


def _num(truth: ReportTruth, table: str, row: str, col: str) -> Cell:
    unit = "元" if (table, row, col) == ("t2", "procurement", "amount") else ""
    cell = Cell(kind="num", value=truth.tables[table][row][col], unit=unit)
    if cell.value is None and truth.printing.get("blank_mark"):
        cell.text = truth.printing["blank_mark"]  # a blank printed as "/" or "—"
    return cell


def _label(truth: ReportTruth, table: str, key: str, label: str) -> str:
    """A row label as printed: the template's, or the agency's misprint of it."""
    return truth.printing.get("labels", {}).get(f"{table}.{key}", label)


def _spread(cells: list[Cell], width: int, *, data: bool, style: Style) -> list[Cell]:
    """Make ``cells`` fill ``width`` grid columns by widening one of them (or padding)."""
    extra = width - len(cells)
    if extra <= 0:
        return cells
    if len(cells) == 1 and style.t2_pad:
        return cells + [Cell(kind="pad") for _ in range(extra)]
    if len(cells) == 1:
        cells[0].colspan += extra
    elif len(cells) == 2:
        cells[1].colspan += extra - (extra // 2)
        cells[0].colspan += extra // 2
    else:
        # The 上海 2019 table widens the middle header but the first value cell.
        cells[0 if data and style.t2_quirk else 1].colspan += extra
    return cells


def t2_layout(truth: ReportTruth, style: Style) -> Layout:
    tpl = template(truth.template)
    labels = {r.key: r.label for r in tpl.rows("t2")}
    col_labels = {c.key: c.label for c in tpl.cols("t2")}
    width = 4 if style.t2_quirk else 3  # value columns of the grid
    rows: Layout = []
    for heading, keys in T2_BLOCKS:
        keys = tuple(k for k in keys if k in labels and k in truth.tables["t2"])
        if not keys:
            continue
        cols = tpl.row_cols("t2", keys[0])
        rows.append([Cell(heading, colspan=width + 1, kind="head")])
        heads = [Cell(col_labels[c], kind="head") for c in cols]
        rows.append(
            [Cell("信息内容", kind="head")] + _spread(heads, width, data=False, style=style)
        )
        for key in keys:
            values = [_num(truth, "t2", key, c) for c in cols]
            rows.append(
                [Cell(_label(truth, "t2", key, labels[key]))]
                + _spread(values, width, data=True, style=style)
            )
    return rows


def _t3_entries(truth: ReportTruth) -> list:
    """Table 3's rows as the agency printed them: the template's, or for a 2021 report that
    prints （六）其他处理 as one row, the 2019 template's single row in place of its three."""
    rows = template(truth.template).rows("t3")
    if "other_handling" in truth.tables["t3"] and truth.template == "2021":
        single = next(r for r in template("2019").rows("t3") if r.key == "other_handling")
        out = []
        for r in rows:
            if r.key == "other_no_correction":
                out.append(single)
            elif r.key not in ("other_unpaid_fee", "other_other"):
                out.append(r)
        return out
    return rows


def t3_layout(truth: ReportTruth) -> Layout:
    tpl = template(truth.template)
    cols = tpl.cols("t3")
    groups = {g.key: g.label for g in tpl.groups("t3")}
    entries = _t3_entries(truth)
    keys = [e.key for e in entries]
    results = keys[keys.index("granted") : keys.index("results_total")]
    subtotal = bool(truth.printing.get("subtotal"))  # a 法人或其他组织 小计 column
    orgs = cols[1:-1]
    width = len(cols) + subtotal
    rows: Layout = [
        [
            Cell(T3_CORNER, colspan=3, rowspan=3, kind="head"),
            Cell("申请人情况", colspan=width, kind="head"),
        ],
        [
            Cell(cols[0].label, rowspan=2, kind="head"),
            Cell("法人或其他组织", colspan=width - 2, kind="head"),
            Cell(cols[-1].label, rowspan=2, kind="head"),
        ],
        [Cell(c.label, kind="head") for c in orgs]
        + ([Cell("小计", kind="head")] if subtotal else []),
    ]
    open_group = None
    for entry in entries:
        lead: list[Cell] = []
        label = _label(truth, "t3", entry.key, entry.label)
        if entry.key == results[0]:
            lead.append(Cell(T3_RESULTS_LABEL, rowspan=len(results) + 1))
        if entry.key in results or entry.key == "results_total":
            if entry.group and entry.group != open_group:
                size = sum(1 for r in entries if r.group == entry.group)
                lead.append(Cell(groups[entry.group], rowspan=size))
            lead.append(Cell(label, colspan=1 if entry.group else 2))
        else:
            lead.append(Cell(label, colspan=3))
        open_group = entry.group
        numbers = [_num(truth, "t3", entry.key, c.key) for c in cols]
        if subtotal:
            parts = [truth.tables["t3"][entry.key][c.key] for c in orgs]
            value = None if all(v is None for v in parts) else sum(v or 0 for v in parts)
            numbers.insert(len(cols) - 1, Cell(kind="num", value=value))
        rows.append(lead + numbers)
    return rows


def t4_layout(truth: ReportTruth) -> Layout:
    if "t4" not in truth.tables:
        return []  # the agency left the table out
    tpl = template(truth.template)
    cols = tpl.cols("t4")
    groups = [r.label.split("·") for r in tpl.rows("t4")]  # 行政复议 | 行政诉讼·未经复议直接起诉 …
    top: list[Cell] = []
    second: list[Cell] = []
    for path in groups:
        if len(path) == 1:
            top.append(Cell(path[0], colspan=len(cols), kind="head"))
            second += [Cell(c.label, rowspan=2, kind="head") for c in cols]
        else:
            if not top or top[-1].text != path[0]:
                top.append(Cell(path[0], colspan=0, kind="head"))
            top[-1].colspan += len(cols)
            second.append(Cell(path[1], colspan=len(cols), kind="head"))
    third = [Cell(c.label, kind="head") for path in groups if len(path) > 1 for c in cols]
    data = [_num(truth, "t4", r.key, c.key) for r in tpl.rows("t4") for c in cols]
    return [top, second, third, data]


def printed(cell: Cell, *, fullwidth: bool = False, unit: bool = False) -> str:
    """The number as printed, or "" for a blank cell."""
    v = cell.value
    if v is None:
        return cell.text if cell.kind == "num" else ""
    text = str(v)
    if fullwidth and isinstance(v, int) and v >= 0:
        text = text.translate(_FULLWIDTH)
    return text + (cell.unit if unit and cell.unit and v else "")


# --- HTML ---------------------------------------------------------------------------------


def _label_html(cell: Cell, style: Style) -> str:
    text = cell.text
    if cell.kind == "label" and style.halfwidth:
        text = re.sub(
            r"^\(([一二三四五六七八九十]+)\)", r"(\1) ", text.replace("（", "(").replace("）", ")")
        )
    text = html.escape(text, quote=False)
    if cell.kind == "label" and style.label_space:
        text = re.sub(r"^(\d)\.", r"\1.&nbsp;", text)
    if cell.kind == "head" and style.head_breaks and 4 <= len(cell.text) <= 8:
        half = len(cell.text) // 2
        text = html.escape(cell.text[:half]) + "<br />" + html.escape(cell.text[half:])
    if style.label_wrap == "p":
        align = ' align="center"' if cell.kind == "head" else ""
        text = f"<p{align}>{text}</p>"
    return text


def _num_html(cell: Cell, style: Style, rng: random.Random) -> str:
    text = printed(
        cell, fullwidth=style.fullwidth_digits and rng.random() < 0.3, unit=style.amount_unit
    )
    if not text:
        inner = style.blank
        return f'<p align="center">{inner}</p>' if style.num_wrap == "p" and inner else inner
    if style.num_wrap == "p":
        return f'<p align="center">{text}</p>'
    if style.num_wrap == "span":
        return f'<span style="font-family:宋体;font-size:12pt">{text}</span>'
    return text


def layout_html(rows: Layout, style: Style, rng: random.Random) -> str:
    if not rows:
        return ""
    out = [f"<table {style.table_attrs}>", "<tbody>" if style.tbody else ""]
    for row in rows:
        out.append("<tr>")
        for cell in row:
            attrs = ""
            if cell.colspan > 1:
                attrs += f' colspan="{cell.colspan}"'
            if cell.rowspan > 1:
                attrs += f' rowspan="{cell.rowspan}"'
            if cell.kind in ("num", "pad"):
                body = _num_html(cell, style, rng) if cell.kind == "num" else style.blank
            else:
                body = _label_html(cell, style)
            out.append(f"<td{attrs}>{body}</td>")
        out.append("</tr>")
    out.append("</tbody></table>" if style.tbody else "</table>")
    return "".join(out)


def render_report_html(truth: ReportTruth) -> str:
    """The article body of a report: title, six sections, three tables."""
    style = Style.pick(truth)
    rng = random.Random(f"cells:{truth.sim_id}")
    text = report_text(truth)
    tables = {
        1: layout_html(t2_layout(truth, style), style, rng),
        2: layout_html(t3_layout(truth), style, rng),
        3: layout_html(t4_layout(truth), style, rng),
    }
    out = [f'<p style="text-align:center"><strong>{html.escape(truth.title)}</strong></p>']
    out += [f"<p>{html.escape(p)}</p>" for p in text["preface"]]
    for i, heading in enumerate(SECTIONS):
        out.append(f"<p><strong>{printed_heading(truth, i)}</strong></p>")
        if i in tables:
            out.append(tables[i])
        out += [f"<p>{html.escape(p)}</p>" for p in text[heading]]
    return "\n".join(out)


# --- prose --------------------------------------------------------------------------------

_WORK = [
    "深入贯彻落实党中央、国务院关于全面推进政务公开工作的决策部署",
    "坚持以公开为常态、不公开为例外",
    "严格落实《中华人民共和国政府信息公开条例》各项规定",
    "紧紧围绕中心工作和群众关切",
]
_PROBLEMS = [
    "政策解读的形式还不够丰富，解读的精准度有待提高。",
    "信息公开工作人员业务能力有待进一步提升。",
    "主动公开的深度和广度仍有不足，部分栏目更新不够及时。",
    "依申请公开答复的规范化水平还需进一步提高。",
]
_FIXES = [
    "加强业务培训，提升工作人员政策水平和业务能力。",
    "完善信息发布审核机制，确保公开信息准确、及时。",
    "丰富政策解读形式，采用图文、视频等方式增强解读效果。",
    "规范依申请公开办理流程，严格答复时限和文书格式。",
]


def _t(truth: ReportTruth, table: str, row: str, col: str) -> int:
    return int(truth.true_value(table, row, col) or 0)


def report_text(truth: ReportTruth) -> dict[str, list[str]]:
    """The prose of the report, per section, with figures taken from the true numbers."""
    rng = random.Random(f"text:{truth.sim_id}")
    y, who = truth.year, truth.agency
    new = _t(truth, "t3", "new_requests", "total")
    old = _t(truth, "t3", "carried_over", "total")
    done = _t(truth, "t3", "results_total", "total")
    left = _t(truth, "t3", "carried_forward", "total")
    review = _t(truth, "t4", "review", "total") if "t4" in truth.tables else 0
    suits = (
        _t(truth, "t4", "litigation_direct", "total")
        + _t(truth, "t4", "litigation_after_review", "total")
        if "t4" in truth.tables
        else 0
    )
    # A figure the agency's text states differently from its tables (a narrative finding).
    said = truth.narrative
    new, old = said.get("text_new_requests", new), said.get("text_carried_over", old)
    review, suits = said.get("text_review", review), said.get("text_litigation", suits)
    if new + old:
        apply = (
            f"{y}年，{who}共收到政府信息公开申请{new}件，上年结转{old}件，"
            f"办结{done}件，结转下年度继续办理{left}件，均在法定期限内予以答复。"
        )
    else:
        apply = f"{y}年，{who}未收到依申请公开事项申请。"
    if review + suits:
        apply += f"全年发生政府信息公开行政复议{review}件、行政诉讼{suits}件。"
    if truth.info_fee_yuan:
        fee = f"依据《政府信息公开信息处理费管理办法》规定，{y}年我单位收取信息处理费{truth.info_fee_yuan}元。"
    else:
        fee = rng.choice(
            [
                f"依据《政府信息公开信息处理费管理办法》规定，{y}年我单位不存在收取信息处理费等情况。",
                f"{y}年度，本机关不存在收取信息处理费等情况。",
            ]
        )
    others = rng.choice(
        ["", "本年度无其他需要报告的事项。", "建议提案办理结果公开情况详见本机关门户网站相关栏目。"]
    )
    released = rng.randint(20, 90) * (10 if new > 100 else 1)
    return {
        "preface": [
            f"本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）编制，"
            f"报告所列数据统计期限自{y}年1月1日至{y}年12月31日止。"
            f"如对本报告有疑问，请与{who}办公室联系。"
        ],
        SECTIONS[0]: [
            f"{y}年，{who}{rng.choice(_WORK)}，{rng.choice(_WORK)}，扎实推进政府信息公开工作。",
            f"（一）主动公开情况。全年通过门户网站主动公开政府信息{released}条，及时发布政策文件、"
            f"工作动态和重点领域信息。",
            f"（二）依申请公开情况。{apply}",
            "（三）政府信息管理情况。严格执行信息发布审核制度，动态调整主动公开基本目录。",
            "（四）政府信息公开平台建设情况。依托政府门户网站信息公开专栏，规范栏目设置，做好信息更新维护。",
            "（五）监督保障情况。明确分管领导和专职人员，将政府信息公开工作纳入年度考核。",
        ],
        SECTIONS[1]: [],
        SECTIONS[2]: [],
        SECTIONS[3]: [],
        SECTIONS[4]: [
            "（一）存在的主要问题。" + rng.choice(_PROBLEMS),
            "（二）改进情况。" + rng.choice(_FIXES),
        ],
        SECTIONS[5]: [p for p in (fee, others) if p],
    }


# --- PDF ----------------------------------------------------------------------------------

FONT = "STSong-Light"


def _place(rows: Layout) -> tuple[list[tuple[int, int, Cell]], int]:
    """Anchor positions of the cells in the full grid, as a browser lays out spans."""
    taken: set[tuple[int, int]] = set()
    anchors, ncols = [], 0
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            anchors.append((r, c, cell))
            taken.update(
                (r + dr, c + dc) for dr in range(cell.rowspan) for dc in range(cell.colspan)
            )
            c += cell.colspan
        ncols = max(ncols, c)
    return anchors, ncols


_WIDTH = 495.0  # A4 less 50 pt margins


def _col_widths(table: str, n: int) -> list[float]:
    if table == "t2":
        return [195.0] + [100.0] * (n - 1) if n == 4 else [175.0] + [80.0] * (n - 1)
    if table == "t3":
        return [22.0, 48.0, 145.0] + [40.0] * (n - 3)
    return [_WIDTH / n] * n


def _pdf_kit():
    """reportlab pieces, imported and the CJK font registered only when a PDF is wanted."""
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    base = ParagraphStyle(
        "body", fontName=FONT, fontSize=10.5, leading=17, wordWrap="CJK", firstLineIndent=21
    )
    return {
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontSize=16,
            leading=26,
            alignment=TA_CENTER,
            firstLineIndent=0,
            spaceAfter=10,
        ),
        "heading": ParagraphStyle(
            "heading",
            parent=base,
            fontSize=12,
            leading=20,
            firstLineIndent=0,
            spaceBefore=6,
            spaceAfter=4,
        ),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5, firstLineIndent=0),
        "cellc": ParagraphStyle(
            "cellc", parent=base, fontSize=7.5, leading=9.5, firstLineIndent=0, alignment=TA_CENTER
        ),
    }


def _grid_flowable(
    kit: dict,
    anchors: list[tuple[int, int, Cell]],
    ncols: int,
    widths: list[float],
    keep: int,
    break_after: int | None = None,
    hard_break: bool = False,
):
    """A ruled table that can break between any two rows, merged cells included.

    reportlab will not break a table inside a row span, but real reports do (the
    rowspan of 三、本年度办理结果 crosses the page); so this flowable cuts the grid
    itself and clips the spans, leaving the continued part of a merged cell empty, as a
    word processor does. ``keep`` rows at the top are never separated from the next one;
    ``break_after`` forces a page break after that many rows (``hard_break``: the rest
    starts on a new page even where it would fit below).
    """
    from reportlab.platypus import Flowable, PageBreak, Paragraph, Table

    nrows = 1 + max(r + cell.rowspan - 1 for r, _, cell in anchors)

    def table(r0: int, r1: int) -> Table:
        data: list[list] = [[""] * ncols for _ in range(r1 - r0)]
        commands: list[tuple] = [
            ("GRID", (0, 0), (-1, -1), 0.5, "black"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ]
        for r, c, cell in anchors:
            last = r + cell.rowspan - 1
            if last < r0 or r >= r1:
                continue
            top, bottom = max(r, r0), min(last, r1 - 1)
            if r >= r0:
                text = printed(cell, unit=True) if cell.kind == "num" else cell.text
                para = kit["cell"] if cell.kind == "label" else kit["cellc"]
                data[r - r0][c] = Paragraph(html.escape(text, quote=False), para)
            if bottom > top or cell.colspan > 1:
                commands.append(("SPAN", (c, top - r0), (c + cell.colspan - 1, bottom - r0)))
        return Table(data, colWidths=widths, style=commands)

    class Grid(Flowable):
        def __init__(self, r0: int = 0):
            super().__init__()
            self.r0 = r0
            self._table = None

        def wrap(self, aw, ah):
            self._table = table(self.r0, nrows)
            w, h = self._table.wrap(aw, ah)
            if self.r0 == 0 and break_after:
                h = max(h, ah + 1)  # never "fits": the frame asks split() for the break
            return w, h

        def split(self, aw, ah):
            whole = table(self.r0, nrows)
            whole.wrap(aw, ah)
            fit, used = 0, 0.0
            for h in whole._rowHeights:
                if used + h > ah:
                    break
                used, fit = used + h, fit + 1
            if self.r0 == 0 and break_after:
                fit = min(fit, break_after)
            least = keep + 1 if self.r0 == 0 else 1
            while fit >= least:
                part = table(self.r0, self.r0 + fit)
                if part.wrap(aw, ah)[1] <= ah:
                    break
                fit -= 1
            if fit < least:
                return []
            if self.r0 + fit >= nrows:
                return [whole]
            if hard_break and self.r0 == 0 and break_after:
                return [part, PageBreak(), Grid(self.r0 + fit)]
            return [part, Grid(self.r0 + fit)]

        def draw(self):
            self._table.drawOn(self.canv, 0, 0)

    return Grid()


def render_report_pdf(
    truth: ReportTruth, cut_row: str | None = None, wrap_row: str | None = None
) -> bytes:
    """The report as a text PDF whose tables have ruled grids; table 3 runs over a page.

    With ``cut_row`` (a table-3 row key without a group label) the page break falls
    inside that row: its label and empty cells end one page, its numbers start the next.
    With ``wrap_row`` the break falls inside that row's wrapped label, as a browser prints
    it: 「4.无正当理由大量反」 ends one page, 「复申请」 starts the next, and the numbers
    stand on one side of the break (table 3 then starts on a page of its own).
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    kit = _pdf_kit()
    text = report_text(truth)
    style = Style.pick(truth)
    style.t2_pad = False
    grids = {}
    for i, (name, rows) in enumerate(
        (("t2", t2_layout(truth, style)), ("t3", t3_layout(truth)), ("t4", t4_layout(truth))),
        start=1,
    ):
        if not rows:
            continue  # a table the agency left out
        anchors, ncols = _place(rows)
        keep = {"t2": 0, "t3": 3, "t4": len(rows)}[name]
        # Table 3 always breaks inside its results block, as it does in many real PDFs.
        brk = random.Random(f"pdf:{truth.sim_id}").randint(6, 20) if name == "t3" else None
        if name == "t3" and cut_row:
            rows, brk = _cut_row(rows, truth, cut_row)
            anchors, ncols = _place(rows)
        if name == "t3" and wrap_row:
            rows, brk = _wrap_row(rows, truth, wrap_row)
            anchors, ncols = _place(rows)
        grids[i] = _grid_flowable(
            kit,
            anchors,
            ncols,
            _col_widths(name, ncols),
            keep,
            brk,
            hard_break=bool(cut_row or wrap_row) and name == "t3",
        )

    def para(p: str, kind: str = "body") -> Paragraph:
        return Paragraph(html.escape(p, quote=False), kit[kind])

    story: list = [para(truth.title, "title")] + [para(p) for p in text["preface"]]
    for i, heading in enumerate(SECTIONS):
        if wrap_row and i == 2:
            story.append(PageBreak())
        story.append(para(printed_heading(truth, i), "heading"))
        if i in grids:
            story.append(grids[i])
        story += [para(p) for p in text[heading]]

    def footer(canvas, doc) -> None:
        canvas.setFont(FONT, 9)
        canvas.drawCentredString(A4[0] / 2, 30, f"- {doc.page} -")

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=50,
        rightMargin=50,
        topMargin=60,
        bottomMargin=60,
        title=truth.title,
        author=truth.agency,
        subject="政府信息公开工作年度报告",
        creator="",
        invariant=1,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def _cut_row(rows: Layout, truth: ReportTruth, key: str) -> tuple[Layout, int]:
    """Table 3's layout with row ``key`` printed as two half rows; the index to break at."""
    label = next(r.label for r in template(truth.template).rows("t3") if r.key == key)
    at = next(i for i, row in enumerate(rows) if row and row[0].text == label)
    nums = [c for c in rows[at] if c.kind == "num"]
    first = [Cell(label, colspan=3)] + [Cell(kind="pad") for _ in nums]
    second = [Cell("", colspan=3, kind="pad")] + nums
    return rows[:at] + [first, second] + rows[at + 1 :], at + 1


def _wrap_row(rows: Layout, truth: ReportTruth, key: str) -> tuple[Layout, int]:
    """Table 3's layout with row ``key``'s label wrapped over two printed rows, the page
    break between them; the numbers on the first or the second (seeded). Merged cells
    spanning the row grow by the row added."""
    entry = next(r for r in template(truth.template).rows("t3") if r.key == key)
    label = _label(truth, "t3", key, entry.label)
    at = next(i for i, row in enumerate(rows) if any(c.text == label for c in row))
    row = rows[at]
    i = next(j for j, c in enumerate(row) if c.text == label)
    cut = max(3, len(label) - 3)
    nums = [c for c in row if c.kind == "num"]
    pads = [Cell(kind="pad") for _ in nums]
    numbers_first = random.Random(f"wrap:{truth.sim_id}").random() < 0.5
    head = row[:i] + [Cell(label[:cut], colspan=row[i].colspan)]
    first = head + (nums if numbers_first else pads)
    second = [Cell(label[cut:], colspan=row[i].colspan)] + (pads if numbers_first else nums)
    # Merged cells over the row (its group label, 三、本年度办理结果) now cover one more row.
    for r, cells in enumerate(rows[: at + 1]):
        for c in cells:
            if c.rowspan > 1 and r + c.rowspan - 1 >= at and (r < at or c in row[:i]):
                c.rowspan += 1
    return rows[:at] + [first, second] + rows[at + 1 :], at + 1


def render_report_pdf_wrapped_label(truth: ReportTruth) -> bytes:
    """A PDF whose table-3 row label 「4.无正当理由大量反复申请」 wraps across a page break."""
    return render_report_pdf(truth, wrap_row="rejected_excessive")


# Print CSS for a browser's "Save as PDF" of a report page: A4, a narrow table 3 whose
# long labels wrap onto two lines, rows allowed to break across pages (orphans/widows 1).
_PRINT_CSS = (
    "<style>@page{size:A4;margin:20mm}"
    "body{font-family:'WenQuanYi Micro Hei',sans-serif;font-size:12px}"
    "table{border-collapse:collapse}td{border:1px solid #000;padding:2px 3px;"
    "line-height:16px;orphans:1;widows:1;vertical-align:%s}"
    "div.article>table:nth-of-type(2){width:460px}</style>"
)
_PX = 72 / 96  # CSS px in PDF points
_CONTENT = (297 - 40) / 25.4 * 72  # A4 height less the 20 mm margins, in points


def _chromium() -> str:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise RuntimeError("a browser-printed PDF needs Chromium (chromium) installed")


def _print_pdf(page: str) -> bytes:
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="simweb-print-") as tmp:
        source, out = Path(tmp) / "r.html", Path(tmp) / "r.pdf"
        source.write_text(page, encoding="utf-8")
        subprocess.run(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={tmp}/profile",
                "--no-pdf-header-footer",
                f"--print-to-pdf={out}",
                source.as_uri(),
            ],
            capture_output=True,
            timeout=180,
            check=True,
        )
        return out.read_bytes()


def _label_line(pdf_bytes: bytes, first: str) -> tuple[int, float] | None:
    """(page index, top of the line in points from the page's top) where ``first`` is printed."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        for i in range(len(pdf)):
            textpage = pdf[i].get_textpage()
            found = textpage.search(first).get_next()
            if found:
                _, _, _, top = textpage.get_charbox(found[0])
                return i, pdf[i].get_height() - top
    finally:
        pdf.close()
    return None


def _split_across_pages(pdf_bytes: bytes, first: str, rest: str) -> bool:
    """Whether the label's two lines are printed on two pages, ``first`` ending one."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()
    for i, text in enumerate(texts[:-1]):
        lines = [ln for ln in text.replace("\r", "").split("\n") if ln.strip()]
        nxt = [ln for ln in texts[i + 1].replace("\r", "").split("\n") if ln.strip()]
        if lines and first in lines[-1] and nxt and nxt[0].strip().startswith(rest):
            return True
    return False


def render_report_pdf_browser(truth: ReportTruth, wrap_row: str = "rejected_excessive") -> bytes:
    """The report page saved as PDF by Chromium, a row of table 3 broken across two pages
    inside its wrapped label: 「4.无正当理由大量反复」 ends one page with the row's numbers,
    「申请」 starts the next. Chrome draws no rule at such a break.

    The page is printed once to find where the label's first line falls, then again with
    a spacer before table 3 that brings that line to the foot of a page."""
    entry = next(r for r in template(truth.template).rows("t3") if r.key == wrap_row)
    label = _label(truth, "t3", wrap_row, entry.label)
    align = random.Random(f"browser:{truth.sim_id}").choice(["top", "middle"])
    page, _ = render_report_html_variant(truth, "plain")
    page = page.decode("utf-8").replace("</head>", (_PRINT_CSS % align) + "</head>", 1)
    heading = f"<p><strong>{printed_heading(truth, 2)}</strong></p>"

    def printed_with(spacer: float) -> bytes:
        div = f'<div style="height:{spacer:.1f}px"></div>' if spacer else ""
        return _print_pdf(page.replace(heading, div + heading, 1))

    pdf = _print_pdf(page)
    spacer = 0.0
    bottom = 842 - 20 / 25.4 * 72  # the foot of the printable area, in points from the top
    for target in (bottom - 16, bottom - 13, bottom - 19, bottom - 10):
        # The label's first line's top there: that line fits on the page, the second not.
        at = _label_line(pdf, label[2:6])
        if at is None:
            raise RuntimeError(f"the label {label!r} is not in the printed page")
        delta = (target - at[1]) % _CONTENT
        spacer += (delta if delta < _CONTENT - 40 else delta - _CONTENT) / _PX
        pdf = printed_with(max(spacer, 0.0))
        for cut in range(len(label) - 1, 3, -1):
            if _split_across_pages(pdf, label[2:cut], label[cut:][:2]):
                return pdf
    raise RuntimeError(f"Chromium would not break the row {wrap_row} across pages")


def render_text_pdf(title: str, paragraphs: list[str]) -> bytes:
    """A plain text PDF (the attachments of pages that are not reports)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    kit = _pdf_kit()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=title, invariant=1)
    doc.build(
        [Paragraph(html.escape(title), kit["title"])]
        + [Paragraph(html.escape(p), kit["body"]) for p in paragraphs[1:]]
    )
    return buf.getvalue()


# --- the same report in other formats and layouts (the parse benchmark and tests) ---------

HTML_VARIANTS = ("plain", "js_string", "cdata", "split", "one_table", "gbk_lying")


def _full_grid(rows: Layout) -> list[list[str]]:
    """The layout as a full grid of printed texts, merged positions empty (a copied table)."""
    anchors, ncols = _place(rows)
    nrows = 1 + max(r for r, _, _ in anchors)
    grid = [[""] * ncols for _ in range(nrows)]
    for r, c, cell in anchors:
        grid[r][c] = (
            printed(cell, unit=True)
            if cell.kind == "num"
            else ("" if cell.kind == "pad" else cell.text)
        )
    return grid


def _layouts(truth: ReportTruth, style: Style) -> dict[str, Layout]:
    return {"t2": t2_layout(truth, style), "t3": t3_layout(truth), "t4": t4_layout(truth)}


def html_page(
    title: str,
    body: str,
    *,
    charset_meta: str = '<meta charset="utf-8">',
    pubdate: str | None = None,
) -> str:
    """A bare CMS article page around a report body."""
    pub = f'<meta name="PubDate" content="{pubdate}">' if pubdate else ""
    return (
        f"<!DOCTYPE html><html><head>{charset_meta}<title>{html.escape(title)}</title>"
        f'<meta name="ArticleTitle" content="{html.escape(title)}">{pub}</head>'
        f'<body><div class="nav">首页 &gt; 政府信息公开 &gt; 年报</div>'
        f'<div class="article">{body}</div><div class="footer">主办单位</div>'
        f"</body></html>"
    )


def _split_layout_html(name: str, rows: Layout, style: Style, rng: random.Random) -> str:
    """A table printed as two <table>s, the header rows repeated on the second one."""
    if name == "t3":
        cut, head = 5, rows[:3]  # after 二、上年结转: no merged cell crosses the cut
    elif name == "t2":
        starts = [i for i, r in enumerate(rows) if len(r) == 1 and r[0].kind == "head"]
        cut, head = (starts[len(starts) // 2] if len(starts) > 1 else len(rows)), []
    else:
        return layout_html(rows, style, rng)
    first = layout_html(rows[:cut], style, rng)
    second = layout_html(head + rows[cut:], style, rng) if rows[cut:] else ""
    return first + "<p>（续表）</p>" + second


def _one_table_html(layouts: dict[str, Layout], style: Style, rng: random.Random) -> str:
    """All three tables as one <table>, section headings as rows of their own."""
    rows: Layout = []
    for i, name in enumerate(("t2", "t3", "t4"), start=1):
        rows.append([Cell(SECTIONS[i], colspan=10, kind="head")])
        rows += layouts[name]
    return layout_html(rows, style, rng)


def render_report_html_variant(truth: ReportTruth, variant: str) -> tuple[bytes, str]:
    """A whole report page in one of ``HTML_VARIANTS``: (bytes, HTTP Content-Type)."""
    style = Style.pick(truth)
    rng = random.Random(f"cells:{truth.sim_id}")
    layouts = _layouts(truth, style)
    text = report_text(truth)
    if variant == "split":
        tables = {
            i: _split_layout_html(n, layouts[n], style, rng)
            for i, n in enumerate(("t2", "t3", "t4"), start=1)
        }
    elif variant == "one_table":
        tables = {1: _one_table_html(layouts, style, rng), 2: "", 3: ""}
    else:
        tables = {
            i: layout_html(layouts[n], style, rng)
            for i, n in enumerate(("t2", "t3", "t4"), start=1)
        }
    # A CMS that puts its field names in front of the title (标题：…), in the page too.
    title = truth.printing.get("title_prefix", "") + truth.title
    out = [f'<p style="text-align:center"><strong>{html.escape(title)}</strong></p>']
    out += [f"<p>{html.escape(p)}</p>" for p in text["preface"]]
    for i, heading in enumerate(SECTIONS):
        out.append(f"<p><strong>{printed_heading(truth, i)}</strong></p>")
        out.append(tables.get(i, ""))
        out += [f"<p>{html.escape(p)}</p>" for p in text[heading]]
    out.append(
        f'<p style="text-align:right">{truth.agency}</p>'
        f'<p style="text-align:right">{_cn_date(truth.published)}</p>'
    )
    body = "\n".join(out)
    depth = truth.printing.get("nesting", 0)  # a CMS wrapping the article in div after div
    body = '<div class="wrap">' * depth + body + "</div>" * depth
    ctype = "text/html; charset=utf-8"
    if variant == "js_string":
        import json

        literal = json.dumps(body).replace("</", "<\\/")
        body = (
            f'<div id="zoom"></div><script type="text/javascript">'
            f"var content = {literal};\ndocument.getElementById('zoom').innerHTML = content;"
            f"</script>"
        )
    elif variant == "cdata":
        body = (
            '<script type="text/xml"><datastore><nextgroup><![CDATA[]]></nextgroup>'
            f"<recordset><record><![CDATA[{body}]]></record></recordset></datastore></script>"
        )
    if variant == "gbk_lying":
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        page = html_page(title, body, charset_meta=meta, pubdate=truth.published)
        return page.encode("gb18030"), "text/html; charset=utf-8"  # the header lies
    page = html_page(title, body, pubdate=truth.published)
    if truth.printing.get("traditional"):
        import opencc  # a site's 简繁 switch, served to the crawler in traditional characters

        page = opencc.OpenCC("s2t").convert(page)
    return page.encode("utf-8"), ctype


def _cn_date(iso: str) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    return f"{y}年{m}月{d}日"


TEXT_LAYOUTS = ("tab", "single_space", "one_line", "run_together")


def _text_rows(grid: list[list[str]], layout: str) -> list[str]:
    """A table's rows as lines of text in one of ``TEXT_LAYOUTS``.

    ``tab``: cells separated by tabs (a word processor's copy). ``single_space``: one space
    between the cells printed (a web page's copy: empty cells vanish). ``one_line``: the
    whole table on one line, one space between cells. ``run_together``: labels run into one,
    then a space, then the row's numbers with no separator at all (a PDF extractor's)."""
    if layout == "tab":
        return ["\t".join(row) for row in grid]
    printed = [[c for c in row if c] for row in grid]
    if layout == "single_space":
        return [" ".join(row) for row in printed if row]
    if layout == "one_line":
        return [" ".join(c for row in printed for c in row)]
    lines = []
    for row in printed:
        labels = [c for c in row if not _NUMBER_TEXT.match(c)]
        numbers = [c for c in row if _NUMBER_TEXT.match(c)]
        lines.append("".join(labels) + (" " + "".join(numbers) if numbers else ""))
    return [ln for ln in lines if ln]


_NUMBER_TEXT = re.compile(r"^[-\d.,]+(?:元)?$")


def render_report_text(truth: ReportTruth, layout: str = "tab") -> bytes:
    """The report as text (UTF-8): its tables in one of ``TEXT_LAYOUTS``."""
    style = Style.pick(truth)
    text = report_text(truth)
    layouts = _layouts(truth, style)
    lines = [truth.title, ""] + text["preface"]
    for i, heading in enumerate(SECTIONS):
        lines.append(printed_heading(truth, i))
        if i in (1, 2, 3) and layouts[("t2", "t3", "t4")[i - 1]]:
            lines += _text_rows(_full_grid(layouts[("t2", "t3", "t4")[i - 1]]), layout)
        lines += text[heading]
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_report_docx(truth: ReportTruth) -> bytes:
    """The report as a Word document: real merged cells (gridSpan / vMerge), as Word saves."""
    import docx

    style = Style.pick(truth)
    text = report_text(truth)
    layouts = _layouts(truth, style)
    word = docx.Document()
    word.core_properties.title = truth.title
    word.core_properties.author = truth.agency
    word.add_paragraph(truth.title)
    for p in text["preface"]:
        word.add_paragraph(p)
    for i, heading in enumerate(SECTIONS):
        word.add_paragraph(printed_heading(truth, i))
        if i in (1, 2, 3) and layouts[("t2", "t3", "t4")[i - 1]]:
            _docx_table(word, layouts[("t2", "t3", "t4")[i - 1]])
        for p in text[heading]:
            word.add_paragraph(p)
    word.add_paragraph(truth.agency)
    word.add_paragraph(_cn_date(truth.published))
    buf = io.BytesIO()
    word.save(buf)
    return buf.getvalue()


def _docx_table(word, rows: Layout) -> None:
    anchors, ncols = _place(rows)
    nrows = 1 + max(r + cell.rowspan - 1 for r, _, cell in anchors)
    table = word.add_table(rows=nrows, cols=ncols)
    table.style = "Table Grid"
    for r, c, cell in anchors:
        target = table.cell(r, c)
        if cell.rowspan > 1 or cell.colspan > 1:
            target = target.merge(table.cell(r + cell.rowspan - 1, c + cell.colspan - 1))
        target.text = (
            printed(cell, unit=True)
            if cell.kind == "num"
            else ("" if cell.kind == "pad" else cell.text)
        )


def docx_to_doc(documents: list[bytes], fmt: str = "doc") -> list[bytes]:
    """Save DOCX documents as legacy binary DOC (or RTF) with LibreOffice, in one run of it."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is needed to write DOC files")
    with tempfile.TemporaryDirectory(prefix="simweb-doc-") as tmp:
        names = []
        for i, data in enumerate(documents):
            path = Path(tmp) / f"r{i}.docx"
            path.write_bytes(data)
            names.append(str(path))
        out = Path(tmp) / "out"
        subprocess.run(
            [
                exe,
                f"-env:UserInstallation=file://{tmp}/profile",
                "--headless",
                "--convert-to",
                {"doc": "doc:MS Word 97", "rtf": "rtf"}[fmt],
                "--outdir",
                str(out),
                *names,
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        return [(out / f"r{i}.{fmt}").read_bytes() for i in range(len(documents))]


def render_report_pdf_cut_row(truth: ReportTruth) -> bytes:
    """A PDF whose table 3 breaks inside a row: its label ends page one, its numbers start
    the next (二、上年结转 printed as two half rows around the break)."""
    return render_report_pdf(truth, cut_row="carried_over")


def render_image_pdf(truth: ReportTruth) -> bytes:
    """A scanned report: pages that are pictures only, no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    rng = random.Random(f"scan:{truth.sim_id}")
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for _ in range(rng.randint(1, 3)):
        img = Image.new("L", (595, 842), 245)
        draw = ImageDraw.Draw(img)
        for y in range(120, 760, 24):  # the ruled lines of a photographed table
            draw.line([(60, y), (535, y)], fill=30, width=1)
        for x in (60, 160, 260, 360, 460, 535):
            draw.line([(x, 120), (x, 744)], fill=30, width=1)
        pdf.drawImage(ImageReader(img), 0, 0, width=A4[0], height=A4[1])
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


@dataclass(frozen=True)
class Scan:
    """How a paper report was scanned: resolution, skew, a seal stamped over a table, noise.

    ``gray`` scans the page in grey levels, where the red seal darkens what it covers."""

    dpi: int = 200
    skew: float = 0.0  # degrees, counter-clockwise
    seal: bool = False
    noise: bool = True
    gray: bool = False
    quality: int = 80  # JPEG quality of the page images


def render_scan_pdf(truth: ReportTruth, scan: Scan) -> bytes:
    """The report printed, stamped and scanned: a PDF of page pictures with no text layer.

    The pages are the text PDF's pages rasterised at ``scan.dpi``, so the numbers on them
    are exactly the truth's. The seal, when asked for, is stamped on a page holding table 3
    (as agencies stamp across the statistics), over its number columns."""
    return scan_pdf(render_report_pdf(truth), scan, seed=truth.sim_id, agency=truth.agency)


def scan_pdf(pdf_bytes: bytes, scan: Scan, *, seed: str = "", agency: str = "") -> bytes:
    """Any PDF printed and scanned (as :func:`render_scan_pdf` does a generated report): a
    real report's own layout scanned keeps its hand-checked numbers as the truth."""
    import pypdfium2 as pdfium

    rng = random.Random(f"scan:{seed}:{scan}")
    pdf = pdfium.PdfDocument(pdf_bytes)
    pages: list = []
    seal_page = 1 if len(pdf) > 1 else 0
    for i in range(len(pdf)):
        page = pdf[i].render(scale=scan.dpi / 72).to_pil().convert("RGB")
        if scan.seal and i == seal_page:
            page = _stamp(page, agency, scan.dpi, rng)
        pages.append(_scanned(page, scan, rng))
    pdf.close()
    buf = io.BytesIO()
    first, rest = pages[0], pages[1:]
    first.save(
        buf,
        format="PDF",
        save_all=True,
        append_images=rest,
        resolution=scan.dpi,
        quality=scan.quality,
    )
    return buf.getvalue()


def render_docx_table_pictures(truth: ReportTruth, scan: Scan) -> bytes:
    """A Word report whose tables were pasted as pictures: the title and text as paragraphs,
    then the scanned pages of the printed report as pictures, shown 6.3 inches wide."""
    import docx
    import docx.shared
    import pypdfium2 as pdfium

    text = report_text(truth)
    word = docx.Document()
    word.core_properties.title = truth.title
    word.add_paragraph(truth.title)
    for p in text["preface"]:
        word.add_paragraph(p)
    pdf = pdfium.PdfDocument(render_scan_pdf(truth, scan))
    for i in range(len(pdf)):
        image = pdf[i].render(scale=scan.dpi / 72).to_pil()
        buf = io.BytesIO()
        image.save(buf, format="PNG" if scan.gray else "JPEG", quality=scan.quality)
        word.add_picture(io.BytesIO(buf.getvalue()), width=docx.shared.Inches(6.3))
    pdf.close()
    word.add_paragraph(truth.agency)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


_SEAL_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def _stamp(page, agency: str, dpi: int, rng: random.Random, at: tuple[int, int] | None = None):
    """A round red seal (ring, star, the agency's name around the rim) multiplied onto the
    page, centred over table 3's number columns, partly see-through as ink is (``at``: the
    seal's centre in page pixels, where the caller knows where table 3 is printed)."""
    import math

    from PIL import Image, ImageChops, ImageDraw, ImageFont

    size = int(dpi * 1.65)  # a 42 mm seal
    seal = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(seal)
    red = (rng.randint(200, 235), rng.randint(20, 60), rng.randint(30, 70))
    ring = max(2, size // 28)
    draw.ellipse([ring, ring, size - ring, size - ring], outline=red, width=ring)
    c, r = size / 2, size * 0.16
    star = [
        (
            c + (r if k % 2 == 0 else r * 0.4) * math.sin(k * math.pi / 5),
            c - (r if k % 2 == 0 else r * 0.4) * math.cos(k * math.pi / 5),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=red)
    try:
        font = ImageFont.truetype(_SEAL_FONT, size // 9)
    except OSError:  # no CJK font: the seal without its legend
        font = None
    if font is not None:
        name = agency[:14]
        span = math.radians(250)
        for k, ch in enumerate(name):
            angle = -span / 2 + span * (k + 0.5) / len(name)
            glyph = Image.new("L", (size // 8, size // 8), 0)
            ImageDraw.Draw(glyph).text((0, 0), ch, fill=255, font=font)
            glyph = glyph.rotate(-math.degrees(angle), expand=True)
            x = c + (size / 2 - ring * 4.5) * math.sin(angle) - glyph.width / 2
            y = c - (size / 2 - ring * 4.5) * math.cos(angle) - glyph.height / 2
            seal.paste(Image.new("RGB", glyph.size, red), (int(x), int(y)), glyph)
    seal = seal.rotate(rng.uniform(-25, 25), fillcolor="white")
    # Ink is uneven: lighten the seal in patches. (Drawn from the scan's own generator:
    # PIL's effect_noise draws from C's rand(), so the same scan would differ run to run.)
    import numpy as np

    grain = np.random.default_rng(rng.randrange(2**32)).normal(128.0, 60.0, (size, size))
    fade = Image.fromarray(np.where(grain > 150, 255, 0).astype(np.uint8), "L")
    seal = Image.composite(Image.new("RGB", seal.size, "white"), seal, fade)
    x = int(page.width * rng.uniform(0.45, 0.62))
    y = int(page.height * rng.uniform(0.15, 0.45))
    if at is not None:
        x, y = at[0] - size // 2, at[1] - size // 2
    region = page.crop((x, y, x + size, y + size))
    page.paste(ImageChops.multiply(region, seal), (x, y))
    return page


def _scanned(page, scan: Scan, rng: random.Random):
    """What a scanner makes of a printed page: paper tone, a slight skew, sensor noise and
    dust, mild blur; then the page as the scanner stores it (RGB or grey JPEG)."""
    import numpy as np
    from PIL import Image, ImageFilter

    if scan.skew:
        page = page.rotate(scan.skew, resample=Image.BICUBIC, fillcolor=(255, 255, 255))
    page = page.filter(ImageFilter.GaussianBlur(0.35 * scan.dpi / 200))
    pixels = np.asarray(page, dtype=np.float32) * np.float32(rng.uniform(0.9, 0.97))
    if scan.noise:
        noise = np.random.default_rng(rng.randrange(2**32))
        pixels += noise.normal(0.0, 7.0, pixels.shape[:2])[..., None].astype(np.float32)
        dust = noise.random(pixels.shape[:2]) < 0.0004
        pixels[dust] = 40.0
    page = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    return page.convert("L") if scan.gray else page


def render_report_mht(truth: ReportTruth) -> bytes:
    """The report as Word's "single file web page" (MIME, GBK HTML part), as sites serve
    under a .doc name."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    page, _ = render_report_html_variant(truth, "plain")
    message = MIMEMultipart("related", type="text/html")
    part = MIMEText(page.decode("utf-8").replace('<meta charset="utf-8">', ""), "html", "gb18030")
    part["Content-Location"] = "file:///C:/report.htm"
    message.attach(part)
    return message.as_bytes()
