"""The known numbers behind every simulated report.

Tests compare what the parser and the checks make of a served page with the
numbers it was rendered from, so those numbers are generated here, before any
rendering, from a seed: the same seed always gives the same world. The tables
are consistent by construction; a fault is then printed into a chosen cell, and
the findings a correct checker must report follow from which rules that one
cell takes part in (``findings_for_cell``), not from re-running a checker.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from archive.store.templates import T3_APPLICANTS, T4_PARTS, template

Value = int | float | None
Tables = dict[str, dict[str, dict[str, Value]]]

T3_BALANCE_ROWS = ("new_requests", "carried_over", "results_total", "carried_forward")

# How requests spread over applicant types (natural persons file almost all of them).
_APPLICANT_WEIGHTS = {
    "natural_person": 90,
    "enterprise": 5,
    "research": 0.3,
    "public_interest": 0.4,
    "legal_service": 2.5,
    "other_org": 1.5,
}
# How requests end (roughly the shares seen in city reports); unlisted outcomes weigh 0.5.
_RESULT_WEIGHTS = {
    "granted": 30,
    "partially_granted": 8,
    "unable_not_held": 22,
    "unable_needs_creation": 3,
    "unable_unclear": 2,
    "rejected_petition": 6,
    "rejected_duplicate": 3,
    "withheld_third_party": 1.5,
    "withheld_process_info": 1.5,
    "withheld_admin_query": 1.5,
    "other_no_correction": 4,
    "other_other": 4,
    "other_handling": 8,
    "other_unpaid_fee": 0.2,
}

# Requests received per year by size class: (low, high) of the new_requests total.
SIZES = {
    "zero": (0, 0),
    "small": (0, 12),
    "medium": (8, 120),
    "large": (150, 900),
    "huge": (1500, 4000),
}


@dataclass
class ReportTruth:
    """One report as the agency printed it, with what is deliberately wrong in it."""

    sim_id: str
    site_id: str
    agency: str
    region: str
    region_code: str
    year: int
    template: str
    title: str
    published: str
    format: str
    tables: Tables
    faults: list[dict] = field(default_factory=list)
    expected_findings: list[dict] = field(default_factory=list)
    # Rules that cannot pass but cannot be judged failed either (a blank total over printed
    # parts, as in real documents); a checker reports them as incomplete.
    expected_incomplete: list[dict] = field(default_factory=list)
    info_fee_yuan: int | None = 0  # 信息处理费 in section 六: 0 = "不存在收取", None = unknown
    corpus: str | None = None  # file name in simweb/corpus when this is a real document
    # How the agency printed the report beyond its numbers (misprinted labels, an extra
    # 小计 column, dashes for blanks, a chrome prefix on the title …): see ``simweb.render``.
    printing: dict = field(default_factory=dict)
    # Figures the text states differently from the tables (rule → the figure stated), and
    # the narrative findings a correct checker reports for them.
    narrative: dict = field(default_factory=dict)
    expected_narrative: list[dict] = field(default_factory=list)

    def true_value(self, table: str, row: str, col: str) -> Value:
        """The value before any fault was printed into the cell."""
        for f in self.faults:
            if (f["table"], f["row"], f["col"]) == (table, row, col):
                return f["true"]
        return self.tables[table][row][col]

    def to_json(self) -> dict:
        """The record in the shape of ``report-json.md`` plus the simulation's own fields."""
        return {
            "source": self.corpus or self.sim_id,
            "agency": self.agency,
            "region": self.region,
            "region_code": self.region_code,
            "year": self.year,
            "template": self.template,
            "title": self.title,
            "published": self.published,
            "format": self.format,
            "tables": self.tables,
            "sim_id": self.sim_id,
            "site_id": self.site_id,
            "faults": self.faults,
            "expected_findings": self.expected_findings,
            "expected_incomplete": self.expected_incomplete,
            "info_fee_yuan": self.info_fee_yuan,
            "corpus": self.corpus,
            "printing": self.printing,
            "narrative": self.narrative,
            "expected_narrative": self.expected_narrative,
            "expected_status": expected_status(self),
        }


def template_for(year: int) -> str:
    return "2021" if year >= 2021 else "2019"


def _split(total: int, weights: dict[str, float], rng: random.Random) -> dict[str, int]:
    """Spread ``total`` over keys in proportion to jittered weights; exact integer sum."""
    keys = list(weights)
    if total <= 0:
        return dict.fromkeys(keys, 0)
    if total <= 60:
        out = dict.fromkeys(keys, 0)
        for k in rng.choices(keys, [weights[k] for k in keys], k=total):
            out[k] += 1
        return out
    jitter = {k: weights[k] * rng.uniform(0.5, 1.5) for k in keys}
    scale = sum(jitter.values())
    out = {k: int(total * jitter[k] / scale) for k in keys}
    out[max(keys, key=lambda k: jitter[k])] += total - sum(out.values())
    return out


def _t3(tpl_id: str, size: str, rng: random.Random) -> dict[str, dict[str, Value]]:
    tpl = template(tpl_id)
    cols = [c.key for c in tpl.cols("t3")]
    results = tpl.result_rows()
    lo, hi = SIZES[size]
    new_total = rng.randint(lo, hi) if rng.random() > 0.25 or lo > 0 else 0
    new = _split(new_total, _APPLICANT_WEIGHTS, rng)
    rows: dict[str, dict[str, Value]] = {r.key: {} for r in tpl.rows("t3")}
    for col in T3_APPLICANTS:
        n = new[col]
        # Small offices close everything within the year; busy ones carry some over.
        carried = int(n * rng.uniform(0.0, 0.06)) if new_total > 30 else 0
        forward = int(n * rng.uniform(0.0, 0.08)) if new_total > 30 else 0
        if new_total and rng.random() < 0.15:
            forward = min(n, forward + 1)
        done = n + carried - forward
        outcome = _split(done, {k: _RESULT_WEIGHTS.get(k, 0.5) for k in results}, rng)
        rows["new_requests"][col] = n
        rows["carried_over"][col] = carried
        rows["results_total"][col] = done
        rows["carried_forward"][col] = forward
        for key in results:
            rows[key][col] = outcome[key]
    for key in rows:
        rows[key]["total"] = sum(rows[key][c] for c in T3_APPLICANTS)
    return {k: {c: rows[k][c] for c in cols} for k in rows}


def _t4(size: str, rng: random.Random) -> dict[str, dict[str, Value]]:
    scale = {"zero": 0, "small": 1, "medium": 4, "large": 30, "huge": 120}[size]
    out: dict[str, dict[str, Value]] = {}
    for row, share in (
        ("review", 1.0),
        ("litigation_direct", 0.4),
        ("litigation_after_review", 0.3),
    ):
        n = rng.randint(0, int(scale * share)) if scale else 0
        parts = _split(n, {"upheld": 6, "corrected": 1.5, "other": 2, "pending": 1}, rng)
        out[row] = {**parts, "total": n}
    return out


def _t2(tpl_id: str, profile: str, rng: random.Random) -> dict[str, dict[str, Value]]:
    """Table 2 for one kind of agency; columns follow the template's ``row_cols``."""
    tpl = template(tpl_id)
    makes_rules = profile == "city"
    is_gov = profile in ("city", "county")
    enforces = profile in ("city", "county", "enforcement")
    big = 40 if profile == "city" else 1
    out: dict[str, dict[str, Value]] = {}
    for row in tpl.rows("t2"):
        values: dict[str, Value] = {}
        for col in tpl.row_cols("t2", row.key):
            values[col] = 0
        if row.key == "regulations" and makes_rules:
            made = rng.randint(0, 4)
            values.update(_doc_counts(tpl_id, made, rng.randint(0, 2), rng.randint(15, 60)))
        elif row.key == "normative_documents" and profile != "town":
            made = rng.randint(2, 15) if is_gov else rng.randint(0, 3)
            stock = rng.randint(20, 150) if is_gov else rng.randint(0, 20)
            values.update(_doc_counts(tpl_id, made, rng.randint(0, 5), stock))
        elif row.key in ("licensing", "penalty", "coercion", "other_services") and enforces:
            scale = {"licensing": 300, "penalty": 120, "coercion": 8, "other_services": 40}
            decisions = rng.randint(0, scale[row.key] * big)
            values["decisions"] = decisions
            if "prior_year_items" in values:
                values["prior_year_items"] = rng.randint(0, 60)
                values["change"] = rng.randint(-8, 8)
        elif row.key == "fees" and enforces:
            if "amount_10k_yuan" in values:
                amount = rng.choice([0, rng.randint(1, 90) * big, round(rng.uniform(0.1, 99), 1)])
                values["amount_10k_yuan"] = amount
            else:
                values["prior_year_items"] = rng.randint(0, 12)
                values["change"] = rng.randint(-2, 2)
        elif row.key == "procurement" and rng.random() < 0.6:
            projects = rng.randint(1, 30)
            values["projects"] = projects
            values["amount"] = projects * rng.randint(5, 400) * 1000
        out[row.key] = values
    return out


def _doc_counts(tpl_id: str, made: int, repealed: int, stock: int) -> dict[str, int]:
    if tpl_id == "2021":
        return {"issued": made, "repealed": min(repealed, stock), "in_force": stock}
    return {"made": made, "published": made, "public_total": stock + made}


def generate(
    sim_id: str,
    *,
    site_id: str,
    agency: str,
    region: str,
    region_code: str,
    year: int,
    title: str,
    published: str,
    fmt: str,
    size: str,
    profile: str,
    seed: int,
) -> ReportTruth:
    """A consistent report of an agency of the given size class and kind (``profile``)."""
    rng = random.Random(f"{seed}:{sim_id}")
    tpl_id = template_for(year)
    tables = {"t2": _t2(tpl_id, profile, rng), "t3": _t3(tpl_id, size, rng), "t4": _t4(size, rng)}
    fee = 0
    unpaid = tables["t3"].get("other_unpaid_fee", {}).get("total") or 0
    if unpaid or rng.random() < 0.12:
        fee = rng.randint(1, 8) * 100 + rng.choice([0, 0, 80])
    fees = tables["t2"]["fees"]
    if fee and "amount_10k_yuan" in fees and fees["amount_10k_yuan"] * 10000 < fee:
        # 信息处理费 is a 行政事业性收费: table 2's amount (万元) includes it.
        fees["amount_10k_yuan"] = math.ceil(fee / 100) / 100
    return ReportTruth(
        sim_id,
        site_id,
        agency,
        region,
        region_code,
        year,
        tpl_id,
        title,
        published,
        fmt,
        tables,
        info_fee_yuan=fee,
    )


def blank_zeros(truth: ReportTruth, share: float, rng: random.Random) -> None:
    """Print some zero cells of t3/t4 as empty, as some agencies do.

    Only zeros are blanked, so every sum reads the same with blank = 0. Rows and columns
    holding a fault keep their zeros: a rule whose parts were all blank would be
    "incomplete" rather than failed, and the planted finding would be ambiguous.
    """
    keep_rows = {(f["table"], f["row"]) for f in truth.faults}
    keep_cols = {(f["table"], f["col"]) for f in truth.faults if f["table"] == "t3"}
    for table in ("t3", "t4"):
        for row, cols in truth.tables[table].items():
            for col, value in cols.items():
                if (
                    value == 0
                    and (table, row) not in keep_rows
                    and (table, col) not in keep_cols
                    and rng.random() < share
                ):
                    cols[col] = None


def findings_for_cell(tpl_id: str, table: str, row: str, col: str) -> list[dict]:
    """The rules one cell takes part in: changing only that cell breaks exactly these."""
    tpl = template(tpl_id)
    if table == "t4":
        return [{"rule": "t4_total", "table": "t4", "row": row}]
    if table != "t3":
        return []
    found = [{"rule": "t3_applicants", "table": "t3", "row": row}]
    if row in tpl.result_rows() or row == "results_total":
        found.append({"rule": "t3_results", "table": "t3", "column": col})
    if row in T3_BALANCE_ROWS:
        found.append({"rule": "t3_balance", "table": "t3", "column": col})
    return found


def inject_fault(truth: ReportTruth, table: str, row: str, col: str, rng: random.Random) -> None:
    """Print one cell wrong by a small amount and record what a checker must find."""
    true = truth.tables[table][row][col]
    assert isinstance(true, int), (table, row, col, true)
    delta = rng.choice([d for d in (-3, -2, -1, 1, 2, 3) if true + d >= 0])
    truth.tables[table][row][col] = true + delta
    truth.faults.append(
        {"table": table, "row": row, "col": col, "true": true, "printed": true + delta}
    )
    for finding in findings_for_cell(truth.template, table, row, col):
        if finding not in truth.expected_findings:
            truth.expected_findings.append(finding)


def evaluate_rules(tables: Tables, tpl_id: str) -> list[dict]:
    """The four rules evaluated directly, for real documents whose faults nobody planted.

    A blank part counts as 0. A blank total whose parts are not all zero (or a printed
    total whose parts are all blank) cannot pass; it is reported with status
    ``incomplete`` rather than ``fail``.
    """
    tpl = template(tpl_id)
    t3, t4 = tables["t3"], tables["t4"]
    out: list[dict] = []

    def judge(total: Value, parts: list[Value]) -> str | None:
        if total is None and all(p is None for p in parts):
            return None
        if total is None or all(p is None for p in parts):
            return None if sum(p or 0 for p in parts) == (total or 0) else "incomplete"
        return None if sum(p or 0 for p in parts) == total else "fail"

    for col in [c.key for c in tpl.cols("t3")]:
        left = (t3["new_requests"][col] or 0) + (t3["carried_over"][col] or 0)
        right = (t3["results_total"][col] or 0) + (t3["carried_forward"][col] or 0)
        if left != right:
            out.append({"rule": "t3_balance", "table": "t3", "column": col, "status": "fail"})
        status = judge(t3["results_total"][col], [t3[r][col] for r in tpl.result_rows()])
        if status:
            out.append({"rule": "t3_results", "table": "t3", "column": col, "status": status})
    for row in [r.key for r in tpl.rows("t3")]:
        status = judge(t3[row]["total"], [t3[row][c] for c in T3_APPLICANTS])
        if status:
            out.append({"rule": "t3_applicants", "table": "t3", "row": row, "status": status})
    for row in [r.key for r in tpl.rows("t4")]:
        status = judge(t4[row]["total"], [t4[row][c] for c in T4_PARTS])
        if status:
            out.append({"rule": "t4_total", "table": "t4", "row": row, "status": status})
    return out


def from_corpus(
    path: Path,
    *,
    sim_id: str,
    site_id: str,
    region: str,
    region_code: str,
    title: str,
    published: str,
    fmt: str,
) -> ReportTruth:
    """A real document's truth: its hand-checked ``.expected.json`` beside it."""
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text("utf-8"))
    tables = expected["tables"]
    found = evaluate_rules(tables, expected["template"])
    return ReportTruth(
        sim_id,
        site_id,
        expected["agency"],
        region,
        region_code,
        expected["year"],
        expected["template"],
        title,
        published,
        fmt,
        tables,
        expected_findings=[_bare(f) for f in found if f["status"] == "fail"],
        expected_incomplete=[_bare(f) for f in found if f["status"] == "incomplete"],
        info_fee_yuan=None,
        corpus=path.name,
    )


def _bare(finding: dict) -> dict:
    return {k: v for k, v in finding.items() if k != "status"}


def verify_planted(truth: ReportTruth) -> None:
    """Fail loudly when the rules do not give exactly the planted findings (a generator bug)."""

    def keys(findings: list[dict]) -> set[tuple]:
        return {tuple(sorted(_bare(f).items())) for f in findings}

    if keys(evaluate_rules(truth.tables, truth.template)) != keys(truth.expected_findings):
        raise RuntimeError(f"{truth.sim_id}: the planted faults and the rules disagree")


# --- how agencies depart from the template (the parser's tolerant-reading classes) --------

HYBRID_ROWS = ("other_no_correction", "other_unpaid_fee", "other_other")


def expected_status(truth: ReportTruth) -> str:
    """The status a correct parser gives the printed report: ``ok`` only when every row of
    the template is printed and no table is printed entirely blank."""
    if truth.printing.get("form"):
        return "not_a_report"  # the blank format itself, not a report
    tpl = template(truth.template)
    for table in ("t2", "t3", "t4"):
        rows = truth.tables.get(table)
        if not rows:
            return "partial"
        if any(r.key not in rows for r in tpl.rows(table)):
            return "partial"
        if all(v is None for cols in rows.values() for v in cols.values()):
            return "partial"
    return "ok"


def as_hybrid_other(truth: ReportTruth) -> bool:
    """Print （六）其他处理 of a 2021 report as one row, as the 2019 template did: its three
    rows become ``other_handling`` (their sum, so the results total still adds up)."""
    t3 = truth.tables["t3"]
    if truth.template != "2021" or not all(k in t3 for k in HYBRID_ROWS):
        return False
    merged = {
        col: sum((t3[k][col] or 0) for k in HYBRID_ROWS)
        if any(t3[k][col] is not None for k in HYBRID_ROWS)
        else None
        for col in t3[HYBRID_ROWS[0]]
    }
    rebuilt: dict[str, dict[str, Value]] = {}
    for key, cols in t3.items():
        if key == HYBRID_ROWS[0]:
            rebuilt["other_handling"] = merged
        elif key not in HYBRID_ROWS:
            rebuilt[key] = cols
    truth.tables["t3"] = rebuilt
    truth.printing["hybrid_other"] = True
    return True


def drop_row(truth: ReportTruth, table: str, row: str) -> None:
    """The agency's table lacks a row of the template (a table 2 without 规章 …)."""
    truth.tables[table].pop(row, None)


def drop_table(truth: ReportTruth, table: str) -> None:
    """The agency's report lacks a whole table."""
    truth.tables.pop(table, None)


def blank_table(truth: ReportTruth, table: str) -> None:
    """Every cell of a table printed empty (a form left blank, or digits a corrupt font lost)."""
    for cols in truth.tables[table].values():
        for col in cols:
            cols[col] = None


# Label rows long enough that a misprint leaves most of them (table 3's outcome rows and
# table 2's 行政规范性文件): what real reports misprint.
_MISPRINTABLE = {
    "t3": (
        "withheld_prohibited_by_law",
        "withheld_security_stability",
        "withheld_third_party",
        "withheld_internal_affairs",
        "withheld_process_info",
        "withheld_enforcement_files",
        "unable_not_held",
        "unable_needs_creation",
        "unable_unclear",
        "rejected_petition",
        "rejected_publication",
        "rejected_excessive",
        "rejected_confirmation",
    ),
    "t2": ("normative_documents",),
}


def misprint(label: str, rng: random.Random) -> str:
    """A label as a careless typist prints it: two or three characters dropped, or one
    replaced (numbering and punctuation kept)."""
    head = re.match(r"^(?:\d+\.|（[一二三四五六七]）)?", label).group()
    body = label[len(head) :]
    if len(body) < 5:
        return label
    if rng.random() < 0.7:
        n = rng.choice([1, 2, 3])
        start = rng.randint(1, len(body) - n - 1)
        body = body[:start] + body[start + n :]
    else:
        i = rng.randint(1, len(body) - 2)
        body = body[:i] + rng.choice("止正王土丰申甲由") + body[i + 1 :]
    return head + body


def misprint_labels(truth: ReportTruth, rng: random.Random, count: int = 2) -> None:
    """Misprint ``count`` row labels, never two neighbouring rows (``printing['labels']``)."""
    tpl = template(truth.template)
    order = {t: [r.key for r in tpl.rows(t)] for t in ("t2", "t3")}
    chosen: list[tuple[str, str]] = []
    candidates = [(t, k) for t, keys in _MISPRINTABLE.items() for k in keys if k in order[t]]
    rng.shuffle(candidates)
    for table, key in candidates:
        i = order[table].index(key)
        if any(t == table and abs(order[t].index(k) - i) <= 1 for t, k in chosen):
            continue
        chosen.append((table, key))
        if len(chosen) == count:
            break
    labels = {f"{t}.{r.key}": r.label for t in ("t2", "t3") for r in tpl.rows(t)}
    truth.printing["labels"] = {f"{t}.{k}": misprint(labels[f"{t}.{k}"], rng) for t, k in chosen}


# The narrative rules and the table cells whose sum the text restates (as the checker has
# them, written out here independently).
NARRATIVE_RULES = {
    "text_new_requests": (("t3", "new_requests", "total"),),
    "text_carried_over": (("t3", "carried_over", "total"),),
    "text_review": (("t4", "review", "total"),),
    "text_litigation": (
        ("t4", "litigation_direct", "total"),
        ("t4", "litigation_after_review", "total"),
    ),
}


def misstate(truth: ReportTruth, rule: str, rng: random.Random) -> None:
    """The text states one figure differently from the tables: a narrative finding."""
    value = sum(int(truth.true_value(t, r, c) or 0) for t, r, c in NARRATIVE_RULES[rule])
    stated = value + rng.choice([1, 2, 3, 5, 10])
    if rule == "text_new_requests":
        also = value + int(truth.true_value("t3", "carried_over", "total") or 0)
        while stated == also:
            stated += 1
    truth.narrative[rule] = stated
    truth.expected_narrative.append({"rule": rule, "status": "fail"})


def as_blank_form(truth: ReportTruth) -> None:
    """The report format itself, as sites and repositories publish it: every cell empty,
    a title that says 模板 (a blank format template archived beside the reports)."""
    for table in truth.tables:
        blank_table(truth, table)
    truth.title = "政府信息公开工作年度报告格式模板"
    truth.agency = None  # a form names no agency
    truth.printing["form"] = True
