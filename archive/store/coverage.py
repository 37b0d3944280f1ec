"""Coverage: what the crawls have proven of each registry row, kept in ``site_coverage``.

A registry row is a promise: an agency, a start URL, and somewhere behind it a column of
annual reports. How much of the country the archive covers is how many of those promises
a crawl has kept. Each crawl proves, per row, one of four things, each further than the
one before:

``never_fetched``    nothing of the site has been read (it failed, or was never reached);
``portal_answered``  a page of the site was read (an HTTP answer below 400, no error);
``column_found``     a link titled as a report was followed from it: a 年报 column exists;
``reports_found``    a report page was read.

``site_coverage`` keeps per row the furthest stage ever proven (``proven``), when each
stage was first and last proven, and how the row's latest crawl went (its status, and
the last error with its time). It is updated at the end of every crawl and after every
merge of workers' shards (:meth:`archive.store.Archive.record_site_counts`), in the
transaction that writes the per-site counts. The update only ever widens what is known
— earliest first proof, latest last proof, the furthest stage, the newest crawl's status
— so recording the same run again (a merge repeated, shards in any order) changes nothing,
and an older run recorded after a newer one does not overwrite it.

The time of a proof is when the crawl read the site: the newest ``fetched_at`` of its
captures in the run (the run's start when it has none). Archives crawled before this
table existed get it from their per-site counts (``schema.py``, migration 13).
"""

from __future__ import annotations

import sqlite3

STAGES = ("never_fetched", "portal_answered", "column_found", "reports_found")
# Statuses of crawl_site_counts that are no error of the row (a crawl stopped before it).
NOT_ERRORS = ("ok", "not_crawled")

# Where a stage stands among the others, in SQL: a larger position is a further stage.
_RANK = "instr('" + " ".join(STAGES) + "', {})"


def _newer(column: str) -> str:
    return (
        f"(excluded.{column}, excluded.last_run_id) >= "
        f"(coalesce({column}, ''), coalesce(last_run_id, 0))"
    )


_UPSERT = f"""
INSERT INTO site_coverage (
    site_id, proven, answered_first_at, answered_last_at, column_first_at, column_last_at,
    reports_first_at, reports_last_at, reports_found, last_crawled_at, last_run_id,
    last_status, last_error, last_error_at
) VALUES (
    :site_id, :proven, :answered_at, :answered_at, :column_at, :column_at,
    :reports_at, :reports_at, :reports_found, :at, :run_id, :status, :error, :error_at
)
ON CONFLICT (site_id) DO UPDATE SET
    proven = CASE WHEN {_RANK.format("excluded.proven")} > {_RANK.format("proven")}
        THEN excluded.proven ELSE proven END,
    answered_first_at = {{earliest_answered}},
    answered_last_at = {{latest_answered}},
    column_first_at = {{earliest_column}},
    column_last_at = {{latest_column}},
    reports_first_at = {{earliest_reports}},
    reports_last_at = {{latest_reports}},
    reports_found = CASE WHEN {{newer_reports}}
        THEN excluded.reports_found ELSE reports_found END,
    last_run_id = CASE WHEN {{newer}} THEN excluded.last_run_id ELSE last_run_id END,
    last_status = CASE WHEN {{newer}} THEN excluded.last_status ELSE last_status END,
    last_crawled_at = CASE WHEN {{newer}} THEN excluded.last_crawled_at ELSE last_crawled_at END,
    last_error = CASE WHEN {{newer_error}} THEN excluded.last_error ELSE last_error END,
    last_error_at = CASE WHEN {{newer_error}} THEN excluded.last_error_at ELSE last_error_at END
""".format(
    **{
        f"earliest_{s}": f"coalesce(min({s}_first_at, excluded.{s}_first_at), "
        f"{s}_first_at, excluded.{s}_first_at)"
        for s in ("answered", "column", "reports")
    },
    **{
        f"latest_{s}": f"coalesce(max({s}_last_at, excluded.{s}_last_at), "
        f"{s}_last_at, excluded.{s}_last_at)"
        for s in ("answered", "column", "reports")
    },
    # Newer: a later time, or the same time and a later run (ties decided the same way
    # whatever order runs are recorded in). A NULL time (nothing to say) is never newer.
    newer=_newer("last_crawled_at"),
    newer_reports=_newer("reports_last_at"),
    newer_error=_newer("last_error_at"),
)


def stage(pages_read: int, report_links: int, reports_found: int) -> str:
    """The furthest stage one crawl proved of a row, from what it read of the site."""
    if reports_found:
        return "reports_found"
    if report_links:
        return "column_found"
    if pages_read:
        return "portal_answered"
    return "never_fetched"


def crawled_at(conn: sqlite3.Connection, marks: str, run_ids: list[int]) -> dict[str, str]:
    """When the run(s) last read each site: the newest ``fetched_at`` of its captures.

    ``fetched_at`` is stored before the body, so reading it reads no overflow page; the
    run's rows are found by their index."""
    return dict(
        conn.execute(
            "select site_id, max(fetched_at) from captures indexed by idx_captures_run_site "
            f"where run_id in ({marks}) group by site_id",
            run_ids,
        ).fetchall()
    )


def record(
    conn: sqlite3.Connection,
    run_id: int,
    run_ids: list[int],
    rows: list[dict],
    proofs: dict[str, dict[str, int]],
) -> None:
    """Widen each crawled row's coverage with what run ``run_id`` (with the runs it
    continued, ``run_ids``) proved; ``rows`` are its per-site counts and statuses,
    ``proofs`` the pages read and report links followed per site. Inside the caller's
    transaction."""
    marks = ", ".join("?" for _ in run_ids)
    when = crawled_at(conn, marks, run_ids)
    started = conn.execute("select started_at from crawl_runs where id = ?", [run_id]).fetchone()
    fallback = started[0] if started else None
    values = []
    for row in rows:
        site_id = row["site_id"]
        proof = proofs.get(site_id) or {}
        reached = stage(
            proof.get("pages_read") or 0, proof.get("report_links") or 0, row["reports_found"]
        )
        at = when.get(site_id) or fallback
        rank = STAGES.index(reached)
        failed = (row.get("status") or "ok") not in NOT_ERRORS
        values.append(
            {
                "site_id": site_id,
                "proven": reached,
                "answered_at": at if rank >= 1 else None,
                "column_at": at if rank >= 2 else None,
                "reports_at": at if rank >= 3 else None,
                "reports_found": row["reports_found"] if rank >= 3 else None,
                "at": at,
                "run_id": run_id,
                "status": row.get("status"),
                "error": f"{row['status']}: {row.get('status_detail') or ''}" if failed else None,
                "error_at": at if failed else None,
            }
        )
    conn.executemany(_UPSERT, values)
