"""A crawl on several machines, measured: 1, 2 and 4 workers on Redis against the
single-process crawl of the same simulated world, in the same run.

    python benchmarks/distributed_bench.py [--sites 300] [--workers 1,2,4] [--rounds 3]

The simulated web in scale mode (small sites: front page, two listing pages, six
reports, a PDF), politeness delays off (no download delay, no AutoThrottle, robots.txt
not asked for), Scrapy concurrency 16 (8 per host) in every crawl process; each worker
crawls up to 16 site groups at once. Per configuration and round:

* wall time: single process, from start to exit; workers, from the enqueue to the exit
  of the last worker (the merge is measured on its own);
* pages/s: captures with a response in the final archive over that wall time;
* CPU per page: user + system seconds of every crawl process (workers summed, with
  redis-server's own CPU), per page; the merge's CPU per page on its own line;
* ratios to the single-process crawl of the same round (wall time, CPU per page).

Every round checks that the merged archive holds the same captures (URL, SHA-256,
role, site) as the single-process one. The simulated web's servers, Redis and every
worker share this machine's cores: more workers than cores measure contention, not
scaling, and the figures say so (``os.cpu_count()`` and the load average are printed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "ROBOTSTXT_OBEY": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "RETRY_TIMES": "1",
    "DOWNLOAD_TIMEOUT": "30",
    "LOG_LEVEL": "WARNING",
}


def scrapy_options() -> list[str]:
    return [arg for key, value in SETTINGS.items() for arg in ("-s", f"{key}={value}")]


def nianbao(*args: str) -> list[str]:
    return [sys.executable, "-m", "nianbao", *args]


def start(cmd: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def reap(proc: subprocess.Popen) -> float:
    """Wait for ``proc``; its CPU seconds (wait4's rusage). Fails loudly on an error."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, proc.args[2:6]))} … failed:\n{err[-3000:]}")
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_server(directory: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port)]
        + ["--bind", "127.0.0.1", "--dir", str(directory), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    from crawler.distributed.leases import QueueError, connect

    deadline = time.monotonic() + 20
    while True:
        try:
            connect(url, timeout=1)
            return proc, url
        except QueueError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def captures(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return sorted(
            conn.execute(
                "select url, sha256, role, site_id from captures where status is not null"
            ).fetchall()
        )
    finally:
        conn.close()


def single_round(sites_csv: Path, db: Path) -> dict:
    began = time.monotonic()
    cpu = reap(
        start(nianbao("crawl", "--sites", str(sites_csv), "--db", str(db), *scrapy_options()))
    )
    wall = time.monotonic() - began
    return {"wall": wall, "cpu": cpu, "pages": len(captures(db)), "captures": captures(db)}


def workers_round(
    sites_csv: Path, folder: Path, workers: int, url: str, redis_pid: int, merge: bool = True
) -> dict | float:
    """One crawl by ``workers`` workers, merged; without ``merge``, the workers' CPU only."""
    from archive.store.registry import read_registry
    from crawler.distributed.leases import SiteQueue, connect

    folder.mkdir(exist_ok=True)
    prefix = folder.name
    queue = SiteQueue(connect(url), prefix)
    redis_before = process_cpu(redis_pid)
    began = time.monotonic()
    queue.enqueue(read_registry(sites_csv), str(sites_csv), lease_ttl=180)
    procs = [
        start(
            nianbao("crawl", "--redis", url, "--redis-prefix", prefix, "--worker")
            + ["--db", str(folder / f"shard-{n}.db"), "--sites-at-once", "16", *scrapy_options()]
        )
        for n in range(workers)
    ]
    cpu = sum(reap(proc) for proc in procs)
    wall = time.monotonic() - began
    if not merge:
        return cpu
    cpu_redis = process_cpu(redis_pid) - redis_before
    merged = folder / "merged.db"
    began = time.monotonic()
    merge_cpu = reap(
        start(
            nianbao(
                "merge",
                *(str(folder / f"shard-{n}.db") for n in range(workers)),
                "--into",
                str(merged),
            )
        )
    )
    merge_wall = time.monotonic() - began
    got = captures(merged)
    return {
        "wall": wall,
        "cpu": cpu + cpu_redis,
        "cpu_redis": cpu_redis,
        "pages": len(got),
        "captures": got,
        "merge_wall": merge_wall,
        "merge_cpu": merge_cpu,
    }


def fixed_costs(
    sites_csv: Path, folder: Path, url: str, redis_pid: int, rounds: int
) -> dict[str, list[float]]:
    """CPU seconds of one crawl process over the world's first site alone, single and as a
    worker: the start-up and shut-down every extra worker adds, whatever its share."""
    lines = sites_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    one = folder / "one-site.csv"
    one.write_text("".join(lines[:2]), encoding="utf-8")
    got: dict[str, list[float]] = {"single": [], "worker": [], "pages": []}
    for r in range(rounds):
        db = folder / f"one-single-{r}.db"
        got["single"].append(
            reap(start(nianbao("crawl", "--sites", str(one), "--db", str(db), *scrapy_options())))
        )
        got["pages"].append(len(captures(db)))
        got["worker"].append(
            workers_round(one, folder / f"one-w-{r}", 1, url, redis_pid, merge=False)
        )
    return got


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    values = sorted(values)
    return (
        f"{fmt.format(values[0])} / {fmt.format(statistics.median(values))} / "
        f"{fmt.format(values[-1])}"
    )


def round_line(r: int, results: dict[str, list[dict]]) -> str:
    """One round's figures as soon as it ends: a run cut short still says what it saw."""
    single = results["single"][r]
    parts = [f"single {single['wall']:.1f} s {1000 * single['cpu'] / single['pages']:.2f} ms/page"]
    for name, rounds in results.items():
        if name != "single":
            got = rounds[r]
            parts.append(
                f"{name} {got['wall']:.1f} s {1000 * got['cpu'] / got['pages']:.2f} ms/page "
                f"(merge {got['merge_wall']:.1f} s)"
            )
    return f"round {r + 1} ({single['pages']} pages, load {os.getloadavg()[0]:.1f}): " + "; ".join(
        parts
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    from simweb.process import SimWeb

    load_before = os.getloadavg()
    results: dict[str, list[dict]] = {"single": [], **{f"{n} workers": [] for n in counts}}
    with tempfile.TemporaryDirectory(prefix="nianbao-dist-bench-") as tmp:
        tmp = Path(tmp)
        server, url = redis_server(tmp)
        try:
            with SimWeb(tmp / "web", scale=args.sites, default_world=False, timeout=300) as web:
                for r in range(args.rounds):  # interleaved: the box's load drifts
                    single = single_round(web.sites_csv, tmp / f"single-{r}.db")
                    results["single"].append(single)
                    for n in counts:
                        folder = tmp / f"r{r}-w{n}"
                        folder.mkdir()
                        got = workers_round(web.sites_csv, folder, n, url, server.pid)
                        if got["captures"] != single["captures"]:
                            raise SystemExit(f"round {r}, {n} workers: captures differ")
                        results[f"{n} workers"].append(got)
                    print(round_line(r, results), file=sys.stderr, flush=True)
                fixed = fixed_costs(web.sites_csv, tmp, url, server.pid, args.rounds)
        finally:
            server.terminate()
            server.wait()
    load_after = os.getloadavg()

    pages = results["single"][0]["pages"]
    print(
        f"simulated web: {args.sites} sites, {pages} pages; {os.cpu_count()} CPUs; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (the machine is shared: "
        f"wall times and pages/s move with the load, CPU per page much less); "
        f"{args.rounds} interleaved rounds; min / median / max"
    )
    single = results["single"]
    for name, rounds in results.items():
        walls = [r["wall"] for r in rounds]
        rates = [r["pages"] / r["wall"] for r in rounds]
        cpu_ms = [1000 * r["cpu"] / r["pages"] for r in rounds]
        line = (
            f"{name:>10}: wall {spread(walls, '{:.1f}')} s, {spread(rates, '{:.0f}')} pages/s, "
            f"CPU {spread(cpu_ms)} ms/page"
        )
        if name != "single":
            wall_ratio = [r["wall"] / s["wall"] for r, s in zip(rounds, single, strict=True)]
            cpu_ratio = [
                (r["cpu"] / r["pages"]) / (s["cpu"] / s["pages"])
                for r, s in zip(rounds, single, strict=True)
            ]
            redis_ms = [1000 * r["cpu_redis"] / r["pages"] for r in rounds]
            merge_ms = [1000 * r["merge_cpu"] / r["pages"] for r in rounds]
            line += (
                f" (of which redis-server {spread(redis_ms, '{:.3f}')}); vs single: wall "
                f"{spread(wall_ratio)}×, CPU/page {spread(cpu_ratio)}×; then merge "
                f"{spread([r['merge_wall'] for r in rounds], '{:.1f}')} s, CPU "
                f"{spread(merge_ms)} ms/page"
            )
        print(line)
    extra_ms = [1000 * cpu / pages for cpu in fixed["worker"]]
    print(
        f"one crawl process over one site ({fixed['pages'][0]} pages): single "
        f"{spread(fixed['single'])} s CPU, worker {spread(fixed['worker'])} s CPU — what each "
        f"extra worker adds, {spread(extra_ms)} ms/page over this world's {pages} pages"
    )
    print("every merged archive holds the same captures (URL, SHA-256, role, site) as the single")


if __name__ == "__main__":
    main()
