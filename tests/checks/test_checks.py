"""The arithmetic rules, on hand-made tables whose right answers are known."""

from __future__ import annotations

from archive.checks import check_report, findings
from archive.store.templates import template

COLS = [
    "natural_person",
    "enterprise",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
    "total",
]


def balanced_2021() -> dict:
    """A consistent 2021 table 3 and 4: 3 natural-person requests, 1 from a company."""
    tpl = template("2021")
    t3 = {r.key: dict.fromkeys(COLS, 0) for r in tpl.rows("t3")}
    for row, np, ent in [
        ("new_requests", 3, 1),
        ("carried_over", 1, 0),
        ("granted", 2, 1),
        ("unable_not_held", 1, 0),
        ("results_total", 3, 1),
        ("carried_forward", 1, 0),
    ]:
        t3[row].update(natural_person=np, enterprise=ent, total=np + ent)
    t4 = {
        r.key: {"upheld": 1, "corrected": 0, "other": 0, "pending": 1, "total": 2}
        for r in tpl.rows("t4")
    }
    return {"t3": t3, "t4": t4}


def failed(tables, tpl="2021"):
    return {(f.rule, f.row or f.column) for f in findings(check_report(tables, tpl))}


def test_consistent_report_passes_every_rule():
    checks = check_report(balanced_2021(), "2021")
    assert checks and all(c.status == "pass" for c in checks)
    rules = {c.rule for c in checks}
    assert rules == {"t3_balance", "t3_results", "t3_applicants", "t4_total"}
    assert sum(c.rule == "t3_applicants" for c in checks) == 25


def test_one_wrong_result_cell_breaks_exactly_its_three_rules():
    tables = balanced_2021()
    tables["t3"]["granted"]["enterprise"] = 2  # printed 2, the rest says 1
    assert failed(tables) == {("t3_results", "enterprise"), ("t3_applicants", "granted")}
    tables = balanced_2021()
    tables["t3"]["results_total"]["enterprise"] = 2
    assert failed(tables) == {
        ("t3_results", "enterprise"),
        ("t3_balance", "enterprise"),
        ("t3_applicants", "results_total"),
    }


def test_t4_total():
    tables = balanced_2021()
    tables["t4"]["litigation_direct"]["total"] = 3
    [finding] = findings(check_report(tables, "2021"))
    assert (finding.rule, finding.row, finding.expected, finding.found) == (
        "t4_total",
        "litigation_direct",
        2,
        3,
    )


def test_blank_parts_count_as_zero_but_blank_totals_are_incomplete():
    tables = balanced_2021()
    tables["t3"]["granted"]["research"] = None
    assert failed(tables) == set()
    tables["t3"]["granted"]["total"] = None
    found = {
        (f.rule, f.status, f.expected, f.found) for f in findings(check_report(tables, "2021"))
    }
    # The row's total is blank: incomplete. The total column now misses that cell: its
    # sum fails, but only because of a blank, so it is uncertain rather than failed.
    assert found == {("t3_applicants", "incomplete", 3, None), ("t3_results", "uncertain", 1, 4)}


def test_2019_template_sums_its_19_result_rows():
    tpl = template("2019")
    assert len(tpl.result_rows()) == 19 and "other_handling" in tpl.result_rows()
    t3 = {r.key: dict.fromkeys(COLS, 0) for r in tpl.rows("t3")}
    t3["other_handling"].update(natural_person=1, total=1)
    t3["results_total"].update(natural_person=1, total=1)
    t3["new_requests"].update(natural_person=1, total=1)
    assert failed({"t3": t3}, "2019") == set()
