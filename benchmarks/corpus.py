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
)
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
        return self.kind != "pdf-images"


def truths(n: int, seed: int = 0) -> list[tuple[str, str, tr.ReportTruth]]:
    """``n`` report truths, spread over the kinds in their proportions."""
    rng = random.Random(f"corpus:{seed}")
    weights = [w for _, _, w in KINDS]
    out = []
    for i in range(n):
        kind, fmt, _ = KINDS[i % len(KINDS)] if i < len(KINDS) else rng.choices(KINDS, weights)[0]
        agency, region, code, profile, size = rng.choice(AGENCIES)
        year = rng.randint(2019, 2024)
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
        if quirk.random() < 0.25:
            tr.blank_zeros(truth, quirk.choice([0.3, 0.9]), quirk)
        if quirk.random() < 0.15:
            row = quirk.choice(["granted", "new_requests", "unable_not_held"])
            col = quirk.choice(list(tr.T3_APPLICANTS))
            if isinstance(truth.tables["t3"][row][col], int):
                tr.inject_fault(truth, "t3", row, col, quirk)
        out.append((kind, fmt, truth))
    return out


def render_sample(kind: str, fmt: str, truth: tr.ReportTruth) -> Sample:
    """The document of one kind (DOC needs :func:`to_doc` afterwards, in a batch)."""
    sample = Sample(kind, fmt, truth)
    if kind.startswith("html-"):
        sample.data, sample.content_type = render.render_report_html_variant(truth, kind[5:])
        sample.filename = "report.html"
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
    samples = [render_sample(k, f, t) for k, f, t in truths(n, seed) if kinds is None or k in kinds]
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
