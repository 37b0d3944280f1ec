"""What the nightly job reports about an archive, read while a crawl may be writing it.

The nightly job watches its crawl child write the archive, then sums up what the crawl,
the parse stage and the checks did. Each question here opens a connection of its own
and closes it again: nothing is held open between polls, and nothing creates or
migrates the archive (opening an :class:`~archive.store.database.Archive` would), so a
crawl child still creating the schema is simply not seen yet.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archive.store.database import _to_parse


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def _reading(db: Path) -> Iterator[sqlite3.Connection]:
    conn = _connect(db)
    try:
        yield conn
    finally:
        conn.close()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return (
        conn.execute(
            "select 1 from sqlite_master where type = 'table' and name = ?", [name]
        ).fetchone()
        is not None
    )


def high_water(db: Path) -> dict:
    """The last report and finding ids before tonight's run: what is above them is new."""
    if not db.exists():
        return {"reports": 0, "findings": 0}
    with _reading(db) as conn:
        if not _has_table(conn, "reports"):
            return {"reports": 0, "findings": 0}
        return {
            t: conn.execute(f"select coalesce(max(id), 0) from {t}").fetchone()[0]
            for t in ("reports", "findings")
        }


def run_of_pid(db: Path, pid: int) -> int | None:
    """The crawl run the process ``pid`` started, once it has recorded one."""
    if not db.exists():
        return None
    try:
        with _reading(db) as conn:
            row = conn.execute(
                "select id from crawl_runs where pid = ? order by id desc limit 1", [pid]
            ).fetchone()
    except sqlite3.OperationalError:  # the child is still creating the schema
        return None
    return row[0] if row else None


def captures_of_run(db: Path, run_id: int) -> int:
    """How many captures the run has stored so far."""
    with _reading(db) as conn:
        row = conn.execute("select count(*) from captures where run_id = ?", [run_id]).fetchone()
    return row[0]


def captures_to_parse(db: Path) -> int:
    """How many captures the parse stage has still to read."""
    with _reading(db) as conn:
        row = conn.execute(f"select count(*) from captures where {_to_parse(False)}").fetchone()
    return row[0]


def crawl_run_summary(db: Path, run_id: int) -> dict:
    """What the crawl run recorded: its status and counts, failures by reason, per site.

    Per-site counts come from ``crawl_site_counts`` when the archive has it (the
    crawler writes it when a run closes); otherwise they are counted from the
    run's captures, without the comparison with earlier runs.
    """
    with _reading(db) as conn:
        run = dict(conn.execute("select * from crawl_runs where id = ?", [run_id]).fetchone())
        sites = _site_rows(conn, run_id)
        reasons: dict[str, int] = {}
        for site in sites:
            for reason, n in (site.get("failed_by_reason") or {}).items():
                reasons[reason] = reasons.get(reason, 0) + n
    totals = {
        key: sum(site.get(key) or 0 for site in sites)
        for key in ("new", "changed", "unchanged", "not_modified", "reports_found")
        if any(key in site for site in sites)
    }
    return {
        "status": run["status"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "pages_fetched": run["pages_fetched"],
        "captures_stored": run["captures_stored"],
        "failures": run["failures"],
        "failures_by_reason": dict(sorted(reasons.items())),
        "documents": totals,
        "sites": sites,
    }


def _site_rows(conn: sqlite3.Connection, run_id: int) -> list[dict]:
    if _has_table(conn, "crawl_site_counts"):
        rows = [
            dict(r)
            for r in conn.execute(
                "select * from crawl_site_counts where run_id = ? order by site_id", [run_id]
            )
        ]
        if rows:
            for row in rows:
                row["failed_by_reason"] = json.loads(row.get("failed_by_reason") or "{}")
            return rows
    return _site_rows_from_captures(conn, run_id)


def _site_rows_from_captures(conn: sqlite3.Connection, run_id: int) -> list[dict]:
    rows = []
    for (site_id,) in conn.execute(
        "select distinct site_id from captures where run_id = ? order by site_id", [run_id]
    ).fetchall():
        reasons: dict[str, int] = {}
        for error, status in conn.execute(
            "select error, status from captures where run_id = ? and site_id = ? and "
            "(error is not null or status >= 400)",
            [run_id, site_id],
        ):
            reason = (error.split(":", 1)[0].strip() or "error") if error else f"http_{status}"
            reasons[reason] = reasons.get(reason, 0) + 1
        fetched, reports = conn.execute(
            "select count(status), count(distinct case when role = 'report' and status = 200 "
            "then url end) from captures where run_id = ? and site_id = ?",
            [run_id, site_id],
        ).fetchone()
        rows.append(
            {
                "site_id": site_id,
                "pages_fetched": fetched,
                "reports_found": reports,
                "failed": sum(reasons.values()),
                "failed_by_reason": reasons,
                "blocked": None,
                "alert": None,
            }
        )
    return rows


def checks_summary(db: Path, before: dict) -> dict:
    """New and changed reports since ``before`` (:func:`high_water`), and the findings the
    checks made on them; the archive's totals."""
    if not db.exists():
        return {}
    with _reading(db) as conn:
        new, changed = conn.execute(
            "select count(*), count(previous_id) from reports where id > ?", [before["reports"]]
        ).fetchone()
        by_rule = {
            f"{r['rule']} ({r['status']})": r["n"]
            for r in conn.execute(
                "select rule, status, count(*) n from findings where report_id > ? "
                "group by rule, status order by rule, status",
                [before["reports"]],
            )
        }
        failing = conn.execute(
            "select count(distinct report_id) from findings where report_id > ? and "
            "status = 'fail'",
            [before["reports"]],
        ).fetchone()[0]
        totals = {
            t: conn.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("reports", "cells", "findings")
        }
    return {
        "new_reports": new - changed,
        "changed_reports": changed,
        "new_findings": sum(by_rule.values()),
        "findings_by_rule": by_rule,
        "reports_failing_checks": failing,
        "archive": totals,
    }
