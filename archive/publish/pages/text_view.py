"""The text view of an original: ``/-/original/<db>/<capture_id>?view=text``.

A reader who clicks 以文本查看 beside a download wants to read the report, not its PDF
bytes or its page's markup: this page shows the text the parser read
(:mod:`archive.publish.original_text`), a PDF page by page under its page numbers, with
the download, the capture and the reports read from it one click away.
``&format=txt`` gives the same text as a plain UTF-8 file, ``&format=json`` as JSON
(pages and their numbers) for scripts.

The text is escaped like any text of a page: nothing of the original runs or renders
here. A document that cannot be read says why (422: encrypted, corrupt, not a format
the parser reads; 503: it took too long or the reader is busy) beside its download.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

from datasette import Response

from archive.parse.document import ParseError
from archive.publish.original_text import READER, Busy
from archive.publish.pages import errors

# A document the parser cannot read is the document's state, not a fault of the server;
# one it did not finish reading in time is the server's.
_SLOW = {"timeout", "too_much_memory", "worker_died"}
FORMATS = {
    "pdf": "PDF",
    "docx": "Word (DOCX)",
    "doc": "Word (DOC/WPS)",
    "rtf": "RTF",
    "mht": "MHT",
    "html": "网页 HTML",
    "text": "纯文本",
    "zip": "ZIP",
}


async def text_view(datasette, request, database: str, row: dict) -> Response:
    """The page (or ``format=txt`` / ``json``) for one capture whose body is ``row["body"]``."""
    capture_id = row["id"]
    body = row["body"] if isinstance(row["body"], bytes) else bytes(row["body"])
    wanted = request.args.get("format") or "html"
    if wanted not in ("html", "txt", "json"):
        message = f"格式（format）「{wanted}」不存在：文本视图可选 html、txt 或 json。"
        return await errors.page(datasette, request, message, 400)
    try:
        text = await asyncio.to_thread(
            READER.read, row["sha256"], body, row["content_type"], row["final_url"] or row["url"]
        )
        problem, status = None, 200
    except ParseError as exc:
        text, status = None, 503 if exc.status in _SLOW else 422
        problem = f"{exc.message}（{exc.status}）"
    except Busy as exc:
        text, problem, status = None, str(exc), 503
    if wanted == "txt":
        if text is None:
            return Response.text(f"抓取记录 {capture_id} 的原件无法读出文本：{problem}", status)
        return Response.text(
            text.plain(),
            headers={
                "content-disposition": f"inline; filename*=UTF-8''{quote(f'capture-{capture_id}.txt')}"
            },
        )
    if wanted == "json":
        payload = (
            {"ok": False, "capture_id": capture_id, "error": problem}
            if text is None
            else {
                "ok": True,
                "capture_id": capture_id,
                "sha256": row["sha256"],
                "format": text.format,
                "truncated": text.truncated,
                "pages": [{"number": p.number, "text": p.text} for p in text.pages],
            }
        )
        return Response(
            json.dumps(payload, ensure_ascii=False),
            status=status,
            content_type="application/json; charset=utf-8",
        )
    html = await datasette.render_template(
        "nianbao_original_text.html",
        {
            "database": database,
            "capture": {
                k: row[k]
                for k in ("id", "url", "final_url", "fetched_at", "sha256", "content_type")
            },
            "size": len(body),
            "text": text,
            "format_label": FORMATS.get(text.format, text.format) if text else None,
            "problem": problem,
            "reports": await _reports_read_from(datasette, database, capture_id),
        },
        request=request,
        view_name="nianbao_original_text",
    )
    return Response.html(html, status=status)


async def _reports_read_from(datasette, database: str, capture_id: int) -> list[dict]:
    """The reports this capture is an original of (its report, or the one it is attached to)."""
    db = datasette.get_database(database)
    sql = "select id, title, agency, year from reports where capture_id = :c"
    if await db.table_exists("report_originals"):
        sql += (
            " union select r.id, r.title, r.agency, r.year from report_originals o "
            "join reports r on r.id = o.report_id where o.capture_id = :c"
        )
    return [dict(r) for r in (await db.execute(sql + " order by 1", {"c": capture_id})).rows]
