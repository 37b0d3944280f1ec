"""The archive as the crawl's memory: what was already fetched, by this crawl or before.

Scrapy's JOBDIR survives only a graceful stop. The archive, written one capture per
transaction, survives ``kill -9``: whatever is in it was fetched, whatever is not was
not. So a crawl that finds the last run of the same registry unfinished (its process
gone) *continues* it: every URL that run stored is answered from the archive — its
links followed again, nothing fetched or stored twice — and everything else is fetched.
An earlier, finished crawl gives the validators of conditional requests instead.

One :class:`ArchiveFrontier` per crawler, shared by the item pipeline and the
downloader middlewares (:func:`frontier_for`).
"""

from __future__ import annotations

import json
import os
import time

from scrapy import signals
from scrapy.crawler import Crawler

from archive.store import Archive

_ATTRIBUTE = "_nianbao_frontier"


def pid_alive(pid: int | None) -> bool:
    """Is a process with this id still running (a crawl that must not be resumed)?"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ArchiveFrontier:
    """The crawl's run in the archive, and what the archive already holds for a URL."""

    def __init__(
        self,
        db_path: str,
        sites: list[dict],
        sites_csv: str | None,
        commit_every: int = 1,
        commit_seconds: float = 0.0,
    ):
        self.archive = Archive(db_path)
        self.commit_every = max(1, commit_every)
        self.commit_seconds = commit_seconds
        self._batch: tuple[int, float] | None = None  # captures written, since when
        # WAL + NORMAL: each batch of captures is an atomic transaction and survives the
        # crawl process being killed; only a power cut could lose the last few, which the
        # next run then fetches again. FULL would fsync every commit.
        self.archive.db.conn.execute("PRAGMA synchronous = NORMAL")
        self.archive.load_sites(sites)
        self.site_ids = [s["site_id"] for s in sites]
        # A recorded pid equal to ours was reused: that run's process is gone.
        self.resumed = self.archive.interrupted_runs(
            sites_csv, lambda pid: pid != os.getpid() and pid_alive(pid)
        )
        self.run_id = self.archive.start_resumed_run(
            sites_csv, os.getpid(), self.resumed[0] if self.resumed else None
        )
        self.closed = False

    # -- what the archive knows ----------------------------------------------------
    def stored_in_this_crawl(self, url: str) -> dict | None:
        """The capture of ``url`` made by the interrupted run(s) this crawl continues."""
        return self.archive.capture_in_runs(url, self.resumed)

    def last_version(self, url: str) -> dict | None:
        """The newest stored body of ``url`` (its id, sha256 and response headers)."""
        row = self.archive.last_body_capture(url)
        if row and row["headers"]:
            row["headers"] = json.loads(row["headers"])
        return row

    def body(self, capture_id: int) -> bytes | None:
        return self.archive.body(capture_id)

    # -- writing ---------------------------------------------------------------------
    def store(self, capture: dict) -> int:
        """Write one capture; commit every ``commit_every`` captures or ``commit_seconds``.

        Captures are committed in the order they were stored, so a crawl killed at any
        moment loses only the last few, which nothing committed can depend on: the pages
        that link to them are in the same batch or in earlier ones, and the next crawl,
        continuing this one from the archive, fetches them again.
        """
        conn = self.archive.db.conn
        if self.commit_every > 1 and not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
            self._batch = (0, time.monotonic())
        capture_id = self.archive.add_fetch({**capture, "run_id": self.run_id})
        if self._batch is not None:
            written, since = self._batch
            self._batch = (written + 1, since)
            if written + 1 >= self.commit_every:
                self.commit()
        return capture_id

    def commit(self, older_than: float = 0.0) -> None:
        """Commit the captures written since the last commit (if the batch is that old)."""
        if self._batch is None or time.monotonic() - self._batch[1] < older_than:
            return
        self._batch = None
        if self.archive.db.conn.in_transaction:
            self.archive.db.conn.execute("COMMIT")

    def finish(self, reason: str, stats: dict) -> list[dict]:
        """Close the run: its status, Scrapy's stats, and the per-site counts and alerts."""
        if self.closed:
            return []
        self.closed = True
        self.commit()
        status = "finished" if reason == "finished" else f"stopped: {reason}"
        self.archive.finish_run(self.run_id, status, stats)
        rows = self.archive.record_site_counts(
            self.run_id, [self.run_id, *self.resumed], self.site_ids, reason == "finished"
        )
        self.archive.close()
        return rows


def frontier_for(crawler: Crawler) -> ArchiveFrontier:
    """The crawler's frontier, opened on first use and finished when the spider closes."""
    frontier = getattr(crawler, _ATTRIBUTE, None)
    if frontier is None:
        spider = crawler.spider
        frontier = ArchiveFrontier(
            crawler.settings.get("NIANBAO_DB"),
            getattr(spider, "sites", []),
            getattr(spider, "sites_csv", None),
            crawler.settings.getint("NIANBAO_COMMIT_EVERY", 1),
            crawler.settings.getfloat("NIANBAO_COMMIT_SECONDS", 0.0),
        )
        setattr(crawler, _ATTRIBUTE, frontier)

        def closed(spider, reason: str) -> None:
            rows = frontier.finish(reason, crawler.stats.get_stats())
            for row in rows:  # one line per site that needs looking at, nothing per URL
                said = [f"{row['status']}: {row['status_detail']}"] if row["status"] != "ok" else []
                if row["alert"]:
                    said.append(row["alert"])
                if said:
                    spider.logger.warning("site %s: %s", row["site_id"], "; ".join(said))
            crawler.stats.set_value("nianbao/site_alerts", sum(1 for r in rows if r["alert"]))
            crawler.stats.set_value("nianbao/sites_blocked", sum(1 for r in rows if r["blocked"]))
            crawler.stats.set_value("nianbao/sites", len(rows))
            for row in rows:
                crawler.stats.inc_value(f"nianbao/sites/{row['status']}")

        crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
    return frontier
