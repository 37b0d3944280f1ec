"""Datasette over a large generated archive: build time, size, and HTTP medians.

Generates an archive of N reports (default 100,000, with 17 cells each: ~1.7 M cells)
straight into the SQLite schema — no documents are rendered or parsed — then times
:func:`archive.publish.prepare` (regions, wide tables, Chinese search index), serves it
with ``nianbao serve`` and measures the median over Datasette's HTTP API of a table
page, facets, a 2- and a 4-character search and stored queries. Every time is also
printed as a ratio to Datasette's cheapest request (``/-/versions.json``), measured in
the same run, so figures from different machines compare.

    python benchmarks/datasette_bench.py [--reports 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

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


def text_of(rng: random.Random, chars: int) -> str:
    parts, size = [], 0
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
            for i in range(sites)
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
    conn.execute("COMMIT")
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_get(url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
    return (time.perf_counter() - start) * 1000, body


def median_ms(url: str, runs: int) -> tuple[float, bytes]:
    timed_get(url)  # warm
    results = [timed_get(url) for _ in range(runs)]
    return statistics.median(r[0] for r in results), results[-1][1]


def serve(db: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "archive", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
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


def compare_tokenizers(db: Path, sample: int = 10_000) -> None:
    """The measurement behind archive/publish/search.py: three ways to index the same texts."""
    from archive.publish.search import fts_query, shadow

    source = sqlite3.connect(db)
    texts = source.execute("select id, text from reports order by id limit ?", [sample]).fetchall()
    source.close()
    ways = {
        "unicode61 on the text": ("unicode61", lambda t: t, lambda q: f'"{q}"'),
        "trigram on the text": ("trigram", lambda t: t, lambda q: f'"{q}"'),
        "unicode61 on bigram shadow (chosen)": ("unicode61", shadow, fts_query),
    }
    print(f"\nsearch index on {len(texts):,} report texts (in memory):")
    print(
        f"| {'index':<36} | {'build s':>7} | {'MB':>6} | {'复议 found/true':>15} |"
        f" {'行政复议 found/true':>17} | {'棚户 found/true':>15} |"
    )
    print(f"|{'-' * 38}|{'-' * 9}|{'-' * 8}|{'-' * 17}|{'-' * 19}|{'-' * 17}|")
    for label, (tokenizer, prepare_text, query) in ways.items():
        conn = sqlite3.connect(":memory:")
        conn.execute(f"create virtual table f using fts5(text, content='', tokenize='{tokenizer}')")
        start = time.perf_counter()
        conn.executemany(
            "insert into f (rowid, text) values (?, ?)", [(i, prepare_text(t)) for i, t in texts]
        )
        build = time.perf_counter() - start
        size = conn.execute("select sum(length(block)) from f_data").fetchone()[0] / 1e6
        cells = []
        for word in ("复议", "行政复议", "棚户"):
            true = sum(1 for _, t in texts if word in t)
            found = conn.execute(
                "select count(*) from f where f match ?", [query(word)]
            ).fetchone()[0]
            cells.append(f"{found:,}/{true:,}")
        conn.close()
        print(
            f"| {label:<36} | {build:7.1f} | {size:6.1f} | {cells[0]:>15} | {cells[1]:>17} |"
            f" {cells[2]:>15} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="directory to keep the archive in")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="nianbao-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)

    start = time.perf_counter()
    generate(db, args.reports)
    checkpoint(db)
    generated_s = time.perf_counter() - start
    size_base = mb(db)
    conn = sqlite3.connect(db, isolation_level=None)
    cells = conn.execute("select count(*) from cells").fetchone()[0]
    start = time.perf_counter()
    prepare(conn)
    prepare_s = time.perf_counter() - start
    like_ms = []
    for _ in range(3):
        t = time.perf_counter()
        conn.execute("select count(*) from reports where instr(text, '复议')").fetchone()
        like_ms.append((time.perf_counter() - t) * 1000)
    conn.close()
    checkpoint(db)
    size_full = mb(db)
    fts_mb = _fts_size(db)

    print(f"archive: {args.reports:,} reports, {cells:,} cells (generated in {generated_s:.1f} s)")
    print(f"build (prepare: regions, wide tables, search index): {prepare_s:.1f} s")
    print(
        f"database size: {size_base:.0f} MB stored tables, {size_full:.0f} MB with the derived "
        f"tables and index (search index {fts_mb:.0f} MB)"
    )
    print(
        f"a full scan for 复议 (instr on reports.text, no index): {statistics.median(like_ms):.0f} ms"
    )

    compare_tokenizers(db)

    port = free_port()
    server = serve(db, port)
    try:
        base = f"http://127.0.0.1:{port}"
        name = db.stem
        q = urllib.parse.quote
        cases = [
            ("baseline /-/versions.json", "/-/versions.json"),
            ("table page reports (HTML)", f"/{name}/reports"),
            ("table page reports (JSON)", f"/{name}/reports.json"),
            ("table page cells (JSON, 1.7 M rows)", f"/{name}/cells.json"),
            ("wide table report_t3 (HTML)", f"/{name}/report_t3"),
            (
                "facet province+year on report_t3",
                f"/{name}/report_t3.json?_facet=province&_facet=year",
            ),
            ("facet agency on reports", f"/{name}/reports.json?_facet=agency"),
            (
                "facet district+agency on report_t4",
                f"/{name}/report_t4.json?_facet=district&_facet=agency",
            ),
            ("search 2 chars, in every report: 复议", f"/{name}/reports.json?_search={q('复议')}"),
            (
                "search 4 chars, in every report: 行政复议",
                f"/{name}/reports.json?_search={q('行政复议')}",
            ),
            ("search 2 chars, rare: 棚户", f"/{name}/reports.json?_search={q('棚户')}"),
            ("search 5 chars, rare: 棚户区改造", f"/{name}/reports.json?_search={q('棚户区改造')}"),
            ("search 2 chars, rare, HTML page: 棚户", f"/{name}/reports?_search={q('棚户')}"),
            ("ranked search query, rare: 棚户", f"/{name}/search_reports.json?q={q('棚户')}"),
            (
                "ranked search query, every report: 拆迁",
                f"/{name}/search_reports.json?q={q('拆迁')}",
            ),
            ("stored query region_requests", f"/{name}/region_requests.json?region_code=410000"),
            ("stored query top_withheld", f"/{name}/top_withheld.json?year=2023"),
            ("stored query carryover_mismatch", f"/{name}/carryover_mismatch.json?year=2023"),
        ]
        results = []
        for label, path in cases:
            ms, body = median_ms(base + path, args.runs)
            data = json.loads(body) if path.endswith(("json", "=0")) or ".json" in path else {}
            rows = data.get("filtered_table_rows_count", len(data.get("rows", [])) or "")
            results.append((label, ms, rows))
    finally:
        server.terminate()
        server.wait(timeout=10)
    baseline = results[0][1]
    print(f"\nmedian of {args.runs} requests (after one warm-up), Datasette over HTTP:")
    print(f"| {'request':<44} | {'ms':>8} | {'× baseline':>10} | {'rows':>8} |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 12}|{'-' * 10}|")
    for label, ms, rows in results:
        print(f"| {label:<44} | {ms:8.1f} | {ms / baseline:10.1f} | {rows!s:>8} |")
    slow = [label for label, ms, _ in results if ms >= 200]
    print(f"\nover 200 ms: {', '.join(slow) if slow else 'none'}")
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        os.rmdir(workdir)


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
