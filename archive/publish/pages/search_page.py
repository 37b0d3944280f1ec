"""The search page: one box over titles, agencies, regions and what the reports say.

``/<db>/-/search?q=行政复议`` (``.json`` for scripts) lists the reports whose title,
agency, region or text holds every word — Chinese of any length, several words
separated by spaces (:class:`archive.publish.search.Search`) — as a reader expects a
search to read: agency, region, year, title, a snippet with the words marked, the report
and its original one click away; facets by year, level and province that count and
filter; pages of :data:`PER_PAGE`.

**Ranking.** Every report prints the template — the table-4 heading
``四、政府信息公开行政复议、行政诉讼情况`` puts 复议 in all of them — so a match in the text
alone says little. Reports are ranked by where the words are: first those whose title,
agency or region holds them all (``names``), then those whose narrative says them in its
own words (``narrative``: the sections' text without the template's labels and headings,
:mod:`archive.publish.boilerplate`), and last those that only print them in the
template's wording (``printed``); newest first within each. ``sort=newest`` / ``oldest``
order by year alone.

**Speed.** Matching is the full-text indexes' work; the counting, filtering and ordering
read ``report_facets``, one narrow row per report, so a word in all of 100,000 reports
costs one pass over those rows, not over the reports (``benchmarks/datasette_bench.py``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from datasette import Response
from datasette.utils import sqlite_timelimit

from archive.publish.boilerplate import own_words
from archive.publish.pages import is_archive
from archive.publish.search import (
    EVERY,
    FACETS_TABLE,
    FTS_TABLE,
    LONG_FTS,
    NAMES_FTS,
    NARRATIVE_FTS,
    Search,
    bucket_parts,
    index_is_current,
    narrative_index_is_current,
)

PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_QUERY = 200  # characters
MAX_TERMS = 12
MAX_PAGE = 10_000
LEVELS = {"province": "省级", "city": "地市级", "district": "县级"}
SORTS = {"relevance": "相关度", "newest": "年度由新到旧", "oldest": "年度由旧到新"}
WHERE = {
    "names": "标题、机关或地区",
    "narrative": "报告正文",
    "printed": "只见于表格标题或模板文字",
}
SNIPPET_BEFORE, SNIPPET_AFTER = 36, 90  # characters around the first word found


class BadRequest(Exception):
    """A request the page cannot answer as asked: the reader is told why, with a 4xx."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Options:
    """What the reader asked for, from the query string (checked: a bad value is a 400)."""

    q: str = ""
    year: int | None = None
    level: str | None = None
    province: str | None = None
    sort: str = "relevance"
    page: int = 1
    size: int = PER_PAGE

    @classmethod
    def from_args(cls, args) -> Options:
        q = " ".join((args.get("q") or "").split())
        if len(q) > MAX_QUERY:
            raise BadRequest(f"搜索词太长：最多 {MAX_QUERY} 个字符（现有 {len(q)} 个）。")
        if len(Search.of(q).terms) > MAX_TERMS:
            raise BadRequest(f"词太多：最多 {MAX_TERMS} 个（以空格分开的每一段算一个词）。")
        year = _number(args, "year", "年度", 1990, 2100)
        level = args.get("level") or None
        if level is not None and level not in LEVELS:
            raise BadRequest(f"层级「{level}」不存在：可选 {'、'.join(LEVELS)}。")
        province = args.get("province") or None
        if province is not None and not re.fullmatch(r"\d{6}", province):
            raise BadRequest(f"省份应是六位行政区划代码（如 410000），不是「{province}」。")
        sort = args.get("sort") or "relevance"
        if sort not in SORTS:
            raise BadRequest(f"排序「{sort}」不存在：可选 {'、'.join(SORTS)}。")
        return cls(
            q=q,
            year=year,
            level=level,
            province=province,
            sort=sort,
            page=_number(args, "page", "页码", 1, MAX_PAGE) or 1,
            size=_number(args, "size", "每页条数", 1, MAX_PER_PAGE) or PER_PAGE,
        )

    def query_string(self, **changes) -> str:
        """This search's query string with ``changes`` (None removes a filter); the page
        goes back to the first unless it is what changes."""
        changed = replace(self, **({"page": 1} | changes))
        args = {
            "q": changed.q,
            "year": changed.year,
            "level": changed.level,
            "province": changed.province,
            "sort": None if changed.sort == "relevance" else changed.sort,
            "page": None if changed.page == 1 else changed.page,
            "size": None if changed.size == PER_PAGE else changed.size,
        }
        return urlencode({k: v for k, v in args.items() if v not in (None, "")})


def _number(args, name: str, label: str, lowest: int, highest: int) -> int | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or not lowest <= int(value) <= highest:
        raise BadRequest(
            f"{label}（{name}）应是 {lowest} 到 {highest} 之间的整数，不是「{value}」。"
        )
    return int(value)


class NotReady(Exception):
    """The archive has no search index yet (never prepared for publishing)."""


# -- the search ---------------------------------------------------------------------


def find(conn: sqlite3.Connection, options: Options) -> dict:
    """The page's data: counts, facets and one page of results (raises BadRequest for a
    page past the last, NotReady without the indexes)."""
    if not (index_is_current(conn) and narrative_index_is_current(conn)):
        raise NotReady("the search indexes have not been built: run `nianbao serve` or prepare")
    wanted = Search.of(options.q)
    if wanted.empty:
        return _found(conn, options, wanted, {}, {}, [])
    query = _Query(wanted, options)
    totals, every, said = query.counts(conn)
    kept = [b for b in totals if _kept(options, *bucket_parts(b))]
    total, in_narrative = sum(every.get(b, 0) for b in kept), sum(said.get(b, 0) for b in kept)
    pages = max(1, -(-total // options.size))
    if options.page > pages:
        raise BadRequest(f"没有第 {options.page} 页：这次搜索共 {pages} 页。", status=404)
    universe = sum(totals[b] for b in kept)
    page = query.page(conn, universe, total, in_narrative)
    return _found(conn, options, wanted, every, said, _results(conn, wanted, page))


# What it costs, in µs of CPU, to test one report against a full-text index by its id, and
# to take one report of a list a full-text query gives and sort it (measured at 100,000
# reports: 21 µs; 91 ms for 100,000): a page reads reports in year order testing each,
# or sorts every report of its tier, whichever costs less.
PROBE_US, SORT_US = 21, 1
# A word most reports say (in 90 % or more): its counts are the totals less the few
# reports that do not say it.
MOSTLY = 0.9


class _Query:
    """The SQL of one search: the matches, those whose narrative says the words, and a
    page of them in order.

    **Counts.** Matches come from joining the full-text index to ``report_facets`` and
    grouping by bucket (a join reads 100,000 matches in 16 ms of CPU, an ``IN`` list of them
    costs 48 ms to build; the grouping as much again). For a word most reports say —
    政府信息公开, or 复议 in the benchmark's texts — the counts are the totals less the few
    reports the narrative index says lack it (``"\ue000" NOT …``).

    **Order.** Three tiers — the words in the names, in the narrative, only printed — each
    by year, newest first. Each tier is a subset of the next one's index (the names are in
    the narrative index, which holds only what the text holds), so their sizes follow from
    the counts. A page reads only the tier or two it shows: for a tier most reports are
    in, it walks ``report_facets`` in year order testing each report by its id and stops
    when the page is full (the first page of a word in every report reads a few dozen
    reports); for a rare one, it sorts the tier's few reports.

    Each test comes in two forms: ``listed`` (``report_id in (select rowid …)``: an ``IN``
    list built once, for reading many reports) and ``tested`` (``exists (… rowid = …)``:
    one lookup per report, for reading a few).
    """

    def __init__(self, wanted: Search, options: Options):
        self.wanted = wanted
        self.options = options
        indexes: list[tuple[str, str]] = []
        if wanted.long is not None:  # the more selective: it leads
            indexes.append((LONG_FTS, wanted.long))
        if wanted.short is not None:
            indexes.append((FTS_TABLE, wanted.short))
        confirm, confirm_args = wanted.confirming(
            "f.names", "(select r.text from reports r where r.id = f.report_id)"
        )
        queries = [q for _, q in indexes]
        # The matches: the leading index joined to report_facets, the others as lists.
        first = indexes[0][0]
        self.matches = (
            f"from {first} join {FACETS_TABLE} f on f.report_id = {first}.rowid "
            f"where {first} match ?"
            + "".join(f" and {_in(t, 'listed')}" for t, _ in indexes[1:])
            + f" and {confirm}"
        )
        self.args = [*queries, *confirm_args]
        self.is_match = {
            form: " and ".join([*(_in(t, form) for t, _ in indexes), confirm])
            for form in ("listed", "tested")
        }
        self.is_match_args = [*queries, *confirm_args]
        instr = " and ".join("instr(f.names, ?) > 0" for _ in wanted.terms)
        self.is_named = {form: f"({instr} and {_in(NAMES_FTS, form)})" for form in self.is_match}
        self.is_named_args = [*wanted.terms, wanted.ranking]
        self.named = (
            f"from {NAMES_FTS} join {FACETS_TABLE} f on f.report_id = {NAMES_FTS}.rowid "
            f"where {NAMES_FTS} match ? and {instr}"
        )
        self.named_args = [wanted.ranking, *wanted.terms]
        # The narrative index holds a report's own words, which its text holds too: for
        # words both decide exactly (no long words, no mixed ones) what it finds is a
        # subset of the matches; else the matches must be intersected.
        exact = wanted.ranks_exactly
        self.is_said = {
            form: _in(NARRATIVE_FTS, form) + ("" if exact else f" and {self.is_match[form]}")
            for form in self.is_match
        }
        self.is_said_args = [wanted.ranking, *([] if exact else self.is_match_args)]
        self.said = (
            f"from {NARRATIVE_FTS} join {FACETS_TABLE} f on f.report_id = {NARRATIVE_FTS}.rowid "
            f"where {NARRATIVE_FTS} match ?" + ("" if exact else f" and {self.is_match['listed']}")
        )
        self.said_args = self.is_said_args
        self.filters, self.filter_args = _filters(options)

    def counts(self, conn: sqlite3.Connection) -> tuple[dict, dict, dict]:
        """Reports by bucket: all of them, the matches, those whose narrative says the words."""
        totals = dict(conn.execute(f"select bucket, count(*) from {FACETS_TABLE} group by 1"))
        if self.wanted.ranks_exactly:
            said_count = conn.execute(
                f"select count(*) from {NARRATIVE_FTS} where {NARRATIVE_FTS} match ?",
                [self.wanted.ranking],
            ).fetchone()[0]
            if said_count >= MOSTLY * sum(totals.values()):
                return (totals, *self._counts_by_what_lacks(conn, totals))
        every = dict(
            conn.execute(f"select f.bucket, count(*) {self.matches} group by 1", self.args)
        )
        said = dict(
            conn.execute(f"select f.bucket, count(*) {self.said} group by 1", self.said_args)
        )
        return totals, every, said

    def _counts_by_what_lacks(self, conn: sqlite3.Connection, totals: dict) -> tuple[dict, dict]:
        """(matches, said) by bucket, from the few reports whose narrative lacks the words."""
        lacking = f"select rowid from {NARRATIVE_FTS} where {NARRATIVE_FTS} match ?"
        lacks = f'"{EVERY}" NOT ({self.wanted.ranking})'
        silent = dict(
            conn.execute(
                f"select f.bucket, count(*) from {FACETS_TABLE} f "
                f"where f.report_id in ({lacking}) group by 1",
                [lacks],
            )
        )
        printed = dict(
            conn.execute(
                f"select f.bucket, count(*) from {FACETS_TABLE} f "
                f"where f.report_id in ({lacking}) and {self.is_match['tested']} group by 1",
                [lacks, *self.is_match_args],
            )
        )
        said = {b: n - silent.get(b, 0) for b, n in totals.items()}
        every = {b: n + printed.get(b, 0) for b, n in said.items()}
        return every, said

    def page(
        self, conn: sqlite3.Connection, universe: int, total: int, said: int
    ) -> list[tuple[int, str]]:
        """(report id, where the words are) of the page's reports, in order. ``universe``,
        ``total``, ``said``: the reports, the matches and those the narrative index holds,
        filtered."""
        options = self.options
        offset, size = (options.page - 1) * options.size, options.size
        if options.sort != "relevance":
            order = "desc" if options.sort == "newest" else ""
            ids = self._read(
                conn,
                (self.matches, self.args),
                (self.is_match["tested"], self.is_match_args),
                (total, universe),
                offset,
                size,
                order,
            )
            return list(zip(ids, self._where(conn, ids), strict=True))
        named = conn.execute(
            f"select count(*) {self.named}{self.filters}", [*self.named_args, *self.filter_args]
        ).fetchone()[0]
        silent = {form: f"not {_in(NARRATIVE_FTS, form)}" for form in self.is_match}
        tiers = [
            (
                "names",
                named,
                (self.named, self.named_args),
                (self.is_named["tested"], self.is_named_args),
            ),
            (
                "narrative",
                max(0, said - named),
                (
                    f"{self.said} and not {self.is_named['listed']}",
                    [*self.said_args, *self.is_named_args],
                ),
                (
                    f"{self.is_said['tested']} and not {self.is_named['tested']}",
                    [*self.is_said_args, *self.is_named_args],
                ),
            ),
            (
                "printed",
                total - said,
                (f"{self.matches} and {silent['listed']}", [*self.args, self.wanted.ranking]),
                (
                    f"{self.is_match['tested']} and {silent['tested']}",
                    [*self.is_match_args, self.wanted.ranking],
                ),
            ),
        ]
        found: list[tuple[int, str]] = []
        for where, count, listed, tested in tiers:
            if offset >= count:
                offset -= count
                continue
            ids = self._read(conn, listed, tested, (count, universe), offset, size - len(found))
            found += [(i, where) for i in ids]
            offset = 0
            if len(found) >= size:
                break
        return found

    def _read(
        self,
        conn: sqlite3.Connection,
        listed: tuple[str, list],
        tested: tuple[str, list],
        share: tuple[int, int],
        offset: int,
        size: int,
        order: str = "desc",
    ) -> list[int]:
        """``size`` report ids from ``offset`` on, by year: sorting the reports a full-text
        query lists (``listed``), or walking report_facets in year order testing each
        (``tested``), whichever costs less; ``share``: (reports in the tier, reports)."""
        count, universe = share
        walk = (offset + size) * universe / max(count, 1) * PROBE_US
        sql, args = (f"from {FACETS_TABLE} f where {tested[0]}", tested[1])
        if walk >= count * SORT_US:
            sql, args = listed
        return [
            r[0]
            for r in conn.execute(
                f"select f.report_id {sql}{self.filters} "
                f"order by f.year {order}, f.report_id {order} limit ? offset ?",
                [*args, *self.filter_args, size, offset],
            )
        ]

    def _where(self, conn: sqlite3.Connection, ids: list[int]) -> list[str]:
        """Where the words are in each of these reports: names, narrative or printed."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            f"select f.report_id, {self.is_named['tested']}, {self.is_said['tested']} "
            f"from {FACETS_TABLE} f where f.report_id in ({marks})",
            [*self.is_named_args, *self.is_said_args, *ids],
        )
        kinds = {r[0]: "names" if r[1] else "narrative" if r[2] else "printed" for r in rows}
        return [kinds.get(i, "printed") for i in ids]


def _in(table: str, form: str) -> str:
    """Is the report of this row of report_facets found by a query of ``table`` (one ``?``):
    as an ``IN`` list (``listed``) or a lookup by id (``tested``)."""
    if form == "listed":
        return f"f.report_id in (select rowid from {table} where {table} match ?)"
    return f"exists (select 1 from {table} where rowid = f.report_id and {table} match ?)"


def _kept(options: Options, year, level, province_code, *, skip: str = "") -> bool:
    """Does a report of this year, level and province pass the filters (but ``skip``)?"""
    return (
        (skip == "year" or options.year is None or year == options.year)
        and (skip == "level" or options.level is None or level == options.level)
        and (skip == "province" or options.province is None or province_code == options.province)
    )


def _filters(options: Options) -> tuple[str, list]:
    sql, args = "", []
    for column, value in (
        ("f.year", options.year),
        ("f.level", options.level),
        ("f.province_code", options.province),
    ):
        if value is not None:
            sql += f" and {column} = ?"
            args.append(value)
    return sql, args


def _found(
    conn: sqlite3.Connection,
    options: Options,
    wanted: Search,
    every: dict[int, int],
    said: dict[int, int],
    results: list,
) -> dict:
    """Counts and facets from the matches counted by bucket (year, level, province): each
    facet counted with the other facets' filters applied, so that another year or province
    stays one click away."""
    counts: dict[str, dict] = {"year": {}, "level": {}, "province": {}}
    total = in_narrative = unfiltered = 0
    for bucket, n in every.items():
        year, level, province = bucket_parts(bucket)
        unfiltered += n
        if _kept(options, year, level, province):
            total += n
            in_narrative += said.get(bucket, 0)
        for facet, value in (("year", year), ("level", level), ("province", province)):
            if _kept(options, year, level, province, skip=facet):
                counts[facet][value] = counts[facet].get(value, 0) + n
    names = _province_names(conn, [p for p in counts["province"] if p])
    facets = {
        "year": [
            _facet(options, "year", year, str(year) if year else "年度不明", n)
            for year, n in sorted(counts["year"].items(), key=lambda c: -(c[0] or 0))
        ],
        "level": [
            _facet(options, "level", level, LEVELS.get(level or "", "层级不明"), n)
            for level, n in sorted(
                counts["level"].items(),
                key=lambda c: list(LEVELS).index(c[0]) if c[0] in LEVELS else 9,
            )
        ],
        "province": [
            _facet(options, "province", code, names.get(code) or "地区不明", n)
            for code, n in sorted(counts["province"].items(), key=lambda c: -c[1])
        ],
    }
    return {
        "q": options.q,
        "terms": list(wanted.terms),
        "total": total,
        "unfiltered": unfiltered,
        "said": in_narrative,
        "page": options.page,
        "pages": max(1, -(-total // options.size)),
        "size": options.size,
        "sort": options.sort,
        "facets": facets,
        "results": results,
    }


def _province_names(conn: sqlite3.Connection, codes: list[str]) -> dict[str, str]:
    if (
        not codes
        or not conn.execute("select 1 from sqlite_master where name = 'regions'").fetchone()
    ):
        return {}
    return dict(
        conn.execute(
            "select province_code, max(province) from regions "
            f"where province_code in ({','.join('?' * len(codes))}) group by province_code",
            codes,
        )
    )


def _facet(options: Options, name: str, value, label: str, count: int) -> dict:
    """One value of a facet; ``query`` filters by it, or (chosen) removes the filter. A
    report of unknown year or region is counted, and cannot be filtered for."""
    selected = getattr(options, name) == value and value is not None
    return {
        "value": value,
        "label": label,
        "count": count,
        "selected": selected,
        "query": None
        if value is None
        else options.query_string(**{name: None if selected else value}),
    }


def _results(conn: sqlite3.Connection, wanted: Search, page: list) -> list[dict]:
    """The page's reports, in the page's order, each with where the words are and a
    snippet around the first of them."""
    if not page:
        return []
    ids = [report_id for report_id, _ in page]
    regions = conn.execute("select 1 from sqlite_master where name = 'regions'").fetchone()
    region = "coalesce(g.full_name, r.region)" if regions else "r.region"
    join = " left join regions g on g.region_code = r.region_code" if regions else ""
    sections = conn.execute("select 1 from sqlite_master where name = 'report_sections'").fetchone()
    narrative, headings = (
        (
            "(select group_concat(text, char(10)) from (select s.text from report_sections s "
            "where s.report_id = r.id order by s.section))",
            "(select group_concat(heading, '　') from (select s.heading from report_sections s "
            "where s.report_id = r.id and s.heading != '' order by s.section))",
        )
        if sections
        else ("null", "null")
    )
    rows = {
        row[0]: row
        for row in conn.execute(
            f"select r.id, r.title, r.agency, {region}, r.year, r.published, r.format, "
            f"r.capture_id, r.text, {narrative}, {headings} from reports r{join} "
            f"where r.id in ({','.join('?' * len(ids))})",
            ids,
        )
    }
    results = []
    for report_id, where in page:
        if report_id not in rows:
            continue  # removed by a publish between the page's queries
        _, title, agency, region_name, year, published, fmt, capture_id, text, told, heads = rows[
            report_id
        ]
        found_in, segments = snippet(
            wanted.terms,
            [
                ("narrative", own_words(told if told is not None else text)),
                ("names", "　".join(x for x in (title, agency, region_name) if x)),
                ("printed", heads or ""),  # the template's headings read better than its tables
                ("printed", text or ""),
            ],
        )
        results.append(
            {
                "id": report_id,
                "title": title,
                "agency": agency,
                "region": region_name,
                "year": year,
                "published": published,
                "format": fmt,
                "capture_id": capture_id,
                "where": where,
                "snippet_from": found_in,
                "snippet": segments,
            }
        )
    return results


def snippet(terms, places: list[tuple[str, str]]) -> tuple[str | None, list[tuple[str, bool]]]:
    """Where the first of ``terms`` is found, trying ``places`` in order, and the text
    around it as (text, is it a word searched for) pieces, white space collapsed."""
    for where, text in places:
        text = re.sub(r"\s+", " ", text or "").strip()
        hits = _hits(text, terms)
        if not hits:
            continue
        first = hits[0][0]
        start = max(0, first - SNIPPET_BEFORE)
        end = min(len(text), first + SNIPPET_AFTER)
        pieces: list[tuple[str, bool]] = [("…", False)] if start > 0 else []
        at = start
        for hit_start, hit_end in hits:
            if hit_end <= at or hit_start >= end:
                continue
            hit_start = max(hit_start, at)
            pieces += [(text[at:hit_start], False), (text[hit_start:hit_end], True)]
            at = hit_end
        pieces.append((text[at:end], False))
        if end < len(text):
            pieces.append(("…", False))
        return where, [p for p in pieces if p[0]]
    return None, []


def _hits(text: str, terms) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of the terms, in order, overlaps merged."""
    folded = text.casefold() if len(text.casefold()) == len(text) else text
    spans = []
    for term in terms:
        needle = term.casefold() if folded is not text else term
        at = folded.find(needle)
        while at >= 0 and needle:
            spans.append((at, at + len(needle)))
            at = folded.find(needle, at + len(needle))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# -- the page -------------------------------------------------------------------------


async def search_view(datasette, request):
    """``/<db>/-/search`` (HTML) and ``/<db>/-/search.json``."""
    name = request.url_vars["database"]
    as_json = request.url_vars.get("format") == ".json"
    if not await is_archive(datasette, name):
        message = f"没有名为「{name}」的存档数据库。"
        return await _error(datasette, request, name, as_json, message, 404, known=False)
    try:
        options = Options.from_args(request.args)
    except BadRequest as bad:
        return await _error(datasette, request, name, as_json, bad.message, bad.status)
    db = datasette.get_database(name)
    limit = datasette.setting("sql_time_limit_ms")

    def run(conn):
        with sqlite_timelimit(conn, limit):
            return find(conn, options)

    try:
        data = await db.execute_fn(run)
    except BadRequest as bad:
        return await _error(datasette, request, name, as_json, bad.message, bad.status, options)
    except NotReady:
        message = "这个存档还没有建立搜索索引（运行 nianbao serve 时会建立）。"
        return await _error(datasette, request, name, as_json, message, 503, options)
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        message = f"搜索超过了 {limit / 1000:g} 秒：请加上更多的词，或按年度、省份筛选后再试。"
        return await _error(datasette, request, name, as_json, message, 503, options)
    if as_json:
        return _json(_for_scripts(datasette, name, options, data))
    return await _page(datasette, request, name, options, data=data)


async def _error(datasette, request, name, as_json, message, status, options=None, known=True):
    """The page (or JSON) saying why there are no results; ``known``: the database exists."""
    if as_json:
        return _json({"ok": False, "error": message, "status": status}, status)
    options = options or Options(q=(request.args.get("q") or "")[:MAX_QUERY])
    return await _page(datasette, request, name, options, error=message, status=status, known=known)


async def _page(
    datasette, request, name, options, data=None, error=None, status=200, known=True
) -> Response:
    """The search page: its results, or the error that stands in their place."""
    html = await datasette.render_template(
        "nianbao_search.html",
        {
            "database": name,
            "known": known,
            "data": data,
            "options": options,
            "where_labels": WHERE,
            "levels": LEVELS,
            "sorts": SORTS,
            "error": error,
        },
        request=request,
        view_name="nianbao_search",
    )
    return Response.html(html, status=status)


def _json(payload: dict, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, indent=1),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _for_scripts(datasette, name: str, options: Options, data: dict) -> dict:
    """The JSON form: the same counts, facets and results, with absolute paths."""
    base = datasette.urls.path(f"/{name}/-/search.json")

    def page_url(page: int) -> str | None:
        if not 1 <= page <= data["pages"] or not data["total"]:
            return None
        return f"{base}?{options.query_string(page=page)}"

    results = []
    for r in data["results"]:
        original = (
            datasette.urls.path(f"/-/original/{name}/{r['capture_id']}")
            if r["capture_id"] is not None
            else None
        )
        results.append(
            {
                **{k: r[k] for k in ("id", "title", "agency", "region", "year", "published")},
                "format": r["format"],
                "where": r["where"],
                "snippet": "".join(text for text, _ in r["snippet"]),
                "marked": [text for text, marked in r["snippet"] if marked],
                "url": datasette.urls.row(name, "reports", str(r["id"])),
                "original_url": original,
                "original_text_url": original and original + "?view=text",
            }
        )
    facets = {
        facet: [
            {
                "value": v["value"],
                "label": v["label"],
                "count": v["count"],
                "selected": v["selected"],
                "url": f"{base}?{v['query']}" if v["query"] is not None else None,
            }
            for v in values
        ]
        for facet, values in data["facets"].items()
    }
    return {
        "ok": True,
        **{
            k: data[k]
            for k in ("q", "terms", "total", "said", "unfiltered", "page", "pages", "size", "sort")
        },
        "filters": {"year": options.year, "level": options.level, "province": options.province},
        "facets": facets,
        "results": results,
        "next_url": page_url(options.page + 1),
        "previous_url": page_url(options.page - 1),
    }
