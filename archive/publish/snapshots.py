"""The snapshot list at ``/-/snapshots`` and the files for download (routes of the plugin).

Its routes are registered by the package's Datasette plugin (:mod:`archive.publish.plugin`,
the ``[project.entry-points.datasette]``), so any Datasette run in an environment where
nianbao is installed has them. The directory comes from the
plugin configuration (``"plugins": {"nianbao-snapshots": {"directory": …}}``),
else the ``NIANBAO_SNAPSHOT_DIR`` environment variable, else ``snapshots/``
beside the first database served. Only files belonging to a complete snapshot
(database, manifest, checksum) are served — names are looked up in that list,
never joined onto a path — and they are sent as downloads.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from datasette.utils.asgi import AsgiFileDownload, Response

from archive.export.snapshot import list_snapshots, snapshot_files
from archive.publish.pages import STATIC

PLUGIN = "nianbao-snapshots"
ENV = "NIANBAO_SNAPSHOT_DIR"
_TYPES = {
    ".db": "application/vnd.sqlite3",
    ".json": "application/json; charset=utf-8",
    ".sha256": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".zip": "application/zip",
}


def snapshot_dir(datasette) -> Path | None:
    """Where this Datasette's snapshots are, or None if it cannot tell."""
    config = datasette.plugin_config(PLUGIN) or {}
    if config.get("directory"):
        return Path(config["directory"])
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    for database in datasette.databases.values():
        if getattr(database, "path", None):
            return Path(database.path).resolve().parent / "snapshots"
    return None


async def snapshots_index(datasette, request):
    folder = snapshot_dir(datasette)
    manifests = list_snapshots(folder) if folder else []
    base = datasette.urls.path("/-/snapshots/")
    for manifest in manifests:
        manifest["url"] = base + manifest["file"]
        manifest["manifest_url"] = base + manifest["file"] + ".json"
        manifest["sha256_url"] = base + manifest["file"] + ".sha256"
        manifest["companion_urls"] = {n: base + n for n in manifest.get("companions") or {}}
    if request.url_vars.get("format") == ".json":
        return Response.json({"snapshots": manifests})
    stylesheet = datasette.urls.static_plugins(STATIC, "nianbao.css")
    return Response.html(_page(manifests, datasette.urls.path("/"), stylesheet))


async def snapshot_file(datasette, request):
    folder = snapshot_dir(datasette)
    name = request.url_vars["name"]
    path = snapshot_files(folder).get(name) if folder else None
    if path is None:  # a plain 404, not an exception Datasette would log with a traceback
        return Response.text(f"no snapshot file {name}", status=404)
    content_type = _TYPES.get(path.suffix, "application/octet-stream")
    return AsgiFileDownload(
        path,
        filename=name,
        content_type=content_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=31536000, immutable",
        },
    )


def _companions(manifest: dict) -> str:
    """Links to the bundle, the Datasette metadata and the README of a snapshot."""
    labels = (
        (".zip", "下载包（数据库＋说明＋元数据，zip）"),
        (".metadata.json", "Datasette 元数据"),
        (".README.md", "说明 README"),
    )
    links = [
        f'<a href="{html.escape(url)}">{label}</a>'
        for suffix, label in labels
        for name, url in manifest.get("companion_urls", {}).items()
        if name.endswith(suffix)
    ]
    return " · ".join(links) or "—"


# The start of a SHA-256 the list shows; the whole of it is in the title, the .sha256
# file and the manifest (64 characters in a cell pushed the download links off a screen).
SHA_SHOWN = 12


def _page(manifests: list[dict], home: str, stylesheet: str) -> str:
    """The list as a page of its own, styled as Datasette's pages are (app.css, then ours):
    the downloads first, the fingerprints after them, shortened."""
    rows = "\n".join(
        '<tr><td>{date}</td><td>{flavour}</td><td><a href="{url}" download>{file}</a></td>'
        '<td class="nb-downloads">{companions}</td><td class="nb-number">{size:,}</td>'
        '<td class="nb-rows">{tables}</td><td>{schema}</td>'
        '<td class="nb-sha"><code title="{sha}">{short}…</code> (<a href="{sha_url}">.sha256</a>, '
        '<a href="{manifest_url}">清单</a>)</td></tr>'.format(
            date=html.escape(m["created_at"]),
            flavour=html.escape(FLAVOURS.get(m["flavour"], m["flavour"])),
            url=html.escape(m["url"]),
            file=html.escape(m["file"]),
            size=m["size"],
            tables=_row_counts(m["tables"]),
            schema=m["schema_version"],
            sha=html.escape(m["sha256"]),
            short=html.escape(m["sha256"][:SHA_SHOWN]),
            sha_url=html.escape(m["sha256_url"]),
            manifest_url=html.escape(m["manifest_url"]),
            companions=_companions(m),
        )
        for m in manifests
    )
    body = (
        '<div class="nb-snapshots"><table><thead><tr><th>时间（UTC）</th><th>类型</th>'
        "<th>数据库文件</th><th>不装 nianbao 也能打开</th><th>字节</th><th>行数</th>"
        "<th>结构版本</th><th>SHA-256</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
        if manifests
        else "<p>还没有快照。</p>"
    )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>数据快照</title>"
        f'<link rel="stylesheet" href="{html.escape(home)}-/static/app.css">'
        f'<link rel="stylesheet" href="{html.escape(stylesheet)}"></head>'
        f'<body><section class="content"><p><a href="{html.escape(home)}">首页</a></p>'
        "<h1>数据快照</h1>"
        "<p><b>数据版</b>：元数据、全文、表格数字、核查结果，不含原始文件。<b>完整版</b>：含原始文件。"
        "核对：<code>sha256sum -c 文件名.sha256</code>。"
        "打开：<code>datasette 文件名.db -m 文件名.metadata.json</code>、"
        "<code>sqlite-utils search 文件名.db reports 行政复议</code> 或 sqlite3，详见说明 README。</p>"
        f'{body}<p><a href="snapshots.json">JSON</a></p></section></body></html>'
    )


FLAVOURS = {"data": "数据版", "full": "完整版"}
# The tables a reader counts first; the rest fold away.
LEADING = ("reports", "cells", "findings")


def _row_counts(tables: dict[str, int]) -> str:
    """报告 29 · 单元格 5,786 · 勾稽问题 48, then every table's count, folded."""
    names = {"reports": "报告", "cells": "单元格", "findings": "勾稽问题"}
    lead = " · ".join(f"{names[k]} {tables[k]:,}" for k in LEADING if k in tables)
    every = html.escape("，".join(f"{k} {v:,}" for k, v in tables.items()))
    return f"<details><summary>{lead or '各表'}</summary>{every}</details>"


def routes() -> list:
    """The snapshot pages, registered by :mod:`archive.publish.plugin`."""
    return [
        (r"^/-/snapshots(?P<format>\.json)?$", snapshots_index),
        (r"^/-/snapshots/(?P<name>[^/]+)$", snapshot_file),
    ]
