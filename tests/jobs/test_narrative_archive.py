"""The narrative in the archive: sections stored and searchable in Datasette, narrative
findings of their own kind, the blank-cell audit per report, and the stored queries
journalists use them through."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from datasette.app import Datasette

from archive.publish import metadata_path
from archive.publish.serve import SETTINGS
from archive.store import Archive
from benchmarks.corpus import as_kind, render_sample
from nianbao.process import process_captures
from simweb import truth as tr

SITE = "http://www.example.gov.cn/zfxxgk/zfxxgknb/"


def report_truth(i: int) -> tr.ReportTruth:
    return tr.generate(
        f"n-{i}",
        site_id="x",
        agency="某某区财政局",
        region="河南省新乡市牧野区",
        region_code="410711",
        year=2021 + i,
        title=f"某某区财政局{2021 + i}年政府信息公开工作年度报告",
        published=f"{2022 + i}-01-20",
        fmt="html",
        size="medium",
        profile="department",
        seed=11,
    )


@pytest.fixture(scope="module")
def archive_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("narrative") / "nb.db"
    truths = []
    misstated = report_truth(0)
    tr.misstate(misstated, "text_review", random.Random(1))
    truths.append(("html-plain", misstated))
    blank = as_kind("html-blank_table", report_truth(1))
    truths.append(("html-blank_table", blank))
    truths.append(("text-run_together", report_truth(2)))
    with Archive(path) as archive:
        archive.load_sites(
            [{"site_id": "x", "agency": "某某区财政局", "region_code": "410711", "start_url": SITE}]
        )
        run = archive.start_run(None, 1)
        for i, (kind, truth) in enumerate(truths):
            sample = render_sample(kind, kind.split("-")[0], truth)
            archive.add_capture(
                {
                    "run_id": run,
                    "site_id": "x",
                    "url": f"{SITE}{i}/{sample.filename}",
                    "status": 200,
                    "content_type": sample.content_type
                    or ("text/plain; charset=utf-8" if kind.startswith("text") else None),
                    "body": sample.data,
                    "role": "report",
                }
            )
        process_captures(archive)
    return path, truths


def query(path, sql, params=()):
    with Archive(path) as archive:
        return [dict(r) for r in archive.db.query(sql, params)]


def test_every_report_has_its_sections(archive_db):
    path, truths = archive_db
    rows = query(path, "select report_id, section, section_key, chars from report_sections")
    by_report: dict[int, list[str]] = {}
    for r in rows:
        by_report.setdefault(r["report_id"], []).append(r["section_key"])
    assert len(by_report) == len(truths)
    for keys in by_report.values():
        assert keys[-6:] == [
            "overall",
            "proactive",
            "requests",
            "review_litigation",
            "problems",
            "other",
        ]


def test_a_misstated_figure_is_stored_as_a_narrative_finding(archive_db):
    path, truths = archive_db
    found = query(
        path,
        "select r.year, n.rule, n.status, n.stated, n.table_value, n.quote, "
        "r.narrative_finding_count from narrative_findings n join reports r on r.id = n.report_id",
    )
    stated = truths[0][1].narrative["text_review"]
    assert [(f["rule"], f["status"], f["stated"]) for f in found] == [
        ("text_review", "fail", stated)
    ]
    assert found[0]["narrative_finding_count"] == 1 and f"{stated}件" in found[0]["quote"]
    # Apart from the arithmetic findings.
    assert not query(path, "select 1 from findings where rule like 'text_%'")


def test_the_blank_cell_audit(archive_db):
    path, _ = archive_db
    rows = query(
        path,
        "select year, parse_status, cell_count, blank_cells, dash_cells, zero_cells "
        "from reports order by year",
    )
    blank = rows[1]
    assert blank["parse_status"] == "partial" and blank["blank_cells"] >= 15
    assert all(
        r["blank_cells"] + r["dash_cells"] + r["zero_cells"] <= r["cell_count"] for r in rows
    )


def test_sections_are_searchable_in_datasette_and_the_stored_queries_run(archive_db):
    path, truths = archive_db
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    ds = Datasette([str(path)], metadata=metadata, settings=SETTINGS)

    def get(url):
        response = asyncio.run(ds.client.get(url))
        assert response.status_code == 200, response.text[:500]
        return response.json()

    found = get("/nb/report_sections.json?_search=改进&_shape=objects&_size=max")["rows"]
    assert found and {r["section_key"] for r in found} == {"problems"}
    rows = get("/nb/problems_and_fixes.json?section=problems&year=&region=&q=&_shape=objects")
    assert len(rows["rows"]) == len(truths)
    assert all("问题" in r["正文"] for r in rows["rows"])
    by_word = get(
        "/nb/problems_and_fixes.json?section=problems&year=&region=&q=改进&_shape=objects"
    )
    assert {r["报告编号"] for r in by_word["rows"]} == {r["report_id"] for r in found}
    by_name = get(
        "/nb/problems_and_fixes.json?section=problems&year=&region=牧野区&q=&_shape=objects"
    )["rows"]
    by_code = get(
        "/nb/problems_and_fixes.json?section=problems&year=&region=410711&q=&_shape=objects"
    )["rows"]
    assert by_name and by_name == by_code
    mismatches = get("/nb/narrative_mismatches.json?year=&rule=&_shape=objects")["rows"]
    assert [m["规则"] for m in mismatches] == ["正文所述行政复议数与表四“行政复议·总计”"]
    empty = get("/nb/empty_tables.json?year=全部&min_percent=5&_shape=objects")["rows"]
    assert truths[1][1].year in {r["年度"] for r in empty}
