"""The archive: one SQLite file holding what was fetched and what was read from it.

Raw captures are kept byte for byte beside the parsed tables, so that any number
can be traced to the bytes it came from and the parser can be re-run without
refetching. The schema carries a version (``PRAGMA user_version``) and a list of
migrations: opening an older archive upgrades it in place. WAL mode lets
Datasette read while a crawl writes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from archive.store import coverage
from archive.store.schema import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 30_000


class ArchiveError(RuntimeError):
    """The archive cannot be used as asked: an operator's problem, said in one line."""


class ArchiveMissing(ArchiveError):
    """A command that reads an archive was given a path where there is none."""


class ArchiveUnwritable(ArchiveError):
    """The archive (or the directory it lives in) cannot be written."""


class SchemaError(ArchiveError):
    """The archive's schema is newer than this nianbao, or a migration failed."""


class NotAnArchive(ArchiveError):
    """The file given as the archive is not an SQLite database at all."""


class DiskFull(ArchiveError):
    """The disk holding the archive (or a copy of it) is full."""


def newer_schema(path: str | Path, version: int) -> SchemaError:
    return SchemaError(
        f"{path} has schema version {version}, newer than this nianbao ({SCHEMA_VERSION}); "
        "upgrade nianbao"
    )


def check_archive(path: str | Path) -> None:
    """Refuse, before anything is opened for writing, a file that is no SQLite database
    (:class:`NotAnArchive`) or whose schema is newer than this nianbao (:class:`SchemaError`):
    what every command that is given an archive says first, the same way — including
    those that only read it (a snapshot, a WARC file), which would otherwise copy or read
    what they do not understand. Whatever else is wrong (a locked or unreadable file) is
    left for the command's own opening to say.

    Opened for writing when it may be (nothing is written): the last connection to a WAL
    archive removes the ``-wal`` and ``-shm`` files a read-only one would leave behind."""
    conn = None
    for mode in ("rw", "ro"):
        try:
            conn = sqlite3.connect(
                f"file:{Path(path).resolve()}?mode={mode}",
                uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            break
        except sqlite3.Error:
            continue
    if conn is None:
        return
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        known = storage_error(path, exc)
        if isinstance(known, NotAnArchive):
            raise known from None
        return
    finally:
        conn.close()
    if version > SCHEMA_VERSION:
        raise newer_schema(path, version)


def storage_error(path: str | Path, exc: BaseException) -> ArchiveError | None:
    """The operator's error behind a SQLite or OS error on ``path``, or None for a bug.

    SQLite says ``SQLITE_FULL`` for a full disk (and for a size limit), ``SQLITE_READONLY``
    or ``SQLITE_CANTOPEN`` for files and directories it may not write, ``SQLITE_IOERR``
    for a failing device; the OS says ENOSPC, EDQUOT, EROFS, EACCES.
    """
    name = getattr(exc, "sqlite_errorname", "") or ""
    code = getattr(exc, "errno", None)
    if name.startswith("SQLITE_FULL") or code in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"no space left for {path} ({exc}); free some space and run it again")
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or code in (
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.EISDIR,
    ):
        return ArchiveUnwritable(
            f"cannot write {path} ({exc}); check that the file and its directory are "
            "writable by this user"
        )
    if name.startswith("SQLITE_IOERR") or code == errno.EIO:
        return ArchiveError(f"input/output error on {path} ({exc}); check the disk")
    if name.startswith("SQLITE_NOTADB"):
        return NotAnArchive(f"{path} is not an SQLite archive ({exc})")
    if name.startswith("SQLITE_CORRUPT"):
        return ArchiveError(f"{path} is not a usable SQLite archive ({exc})")
    return None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Archive:
    """The archive database. A library first: the CLI, the crawler's item pipeline
    and the parse stage all go through this class."""

    def __init__(self, path: str | Path, create: bool = True):
        """Open the archive at ``path``; with ``create=False`` (commands that read an
        archive) a missing file is an error instead of a new, empty archive."""
        self.path = Path(path)
        self._registry_rows: dict[str | None, dict] = {}
        if not create and not self.path.is_file():
            raise ArchiveMissing(f"{path} does not exist (is --db right?)")
        if self.path.is_dir():
            raise ArchiveUnwritable(f"{path} is a directory, not an archive file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
        except FileExistsError as exc:  # a file where a directory of the path should be
            raise ArchiveUnwritable(
                f"cannot create {path}: {exc.filename} is a file, not a directory"
            ) from exc
        except (sqlite3.Error, OSError) as exc:
            raise storage_error(self.path, exc) or ArchiveUnwritable(
                f"cannot open {path} ({exc})"
            ) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db = sqlite_utils.Database(conn)
            self.db.enable_wal()
            conn.execute("PRAGMA foreign_keys = ON")
            self.migrate()
        except BaseException as exc:
            conn.close()
            known = storage_error(self.path, exc) if isinstance(exc, sqlite3.Error) else None
            if known is not None:
                raise known from exc
            raise

    def close(self) -> None:
        self.db.conn.close()

    def ensure_writable(self) -> None:
        """Fail now, in one line, if the archive cannot be written (a read-only file or
        file system), rather than at the first capture: a write that is rolled back."""
        try:
            with self.transaction():
                self.db.conn.execute("CREATE TABLE _nianbao_write_probe (x)")
                raise _Probed
        except _Probed:
            return
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc) or ArchiveUnwritable(
                f"cannot write {self.path} ({exc})"
            ) from exc

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, one migration per transaction.

        Two processes may open a new or older archive at once (a crawl and ``process
        --follow`` beside it): each migration checks, under the write lock its transaction
        holds, that the other has not applied it meanwhile."""
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise newer_schema(self.path, version)
        for number in range(version + 1, SCHEMA_VERSION + 1):
            try:
                with self.transaction():
                    if self.schema_version >= number:
                        continue  # applied by another process since the version was read
                    MIGRATIONS[number - 1](self.db.conn)
                    self.db.conn.execute(f"PRAGMA user_version = {number}")
            except Exception as exc:  # noqa: BLE001 (any failure leaves the archive as it was)
                known = storage_error(self.path, exc)
                if isinstance(known, DiskFull | ArchiveUnwritable):
                    raise known from exc
                raise SchemaError(
                    f"{self.path}: migration {number} of {SCHEMA_VERSION} failed ({exc}); "
                    f"the archive is unchanged at schema version {number - 1}"
                ) from exc

    def transaction(self):
        """One unit of work: BEGIN IMMEDIATE … COMMIT, or part of the transaction already open."""
        return _Transaction(self.db.conn)

    @property
    def in_transaction(self) -> bool:
        return self.db.conn.in_transaction

    def begin(self) -> None:
        """Open a transaction that stays open across calls, until :meth:`commit`: for a
        writer whose batch of stores spans callbacks (the crawl's captures). Work that fits
        in one block uses :meth:`transaction` or :meth:`batches`."""
        self.db.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """Commit the transaction :meth:`begin` opened (nothing when none is open)."""
        if self.db.conn.in_transaction:
            self.db.conn.execute("COMMIT")

    @contextmanager
    def batches(self, size: int) -> Iterator[Callable[[], None]]:
        """One immediate transaction per ``size`` units of work, so that a writer killed at
        any moment redoes at most one batch. The block calls the function it is given after
        each unit; the last, partial batch commits when the block ends, and an error rolls
        back the open batch only (the committed ones stay)."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        pending = 0

        def done_one() -> None:
            nonlocal pending
            pending += 1
            if pending >= size:
                conn.execute("COMMIT")
                conn.execute("BEGIN IMMEDIATE")
                pending = 0

        try:
            yield done_one
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def fsync_at_checkpoints(self) -> None:
        """WAL + ``synchronous = NORMAL``: every transaction stays atomic and survives the
        process being killed; only a power cut could lose the last few (which a writer that
        commits often — the crawl, the parse stage — simply redoes). FULL would fsync every
        commit."""
        self.db.conn.execute("PRAGMA synchronous = NORMAL")

    def insert(self, table: str, record: dict) -> int:
        """Plain INSERT inside the caller's transaction (sqlite-utils would commit early)."""
        columns = list(record)
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        )
        rowid = self.db.conn.execute(sql, [record[c] for c in columns]).lastrowid
        if rowid is None:  # an INSERT always sets it
            raise sqlite3.OperationalError(f"no row id after inserting into {table}")
        return rowid

    def _insert_many(self, table: str, report_id: int, rows: list[dict]) -> None:
        """Rows of one report in one statement (a report has hundreds of cells)."""
        if not rows:
            return
        columns = [*rows[0], "report_id"]
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        )
        self.db.conn.executemany(sql, [[*row.values(), report_id] for row in rows])

    def update(self, table: str, pk: int, record: dict) -> None:
        sets = ", ".join(f"{c} = ?" for c in record)
        self.db.conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*record.values(), pk])

    # -- sites -------------------------------------------------------------
    def load_sites(self, rows: list[dict]) -> None:
        self._registry_rows.clear()
        with self.transaction():
            for row in rows:
                record = {**row, "loaded_at": now()}
                columns = list(record)
                self.db.conn.execute(
                    f"INSERT INTO sites ({', '.join(columns)}) VALUES "
                    f"({', '.join('?' for _ in columns)}) ON CONFLICT(site_id) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in columns if c != "site_id"),
                    [record[c] for c in columns],
                )

    def site(self, site_id: str | None) -> dict | None:
        if not site_id:
            return None
        rows = list(self.db["sites"].rows_where("site_id = ?", [site_id]))
        return rows[0] if rows else None

    def registry_row(self, site_id: str | None) -> dict:
        """The registry row of a site (empty for none), read once while the archive is
        open: the parse stage asks for it with every report of the site."""
        if site_id not in self._registry_rows:
            self._registry_rows[site_id] = self.site(site_id) or {}
        return self._registry_rows[site_id]

    def start_urls(self) -> list[str]:
        """Every site's start URL, as the registry loaded into the archive gives it."""
        return [r[0] for r in self.db.execute("select start_url from sites")]

    # -- crawl runs ----------------------------------------------------------
    def start_run(self, sites_csv: str | None, pid: int) -> int:
        with self.transaction():
            return self.insert(
                "crawl_runs",
                {
                    "started_at": now(),
                    "status": "running",
                    "sites_csv": sites_csv,
                    "pid": pid,
                    "pages_fetched": 0,
                    "captures_stored": 0,
                    "failures": 0,
                },
            )

    def finish_run(self, run_id: int, status: str, stats: dict) -> None:
        counts = {
            "pages_fetched": stats.get("response_received_count", 0),
            "captures_stored": self.db.execute(
                "select count(*) from captures where run_id = ?", [run_id]
            ).fetchone()[0],
            "failures": self.db.execute(
                "select count(*) from captures where run_id = ? and (error is not null "
                "or status >= 400)",
                [run_id],
            ).fetchone()[0],
        }
        with self.transaction():
            self.update(
                "crawl_runs",
                run_id,
                {
                    "finished_at": now(),
                    "status": status,
                    **counts,
                    "stats": json.dumps(stats, default=str, ensure_ascii=False, sort_keys=True),
                },
            )

    # -- captures ------------------------------------------------------------
    def add_capture(self, capture: dict) -> int:
        """Store one fetch. The body goes in as bytes, exactly as received."""
        body = capture.get("body")
        record = {
            **capture,
            # A revisit record has no body but may name the size and digest it saw.
            "size": len(body) if body is not None else capture.get("size"),
            "sha256": sha256(body) if body is not None else capture.get("sha256"),
            "fetched_at": capture.get("fetched_at") or now(),
        }
        for key in ("headers", "redirects"):
            if isinstance(record.get(key), dict | list):
                record[key] = json.dumps(record[key], ensure_ascii=False)
        with self.transaction():
            return self.insert("captures", record)

    def add_fetch(self, capture: dict) -> int:
        """Store one fetch of a crawl, keeping no body twice.

        A 304 (``revisit_of`` set by the crawler) and a body identical to the last one
        stored for the same URL both become a revisit record: no body, ``revisit_of``
        pointing at the capture that holds the bytes. A different body is a new capture.
        """
        body = capture.get("body")
        if capture.get("revisit_of"):
            return self.add_capture({**capture, "body": None, "not_modified": 1})
        if body is not None:
            last = self.last_body_capture(capture["url"])
            digest = sha256(body)
            if last and last["sha256"] == digest:
                return self.add_capture(
                    {
                        **capture,
                        "body": None,
                        "revisit_of": last["id"],
                        "not_modified": 0,
                        "size": len(body),
                        "sha256": digest,
                    }
                )
        return self.add_capture(capture)

    def last_body_capture(self, url: str) -> dict | None:
        """The newest capture of ``url`` that holds a body (id, sha256, headers, status)."""
        row = self.db.execute(
            "select id, sha256, headers, status, final_url, content_type from captures "
            "where url = ? and body is not null order by id desc limit 1",
            [url],
        ).fetchone()
        return (
            dict(
                zip(
                    ("id", "sha256", "headers", "status", "final_url", "content_type"),
                    row,
                    strict=True,
                )
            )
            if row
            else None
        )

    def capture_in_runs(self, url: str, run_ids: list[int]) -> dict | None:
        """The newest capture of ``url`` made by one of ``run_ids`` (a crawl being resumed)."""
        if not run_ids:
            return None
        marks = ", ".join("?" for _ in run_ids)
        row = self.db.execute(
            f"select id, status, final_url, headers, error, coalesce(revisit_of, id), redirects "
            f"from captures where url = ? and run_id in ({marks}) order by id desc limit 1",
            [url, *run_ids],
        ).fetchone()
        keys = ("id", "status", "final_url", "headers", "error", "body_id", "redirects")
        return dict(zip(keys, row, strict=True)) if row else None

    def redirected_pages(self, run_ids: list[int], roles: tuple[str, ...]) -> list[tuple]:
        """(site_id, final_url) of the pages of ``roles`` that were redirected in ``run_ids``."""
        if not run_ids:
            return []
        return self.db.execute(
            f"select site_id, final_url from captures where run_id in "
            f"({', '.join('?' for _ in run_ids)}) and redirects is not null and role in "
            f"({', '.join('?' for _ in roles)}) and final_url is not null",
            [*run_ids, *roles],
        ).fetchall()

    def linking_page(self, capture: dict) -> dict | None:
        """The page that linked a capture (its ``referer``), as last stored with its bytes:
        ``url`` (where it answered), ``body``, ``content_type``; None when not archived."""
        if not capture.get("referer"):
            return None
        row = self.db.execute(
            "select coalesce(c.final_url, c.url), coalesce(c.body, b.body), c.content_type "
            "from captures c left join captures b on b.id = c.revisit_of where c.url = ? "
            "and coalesce(c.body, b.body) is not null order by c.id desc limit 1",
            [capture["referer"]],
        ).fetchone()
        return dict(zip(("url", "body", "content_type"), row, strict=True)) if row else None

    def body(self, capture_id: int) -> bytes | None:
        row = self.db.execute("select body from captures where id = ?", [capture_id]).fetchone()
        return row[0] if row else None

    # -- interrupted crawls ------------------------------------------------------
    def interrupted_runs(self, sites_csv: str | None, alive: Callable[[int], bool]) -> list[int]:
        """The runs a new crawl of ``sites_csv`` continues: the last one, if it did not
        finish and its process is gone, with every run that one itself continued."""
        row = self.db.execute(
            "select id, status, pid from crawl_runs where sites_csv is ? order by id desc limit 1",
            [sites_csv],
        ).fetchone()
        if not row or row[1] == "finished" or (row[1] == "running" and alive(row[2])):
            return []
        chain, run_id = [], row[0]
        while run_id is not None and run_id not in chain:
            chain.append(run_id)
            run_id = self.db.execute(
                "select resumes from crawl_runs where id = ?", [run_id]
            ).fetchone()[0]
        return chain

    def start_resumed_run(self, sites_csv: str | None, pid: int, resumes: int | None) -> int:
        run_id = self.start_run(sites_csv, pid)
        if resumes is not None:
            with self.transaction():
                self.update("crawl_runs", resumes, {"status": "interrupted"})
                self.update("crawl_runs", run_id, {"resumes": resumes})
        return run_id

    # -- per-site counts -----------------------------------------------------------
    def record_site_counts(
        self, run_id: int, run_ids: list[int], site_ids: list[str], finished: bool = True
    ) -> list[dict]:
        """Count, per site, what the crawl (``run_ids``: this run and those it resumed) got,
        give each site its status, and raise an alert where a site gave fewer reports than
        in its last good run; widen each site's coverage with what the crawl proved
        (:mod:`archive.store.coverage`). ``finished``: the crawl ran to its end (not
        stopped)."""
        marks = ", ".join("?" for _ in run_ids)
        counts, proofs = self._site_counts(marks, run_ids)
        last_good = dict(
            self.db.execute(
                "select k.site_id, k.reports_found from crawl_site_counts k join ("
                "  select k2.site_id, max(k2.run_id) run_id from crawl_site_counts k2 join "
                "  crawl_runs r on r.id = k2.run_id where r.status = 'finished' and "
                f"  r.id not in ({marks}) group by k2.site_id) g "
                "on g.site_id = k.site_id and g.run_id = k.run_id",
                run_ids,
            ).fetchall()
        )
        starts = self._start_pages(marks, run_ids)
        rows = []
        for site_id in site_ids:
            row = counts.get(site_id) or _empty_counts()
            last = last_good.get(site_id)
            if last and row["reports_found"] < last:
                row["alert"] = (
                    f"fewer reports than the last good run: {row['reports_found']} < {last}"
                )
            row["status"], row["status_detail"] = site_status(row, starts.get(site_id), finished)
            rows.append({"run_id": run_id, "site_id": site_id, **row})
        with self.transaction():
            self.db.conn.execute("delete from crawl_site_counts where run_id = ?", [run_id])
            for row in rows:
                self.insert("crawl_site_counts", row)
            coverage.record(self.db.conn, run_id, run_ids, rows, proofs)
        return rows

    def _site_counts(
        self, marks: str, run_ids: list[int]
    ) -> tuple[dict[str, dict], dict[str, dict[str, int]]]:
        """The counts of every site of the crawl, in one pass over its captures; and per
        site what it proves (:mod:`archive.store.coverage`): pages read, report links
        followed."""
        counts: dict[str, dict] = {}
        proofs: dict[str, dict[str, int]] = {}
        for (
            site_id,
            fetched,
            not_modified,
            unchanged,
            new,
            changed,
            reports,
            read,
            report_links,
        ) in self.db.execute(site_counts_sql(marks), run_ids):
            proofs[site_id] = {"pages_read": read or 0, "report_links": report_links or 0}
            counts[site_id] = {
                **_empty_counts(),
                "pages_fetched": fetched,
                "not_modified": not_modified or 0,
                "unchanged": unchanged or 0,
                "new": new or 0,
                "changed": changed or 0,
                "reports_found": reports,
            }
        reasons: dict[str, dict[str, int]] = {}
        for site_id, error, status in self.db.execute(
            f"select site_id, error, status from captures where run_id in ({marks}) and "
            "(error is not null or status >= 400)",
            run_ids,
        ):
            reason = _failure_reason(error, status)
            by_reason = reasons.setdefault(site_id, {})
            by_reason[reason] = by_reason.get(reason, 0) + 1
            row = counts.setdefault(site_id, _empty_counts())
            if reason == "blocked" and not row["blocked"]:
                row["blocked"] = error.split(":")[1].strip()
        for site_id, by_reason in reasons.items():
            counts[site_id]["failed"] = sum(by_reason.values())
            counts[site_id]["failed_by_reason"] = json.dumps(by_reason, sort_keys=True)
        return counts, proofs

    def _start_pages(self, marks: str, run_ids: list[int]) -> dict[str, tuple]:
        """Each site's last start-page capture of the crawl: (status, error, url, final_url)."""
        return {
            site_id: (status, error, url, final_url)
            for site_id, status, error, url, final_url in self.db.execute(
                "select site_id, status, error, url, final_url from captures where id in "
                f"(select max(id) "
                f"from captures where run_id in ({marks}) and role = 'start' group by site_id)",
                run_ids,
            )
        }

    def captures_to_parse(self, everything: bool = False, after: int = 0) -> Iterator[dict]:
        """Captures that may hold a report: detail pages and attachments with a body
        (those stored after capture ``after``, for a parse that follows a crawl)."""
        where = _to_parse(everything)
        ids = [
            r[0]
            for r in self.db.execute(
                f"select id from captures where {where} and id > ? order by id", [after]
            )
        ]
        for capture_id in ids:
            cursor = self.db.conn.execute("select * from captures where id = ?", [capture_id])
            row = cursor.fetchone()
            if row is not None:
                yield dict(zip([d[0] for d in cursor.description], row, strict=True))

    def newest_run_id(self) -> int | None:
        row = self.db.execute("select max(id) from crawl_runs").fetchone()
        return row[0] if row else None

    def crawl_storing(self) -> bool:
        """Is a crawl still storing into this archive: its newest run is running and the
        process that started it is alive (on this machine)."""
        row = self.db.execute(
            "select status, pid from crawl_runs order by id desc limit 1"
        ).fetchone()
        return bool(row) and row[0] == "running" and process_alive(row[1])

    def count_captures_to_parse(self, everything: bool = False) -> int:
        """How many captures :meth:`captures_to_parse` would give now."""
        return self.db.execute(
            f"select count(*) from captures where {_to_parse(everything)}"
        ).fetchone()[0]

    def mark_capture(
        self, capture_id: int, status: str, message: str | None, parser_version: str
    ) -> None:
        with self.transaction():
            self.update(
                "captures",
                capture_id,
                {
                    "parse_status": status,
                    "parse_message": message,
                    "parsed_at": now(),
                    "parser_version": parser_version,
                },
            )

    # -- reports ---------------------------------------------------------------
    def save_report(self, report: dict, cells: list[dict], findings: list[dict]) -> int:
        """Insert or update the report with this document's SHA-256, with its cells and findings."""
        with self.transaction():
            existing = self.db.execute(
                "select id from reports where sha256 = ?", [report["sha256"]]
            ).fetchone()
            if existing:
                report_id = existing[0]
                self.update("reports", report_id, report)
                self.db.execute("delete from cells where report_id = ?", [report_id])
                self.db.execute("delete from findings where report_id = ?", [report_id])
            else:
                previous = self.db.execute(
                    "select max(id) from reports where url = ? and sha256 != ?",
                    [report["url"], report["sha256"]],
                ).fetchone()[0]
                report_id = self.insert("reports", {**report, "previous_id": previous})
            self._insert_many("cells", report_id, cells)
            self._insert_many("findings", report_id, findings)
            if report.get("capture_id") is not None:
                self._add_original(
                    report_id,
                    report["capture_id"],
                    report["sha256"],
                    report.get("url"),
                    report.get("format"),
                    "primary",
                )
        return report_id

    def add_original(
        self, report_id: int, capture_id: int, sha: str, url: str | None, fmt: str | None
    ) -> None:
        """Record another original of a report (the PDF an article page attaches …)."""
        with self.transaction():
            self._add_original(report_id, capture_id, sha, url, fmt, "alternate")

    def _add_original(
        self, report_id: int, capture_id: int, sha: str, url: str | None, fmt: str | None, role: str
    ) -> None:
        self.db.conn.execute(
            "INSERT INTO report_originals (report_id, capture_id, sha256, url, format, role) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (report_id, sha256) DO UPDATE SET "
            "capture_id = excluded.capture_id, url = excluded.url, format = excluded.format",
            [report_id, capture_id, sha, url, fmt, role],
        )

    def twin_report(self, capture: dict, year: int | None, template: str | None) -> int | None:
        """The report of the page that links this document, or of the document it links.

        A report published as an article with its signed PDF attached has two originals;
        the link between them (the attachment's referer) and the same site, year and
        template identify the pair. Whether their numbers agree is the caller's test.
        """
        if capture.get("role") == "attachment":  # the page that links this file
            link = "(c.url = :referer OR c.final_url = :referer) AND c.role = 'report'"
        else:  # a file this page links
            link = "c.referer IN (:url, :final_url) AND c.role = 'attachment'"
        row = self.db.execute(
            "SELECT r.id FROM reports r JOIN captures c ON c.id = r.capture_id "
            "WHERE r.site_id IS :site AND r.year IS :year AND r.template IS :template "
            f"AND r.sha256 != :sha AND {link} ORDER BY r.id LIMIT 1",
            {
                "site": capture["site_id"],
                "year": year,
                "template": template,
                "sha": capture["sha256"],
                "referer": capture.get("referer"),
                "url": capture["url"],
                "final_url": capture.get("final_url"),
            },
        ).fetchone()
        return row[0] if row else None

    def report_cells(self, report_id: int) -> dict[tuple[str, str, str], float | None]:
        return {
            (t, r, c): v
            for t, r, c, v in self.db.execute(
                "SELECT table_key, row_key, col_key, value FROM cells WHERE report_id = ?",
                [report_id],
            )
        }

    def drop_report(self, sha: str) -> None:
        """Forget the report read from a document that no longer reads as one."""
        with self.transaction():
            self.db.execute(
                "delete from report_originals where sha256 = ? and role = 'alternate'", [sha]
            )
            row = self.db.execute("select id from reports where sha256 = ?", [sha]).fetchone()
            if row:
                self.db.execute(
                    "update reports set previous_id = null where previous_id = ?", [row[0]]
                )
                for table in (
                    "cells",
                    "findings",
                    "report_originals",
                    "report_sections",
                    "narrative_findings",
                ):
                    self.db.execute(f"delete from {table} where report_id = ?", [row[0]])
                self.db.execute("delete from reports where id = ?", [row[0]])

    def replace_narrative(self, report_id: int, sections: list[dict], findings: list[dict]) -> None:
        """A report's sections and narrative findings, replacing what an earlier parse left
        (part of the caller's transaction, which holds the report itself)."""
        with self.transaction():
            conn = self.db.conn
            conn.execute("delete from report_sections where report_id = ?", [report_id])
            conn.execute("delete from narrative_findings where report_id = ?", [report_id])
            for section in sections:
                self.insert("report_sections", {"report_id": report_id, **section})
            for finding in findings:
                self.insert("narrative_findings", {"report_id": report_id, **finding})

    def report_urls(self) -> list[str]:
        """The URL of every report, in the order the archive holds them."""
        return [r[0] for r in self.db.execute("select url from reports")]

    def counts(self) -> dict[str, int]:
        return {
            t: self.db[t].count
            for t in ("sites", "captures", "reports", "cells", "findings", "crawl_runs")
        }


def _to_parse(everything: bool) -> str:
    """The captures that may hold a report: detail pages and attachments with a body."""
    where = "role in ('report', 'attachment') and body is not null and status < 400"
    return where if everything else where + " and parse_status is null"


def _empty_counts() -> dict:
    return {
        "pages_fetched": 0,
        "not_modified": 0,
        "unchanged": 0,
        "new": 0,
        "changed": 0,
        "failed": 0,
        "failed_by_reason": None,
        "reports_found": 0,
        "blocked": None,
        "alert": None,
        "status": None,
        "status_detail": None,
    }


# Why a site could not be crawled, and what its operator can do about it.
SITE_STATUSES = {
    "ok": "",
    "dns_failed": "the host name does not resolve: check it, or find where the site moved",
    "refused": "the host refuses connections: the server is down or the port is wrong",
    "timeout": "the host does not answer: it is down, or drops this crawler's traffic",
    "tls_error": "the TLS handshake fails: try the http:// URL, or the site's TLS is broken",
    "network_error": "connections to the host break off: try again later",
    "blocked": "the site answers with a JS challenge (needs a browser): not crawled",
    "robots_disallowed": "robots.txt forbids the start page: ask the site, or start elsewhere",
    "http_error": "the start page answers with an HTTP error: fix the start URL",
    "no_report_column": "no report found from the start URL: point it at the 年报 column",
    "not_crawled": "nothing was fetched for the site: is its start URL another site's too?",
}
# Failures of a whole host, as the crawler names them or as the downloader does.
_HOST_FAILURES = {
    "dns_failed": "dns_failed",
    "CannotResolveHostError": "dns_failed",
    "DNSLookupError": "dns_failed",
    "refused": "refused",
    "DownloadConnectionRefusedError": "refused",
    "ConnectionRefusedError": "refused",
    "timeout": "timeout",
    "DownloadTimeoutError": "timeout",
    "TimeoutError": "timeout",
    "TCPTimedOutError": "timeout",
    "tls_error": "tls_error",
    "robots": "robots_disallowed",
}


def site_counts_sql(marks: str) -> str:
    """Per site, what a crawl's runs (``marks``: their placeholders) fetched.

    Every column it reads is in idx_captures_run_site, and the rows are taken from there
    first (materialized), then grouped: grouped directly, SQLite copies each capture's body
    into its sorter to test it for null once sorted (9 s for 1.6 GB of captures)."""
    # Stored already by an earlier capture of the same URL (a revisit that changed
    # nothing): asked once per stored capture, in the second step, not once per sum.
    earlier = (
        "case when stored then exists (select 1 from captures p where p.url = c.url "
        "and p.id < c.id and p.body is not null) else 0 end"
    )
    return (
        "with c as materialized (select id, site_id, status, role, error, not_modified, "
        "revisit_of, url, (body is not null) as stored from captures "
        f"indexed by idx_captures_run_site where run_id in ({marks})), "
        f"e as materialized (select c.*, {earlier} as again from c) "
        "select site_id, count(status), sum(not_modified = 1), "
        "sum(not_modified = 0 and revisit_of is not null), "
        "sum(stored and not again), sum(again), "
        "count(distinct case when role = 'report' and status in (200, 304) and "
        "error is null then url end), "
        "sum(status < 400 and error is null), "
        "count(distinct case when role = 'report' then url end) "
        "from e group by site_id"
    )


def site_status(counts: dict, start: tuple | None, finished: bool = True) -> tuple[str, str | None]:
    """One status per site and run, from its counts and its last start-page capture."""
    reasons = json.loads(counts.get("failed_by_reason") or "{}")
    if counts.get("blocked"):
        return "blocked", f"{SITE_STATUSES['blocked']} ({counts['blocked']})"
    start_status, start_error, start_url, final_url = (*(start or ()), None, None, None, None)[:4]
    if not counts.get("pages_fetched"):  # no HTTP answer at all
        if not reasons:
            return "not_crawled", (
                SITE_STATUSES["not_crawled"]
                if finished
                else "the crawl stopped before reaching the site: the next crawl continues it"
            )
        kinds: dict[str, int] = {}
        for reason, n in reasons.items():
            kind = _HOST_FAILURES.get(reason) or (
                "tls_error" if "SSL" in reason or "TLS" in reason else "network_error"
            )
            kinds[kind] = kinds.get(kind, 0) + n
        kind = max(kinds, key=lambda k: (kinds[k], k == _start_kind(start_error)))
        return kind, _detail(kind, start_error)
    if counts.get("reports_found"):
        return "ok", None
    if start_status is not None and start_status >= 400 and _scheme_swapped(start_url, final_url):
        return "tls_error", (
            f"{SITE_STATUSES['tls_error']} (https:// fails, and http:// answers {start_status})"
        )
    if start_status is not None and start_status >= 400:
        return "http_error", f"{SITE_STATUSES['http_error']} ({start_status})"
    if start_error and "robots.txt" in start_error:
        return "robots_disallowed", SITE_STATUSES["robots_disallowed"]
    fetched = counts.get("pages_fetched") or 0
    if not finished:  # stopped part-way through the site: its reports may be further on
        return "not_crawled", (
            f"the crawl stopped while reading the site ({fetched} pages read): "
            "the next crawl continues it"
        )
    return "no_report_column", f"{SITE_STATUSES['no_report_column']} ({fetched} pages read)"


def _scheme_swapped(url: str | None, final_url: str | None) -> bool:
    """The start page was asked for with https and answered over http (the scheme
    fallback, crawler/middlewares/schemes.py): https itself failed."""
    return bool(url and final_url and url.startswith("https:") and final_url.startswith("http:"))


def _start_kind(error: str | None) -> str | None:
    return _HOST_FAILURES.get(_failure_reason(error, None)) if error else None


def _detail(kind: str, error: str | None) -> str:
    """The status's advice, with what the downloader said about the start page."""
    if not error:
        return SITE_STATUSES[kind]
    said = error.split(": ", 1)[1] if error.split(":", 1)[0] in SITE_STATUSES else error
    return f"{SITE_STATUSES[kind]} ({said[:300]})"


def _failure_reason(error: str | None, status: int | None) -> str:
    """A short name for why a fetch failed: ``http_404``, ``robots``, ``blocked`` …"""
    if error:
        if error.startswith("blocked:"):
            return "blocked"
        if error.startswith("refused:"):
            reason = error.split(":")[1].strip()
            if reason[:1].isupper():  # "refused: DownloadConnectionRefusedError: …"
                return "refused"  # the host refused connections (crawler/middlewares/hosts.py)
            return "refused_" + (reason or "scope")  # outside the network scope: refused_loopback …
        if "robots.txt" in error:
            return "robots"
        if "max size" in error or "DOWNLOAD_MAXSIZE" in error:
            return "oversize"
        return error.split(":", 1)[0].strip() or "error"
    return f"http_{status}"


class _Probed(Exception):
    """Rolls back the write probe of :meth:`Archive.ensure_writable`."""


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, so a writer waits for the lock instead of failing later."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.owner = False

    def __enter__(self):
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.owner = True
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self.owner:
            return False
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return False
            except sqlite3.Error:  # a full disk can refuse the commit: undo, then say so
                self._rollback()
                raise
        self._rollback()
        return False

    def _rollback(self) -> None:
        # SQLite may have rolled back already (SQLITE_FULL, SQLITE_IOERR …).
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


def process_alive(pid: int | None) -> bool:
    """Is a process with this id running on this machine?"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True
