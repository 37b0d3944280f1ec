"""The parse stage on 1, 2 … workers over the same captures: does it use every core?

    python benchmarks/process_bench.py [--sites 30] [--workers 1,2] [--repeat 3]

The captures are those a crawl of the national world (``simweb/national.py``) stores:
each report's article page and its attached PDF or DOCX, written straight into an
archive (no crawl), ``--sites`` county portals' worth (~11 reports each: articles of
100–300 KB with the tables, PDFs of 6–20 pages, a few DOCX). Each round copies that
archive and runs ``nianbao process --workers N`` on it, for every N in turn
(interleaved, since the machine's load changes). Prints per N: wall seconds,
captures/s and reports/s, CPU seconds of the process and its workers, min / median /
max over the rounds, and the speed-up of each N over one worker (same round's ratio), beside
the speed-up the machine itself gives that many processes on pure-Python work, measured
before each round (a shared virtual machine gives less than its CPU count), and
beside the speed-up of *reading alone*: the same documents read and checked by 1 … N
forked processes with nothing stored and no isolation — what the machine gives this very
work, so what the stage's design costs is the ratio of the two. The writer's CPU while
the documents are read is shown apart from its CPU refreshing the derived tables. The
wall time includes starting the workers (the fork server loads the parser's libraries
once) and refreshing Datasette's derived tables at the end, as a real run does.
The archives written with different N are compared: they must hold the same reports,
cells and findings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))


def build_archive(db: Path, sites: int, seed: int = 0) -> dict:
    """What a crawl of ``sites`` national portals stores, without crawling."""
    from archive.store import Archive
    from simweb.national import article_page, document_bytes, plan_site

    counts = {"captures": 0, "pdf": 0, "docx": 0, "html": 0, "bytes": 0}
    with Archive(db) as archive:
        plans = [plan_site(i, seed) for i in range(sites)]
        archive.load_sites(
            [
                {
                    "site_id": p.site_id,
                    "agency": p.name,
                    "region_code": p.region_code,
                    "region": p.region,
                    "start_url": f"http://{p.ip}/",
                }
                for p in plans
            ]
        )
        for plan in plans:
            base = f"http://{plan.ip}"
            for report in plan.reports:
                page = article_page(plan, report, seed)
                _add(archive, plan, base + report.path, page, "text/html; charset=utf-8", None)
                counts["html"] += 1
                counts["bytes"] += len(page)
                if report.attachment:
                    data = document_bytes(plan, report, seed, None)
                    kind = "docx" if report.form == "docx" else "pdf"
                    ctype = "application/pdf" if kind == "pdf" else "application/msword"
                    _add(archive, plan, base + report.attachment, data, ctype, base + report.path)
                    counts[kind] += 1
                    counts["bytes"] += len(data)
        counts["captures"] = archive.counts()["captures"]
    return counts


def _add(archive, plan, url: str, body: bytes, ctype: str, referer: str | None) -> None:
    archive.add_capture(
        {
            "site_id": plan.site_id,
            "url": url,
            "final_url": url,
            "status": 200,
            "method": "GET",
            "content_type": ctype,
            "body": body,
            "role": "attachment" if referer else "report",
            "referer": referer,
        }
    )


def _in_fresh_process(mode: str, db: Path, workers: int, what: str) -> dict:
    """This script run as ``--child`` or ``--alone`` on ``db``: the JSON it prints last."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    result = subprocess.run(
        [sys.executable, __file__, mode, str(db), "--workers", str(workers)],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.splitlines()[-1])


def run_process(db: Path, workers: int) -> dict:
    """``process_captures`` on ``db`` with ``workers`` workers, in a fresh process."""
    out = _in_fresh_process("--child", db, workers, f"workers {workers}")
    conn = sqlite3.connect(db)
    out["written"] = {
        "reports": sorted(
            conn.execute("select sha256, parse_status, cell_count, finding_count from reports")
        ),
        "cells": conn.execute("select count(*), total(value) from cells").fetchone(),
        "findings": sorted(
            conn.execute("select rule, status, count(*) from findings group by 1, 2")
        ),
    }
    conn.close()
    return out


def child(db: str, workers: int) -> None:
    """Run the parse stage and print its wall time and CPU (this process and its workers)."""
    import resource

    from archive.store import Archive
    from nianbao.process import process_captures

    # the writer's own CPU before the first capture (progress is called once before it)
    # and after the last: what storing the outcomes cost, without start-up or publish
    cpu: dict[str, float] = {}

    def progress(summary, total) -> None:
        cpu.setdefault("first", time.process_time())
        cpu["last"] = time.process_time()

    started = time.monotonic()
    with Archive(db) as archive:
        summary = process_captures(archive, workers=workers, progress=progress)
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "wall": wall,
                "parse": summary.parse_seconds,
                "waited": summary.waited_seconds,
                "publish": summary.publish_seconds,
                "cpu": usage.ru_utime + usage.ru_stime + summary.worker_cpu_seconds,
                "writer_cpu": usage.ru_utime + usage.ru_stime,
                "writer_parse_cpu": cpu["last"] - cpu["first"],
                "captures": summary.captures,
                "reports": summary.reports,
            }
        )
    )


_BODIES: list[tuple[bytes, dict]] = []


def _read_one(i: int) -> str:
    from nianbao.process import read_and_check

    data, kwargs = _BODIES[i]
    try:
        return read_and_check(data, **kwargs).parsed.status
    except Exception as exc:  # noqa: BLE001 - the stage records these; here they only count
        return type(exc).__name__


def reading_alone(db: str, workers: int) -> None:
    """The stage's work with nothing around it: the same documents read and checked by
    ``workers`` forked processes handed one document at a time, nothing written, no time
    or memory bound. Its speed-up from 1 to N processes is what this machine gives this
    very work (caches, memory, a shared host): the ceiling the stage's own speed-up is
    compared with. Prints the wall seconds."""
    import multiprocessing

    from archive.store import Archive
    from nianbao.process import _parse_kwargs

    with Archive(db) as archive:
        for capture in archive.captures_to_parse(True):
            _BODIES.append((capture["body"], _parse_kwargs(capture)))
    order = sorted(range(len(_BODIES)), key=lambda i: -len(_BODIES[i][0]))  # big ones first
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        pool.map(_burn, [1] * workers)  # started before the clock
        started = time.monotonic()
        statuses = list(pool.imap_unordered(_read_one, order, chunksize=1))
        wall = time.monotonic() - started
    print(json.dumps({"wall": wall, "documents": len(statuses)}))


def run_reading_alone(db: Path, workers: int) -> float:
    """:func:`reading_alone` in a fresh process: its wall seconds."""
    return _in_fresh_process("--alone", db, workers, f"reading alone, {workers} processes")["wall"]


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def machine_ceiling(workers: int, seconds: float = 2.0) -> float:
    """What this machine gives ``workers`` processes right now: the same pure-Python work
    done by one process and then split over ``workers`` processes, as a speed-up. A
    shared virtual machine gives less than its CPU count (and it varies by the minute),
    so each round's parse speed-up is shown beside this ceiling of the same round."""
    import multiprocessing

    unit = 1
    while True:  # size one share to ~seconds / workers on one process
        started = time.perf_counter()
        _burn(unit)
        if time.perf_counter() - started > 0.2:
            break
        unit *= 2
    unit = int(unit * seconds / workers / (time.perf_counter() - started))
    started = time.perf_counter()
    for _ in range(workers):
        _burn(unit)
    alone = time.perf_counter() - started
    context = multiprocessing.get_context("forkserver")
    with context.Pool(workers) as pool:
        pool.map(_burn, [1] * workers)  # started before the clock
        started = time.perf_counter()
        pool.map(_burn, [unit] * workers, chunksize=1)
        shared = time.perf_counter() - started
    return alone / shared


def spread(values: list[float], fmt: str = ".2f") -> str:
    return f"{min(values):{fmt}} / {statistics.median(values):{fmt}} / {max(values):{fmt}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=30)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--alone", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, int(args.workers))
        return
    if args.alone:
        reading_alone(args.alone, int(args.workers))
        return
    counts = [int(n) for n in args.workers.split(",")]
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="nianbao-process-") as tmp:
        tmp = Path(tmp)
        source = tmp / "source.db"
        started = time.monotonic()
        world = build_archive(source, args.sites)
        built = time.monotonic() - started
        results: dict[int, list[dict]] = {n: [] for n in counts}
        alone: dict[int, list[float]] = {n: [] for n in counts}
        ceilings: list[float] = []
        for r in range(args.repeat):
            ceilings.append(machine_ceiling(max(counts)))
            for n in counts:
                alone[n].append(run_reading_alone(source, n))
                db = tmp / f"w{n}-{r}.db"
                shutil.copy(source, db)
                results[n].append(run_process(db, n))
                db.unlink()
                loads.append(os.getloadavg()[0])
    print(
        f"{args.sites} national portals: {world['captures']} captures ({world['html']} article "
        f"pages, {world['pdf']} PDFs, {world['docx']} DOCX; {world['bytes'] / 2**20:.0f} MiB), "
        f"made in {built:.0f} s; {args.repeat} interleaved rounds; "
        f"{os.cpu_count()} CPUs; load average {min(loads):.1f}–{max(loads):.1f} during the runs "
        "(the machine is shared)"
    )
    base = results[counts[0]]
    print(
        "parse = reading and storing every capture (workers + the one writer); publish = "
        "refreshing Datasette's derived tables and search index afterwards (one process)"
    )
    print(
        f"machine ceiling: {max(counts)} processes on the same pure-Python work ran "
        f"{spread(ceilings)}× one process (measured before each round)"
    )
    print(
        "reading alone = the same documents read and checked by forked processes, one "
        "document at a time, nothing stored, no isolation (no time or memory bound per "
        "document): what the machine gives this very work"
    )
    for n in counts:
        ups = [b / x for b, x in zip(alone[counts[0]], alone[n], strict=True)]
        print(
            f"reading alone, {n} process(es): {spread(alone[n], '.1f')} s; speed-up over "
            f"{counts[0]} {spread(ups)}"
        )
    for n in counts:
        runs = results[n]
        speedups = [b["parse"] / x["parse"] for b, x in zip(base, runs, strict=True)]
        whole = [b["wall"] / x["wall"] for b, x in zip(base, runs, strict=True)]
        print(
            f"workers {n}: parse {spread([x['parse'] for x in runs], '.1f')} s = "
            f"{spread([x['captures'] / x['parse'] for x in runs], '.1f')} captures/s, "
            f"{spread([x['reports'] / x['parse'] for x in runs], '.1f')} reports/s; "
            f"writer waiting for workers {spread([x['waited'] for x in runs], '.1f')} s; "
            f"publish {spread([x['publish'] for x in runs], '.1f')} s; CPU "
            f"{spread([x['cpu'] for x in runs], '.0f')} s (writer "
            f"{spread([x['writer_cpu'] for x in runs], '.0f')} s, of which while parsing "
            f"{spread([x['writer_parse_cpu'] for x in runs], '.1f')} s); parse speed-up over "
            f"{counts[0]} worker(s) {spread(speedups)}; whole stage {spread(whole)}"
        )
        if n == max(counts) and n > counts[0]:
            share = [x / c for x, c in zip(speedups, ceilings, strict=True)]
            print(f"  parse speed-up / the round's machine ceiling: {spread(share)}")
            bare = [a / x for a, x in zip(alone[counts[0]], alone[n], strict=True)]
            print(
                "  parse speed-up / reading alone's speed-up in the same round: "
                f"{spread([u / b for u, b in zip(speedups, bare, strict=True)])}"
            )
    same = all(x["written"] == base[0]["written"] for n in counts for x in results[n])
    print(f"every run wrote the same reports, cells and findings: {same}")


if __name__ == "__main__":
    main()
