"""The narrative: six sections per report, the figures its text states, and how they
compare with the tables (findings of their own kind)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.checks import check_narrative, narrative_findings
from archive.parse import parse_document
from archive.parse.narrative import stated_figures
from benchmarks.corpus import as_kind, render_sample, truths
from simweb import truth as tr

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
KEYS = ["overall", "proactive", "requests", "review_litigation", "problems", "other"]


def real(name: str):
    path = CORPUS / name
    return parse_document(path.read_bytes(), filename=path.name)


@pytest.mark.parametrize(
    "name", ["huaian-szf-2024.pdf", "muye-czj-2024.txt", "shanghai-szfbgt-2019.html"]
)
def test_real_reports_split_into_six_sections(name):
    report = real(name)
    assert [s["key"] for s in report.sections if s["number"]] == KEYS
    problems = next(s for s in report.sections if s["key"] == "problems")
    assert problems["text"] and "问题" in problems["text"]
    # Table rows are in the cells, not in the narrative.
    requests = next(s for s in report.sections if s["key"] == "requests")
    assert "本年新收" not in requests["text"] and "予以公开" not in requests["text"]


def test_2019_heading_wording_and_section_text():
    report = real("shanghai-szfbgt-2019.html")
    problems = next(s for s in report.sections if s["key"] == "problems")
    assert problems["heading"] == "五、政府信息公开工作存在的主要问题及改进情况"
    other = next(s for s in report.sections if s["key"] == "other")
    assert other["text"] == "无。"


def test_huaian_states_its_figures_and_they_agree_with_the_tables():
    report = real("huaian-szf-2024.pdf")
    stated = {(s["rule"], s["value"]) for s in report.stated}
    assert stated >= {
        ("text_new_requests", 3119),
        ("text_results", 3050),
        ("text_carried_over", 34),
        ("text_carried_forward", 103),
        ("text_review", 351),
        ("text_litigation", 46),
        ("text_fee", 3940),
    }
    checks = check_narrative(report)
    assert {c.rule for c in checks} == {r for r, _ in stated}
    assert all(c.status == "pass" for c in checks), checks


def test_no_request_in_words_is_zero():
    report = real("muye-czj-2024.txt")
    assert {"rule": "text_new_requests", "value": 0.0} in [
        {k: s[k] for k in ("rule", "value")} for s in report.stated
    ]
    assert narrative_findings(report) == []


def test_a_misstated_figure_is_a_narrative_finding():
    base = next(t for k, _, t in truths(40, seed=5) if k == "html-plain")
    for rule in tr.NARRATIVE_RULES:
        truth = as_kind("html-plain", base)
        tr.misstate(truth, rule, __import__("random").Random(rule))
        sample = render_sample("html-plain", "html", truth)
        report = parse_document(sample.data, content_type=sample.content_type)
        found = narrative_findings(report)
        assert [(f.rule, f.status) for f in found] == [(rule, "fail")], (rule, found)
        assert str(int(found[0].stated)) in found[0].quote
        assert report.narrative_checks[0]["rule"] == rule


def test_review_numbers_of_a_review_agency_are_not_read_as_disclosure_figures():
    sections = [
        {"number": 1, "text": "全年办理行政复议案件120件，其中维持80件。"},
        {"number": 1, "text": "本年度未发生因政府信息公开引起的行政复议、行政诉讼。"},
    ]
    stated = {(s.rule, s.value) for s in stated_figures(sections, "")}
    assert ("text_review", 120.0) not in stated
    assert {("text_review", 0.0), ("text_litigation", 0.0)} <= stated


def test_blank_totals_make_a_mismatch_uncertain_not_failed():
    report = real("huaian-szf-2024.pdf")
    report.tables["t4"]["review"]["total"] = None
    review = next(c for c in check_narrative(report) if c.rule == "text_review")
    assert review.status == "uncertain"


def test_a_fee_larger_than_table2s_fees_is_uncertain():
    report = real("huaian-szf-2024.pdf")
    report.tables["t2"]["fees"]["amount_10k_yuan"] = 0.1  # 1,000 元 < 3,940 元 stated
    fee = next(c for c in check_narrative(report) if c.rule == "text_fee")
    assert fee.status == "uncertain" and "3940" in fee.message
