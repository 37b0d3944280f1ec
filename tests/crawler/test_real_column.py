"""A real column crawled end to end: eight 年报 columns of 平潭综合实验区 (www.pingtan.gov.cn).

The replica (simweb/pingtan.py) serves the columns' real listing pages and their reports
rebuilt from the released material; ``nianbao discover`` finds each column from its URL,
its rows are the registry ``nianbao crawl`` takes as they are, and ``nianbao process``
parses what was stored. Every report of the material must be archived as a report capture
and nothing else; the cells read from the ten article pages must equal the hand-checked
truth (``tests/fixtures/real/expected/pingtan-*.json``) exactly, and every cell read from a
text page must be in the truth with its value. Without the material the tests skip, in CI
they fail.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from simweb import pingtan
from simweb.process import SimWeb
from tests.conftest import in_ci
from tests.crawling import FAST, crawl, nianbao, settings

pytestmark = pytest.mark.e2e

EXPECTED = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "expected"
Cell = tuple[str, str, str]


@pytest.fixture(scope="module")
def columns() -> list[pingtan.Column]:
    try:
        return pingtan.load()
    except pingtan.MaterialMissing as exc:
        if in_ci():
            pytest.fail(f"{exc}; CI must crawl the real columns")
        pytest.skip(str(exc))


@dataclass
class Run:
    base: str  # https://www.pingtan.gov.cn:PORT/
    rows: list[dict]
    discover_stderr: str
    db: sqlite3.Connection
    seconds: float

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")


@pytest.fixture(scope="module")
def run(tmp_path_factory, columns) -> Iterator[Run]:
    """Serve, discover, crawl, parse: the whole path, timed."""
    out = tmp_path_factory.mktemp("pingtan")
    started = time.monotonic()
    with SimWeb(out / "web", extra=("pingtan",), default_world=False) as web:
        pinned = settings(NIANBAO_RESOLVE=web.ready["resolve"])
        found = nianbao("discover", "--file", web.ready["columns"], *pinned, *FAST)
        registry = out / "discovered.csv"
        registry.write_text(found.stdout, "utf-8")
        db = out / "archive.db"
        crawl(registry, db, *pinned)
        nianbao("process", "--db", db)
        base = web.sites["pingtan"]
    seconds = time.monotonic() - started
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = list(csv.DictReader(io.StringIO(found.stdout)))
    yield Run(base, rows, found.stderr, conn, seconds)
    conn.close()


def truth(report: pingtan.Report) -> dict:
    return json.loads((EXPECTED / f"pingtan-{report.folder}-{report.year}.json").read_text("utf-8"))


def truth_cells(report: pingtan.Report) -> dict[Cell, object]:
    return {
        (t, r, c): v
        for t, rows in truth(report)["tables"].items()
        for r, cols in rows.items()
        for c, v in cols.items()
    }


def parsed(run: Run, report: pingtan.Report) -> sqlite3.Row | None:
    return run.db.execute("select * from reports where url = ?", [run.url(report.path)]).fetchone()


def parsed_cells(run: Run, report_id: int) -> dict[Cell, object]:
    return {
        (t, r, c): v
        for t, r, c, v in run.db.execute(
            "select table_key, row_key, col_key, value from cells where report_id = ?",
            [report_id],
        )
    }


def test_discover_prints_one_row_per_column(run, columns):
    assert "Traceback" not in run.discover_stderr
    by_start = {row["start_url"]: row for row in run.rows}
    assert set(by_start) == {run.url(c.path) for c in columns}
    for column in columns:
        row = by_start[run.url(column.path)]
        assert row["region_code"] == pingtan.REGION_CODE
        assert row["allowed_domains"] == pingtan.HOST
        assert row["agency"] in {r.agency for r in column.reports}, row
        # every report link of the listing whose title names a report, the material's at least
        assert len(column.reports) <= int(row["reports_seen"]) <= len(column.listed), row
    assert len({row["site_id"] for row in run.rows}) == len(run.rows)


def test_every_report_of_the_material_is_archived_as_a_report_capture(run, columns):
    archived = {
        url
        for (url,) in run.db.execute(
            "select coalesce(final_url, url) from captures "
            "where role = 'report' and status = 200 and body is not null"
        )
    }
    for column in columns:
        wanted = {run.url(r.path) for r in column.reports}
        assert wanted <= archived, f"{column.folder}: not archived {sorted(wanted - archived)}"
    assert archived == {run.url(r.path) for c in columns for r in c.reports}


def test_nothing_else_is_archived_as_a_report(run, columns):
    material = {run.url(r.path) for c in columns for r in c.reports}
    reported = {url for (url,) in run.db.execute("select url from reports")}
    assert reported <= material, sorted(reported - material)
    # The listing's older reports the material lacks were asked for and answered 404 (or
    # not asked for, when their title does not read as a report's), never stored as one.
    missing = {run.url(p) for c in columns for p in c.missing}
    assert len(missing) == 6
    for url, status in run.db.execute("select url, status from captures where role = 'report'"):
        assert url in material or (url in missing and status == 404), (url, status)
    for (url,) in run.db.execute("select url from captures"):
        assert url.startswith(run.base), url  # the real host, at the replica's port


def test_cells_of_the_article_pages_equal_the_truth(run, columns):
    articles = [r for c in columns for r in c.reports if r.article is not None]
    assert len(articles) == 10
    for report in articles:
        row = parsed(run, report)
        assert row is not None, f"{report.folder} {report.year}: no report"
        expected = truth(report)
        assert (row["year"], row["agency"], row["template"]) == (
            expected["year"],
            expected["agency"],
            expected["template"],
        ), report.url
        assert parsed_cells(run, row["id"]) == truth_cells(report), report.url
        assert row["published"] == report.published[:10]


@pytest.fixture(scope="module")
def figures(run, columns) -> dict[str, dict]:
    """Per column: reports (from article pages, from text pages), cells read right and
    wrong against the truth, and the wrong ones named."""
    found: dict[str, dict] = {}
    for column in columns:
        f = found[column.folder] = {
            "reports": 0,
            "articles": 0,
            "texts": 0,
            "parsed": 0,
            "right": 0,
            "wrong": 0,
            "text_right": 0,
            "errors": [],
        }
        for report in column.reports:
            f["reports"] += 1
            f["articles" if report.article is not None else "texts"] += 1
            row = parsed(run, report)
            if row is None:
                continue
            f["parsed"] += 1
            want = truth_cells(report)
            for key, value in parsed_cells(run, row["id"]).items():
                if key in want and want[key] == value:
                    f["right"] += 1
                    f["text_right"] += report.article is None
                else:  # a wrong number, or one the truth does not know to be right
                    f["wrong"] += 1
                    truth_says = f"truth {want[key]!r}" if key in want else "not in the truth"
                    f["errors"].append(f"{report.year} {key}: read {value!r}, {truth_says}")
    return found


def test_text_pages_give_no_wrong_number(run, columns, figures):
    """Every cell read is in the truth with its value; every year shown is the report's."""
    for column in columns:
        for report in column.reports:
            row = parsed(run, report)
            assert row is None or row["year"] == report.year, report.url
    errors = [f"{k}: {e}" for k, f in figures.items() for e in f["errors"]]
    assert not errors, "\n".join(errors)


def test_figures(run, figures):
    """What the run found and read, per column (shown with ``-s``), and how long it took."""
    print(f"\n{'column':<12} reports (article+text) parsed  cells right (from text)  wrong")
    for folder, f in sorted(figures.items()):
        print(
            f"{folder:<12} {f['reports']:>7} ({f['articles']}+{f['texts']}) {f['parsed']:>9}"
            f"  {f['right']:>11} ({f['text_right']:>4}) {f['wrong']:>9}"
        )
    print(f"serve + discover + crawl + process: {run.seconds:.1f} s")
    assert sum(f["reports"] for f in figures.values()) == 55
    assert sum(f["wrong"] for f in figures.values()) == 0
