"""What makes a copy of the archive usable without nianbao: metadata and a README, inside it.

A researcher downloads a snapshot and opens it with whatever they have: Datasette
alone, sqlite-utils, or the ``sqlite3`` shell. None of them has nianbao's plugin, so
everything they need must be plain SQLite and plain Datasette configuration:

* **Search** is a standard FTS5 index that Datasette and sqlite-utils detect on their
  own (:mod:`archive.publish.search`); a Chinese word is one token, so their native
  queries find it.
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

from archive.publish import rollup
from archive.publish.search import MAX_GRAM
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
    return block


@cache
def views_metadata() -> dict:
    """Only the views' part of :func:`database_metadata` (computed once: Datasette asks
    for metadata on every permission check, dozens of times per page)."""
    tables = database_metadata()["tables"]
    return {view: tables[view] for view, _ in ZH_VIEWS.values()}


def standalone_metadata(database: str) -> dict:
    """Datasette metadata for one database file, named as Datasette names it (the file
    name without ``.db``): top-level provenance and licence, then its tables and queries."""
    top = {k: v for k, v in project_metadata().items() if k != "databases"}
    return {**top, "databases": {database: database_metadata()}}


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
(`/{database}/reports?_search=行政复议`). The metadata file names the database
`{database}`: keep the file name, or rename both (the key under `"databases"`).
Tested with Datasette 0.65, the current stable release (1.0 is in alpha and reads
stored queries from a configuration file instead).

## sqlite-utils

```sh
pip install sqlite-utils
sqlite-utils search {database}.db reports 行政复议 -c id -c year -c agency -c title
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
sqlite3 {database}.db "select name, parameters, title from stored_queries"
```

In Python: `sql = db.execute("select sql from stored_queries where name = ?",
["region_requests"]).fetchone()[0]; db.execute(sql, {"region": "新乡市", "omit_failing": ""})
.fetchall()`.

## Searching Chinese

The index `reports_fts` (FTS5) holds every run of Chinese characters as all its pieces
of 1 to {max_gram} characters, so a Chinese word of up to {max_gram} characters is one
token: `match '复议'`, `match '行政复议'` find exactly the reports whose title or text
contains it, in every tool above. Several words separated by spaces must all occur.
A longer term: write it as pieces of at most {max_gram} characters, separated by spaces
(`最低生活保障 金额`), or use the stored query `search_reports`, which checks the whole
term; write a term mixing digits and Chinese as two words (`2023 年度`). The index
stores the pieces, not the text: never run FTS5's `'rebuild'` on it (nor
`sqlite-utils rebuild-fts` / `enable-fts` on `reports`), which would index the raw text.

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
