"""The national world (simweb/national.py): reports the size and shape of real ones, whose
numbers the generator knows, made the same every time."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter

import pypdfium2
import pytest

from archive.checks import check_parsed
from archive.parse import parse_document
from simweb.national import (
    FORMS,
    article_page,
    document_bytes,
    plan_site,
    report_pdf,
    report_truth,
)
from simweb.process import SimWeb
from tests.crawling import crawl, nianbao

pytestmark = pytest.mark.e2e


def cells(tables: dict) -> dict:
    return {
        (t, r, c): v
        for t in ("t2", "t3", "t4")
        for r, cols in tables[t].items()
        for c, v in cols.items()
    }


def sample(n: int, seed: int = 1):
    rng = random.Random(seed)
    for index in rng.sample(range(3000), n):
        site = plan_site(index)
        yield site, rng.choice(site.reports)


def test_the_same_seed_makes_the_same_world():
    one, two = plan_site(17), plan_site(17)
    assert one == two
    report = next(r for r in one.reports if r.form != "html")
    assert article_page(one, report) == article_page(two, report)
    truth = report_truth(report, one)
    assert report_pdf(report, truth) == report_pdf(report, report_truth(report, two))
    assert plan_site(17, seed=1) != one


def test_sites_publish_by_habit_and_the_country_mixes_every_form():
    sites = [plan_site(i) for i in range(300)]
    forms = Counter(r.form for s in sites for r in s.reports)
    assert set(forms) == set(FORMS)
    total = sum(forms.values())
    assert 0.3 < forms["html"] / total < 0.55 and 0.2 < forms["pdf"] / total < 0.4
    assert 8 < total / len(sites) < 16  # reports per county portal
    assert len({s.habit for s in sites}) == 4
    codes = {s.region_code for s in sites}
    assert len(codes) == 300 and all(len(c) == 6 for c in codes)


def test_article_pages_weigh_what_real_ones_do():
    sizes = [
        len(article_page(site, report)) / 1024
        for site, report in sample(40)
        if report.form in ("html", "html_pdf")
    ]
    assert sizes and min(sizes) >= 100 and max(sizes) <= 350, sizes


@pytest.mark.parametrize("form", ["html", "pdf", "docx"])
def test_every_form_reads_back_to_the_known_numbers(form):
    rng = random.Random(form)
    wanted = 2 if form == "docx" else 4  # python-docx takes seconds to lay a report out
    checked = 0
    for index in rng.sample(range(3000), 400):
        site = plan_site(index)
        for report in site.reports:
            if (report.form == "html_pdf" and form != "docx") or report.form == form:
                break
        else:
            continue
        truth = report_truth(report, site)
        if form == "html":
            data, kwargs = article_page(site, report), {"source": report.path}
        else:
            data, kwargs = document_bytes(site, report, 0, None), {"filename": f"r.{form}"}
        if form == "pdf":
            assert 6 <= len(pypdfium2.PdfDocument(data)) <= 22
        parsed = parse_document(data, **kwargs)
        assert parsed.status == "ok", (report.sim_id, parsed.warnings)
        assert parsed.year == report.year and parsed.template == truth.template
        read = {
            (t, r, c): v
            for t, rows in parsed.tables.items()
            for r, cols in rows.items()
            for c, v in cols.items()
        }
        expected = cells(truth.tables)
        assert {k: read.get(k) for k in expected} == expected, report.sim_id
        found = {(f.rule, f.row or f.column) for f in check_parsed(parsed) if f.status == "fail"}
        planted = {(f["rule"], f.get("row") or f.get("column")) for f in truth.expected_findings}
        assert found == planted, report.sim_id
        checked += 1
        if checked == wanted:
            break
    assert checked == wanted


def test_a_small_national_world_crawls_and_parses_whole(tmp_path):
    with SimWeb(tmp_path / "web", national=3, default_world=False, cache=tmp_path / "c") as web:
        db = tmp_path / "a.db"
        crawl(web.sites_csv, db, timeout=600)
        truth = web.truth["national"]
    nianbao("process", "--db", db, timeout=600)
    conn = sqlite3.connect(db)
    try:
        statuses = conn.execute("select status from crawl_site_counts").fetchall()
        reports = conn.execute("select url, parse_status from reports").fetchall()
        alternates = conn.execute(
            "select count(*) from report_originals where role = 'alternate'"
        ).fetchone()[0]
    finally:
        conn.close()
    assert statuses == [("ok",)] * 3
    assert len(reports) == len(truth) and {s for _, s in reports} == {"ok"}
    # an article and the PDF it attaches are one report with two originals
    assert alternates == sum(1 for r in truth if r["form"] == "html_pdf")
