"""Review and correction as the reader sees them, and the one way to record them.

The records are the store's (:mod:`archive.store.reviews`); this module is what the
command (``nianbao review``) and the report page's form share:

* :func:`read_value` — what a person typed for a cell (``3``, ``1,234``, ``—`` for a
  blank) read as the parser reads a printed cell, or a Chinese error;
* :func:`record_review`, :func:`record_correction`, :func:`withdraw` — write, then bring
  the report's published numbers up to date (:func:`republish`): the wide tables, their
  Chinese views and CSV, and the region sums show the corrected value at once;
* :func:`correction_text` — what a corrected number's check says, everywhere a number
  travels (the wide tables' ``…_check``, the comparison's 核对 column): both values, who.

A correction is applied — its value shown in place of the parsed one, the parsed one
named beside it — only while the parser reads the cell as it did when the correction
was made. Otherwise it is *stale* (校正待复核): the parsed value is shown, and the check
says what the person had read and that the parser now reads something else.
"""

from __future__ import annotations

import sqlite3

from archive.parse.values import read_cell
from archive.publish import rollup
from archive.publish.review_text import correction_text, parts_text, shown
from archive.publish.views import WIDE_TABLES, refresh_wide_tables
from archive.store import Archive
from archive.store.derived import refreshing
from archive.store.reviews import (
    STATUSES,
    Correction,
    Review,
    ReviewError,
    correct_cell,
    review_report,
    withdraw_correction,
)

STATUS_NAMES = {"checked": "核对无误", "disputed": "有争议", "withdrawn": "撤回核对结论"}
# What a reader types for a verdict, in either language.
STATUS_WORDS = {**{v: k for k, v in STATUS_NAMES.items()}, **{k: k for k in STATUS_NAMES}}

__all__ = [
    "STATUSES",
    "parts_text",
    "shown",
    "STATUS_NAMES",
    "ReviewError",
    "correction_text",
    "read_value",
    "record_correction",
    "record_review",
    "republish",
    "withdraw",
]


def read_value(text: str | None) -> tuple[float | int | None, str]:
    """A value a person read in the original: a number, or a blank (empty, a dash, 无);
    ``(value, text as typed)``. Anything else is an error: a cell holds a number."""
    cell = read_cell(text)
    if cell.kind == "text":
        raise ReviewError(f"「{cell.raw}」不是数字；空白请填「—」")
    if cell.kind == "blank" and not cell.raw:
        raise ReviewError("请填写原件上的值；原件此格空白请填「—」")
    return cell.value, cell.raw


def status_of(word: str) -> str:
    """``checked`` / ``disputed`` / ``withdrawn`` from the English key or the Chinese name."""
    status = STATUS_WORDS.get((word or "").strip())
    if status is None:
        names = "、".join(f"{k}（{v}）" for k, v in STATUS_NAMES.items())
        raise ReviewError(f"核对结论须为 {names} 之一，而非「{word}」")
    return status


def record_review(
    target: Archive | sqlite3.Connection,
    report_id: int,
    status: str,
    reviewer: str | None,
    note: str | None = None,
) -> Review:
    """Mark the report checked or disputed (or take that back)."""
    return review_report(target, report_id, status_of(status), reviewer, note)


def record_correction(
    target: Archive | sqlite3.Connection,
    report_id: int,
    cell: str,
    typed: str,
    reviewer: str | None,
    note: str | None = None,
) -> Correction:
    """Record what a person read in the original for a cell, and publish it."""
    value, raw = read_value(typed)
    with refreshing(target) as conn:
        correction = correct_cell(conn, report_id, cell, value, raw, reviewer, note)
        republish(conn, report_id)
    return correction


def withdraw(
    target: Archive | sqlite3.Connection,
    report_id: int,
    cell: str,
    reviewer: str | None,
    note: str | None = None,
) -> Correction:
    """Take a cell's correction back, and publish the parsed value again."""
    with refreshing(target) as conn:
        correction = withdraw_correction(conn, report_id, cell, reviewer, note)
        republish(conn, report_id)
    return correction


def republish(conn: sqlite3.Connection, report_id: int) -> None:
    """The report's wide rows and the region sums, again (inside the caller's
    transaction). An archive not yet published gets its corrections when it is."""
    names = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    if not set(WIDE_TABLES) <= names or "regions" not in names:
        return
    refresh_wide_tables(conn, [report_id])
    rollup.refresh(conn)
