"""The archive's Datasette plugin: Chinese search, provenance links, safe originals, Excel CSV.

Registered as the distribution's one ``datasette`` entry point, so ``nianbao serve`` and a
plain ``datasette archive.db`` in the same environment behave the same, and
``/-/plugins`` lists nianbao-archive once: the hooks of the other publishing modules
(the snapshots' routes, :mod:`archive.publish.snapshots`) are served from here. It is
part of the package (it imports the search and the wide tables), so it is installed with
it, not copied into a ``--plugins-dir``: loaded from one, it says so and stops.

* **Search.** Datasette's ``?_search=`` (and its search box) hands the query to the SQL
  function ``escape_fts``; here it becomes :func:`archive.publish.search.fts_query`, which
  sends a Chinese word of up to 8 characters as the one token the ``reports_fts`` index
  holds for it (as Datasette's own escaping does) and a longer one as its 8-character
  pieces. For text without Chinese it escapes exactly as Datasette does.
  ``nianbao_fts(q)`` is the same function under the project's own name.
* **Search.** ``/<database>/-/search?q=…`` (``.json``) is the reader's search page
  (:mod:`archive.publish.pages.search_page`), where the front page's box leads.
* **Originals.** ``/-/original/<database>/<capture_id>`` serves a capture's body byte
  for byte with the content type the site sent, as an attachment, in a CSP sandbox,
  with ``nosniff``: archived HTML is downloaded, never run in the archive's origin.
  ``?view=text`` shows the text the parser reads in it, a PDF page by page
  (:mod:`archive.publish.pages.text_view`).
* **Provenance.** A report's SHA-256 and a capture's body link to the original; every
  cell's printed text links to the capture it was read from (URL, fetch time, SHA-256).
* **Excel.** ``.csv?_bom=1`` starts the file with a UTF-8 byte-order mark, without which
  Excel on Chinese Windows reads UTF-8 as GBK, and starts any cell Excel would run as a
  formula (``=``, ``+``, ``-``, ``@``, tab, CR) with an apostrophe (:mod:`.csvsafe`);
  works with ``_stream=on`` full exports. Plain ``.csv`` and JSON stay raw.
  The table page's CSV form gets a checkbox for it.
"""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import parse_qs, quote, urlsplit

from datasette import Response, hookimpl
from markupsafe import Markup, escape

from archive.publish import pages, review_web, snapshots
from archive.publish.csvsafe import FormulaGuard
from archive.publish.pages import errors
from archive.publish.pages.search_page import search_view
from archive.publish.pages.text_view import text_view
from archive.publish.search import fts_query
from archive.publish.views import WIDE_TABLES


def _register_pages() -> None:
    from datasette.plugins import pm

    for module in (pages, review_web):
        if not pm.is_registered(module):
            pm.register(module, name=module.__name__)


if __name__ != "archive.publish.plugin":  # datasette --plugins-dir: a copy outside the package
    raise ImportError(
        "nianbao's Datasette plugin comes with the package: `pip install nianbao-archive` "
        "and run datasette without --plugins-dir (it finds the plugin by its entry point)"
    )

# The reader's pages (report page, year over year, front page) are a plugin of their own,
# a package with templates/ and static/ Datasette finds beside it, and so is review and
# correction on the report page (archive.publish.review_web); registered from here,
# so that the distribution keeps one entry point and /-/plugins lists it once.
_register_pages()

BOM = b"\xef\xbb\xbf"
# Types a browser would execute or render as a document in our origin.
_ACTIVE = re.compile(r"html|xml|svg|javascript|ecmascript|xhtml", re.I)
# Columns of the wide tables that point at rows (undeclared foreign keys, see archive.publish.views).
WIDE_LINKS = {"report_id": "reports", "capture_id": "captures", "superseded_by": "reports"}
# The row page of Datasette 0.65 shows foreign keys as bare numbers; these become links.
REPORT_LINKS = {"capture_id": "captures", "previous_id": "reports"}
SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


# Memory-mapped reads: a search matching every report looks up every row of ``reports``
# (its count, its order by year); through SQLite's small page cache each lookup is a
# read() call, mapped it is a memory access (measured: count of 100,000 matches 0.39 s
# -> 0.13 s). Address space, not memory; SQLite caps it at its compile-time maximum.
MMAP_BYTES = 2**31 - 2**16


@hookimpl(trylast=True)
def prepare_connection(conn):
    """Replace Datasette's escape_fts (registered before this, hence trylast)."""
    conn.create_function("escape_fts", 1, fts_query, deterministic=True)
    conn.create_function("nianbao_fts", 1, fts_query, deterministic=True)
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")


# -- originals -----------------------------------------------------------------------------


@hookimpl
def register_routes():
    return [
        (r"^/-/original/(?P<database>[^/]+)/(?P<capture_id>\d+)$", original),
        (r"^/(?P<database>[^/]+)/-/search(?P<format>\.json)?$", search_view),
        *snapshots.routes(),
    ]


async def original(datasette, request):
    """One capture's body, as fetched, made safe to open."""
    name = request.url_vars["database"]
    capture_id = int(request.url_vars["capture_id"])
    try:
        db = datasette.get_database(name)
    except KeyError:
        db = None
    if db is None or name.startswith("_") or not await db.table_exists("captures"):
        return await errors.page(datasette, request, f"「{name}」不是存档，没有原件。", 404)
    row = await _capture_with_body(db, capture_id)
    if row is None or row["body"] is None:
        message = f"抓取记录 {capture_id} 没有保存原件字节（不存在，或本副本不含原件）。"
        return await errors.page(datasette, request, message, 404)
    if request.args.get("view") == "text":
        return await text_view(datasette, request, name, dict(row))
    body = bytes(row["body"]) if not isinstance(row["body"], bytes) else row["body"]
    return Response(
        body,
        status=200,
        headers=original_headers(dict(row), capture_id),
        content_type=(row["content_type"] or "application/octet-stream").strip(),
    )


async def _capture_with_body(db, capture_id: int):
    """The capture, or for a revisit (no body of its own) the capture holding its bytes."""
    columns = await db.table_columns("captures")
    revisit = "revisit_of" if "revisit_of" in columns else "null"
    for _ in range(10):  # revisits point at a capture with a body; never loop forever
        row = (
            await db.execute(
                f"select id, url, final_url, content_type, body, sha256, fetched_at, "
                f"{revisit} as revisit_of from captures where id = ?",
                [capture_id],
            )
        ).first()
        if row is None or row["body"] is not None or not row["revisit_of"]:
            return row
        capture_id = row["revisit_of"]
    return None


def original_headers(row: dict, capture_id: int) -> dict[str, str]:
    filename = download_name(row["final_url"] or row["url"], row["content_type"], capture_id)
    return {
        "content-disposition": (
            f"attachment; filename=\"capture-{capture_id}\"; filename*=UTF-8''{quote(filename)}"
        ),
        "content-security-policy": SANDBOX_CSP,
        "x-content-type-options": "nosniff",
        "cache-control": "public, max-age=31536000, immutable",
        "etag": f'"{row["sha256"]}"',
        "x-nianbao-sha256": row["sha256"] or "",
        "x-nianbao-source-url": quote(row["url"] or "", safe=":/?&=#%"),
        "x-nianbao-fetched-at": row["fetched_at"] or "",
    }


def download_name(url: str, content_type: str | None, capture_id: int) -> str:
    """The file name of the URL (Chinese kept), with an extension matching the type."""
    path = urlsplit(url or "").path
    name = path.rsplit("/", 1)[-1] or f"capture-{capture_id}"
    if "." not in name:
        mime = (content_type or "").split(";")[0].strip()
        name += mimetypes.guess_extension(mime) or ".bin"
    return f"{capture_id}-{name}"


# -- provenance links ----------------------------------------------------------------------


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if table == "captures" and column == "body" and value is not None:
        return _original_links(datasette, database, _plain(row["id"]), len(value))
    if table == "reports" and column == "sha256" and value and "capture_id" in row.keys():  # noqa: SIM118 (sqlite3.Row)
        return _sha_link(datasette, database, _plain(row["capture_id"]), value)
    if table == "captures" and column == "sha256" and value and "id" in row.keys():  # noqa: SIM118 (sqlite3.Row)
        return _sha_link(datasette, database, _plain(row["id"]), value)
    links = WIDE_LINKS if table in WIDE_TABLES else REPORT_LINKS if table == "reports" else {}
    if column in links and _plain(value) is not None:
        href = datasette.urls.row(database, links[column], str(_plain(value)))
        label = value.get("label") if isinstance(value, dict) else None
        return Markup(f'<a href="{escape(href)}">{escape(str(label or _plain(value)))}</a>')
    if table == "cells" and column == "raw" and "report_id" in row.keys():  # noqa: SIM118 (sqlite3.Row)
        return _cell_link(datasette, database, _plain(row["report_id"]), value)
    return None


def _plain(value):
    """A foreign key arrives as {"value", "label"} once Datasette has expanded it."""
    return value.get("value") if isinstance(value, dict) else value


def _original_url(datasette, database: str, capture_id: int, as_text: bool = False) -> str:
    url = datasette.urls.path(f"/-/original/{quote(database)}/{capture_id}")
    return url + ("?view=text" if as_text else "")


def _original_links(datasette, database: str, capture_id: int, size: int) -> Markup:
    return Markup(
        f'<a href="{escape(_original_url(datasette, database, capture_id))}">下载原件 '
        f'download original</a> ({size:,} bytes) · <a href="'
        f'{escape(_original_url(datasette, database, capture_id, True))}">以文本查看 view as '
        f"text</a>"
    )


def _sha_link(datasette, database: str, capture_id: int | None, sha: str) -> Markup:
    if capture_id is None:
        return Markup(escape(sha))
    return Markup(
        f'<a href="{escape(_original_url(datasette, database, capture_id))}" '
        f'title="下载原件 download the original">{escape(sha)}</a>'
    )


def _cell_link(datasette, database: str, report_id: int, value):
    async def inner():
        db = datasette.get_database(database)
        found = (
            await db.execute("select capture_id from reports where id = ?", [report_id])
        ).first()
        text = "—" if value is None else str(value)
        if not found or found[0] is None:
            return Markup(escape(text))
        href = datasette.urls.row(database, "captures", str(found[0]))
        return Markup(
            f'<a href="{escape(href)}" title="原始抓取 the capture this cell was read '
            f'from">{escape(text)}</a>'
        )

    return inner


# -- Excel-friendly CSV --------------------------------------------------------------------


@hookimpl
def asgi_wrapper():
    return bom_wrapper


def wants_bom(scope: dict) -> bool:
    if scope.get("type") != "http" or not scope.get("path", "").endswith(".csv"):
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("_bom", [""])[0] not in ("", "0", "off")


def bom_wrapper(app):
    """The CSV for Excel: the UTF-8 BOM first, and no cell Excel would run as a formula
    (:mod:`archive.publish.csvsafe`); a plain ``.csv`` stays raw."""

    async def wrapped(scope, receive, send):
        if not wants_bom(scope):
            await app(scope, receive, send)
            return
        state = {"ok": False, "sent": False}
        guard = FormulaGuard()

        async def send_with_bom(message):
            if message["type"] == "http.response.start":
                state["ok"] = message["status"] == 200
                message = {
                    **message,
                    "headers": [
                        (k, v)
                        for k, v in message.get("headers", [])
                        if k.lower() != b"content-length"
                    ],
                }
            elif message["type"] == "http.response.body" and state["ok"]:
                body = guard.feed(message.get("body", b""))
                if not message.get("more_body"):
                    body += guard.end()
                if not state["sent"]:
                    state["sent"] = True
                    body = BOM + body
                message = {**message, "body": body}
            await send(message)

        await app(scope, receive, send_with_bom)

    return wrapped


# The scripts each of Datasette's views gets, from the pages package's static/ (a module
# each: run in this order once the page is parsed). A row page becomes name | value lines
# (vertical-row.js); long cells and column descriptions fold away (readable.js); tables and
# stored queries offer the CSV for Excel (excel-csv.js). The "database" view also shows the
# results of SQL typed in, which get no Excel links.
SCRIPTS = {
    "row": ("vertical-row.js", "readable.js"),
    "database": ("readable.js",),
    "table": ("readable.js", "excel-csv.js"),
    "query": ("readable.js", "excel-csv.js"),
}


@hookimpl
def extra_js_urls(view_name, datasette):
    return [
        {"url": datasette.urls.static_plugins(pages.STATIC, script), "module": True}
        for script in SCRIPTS.get(view_name, ())
    ]
