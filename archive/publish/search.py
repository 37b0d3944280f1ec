"""Chinese full-text search over report titles and text: a bigram index in SQLite FTS5.

Chinese is written without spaces, so SQLite's tokenizers fail on it: ``unicode61``
makes a whole run of characters between punctuation one token (``复议`` finds nothing
inside ``申请行政复议的``), and ``trigram`` cannot match terms shorter than three
characters (``复议``, ``拆迁``, ``低保`` silently find nothing). Measured on this machine
(see ``benchmarks/datasette_bench.py``), the choice that finds both and stays fast
without any SQLite extension is a *bigram shadow*:

* the indexed text is the report's text with every run of Chinese characters written
  as its overlapping character pairs plus the run's last character
  (``行政复议`` → ``行政 政复 复议 议``), so ``unicode61`` sees one token per pair;
* a query is rewritten the same way into an FTS5 phrase (``行政复议`` →
  ``"行政 政复 复议"``): adjacent pairs match exactly the four characters in a row, a
  two-character word is a single token, a single character is a prefix query.

The index is a contentless FTS5 table (``content=''``): it stores the token index
only, not a second copy of the text. Datasette's search box and ``?_search=`` reach it
through the ``escape_fts`` SQL function, which the project's Datasette plugin replaces
with :func:`fts_query` (a superset: queries without Chinese are escaped as before).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable

FTS_TABLE = "reports_fts"

# CJK unified ideographs (basic, extension A, compatibility, extensions B–F).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_TERMS = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(rf"[^\W{_CJK}]+")

SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
    title, text, content='', tokenize='unicode61 remove_diacritics 2'
)
"""


def _pairs(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def shadow(text: str | None) -> str:
    """The text as the index sees it: Chinese runs as pairs, the rest untouched."""
    if not text:
        return ""

    def spell(match: re.Match) -> str:
        run = match.group(0)
        return " " + " ".join([*_pairs(run), run[-1]]) + " "

    return _CJK_RUN.sub(spell, text)


def _term_tokens(term: str) -> tuple[list[str], bool]:
    """Tokens of one query term, and whether it ends in a lone Chinese character."""
    tokens: list[str] = []
    lone_tail = False
    position = 0
    for match in _CJK_RUN.finditer(term):
        tokens += _WORD.findall(term[position : match.start()])
        run = match.group(0)
        tokens += _pairs(run) if len(run) > 1 else [run]
        lone_tail = len(run) == 1 and not _WORD.search(term[match.end() :])
        position = match.end()
    rest = _WORD.findall(term[position:])
    tokens += rest
    return tokens, lone_tail and not rest


def fts_query(query: str | None) -> str:
    """A search box's text → an FTS5 query over the bigram index.

    Every whitespace-separated term (or ``"quoted phrase"``) must occur; each becomes
    an FTS5 phrase of its tokens. Text without Chinese comes out as Datasette's own
    escaping would make it (each term double-quoted), so this can stand in for it.
    """
    phrases = []
    for quoted, bare in _TERMS.findall(query or ""):
        tokens, lone_tail = _term_tokens(quoted or bare)
        if not tokens:
            continue
        phrase = '"' + " ".join(tokens).replace('"', '""') + '"'
        phrases.append(phrase + " *" if lone_tail else phrase)
    # An empty query must still be valid FTS5 syntax; "" matches nothing.
    return " ".join(phrases) or '""'


def ensure_index(conn: sqlite3.Connection) -> None:
    conn.execute(SCHEMA)


def index_reports(conn: sqlite3.Connection, report_ids: Iterable[int] | None = None) -> int:
    """Add reports to the index (all of them when ``report_ids`` is None)."""
    ensure_index(conn)
    if report_ids is None:
        rows = conn.execute("select id, title, text from reports order by id")
    else:
        ids = list(report_ids)
        rows = _rows_for(conn, ids)
    count = 0
    for report_id, title, text in rows:
        conn.execute(
            f"insert into {FTS_TABLE} (rowid, title, text) values (?, ?, ?)",
            [report_id, shadow(title), shadow(text)],
        )
        count += 1
    return count


def _rows_for(conn: sqlite3.Connection, ids: list[int]):
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        yield from conn.execute(
            f"select id, title, text from reports where id in ({','.join('?' * len(chunk))})", chunk
        )


def rebuild_index(conn: sqlite3.Connection) -> int:
    """Empty the index and index every report again.

    A contentless index cannot forget one document without being told the exact text
    it indexed, which an updated report no longer has; so a report that changed or
    disappeared (a reparse, a withdrawn document) rebuilds the index. New reports are
    added incrementally by :func:`index_reports`.
    """
    ensure_index(conn)
    conn.execute(f"insert into {FTS_TABLE} ({FTS_TABLE}) values ('delete-all')")
    count = index_reports(conn)
    conn.execute(f"insert into {FTS_TABLE} ({FTS_TABLE}) values ('optimize')")
    return count


def search(conn: sqlite3.Connection, query: str, limit: int = 20) -> list[tuple[int, float]]:
    """Report ids matching ``query``, best first (FTS5's BM25 rank)."""
    return conn.execute(
        f"select rowid, rank from {FTS_TABLE} where {FTS_TABLE} match ? order by rank limit ?",
        [fts_query(query), limit],
    ).fetchall()


# The sections of the narrative (report_sections) get the same bigram index, so that
# 「主要问题及改进情况」 can be searched across agencies. A section row's rowid is its key.
SECTIONS_FTS = "report_sections_fts"
SECTIONS_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {SECTIONS_FTS} USING fts5(
    heading, text, content='', tokenize='unicode61 remove_diacritics 2'
)
"""


def index_sections(conn: sqlite3.Connection, report_ids: Iterable[int] | None = None) -> int:
    """Add the sections of reports to the sections index (all when ``report_ids`` is None)."""
    conn.execute(SECTIONS_SCHEMA)
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
    for rows in batches:
        for rowid, heading, text in rows:
            conn.execute(
                f"insert into {SECTIONS_FTS} (rowid, heading, text) values (?, ?, ?)",
                [rowid, shadow(heading), shadow(text)],
            )
            count += 1
    return count


def rebuild_sections_index(conn: sqlite3.Connection) -> int:
    """Empty the sections index and index every section again (see :func:`rebuild_index`)."""
    conn.execute(SECTIONS_SCHEMA)
    conn.execute(f"insert into {SECTIONS_FTS} ({SECTIONS_FTS}) values ('delete-all')")
    count = index_sections(conn)
    conn.execute(f"insert into {SECTIONS_FTS} ({SECTIONS_FTS}) values ('optimize')")
    return count
