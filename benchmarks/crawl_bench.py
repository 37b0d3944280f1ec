"""Crawl throughput and incremental cost against the simulated web in scale mode.

    python benchmarks/crawl_bench.py [--sites 1000] [--concurrency 16]

Politeness delays off (no download delay, no AutoThrottle, robots.txt not asked for),
the same Scrapy concurrency for both crawlers. Prints:

* pages/s of ``nianbao crawl`` (archive, middlewares, spider) and of a bare Scrapy
  spider fetching the same URLs in the same run, and their ratio;
* the peak resident memory of each crawl process;
* for a second ``nianbao crawl`` of the unchanged web: requests and response bytes as
  a fraction of the first crawl's.

Each crawl runs in its own process; figures come from Scrapy's own stats
(``elapsed_time_seconds``, ``response_received_count``, ``downloader/…``).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))


def fast_settings(concurrency: int) -> dict[str, str]:
    return {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "ROBOTSTXT_OBEY": "False",
            "CONCURRENT_REQUESTS": str(concurrency), "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
            "RETRY_TIMES": "1", "LOG_LEVEL": "WARNING"}


def run_measured(cmd: list[str]) -> tuple[int, float]:
    """Run ``cmd``; its exit status and peak RSS in MiB (from wait4's rusage)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} … failed ({proc.returncode}):\n{err[-3000:]}")
    return proc.returncode, usage.ru_maxrss / 1024


def nianbao_crawl(sites_csv: Path, db: Path, concurrency: int) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "archive", "crawl", "--sites", str(sites_csv), "--db", str(db)]
    for key, value in fast_settings(concurrency).items():
        cmd += ["-s", f"{key}={value}"]
    _, peak = run_measured(cmd)
    conn = sqlite3.connect(db)
    stats = json.loads(conn.execute("select stats from crawl_runs order by id desc limit 1")
                       .fetchone()[0])
    conn.close()
    return stats, peak


def bare_crawl(urls_file: Path, stats_file: Path, concurrency: int) -> tuple[dict, float]:
    cmd = [sys.executable, __file__, "--bare", str(urls_file), "--stats", str(stats_file),
           "--concurrency", str(concurrency)]
    _, peak = run_measured(cmd)
    return json.loads(stats_file.read_text()), peak


def bare_spider_main(urls_file: str, stats_file: str, concurrency: int) -> None:
    """A Scrapy spider that fetches every URL of the list and keeps nothing."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    urls = urls_file and Path(urls_file).read_text().split()

    class Bare(scrapy.Spider):
        name = "bare"
        custom_settings = {"HTTPERROR_ALLOW_ALL": True, "COOKIES_ENABLED": False,
                           "TELNETCONSOLE_ENABLED": False}

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
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_spider_main(args.bare, args.stats, args.concurrency)
        return

    from simweb.process import SimWeb

    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
        tmp = Path(tmp)
        with SimWeb(tmp / "web", scale=args.sites, default_world=False, timeout=300) as web:
            db = tmp / "archive.db"
            first, first_peak = nianbao_crawl(web.sites_csv, db, args.concurrency)
            conn = sqlite3.connect(db)
            urls = [r[0] for r in conn.execute("select final_url from captures where run_id = 1 "
                                               "and final_url is not null order by id")]
            conn.close()
            (tmp / "urls.txt").write_text("\n".join(urls))
            bare, bare_peak = bare_crawl(tmp / "urls.txt", tmp / "bare.json", args.concurrency)
            second, second_peak = nianbao_crawl(web.sites_csv, db, args.concurrency)
        db_size = db.stat().st_size

    def count(stats: dict, key: str) -> int:
        return int(stats.get(key, 0))

    print(f"simulated web: {args.sites} sites, {len(urls)} URLs; concurrency "
          f"{args.concurrency} (8 per host); politeness delays off; 2 crawlers, same URLs")
    print(f"nianbao crawl : {count(first, 'response_received_count')} responses in "
          f"{first['elapsed_time_seconds']:.1f} s = {rate(first):.0f} pages/s, "
          f"peak RSS {first_peak:.0f} MiB")
    print(f"bare Scrapy   : {count(bare, 'response_received_count')} responses in "
          f"{bare['elapsed_time_seconds']:.1f} s = {rate(bare):.0f} pages/s, "
          f"peak RSS {bare_peak:.0f} MiB")
    print(f"ratio nianbao/bare pages/s: {rate(first) / rate(bare):.2f}")
    req1, req2 = count(first, "downloader/request_count"), count(second, "downloader/request_count")
    by1 = count(first, "downloader/response_bytes")
    by2 = count(second, "downloader/response_bytes")
    print(f"second, unchanged crawl: {req2} requests / {req1} = {req2 / max(req1, 1):.2f}; "
          f"{by2} bytes / {by1} = {by2 / max(by1, 1):.3f}; "
          f"{count(second, 'nianbao/revalidated_unchanged')} answered 304; "
          f"{second['elapsed_time_seconds']:.1f} s, peak RSS {second_peak:.0f} MiB")
    print(f"archive after both crawls: {db_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
