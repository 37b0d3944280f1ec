"""The archive as the crawl's memory: what was fetched, and what is left to fetch.

Scrapy's JOBDIR survives only a graceful stop. The archive, written one capture per
transaction, survives ``kill -9``: whatever is in it was fetched, whatever is not was
not. What was *discovered* is in it too: every link the crawl followed is in a stored
page (a listing, a report page, a CMS's JSON), so reading the stored pages again
rediscovers exactly the requests they led to — the capture and the links it holds are
one transaction by construction. So a crawl that finds the last run of the same
registry unfinished (its process gone) *continues* it: it walks from the start URLs
again, every URL that run stored is answered from the archive — its links followed,
nothing fetched or stored twice — and whatever is not in the archive is fetched. An
earlier, finished crawl gives the validators of conditional requests instead.

``--jobdir`` (Scrapy's JOBDIR) can only make this faster, never worse: its saved state
is used only to continue the very run that paused cleanly with it
(:class:`crawler.extensions.jobdir.JobdirGuard`); in every other case the archive decides.

One :class:`ArchiveFrontier` per crawler, shared by the item pipeline and the
downloader middlewares (:func:`frontier_for`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler

from archive.store import Archive, ArchiveError, storage_error
from archive.store.database import process_alive
from crawler.scope import SiteScope

_ATTRIBUTE = "_nianbao_frontier"


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
        self.archive.fsync_at_checkpoints()
        self.archive.load_sites(sites)
        self.site_ids = [s["site_id"] for s in sites]
        # A recorded pid equal to ours was reused: that run's process is gone.
        self.resumed = self.archive.interrupted_runs(
            sites_csv, lambda pid: pid != os.getpid() and process_alive(pid)
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
        if self.commit_every > 1 and not self.archive.in_transaction:
            self.archive.begin()
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
        self.archive.commit()

    def finish(self, reason: str, stats: dict) -> list[dict]:
        """Close the run: its status, Scrapy's stats, and the per-site counts and alerts.

        On a full disk nothing more can be written: the run stays ``running`` with its
        process gone, so the next crawl continues it once there is space."""
        if self.closed:
            return []
        self.closed = True
        status = "finished" if reason == "finished" else f"stopped: {reason}"
        try:
            self.commit()
            self.archive.finish_run(self.run_id, status, stats)
            rows = self.archive.record_site_counts(
                self.run_id, [self.run_id, *self.resumed], self.site_ids, reason == "finished"
            )
        except sqlite3.Error as exc:
            known = storage_error(self.archive.path, exc)
            if known is None:
                raise
            raise known from exc
        finally:
            self.archive.close()
        return rows

    def moved_hosts(self) -> dict[str, set[str]]:
        """The hosts the sites moved to in the runs this crawl continues (the redirects
        of their start and column pages), for a crawl that does not walk those again."""
        sites = {site_id: self.archive.site(site_id) or {} for site_id in self.site_ids}
        moved: dict[str, set[str]] = {}
        for site_id, final_url in self.archive.redirected_pages(self.resumed, ("start", "column")):
            host = urlsplit(final_url).hostname
            if host and not SiteScope.of(sites.get(site_id) or {}).admits_host(host):
                moved.setdefault(site_id, set()).add(host)
        return moved


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
            try:
                rows = frontier.finish(reason, crawler.stats.get_stats())
            except ArchiveError as exc:  # a full disk: the next crawl continues this run
                spider.logger.error("the crawl run could not be closed: %s", exc)
                crawler.stats.set_value("nianbao/storage_error", str(exc))
                return
            # A stopped crawl leaves sites unread that the next one continues: one line for
            # them all (2,872 lines after a SIGTERM at 3,000 sites), not a warning each.
            later = {
                row["site_id"]: None
                for row in rows
                if reason != "finished" and row["status"] == "not_crawled" and not row["alert"]
            }
            if later:
                shown = ", ".join(list(later)[:5]) + (" …" if len(later) > 5 else "")
                spider.logger.info(
                    "%d site(s) not reached or not finished before the stop (%s): the next "
                    "crawl continues them (per site: table crawl_site_counts)",
                    len(later),
                    shown,
                )
            for row in rows:  # one line per site that needs looking at, nothing per URL
                if row["site_id"] in later:
                    continue
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


def close_unfinished(crawler: Crawler, reason: str = "shutdown") -> None:
    """Close the run of a crawl that ended without closing its spider — a SIGTERM in the
    instant between the spider opening and the engine starting stops Scrapy's reactor
    with no ``spider_closed`` — so the run is recorded as stopped, not left ``running``."""
    frontier = getattr(crawler, _ATTRIBUTE, None)
    if frontier is None or frontier.closed:
        return
    stats = crawler.stats
    if stats is not None and stats.get_value("finish_reason") is None:
        stats.set_value("finish_reason", reason)
    frontier.finish(reason, stats.get_stats() if stats is not None else {})
