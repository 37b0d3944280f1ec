"""Chinese full-text search that works with nianbao and without it: n-gram FTS5 indexes.

Chinese is written without spaces, so SQLite's own tokenizers fail on it: ``unicode61``
makes a whole run of characters between punctuation one token (``复议`` finds nothing
inside ``申请行政复议的``), and ``trigram`` cannot match terms shorter than three
characters (``复议``, ``拆迁``, ``低保`` silently find nothing).

**reports_fts.** The index holds every run of Chinese characters as *all its substrings
of 1 to* :data:`MAX_GRAM` *characters*, space-separated, so the standard ``unicode61``
tokenizer sees each substring as one token (``行政复议`` → ``行 政 复 议 行政 政复 复议 行政复
政复议 行政复议``). A search term of up to eight Chinese characters is then a single token,
and plain FTS5 — the query ``"行政复议"`` that Datasette's search box, ``sqlite-utils
search`` and a hand-typed ``MATCH '行政复议'`` all send — finds exactly the reports that
contain it, in their title, text, agency or region. It is declared as an
external-content table of ``reports`` (``content="reports"``), which is how Datasette
and sqlite-utils recognise a table's full-text index without configuration; it stores
no copy of the text, and ``detail=none`` stores no token positions (a single-token
query needs none), which keeps it smaller than the text itself. The price: no phrase
queries, so a longer term cannot be one query of this index.

**reports_long_fts.** No single SQLite tokenizer finds both a two-character word and a
word of any length: the one query Datasette sends for ``?_search=政府信息公开工作年度报告``
is one ``unicode61`` token, which no index of pieces holds, while ``trigram`` splits it
into its overlapping three-character pieces but finds nothing shorter than three. So
words longer than :data:`MAX_GRAM` have an index of their own: every distinct run of
letters and digits longer than :data:`MAX_GRAM` (``政府信息公开工作年度报告``,
``2024年政府信息公开工作年度报告``), ``trigram``-tokenised with positions, where the
quoted word Datasette and sqlite-utils send is a phrase of its three-character pieces
that must follow one another: exactly the reports that contain it. Plain Datasette
reaches it with ``&_fts_table=reports_long_fts`` (the standalone metadata and README say
so, :mod:`archive.publish.standalone`); nianbao's own searches use it for every long term.

**reports_narrative_fts** and **report_facets** serve the search page
(:mod:`archive.publish.pages.search_page`): the first holds, for ranking, what each report
says in its own words — its names (title, agency, region) and its narrative sections
without the words every report prints (:mod:`archive.publish.boilerplate`); the second
one narrow row per report (year, level, province, names) for the page's facets, filters
and order, read in one pass over 100,000 reports.

The indexed values are n-gram or run spellings, not the columns themselves: never run
FTS5's ``'rebuild'`` on ``reports_fts`` (or ``sqlite-utils rebuild-fts``), which would
index the raw text instead. ``benchmarks/datasette_bench.py`` measures the alternatives.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

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
# A run of letters and digits (Chinese included) too long to be one token of reports_fts.
_LONG_RUN = re.compile(rf"\w{{{MAX_GRAM + 1},}}")

# The options Datasette's and sqlite-utils' detection reads: content="reports". The
# columns are columns of reports; ``region`` holds the region's full name as well.
SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
    title, text, agency, region, content="reports", content_rowid="id", detail=none,
    tokenize='unicode61 remove_diacritics 2'
)
"""

# Words longer than MAX_GRAM: contentless (content=''), so that neither Datasette nor
# sqlite-utils takes it for the index of reports, whose box must find two characters.
LONG_FTS = "reports_long_fts"
LONG_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {LONG_FTS} USING fts5(
    words, content='', tokenize='trigram', detail=full
)
"""


def shadow(text: str | None, longest: int = MAX_GRAM) -> str:
    """The text as the index sees it: every distinct token once — each run of Chinese as
    its pieces of 1 … ``longest`` characters, other words as they are. Positions are not
    indexed, so order and repeats carry nothing; writing each token once halves the
    work of indexing (``benchmarks/datasette_bench.py``)."""
    if not text:
        return ""
    tokens: dict[str, None] = {}
    # A run met before adds nothing: reports repeat their labels and phrases (the
    # generated national world's texts are 95 % repeated runs), so each is spelled once.
    for run in dict.fromkeys(_CJK_RUN.findall(text)):
        for size in range(1, min(longest, len(run)) + 1):
            for start in range(len(run) - size + 1):
                tokens[run[start : start + size]] = None
    for word in _WORD.findall(_CJK_RUN.sub(" ", text)):
        tokens[word] = None
    return " ".join(tokens)


def long_words(*texts: str | None) -> str:
    """What ``reports_long_fts`` holds of a report: every distinct run of letters and
    digits longer than MAX_GRAM, one a line (a word of the query lies inside one run, so
    the runs are all the index needs; a line break keeps the runs apart)."""
    runs: dict[str, None] = {}
    for text in texts:
        for run in _LONG_RUN.findall(text or ""):
            runs[run] = None
    return "\n".join(runs)


def _term_tokens(term: str, longest: int = MAX_GRAM) -> list[str]:
    """The index tokens one query term must all match (in an index of pieces of up to
    ``longest`` characters)."""
    tokens: list[str] = []
    position = 0
    for match in _CJK_RUN.finditer(term):
        tokens += _WORD.findall(term[position : match.start()])
        run = match.group(0)
        if len(run) <= longest:
            tokens.append(run)
        else:
            tokens += [run[i : i + longest] for i in range(len(run) - longest + 1)]
        position = match.end()
    tokens += _WORD.findall(term[position:])
    return list(dict.fromkeys(tokens))


def _quoted(tokens: Iterable[str]) -> str:
    return " ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(tokens))


def fts_query(query: str | None) -> str:
    """A search box's text → an FTS5 query over the n-gram index.

    Every whitespace-separated term (or ``"quoted phrase"``) must occur. A Chinese term
    of up to :data:`MAX_GRAM` characters is one quoted token — exactly what SQLite's
    and Datasette's own escaping sends — so nianbao and a plain Datasette agree; longer
    terms and mixed ones (``2023年度``) require each of their pieces. Text without
    Chinese comes out as Datasette's escaping would make it (each word quoted).
    """
    tokens: list[str] = []
    for term in terms_of(query):
        tokens += _term_tokens(term)
    # An empty query must still be valid FTS5 syntax; "" matches nothing.
    return _quoted(tokens) or '""'


def terms_of(query: str | None) -> list[str]:
    """The terms of a search box's text: words separated by spaces, or ``"quoted"``."""
    return [t for q, b in _TERMS.findall(query or "") if (t := (q or b).strip())]


def needs_confirmation(term: str) -> bool:
    """Can the n-gram index only narrow this term down (Chinese longer than MAX_GRAM, or
    mixed with other characters), so that something else must decide it?"""
    has_chinese = _CJK_RUN.search(term) is not None
    return has_chinese and not re.fullmatch(f"[{_CJK}]{{1,{MAX_GRAM}}}", term)


def is_long_word(term: str) -> bool:
    """Is this term a word ``reports_long_fts`` decides exactly: one run of letters and
    digits, Chinese among them, longer than MAX_GRAM?"""
    return bool(_LONG_RUN.fullmatch(term)) and _CJK_RUN.search(term) is not None


@dataclass(frozen=True)
class Search:
    """A search box's text as the indexes take it.

    ``short``: the FTS5 query of reports_fts for the terms it decides or narrows down;
    ``long``: the query of reports_long_fts for the long words, which it decides;
    ``confirm``: the terms only a substring test decides (Chinese mixed with digits or
    broken by punctuation, ``2023年度``, ``复议、诉讼``); ``ranking``: the query of the
    narrative index, every term as its pieces of up to RANK_GRAM characters.
    """

    terms: tuple[str, ...]
    short: str | None
    long: str | None
    confirm: tuple[str, ...]
    ranking: str

    @classmethod
    def of(cls, query: str | None) -> Search:
        terms = tuple(dict.fromkeys(terms_of(query)))
        long = [t for t in terms if is_long_word(t)]
        rest = [t for t in terms if t not in long]
        short = [tok for t in rest for tok in _term_tokens(t)]
        return cls(
            terms=terms,
            short=_quoted(short) or None,
            long=_quoted(long) or None,
            confirm=tuple(t for t in rest if needs_confirmation(t)),
            ranking=_quoted(tok for t in terms for tok in _term_tokens(t, RANK_GRAM)) or '""',
        )

    @property
    def empty(self) -> bool:
        return self.short is None and self.long is None

    @property
    def ranks_exactly(self) -> bool:
        """Does the narrative index decide these terms exactly (no long words, no mixed
        ones), so that what it finds is a subset of what matches (a report's own words
        are in its text)?"""
        return self.long is None and not self.confirm

    def matching_ids(self) -> tuple[str, list[str]]:
        """SQL selecting the ids of the reports whose title, text, agency or region holds
        every term, with its parameters (a substring test for ``confirm`` terms is not in
        it: see :meth:`confirming`)."""
        parts, args = [], []
        if self.short is not None:
            parts.append(f"select rowid from {FTS_TABLE} where {FTS_TABLE} match ?")
            args.append(self.short)
        if self.long is not None:
            parts.append(f"select rowid from {LONG_FTS} where {LONG_FTS} match ?")
            args.append(self.long)
        if not parts:
            return "select null where 0", []
        return " intersect ".join(parts), args

    def confirming(self, names: str, text: str) -> tuple[str, list[str]]:
        """An SQL condition that every ``confirm`` term is in ``names`` or ``text`` (column
        expressions), with its parameters; ``1`` when there is none."""
        if not self.confirm:
            return "1", []
        sql = " and ".join(f"(instr({names}, ?) or instr({text}, ?))" for _ in self.confirm)
        return sql, [a for term in self.confirm for a in (term, term)]


def index_is_current(conn: sqlite3.Connection) -> bool:
    """Are ``reports_fts`` and ``reports_long_fts`` this module's (not an older layout,
    not missing)?"""
    return _is_current(conn, FTS_TABLE, SCHEMA) and _is_current(conn, LONG_FTS, LONG_SCHEMA)


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
    """Create the indexes, replacing those of an older layout (they are rebuilt from reports)."""
    _ensure(conn, FTS_TABLE, SCHEMA)
    _ensure(conn, LONG_FTS, LONG_SCHEMA)


def _ensure(conn: sqlite3.Connection, table: str, schema: str) -> None:
    exists = conn.execute("select 1 from sqlite_master where name = ?", [table]).fetchone()
    if exists and not _is_current(conn, table, schema):
        conn.execute(f"DROP TABLE {table}")
    conn.execute(schema)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where name = ?", [name]).fetchone() is not None


def _report_rows(conn: sqlite3.Connection, ids: list[int] | None) -> Iterator[tuple]:
    """(id, title, text, agency, region names) of the reports (all when ``ids`` is None)."""
    region = "r.region"
    join = ""
    if _has_table(conn, "regions"):
        region = (
            "case when g.full_name is null or g.full_name = r.region then r.region "
            "else trim(coalesce(r.region, '') || ' ' || g.full_name) end"
        )
        join = " left join regions g on g.region_code = r.region_code"
    sql = f"select r.id, r.title, r.text, r.agency, {region} from reports r{join}"
    yield from _rows_by_report(conn, sql, ids)


def index_reports(conn: sqlite3.Connection, report_ids: Iterable[int] | None = None) -> int:
    """Add reports to reports_fts and reports_long_fts (all when ``report_ids`` is None)."""
    ensure_index(conn)
    rows = _report_rows(conn, None if report_ids is None else list(report_ids))
    count = 0
    insert = f"insert into {FTS_TABLE} (rowid, title, text, agency, region) values (?, ?, ?, ?, ?)"
    insert_long = f"insert into {LONG_FTS} (rowid, words) values (?, ?)"
    for rowid, title, text, agency, region, words in spelled(rows, spell_report):
        conn.execute(insert, [rowid, title, text, agency, region])
        if words:
            conn.execute(insert_long, [rowid, words])
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


def _batch(rows: Iterator[tuple]) -> list:
    """The next rows, up to PARALLEL_CHARS characters (or MAX_BATCH_ROWS rows)."""
    batch, size = [], 0
    for row in rows:
        batch.append(row)
        size += sum(len(c or "") for c in row[1:])
        if size >= PARALLEL_CHARS or len(batch) >= MAX_BATCH_ROWS:
            break
    return batch


def spell_row(*columns: str | None) -> tuple[str, ...]:
    """What a worker does for one row of the sections index: its columns as the index
    spells them."""
    return tuple(shadow(c) for c in columns)


def spell_report(
    title: str | None, text: str | None, agency: str | None, region: str | None
) -> tuple[str, ...]:
    """One report as reports_fts (four columns) and reports_long_fts (its long words) hold it."""
    return (*spell_row(title, text, agency, region), long_words(title, text, agency, region))


def spell_narrative(names: str | None, narrative: str | None) -> tuple[str, str]:
    """One report as the narrative index holds it: its names, and its narrative without
    the words every report prints."""
    from archive.publish.boilerplate import own_words

    return shadow(names, RANK_GRAM), shadow(own_words(narrative), RANK_GRAM)


def spelled(
    rows: Iterable[tuple],
    task: Callable[..., tuple] = spell_row,
    workers: int | None = None,
) -> Iterator[tuple]:
    """``(rowid, *task(*columns))`` for each ``(rowid, *columns)``, in order; a large
    batch is spelled in the parse stage's isolated workers."""
    from archive.parse.isolate import ParseError, ParsePool

    pool: ParsePool | None = None
    rows = iter(rows)
    workers = workers or SPELL_WORKERS
    several = (workers or os.cpu_count() or 1) > 1
    path = f"{__name__}:{task.__name__}"
    try:
        while batch := _batch(rows):
            size = sum(len(c or "") for row in batch for c in row[1:])
            if pool is None and (size < PARALLEL_CHARS or not several):
                yield from ((row[0], *task(*row[1:])) for row in batch)
                continue
            pool = pool or ParsePool(workers, task=path)
            for row, outcome in pool.map((row, tuple(row[1:]), {}) for row in batch):
                if isinstance(outcome, ParseError):  # a worker died: spell it here
                    outcome = task(*row[1:])
                yield row[0], *outcome
    finally:
        if pool is not None:
            pool.close()


# How much FTS5 gathers in memory before it writes a segment (its default: 1 MB). Each
# report spells ~8,000 distinct pieces, so a 1 MB buffer is written out every few dozen
# reports and the small segments merged again and again: 16 MB cut the CPU of indexing
# reports_fts by 22 % (6.8 → 5.3 ms a report, optimize included, 1,200 reports of the
# Datasette benchmark); 64 and 256 MB did no better. It only affects writing.
HASH_SIZE = 16 * 1024 * 1024


def _empty(conn: sqlite3.Connection, table: str) -> None:
    """Empty an index before it is filled again, with room to gather a bulk load."""
    conn.execute(f"insert into {table} ({table}) values ('delete-all')")
    conn.execute(f"insert into {table} ({table}, rank) values ('hashsize', ?)", [HASH_SIZE])


def rebuild_index(conn: sqlite3.Connection) -> int:
    """Empty reports_fts and reports_long_fts and index every report again.

    The indexes store neither the text nor its positions, so they cannot forget one
    document without being told the exact n-grams they indexed, which a report whose
    text changed no longer has; such a change (a reparse that reads the text
    differently, a withdrawn document) rebuilds them. New reports, and reparsed
    ones whose text is unchanged, cost nothing more than their own insertion.
    """
    ensure_index(conn)
    for table in (FTS_TABLE, LONG_FTS):
        _empty(conn, table)
    count = index_reports(conn)
    for table in (FTS_TABLE, LONG_FTS):
        conn.execute(f"insert into {table} ({table}) values ('optimize')")
    return count


def search(conn: sqlite3.Connection, query: str, limit: int = 20) -> list[int]:
    """Ids of the reports whose title, text, agency or region contains every term of
    ``query``, newest report first.

    Terms the n-gram index cannot decide alone are decided by the long-word index, or
    (Chinese mixed with other characters) confirmed in the title and text.
    """
    wanted = Search.of(query)
    if wanted.empty:
        return []
    ids, args = wanted.matching_ids()
    confirm, more = wanted.confirming(
        "coalesce(r.title, '') || char(10) || coalesce(r.agency, '') || char(10) || "
        "coalesce(r.region, '')",
        "r.text",
    )
    sql = (
        f"select r.id from reports r where r.id in ({ids}) and {confirm} "
        "order by r.year desc, r.id desc limit ?"
    )
    return [r[0] for r in conn.execute(sql, [*args, *more, limit])]


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
    if not _has_table(conn, "report_sections"):
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
    _empty(conn, SECTIONS_FTS)
    count = index_sections(conn)
    conn.execute(f"insert into {SECTIONS_FTS} ({SECTIONS_FTS}) values ('optimize')")
    return count


# -- the search page's ranking and facets ---------------------------------------------
#
# What a report says in its own words: its names (title, agency, region) and its narrative
# sections without the template's wording (archive.publish.boilerplate), as n-grams, by
# report id. A report without sections (an archive from before them, a text the parser
# could not split) counts its whole text, the template's wording left out the same way.
# Its pieces are as long as reports_fts's, so that for the words reports_fts decides
# alone, what it finds is a subset of what reports_fts finds (a report's own words are in
# its text): the page then needs no intersection of the two, which cost 130–165 ms per
# request at 100,000 reports with shorter pieces (1–4: 40 % less time to spell, but a
# word of 5–8 characters, 最低生活保障, was only its pieces there).
RANK_GRAM = MAX_GRAM
# A token every document of it holds (a private-use character: no query ever holds it,
# \w does not match it, unicode61 keeps it as a token): '"\ue000" NOT (…)' are the
# reports that do not say the words, which for a word most reports say are few.
EVERY = "\ue000"
NARRATIVE_FTS = "reports_narrative_fts"
NARRATIVE_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {NARRATIVE_FTS} USING fts5(
    names, narrative, every, content='', detail=none,
    tokenize='unicode61 remove_diacritics 2'
)
"""
# The names alone (title, agency, region), spelled the same way: the reports whose names
# hold the words rank first, and finding them in an index instead of testing 100,000
# names one by one costs a few milliseconds instead of thirty (a word no name holds,
# 复议, costs nothing).
NAMES_FTS = "reports_names_fts"
NAMES_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {NAMES_FTS} USING fts5(
    names, content='', detail=none, tokenize='unicode61 remove_diacritics 2'
)
"""
# One narrow row per report: what the search page filters, counts and orders by, read for
# every match of a word in every report (a page of reports rows holds a few reports, a
# page of these hundreds). ``names``: title, agency and region, a line each. ``bucket``
# is year, level and province in one integer (year × 1000 + level × 100 + the province's
# two digits; 0 or 9 for unknown), so that the page counts all three facets in one
# GROUP BY on an integer: grouping 100,000 matches on the three text columns cost 113 ms
# of CPU, on the integer 41 ms.
FACETS_TABLE = "report_facets"
FACETS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {FACETS_TABLE} (
    report_id INTEGER PRIMARY KEY, bucket INTEGER NOT NULL, year INTEGER, level TEXT,
    province_code TEXT, names TEXT
)
"""
LEVELS = ("province", "city", "district")  # regions.level, in the bucket as 0, 1, 2


def bucket_parts(bucket: int) -> tuple[int | None, str | None, str | None]:
    """(year, level, province code) of a ``report_facets.bucket``; None where unknown."""
    year, level, province = bucket // 1000, bucket // 100 % 10, bucket % 100
    return (
        year or None,
        LEVELS[level] if level < len(LEVELS) else None,
        f"{province:02d}0000" if province else None,
    )


_RANKING = ((NARRATIVE_FTS, NARRATIVE_SCHEMA), (NAMES_FTS, NAMES_SCHEMA))


def narrative_index_is_current(conn: sqlite3.Connection) -> bool:
    """Are the narrative and names indexes and the facets table this module's (not older,
    not missing)?"""
    return all(_is_current(conn, t, schema) for t, schema in _RANKING) and _is_current(
        conn, FACETS_TABLE, FACETS_SCHEMA
    )


def _narrative_rows(conn: sqlite3.Connection, ids: list[int] | None) -> Iterator[tuple]:
    """(id, names, narrative) of the reports (all when ``ids`` is None)."""
    sections = _has_table(conn, "report_sections")
    narrative = (
        "coalesce((select group_concat(text, char(10)) from (select s.text from "
        "report_sections s where s.report_id = r.id order by s.section)), r.text)"
        if sections
        else "r.text"
    )
    sql = (
        f"select r.id, f.names, {narrative} from reports r "
        f"join {FACETS_TABLE} f on f.report_id = r.id"
    )
    yield from _rows_by_report(conn, sql, ids)


def refresh_facets(conn: sqlite3.Connection) -> int:
    """Rewrite ``report_facets`` from reports and regions (a few hundred ms at 100,000)."""
    _ensure(conn, FACETS_TABLE, FACETS_SCHEMA)
    conn.execute(f"delete from {FACETS_TABLE}")
    regions = _has_table(conn, "regions")
    join = " left join regions g on g.region_code = r.region_code" if regions else ""
    level, province_code, full = (
        ("g.level", "g.province_code", "g.full_name") if regions else ("null", "null", "null")
    )
    level_number = " ".join(f"when '{name}' then {i}" for i, name in enumerate(LEVELS))
    conn.execute(
        f"insert into {FACETS_TABLE} (report_id, bucket, year, level, province_code, names) "
        f"select r.id, coalesce(r.year, 0) * 1000 + (case {level} {level_number} else 9 end) "
        f"* 100 + coalesce(cast(substr({province_code}, 1, 2) as integer), 0), r.year, "
        f"{level}, {province_code}, coalesce(r.title, '') || char(10) || "
        f"coalesce(r.agency, '') || char(10) || coalesce({full}, r.region, '') "
        f"from reports r{join}"
    )
    # The page's order within a tier (year, newest first), and the facets' totals.
    conn.execute(
        f"CREATE INDEX IF NOT EXISTS idx_{FACETS_TABLE}_order ON {FACETS_TABLE} (year, report_id)"
    )
    conn.execute(f"CREATE INDEX IF NOT EXISTS idx_{FACETS_TABLE}_bucket ON {FACETS_TABLE} (bucket)")
    return conn.execute(f"select count(*) from {FACETS_TABLE}").fetchone()[0]


def index_narrative(conn: sqlite3.Connection, report_ids: Iterable[int] | None = None) -> int:
    """Add reports to the narrative and names indexes (all when ``report_ids`` is None);
    their rows of ``report_facets`` must be there (:func:`refresh_facets`)."""
    for table, schema in _RANKING:
        _ensure(conn, table, schema)
    rows = _narrative_rows(conn, None if report_ids is None else list(report_ids))
    insert = f"insert into {NARRATIVE_FTS} (rowid, names, narrative, every) values (?, ?, ?, ?)"
    insert_names = f"insert into {NAMES_FTS} (rowid, names) values (?, ?)"
    count = 0
    for rowid, names, narrative in spelled(rows, spell_narrative):
        conn.execute(insert, [rowid, names, narrative, EVERY])
        conn.execute(insert_names, [rowid, names])
        count += 1
    return count


def rebuild_narrative_index(conn: sqlite3.Connection) -> int:
    """``report_facets`` rewritten, the narrative and names indexes emptied and every
    report indexed again (they cannot forget one report, see :func:`rebuild_index`)."""
    for table, schema in _RANKING:
        _ensure(conn, table, schema)
        _empty(conn, table)
    refresh_facets(conn)
    count = index_narrative(conn)
    for table, _ in _RANKING:
        conn.execute(f"insert into {table} ({table}) values ('optimize')")
    return count


def _rows_by_report(conn: sqlite3.Connection, sql: str, ids: list[int] | None) -> Iterator[tuple]:
    """The rows of ``sql`` (over ``reports r``) for the reports ``ids``, 500 at a time (an
    SQLite statement takes a bounded number of parameters), or for every report in id order."""
    if ids is None:
        yield from conn.execute(sql + " order by r.id")
        return
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        yield from conn.execute(sql + f" where r.id in ({','.join('?' * len(chunk))})", chunk)
