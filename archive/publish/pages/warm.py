"""Each kind of page rendered once as ``nianbao serve`` starts, before a reader asks.

The first request of a kind of page pays what no later one does: Jinja compiling its
templates, the plugin's modules imported on first use, SQLite reading the first pages of
the indexes it uses. At 100,000 reports that made a report page's first request 235 ms
against 62 ms for the next, the front page's 262 against 139. The server renders one page
of each kind as it starts, before it listens (a few seconds at 100,000 reports); only
``nianbao serve`` asks for this (:data:`ENV`), not every Datasette that loads the plugin.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import quote

log = logging.getLogger(__name__)

ENV = "NIANBAO_WARM_PAGES"


def wanted() -> bool:
    return os.environ.get(ENV) == "1"


def wrapper(datasette, app):
    """The ASGI app, warming the pages when the server starts: the lifespan's "startup
    complete" is passed on once they are rendered, so the server takes its first request
    warm (uvicorn listens only then). Datasette's ``startup`` hooks cannot do it: they run
    in an event loop of their own that ends before the server starts."""
    if not wanted():
        return app

    async def wrapped(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)

        async def send_warm(message):
            if message.get("type") == "lifespan.startup.complete":
                await warm(datasette)
            await send(message)

        return await app(scope, receive, send_warm)

    return wrapped


async def warm(datasette) -> list[tuple[str, int]]:
    """GET one page of each kind of every archive served; (path, status) of each."""
    paths = ["/"]
    for name in list(datasette.databases):
        paths += await _paths(datasette, name)
    done = []
    for path in paths:
        try:
            response = await datasette.client.get(path)
            done.append((path, response.status_code))
        except Exception as exc:  # noqa: BLE001 (warming must never stop a server)
            log.warning("warming %s failed: %r", path, exc)
            done.append((path, 0))
    return done


async def _paths(datasette, name: str) -> list[str]:
    db = datasette.get_database(name)
    if name.startswith("_") or not await db.table_exists("reports"):  # not an archive
        return []
    row = (await db.execute("select max(id), max(year) from reports")).first()
    report, year = (row[0], row[1]) if row else (None, None)
    base = "/" + quote(name)
    paths = [base, f"{base}/-/search?q={quote('政府信息公开')}", f"{base}/-/regions"]
    if report is not None:
        paths += [f"{base}/reports/{report}", f"{base}/-/compare?report={report}"]
    if year is not None:
        paths.append(f"{base}/-/leads")
    return paths
