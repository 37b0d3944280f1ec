"""Hosts that cannot be crawled must not slow the ones that can; SIGTERM must stop a crawl.

    python benchmarks/dead_hosts_bench.py [--bad 0,20,200] [--rounds 3] [--sigterm 5]

The healthy sites are the simulated web's default world (three sites, real report
sizes). Beside them the registry holds 0, 20 or 200 bad hosts (``simweb --dead``):
names that do not resolve, refused connections, blackholes (connections time out),
silent servers (accept, never answer), TLS failures, and slow sites (3 s a page). The
crawl runs with the project's production settings (robots.txt, 2 connections and a
1 s delay per host, AutoThrottle, retries, 60 s download timeout, 15 s probe timeout)
unless ``--fast`` (no delay, no AutoThrottle).

Prints, per number of bad hosts and round: when the healthy sites' last page was asked
for, counted from the crawl's first request (the simulated web's request log), the
whole crawl's wall time, and the ratio of the healthy time to the same round's time
alone (the baseline, 0 bad hosts, measured in the same run). Then SIGTERM at seeded
random moments of a crawl with the most bad hosts: seconds from the signal to the
process's exit, and the run's recorded status.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

FAST = {"DOWNLOAD_DELAY": "0.25", "AUTOTHROTTLE_ENABLED": "False"}


def crawl_cmd(sites_csv: Path, db: Path, settings: dict[str, str]) -> list[str]:
    cmd = [sys.executable, "-m", "nianbao", "crawl", "--sites", str(sites_csv), "--db", str(db)]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def one_crawl(web, db: Path, settings: dict[str, str]) -> dict:
    """Crawl once; the healthy sites' completion time from the server's request log."""
    before = len(web.requests())
    started = time.monotonic()
    result = subprocess.run(
        crawl_cmd(web.sites_csv, db, settings),
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(PROJECT)),
    )
    wall = time.monotonic() - started
    if result.returncode not in (0, 3):
        raise SystemExit(f"crawl failed ({result.returncode}):\n{result.stderr[-3000:]}")
    time.sleep(0.5)  # the server logs a request once it has answered
    requests = web.requests()[before:]
    healthy = {site["base_url"].split("//")[1].split(":")[0] for site in web.truth["sites"]}
    first = min(r["t"] for r in requests)
    last_healthy = max(r["t"] for r in requests if r["host"] in healthy)
    return {
        "healthy_seconds": last_healthy - first,
        "wall": wall,
        "healthy_requests": sum(1 for r in requests if r["host"] in healthy),
        "lines": len(result.stderr.splitlines()),
        "tracebacks": result.stderr.count("Traceback"),
    }


def sigterm_trials(web, tmp: Path, settings: dict[str, str], trials: int, seed: int) -> list:
    rng = random.Random(seed)
    out = []
    for n in range(trials):
        db = tmp / f"sigterm-{n}.db"
        proc = subprocess.Popen(
            crawl_cmd(web.sites_csv, db, settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONPATH=str(PROJECT)),
        )
        while not _captures(db):  # under way
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 20.0))
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        took = time.monotonic() - signalled
        conn = sqlite3.connect(db)
        status = conn.execute("select status from crawl_runs order by id desc").fetchone()[0]
        integrity = conn.execute("pragma integrity_check").fetchone()[0]
        conn.close()
        out.append((took, proc.returncode, status, integrity))
    return out


def _captures(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("select count(*) from captures").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bad", default="0,20,200", help="numbers of bad hosts to try")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sigterm", type=int, default=5, help="SIGTERM trials")
    parser.add_argument("--fast", action="store_true", help="0.25 s delay, no AutoThrottle")
    args = parser.parse_args()
    from simweb.process import SimWeb

    counts = [int(n) for n in args.bad.split(",")]
    settings = dict(FAST) if args.fast else {}
    results: dict[int, list[dict]] = {n: [] for n in counts}
    sigterm = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="nianbao-dead-") as tmp:
        tmp = Path(tmp)
        webs = {}
        try:
            for n in counts:
                webs[n] = SimWeb(tmp / f"web-{n}", dead=n, log_requests=True, timeout=120)
                webs[n].start()
            for r in range(args.rounds):
                for n in counts:  # interleaved: the machine's load changes
                    results[n].append(one_crawl(webs[n], tmp / f"a-{n}-{r}.db", settings))
            if args.sigterm:
                sigterm = sigterm_trials(webs[max(counts)], tmp, settings, args.sigterm, 12)
        finally:
            for web in webs.values():
                web.stop()
    print(
        f"healthy sites: the default world (3 sites); settings: "
        f"{'fast (0.25 s delay, no AutoThrottle)' if args.fast else 'production'}; "
        f"{args.rounds} interleaved rounds; load average at start {load[0]:.1f}"
    )
    print("bad hosts | healthy done (s) min/median/max | ratio to alone | crawl wall (s) | log")
    alone = [r["healthy_seconds"] for r in results[counts[0]]]
    for n in counts:
        done = [r["healthy_seconds"] for r in results[n]]
        ratios = [d / a for d, a in zip(done, alone, strict=True)]
        walls = [r["wall"] for r in results[n]]
        lines = max(r["lines"] for r in results[n])
        tracebacks = max(r["tracebacks"] for r in results[n])
        print(
            f"{n:9d} | {spread(done):>32} | {spread(ratios):>14} | {spread(walls):>14} | "
            f"{lines} lines, {tracebacks} tracebacks"
        )
    if sigterm:
        took = [t for t, *_ in sigterm]
        print(
            f"SIGTERM at random moments of a crawl with {max(counts)} bad hosts, {len(took)} "
            f"trials: exit after {spread(took)} s (min/median/max); exit codes "
            f"{sorted({c for _, c, _, _ in sigterm})}; runs {sorted({s for *_, s, _ in sigterm})};"
            f" integrity {sorted({i for *_, i in sigterm})}"
        )


if __name__ == "__main__":
    main()
