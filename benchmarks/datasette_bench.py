"""Datasette over a large generated archive: build time, size, and HTTP medians.

Generates an archive of N reports (default 100,000) straight into the SQLite schema —
no documents are rendered or parsed. What it holds, per report: 17 cells (table 三's 14
row totals, table 四's three totals: ~1.7 M cells), the section 五 of its text
(report_sections), one original; 3 % of the reports fail a rule (half of them 表四's
总计 against its parts, half 表三's balance over four totals, with the cells the rule
reads), 20 % carry a note, 2 % were read by OCR (every cell with a confidence), one in
two hundred has a figure its text contradicts (narrative_findings), and one registry
row in fifty published nothing at all. Then it times
:func:`archive.publish.prepare` (regions, wide tables with their checks, Chinese views,
rollup, search indexes), serves it with ``nianbao serve`` and measures, over HTTP, the
first request (its caches cold for that page) and the median of the next ones of every
page a reader uses: the front and database pages, a report page, year
over year for an agency and a region (HTML, CSV, JSON; the failing numbers left out),
the Chinese views and their CSV, every stored query as it opens (no parameters) and
with a region by name, facets, 2- to 6-character searches (JSON and HTML), the region
pages (a province, a city, a county; a city's agencies in one year, sorted, paged, the
agencies behind a steady sum), the leads page (each figure, by size and per cent, for a
city), a reader's mistakes (a 404 page), and the search page (ranked, with facets:
:func:`search_page_cases`). Every time is also printed as a ratio to Datasette's
cheapest request (``/-/versions.json``), measured in the same run, so figures from
different machines (and a loaded machine) compare; CPU seconds are given for the build.
``--snapshot`` also times a data snapshot with its standalone bundle; ``--serve-snapshot``
then measures the pages of that snapshot as ``nianbao serve`` serves one (immutable, its
counts from its manifest) instead of the live archive's.

    python benchmarks/datasette_bench.py [--reports 100000] [--keep DIR] [--reuse] [--snapshot]
        [--serve-snapshot] [--only region,leads]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from datasette.utils import tilde_encode

from archive.publish import prepare
from archive.store import Archive

PHRASES = [
    "本机关",
    "政府信息公开",
    "工作年度报告",
    "依申请公开",
    "主动公开",
    "行政复议",
    "行政诉讼",
    "征地拆迁",
    "最低生活保障",
    "低保",
    "信息处理费",
    "规范性文件",
    "行政许可",
    "行政处罚",
    "政务公开",
    "办理结果",
    "答复期限",
    "申请人",
    "不予公开",
    "国家秘密",
    "第三方合法权益",
    "过程性信息",
    "存在的主要问题",
    "改进情况",
    "下一步",
    "加强",
    "平台建设",
    "政策解读",
    "政府网站",
    "新闻发布会",
    "公开目录",
    "年度",
    "统计",
    "数据",
    "教育",
    "医疗卫生",
    "住房保障",
    "生态环境",
    "财政预算",
    "决算",
    "审计",
    "应急管理",
    "市场监管",
    "人力资源",
    "社会保障",
]
T3_KEYS = [
    "new_requests",
    "carried_over",
    "granted",
    "partially_granted",
    "withheld_state_secret",
    "withheld_third_party",
    "withheld_process_info",
    "unable_not_held",
    "unable_needs_creation",
    "rejected_petition",
    "rejected_duplicate",
    "other_other",
    "results_total",
    "carried_forward",
]
T4_KEYS = ["review", "litigation_direct", "litigation_after_review"]
# The cells the generated failing rules read (table 四 prints only totals here).
REVIEW_CELLS = [f"t4.review.{c}" for c in ("upheld", "corrected", "other", "pending", "total")]
BALANCE = [
    f"t3.{r}.total" for r in ("new_requests", "carried_over", "results_total", "carried_forward")
]
REGIONS = [
    "410711",
    "410702",
    "410700",
    "320800",
    "320803",
    "310104",
    "310000",
    "110105",
    "440305",
    "510104",
    "330106",
    "420111",
    "370202",
    "610113",
    "210102",
    "350203",
]


# Every report prints table 4's heading: the 4-character search present in every report.
HEADING = "四、政府信息公开行政复议、行政诉讼情况。"


def text_of(rng: random.Random, chars: int) -> str:
    parts, size = [HEADING], len(HEADING)
    while size < chars:
        sentence = "".join(rng.choices(PHRASES, k=rng.randint(4, 9))) + "。"
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)


def generate(path: Path, reports: int, seed: int = 0, text_chars: int = 1500) -> None:
    """An archive of ``reports`` reports of 17 cells each, written in bulk."""
    rng = random.Random(seed)
    Archive(path).close()  # the schema, with every migration
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    sites = max(reports // 6, 1)  # six years per agency
    quiet = max(sites // 50, 1)  # registry rows that published nothing
    conn.executemany(
        "insert into sites (site_id, agency, region_code, region, level, start_url) "
        "values (?, ?, ?, ?, ?, ?)",
        [
            (
                f"s{i}",
                f"机关{i}{'人民政府' if i % 5 == 0 else '局'}",
                REGIONS[i % len(REGIONS)],
                None,
                "county" if i % 5 == 0 else "department",
                f"http://127.0.0.1/{i}/",
            )
            for i in range(sites + quiet)
        ],
    )
    for report_id in range(1, reports + 1):
        site = (report_id - 1) % sites
        year = 2019 + (report_id - 1) // sites % 6
        text = text_of(rng, text_chars)
        if rng.random() < 0.01:  # a rare word: one report in a hundred
            text += "棚户区改造。"
        body = f"<html><body>{text[:200]}</body></html>".encode()
        url = f"http://127.0.0.1/{site}/{year}.html"
        conn.execute(
            "insert into captures (id, site_id, url, status, method, fetched_at, content_type,"
            " size, sha256, body, role) values (?, ?, ?, 200, 'GET', '2026-01-01T00:00:00',"
            " 'text/html; charset=utf-8', ?, ?, ?, 'report')",
            [report_id, f"s{site}", url, len(body), f"{report_id:064x}", body],
        )
        conn.execute(
            "insert into reports (id, capture_id, site_id, agency, registry_agency, region_code,"
            " year, template, title, url, published, format, sha256, text, parse_status,"
            " cell_count, finding_count, parsed_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " 'html', ?, ?, 'ok', 17, 0, '2026-01-01T00:00:00')",
            [
                report_id,
                report_id,
                f"s{site}",
                f"机关{site}",
                f"机关{site}",
                REGIONS[site % len(REGIONS)],
                year,
                "2021" if year >= 2021 else "2019",
                f"机关{site}{year}年政府信息公开工作年度报告",
                url,
                f"{year + 1}-0{rng.randint(1, 4)}-15",
                f"{report_id:064x}",
                text,
            ],
        )
        cells = [(report_id, "t3", key, "total", rng.randint(0, 500)) for key in T3_KEYS]
        cells += [(report_id, "t4", key, "total", rng.randint(0, 20)) for key in T4_KEYS]
        conn.executemany(
            "insert into cells (report_id, table_key, row_key, col_key, value, raw)"
            " values (?, ?, ?, ?, ?, cast(? as text))",
            [(*c, c[-1]) for c in cells],
        )
        conn.execute(
            "insert into report_originals (report_id, capture_id, sha256, url, format, role)"
            " values (?, ?, ?, ?, 'html', 'primary')",
            [report_id, report_id, f"{report_id:064x}", url],
        )
        conn.execute(
            "insert into report_sections (report_id, section, section_key, heading, text,"
            " chars) values (?, 5, 'problems', '五、存在的主要问题及改进情况', ?, 40)",
            [report_id, "".join(rng.choices(PHRASES, k=6)) + "。"],
        )
        draw = rng.random()
        if draw < 0.015:  # 表四's 总计 against its parts (the cells of the rule are read)
            conn.execute(
                "insert into findings (report_id, rule, table_key, row_key, status, expected,"
                " found, cells, message) values (?, 't4_total', 't4', 'review', 'fail', ?, 0,"
                " ?, 'generated')",
                [report_id, rng.randint(1, 9), json.dumps(REVIEW_CELLS)],
            )
        elif draw < 0.03:  # 表三's balance: 一＋二 against （七）总计＋四
            conn.execute(
                "insert into findings (report_id, rule, table_key, col_key, status, expected,"
                " found, cells, message) values (?, 't3_balance', 't3', 'total', 'fail', ?, ?,"
                " ?, 'generated')",
                [report_id, rng.randint(50, 900), rng.randint(50, 900), json.dumps(BALANCE)],
            )
        elif draw < 0.23:  # a note: a blank total
            conn.execute(
                "insert into findings (report_id, rule, table_key, row_key, status, expected,"
                " cells, message) values (?, 't4_total', 't4', 'review', 'incomplete', 0,"
                " '[\"t4.review.total\"]', 'generated')",
                [report_id],
            )
        if rng.random() < 0.02:  # read by OCR from a scan
            conn.execute("update reports set cell_source = 'ocr' where id = ?", [report_id])
            conn.execute(
                "update cells set confidence = 0.6 + (abs(random()) % 40) / 100.0 "
                "where report_id = ?",
                [report_id],
            )
        if rng.random() < 0.005:  # a figure the text states that its table contradicts
            conn.execute(
                "insert into narrative_findings (report_id, rule, status, stated, table_value,"
                " cells, section, quote, message) values (?, 'text_review', 'fail', ?, ?,"
                " '[\"t4.review.total\"]', 4, '全年发生行政复议案件若干件。', 'generated')",
                [report_id, rng.randint(1, 30), rng.randint(0, 20)],
            )
    conn.execute("COMMIT")
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_get(url: str, expected: int = 200) -> tuple[float, bytes]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        if error.code != expected:
            raise
        body = error.read()
    return (time.perf_counter() - start) * 1000, body


def first_and_median_ms(url: str, runs: int, expected: int = 200) -> tuple[float, float, bytes]:
    """The first request of ``url`` since the server started (its caches cold for this
    page), then the median of ``runs`` more."""
    first, _ = timed_get(url, expected)
    results = [timed_get(url, expected) for _ in range(runs)]
    return first, statistics.median(r[0] for r in results), results[-1][1]


def serve(db: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "nianbao", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600  # a loaded machine: Datasette counts tables first
    while time.monotonic() < deadline:
        try:
            timed_get(f"http://127.0.0.1:{port}/-/versions.json")
            return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("datasette did not start")


def mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _bigram_shadow(text: str) -> str:
    """The previous index's spelling: overlapping pairs, with positions (phrase queries)."""

    def spell(match):
        run = match.group(0)
        return " " + " ".join([run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]) + " "

    return re.sub("[\u4e00-\u9fff]+", spell, text)


def _bigram_query(word: str) -> str:
    return '"' + " ".join(word[i : i + 2] for i in range(len(word) - 1)) + '"'


def compare_tokenizers(db: Path, sample: int = 10_000) -> None:
    """The measurement behind archive/publish/search.py: ways to index the same texts."""
    from archive.publish.search import fts_query, shadow

    source = sqlite3.connect(db)
    texts = source.execute("select id, text from reports order by id limit ?", [sample]).fetchall()
    source.close()
    ways = {
        "unicode61 on the text": ("unicode61", "full", lambda t: t, lambda q: f'"{q}"'),
        "trigram on the text": ("trigram", "full", lambda t: t, lambda q: f'"{q}"'),
        "bigram shadow, positions (previous)": (
            "unicode61",
            "full",
            _bigram_shadow,
            _bigram_query,
        ),
        "1-8-grams, detail=none (chosen)": ("unicode61", "none", shadow, fts_query),
    }
    words = ("复议", "行政复议", "棚户", "最低生活保障")
    print(f"\nsearch index on {len(texts):,} report texts (in memory; CPU seconds to build):")
    print(
        f"| {'index':<36} | {'CPU s':>6} | {'MB':>6} | "
        + " | ".join(f"{w + ' found/true':>16}" for w in words)
        + f" | {'行政复议 count ms':>14} | {'as plain SQLite sends':>21} |"
    )
    print(
        f"|{'-' * 38}|{'-' * 8}|{'-' * 8}|"
        + "|".join("-" * 18 for _ in words)
        + f"|{'-' * 16}|{'-' * 23}|"
    )
    for label, (tokenizer, detail, prepare_text, query) in ways.items():
        conn = sqlite3.connect(":memory:")
        conn.execute(
            f"create virtual table f using fts5(text, content='', tokenize='{tokenizer}', "
            f"detail={detail})"
        )
        start = time.process_time()
        conn.executemany(
            "insert into f (rowid, text) values (?, ?)", [(i, prepare_text(t)) for i, t in texts]
        )
        conn.execute("insert into f (f) values ('optimize')")
        build = time.process_time() - start
        size = conn.execute("select sum(length(block)) from f_data").fetchone()[0] / 1e6
        cells = []
        for word in words:
            true = sum(1 for _, t in texts if word in t)
            found = conn.execute(
                "select count(*) from f where f match ?", [query(word)]
            ).fetchone()[0]
            cells.append(f"{found:,}/{true:,}")
        timings = []
        for _ in range(5):
            t = time.perf_counter()
            conn.execute("select count(*) from f where f match ?", [query("行政复议")]).fetchone()
            timings.append((time.perf_counter() - t) * 1000)
        native = conn.execute("select count(*) from f where f match ?", ['"行政复议"']).fetchone()[
            0
        ]
        true = sum(1 for _, t in texts if "行政复议" in t)
        conn.close()
        print(
            f"| {label:<36} | {build:6.1f} | {size:6.1f} | "
            + " | ".join(f"{c:>16}" for c in cells)
            + f" | {statistics.median(timings):14.1f} | {f'{native:,}/{true:,}':>21} |"
        )


def cases(name: str, report: int) -> list[tuple[str, str]]:
    """Every request measured: (label, path); ``report`` is one from the middle."""
    q = urllib.parse.quote
    view = tilde_encode("表三_依申请公开")
    view4 = tilde_encode("表四_复议诉讼")
    region_code = REGIONS[0]
    city = q("新乡市")
    measured = [
        ("baseline /-/versions.json", "/-/versions.json"),
        ("front page / (HTML)", "/"),
        ("database page (HTML)", f"/{name}"),
        (f"report page reports/{report} (HTML)", f"/{name}/reports/{report}"),
        ("report page, failing cells (HTML)", "FAILING"),
        ("year over year, agency (HTML)", f"/{name}/-/compare?report={report}"),
        ("year over year, agency, failing (HTML)", "FAILING-COMPARE"),
        ("year over year, agency (CSV)", f"/{name}/-/compare.csv?report={report}"),
        ("year over year, agency (JSON)", f"/{name}/-/compare.json?report={report}"),
        ("year over year, region 新乡市 (HTML)", f"/{name}/-/compare?region={city}"),
        (
            "year over year, region, all reports (HTML)",
            f"/{name}/-/compare?region={city}&basis=all",
        ),
        (
            "year over year, region, failing left out",
            f"/{name}/-/compare?region={city}&omit_failing=1",
        ),
        ("year over year, region (JSON)", f"/{name}/-/compare.json?region={city}&basis=all"),
        ("year over year, region (CSV)", f"/{name}/-/compare.csv?region={city}"),
        ("stored query region_requests, by name", f"/{name}/region_requests?region={city}"),
        (
            "stored query region_requests (JSON)",
            f"/{name}/region_requests.json?region={q('河南省')}",
        ),
        (
            "stored query region_requests, failing left out",
            f"/{name}/region_requests.json?region={city}&omit_failing=1",
        ),
        (
            "stored query region_requests_steady",
            f"/{name}/region_requests_steady.json?region={region_code}&from_year=&to_year=",
        ),
        (
            "stored query failing_arithmetic",
            f"/{name}/failing_arithmetic.json?year=2023&rule=&region=",
        ),
        ("stored query top_withheld", f"/{name}/top_withheld.json?year=2023"),
        ("stored query carryover_mismatch", f"/{name}/carryover_mismatch.json?year=2023"),
        ("table page reports (HTML)", f"/{name}/reports"),
        ("table page reports (JSON)", f"/{name}/reports.json"),
        ("table page cells (JSON, 1.7 M rows)", f"/{name}/cells.json"),
        ("wide table report_t3 (HTML)", f"/{name}/report_t3"),
        ("wide table report_t4 (HTML)", f"/{name}/report_t4"),
        ("Chinese view 表三_依申请公开 (HTML)", f"/{name}/{view}"),
        ("Chinese view 表四_复议诉讼 (HTML)", f"/{name}/{view4}"),
        ("Chinese view 表四_复议诉讼 (CSV)", f"/{name}/{view4}.csv"),
        (
            "Chinese view, marked rows only (JSON)",
            f"/{name}/{view4}.json?{q('行政复议·总计·核对')}__startswith={q('不符')}",
        ),
        (
            "Chinese view, facets 省级+年度 (JSON)",
            f"/{name}/{view}.json?_facet={q('省级')}&_facet={q('年度')}",
        ),
        (
            "facet province+year on report_t3",
            f"/{name}/report_t3.json?_facet=province&_facet=year",
        ),
        ("search 2 chars, in every report: 复议", f"/{name}/reports.json?_search={q('复议')}"),
        (
            "search 4 chars, in every report: 行政复议",
            f"/{name}/reports.json?_search={q('行政复议')}",
        ),
        (
            "search 4 chars, every report, HTML: 行政复议",
            f"/{name}/reports?_search={q('行政复议')}",
        ),
        (
            "search 6 chars, in every report: 最低生活保障",
            f"/{name}/reports.json?_search={q('最低生活保障')}",
        ),
        ("search 2 chars, rare: 棚户", f"/{name}/reports.json?_search={q('棚户')}"),
        ("search 5 chars, rare: 棚户区改造", f"/{name}/reports.json?_search={q('棚户区改造')}"),
        ("search 2 chars, rare, HTML page: 棚户", f"/{name}/reports?_search={q('棚户')}"),
        ("stored query search_reports, rare: 棚户", f"/{name}/search_reports.json?q={q('棚户')}"),
        (
            "stored query search_reports, every report: 拆迁",
            f"/{name}/search_reports.json?q={q('拆迁')}",
        ),
        ("regions: every province (HTML)", f"/{name}/-/regions"),
        ("region page, a province 河南省 (HTML)", f"/{name}/-/regions/410000"),
        ("region page, a city 新乡市 (HTML)", f"/{name}/-/regions/410700"),
        ("region page, a county 牧野区 (HTML)", f"/{name}/-/regions/410711"),
        (
            "region page, by name 牧野区 (redirect followed)",
            f"/{name}/-/regions?region={q('牧野区')}",
        ),
        ("region-year 新乡市 2023, every agency (HTML)", f"/{name}/-/regions/410700/2023"),
        ("region-year 新乡市 2023 (JSON)", f"/{name}/-/regions/410700/2023.json"),
        ("region-year 新乡市 2023, every report (CSV)", f"/{name}/-/regions/410700/2023.csv"),
        (
            "region-year 新乡市 2023, by lawsuits, page 20 (HTML)",
            f"/{name}/-/regions/410700/2023?sort=lawsuits&page=20",
        ),
        (
            "region-year 新乡市 2023, the agencies behind a steady sum",
            f"/{name}/-/regions/410700/2023?basis=steady&from=2019&to=2024",
        ),
        ("region-year 河南省 2023 (HTML)", f"/{name}/-/regions/410000/2023"),
        ("leads, new requests, latest year (HTML)", f"/{name}/-/leads"),
        ("leads, new requests 2023 (JSON)", f"/{name}/-/leads.json?year=2023"),
        ("leads, new requests 2023 (CSV)", f"/{name}/-/leads.csv?year=2023"),
        ("leads, lawsuits 2023 (HTML)", f"/{name}/-/leads?measure=lawsuits&year=2023"),
        ("leads, 不予公开 by per cent (HTML)", f"/{name}/-/leads?measure=withheld&sort=pct"),
        ("leads, failing left out (HTML)", f"/{name}/-/leads?omit_failing=1&year=2023"),
        ("leads, a city 新乡市 (HTML)", f"/{name}/-/leads?region=410700&year=2023"),
        ("a reader's mistake: no such report (404)", f"/{name}/reports/99999999"),
        ("a reader's mistake: no such URL (404)", "/a/b/c/d/e"),
    ]
    # Every stored query as it opens: no parameters typed, HTML (what a reader sees first).
    for query in STORED_QUERIES:
        measured.append((f"stored query {query}, as it opens (HTML)", f"/{name}/{query}"))
    return measured


# The stored queries of datasette_metadata.json, each measured as it opens.
STORED_QUERIES = (
    "search_reports",
    "failing_arithmetic",
    "check_notes",
    "region_requests",
    "region_requests_steady",
    "outcomes",
    "missing_reports",
    "late_reports",
    "carryover_mismatch",
    "top_new_requests",
    "top_withheld",
    "top_lawsuits",
    "problems_and_fixes",
    "narrative_mismatches",
    "empty_tables",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="directory to keep the archive in")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: serve the archive already there"
    )
    parser.add_argument("--snapshot", action="store_true", help="also time a data snapshot")
    parser.add_argument(
        "--serve-snapshot",
        action="store_true",
        help="make a data snapshot and time the pages of it (nianbao serve: immutable)",
    )
    parser.add_argument(
        "--only",
        help="comma-separated words: measure only the requests whose label has one of them "
        "(the baseline always), e.g. --only region,leads",
    )
    parser.add_argument(
        "--text-chars",
        type=int,
        default=1500,
        help="characters of text per report (the search index's build time follows it)",
    )
    parser.add_argument(
        "--no-tokenizers",
        action="store_true",
        help="skip the comparison of search indexes over 10,000 texts",
    )
    args = parser.parse_args()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at start: {load}, on {os.cpu_count()} CPUs")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="nianbao-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.db"
    if not (args.reuse and db.exists()):
        build(db, args.reports, args.text_chars, not args.no_tokenizers)
    else:
        Archive(db).close()  # an archive kept from before gets this version's migrations
    served = db
    if args.snapshot or args.serve_snapshot:
        snapshot = time_snapshot(db, workdir)
        if args.serve_snapshot:  # served as a snapshot is: immutable, counts from its manifest
            served = snapshot
    measure(served, args.runs, args.only.split(",") if args.only else None)
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


def build(db: Path, reports: int, text_chars: int, tokenizers: bool) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    start = time.perf_counter()
    generate(db, reports, text_chars=text_chars)
    checkpoint(db)
    generated_s = time.perf_counter() - start
    size_base = mb(db)
    conn = sqlite3.connect(db, isolation_level=None)
    cells = conn.execute("select count(*) from cells").fetchone()[0]
    start, cpu = time.perf_counter(), time.process_time()
    prepare(conn)
    prepare_s, prepare_cpu = time.perf_counter() - start, time.process_time() - cpu
    like_ms = []
    for _ in range(3):
        t = time.perf_counter()
        conn.execute("select count(*) from reports where instr(text, '复议')").fetchone()
        like_ms.append((time.perf_counter() - t) * 1000)
    conn.close()
    checkpoint(db)
    size_full = mb(db)
    fts_mb = _fts_size(db)
    print(
        f"archive: {reports:,} reports of ~{text_chars:,} characters, {cells:,} cells "
        f"(generated in {generated_s:.1f} s)"
    )
    print(
        f"build (prepare: regions, wide tables, views, search index): {prepare_s:.1f} s wall, "
        f"{prepare_cpu:.1f} s CPU"
    )
    print(
        f"database size: {size_base:.0f} MB stored tables, {size_full:.0f} MB with the derived "
        f"tables and index (search index {fts_mb:.0f} MB)"
    )
    print_search_tables(db)
    print(
        f"a full scan for 复议 (instr on reports.text, no index): {statistics.median(like_ms):.0f} ms"
    )
    if tokenizers:
        compare_tokenizers(db)


def time_snapshot(db: Path, workdir: Path) -> Path:
    from archive.export.snapshot import make_snapshot

    folder = workdir / "snapshots"
    shutil.rmtree(folder, ignore_errors=True)
    start, cpu = time.perf_counter(), time.process_time()
    snap = make_snapshot(db, folder, "data")
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    sizes = {n: (folder / n).stat().st_size / 1e6 for n in snap.manifest["companions"]}
    bundle = next(v for n, v in sizes.items() if n.endswith(".zip"))
    print(
        f"\ndata snapshot with its standalone files: {wall:.1f} s wall, {used:.1f} s CPU; "
        f"database {snap.manifest['size'] / 1e6:.0f} MB, zip bundle {bundle:.0f} MB"
    )
    return snap.path


def middle_report(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select max(id) / 2 + 17 from reports").fetchone()[0]
    finally:
        conn.close()


def failing_report(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        failing = [
            r[0]
            for r in conn.execute(
                "select distinct report_id from findings where status = 'fail' order by 1"
            )
        ]
        return failing[len(failing) // 2]  # one from the middle, not the first rows
    finally:
        conn.close()


def measure(db: Path, runs: int, only: list[str] | None = None) -> None:
    port = free_port()
    server = serve(db, port)
    results: list[tuple[str, float, float, object]] = []
    try:
        base = f"http://127.0.0.1:{port}"
        failing = failing_report(db)
        middle = middle_report(db)
        every_case = cases(db.stem, middle) + search_page_cases(db.stem)
        for i, (label, path) in enumerate(every_case + text_view_cases(db.stem, middle)):
            if only and i > 0 and not any(word in label for word in only):
                continue
            if path == "FAILING":
                path = f"/{db.stem}/reports/{failing}"
            elif path == "FAILING-COMPARE":
                path = f"/{db.stem}/-/compare?report={failing}"
            expected = 404 if "(404)" in label else 200
            try:
                first, ms, body = first_and_median_ms(base + path, runs, expected)
            except urllib.error.HTTPError as error:  # e.g. Datasette's time limit: say so
                message = error.read()[:300].decode("utf-8", "replace")
                results.append((label, float("nan"), float("nan"), f"HTTP {error.code}"))
                print(f"{label}: HTTP {error.code} {message}", flush=True)
                continue
            rows: object = ""
            if ".json" in path:
                data = json.loads(body)
                rows = data.get("filtered_table_rows_count", len(data.get("rows", [])) or "")
                if "results" in data and "total" in data:  # the search page: its matches
                    rows = data["total"]
                if "sections" in data:  # year over year: the cells compared
                    rows = sum(len(s["rows"]) for s in data["sections"])
            elif "/reports/" in path or "/-/compare?" in path:
                marked = len(re.findall(rb'<td class="nb-cell[^"]*nb-fail', body))
                rows = f"{marked} fail" if marked else "no fail"
            elif "(HTML)" in label and "stored query" in label:
                rows = body.count(b"<tr>") - 1 if b"zero-results" not in body else 0
            results.append((label, first, ms, rows))
    finally:
        server.terminate()
        server.wait(timeout=10)
    baseline = results[0][2]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nthe first request of each page, then the median of {runs} more, over HTTP")
    print(f"(load average after the requests: {load}, on {os.cpu_count()} CPUs):")
    print(
        f"| {'request':<46} | {'first ms':>8} | {'median ms':>9} | {'× baseline':>10} "
        f"| {'rows':>8} |"
    )
    print(f"|{'-' * 48}|{'-' * 10}|{'-' * 11}|{'-' * 12}|{'-' * 10}|")
    for label, first, ms, rows in results:
        print(f"| {label:<46} | {first:8.1f} | {ms:9.1f} | {ms / baseline:10.1f} | {rows!s:>8} |")
    # NaN (the request failed) is not under 200 either
    slow = [label for label, first, ms, _ in results if not max(first, ms) < 200]
    print(f"\nover 200 ms (first or median): {', '.join(slow) if slow else 'none'}")


def search_page_cases(name: str) -> list[tuple[str, str]]:
    """The search page (archive/publish/pages/search_page.py): a word in every report
    (ranked: the reports that say it in their own words first, then those that only print
    the table-4 heading), with facets, on its first and a far page, filtered, rare, and a
    word longer than the n-gram pieces (in every title)."""
    q = urllib.parse.quote
    page = f"/{name}/-/search"
    return [
        ("search page 复议, every report (HTML)", f"{page}?q={q('复议')}"),
        ("search page 复议, every report (JSON)", f"{page}.json?q={q('复议')}"),
        ("search page 行政复议, page 200 (JSON)", f"{page}.json?q={q('行政复议')}&page=200"),
        (
            "search page 复议, year + province (HTML)",
            f"{page}?q={q('复议')}&year=2023&province=410000",
        ),
        ("search page 复议, newest first (JSON)", f"{page}.json?q={q('复议')}&sort=newest"),
        ("search page two words 征地拆迁 低保 (JSON)", f"{page}.json?q={q('征地拆迁 低保')}"),
        ("search page 6 chars 最低生活保障 (JSON)", f"{page}.json?q={q('最低生活保障')}"),
        ("search page rare 棚户区改造 (HTML)", f"{page}?q={q('棚户区改造')}"),
        (
            "search page 12 chars, every title (JSON)",
            f"{page}.json?q={q('政府信息公开工作年度报告')}",
        ),
    ]


def text_view_cases(name: str, capture: int) -> list[tuple[str, str]]:
    """An original read as text (archive/publish/pages/text_view.py), the middle report's
    web page: its page and its JSON. The first request reads it in the parse stage's
    worker (and starts the worker); the median is of the reads that follow, which find
    it kept by its SHA-256, plus the reports read from it, looked up by capture."""
    original = f"/-/original/{name}/{capture}?view=text"
    return [
        ("original as text (HTML)", original),
        ("original as text (JSON)", f"{original}&format=json"),
    ]


def print_search_tables(db: Path) -> None:
    """Each search index's size: reports_fts (n-grams), reports_long_fts (long words),
    reports_narrative_fts (the search page's ranking), report_facets, the sections'."""
    conn = sqlite3.connect(db)
    try:
        text = conn.execute("select sum(length(text)) from reports").fetchone()[0] or 1
        sizes = dict(conn.execute("select name, sum(pgsize) from dbstat group by name"))
    except sqlite3.OperationalError:  # SQLite built without dbstat
        return
    finally:
        conn.close()
    for table in (
        "reports_fts",
        "reports_long_fts",
        "reports_narrative_fts",
        "report_sections_fts",
        "report_facets",
    ):
        size = sum(v for k, v in sizes.items() if k == table or k.startswith(table + "_"))
        print(f"  {table}: {size / 1e6:.0f} MB ({size / text:.2f} bytes per character of text)")


def _fts_size(db: Path) -> float:
    conn = sqlite3.connect(db)
    try:
        pages = conn.execute(
            "select sum(pgsize) from dbstat where name like 'reports_fts%'"
        ).fetchone()[0]
    except sqlite3.OperationalError:  # SQLite built without dbstat
        pages = 0
    conn.close()
    return (pages or 0) / 1e6


if __name__ == "__main__":
    main()
