"""The real corpus: its manifest and hand-checked cells agree, and no cell is read wrong.

The manifest (``tests/fixtures/real/manifest.csv``) and the expected records are in
the repository; the document bytes are not (they come from public repositories and
pages, see each row's provenance). The byte-level tests run when the corpus
directory exists (``/work/realcorpus`` or ``NIANBAO_REAL_CORPUS``) and are skipped
with the reason otherwise.
"""

from __future__ import annotations

import csv
import json
import re

import pytest

from archive.checks import check_report, findings
from archive.store.templates import TEMPLATES, template
from benchmarks.real_corpus import (
    EXPECTED,
    FORMATS,
    MANIFEST,
    MANIFEST_COLUMNS,
    SOURCE_TYPES,
    Entry,
    compare,
    corpus_dir,
    expected_cells,
    load_entries,
    main,
    measure,
    read_manifest,
    same_value,
    sha256,
    totals,
)

ROWS = read_manifest()
ENTRIES = load_entries()


def _ids(entry: Entry) -> str:
    return entry.id


def test_manifest_has_the_documented_columns_and_unique_ids():
    with MANIFEST.open(encoding="utf-8", newline="") as fh:
        assert tuple(csv.DictReader(fh).fieldnames) == MANIFEST_COLUMNS
    assert ROWS, "the manifest lists no document"
    for name in ("id", "file"):
        values = [r[name] for r in ROWS]
        assert len(values) == len(set(values)), f"duplicate {name}"
    for row in ROWS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", row["id"]), row["id"]
        assert row["file"].startswith(row["id"] + "."), row


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["id"])
def test_every_document_has_provenance_and_a_digest(row):
    assert row["kind"] in ("report", "template")
    assert row["format"] in FORMATS
    assert row["template"] in TEMPLATES
    assert row["source_type"] in SOURCE_TYPES
    if row["source_type"] == "repository":
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", row["repository"]), row["repository"]
        assert row["path"]
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]), row["commit"]
    elif row["source_type"] == "page":
        assert row["url"].startswith(("http://", "https://"))
    else:
        assert row["path"].startswith("shared/corpus/")
    assert re.fullmatch(r"[0-9a-f]{64}", row["sha256"])
    assert int(row["size"]) > 0
    if row["kind"] == "report":
        assert row["agency"] and re.fullmatch(r"\d{4}", row["year"]), row
        assert (int(row["year"]) >= 2021) == (row["template"] == "2021"), row
    else:
        assert not row["agency"] and not row["year"]


def test_every_manifest_row_has_one_expected_record_and_no_other():
    on_disk = sorted(p.stem for p in EXPECTED.glob("*.json"))
    assert on_disk == sorted(r["id"] for r in ROWS)


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_expected_record_agrees_with_its_manifest_row(entry: Entry):
    record, row = entry.expected, entry.row
    assert record["id"] == row["id"]
    assert record["source"] == row["file"]
    assert record["kind"] == row["kind"]
    assert record["template"] == row["template"]
    assert record["agency"] == (row["agency"] or None)
    assert record["year"] == (int(row["year"]) if row["year"] else None)
    assert record["status"] in ("ok", "partial", "no_tables", "tables_are_images", "not_a_report")
    assert record.get("notes"), "say how the cells were read and what is odd about the document"


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_expected_cells_are_cells_of_the_template(entry: Entry):
    record = entry.expected
    tpl = template(record["template"])
    valid = set(tpl.cell_keys())
    for table, rows in record["tables"].items():
        for row, cols in rows.items():
            if row.startswith("local_"):  # a province's own row, kept under its label
                continue
            for col, value in cols.items():
                assert (table, row, col) in valid, f"{table}.{row}.{col} is not in {tpl.id}"
                assert value is None or (
                    isinstance(value, (int, float)) and not isinstance(value, bool)
                ), f"{table}.{row}.{col} = {value!r}"
                if col != "change":  # 本年增/减 is the only signed cell
                    assert value is None or value >= 0, f"{table}.{row}.{col} = {value!r}"
    if record["status"] == "ok":
        printed = {tuple(k.split(".")) for k in expected_cells(record)}
        assert printed >= valid, (
            f"an ok report prints every cell; missing {sorted(valid - printed)}"
        )


def _arithmetic(tables: dict, template_id: str) -> list[dict]:
    out = []
    for check in findings(check_report(tables, template_id)):
        item = {"rule": check.rule, "status": check.status}
        for name in ("row", "column", "expected", "found"):
            if getattr(check, name) is not None:
                item[name] = getattr(check, name)
        out.append(item)
    return out


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_recorded_arithmetic_is_what_the_printed_cells_give(entry: Entry):
    """The document's own arithmetic failures are findings, recorded with the cells."""
    record = entry.expected
    key = json.dumps  # compare as canonical JSON, order-free
    recorded = sorted(key(a, sort_keys=True) for a in record["arithmetic"])
    computed = sorted(
        key(a, sort_keys=True) for a in _arithmetic(record["tables"], record["template"])
    )
    assert recorded == computed


# -- the benchmark's own comparison ------------------------------------------------


class _Report:
    def __init__(self, tables, status="ok", agency="甲局", year=2024, template="2021"):
        self.tables, self.status = tables, status
        self.agency, self.year, self.template = agency, year, template


def _entry(tables, **extra) -> Entry:
    row = {"id": "x", "file": "x.html", "format": "html", "template": "2021", "sha256": "0" * 64}
    record = {"status": "ok", "agency": "甲局", "year": 2024, "template": "2021", "tables": tables}
    record.update(extra)
    return Entry(row, record)


def test_blank_is_not_zero_and_int_is_not_float():
    assert same_value(None, None) and same_value(3, 3) and same_value(2.5, 2.5)
    assert not same_value(None, 0) and not same_value(0, None)
    assert not same_value(3, 3.0)


def test_compare_sorts_every_cell_into_right_wrong_missing_extra():
    entry = _entry({"t4": {"review": {"upheld": 1, "corrected": None, "other": 0, "pending": 2}}})
    report = _Report(
        {"t4": {"review": {"upheld": 1, "corrected": 0, "other": None, "total": 3}}},
        status="partial",
        year=2023,
    )
    out = compare(entry, report)
    assert out.right == 1
    assert sorted(w[0] for w in out.wrong) == ["t4.review.corrected", "t4.review.other"]
    # A number where the document prints a blank is a wrong number; a blank read for a number is not.
    assert [w[0] for w in out.wrong_numbers] == ["t4.review.corrected"]
    assert out.missing == ["t4.review.pending"]
    assert out.extra == ["t4.review.total"]
    assert out.status == "partial" and out.expected_status == "ok"
    assert out.meta == ["year: 2023 (printed 2024)"]
    t = totals([out])
    assert (t["cells"], t["right"], t["wrong"], t["wrong_numbers"]) == (4, 1, 2, 1)
    assert (t["missing"], t["extra"], t["status_wrong"], t["meta_wrong"]) == (1, 1, 1, 1)


def test_absent_and_altered_bytes_are_reported_not_measured(tmp_path):
    entry = ENTRIES[0]
    assert measure(entry, tmp_path).state == "absent"
    (tmp_path / entry.file).write_bytes(b"not the document")
    out = measure(entry, tmp_path)
    assert out.state == "sha-mismatch" and entry.row["sha256"] in out.message
    assert totals([out])["measured"] == 0


def test_the_benchmark_refuses_a_missing_directory_in_one_line(tmp_path, capsys):
    assert main(["--dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err


def test_the_benchmark_prints_every_document(tmp_path, capsys):
    assert main(["--dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for entry in ENTRIES:
        assert entry.id in printed
    assert "not measured" in printed


# -- the bytes, when they are here -------------------------------------------------

CORPUS = corpus_dir()


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_no_cell_is_read_wrong(entry: Entry):
    if not CORPUS.is_dir():
        pytest.skip(f"real corpus bytes not here ({CORPUS}; set NIANBAO_REAL_CORPUS)")
    path = CORPUS / entry.file
    if not path.is_file():
        pytest.skip(f"{path} is not in the corpus directory")
    assert sha256(path.read_bytes()) == entry.row["sha256"], f"{path} is not the recorded bytes"
    out = measure(entry, CORPUS)
    assert out.state == "measured", out.message
    assert out.wrong == []
