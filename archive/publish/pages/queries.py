"""A stored query's page in Chinese: its parameters by their Chinese names, an empty result
that says what to type.

Datasette's query page labels each input with the parameter's SQL name (``year``,
``region``, ``omit_failing``) and answers an empty result with "0 results". The stored
queries keep their SQL names (the URLs and a copy opened without nianbao use them);
:func:`chinese_form` relabels the page Datasette rendered — the inputs by
:data:`archive.publish.labels.PARAMETER_LABELS`, the form's own words, the empty result —
so a reader sees Chinese where the page speaks to them. The page itself stays Datasette's
(``query.html`` extends it and passes its rendered block through here).
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from archive.publish.labels import PARAMETER_LABELS

# Datasette 0.65's words on the query page, and what the archive says instead.
WORDS = (
    ("<h3>Query parameters</h3>", "<h3>查询参数</h3>"),
    ('<input type="submit" value="Run SQL"', '<input type="submit" value="查询"'),
    ('type="button" hidden>Format SQL</button>', 'type="button" hidden>整理 SQL 格式</button>'),
    ('class="canned-query-edit-sql">Edit SQL</a>', 'class="canned-query-edit-sql">修改 SQL</a>'),
    ('<p class="export-links">This data as ', '<p class="export-links">导出：'),
)
EMPTY = '<p class="zero-results">0 results</p>'
_LABEL = re.compile(r'<label for="(qp\d+)">([^<]*)</label>')
_RETURNING = re.compile(r"Custom SQL query(?: returning (more than )?([\d,]+) rows?)?")
_SHOW_HIDE = re.compile(r'(<span class="show-hide-sql">\(<a href="[^"]*">)(hide|show)(</a>\))')


def chinese_form(html: str, parameters: dict[str, str] | None) -> Markup:
    """Datasette's rendered query block with the parameters and its words in Chinese."""

    def label(match: re.Match) -> str:
        name = match.group(2)
        return f'<label for="{match.group(1)}">{escape(PARAMETER_LABELS.get(name, name))}</label>'

    html = _LABEL.sub(label, str(html))
    for english, chinese in WORDS:
        html = html.replace(english, chinese)
    html = _RETURNING.sub(_returning, html)
    html = _SHOW_HIDE.sub(
        lambda m: m.group(1) + ("隐藏 SQL" if m.group(2) == "hide" else "显示 SQL") + m.group(3),
        html,
    )
    return Markup(html.replace(EMPTY, _empty(parameters or {})))


def _returning(match: re.Match) -> str:
    if match.group(2) is None:
        return "SQL 查询"
    return f"SQL 查询：{'超过 ' if match.group(1) else ''}{match.group(2)} 行"


def _empty(parameters: dict[str, str]) -> str:
    """An empty result, said in Chinese: which parameters narrowed it, what to try."""
    given = [
        f"{PARAMETER_LABELS.get(name, name)}「{value}」"
        for name, value in parameters.items()
        if value
    ]
    if given:
        said = "、".join(str(escape(g)) for g in given)
        return (
            f'<p class="zero-results">没有符合条件的结果（{said}）。'
            "可以清空或改写上面的参数再查询；地区可填省、市、区县的名称或代码。</p>"
        )
    return (
        '<p class="zero-results">没有结果：存档里还没有这类记录。'
        "可以在上面填写参数再查询（说明见页首）。</p>"
    )
