"""Review and correction: what people found when they held a report against its original.

Two records, both kept beside what the parser read and never over it:

* a **review** of a report — ``checked`` (核对无误), ``disputed`` (有争议), or
  ``withdrawn`` (the earlier verdict taken back) — with a note, who and when;
* a **correction** of one cell — the value a person read in the original, with a note,
  who and when, and the value the parser had read when it was made.

Both are keyed by what identifies a report and a cell for good: the SHA-256 of the
report's document (``reports.sha256``, unique; a re-parse of the same bytes keeps it, a
new version of the report is another document) and the cell's ``table/row/col`` keys
(``report-json.md``). ``reports.id`` is not used: a report dropped and read again gets a
new one. Both tables are histories, appended to; the newest row is in force.

A correction whose cell the parser now reads differently (a better parser, an OCR
re-run) is **stale**: it is shown as such and not applied, until a person looks again —
a number a person corrected against one reading must not silently replace another.

The functions take an open :class:`~archive.store.database.Archive` or a connection to an
archive file (Datasette's write connection, for the server's form) and write in one
transaction of their own, or in the caller's.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace

from archive.store.database import Archive, _Transaction, now
from archive.store.templates import TEMPLATES, template

STATUSES = ("checked", "disputed")
WITHDRAWN = "withdrawn"
# The tables a snapshot and the publish stage read; absent in an archive not yet migrated.
TABLES = ("report_reviews", "cell_corrections")


class ReviewError(ValueError):
    """A review or correction that cannot be recorded (said in Chinese: a reader sees it
    on the report page, an operator on the command line)."""


@dataclass(frozen=True)
class Review:
    """A person's verdict on a report."""

    id: int
    report_sha256: str
    status: str
    note: str | None
    reviewer: str
    reviewed_at: str


@dataclass(frozen=True)
class Correction:
    """The value a person read in the original for one cell, and what the parser read.

    ``parsed_*`` is what the parser had read when the correction was made; ``current_*``
    what it reads now (filled in by :func:`corrections_of`)."""

    id: int
    report_sha256: str
    table_key: str
    row_key: str
    col_key: str
    value: float | int | None
    raw: str | None
    parsed_read: bool
    parsed_value: float | int | None
    parsed_raw: str | None
    withdrawn: bool
    note: str | None
    reviewer: str
    corrected_at: str
    current_read: bool | None = None
    current_value: float | int | None = None

    @property
    def cell(self) -> str:
        return f"{self.table_key}.{self.row_key}.{self.col_key}"

    @property
    def stale(self) -> bool:
        """Does the parser now read the cell otherwise than when it was corrected (and
        otherwise than the person read it, which would settle the matter)?"""
        if self.current_read is None:
            return False
        now_read = (self.current_read, self.current_value)
        return now_read not in ((self.parsed_read, self.parsed_value), (True, self.value))


# A correction's row in ``cell_corrections``: every field but its id and what the parser
# reads now (those are the row's key and a later reading, not what was recorded).
_STORED = tuple(
    f.name
    for f in dataclasses.fields(Correction)
    if f.name not in ("id", "current_read", "current_value")
)


def _connection(target: Archive | sqlite3.Connection) -> sqlite3.Connection:
    return target.db.conn if isinstance(target, Archive) else target


def has_reviews(target: Archive | sqlite3.Connection) -> bool:
    """Does this archive (or copy of one) hold the review tables?"""
    conn = _connection(target)
    found = conn.execute(
        "select count(*) from sqlite_master where type = 'table' and name in (?, ?)", TABLES
    ).fetchone()[0]
    return found == len(TABLES)


def require_report(target: Archive | sqlite3.Connection, report_id: int) -> None:
    """Fail, in Chinese, when the archive has no report with this id."""
    _report(_connection(target), report_id)


def _report(conn: sqlite3.Connection, report_id: int) -> tuple[str, str | None]:
    row = conn.execute("select sha256, template from reports where id = ?", [report_id]).fetchone()
    if row is None:
        raise ReviewError(f"没有编号为 {report_id} 的报告")
    return row[0], row[1]


def _who(reviewer: str | None) -> str:
    name = " ".join((reviewer or "").split())
    if not name:
        raise ReviewError("须写明核对人")
    return name


def _note(note: str | None) -> str | None:
    text = (note or "").strip()
    return text or None


def review_report(
    target: Archive | sqlite3.Connection,
    report_id: int,
    status: str,
    reviewer: str | None,
    note: str | None = None,
) -> Review:
    """Record that a person checked the report against its original (``checked``), found
    it disputed (``disputed``), or took the earlier verdict back (``withdrawn``)."""
    if status not in (*STATUSES, WITHDRAWN):
        raise ReviewError(f"核对结论须为 checked（核对无误）或 disputed（有争议），而非 {status!r}")
    conn = _connection(target)
    who, text, at = _who(reviewer), _note(note), now()
    if status == "disputed" and not text:
        raise ReviewError("标为有争议须写明理由")
    with _Transaction(conn):
        sha, _ = _report(conn, report_id)
        cursor = conn.execute(
            "INSERT INTO report_reviews (report_sha256, status, note, reviewer, reviewed_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [sha, status, text, who, at],
        )
    return Review(cursor.lastrowid or 0, sha, status, text, who, at)


def cell_keys(template_id: str | None) -> set[str]:
    """The cells a report of this template prints (``t4.review.total`` …)."""
    if template_id not in TEMPLATES:
        return set()
    return {f"{t}.{r}.{c}" for t, r, c in template(template_id).cell_keys()}


def _split_cell(cell: str) -> tuple[str, str, str]:
    parts = cell.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise ReviewError(f"单元格须写作 表.行.列（如 t4.review.total），而非 {cell!r}")
    return parts[0], parts[1], parts[2]


def correct_cell(
    target: Archive | sqlite3.Connection,
    report_id: int,
    cell: str,
    value: float | int | None,
    raw: str | None,
    reviewer: str | None,
    note: str | None = None,
) -> Correction:
    """Record the value a person read in the original for one cell (``None``: printed
    blank), beside what the parser read, which stays as it is."""
    return _write_correction(target, report_id, cell, value, raw, reviewer, note, False)


def withdraw_correction(
    target: Archive | sqlite3.Connection,
    report_id: int,
    cell: str,
    reviewer: str | None,
    note: str | None = None,
) -> Correction:
    """Take a cell's correction back: the parsed value is the one shown again."""
    conn = _connection(target)
    with _Transaction(conn):
        sha, _ = _report(conn, report_id)
        if _current_row(conn, sha, _split_cell(cell)) is None:
            raise ReviewError(f"单元格 {cell} 没有有效的校正可撤回")
        return _write_correction(conn, report_id, cell, None, None, reviewer, note, True)


def _current_row(conn: sqlite3.Connection, sha: str, keys: tuple[str, str, str]) -> tuple | None:
    row = conn.execute(
        "select withdrawn from cell_corrections where report_sha256 = ? and table_key = ? "
        "and row_key = ? and col_key = ? order by id desc limit 1",
        [sha, *keys],
    ).fetchone()
    return row if row is not None and not row[0] else None


def _write_correction(
    target: Archive | sqlite3.Connection,
    report_id: int,
    cell: str,
    value: float | int | None,
    raw: str | None,
    reviewer: str | None,
    note: str | None,
    withdrawn: bool,
) -> Correction:
    conn = _connection(target)
    keys = _split_cell(cell)
    key = ".".join(keys)
    who, text, at = _who(reviewer), _note(note), now()
    with _Transaction(conn):
        sha, template_id = _report(conn, report_id)
        parsed = conn.execute(
            "select value, raw from cells where report_id = ? and table_key = ? "
            "and row_key = ? and col_key = ?",
            [report_id, *keys],
        ).fetchone()
        if parsed is None and key not in cell_keys(template_id):
            raise ReviewError(f"报告 {report_id} 没有单元格 {key}")
        parsed_value, parsed_raw = parsed if parsed is not None else (None, None)
        if not withdrawn and parsed is not None and parsed_value == value:
            raise ReviewError(
                f"原件的值与解析值相同（{_shown(value)}），无须校正；核对无误请标注报告"
            )
        read = parsed is not None
        correction = Correction(
            0, sha, *keys, value, raw, read, parsed_value, parsed_raw, withdrawn, text, who, at,
            current_read=read, current_value=parsed_value,
        )  # fmt: skip
        cursor = conn.execute(
            f"INSERT INTO cell_corrections ({', '.join(_STORED)}) "
            f"VALUES ({', '.join('?' * len(_STORED))})",
            [getattr(correction, name) for name in _STORED],
        )
    return replace(correction, id=cursor.lastrowid or 0)


def _shown(value: float | int | None) -> str:
    if value is None:
        return "空白"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- reading ----------------------------------------------------------------------------


def reviews_of(target: Archive | sqlite3.Connection, report_id: int) -> list[Review]:
    """Every review of the report, oldest first (the last is in force)."""
    conn = _connection(target)
    if not has_reviews(conn):
        return []
    rows = conn.execute(
        "select v.id, v.report_sha256, v.status, v.note, v.reviewer, v.reviewed_at "
        "from report_reviews v join reports r on r.sha256 = v.report_sha256 "
        "where r.id = ? order by v.id",
        [report_id],
    ).fetchall()
    return [Review(*row) for row in rows]


def review_in_force(target: Archive | sqlite3.Connection, report_id: int) -> Review | None:
    """The report's last verdict, unless it was withdrawn."""
    conn = _connection(target)
    found = reviews_of(conn, report_id)
    return found[-1] if found and found[-1].status != WITHDRAWN else None


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


_CORRECTIONS = (
    "select r.id, k.id, k.report_sha256, k.table_key, k.row_key, k.col_key, k.value, k.raw, "
    "k.parsed_read, k.parsed_value, k.parsed_raw, k.withdrawn, k.note, k.reviewer, "
    "k.corrected_at, c.report_id is not null, c.value "
    "from cell_corrections k join reports r on r.sha256 = k.report_sha256 "
    "left join cells c on c.report_id = r.id and c.table_key = k.table_key "
    "and c.row_key = k.row_key and c.col_key = k.col_key "
    "where k.id = (select max(l.id) from cell_corrections l "
    "where l.report_sha256 = k.report_sha256 and l.table_key = k.table_key "
    "and l.row_key = k.row_key and l.col_key = k.col_key) and k.withdrawn = 0"
)


def corrections_of(
    target: Archive | sqlite3.Connection, report_ids: list[int] | None
) -> dict[int, dict[str, Correction]]:
    """The corrections in force of these reports (every report when None), with what the
    parser reads now: report id → cell key → :class:`Correction`."""
    conn = _connection(target)
    if not has_reviews(conn):
        return {}
    found: dict[int, dict[str, Correction]] = {}
    batches: list[tuple[str, list[int]]] = (
        [("", [])]
        if report_ids is None
        else [
            (f" and r.id in ({','.join('?' * len(chunk))})", chunk) for chunk in _chunks(report_ids)
        ]
    )
    for where, args in batches:
        for report_id, *fields in conn.execute(_CORRECTIONS + where, args):
            correction = _correction(fields[:14], bool(fields[14]), fields[15])
            found.setdefault(report_id, {})[correction.cell] = correction
    return found


def correction_history(target: Archive | sqlite3.Connection, report_id: int) -> list[Correction]:
    """Every correction of the report's cells, withdrawals included, oldest first."""
    conn = _connection(target)
    if not has_reviews(conn):
        return []
    rows = conn.execute(
        "select k.id, k.report_sha256, k.table_key, k.row_key, k.col_key, k.value, k.raw, "
        "k.parsed_read, k.parsed_value, k.parsed_raw, k.withdrawn, k.note, k.reviewer, "
        "k.corrected_at from cell_corrections k join reports r on r.sha256 = k.report_sha256 "
        "where r.id = ? order by k.id",
        [report_id],
    ).fetchall()
    return [_correction(row) for row in rows]


def _correction(
    row, current_read: bool | None = None, current_value: float | int | None = None
) -> Correction:
    """A correction from its 14 stored columns (in the table's order, ``id`` first)."""
    return Correction(
        id=row[0],
        report_sha256=row[1],
        table_key=row[2],
        row_key=row[3],
        col_key=row[4],
        value=row[5],
        raw=row[6],
        parsed_read=bool(row[7]),
        parsed_value=row[8],
        parsed_raw=row[9],
        withdrawn=bool(row[10]),
        note=row[11],
        reviewer=row[12],
        corrected_at=row[13],
        current_read=current_read,
        current_value=current_value,
    )


@dataclass(frozen=True)
class Reviewed:
    """A report someone reviewed or corrected: its verdict in force and its corrections."""

    report_id: int
    year: int | None
    agency: str | None
    title: str | None
    status: str | None
    reviewer: str | None
    reviewed_at: str | None
    corrections: int
    stale: int


def reviewed_reports(
    target: Archive | sqlite3.Connection, status: str | None = None
) -> list[Reviewed]:
    """Every report with a verdict in force or a correction in force, by year and agency;
    ``status``: only those whose verdict is this one."""
    conn = _connection(target)
    if not has_reviews(conn):
        return []
    verdicts = {
        row[0]: row[1:]
        for row in conn.execute(
            "select r.id, v.status, v.reviewer, v.reviewed_at from report_reviews v "
            "join reports r on r.sha256 = v.report_sha256 where v.id = (select max(l.id) "
            "from report_reviews l where l.report_sha256 = v.report_sha256) "
            "and v.status != 'withdrawn'"
        )
    }
    corrections = corrections_of(conn, None)
    ids = set(verdicts) | set(corrections)
    if status is not None:
        ids = {i for i in ids if verdicts.get(i, (None,))[0] == status}
    about = {
        row[0]: row[1:]
        for chunk in _chunks(sorted(ids))
        for row in conn.execute(
            f"select id, year, agency, title from reports where id in ({','.join('?' * len(chunk))})",
            chunk,
        )
    }
    found = []
    for report_id in ids:
        status_, reviewer, reviewed_at = verdicts.get(report_id, (None, None, None))
        year, agency, title = about[report_id]
        fixed = corrections.get(report_id, {}).values()
        found.append(
            Reviewed(
                report_id=report_id,
                year=year,
                agency=agency,
                title=title,
                status=status_,
                reviewer=reviewer,
                reviewed_at=reviewed_at,
                corrections=len(fixed),
                stale=sum(1 for c in fixed if c.stale),
            )
        )
    return sorted(found, key=lambda r: (r.year or 0, r.agency or "", r.report_id))
