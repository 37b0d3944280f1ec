"""A reader's mistakes: a Chinese 4xx page that says what to do, never a traceback or a 500.

A reader types URLs: a report that does not exist, a table name in Chinese with ``.csv``
after it, a stored query sent by a form that POSTs. Datasette answers most of them with
a 4xx, but its default exception handler (``datasette.handle_exception``) prints each
one — a plain 404 included — as a traceback with every local variable when ``rich`` is
installed (nianbao depends on it), and for a URL that matches no route at all that very
printing fails (rich refuses to print outside an ``except`` block), which makes a 500.
The handler here therefore takes Datasette's place (:func:`replace_default_handler`; a
plugin hook like any other): a reader's mistake is a page of the archive's own with the
status Datasette meant and one access-log line; anything else is a failure, logged with
its traceback as Datasette logs it, and answered 500. A few mistakes need more:

* ``/<db>/表三_依申请公开.csv`` (the name as typed, or percent-encoded): Datasette
  redirects to its tilde encoding with the dot encoded too (``…~2Ecsv``), a table that
  does not exist. Here it is redirected to the view's CSV itself.
* a POST to a stored query that only reads: Datasette 0.65 fails inside its own view
  (500). Here it is a 405 that says to use the link instead.

:func:`handle_exception` answers every 4xx with a page of the archive's own (JSON for a
``.json`` URL, as Datasette's own errors are), and leaves everything else — a real
failure — to Datasette, which logs it in full.
"""

from __future__ import annotations

import html
import pdb
import re
import traceback
from urllib.parse import quote

from datasette import Response
from datasette.utils import add_cors_headers, tilde_encode
from datasette.utils.asgi import Base400, Request
from datasette.views.base import DatasetteError

HEADINGS = {
    500: "服务器出错",
    400: "请求有误",
    403: "没有权限",
    404: "找不到这个页面",
    405: "不能这样请求这个页面",
}
# A table, view or stored query by a name that is not plain ASCII, with a format after it.
_NAMED_EXPORT = re.compile(r"^/(?P<database>[^/]+)/(?P<name>[^/]+)\.(?P<format>csv|json)$")


async def page(datasette, request, message: str, status: int, detail: str = "") -> Response:
    """The archive's error page (or Datasette's JSON error for a ``.json`` URL), with the
    CORS headers Datasette gives its own when it serves with ``--cors``."""
    headers: dict[str, str] = {}
    if datasette.cors:
        add_cors_headers(headers)
    if request.path.endswith(".json"):
        return Response.json(
            {"ok": False, "error": message, "status": status, "title": HEADINGS.get(status)},
            status=status,
            headers=headers,
        )
    html = await datasette.render_template(
        "nianbao_error.html",
        {
            "status": status,
            "heading": HEADINGS.get(status, "请求有误"),
            "message": message,
            "detail": detail,
        },
        request=request,
        view_name="nianbao_error",
    )
    return Response.html(html, status=status, headers=headers)


# Datasette 0.65 raises these for a URL a reader wrote wrong, with its default status 500.
MISTAKEN_AS_500 = ("Cannot sort table by ", "Cannot use _sort and _sort_desc", "Invalid _through")


def reader_error(exception: BaseException, request=None) -> tuple[int, str] | None:
    """(status, Datasette's message) when the exception is a reader's mistake (a 4xx)."""
    if isinstance(exception, Base400):
        return exception.status, str(exception.args[0] if exception.args else "")
    if isinstance(exception, DatasetteError):
        message = str(exception.message)
        if exception.message_is_html:
            message = html.unescape(
                re.sub(r"<(script|textarea)\b.*?</\1>|<[^>]+>", " ", message, flags=re.S)
            )
            message = " ".join(message.split())
        if 400 <= exception.status < 500:
            return exception.status, message
        if message.startswith(MISTAKEN_AS_500):
            return 400, message
    if isinstance(exception, ValueError) and request is not None and "_through" in request.args:
        return 400, '_through 参数应为 JSON：{"table": …, "column": …, "value": …}'
    return None


MESSAGES = {
    404: "网址里的表、报告或查询不存在。从首页或数据库页进入，或检查网址的拼写。",
    403: "这个页面不对外开放。",
}
TOO_LONG = "这个查询超过了时间限制：请缩小范围再试，例如指定年度或地区。"


def handle_exception(datasette, request, exception):
    """Every exception Datasette's views raise, in place of Datasette's default handler."""

    async def inner():
        if datasette.pdb:
            pdb.post_mortem(exception.__traceback__)
        found = reader_error(exception, request)
        if found is not None:
            status, detail = found
            message = MESSAGES.get(status, "请求的参数不能这样用：请检查网址或表单里填写的内容。")
            if getattr(exception, "title", None) == "SQL Interrupted":  # the time limit
                message = TOO_LONG
            return await page(datasette, request, message, status, detail)
        traceback.print_exception(exception)  # a real failure: logged in full
        return await page(
            datasette, request, "服务器出错了。这不是网址的问题；错误已记录在服务器日志中。", 500
        )

    return inner


DEFAULT_HANDLER = "datasette.handle_exception"


def replace_default_handler() -> None:
    """Unregister Datasette's default exception handler: :func:`handle_exception` (a hook
    of the pages plugin) answers every exception instead."""
    from datasette.plugins import pm

    if pm.get_plugin(DEFAULT_HANDLER) is not None:
        pm.unregister(name=DEFAULT_HANDLER)


def wrapper(datasette, app):
    """Before Datasette routes a request: a Chinese name with .csv/.json goes to the URL
    Datasette knows, and a POST to a stored query that only reads is a 405."""

    async def wrapped(scope, receive, send):
        if scope.get("type") == "http":
            answer = await _answer(datasette, scope)
            if answer is not None:
                await answer.asgi_send(send)
                return
        await app(scope, receive, send)

    return wrapped


async def _reads_only(datasette, path: str) -> bool:
    """Is this a table, row or stored query of a database served, other than a stored
    query that writes (the only thing of a database Datasette 0.65 takes a POST for)?"""
    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[0] not in datasette.databases or parts[1].startswith("-"):
        return False
    name = re.sub(r"\.(json|csv)$", "", parts[1])
    query = await datasette.get_canned_query(parts[0], name, None) if len(parts) == 2 else None
    return not (query and query.get("write"))


async def _answer(datasette, scope: dict) -> Response | None:
    path = scope.get("path", "")
    named = _NAMED_EXPORT.match(path)
    if scope.get("method") == "GET" and named and not named["name"].isascii():
        query = scope.get("query_string", b"").decode("latin-1")
        target = "/{}/{}.{}".format(
            quote(named["database"]), tilde_encode(named["name"]), named["format"]
        )
        return Response.redirect(target + (f"?{query}" if query else ""))
    if scope.get("method") == "POST" and await _reads_only(datasette, path):
        # Before Datasette's own first-request startup, maybe: its templates need it done.
        await datasette.invoke_startup()
        # Outside Datasette's CSRF layer: the page's forms get no token here.
        request = Request({**scope, "csrftoken": lambda: ""}, None)
        response = await page(
            datasette,
            request,
            "这个页面只能读取：请直接打开它的网址；常用查询在查询页填好参数后点「查询」。",
            405,
        )
        response.headers["Allow"] = "GET"
        return response
    return None
