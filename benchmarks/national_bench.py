"""The national year on this machine: crawl and parse a national world of growing size.

    python benchmarks/national_bench.py [--sizes 300,1000,3000] [--fast] [--latency 0]
                                        [--cache DIR] [--sample 200] [--no-revisit]
                                        [--parse beside|after|both] [--keep DIR]

For each size, a national world (``simweb/national.py``: county portals with reports the
size and shape of real ones) is served; its PDF and DOCX files are made first (``warm``,
two processes, kept in ``--cache`` across runs). Then, as an operator would:

1. ``nianbao crawl`` with the production settings (robots.txt, 2 connections and a 1 s
   delay per host with AutoThrottle, retries, CONCURRENT_REQUESTS 256) unless ``--fast``
   (no delay, no AutoThrottle);
2. the parse stage (one worker per CPU, one writer) and its refresh of Datasette's
   derived tables and search index: ``beside`` the crawl, as ``nianbao nightly`` runs it
   (started with the crawl, reading its captures as they are committed, workers niced),
   or ``after`` it, as ``nianbao process`` after ``nianbao crawl``; ``both`` runs the
   world twice, so that the crawl's pages/s beside the parse can be compared with the
   crawl's alone;
3. the nightly revisit: the world's next edition (about 1 % of sites publish a report,
   1 % correct one) crawled and parsed again into the same archive.

Prints per stage: wall seconds, pages/s or reports/s, CPU seconds (and CPU/wall: near
the number of busy cores when the stage is CPU-bound), peak resident memory, archive
size; and what bounds each stage. ``--sample`` reports' cells are compared with the
numbers the generator printed (``report_truth``). ``--latency`` makes every page take
that long to answer (the server sleeps), as a distant server would.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_rusage(cmd: list[str]) -> dict:
    """Run ``cmd``: wall seconds, CPU seconds and peak RSS (MiB) from wait4, its output."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "wall": wall,
            "code": proc.returncode,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
            "cpu": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024,
        }


def crawl(sites_csv: Path, db: Path, settings: dict[str, str]) -> dict:
    cmd = [sys.executable, "-m", "nianbao", "crawl", "--sites", str(sites_csv), "--db", str(db)]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    result = with_rusage(cmd)
    if result["code"] not in (0, 3):
        raise SystemExit(f"crawl failed ({result['code']}):\n{result['stderr'][-3000:]}")
    conn = sqlite3.connect(db)
    run = conn.execute("select id, stats from crawl_runs order by id desc limit 1").fetchone()
    stats = json.loads(run[1])
    statuses = dict(
        conn.execute(
            "select status, count(*) from crawl_site_counts where run_id = ? group by status",
            [run[0]],
        ).fetchall()
    )
    conn.close()
    result.update(
        pages=stats.get("response_received_count", 0),
        requests=stats.get("downloader/request_count", 0),
        bytes=stats.get("downloader/response_bytes", 0),
        not_modified=stats.get("nianbao/revalidated_unchanged", 0),
        crawl_cpu=stats.get("nianbao/cpu_seconds"),
        statuses=statuses,
    )
    return result


def process(db: Path) -> dict:
    result = with_rusage([sys.executable, __file__, "--child", str(db)])
    return _parsed(result)


def _parsed(result: dict) -> dict:
    if result["code"] != 0:
        raise SystemExit(f"process failed:\n{result['stderr'][-3000:]}")
    result.update(json.loads(result["stdout"].splitlines()[-1]))
    return result


def crawl_and_parse_beside(sites_csv: Path, db: Path, settings: dict[str, str]) -> tuple:
    """The parse stage started first, following the crawl (as the nightly job runs them):
    the crawl's figures, the parse's, and the wall time of the two together."""
    box: dict = {}
    started = time.monotonic()
    follower = threading.Thread(
        target=lambda: box.update(
            with_rusage([sys.executable, __file__, "--child", str(db), "--follow"])
        )
    )
    follower.start()
    crawled = crawl(sites_csv, db, settings)
    follower.join()
    return crawled, _parsed(box), time.monotonic() - started


def child(db: str, follow: bool = False) -> None:
    import resource

    from archive.store import Archive
    from nianbao.process import crawl_storing, process_captures

    if follow:  # the crawl creates the archive
        deadline = time.monotonic() + 120
        while not Path(db).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    with Archive(db) as archive:
        summary = process_captures(archive, follow=crawl_storing(archive, 120) if follow else None)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "captures": summary.captures,
                "reports": summary.reports,
                "by_status": summary.by_status,
                "workers": summary.workers,
                "parse": summary.parse_seconds,
                "publish": summary.publish_seconds,
                "writer_cpu": usage.ru_utime + usage.ru_stime,
                "worker_cpu": summary.worker_cpu_seconds,
                "writer_rss_mb": usage.ru_maxrss / 1024,
                "worker_rss_mb": summary.worker_peak_rss_mb,
            }
        )
    )


def archive_size(db: Path) -> int:
    conn = sqlite3.connect(db)
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    return db.stat().st_size


def accuracy(db: Path, sample: int, seed: int = 0) -> tuple[int, int, int]:
    """Of ``sample`` random reports: how many have every printed cell as the generator
    printed it, how many are missing, how many read."""
    from simweb.national import plan_site, report_truth

    conn = sqlite3.connect(db)
    rows = conn.execute(
        "select r.id, r.url, c.url from reports r join captures c on c.id = r.capture_id"
    ).fetchall()
    rng = random.Random(seed)
    exact = missing = 0
    by_url = {}
    for rid, url, _ in rows:
        by_url[url] = rid
    plans = {}
    chosen = rng.sample(rows, min(sample, len(rows)))
    for rid, url, _ in chosen:
        host = url.split("//")[1].split(":")[0]
        parts = host.split(".")
        index = int(parts[2]) * 250 + int(parts[3]) - 1
        plan = plans.setdefault(index, plan_site(index, seed))
        path = "/" + url.split("/", 3)[3]
        report = next((r for r in plan.reports if path in (r.path, r.attachment)), None)
        if report is None:
            missing += 1
            continue
        truth = report_truth(report, plan, seed)
        stored = {
            (t, r, c): v
            for t, r, c, v in conn.execute(
                "select table_key, row_key, col_key, value from cells where report_id = ?", [rid]
            )
        }
        want = {
            (t, r, c): v
            for t in ("t2", "t3", "t4")
            for r, cols in truth.tables[t].items()
            for c, v in cols.items()
        }
        if all(stored.get(k) == v for k, v in want.items()):
            exact += 1
    conn.close()
    return exact, missing, len(chosen)


def one_size(sites: int, args, cache: Path, tmp: Path, beside: bool = True) -> dict:
    from simweb.national import warm
    from simweb.process import SimWeb

    out: dict = {"sites": sites, "beside": beside}
    started = time.monotonic()
    out["warmed"] = warm(sites, 0, cache, jobs=2)
    out["warm_seconds"] = time.monotonic() - started
    settings = dict(FAST) if args.fast else {}
    db = tmp / f"national-{sites}.db"
    port = free_port()
    with SimWeb(
        tmp / f"web-{sites}",
        national=sites,
        default_world=False,
        cache=cache,
        latency=args.latency,
        port=port,
        timeout=1800,
    ) as web:
        out["truth_reports"] = len(web.truth["national"])
        if beside:
            out["crawl"], out["process"], out["year"] = crawl_and_parse_beside(
                web.sites_csv, db, settings
            )
        else:
            out["crawl"] = crawl(web.sites_csv, db, settings)
    if not beside:
        if args.keep:  # the crawled archive before its parse, to profile the parse stage
            args.keep.mkdir(parents=True, exist_ok=True)
            archive_size(db)  # checkpointed: one file holds it all
            shutil.copy(db, args.keep / db.name)
        out["process"] = process(db)
        out["year"] = out["crawl"]["wall"] + out["process"]["wall"]
    out["size_after_first"] = archive_size(db)
    out["accuracy"] = accuracy(db, args.sample)
    if not args.no_revisit:
        with SimWeb(
            tmp / f"web2-{sites}",
            national=sites,
            default_world=False,
            cache=cache,
            latency=args.latency,
            port=port,
            edition=2,
            timeout=1800,
        ) as web:
            out["revisit_crawl"] = crawl(web.sites_csv, db, settings)
        out["revisit_process"] = process(db)
        out["size_after_revisit"] = archive_size(db)
    db.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return out


def report(out: dict, args) -> None:
    c, p = out["crawl"], out["process"]
    n = out["sites"]
    print(
        f"== {n} sites, {out['truth_reports']} reports in the world "
        f"({out['warmed']} files made in {out['warm_seconds']:.0f} s); parse "
        f"{'beside the crawl' if out['beside'] else 'after the crawl'}"
    )
    print(f"the year (crawl and parse): {out['year']:.0f} s = {out['year'] / 60:.1f} min")
    print(
        f"crawl: {c['wall']:.0f} s, {c['pages']} pages = {c['pages'] / c['wall']:.1f} pages/s, "
        f"{c['bytes'] / 2**20:.0f} MiB; CPU {c['cpu']:.0f} s (crawl proper "
        f"{c['crawl_cpu']:.0f} s; CPU/wall {c['cpu'] / c['wall']:.2f}); peak RSS "
        f"{c['peak_rss_mb']:.0f} MiB; sites {c['statuses']}"
    )
    print(
        f"parse: {p['parse']:.0f} s for {p['captures']} captures = "
        f"{p['captures'] / p['parse']:.1f} captures/s, {p['reports'] / p['parse']:.1f} "
        f"reports/s ({p['reports']} reports, {p['by_status']}); {p['workers']} workers, CPU "
        f"{p['worker_cpu']:.0f} s in workers + {p['writer_cpu']:.0f} s writer (CPU/wall "
        f"{(p['worker_cpu'] + p['writer_cpu']) / (p['parse'] + p['publish']):.2f}); peak RSS "
        f"writer {p['writer_rss_mb']:.0f} MiB, one worker {p['worker_rss_mb']:.0f} MiB; "
        f"publish refresh {p['publish']:.0f} s"
    )
    exact, missing, sampled = out["accuracy"]
    print(
        f"archive: {out['size_after_first'] / 2**20:.0f} MiB; {exact} of {sampled} sampled "
        f"reports hold every cell as printed ({missing} not matched to the world)"
    )
    if "revisit_crawl" in out:
        rc, rp = out["revisit_crawl"], out["revisit_process"]
        print(
            f"revisit (edition 2): crawl {rc['wall']:.0f} s, {rc['requests']} requests "
            f"({rc['requests'] / max(c['requests'], 1):.2f} of the first), "
            f"{rc['bytes'] / 2**20:.1f} MiB ({rc['bytes'] / max(c['bytes'], 1):.3f}), "
            f"{rc['not_modified']} answered 304; CPU {rc['cpu']:.0f} s; parse "
            f"{rp['parse']:.0f} s for {rp['captures']} captures, {rp['reports']} reports; "
            f"publish {rp['publish']:.0f} s; archive {out['size_after_revisit'] / 2**20:.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,1000,3000")
    parser.add_argument("--fast", action="store_true", help="no delay, no AutoThrottle")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--cache", type=Path, help="PDF/DOCX cache (default: a temp dir)")
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--no-revisit", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        help="with --parse after: copy each crawled archive here before its parse",
    )
    parser.add_argument(
        "--parse",
        choices=("beside", "after", "both"),
        default="beside",
        help="the parse stage beside the crawl (as nightly runs it), after it, or both",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--follow", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.follow)
        return
    print(
        f"settings: {'fast (no delay, no AutoThrottle)' if args.fast else 'production'}; "
        f"latency {args.latency} s; {os.cpu_count()} CPUs; load average "
        f"{os.getloadavg()[0]:.1f} at start (the machine is shared)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="nianbao-national-") as tmp:
        tmp = Path(tmp)
        cache = args.cache or tmp / "cache"
        modes = {"beside": (True,), "after": (False,), "both": (False, True)}[args.parse]
        for sites in (int(s) for s in args.sizes.split(",")):
            for beside in modes:
                out = one_size(sites, args, cache, tmp, beside)
                report(out, args)
                print(f"   load average now {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
