"""What makes a copy of the archive usable without nianbao: metadata and a README, inside it.

A researcher downloads a snapshot and opens it with whatever they have: Datasette
alone, sqlite-utils, or the ``sqlite3`` shell. None of them has nianbao's plugin, so
everything they need must be plain SQLite and plain Datasette configuration:

* **Search** is a standard FTS5 index that Datasette and sqlite-utils detect on their
  own (:mod:`archive.publish.search`); a Chinese word of up to eight characters is one
  token, so their native queries find it. A longer word is found in a second index,
  ``reports_long_fts``, by the very query they send for it (a quoted word, which its
  ``trigram`` tokenizer reads as a phrase of overlapping pieces): Datasette's search box on
  ``reports`` gets a second box for it in the metadata (``_fts_table=reports_long_fts``),
  and the README gives the sqlite-utils and sqlite3 forms.
* **Stored queries, column descriptions, provenance**: ``datasette_metadata.json``
  keeps them for "any archive" under ``"*"``, which only nianbao's plugin understands.
  :func:`standalone_metadata` spells them out under the database's real name, in the
  format Datasette 0.65 reads (``datasette FILE.db -m FILE.metadata.json``); the
  stored queries are plain SQL.
* **A README** says how to open the file with each tool (:func:`readme`).

The parse stage's :func:`archive.publish.prepare` keeps both in the archive itself, in
the table ``publish_files`` (:func:`ship`), so they travel inside every copy; the
snapshot stage (:mod:`archive.export.snapshot`) writes them beside each snapshot and into
its download bundle, with the file's own name filled in for ``{database}``.
"""

from __future__ import annotations

import copy
import html
import json
import re
import sqlite3
from functools import cache
from importlib import resources
from pathlib import Path

from markupsafe import escape

from archive.publish import rollup
from archive.publish.search import FACETS_TABLE, LONG_FTS, MAX_GRAM, NAMES_FTS, NARRATIVE_FTS
from archive.publish.views import WIDE_TABLES, ZH_VIEWS, check_descriptions, view_metadata

FILES_TABLE = "publish_files"
FILES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {FILES_TABLE} (name TEXT PRIMARY KEY, content TEXT NOT NULL)
"""
# The stored queries as rows, for the tools that read no Datasette metadata (sqlite-utils,
# the sqlite3 shell): list them, copy the SQL, fill in the :parameters.
QUERIES_TABLE = "stored_queries"
QUERIES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {QUERIES_TABLE} (
    name TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    parameters TEXT NOT NULL,
    description TEXT NOT NULL,
    sql TEXT NOT NULL
)
"""
# Placeholder for the database's name (its file name without .db), filled in per copy.
DATABASE = "{database}"


def metadata_path() -> Path:
    """``datasette_metadata.json``: packaged with the wheel, or at the top of a checkout."""
    packaged = resources.files("archive.publish").joinpath("datasette_metadata.json")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "datasette_metadata.json"


@cache
def project_metadata() -> dict:
    return json.loads(metadata_path().read_text(encoding="utf-8"))


# The search indexes and table beyond reports_fts, for whoever opens them.
SEARCH_TABLES = {
    LONG_FTS: {
        "hidden": True,
        "description": (
            f"长词索引 — 每份报告（标题、正文、机关、地区）中超过 {MAX_GRAM} 个字的每一串"
            f"文字和数字，按三字切分（trigram）：超过 {MAX_GRAM} 个字的词，无论多长都能准确"
            f"找到。rowid 即 reports.id。用它搜索报告：reports?_search=…&_fts_table={LONG_FTS}"
        ),
        "columns": {"words": "长词 — 报告中超过八个字的文字串，每行一个"},
    },
    NARRATIVE_FTS: {
        "hidden": True,
        "description": (
            "正文索引 — 每份报告用自己的话说的内容（标题、机关、地区，以及去掉模板标题和"
            "表格标签后的正文），切分为 1–8 字的片段：搜索页按它排序。rowid 即 reports.id。"
        ),
    },
    NAMES_FTS: {
        "hidden": True,
        "description": (
            "名称索引 — 每份报告的标题、机关和地区，切分为片段：名称中含搜索词的报告在搜索页"
            "排在最前。rowid 即 reports.id。"
        ),
    },
    FACETS_TABLE: {
        "hidden": True,
        "description": (
            "搜索分面 — 每份报告一行：年度、层级、省份和名称，搜索页据此计数、筛选和排序。"
        ),
        "columns": {
            "report_id": "报告",
            "bucket": "分组 — 年度×1000 + 层级×100 + 省份代码前两位，一次分组即可计数",
            "year": "统计年度",
            "level": "层级 — province 省级、city 地市级、district 县级",
            "province_code": "省份代码（六位）",
            "names": "名称 — 标题、机关、地区，每行一个",
        },
    },
}


def database_metadata() -> dict:
    """The ``"*"`` block of the project's metadata, with the Chinese views described."""
    block = copy.deepcopy(project_metadata().get("databases", {}).get("*", {}))
    tables = block.setdefault("tables", {})
    for name in WIDE_TABLES:  # each number's check, described once for all of them
        tables.setdefault(name, {}).setdefault("columns", {}).update(check_descriptions(name))
    sums = tables.setdefault(rollup.TABLE, {}).setdefault("columns", {})
    sums.update(rollup.kept_descriptions(sums))
    tables.update(view_metadata(tables))
    tables.setdefault(FILES_TABLE, {"hidden": True})
    for name, config in SEARCH_TABLES.items():
        tables.setdefault(name, copy.deepcopy(config))
    return block


@cache
def views_metadata() -> dict:
    """Only the views' part of :func:`database_metadata` (computed once: Datasette asks
    for metadata on every permission check, dozens of times per page)."""
    tables = database_metadata()["tables"]
    return {view: tables[view] for view, _ in ZH_VIEWS.values()}


def standalone_metadata(database: str) -> dict:
    """Datasette metadata for one database file, named as Datasette names it (the file
    name without ``.db``): top-level provenance and licence, then its tables and queries.

    Without nianbao, the search box of ``reports`` finds a word of up to eight characters;
    its description gets a second box that searches ``reports_long_fts`` for longer ones.
    """
    top = {k: v for k, v in project_metadata().items() if k != "databases"}
    block = database_metadata()
    reports = block.get("tables", {}).get("reports")
    if reports is not None:
        described = reports.get("description_html") or str(escape(reports.get("description", "")))
        reports["description_html"] = described + LONG_WORD_BOX.replace("{database}", database)
    return {**top, "databases": {database: block}}


# Datasette sends a box's words as quoted strings (escape_fts); reports_long_fts reads a
# quoted word as the phrase of its overlapping three-character pieces.
LONG_WORD_BOX = f"""
<form class="nb-long-words" action="/{{database}}/reports" method="get">
<label>超过 {MAX_GRAM} 个字的长词（{MAX_GRAM} 个字以内用上面的搜索框）：
<input type="search" name="_search" placeholder="政府信息公开工作年度报告"></label>
<input type="hidden" name="_fts_table" value="{LONG_FTS}">
<input type="submit" value="搜索长词">
</form>"""


def readme() -> str:
    """How to open a copy of the archive with Datasette, sqlite-utils or sqlite3.

    ``{database}`` stands for the file's name without ``.db``."""
    return README.replace("{max_gram}", str(MAX_GRAM))


def ship(conn: sqlite3.Connection) -> None:
    """Keep the metadata (with ``{database}`` for the name) and the README in the archive."""
    conn.execute(FILES_SCHEMA)
    files = {
        "metadata.json": json.dumps(
            standalone_metadata(DATABASE), ensure_ascii=False, indent=1, sort_keys=False
        )
        + "\n",
        "README.md": readme(),
    }
    for name, content in files.items():
        conn.execute(
            f"INSERT INTO {FILES_TABLE} (name, content) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET content = excluded.content "
            "WHERE content IS NOT excluded.content",
            [name, content],
        )
    conn.execute(QUERIES_SCHEMA)
    rows = query_rows(database_metadata().get("queries", {}))
    if rows != conn.execute(f"SELECT * FROM {QUERIES_TABLE} ORDER BY rowid").fetchall():
        conn.execute(f"DELETE FROM {QUERIES_TABLE}")
        conn.executemany(f"INSERT INTO {QUERIES_TABLE} VALUES (?, ?, ?, ?, ?)", rows)


def query_rows(queries: dict) -> list[tuple[str, str, str, str, str]]:
    """(name, title, parameters, description, sql) per stored query, in the metadata's
    order; parameters are the SQL's ``:names``, comma-separated, as Datasette finds them."""
    rows = []
    for name, query in queries.items():
        sql = query["sql"]
        parameters = dict.fromkeys(re.findall(r"(?<![:\w]):(\w+)", sql))
        description = query.get("description") or html.unescape(
            re.sub(r"<[^>]+>", "", query.get("description_html", ""))
        )
        rows.append((name, query.get("title", name), ",".join(parameters), description, sql))
    return rows


README = """\
# {database}.db — nianbao 政府信息公开工作年度报告存档

这是 nianbao 存档的一份快照：政府信息公开工作年度报告的元数据、全文、三张统计表的数字
（表二 主动公开、表三 依申请公开、表四 复议诉讼）和勾稽关系检查结果。
A snapshot of the nianbao archive of Chinese government information-disclosure annual
reports: their metadata and text, the numbers of their three tables, and the checks of
the agencies' arithmetic. Nothing here needs nianbao installed.

Files: `{database}.db` (SQLite), `{database}.metadata.json` (Datasette configuration:
stored queries, column descriptions, provenance), `{database}.db.sha256`
(`sha256sum -c {database}.db.sha256`). The same metadata and this README are also
inside the database, in the table `publish_files`.

## Datasette

```sh
python3 -m venv venv && . venv/bin/activate && pip install datasette
datasette {database}.db -m {database}.metadata.json --port 8011
```

Open <http://127.0.0.1:8011/{database}> (port 8011, not Datasette's default 8001, which a
running `nianbao serve` or `nianbao demo` holds): the stored queries (全文搜索, 勾稽关系不符的报告,
某地区历年依申请公开 …) are listed there; the search box on `reports` finds Chinese words
of up to {max_gram} characters (`/{database}/reports?_search=行政复议`), the second box
under it longer ones (`/{database}/reports?_search=政府信息公开工作年度报告&_fts_table=reports_long_fts`,
see *Searching Chinese* below). The metadata file names the database
`{database}`: keep the file name, or rename both (the key under `"databases"`).
Tested with Datasette 0.65, the current stable release (1.0 is in alpha and reads
stored queries from a configuration file instead).

## sqlite-utils

```sh
pip install sqlite-utils
sqlite-utils search {database}.db reports 行政复议 -c id -c year -c agency -c title
sqlite-utils query {database}.db "select id, year, agency, title from reports where id in
  (select rowid from reports_long_fts where reports_long_fts match :q)" -p q 政府信息公开工作年度报告
sqlite-utils query {database}.db "select * from 表三_依申请公开 where 地市级 = '新乡市'"
sqlite-utils rows {database}.db stored_queries -c name -c title -c parameters --table
sqlite-utils query {database}.db "$(sqlite-utils query {database}.db \
  "select sql from stored_queries where name = 'region_requests'" --raw)" \
  -p region 新乡市 -p omit_failing ""
```

The table `stored_queries` holds every stored query Datasette offers (name, title, its
`:parameters`, description, SQL), for the tools that read no Datasette metadata. Give
every parameter it lists (an empty one means its default: `omit_failing` empty counts
the numbers that fail the report's arithmetic, `1` leaves them out).

## sqlite3 (the shell, or Python's sqlite3 module)

```sh
sqlite3 {database}.db "select id, year, agency, title from reports
  where id in (select rowid from reports_fts where reports_fts match '行政复议')
  order by year desc limit 20"
sqlite3 {database}.db "select id, year, agency, title from reports
  where id in (select rowid from reports_long_fts where reports_long_fts match '政府信息公开工作年度报告')"
sqlite3 {database}.db "select name, parameters, title from stored_queries"
```

In Python: `sql = db.execute("select sql from stored_queries where name = ?",
["region_requests"]).fetchone()[0]; db.execute(sql, {"region": "新乡市", "omit_failing": ""})
.fetchall()`.

## Searching Chinese

Chinese is written without spaces, and no tokenizer SQLite ships finds both a word of two
characters and a word of twelve, so the archive has two indexes:

- `reports_fts` holds every run of Chinese characters as all its pieces of 1 to
  {max_gram} characters, so a Chinese word of up to {max_gram} characters is one token:
  `match '复议'`, `match '行政复议'` find exactly the reports whose title, text, agency or
  region contains it — the search box on `reports`, `sqlite-utils search … reports`.
- `reports_long_fts` holds every run of letters and digits longer than {max_gram}
  characters, `trigram`-tokenised: a longer word, quoted as Datasette's box quotes it or
  bare as sqlite-utils passes it, is the phrase of its overlapping three-character
  pieces, and `match '政府信息公开工作年度报告'` finds exactly the reports that contain it
  (it finds nothing shorter than three characters, and only what lies in a run longer
  than {max_gram}: use it for long words only).

Several words separated by spaces must all occur. Write a term mixing digits and Chinese
of {max_gram} characters or fewer as two words (`2023 年度`); the stored query
`search_reports` checks any term whole. The indexes store the pieces, not the text:
never run FTS5's `'rebuild'` on them (nor `sqlite-utils rebuild-fts` / `enable-fts` on
`reports`), which would index the raw text.

## What is where

- `reports` — one row per report document: agency, region, year, template, title, text,
  publication date, parse status; `capture_id` is the fetch it was read from.
- `表三_依申请公开`, `表四_复议诉讼`, `表二_主动公开` — one row per report, the numbers with
  the report template's printed labels as column names (blank = printed blank, not 0);
  `report_t3`, `report_t4`, `report_t2` are the same with English keys; `cells` has every
  printed cell.
- `findings` — the arithmetic rules (勾稽关系): `status = 'fail'` where the numbers do not
  add up; `incomplete` / `uncertain` are notes (blank cells), not failures.
- `regions` — region codes spelled out as province / city / district.
- Provenance: `captures` (URL, fetch time, SHA-256 of the original; a data snapshot
  keeps no bodies) and `report_originals` (every original of a report).

Licence: the software is Apache-2.0; the reports are public government information.
"""
