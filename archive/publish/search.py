"""Chinese full-text search that works with nianbao and without it: an n-gram FTS5 index.

Chinese is written without spaces, so SQLite's own tokenizers fail on it: ``unicode61``
makes a whole run of characters between punctuation one token (``复议`` finds nothing
inside ``申请行政复议的``), and ``trigram`` cannot match terms shorter than three
characters (``复议``, ``拆迁``, ``低保`` silently find nothing).

The index holds every run of Chinese characters as *all its substrings of 1 to
:data:`MAX_GRAM` characters*, space-separated, so the standard ``unicode61`` tokenizer
sees each substring as one token (``行政复议`` → ``行 政 复 议 行政 政复 复议 行政复 政复议
行政复议``). A search term of up to eight Chinese characters is then a single token, and
plain FTS5 — the query ``"行政复议"`` that Datasette's search box, ``sqlite-utils search``
and a hand-typed ``MATCH '行政复议'`` all send — finds exactly the reports that contain it.
A longer term is every eight-character piece of it, all required (:func:`fts_query`);
the stored query ``search_reports`` then confirms the whole term in the text.

The index is declared as an external-content table of ``reports``
(``content="reports"``), which is how Datasette and sqlite-utils recognise a table's
full-text index without configuration; it stores no copy of the text, and
``detail=none`` stores no token positions (a single-token query needs none), which
keeps it smaller than the text itself. The price: no phrase queries and no BM25 term
frequencies. ``benchmarks/datasette_bench.py`` measures the alternatives.

The indexed values are the n-gram spelling of ``reports.title`` / ``reports.text``,
not the columns themselves: never run FTS5's ``'rebuild'`` on this table (or
``sqlite-utils rebuild-fts``), which would index the raw text instead.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable, Iterator

FTS_TABLE = "reports_fts"
# Longest Chinese term that is one token of the index. 8 covers the terms reporters
# search (复议 … 最低生活保障, 第三方合法权益) at 1.95 bytes of index per character of
# text (measured: 4 → 1.06, 6 → 1.58; the earlier positional bigram index took 2.76).
MAX_GRAM = 8

# CJK unified ideographs (basic, extension A, compatibility, extensions B–F).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_TERMS = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(rf"[^\W{_CJK}]+")

# The options Datasette's and sqlite-utils' detection reads: content="reports".
SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
    title, text, content="reports", content_rowid="id", detail=none,
    tokenize='unicode61 remove_diacritics 2'
)
"""


def shadow(text: str | None) -> str:
    """The text as the index sees it: every distinct token once — each run of Chinese as
    its pieces of 1 … MAX_GRAM characters, other words as they are. Positions are not
    indexed, so order and repeats carry nothing; writing each token once halves the
    work of indexing (``benchmarks/datasette_bench.py``)."""
    if not text:
        return ""
    tokens: dict[str, None] = {}
    # A run met before adds nothing: reports repeat their labels and phrases (the
    # generated national world's texts are 95 % repeated runs), so each is spelled once.
    for run in dict.fromkeys(_CJK_RUN.findall(text)):
        for size in range(1, min(MAX_GRAM, len(run)) + 1):
            for start in range(len(run) - size + 1):
                tokens[run[start : start + size]] = None
    for word in _WORD.findall(_CJK_RUN.sub(" ", text)):
        tokens[word] = None
    return " ".join(tokens)


def _term_tokens(term: str) -> list[str]:
    """The index tokens one query term must all match."""
    tokens: list[str] = []
    position = 0
    for match in _CJK_RUN.finditer(term):
        tokens += _WORD.findall(term[position : match.start()])
        run = match.group(0)
        if len(run) <= MAX_GRAM:
            tokens.append(run)
        else:
            tokens += [run[i : i + MAX_GRAM] for i in range(len(run) - MAX_GRAM + 1)]
        position = match.end()
    tokens += _WORD.findall(term[position:])
    return list(dict.fromkeys(tokens))


def fts_query(query: str | None) -> str:
    """A search box's text → an FTS5 query over the n-gram index.

    Every whitespace-separated term (or ``"quoted phrase"``) must occur. A Chinese term
    of up to :data:`MAX_GRAM` characters is one quoted token — exactly what SQLite's
    and Datasette's own escaping sends — so nianbao and a plain Datasette agree; longer
    terms and mixed ones (``2023年度``) require each of their pieces. Text without
    Chinese comes out as Datasette's escaping would make it (each word quoted).
    """
    tokens: list[str] = []
    for quoted, bare in _TERMS.findall(query or ""):
        tokens += _term_tokens(quoted or bare)
    # An empty query must still be valid FTS5 syntax; "" matches nothing.
    return " ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(tokens)) or '""'


def needs_confirmation(term: str) -> bool:
    """Can the index only narrow this term down (Chinese longer than MAX_GRAM, or mixed
    with other characters), so that a substring test must confirm it?"""
    has_chinese = _CJK_RUN.search(term) is not None
    return has_chinese and not re.fullmatch(f"[{_CJK}]{{1,{MAX_GRAM}}}", term)


def index_is_current(conn: sqlite3.Connection) -> bool:
    """Is ``reports_fts`` this module's index (not an older layout, not missing)?"""
    return _is_current(conn, FTS_TABLE, SCHEMA)


def sections_index_is_current(conn: sqlite3.Connection) -> bool:
    """Is ``report_sections_fts`` this module's index (not an older layout, not missing)?"""
    return _is_current(conn, SECTIONS_FTS, SECTIONS_SCHEMA)


def _is_current(conn: sqlite3.Connection, table: str, schema: str) -> bool:
    row = conn.execute(
        "select sql from sqlite_master where name = ? and type = 'table'", [table]
    ).fetchone()
    return bool(row) and _normalise(row[0]) == _normalise(schema)


def _normalise(sql: str) -> str:
    return re.sub(r"\s+", " ", sql.replace("IF NOT EXISTS ", "")).strip().lower()


def ensure_index(conn: sqlite3.Connection) -> None:
    """Create the index, replacing one of an older layout (it is rebuilt from reports)."""
    _ensure(conn, FTS_TABLE, SCHEMA)


def _ensure(conn: sqlite3.Connection, table: str, schema: str) -> None:
    exists = conn.execute("select 1 from sqlite_master where name = ?", [table]).fetchone()
    if exists and not _is_current(conn, table, schema):
        conn.execute(f"DROP TABLE {table}")
    conn.execute(schema)


def index_reports(conn: sqlite3.Connection, report_ids: Iterable[int] | None = None) -> int:
    """Add reports to the index (all of them when ``report_ids`` is None)."""
    ensure_index(conn)
    if report_ids is None:
        rows = conn.execute("select id, title, text from reports order by id")
    else:
        rows = _rows_for(conn, list(report_ids))
    count = 0
    insert = f"insert into {FTS_TABLE} (rowid, title, text) values (?, ?, ?)"
    for row in spelled(rows):
        conn.execute(insert, row)
        count += 1
    return count


# Spelling the n-grams out is pure Python and most of a publish (~90 % of it after a
# parse of long reports, measured by benchmarks/process_bench.py): a batch of more than
# PARALLEL_CHARS characters is spelled on every core, in the parse stage's isolated
# workers; a small one (a nightly's few new reports, the tests) here, without starting any.
PARALLEL_CHARS = 1_000_000
MAX_BATCH_ROWS = 2000
SPELL_WORKERS: int | None = None  # None: one per CPU
SPELL_TASK = "archive.publish.search:spell_row"


def _batch(rows: Iterator[tuple[int, str | None, str | None]]) -> list:
    """The next rows, up to PARALLEL_CHARS characters (or MAX_BATCH_ROWS rows)."""
    batch, size = [], 0
    for row in rows:
        batch.append(row)
        size += len(row[1] or "") + len(row[2] or "")
        if size >= PARALLEL_CHARS or len(batch) >= MAX_BATCH_ROWS:
            break
    return batch


def spell_row(first: str | None, second: str | None) -> tuple[str, str]:
    """What a worker does for one row: both of its columns as the index spells them."""
    return shadow(first), shadow(second)


def spelled(
    rows: Iterable[tuple[int, str | None, str | None]], workers: int | None = None
) -> Iterator[tuple[int, str, str]]:
    """``(rowid, shadow(a), shadow(b))`` for each ``(rowid, a, b)``, in order."""
    from archive.parse.isolate import ParseError, ParsePool

    pool: ParsePool | None = None
    rows = iter(rows)
    workers = workers or SPELL_WORKERS
    several = (workers or os.cpu_count() or 1) > 1
    try:
        while batch := _batch(rows):
            size = sum(len(a or "") + len(b or "") for _, a, b in batch)
            if pool is None and (size < PARALLEL_CHARS or not several):
                yield from ((i, shadow(a), shadow(b)) for i, a, b in batch)
                continue
            pool = pool or ParsePool(workers, task=SPELL_TASK)
            for (rowid, first, second), outcome in pool.map(
                ((i, a, b), (a, b), {}) for i, a, b in batch
            ):
                if isinstance(outcome, ParseError):  # a worker died: spell it here
                    outcome = spell_row(first, second)
                yield rowid, *outcome
    finally:
        if pool is not None:
            pool.close()


def _rows_for(conn: sqlite3.Connection, ids: list[int]):
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        yield from conn.execute(
            f"select id, title, text from reports where id in ({','.join('?' * len(chunk))})", chunk
        )


def rebuild_index(conn: sqlite3.Connection) -> int:
    """Empty the index and index every report again.

    The index stores neither the text nor its positions, so it cannot forget one
    document without being told the exact n-grams it indexed, which a report whose
    text changed no longer has; such a change (a reparse that reads the text
    differently, a withdrawn document) rebuilds the index. New reports, and reparsed
    ones whose text is unchanged, cost nothing more than their own insertion.
    """
    ensure_index(conn)
    conn.execute(f"insert into {FTS_TABLE} ({FTS_TABLE}) values ('delete-all')")
    count = index_reports(conn)
    conn.execute(f"insert into {FTS_TABLE} ({FTS_TABLE}) values ('optimize')")
    return count


def search(conn: sqlite3.Connection, query: str, limit: int = 20) -> list[int]:
    """Ids of the reports containing every term of ``query``, newest report first.

    Terms the index cannot decide alone (longer than :data:`MAX_GRAM`, or mixing
    Chinese with other characters) are confirmed in the title and text.
    """
    terms = [q or b for q, b in _TERMS.findall(query or "") if (q or b).strip()]
    confirm = [t for t in terms if needs_confirmation(t)]
    sql = (
        f"select r.id from {FTS_TABLE} f join reports r on r.id = f.rowid where {FTS_TABLE} match ?"
    )
    args: list = [fts_query(query)]
    for term in confirm:
        sql += " and (instr(r.title, ?) or instr(r.text, ?))"
        args += [term, term]
    sql += " order by r.year desc, r.id desc limit ?"
    return [r[0] for r in conn.execute(sql, [*args, limit])]


# The sections of the narrative (report_sections) get the same n-gram index, so that
# 「主要问题及改进情况」 can be searched across agencies, with nianbao or without it.
# A section row's rowid is its key.
SECTIONS_FTS = "report_sections_fts"
SECTIONS_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {SECTIONS_FTS} USING fts5(
    heading, text, content="report_sections", detail=none,
    tokenize='unicode61 remove_diacritics 2'
)
"""


def index_sections(conn: sqlite3.Connection, report_ids: Iterable[int] | None = None) -> int:
    """Add the sections of reports to the sections index (all when ``report_ids`` is None)."""
    _ensure(conn, SECTIONS_FTS, SECTIONS_SCHEMA)
    if not conn.execute("select 1 from sqlite_master where name = 'report_sections'").fetchone():
        return 0  # an archive older than the narrative migration
    sql = "select rowid, heading, text from report_sections"
    if report_ids is None:
        batches = [conn.execute(sql + " order by rowid")]
    else:
        ids = list(report_ids)
        batches = [
            conn.execute(
                sql + f" where report_id in ({','.join('?' * len(ids[i : i + 500]))})",
                ids[i : i + 500],
            )
            for i in range(0, len(ids), 500)
        ]
    count = 0
    insert = f"insert into {SECTIONS_FTS} (rowid, heading, text) values (?, ?, ?)"
    for rows in batches:
        for row in spelled(rows):
            conn.execute(insert, row)
            count += 1
    return count


def rebuild_sections_index(conn: sqlite3.Connection) -> int:
    """Empty the sections index and index every section again (see :func:`rebuild_index`)."""
    _ensure(conn, SECTIONS_FTS, SECTIONS_SCHEMA)
    conn.execute(f"insert into {SECTIONS_FTS} ({SECTIONS_FTS}) values ('delete-all')")
    count = index_sections(conn)
    conn.execute(f"insert into {SECTIONS_FTS} ({SECTIONS_FTS}) values ('optimize')")
    return count
