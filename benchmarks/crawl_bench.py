"""Crawl cost per page as the number of sites grows, and the incremental cost of a revisit.

    python benchmarks/crawl_bench.py [--sizes 300,3000,10000] [--repeat 3] [--concurrency 16]

Politeness delays off (no download delay, no AutoThrottle, robots.txt not asked for),
the same Scrapy concurrency for every crawler. For each size of the simulated web in
scale mode (N sites of 11 small pages each; a world with more than ``--cap`` pages is
crawled up to that many, by when the crawl has reached every host, and the bare spiders
fetch the same pages) and each of ``--repeat`` interleaved rounds:

* ``nianbao crawl`` (archive, middlewares, spider, the HostQueue scheduler queue);
* a bare Scrapy spider fetching the same URLs and keeping nothing, with Scrapy's
  default queue (``DownloaderAwarePriorityQueue``, which looks at every download slot
  for each request);
* the same bare spider with nianbao's ``crawler.scheduling.hostqueue.HostQueue``.

Prints CPU milliseconds per page (user + system of the crawl process from the engine's
start to the spider's close: ``crawler/extensions/cpustats.py``, so Python's start-up is not spread
over the pages) and
pages/s, min / median / max over the rounds, each size's median as a ratio to the
smallest size's (the baseline of the same run), and nianbao's CPU per page as a ratio
to bare Scrapy's on the same URLs. The bare spider skips what nianbao does per page:
storing it, reading its links, resume and conditional-request look-ups, per-host
bookkeeping. Then, at the smallest size: what a second, unchanged crawl costs in
requests and bytes, for the scale world and for the default world (real report sizes).

Each crawl runs in its own process; the simulated web's server runs on the same 2 cores,
so pages/s is bounded by it too; CPU per page is the crawler's alone.
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


def run_measured(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Run ``cmd``; its CPU seconds (user + system) and peak RSS in MiB (wait4's rusage)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in ok:
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
            raise SystemExit(f"{' '.join(cmd[:4])} … failed ({proc.returncode}):\n{text[-3000:]}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def nianbao_crawl(
    sites_csv: Path, db: Path, concurrency: int, cap: int | None = None
) -> tuple[dict, float]:
    """One ``nianbao crawl`` (stopped after ``cap`` pages): its Scrapy stats and peak RSS."""
    cmd = [sys.executable, "-m", "nianbao", "crawl", "--sites", str(sites_csv), "--db", str(db)]
    settings = fast_settings(concurrency)
    if cap:
        settings["CLOSESPIDER_PAGECOUNT"] = str(cap)
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    # a crawl stopped at its page cap exits 1 (it did not finish), as it should
    cpu, peak = run_measured(cmd, ok=(0, 1) if cap else (0,))
    conn = sqlite3.connect(db)
    stats = json.loads(
        conn.execute("select stats from crawl_runs order by id desc limit 1").fetchone()[0]
    )
    conn.close()
    if stats.get("finish_reason") not in ("finished", "closespider_pagecount"):
        raise SystemExit(f"the crawl ended with {stats.get('finish_reason')}")
    return {**stats, "cpu_seconds": cpu}, peak


def bare_crawl(
    urls_file: Path, stats_file: Path, concurrency: int, queue: str | None = None
) -> tuple[dict, float]:
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
    if queue:
        cmd += ["--queue", queue]
    cpu, peak = run_measured(cmd)
    return {**json.loads(stats_file.read_text()), "cpu_seconds": cpu}, peak


def bare_spider_main(urls_file: str, stats_file: str, concurrency: int, queue: str | None) -> None:
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
    settings["EXTENSIONS"] = {"crawler.extensions.cpustats.CpuTime": 0}  # CPU of the crawl proper
    if queue:
        settings["SCHEDULER_PRIORITY_QUEUE"] = queue
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(Bare)
    process.crawl(crawler)
    process.start()
    Path(stats_file).write_text(json.dumps(crawler.stats.get_stats(), default=str))


def rate(stats: dict) -> float:
    return stats.get("response_received_count", 0) / max(stats["elapsed_time_seconds"], 1e-9)


CRAWLERS = ("nianbao", "bare Scrapy (DAPQ)", "bare Scrapy + HostQueue")
PAGES_PER_SITE = 11  # a scale site: front page, column, 2 listing pages, 6 reports, a PDF


def size_rounds(sites: int, repeat: int, concurrency: int, tmp: Path, cap: int) -> dict:
    """Every crawler, ``repeat`` interleaved rounds, over one scale world of ``sites``
    (the first ``cap`` pages of its crawl when the whole crawl has more)."""
    from simweb.process import SimWeb

    runs: dict[str, list[tuple[dict, float]]] = {name: [] for name in CRAWLERS}
    with SimWeb(tmp / f"web-{sites}", scale=sites, default_world=False, timeout=900) as web:
        for n in range(repeat):
            db = tmp / f"archive-{sites}-{n}.db"
            capped = cap if sites * PAGES_PER_SITE > cap else None
            runs["nianbao"].append(nianbao_crawl(web.sites_csv, db, concurrency, capped))
            conn = sqlite3.connect(db)
            urls = [
                r[0]
                for r in conn.execute(
                    "select final_url from captures where final_url is not null order by id"
                )
            ]
            conn.close()
            (tmp / "urls.txt").write_text("\n".join(urls))
            runs["bare Scrapy (DAPQ)"].append(
                bare_crawl(tmp / "urls.txt", tmp / "bare.json", concurrency)
            )
            runs["bare Scrapy + HostQueue"].append(
                bare_crawl(
                    tmp / "urls.txt",
                    tmp / "bare.json",
                    concurrency,
                    "crawler.scheduling.hostqueue.HostQueue",
                )
            )
            db.unlink()
    return {"runs": runs, "urls": len(urls), "capped": sites * PAGES_PER_SITE > cap}


def cpu_ms_per_page(stats: dict) -> float:
    """CPU from the engine's start to the spider's close (not Python's start-up) per page."""
    return 1000 * stats["nianbao/cpu_seconds"] / max(stats.get("response_received_count", 0), 1)


def spread(values: list[float], fmt: str = ".2f") -> str:
    return f"{min(values):{fmt}} / {statistics.median(values):{fmt}} / {max(values):{fmt}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,3000,10000", help="numbers of sites")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="interleaved rounds of every crawler (the box is noisy)",
    )
    parser.add_argument("--no-revisit", action="store_true", help="skip the second crawls")
    parser.add_argument(
        "--cap",
        type=int,
        default=33_000,
        help="stop crawls of bigger worlds after this many pages (every host is active by then)",
    )
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_spider_main(args.bare, args.stats, args.concurrency, args.queue)
        return

    sizes = [int(n) for n in args.sizes.split(",")]
    print(
        f"scale world, {args.repeat} interleaved rounds per size; concurrency "
        f"{args.concurrency} (8 per host); politeness delays off; load average at start "
        f"{os.getloadavg()[0]:.1f} (the machine is shared)",
        flush=True,
    )
    base: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
        tmp = Path(tmp)
        for sites in sizes:  # each size printed as soon as it is measured
            print_size(
                sites,
                size_rounds(sites, args.repeat, args.concurrency, tmp, args.cap),
                base,
                args.cap,
            )
        if not args.no_revisit:
            print_revisit(revisit_costs(sizes[0], args.concurrency, tmp))


def print_size(sites: int, result: dict, base: dict[str, float], cap: int) -> None:
    runs = result["runs"]
    note = f" (the first {cap} pages)" if result["capped"] else ""
    print(f"{sites} sites, {result['urls']} URLs{note}; load average {os.getloadavg()[0]:.1f}")
    for name in CRAWLERS:
        ms = [cpu_ms_per_page(stats) for stats, _ in runs[name]]
        base.setdefault(name, statistics.median(ms))
        pages = [rate(stats) for stats, _ in runs[name]]
        peak = max(p for _, p in runs[name])
        print(
            f"  {name}: CPU {spread(ms)} ms/page (min/median/max), median "
            f"{statistics.median(ms) / base[name]:.2f}x the smallest size's; "
            f"{spread(pages, '.0f')} pages/s; peak RSS {peak:.0f} MiB"
        )
    for name in CRAWLERS[1:]:
        ratios = [
            cpu_ms_per_page(m) / cpu_ms_per_page(b)
            for (m, _), (b, _) in zip(runs["nianbao"], runs[name], strict=True)
        ]
        print(f"  nianbao CPU per page / {name}'s, same URLs: {spread(ratios)}")
    sys.stdout.flush()


def revisit_costs(sites: int, concurrency: int, tmp: Path) -> dict:
    """A first and a second (unchanged) crawl of the scale world and of the default world."""
    from simweb.process import SimWeb

    out = {}
    with SimWeb(tmp / "revisit-web", scale=sites, default_world=False, timeout=900) as web:
        db = tmp / "revisit.db"
        out["scale"] = (
            nianbao_crawl(web.sites_csv, db, concurrency)[0],
            nianbao_crawl(web.sites_csv, db, concurrency)[0],
            db.stat().st_size,
        )
    with SimWeb(tmp / "default-web") as web:
        db = tmp / "default.db"
        out["default"] = (
            nianbao_crawl(web.sites_csv, db, concurrency)[0],
            nianbao_crawl(web.sites_csv, db, concurrency)[0],
            db.stat().st_size,
        )
    return out


def print_revisit(revisit: dict) -> None:
    def count(stats: dict, key: str) -> int:
        return int(stats.get(key, 0))

    for world, (first, second, size) in revisit.items():
        req1, req2 = (
            count(first, "downloader/request_count"),
            count(second, "downloader/request_count"),
        )
        by1 = count(first, "downloader/response_bytes")
        by2 = count(second, "downloader/response_bytes")
        print(
            f"{world} world, second unchanged crawl: {req2} requests / {req1} = "
            f"{req2 / max(req1, 1):.2f}; {by2} bytes / {by1} = {by2 / max(by1, 1):.3f}; "
            f"{count(second, 'nianbao/revalidated_unchanged')} answered 304; archive after "
            f"both {size / 2**20:.1f} MiB"
        )


if __name__ == "__main__":
    main()
