"""``nianbao demo``: the whole pipeline on the bundled simulated government web.

The simulated web runs in its own process on 127.0.0.1; the crawl, the parse
stage and the checks run exactly as they do against real sites, only without
the politeness delays a local server does not need.
"""

from __future__ import annotations

from pathlib import Path

from archive.process import process_captures
from archive.store import Archive


def build_demo(db: str, workdir: Path, seed: int = 0) -> str:
    """Crawl the simulated web into ``db``, parse and check; return a summary line."""
    from simweb.process import SimWeb

    from crawler.runner import LOCAL_WEB_SETTINGS, run_crawl

    with SimWeb(workdir, seed=seed) as web:
        stats = run_crawl(str(web.sites_csv), db, overrides=LOCAL_WEB_SETTINGS)
    if stats.get("finish_reason") != "finished":
        raise RuntimeError(f"the demo crawl ended with {stats.get('finish_reason')}")
    with Archive(db) as archive:
        summary = process_captures(archive)
        counts = archive.counts()
    return (f"demo archive {db}: {counts['captures']} captures, {counts['reports']} reports, "
            f"{counts['cells']} cells, {counts['findings']} findings "
            f"(parse stage: {summary.by_status})")
