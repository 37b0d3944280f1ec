"""A generated corpus of reports with known numbers, in every format and layout the parser reads.

Each report's numbers come from :mod:`simweb.truth` (consistent tables, some cells
printed blank, some reports with a planted arithmetic fault), and the document is
rendered by :mod:`simweb.render` in one of the ``KINDS`` below. The same seed
always gives the same corpus, so a benchmark run and a test see the same
documents; the truth is what the parser must give back, cell for cell.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from simweb import render
from simweb import truth as tr

# (kind, format, how many per 100 reports): every variant the parser supports.
KINDS = (
    ("html-plain", "html", 12),
    ("html-js_string", "html", 8),
    ("html-cdata", "html", 8),
    ("html-split", "html", 8),
    ("html-one_table", "html", 8),
    ("html-gbk_lying", "html", 8),
    ("pdf", "pdf", 10),
    ("pdf-cut_row", "pdf", 6),
    ("docx", "docx", 12),
    ("doc", "doc", 3),
    ("text", "text", 12),
    ("pdf-images", "pdf", 2),
    ("mht", "mht", 4),
    ("rtf", "rtf", 2),
    # How agencies depart from the template: the tolerant-reading classes.
    ("html-typo_label", "html", 4),
    ("html-hybrid_other", "html", 3),
    ("pdf-wrapped_label", "pdf", 3),
    ("text-single_space", "text", 3),
    ("text-one_line", "text", 3),
    ("text-run_together", "text", 4),
    ("html-t3_subtotal", "html", 3),
    ("html-dash_cells", "html", 3),
    ("html-t2_missing_row", "html", 2),
    ("html-title_chrome", "html", 2),
    ("html-blank_table", "html", 2),
    ("html-missing_table", "html", 2),
    ("html-deep_nesting", "html", 2),
    ("html-narrative_mismatch", "html", 3),
    ("html-traditional", "html", 2),
    ("html-blank_template", "html", 1),
    ("pdf-browser", "pdf", 1),  # printed by Chromium (needs it installed; see build)
)
# Classes a 2021-template report makes (a 2019 report prints （六）其他处理 as one row anyway).
ONLY_2021 = {"html-hybrid_other"}
# Text whose blank cells would vanish: generated without blanks, so the class measures
# what it names (blanks in such text are unreadable by construction, and refused).
NO_BLANKS = {"text-single_space", "text-one_line", "text-run_together"}
# Classes where a correct parser may leave rows out (refused, never guessed): digits run
# together that no single split makes add up.
MAY_REFUSE = {"text-run_together", "text-one_line", "text-single_space"}
AGENCIES = (
    # (agency, region, region code, profile, size)
    ("新乡市牧野区人民政府", "河南省新乡市牧野区", "410711", "county", "medium"),
    ("牧野区财政局", "河南省新乡市牧野区", "410711", "department", "small"),
    ("淮安市人民政府", "江苏省淮安市", "320800", "city", "huge"),
    ("淮安市生态环境局", "江苏省淮安市", "320800", "enforcement", "medium"),
    ("上海市人民政府办公厅", "上海市", "310000", "city", "large"),
    ("杭州市西湖区市场监督管理局", "浙江省杭州市西湖区", "330106", "enforcement", "medium"),
    ("成都市武侯区教育局", "四川省成都市武侯区", "510107", "department", "small"),
    ("王村镇人民政府", "河南省新乡市牧野区", "410711", "town", "zero"),
)


@dataclass
class Sample:
    """One generated document and the numbers it was rendered from."""

    kind: str
    format: str
    truth: tr.ReportTruth
    data: bytes = b""
    content_type: str | None = None
    filename: str = ""

    @property
    def tables_expected(self) -> bool:
        return self.kind not in ("pdf-images", "html-blank_template")

    @property
    def expected_status(self) -> str:
        if self.kind == "pdf-images":
            return "tables_are_images"
        return tr.expected_status(self.truth)


def truths(n: int, seed: int = 0) -> list[tuple[str, str, tr.ReportTruth]]:
    """``n`` report truths, spread over the kinds in their proportions."""
    rng = random.Random(f"corpus:{seed}")
    weights = [w for _, _, w in KINDS]
    out = []
    for i in range(n):
        kind, fmt, _ = KINDS[i % len(KINDS)] if i < len(KINDS) else rng.choices(KINDS, weights)[0]
        agency, region, code, profile, size = rng.choice(AGENCIES)
        year = rng.randint(2019, 2024)
        if kind in ONLY_2021:
            year = max(year, 2021 + year % 4)
        title = rng.choice(
            [
                f"{agency}{year}年政府信息公开工作年度报告",
                f"{year}年{agency}政府信息公开工作年度报告",
                f"{agency}{year}年度政府信息公开工作年度报告",
            ]
        )
        published = f"{year + 1}-{rng.randint(1, 3):02d}-{rng.randint(1, 28):02d}"
        truth = tr.generate(
            f"bench-{seed}-{i}",
            site_id=f"bench-{code}",
            agency=agency,
            region=region,
            region_code=code,
            year=year,
            title=title,
            published=published,
            fmt=fmt,
            size=size,
            profile=profile,
            seed=seed,
        )
        quirk = random.Random(f"quirk:{seed}:{i}")
        if quirk.random() < 0.25 and kind not in NO_BLANKS:
            tr.blank_zeros(truth, quirk.choice([0.3, 0.9]), quirk)
        if quirk.random() < 0.15:
            row = quirk.choice(["granted", "new_requests", "unable_not_held"])
            col = quirk.choice(list(tr.T3_APPLICANTS))
            if isinstance(truth.tables["t3"][row][col], int):
                tr.inject_fault(truth, "t3", row, col, quirk)
        depart(kind, truth, random.Random(f"depart:{seed}:{i}"))
        out.append((kind, fmt, truth))
    return out


DEPARTING = {
    k
    for k, _, _ in KINDS
    if k.split("-", 1)[-1]
    in {
        "typo_label",
        "hybrid_other",
        "t3_subtotal",
        "dash_cells",
        "t2_missing_row",
        "title_chrome",
        "blank_table",
        "missing_table",
        "deep_nesting",
        "narrative_mismatch",
    }
}


def as_kind(kind: str, truth: tr.ReportTruth, seed: int = 0) -> tr.ReportTruth:
    """A copy of a report printed as the class ``kind`` prints it (tests pick their own)."""
    import copy

    clone = copy.deepcopy(truth)
    depart(kind, clone, random.Random(f"depart:{seed}:{truth.sim_id}:{kind}"))
    return clone


def depart(kind: str, truth: tr.ReportTruth, rng: random.Random) -> None:
    """Print ``truth`` the way the class ``kind`` departs from the template."""
    name = kind.split("-", 1)[1] if "-" in kind else kind
    if name == "typo_label":
        tr.misprint_labels(truth, rng, rng.choice([1, 2]))
    elif name == "hybrid_other":
        tr.as_hybrid_other(truth)
    elif name == "t3_subtotal":
        truth.printing["subtotal"] = True
    elif name == "dash_cells":
        tr.blank_zeros(truth, 0.6, rng)
        truth.printing["blank_mark"] = rng.choice(["/", "—", "-", "——", "／"])
    elif name == "t2_missing_row":
        tr.drop_row(truth, "t2", "regulations")
    elif name == "title_chrome":
        truth.printing["title_prefix"] = rng.choice(["标题：", "标 题:", "信息名称："])
    elif name == "blank_table":
        tr.blank_table(truth, "t4")
    elif name == "missing_table":
        tr.drop_table(truth, "t4")
    elif name == "deep_nesting":
        truth.printing["nesting"] = rng.choice([250, 260, 400, 2100])
    elif name == "narrative_mismatch":
        tr.misstate(truth, rng.choice(list(tr.NARRATIVE_RULES)), rng)
    elif name == "traditional":
        truth.printing["traditional"] = True
    elif name == "blank_template":
        tr.as_blank_form(truth)


def render_sample(kind: str, fmt: str, truth: tr.ReportTruth) -> Sample:
    """The document of one kind (DOC needs :func:`to_doc` afterwards, in a batch)."""
    sample = Sample(kind, fmt, truth)
    if kind.startswith("html-"):
        variant = kind[5:] if kind[5:] in render.HTML_VARIANTS else "plain"
        sample.data, sample.content_type = render.render_report_html_variant(truth, variant)
        sample.filename = "report.html"
    elif kind == "pdf-browser":
        sample.data, sample.filename = render.render_report_pdf_browser(truth), "report.pdf"
    elif kind == "pdf-wrapped_label":
        sample.data = render.render_report_pdf_wrapped_label(truth)
        sample.filename = "report.pdf"
    elif kind.startswith("text-"):
        sample.data, sample.filename = render.render_report_text(truth, kind[5:]), "report.txt"
    elif kind == "pdf":
        sample.data, sample.filename = render.render_report_pdf(truth), "report.pdf"
    elif kind == "pdf-cut_row":
        sample.data, sample.filename = render.render_report_pdf_cut_row(truth), "report.pdf"
    elif kind == "pdf-images":
        sample.data, sample.filename = render.render_image_pdf(truth), "report.pdf"
    elif kind in ("docx", "doc", "rtf"):
        sample.data, sample.filename = render.render_report_docx(truth), "report.docx"
    elif kind == "mht":
        sample.data, sample.filename = render.render_report_mht(truth), "report.doc"
    elif kind == "text":
        sample.data, sample.filename = render.render_report_text(truth), "report.txt"
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return sample


def to_doc(samples: list[Sample]) -> None:
    """Turn the ``doc`` and ``rtf`` samples' DOCX into DOC / RTF, one LibreOffice run each."""
    for kind in ("doc", "rtf"):
        docs = [s for s in samples if s.kind == kind]
        if not docs:
            continue
        converted = render.docx_to_doc([s.data for s in docs], kind)
        for sample, data in zip(docs, converted, strict=True):
            sample.data, sample.filename = data, "report.doc"  # both are served as .doc


def build(n: int = 600, seed: int = 0, kinds: set[str] | None = None) -> list[Sample]:
    """The corpus: ``n`` samples (only of ``kinds`` when given)."""
    samples = []
    for k, f, t in truths(n, seed):
        if kinds is not None and k not in kinds:
            continue
        try:
            samples.append(render_sample(k, f, t))
        except (RuntimeError, OSError) as exc:  # Chromium missing, or it laid the page out
            if k != "pdf-browser":  # so that the row does not break: that sample is skipped
                raise
            print(f"{t.sim_id} ({k}) not generated: {exc}")
    to_doc(samples)
    return samples


def wrong_cells(sample: Sample, tables: dict) -> list[tuple]:
    """Cells the parse got wrong or missed: (table, row, col, expected, found)."""
    wrong = []
    for table, rows in sample.truth.tables.items():
        for row, cols in rows.items():
            for col, value in cols.items():
                got = tables.get(table, {}).get(row, {}).get(col, "absent")
                if got != value or type(got) is not type(value):
                    wrong.append((table, row, col, value, got))
    return wrong


def cell_total(sample: Sample) -> int:
    return sum(len(cols) for rows in sample.truth.tables.values() for cols in rows.values())
