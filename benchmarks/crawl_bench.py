"""Crawl throughput and incremental cost against the simulated web in scale mode.

    python benchmarks/crawl_bench.py [--sites 1000] [--concurrency 16]

Politeness delays off (no download delay, no AutoThrottle, robots.txt not asked for),
the same Scrapy concurrency for both crawlers. Prints:

* pages/s of ``nianbao crawl`` (archive, middlewares, spider) and of a bare Scrapy
  spider fetching the same URLs in the same run, and their ratio;
* the peak resident memory and CPU seconds of each crawl process;
* for a second ``nianbao crawl`` of the unchanged web: requests and response bytes as
  a fraction of the first crawl's — for the scale world (small pages: listings, always
  re-read, weigh as much as reports) and for the default world (real report sizes).

Each crawl runs in its own process; figures come from Scrapy's own stats
(``elapsed_time_seconds``, ``response_received_count``, ``downloader/…``).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))


def fast_settings(concurrency: int) -> dict[str, str]:
    return {
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
        "ROBOTSTXT_OBEY": "False",
        "CONCURRENT_REQUESTS": str(concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
        "RETRY_TIMES": "1",
        "LOG_LEVEL": "WARNING",
    }


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; its CPU seconds (user + system) and peak RSS in MiB (wait4's rusage)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} … failed ({proc.returncode}):\n{err[-3000:]}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def nianbao_crawl(sites_csv: Path, db: Path, concurrency: int) -> tuple[dict, float]:
    """One ``nianbao crawl``: its Scrapy stats (with its CPU seconds) and peak RSS."""
    cmd = [sys.executable, "-m", "archive", "crawl", "--sites", str(sites_csv), "--db", str(db)]
    for key, value in fast_settings(concurrency).items():
        cmd += ["-s", f"{key}={value}"]
    cpu, peak = run_measured(cmd)
    conn = sqlite3.connect(db)
    stats = json.loads(
        conn.execute("select stats from crawl_runs order by id desc limit 1").fetchone()[0]
    )
    conn.close()
    return {**stats, "cpu_seconds": cpu}, peak


def bare_crawl(urls_file: Path, stats_file: Path, concurrency: int) -> tuple[dict, float]:
    cmd = [
        sys.executable,
        __file__,
        "--bare",
        str(urls_file),
        "--stats",
        str(stats_file),
        "--concurrency",
        str(concurrency),
    ]
    cpu, peak = run_measured(cmd)
    return {**json.loads(stats_file.read_text()), "cpu_seconds": cpu}, peak


def bare_spider_main(urls_file: str, stats_file: str, concurrency: int) -> None:
    """A Scrapy spider that fetches every URL of the list and keeps nothing."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    urls = urls_file and Path(urls_file).read_text().split()

    class Bare(scrapy.Spider):
        name = "bare"
        custom_settings = {
            "HTTPERROR_ALLOW_ALL": True,
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
        }

        async def start(self):
            for url in urls:
                yield scrapy.Request(url, dont_filter=True)

        def parse(self, response):
            return None

    settings = {k: v for k, v in fast_settings(concurrency).items()}
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(Bare)
    process.crawl(crawler)
    process.start()
    Path(stats_file).write_text(json.dumps(crawler.stats.get_stats(), default=str))


def rate(stats: dict) -> float:
    return stats.get("response_received_count", 0) / max(stats["elapsed_time_seconds"], 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="interleaved rounds of both crawlers (the box is noisy)",
    )
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_spider_main(args.bare, args.stats, args.concurrency)
        return

    from simweb.process import SimWeb

    rounds = []  # (nianbao stats, nianbao peak, bare stats, bare peak), interleaved
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
        tmp = Path(tmp)
        with SimWeb(tmp / "web", scale=args.sites, default_world=False, timeout=300) as web:
            for n in range(args.repeat):
                db = tmp / f"archive-{n}.db"
                first, first_peak = nianbao_crawl(web.sites_csv, db, args.concurrency)
                conn = sqlite3.connect(db)
                urls = [
                    r[0]
                    for r in conn.execute(
                        "select final_url from captures where final_url is not null order by id"
                    )
                ]
                conn.close()
                (tmp / "urls.txt").write_text("\n".join(urls))
                bare, bare_peak = bare_crawl(tmp / "urls.txt", tmp / "bare.json", args.concurrency)
                rounds.append((first, first_peak, bare, bare_peak))
            second, second_peak = nianbao_crawl(web.sites_csv, db, args.concurrency)
        db_size = db.stat().st_size
        # The default world's pages have real report sizes (tables, PDFs of 10–400 KB).
        with SimWeb(tmp / "default-web") as web:
            real_db = tmp / "default.db"
            real_first, _ = nianbao_crawl(web.sites_csv, real_db, args.concurrency)
            real_second, _ = nianbao_crawl(web.sites_csv, real_db, args.concurrency)

    def count(stats: dict, key: str) -> int:
        return int(stats.get(key, 0))

    print(
        f"simulated web: {args.sites} sites, {len(urls)} URLs; concurrency "
        f"{args.concurrency} (8 per host); politeness delays off; same URLs for both; "
        f"{args.repeat} interleaved rounds"
    )
    for n, (mine, mine_peak, bare, bare_peak) in enumerate(rounds, 1):
        print(
            f"round {n}: nianbao crawl {count(mine, 'response_received_count')} responses in "
            f"{mine['elapsed_time_seconds']:.1f} s = {rate(mine):.0f} pages/s "
            f"(CPU {mine['cpu_seconds']:.1f} s, peak RSS {mine_peak:.0f} MiB); bare Scrapy "
            f"{count(bare, 'response_received_count')} in {bare['elapsed_time_seconds']:.1f} s"
            f" = {rate(bare):.0f} pages/s (CPU {bare['cpu_seconds']:.1f} s, peak RSS "
            f"{bare_peak:.0f} MiB); ratio {rate(mine) / rate(bare):.2f}"
        )
    ratios = sorted(rate(m) / rate(b) for m, _, b, _ in rounds)
    print(
        f"median ratio nianbao/bare pages/s: {statistics.median(ratios):.2f} "
        f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f}); peak RSS nianbao "
        f"{max(r[1] for r in rounds):.0f} MiB, bare {max(r[3] for r in rounds):.0f} MiB"
    )
    cpu = sorted(m["cpu_seconds"] / b["cpu_seconds"] for m, _, b, _ in rounds)
    print(
        f"median CPU seconds nianbao/bare (same pages): {statistics.median(cpu):.2f} "
        f"(min {cpu[0]:.2f}, max {cpu[-1]:.2f}) — the simulated web's server runs on the "
        "same 2 cores and may bound both rates"
    )
    first = rounds[-1][0]
    req1, req2 = count(first, "downloader/request_count"), count(second, "downloader/request_count")
    by1 = count(first, "downloader/response_bytes")
    by2 = count(second, "downloader/response_bytes")
    print(
        f"second, unchanged crawl: {req2} requests / {req1} = {req2 / max(req1, 1):.2f}; "
        f"{by2} bytes / {by1} = {by2 / max(by1, 1):.3f}; "
        f"{count(second, 'nianbao/revalidated_unchanged')} answered 304; "
        f"{second['elapsed_time_seconds']:.1f} s, peak RSS {second_peak:.0f} MiB"
    )
    print(f"archive after both crawls: {db_size / 2**20:.1f} MiB")
    req1 = count(real_first, "downloader/request_count")
    req2 = count(real_second, "downloader/request_count")
    by1 = count(real_first, "downloader/response_bytes")
    by2 = count(real_second, "downloader/response_bytes")
    print(
        f"default world (3 sites, real report sizes), second unchanged crawl: {req2} requests"
        f" / {req1} = {req2 / max(req1, 1):.2f}; {by2} bytes / {by1} = "
        f"{by2 / max(by1, 1):.3f}; {count(real_second, 'nianbao/revalidated_unchanged')} "
        "answered 304"
    )


if __name__ == "__main__":
    main()
