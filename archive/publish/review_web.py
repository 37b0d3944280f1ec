"""Review and correction on the report page, through Datasette's own permission system.

Registered from :mod:`archive.publish.plugin` (the distribution's one entry point). It
adds to the report page (the row page of ``reports``) its review: the verdict in force
(核对无误 / 有争议, with the note, who and when), every earlier one, and each corrected
cell with both values; and, to a reader allowed to write, the forms that record them.

Who may write is Datasette's to say, not a login of the archive's own:

* the action is ``nianbao-review``, decided by the :func:`permission_allowed` hook;
* it is refused outright unless the server was started with writing allowed — the
  plugin configuration ``{"plugins": {"nianbao-review": {"allow": {...}}}}``, which
  ``nianbao serve --allow-review`` writes (:func:`plugin_metadata`) — and to a reader
  with no actor (anonymous);
* otherwise the actor must match the ``allow`` block, as Datasette matches every
  ``allow`` block (``{"id": "*"}``: anyone signed in; ``{"id": ["alice", "bob"]}``);
* the actor comes from Datasette: ``nianbao serve --root`` prints Datasette's sign-in
  link for ``root``, and any authentication plugin (an ``actor_from_request`` hook) works.

The forms POST to ``/<database>/-/review/<report id>`` with Datasette's CSRF token. A
POST the reader may not make is a 403 page in Chinese — answered before Datasette's CSRF
layer, so that an anonymous reader gets the archive's page, not the layer's English one;
a read-only database (a snapshot served immutable) is a 403 too, and so is a form whose
CSRF token Datasette refuses (a stale page, a forged form) — in Chinese as well. A value or note that
cannot be recorded is a 400 page saying why. A recorded one brings the reader back to
the report page, where it shows.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import parse_qs

from datasette import Response, hookimpl
from datasette.plugins import pm
from datasette.utils import actor_matches_allow, await_me_maybe
from datasette.utils.asgi import Request
from markupsafe import Markup, escape

from archive.publish import review
from archive.publish.labels import cell_key_label
from archive.publish.pages import errors
from archive.publish.review_view import REVIEW_VIEW
from archive.store.reviews import (
    TABLES,
    ReviewError,
    correction_history,
    corrections_of,
    review_in_force,
    reviews_of,
)
from archive.store.templates import TEMPLATES, template

ACTION = "nianbao-review"
PLUGIN = "nianbao-review"
ROUTE = re.compile(r"^/(?P<database>[^/]+)/-/review/(?P<report_id>\d+)$")
FORM_FIELDS = ("action", "status", "note", "cell", "value")


def plugin_metadata(allow: dict | None) -> dict:
    """The metadata that allows writing reviews to the actors ``allow`` matches
    (``{"id": "*"}``: anyone signed in); Datasette reads it from ``--metadata``."""
    return {"plugins": {PLUGIN: {"allow": allow if allow is not None else {"id": "*"}}}}


def writing_allowed(datasette) -> dict | None:
    """The ``allow`` block the server was started with, or None: nobody may write."""
    config = datasette.plugin_config(PLUGIN) or {}
    allow = config.get("allow")
    return allow if isinstance(allow, dict) else None


@hookimpl
def permission_allowed(datasette, actor, action, resource):
    """``nianbao-review``: only on a server started with writing allowed, only to a
    signed-in actor its ``allow`` block matches. Other actions are not this hook's."""
    if action != ACTION:
        return None
    allow = writing_allowed(datasette)
    if allow is None or not actor or not actor.get("id"):
        return False
    return actor_matches_allow(actor, allow)


async def may_review(datasette, actor, database: str) -> bool:
    db = datasette.get_database(database)
    if not db.is_mutable or not await db.table_exists(TABLES[0]):
        return False
    return await datasette.permission_allowed(actor, ACTION, resource=database, default=False)


def reviewer_name(actor: dict) -> str:
    """Who the review is recorded as: the actor's display name and id."""
    name = actor.get("name") or actor.get("display")
    return f"{name}（{actor['id']}）" if name and name != actor["id"] else str(actor["id"])


# -- the report page -----------------------------------------------------------------


def page_data(conn, report_id: int, with_form: bool = False) -> dict | None:
    """The review part of the report page: verdict in force, history, corrections; and
    ``with_form``, the cells the correction form offers."""
    row = conn.execute("select template from reports where id = ?", [report_id]).fetchone()
    if row is None:
        return None
    template_id = row[0]
    current = corrections_of(conn, [report_id]).get(report_id, {})
    in_force = review_in_force(conn, report_id)
    return {
        "review": in_force,
        "status_name": review.STATUS_NAMES.get(in_force.status) if in_force else None,
        "history": [
            {"review": r, "status_name": review.STATUS_NAMES.get(r.status, r.status)}
            for r in reviews_of(conn, report_id)
        ],
        "corrections": [
            {
                "correction": c,
                "label": cell_key_label(c.cell, template_id),
                "value": review.shown(c.value),
                "parsed": review.shown(c.parsed_value) if c.parsed_read else "未读出",
                "now": review.shown(c.current_value) if c.current_read else "未读出",
                "text": review.correction_text(c),
            }
            for c in sorted(current.values(), key=lambda c: c.id)
        ],
        "cells": correctable_cells(conn, report_id, template_id) if with_form else [],
        "history_corrections": [
            {"correction": c, "label": cell_key_label(c.cell, template_id)}
            for c in correction_history(conn, report_id)
        ],
    }


def correctable_cells(conn, report_id: int, template_id: str | None) -> list[dict]:
    """The cells a reader may correct, by their printed labels: those the report's
    template prints, in print order, then any other the parser read (a province's own
    rows)."""
    printed = list(_printed_cells(template_id))
    known = {c["key"] for c in printed}
    read = sorted(
        f"{t}.{r}.{c}"
        for t, r, c in conn.execute(
            "select table_key, row_key, col_key from cells where report_id = ?", [report_id]
        )
    )
    extra = [{"key": k, "label": cell_key_label(k, template_id)} for k in read if k not in known]
    return printed + extra


@cache
def _printed_cells(template_id: str | None) -> tuple[dict, ...]:
    """A template's cells and labels, worked out once (0.4 ms a report page otherwise)."""
    if template_id not in TEMPLATES:
        return ()
    return tuple(
        {"key": f"{t}.{r}.{c}", "label": cell_key_label(f"{t}.{r}.{c}", template_id)}
        for t, r, c in template(template_id).cell_keys()
    )


@hookimpl
def extra_template_vars(view_name, table, database, request, datasette):
    if view_name != "row" or table != "reports" or request is None:
        return {}

    async def inner():
        try:
            report_id = int(request.url_vars.get("pks", ""))
        except ValueError:
            return {}
        db = datasette.get_database(database)
        if not await db.table_exists("reports"):
            return {}
        can_write = await may_review(datasette, request.actor, database)
        data = await db.execute_fn(lambda conn: page_data(conn, report_id, can_write))
        if data is None:
            return {}
        data["can_write"] = can_write
        data["action"] = datasette.urls.path(f"/{database}/-/review/{report_id}")
        data["actor"] = reviewer_name(request.actor) if request.actor else None
        return {"nianbao_review": data}

    return inner


@hookimpl
def render_cell(value, column, table, database, datasette):
    """The review view's 报告编号 links to the report page."""
    if table != REVIEW_VIEW or column != "报告编号" or not str(value or "").isdigit():
        return None
    href = datasette.urls.row(database, "reports", str(value))
    return Markup(f'<a href="{escape(href)}">{escape(str(value))}</a>')


# -- the form's POST -------------------------------------------------------------------


@hookimpl
def register_routes():
    return [(ROUTE.pattern, review_view)]


async def review_view(datasette, request):
    """Record what the form says, for a reader allowed to; back to the report page."""
    database, report_id = request.url_vars["database"], int(request.url_vars["report_id"])
    if request.method != "POST":
        response = await errors.page(
            datasette, request, "请在报告页上填写核对或校正表单提交。", 405
        )
        response.headers["Allow"] = "POST"
        return response
    refused = await _refusal(datasette, request.actor, database)
    if refused:
        return await errors.page(datasette, request, refused, 403)
    form = {k: v[-1] for k, v in parse_qs((await request.post_body()).decode("utf-8")).items()}
    db = datasette.get_database(database)
    who = reviewer_name(request.actor)
    try:
        said = await db.execute_write_fn(lambda conn: _record(conn, report_id, form, who))
    except ReviewError as exc:
        return await errors.page(
            datasette, request, f"未能记录：{exc}。请返回报告页修改后再提交。", 400
        )
    datasette.add_message(request, said, datasette.INFO)
    return Response.redirect(datasette.urls.row(database, "reports", str(report_id)) + "#review")


def _record(conn, report_id: int, form: dict[str, str], who: str) -> str:
    """One form's write, in one transaction; what the page then says."""
    action = form.get("action")
    note = form.get("note")
    if action == "review":
        done = review.record_review(conn, report_id, form.get("status", ""), who, note)
        return f"已记录核对结论：{review.STATUS_NAMES[done.status]}"
    if action == "correct":
        correction = review.record_correction(
            conn, report_id, form.get("cell", ""), form.get("value", ""), who, note
        )
        return f"已记录校正：{correction.cell} 原件为 {review.shown(correction.value)}"
    if action == "withdraw":
        correction = review.withdraw(conn, report_id, form.get("cell", ""), who, note)
        return f"已撤回 {correction.cell} 的校正"
    raise ReviewError("表单不完整：未指明要记录的是核对结论、校正还是撤回")


async def _refusal(datasette, actor, database: str) -> str | None:
    """Why this reader may not write here (in Chinese), or None."""
    if database not in datasette.databases or not await datasette.get_database(
        database
    ).table_exists("reports"):
        return "没有这个存档。"
    if not datasette.get_database(database).is_mutable:
        return "这个存档以只读方式提供，不能记录核对或校正。"
    if not all([await datasette.get_database(database).table_exists(t) for t in TABLES]):
        return "这个存档还没有核对记录表：请用 nianbao serve 打开它（会先升级存档）。"
    if writing_allowed(datasette) is None:
        return "本服务器未开启核对与校正（运行 nianbao serve --allow-review 开启）。"
    if not actor:
        return "请先登录：只有登录且获准的用户才能记录核对或校正。"
    if not await may_review(datasette, actor, database):
        return f"用户 {actor.get('id')} 没有记录核对或校正的权限。"
    return None


# -- before Datasette's CSRF layer -------------------------------------------------------


async def actor_of(datasette, scope: dict) -> dict | None:
    """The actor Datasette will see for this request (its ``actor_from_request`` hooks)."""
    request = Request(scope, None)
    for result in pm.hook.actor_from_request(datasette=datasette, request=request):
        actor = await await_me_maybe(result)
        if actor:
            return actor
    return None


@hookimpl
def asgi_wrapper(datasette):
    """A POST to the review route by a reader who may not write is refused here, in
    Chinese, before Datasette's CSRF layer answers it in English."""

    def wrap(app):
        async def wrapped(scope, receive, send):
            match = ROUTE.match(scope.get("path", "")) if scope.get("type") == "http" else None
            if not match or scope.get("method") != "POST":
                await app(scope, receive, send)
                return
            actor = await actor_of(datasette, scope)
            refused = await _refusal(datasette, actor, match["database"])
            if refused:
                await _answer(datasette, scope, send, refused)
                return
            await app(scope, receive, _csrf_in_chinese(datasette, scope, send))

        return wrapped

    return wrap


async def _answer(datasette, scope: dict, send, message: str) -> None:
    """The archive's 403 page, sent from outside Datasette's router and CSRF layer."""
    await datasette.invoke_startup()
    request = Request({**scope, "csrftoken": lambda: ""}, None)
    response = await errors.page(datasette, request, message, 403)
    await response.asgi_send(send)


STALE_FORM = "表单已失效或不是从本站的报告页提交的：请刷新报告页后重新填写提交。"


def _csrf_in_chinese(datasette, scope: dict, send):
    """``send`` for a reader who may write: a 403 can then only be Datasette's CSRF
    layer refusing the form's token (English, one line), answered in Chinese instead."""
    refused = False

    async def wrapped_send(message: dict) -> None:
        nonlocal refused
        if message["type"] == "http.response.start" and message.get("status") == 403:
            refused = True
            await _answer(datasette, scope, send, STALE_FORM)
            return
        if not refused:
            await send(message)

    return wrapped_send
