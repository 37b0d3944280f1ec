"""Archive formats benchmark: snapshots and WARC against plain copies of the same bytes.

    python -m benchmarks.formats_bench [--captures 2000] [--body-kb 50] [--seed 0]

Builds an archive of ``--captures`` report captures (bodies half random, half
repetitive text, like PDFs with embedded fonts and HTML pages), each with a
report of 5,000 characters of text and 60 cells, in one crawl run where one
body in ten repeats an earlier one. Then, each measured in this run:

- ``full`` and ``data`` snapshots, as a ratio to ``shutil.copyfile`` of the same
  archive (a copy that is *not* consistent while a crawl writes: the floor);
- the run written as WARC, as a ratio to gzip-compressing the same bodies with
  the same zlib level (the floor for a compressed WARC), and the peak memory
  of the process, to show bodies are streamed one at a time.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import random
import resource
import shutil
import tempfile
import time
import zlib
from pathlib import Path

from archive.export.snapshot import make_snapshot
from archive.export.warc import write_run_warc
from archive.store import Archive


def build_archive(db: Path, captures: int, body_kb: int, seed: int) -> int:
    """The generated archive; returns its crawl run id."""
    rng = random.Random(seed)
    words = [
        "政府信息公开",
        "行政复议",
        "行政诉讼",
        "依申请公开",
        "年度报告",
        "予以公开",
        "不予公开",
    ]
    bodies: list[bytes] = []
    with Archive(db) as archive:
        archive.load_sites(
            [
                {
                    "site_id": "s1",
                    "agency": "某区人民政府",
                    "region_code": "410711",
                    "start_url": "http://127.0.0.1/",
                }
            ]
        )
        run_id = archive.start_run("sites.csv", 1)
        with archive.transaction():
            for n in range(captures):
                if bodies and n % 10 == 0:
                    body = rng.choice(bodies)
                else:
                    half = body_kb * 512
                    text = "".join(rng.choice(words) for _ in range(half // 18)).encode()
                    body = rng.randbytes(half) + text[:half]
                    bodies.append(body)
                capture_id = archive.insert(
                    "captures",
                    {
                        "run_id": run_id,
                        "site_id": "s1",
                        "url": f"http://127.0.0.1/{n}.pdf",
                        "final_url": f"http://127.0.0.1/{n}.pdf",
                        "status": 200,
                        "method": "GET",
                        "fetched_at": "2026-03-01T08:00:00+00:00",
                        "role": "attachment",
                        "content_type": "application/pdf",
                        "size": len(body),
                        "sha256": hashlib.sha256(body).hexdigest(),
                        "body": body,
                        "headers": '{"Content-Type": ["application/pdf"]}',
                    },
                )
                text = "".join(rng.choice(words) for _ in range(5000 // 5))
                report_id = archive.insert(
                    "reports",
                    {
                        "capture_id": capture_id,
                        "site_id": "s1",
                        "year": 2020 + n % 5,
                        "title": f"{n} 政府信息公开工作年度报告",
                        "text": text,
                        "sha256": f"{n:064x}",
                        "parse_status": "ok",
                    },
                )
                for cell in range(60):
                    archive.insert(
                        "cells",
                        {
                            "report_id": report_id,
                            "table_key": "t3",
                            "row_key": f"r{cell // 7}",
                            "col_key": f"c{cell % 7}",
                            "value": rng.randint(0, 500),
                            "raw": "1",
                        },
                    )
        archive.finish_run(run_id, "finished", {"robotstxt/request_count": 1})
    return run_id


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def gzip_floor(db: Path, run_id: int) -> float:
    """Seconds to compress every body of the run as warcio does (one gzip member each)."""
    import sqlite3

    conn = sqlite3.connect(db)
    start = time.perf_counter()
    for (body,) in conn.execute("select body from captures where run_id = ?", [run_id]):
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 31)
        compressor.compress(body)
        compressor.flush()
    conn.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=2000)
    parser.add_argument("--body-kb", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nianbao-formats-") as tmp:
        folder = Path(tmp)
        db = folder / "archive.db"
        build_s, run_id = timed(lambda: build_archive(db, args.captures, args.body_kb, args.seed))
        size = db.stat().st_size
        print(
            f"archive: {args.captures} captures of {args.body_kb} KB, {size / 1e6:.1f} MB, "
            f"built in {build_s:.1f} s"
        )
        copy_s, _ = timed(lambda: shutil.copyfile(db, folder / "copy.db"))
        print(f"{'what':<28}{'seconds':>9}{'ratio':>8}{'MB':>9}")
        print(f"{'baseline: copyfile':<28}{copy_s:>9.2f}{1:>8.2f}{size / 1e6:>9.1f}")
        for flavour in ("full", "data"):
            secs, snap = timed(lambda f=flavour: make_snapshot(db, folder / "snaps", f))
            print(
                f"{'snapshot ' + flavour:<28}{secs:>9.2f}{secs / copy_s:>8.2f}"
                f"{snap.manifest['size'] / 1e6:>9.1f}"
            )
        floor = gzip_floor(db, run_id)
        print(f"{'baseline: gzip the bodies':<28}{floor:>9.2f}{1:>8.2f}")
        secs, summary = timed(lambda: write_run_warc(db, run_id, folder / "warc"))
        print(
            f"{'warc (gzip)':<28}{secs:>9.2f}{secs / floor:>8.2f}"
            f"{summary.path.stat().st_size / 1e6:>9.1f}"
        )
        print(f"warc records: {dict(summary.records)}")
        print(
            f"peak RSS writing the WARC in a fresh process: {warc_peak_mb(db, run_id, folder):.0f}"
            f" MB (archive {size / 1e6:.0f} MB, largest body {args.body_kb} KB)"
        )


def _write_in_child(db: Path, run_id: int, out: Path, result) -> None:
    write_run_warc(db, run_id, out)
    result.put(_own_peak_mb())


def _own_peak_mb() -> float:
    """This process's peak RSS: VmHWM belongs to the process image since exec, whereas
    ru_maxrss would also count the parent's pages the child had before exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warc_peak_mb(db: Path, run_id: int, folder: Path) -> float:
    """Peak memory of a fresh process that only writes the WARC (bodies one at a time)."""
    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    child = context.Process(target=_write_in_child, args=(db, run_id, folder / "warc2", result))
    child.start()
    peak = result.get()
    child.join()
    return peak


if __name__ == "__main__":
    main()
