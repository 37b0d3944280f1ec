"""Every real document of the corpus parses to its hand-checked expected record."""

from __future__ import annotations

import pytest

from archive.checks import check_parsed
from archive.parse import parse_document
from tests.conftest import corpus_documents, expected_for

DOCS = corpus_documents()


def test_corpus_is_present():
    formats = {p.suffix for p in DOCS}
    assert {".txt", ".html", ".pdf"} <= formats, DOCS


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_expected_cell(doc):
    expected = expected_for(doc)
    report = parse_document(doc.read_bytes(), filename=doc.name)
    assert report.year == expected["year"]
    assert report.template == expected["template"]
    assert report.agency == expected["agency"]
    wrong = {}
    for table, rows in expected["tables"].items():
        for row, cols in rows.items():
            for col, value in cols.items():
                got = report.tables.get(table, {}).get(row, {}).get(col, "absent")
                if got != value or type(got) is not type(value):
                    wrong[f"{table}.{row}.{col}"] = (value, got)
    assert wrong == {}
    # Nothing beyond the expected cells either.
    assert report.cell_count() == sum(
        len(c) for r in expected["tables"].values() for c in r.values()
    )
    assert report.status == "ok"
    assert report.warnings == []


def test_shanghai_blank_totals_are_incomplete_not_failures():
    doc = next(p for p in DOCS if p.name.startswith("shanghai"))
    report = parse_document(doc.read_bytes(), filename=doc.name)
    check_parsed(report)
    statuses = {c["status"] for c in report.checks}
    assert statuses == {"incomplete"}, report.checks
    # The granted row printed its parts but left 总计 blank.
    granted = [c for c in report.checks if c.get("row") == "granted"]
    assert granted and granted[0]["expected"] == 258 + 12 + 1 + 1


def test_huaian_fee_statement():
    doc = next(p for p in DOCS if p.name.startswith("huaian"))
    assert parse_document(doc.read_bytes(), filename=doc.name).fee_yuan == 3940
