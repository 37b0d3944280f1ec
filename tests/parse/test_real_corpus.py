"""The real corpus: its manifest and hand-checked records agree, and no cell is read wrong.

The manifest (``tests/fixtures/real/manifest.csv``, one row per document) and the
records (``tests/fixtures/real/expected/<truth>.json``, one per report) are in the
repository; the documents are not. Those kept in the shared directory beside the
checkout (``../shared``, or ``NIANBAO_SHARED``) are read in place: without it the tests
that need them are skipped with the reason, and in CI (``CI`` set) they fail. A document
kept only in one's own corpus directory (``NIANBAO_REAL_CORPUS``) is skipped when absent.
"""

from __future__ import annotations

import csv
import json
import re
from functools import cache

import pytest

from archive.checks import check_report, findings
from archive.parse.audit import HYBRID_ROWS
from archive.store.templates import TEMPLATES, template
from benchmarks.real_corpus import (
    EXPECTED,
    FORMATS,
    MANIFEST,
    MANIFEST_COLUMNS,
    RECORD_STATUSES,
    ROOTS,
    SOURCE_TYPES,
    Document,
    Outcome,
    by_format,
    compare,
    corpus_dir,
    expected_cells,
    load_documents,
    locate,
    main,
    measure,
    read_manifest,
    same_value,
    sha256,
    shared_dir,
    status_right,
    totals,
)
from tests.conftest import in_ci

ROWS = read_manifest()
DOCUMENTS = load_documents()
RECORDS = {d.truth: d.record for d in DOCUMENTS}
SHARED = shared_dir()
CORPUS = corpus_dir()
# What the benchmark must show on the released reports (docs/reading.md, the real corpus).
HTML_RIGHT = 0.999
TEXT_RIGHT = 0.95


def _id(doc: Document) -> str:
    return doc.id


# -- the manifest and the records ---------------------------------------------------


def test_manifest_has_the_documented_columns_and_unique_ids():
    with MANIFEST.open(encoding="utf-8", newline="") as fh:
        assert tuple(csv.DictReader(fh).fieldnames) == MANIFEST_COLUMNS
    assert ROWS, "the manifest lists no document"
    for name in ("id", "file"):
        values = [r[name] for r in ROWS]
        assert len(values) == len(set(values)), f"duplicate {name}"
    for row in ROWS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", row["id"]), row["id"]
        assert row["id"] == row["truth"] or row["id"].startswith(row["truth"] + "-"), row["id"]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["id"])
def test_every_document_has_provenance_and_a_digest(row):
    assert row["kind"] in ("report", "template")
    assert row["format"] in FORMATS
    assert row["template"] in TEMPLATES
    assert row["root"] in ROOTS
    assert row["source_type"] in SOURCE_TYPES
    if row["source_type"] in ("repository", "repository-excerpt"):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", row["repository"]), row["repository"]
        assert row["path"]
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]), row["commit"]
    elif row["source_type"] == "page":
        assert row["url"].startswith(("http://", "https://"))
    else:
        assert row["path"] == "shared/" + row["file"]
    if row["source_type"] == "repository-excerpt":
        assert "chars [" in row["notes"], "an excerpt says which part of the file it is"
    assert not row["file"].startswith("/") and ".." not in row["file"].split("/")
    assert re.fullmatch(r"[0-9a-f]{64}", row["sha256"])
    assert int(row["size"]) > 0
    if row["kind"] == "report":
        assert row["agency"] and re.fullmatch(r"\d{4}", row["year"]), row
    else:
        assert not row["agency"] and not row["year"]


def test_every_record_is_measured_by_a_document_and_every_document_has_one():
    on_disk = sorted(p.stem for p in EXPECTED.glob("*.json"))
    assert on_disk == sorted({r["truth"] for r in ROWS})


@pytest.mark.parametrize("truth", sorted(RECORDS))
def test_a_record_names_the_document_it_was_read_from(truth):
    files = [d.file for d in DOCUMENTS if d.truth == truth]
    assert RECORDS[truth]["source"] in files


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_id)
def test_the_record_agrees_with_its_manifest_row(doc: Document):
    record, row = doc.record, doc.row
    assert record["id"] == row["truth"]
    assert record["kind"] == row["kind"]
    assert record["template"] == row["template"]
    assert record["agency"] == (row["agency"] or None)
    assert record["year"] == (int(row["year"]) if row["year"] else None)
    assert record.get("region") == (row["region"] or None)
    assert record["status"] in RECORD_STATUSES
    assert record.get("notes"), "say how the cells were read and what is odd about the document"


def _template_cells(record: dict) -> set[str]:
    """The cells a report of the record's template prints; a 2021 report printing
    （六）其他处理 as one row (docs/report-json.md) has ``other_handling`` for its three."""
    keys = {f"{t}.{r}.{c}" for t, r, c in template(record["template"]).cell_keys()}
    t3 = record["tables"].get("t3", {})
    if record["template"] == "2021" and "other_handling" in t3:
        keys = {k for k in keys if k.split(".")[1] not in HYBRID_ROWS}
        keys |= {f"t3.other_handling.{c}" for c in template("2021").row_cols("t3", "granted")}
    return keys


@pytest.mark.parametrize("truth", sorted(RECORDS))
def test_expected_cells_are_cells_of_the_template(truth):
    record = RECORDS[truth]
    valid = _template_cells(record)
    for key, value in expected_cells(record).items():
        if key.split(".")[1].startswith("local_"):  # a province's own row, kept under its label
            continue
        assert key in valid, f"{key} is not a cell of the {record['template']} template"
        assert value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)), (
            f"{key} = {value!r}"
        )
        if not key.endswith(".change"):  # 本年增/减 is the only signed cell
            assert value is None or value >= 0, f"{key} = {value!r}"


@pytest.mark.parametrize("truth", sorted(RECORDS))
def test_unsure_cells_are_printed_cells_left_out(truth):
    """``unsure``: cells the report prints but its authors could not read for sure. They
    are cells of the template, not in ``tables``, and listed once."""
    record = RECORDS[truth]
    unsure = record["unsure"]
    assert len(unsure) == len(set(unsure))
    assert set(unsure) <= _template_cells(record)
    assert not set(unsure) & set(expected_cells(record))


@pytest.mark.parametrize("truth", sorted(RECORDS))
def test_the_status_says_what_the_report_prints(truth):
    """``ok`` when the report prints every cell of its template (read, or unsure), and
    ``partial`` when it does not print some, or prints （六） as one row in a 2021 report."""
    record = RECORDS[truth]
    if record["status"] not in ("ok", "partial"):
        # Not a report's tables: none, or a blank format's empty cells.
        assert all(v is None for v in expected_cells(record).values())
        return
    printed = set(expected_cells(record)) | set(record["unsure"])
    hybrid = record["template"] == "2021" and "other_handling" in record["tables"].get("t3", {})
    complete = printed >= _template_cells(record) and not hybrid
    assert record["status"] == ("ok" if complete else "partial"), sorted(
        _template_cells(record) - printed
    )[:6]


def _arithmetic(tables: dict, template_id: str) -> list[dict]:
    out = []
    for check in findings(check_report(tables, template_id)):
        item = {"rule": check.rule, "status": check.status}
        for name in ("row", "column", "expected", "found"):
            if getattr(check, name) is not None:
                item[name] = getattr(check, name)
        out.append(item)
    return out


@pytest.mark.parametrize("truth", sorted(RECORDS))
def test_recorded_arithmetic_is_what_the_printed_cells_give(truth):
    """The document's own arithmetic failures are findings, recorded with the cells."""
    record = RECORDS[truth]
    key = json.dumps  # compare as canonical JSON, order-free
    recorded = sorted(key(a, sort_keys=True) for a in record["arithmetic"])
    computed = sorted(
        key(a, sort_keys=True) for a in _arithmetic(record["tables"], record["template"])
    )
    assert recorded == computed


# -- the benchmark's own comparison ------------------------------------------------


class _Report:
    def __init__(self, tables, status="ok", agency="甲局", year=2024, template="2021", **kw):
        self.tables, self.status = tables, status
        self.agency, self.year, self.template = agency, year, template
        self.warnings: list[str] = kw.get("warnings", [])
        self.reason = kw.get("reason")


def _doc(tables, fmt="html", **extra) -> Document:
    row = {"id": "x-html", "truth": "x", "file": "x.html", "format": fmt, "template": "2021"}
    row |= {"agency": "甲局", "sha256": "0" * 64, "root": "shared"}
    record = {"status": "ok", "agency": "甲局", "year": 2024, "template": "2021", "tables": tables}
    record["unsure"] = []
    record.update(extra)
    return Document(row, record)


def test_blank_is_not_zero_and_int_is_not_float():
    assert same_value(None, None) and same_value(3, 3) and same_value(2.5, 2.5)
    assert not same_value(None, 0) and not same_value(0, None)
    assert not same_value(3, 3.0)


def test_compare_sorts_every_cell_into_right_wrong_missing_extra():
    doc = _doc(
        {"t4": {"review": {"upheld": 1, "corrected": None, "other": 0, "pending": 2}}},
        unsure=["t4.litigation_direct.total"],
    )
    report = _Report(
        {
            "t4": {
                "review": {"upheld": 1, "corrected": 0, "other": None, "total": 3},
                "litigation_direct": {"total": 4},
            }
        },
        status="partial",
        year=2023,
        warnings=["t4.review: digits printed run together ('12'); …: row left out"],
    )
    out = compare(doc, report)
    assert out.right == 1
    assert sorted(w[0] for w in out.wrong) == ["t4.review.corrected", "t4.review.other"]
    # A number where the document prints a blank is a wrong number; a blank read for a number is not.
    assert [w[0] for w in out.wrong_numbers] == ["t4.review.corrected"]
    assert out.missing == ["t4.review.pending"]
    # A cell the record is unsure of is not a cell the report does not print.
    assert out.extra == ["t4.review.total"] and out.unverified == ["t4.litigation_direct.total"]
    assert out.refusals == {"t4.review": report.warnings[0]} and out.unnamed == []
    assert out.status == "partial" and out.expected_status == "ok" and not out.status_right
    assert out.meta == ["year: 2023 (printed 2024)"]
    t = totals([out])
    assert (t["cells"], t["right"], t["wrong"], t["wrong_numbers"]) == (4, 1, 2, 1)
    assert (t["missing"], t["extra"], t["status_wrong"], t["meta_wrong"]) == (1, 1, 1, 1)


def test_a_row_left_out_that_nothing_names_is_counted():
    doc = _doc({"t2": {"licensing": {"decisions": 3}, "penalty": {"decisions": 1}}})
    report = _Report({}, warnings=["t2: row penalty of the 2021 template not found"])
    out = compare(doc, report)
    assert out.refusals["t2.penalty"].startswith("t2: row penalty")
    assert out.unnamed == ["t2.licensing"] and totals([out])["unnamed"] == 1


def test_run_together_is_the_right_status_only_for_a_report_that_prints_its_tables():
    assert status_right("ok", "ok") and status_right("partial", "run_together")
    assert status_right("ok", "run_together")
    assert not status_right("ok", "partial") and not status_right("partial", "ok")
    assert not status_right("no_tables", "run_together")


def test_absent_and_altered_bytes_are_reported_not_measured(tmp_path):
    doc = next(d for d in DOCUMENTS if d.row["root"] == "shared")
    assert measure(doc, tmp_path, tmp_path).state == "absent"
    path = locate(doc, tmp_path, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not the document")
    out = measure(doc, tmp_path, tmp_path)
    assert out.state == "sha-mismatch" and doc.row["sha256"] in out.message
    assert totals([out])["measured"] == 0


def test_the_benchmark_refuses_missing_directories_in_one_line(tmp_path, capsys):
    nowhere = str(tmp_path / "nowhere")
    assert main(["--shared", nowhere, "--corpus", nowhere]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err


def test_the_benchmark_prints_every_document(tmp_path, capsys):
    assert main(["--shared", str(tmp_path), "--corpus", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for doc in DOCUMENTS:
        assert doc.id in printed
    assert "not measured" in printed and "Per agency and format" in printed


# -- the documents, where they are ---------------------------------------------------


def _need_shared() -> None:
    if not (SHARED / "real").is_dir():
        reason = f"the shared real corpus is not at {SHARED / 'real'} (set NIANBAO_SHARED)"
        if in_ci():
            pytest.fail(f"{reason}; CI has ../shared and must measure the real corpus")
        pytest.skip(reason)


@cache
def _outcome(doc_id: str) -> Outcome:
    doc = next(d for d in DOCUMENTS if d.id == doc_id)
    return measure(doc, SHARED, CORPUS)


def _measured(doc: Document) -> Outcome:
    if doc.row["root"] == "shared":
        _need_shared()
    out = _outcome(doc.id)
    if out.state == "absent" and doc.row["root"] == "corpus":
        pytest.skip(f"{locate(doc, SHARED, CORPUS)} is not here (set NIANBAO_REAL_CORPUS)")
    assert out.state in ("measured", "parse-error"), out.message
    return out


@pytest.mark.parametrize("doc", [d for d in DOCUMENTS if d.row["root"] == "shared"], ids=_id)
def test_the_bytes_are_the_recorded_ones_and_so_is_their_provenance(doc: Document):
    _need_shared()
    path = locate(doc, SHARED, SHARED)
    data = path.read_bytes()
    assert (sha256(data), len(data)) == (doc.row["sha256"], int(doc.row["size"])), path
    source = path.parent / "source.json"
    if source.is_file():  # shared/real: each report's provenance beside it
        src = json.loads(source.read_text("utf-8"))
        assert (doc.row["repository"], doc.row["commit"], doc.row["url"]) == (
            src["repository"],
            src["commit"],
            src["url"],
        )
        folder = src["path"].rsplit("/", 1)[0]
        assert doc.row["path"] == f"{folder}/{'page.html' if doc.format == 'html' else 'page.txt'}"
        assert (int(doc.row["year"]), doc.row["agency"]) == (src["year"], src["agency"])


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_id)
def test_no_number_is_read_wrong_and_every_refusal_is_named(doc: Document):
    out = _measured(doc)
    assert out.wrong == []
    assert out.status_right, f"status {out.status}, expected {out.expected_status}"
    assert out.unnamed == [], "rows left out that no status or warning names"


def test_the_released_reports_are_read_to_the_promised_accuracy():
    """Over every document here: HTML at least 99.9 % of its cells right, text renderings
    at least 95 %, and not one wrong number anywhere."""
    _need_shared()
    outcomes = [_outcome(d.id) for d in DOCUMENTS]
    assert totals(outcomes)["wrong"] == 0
    formats = by_format([o for o in outcomes if o.state == "measured"])
    assert formats["html"]["right"] >= HTML_RIGHT * formats["html"]["cells"], formats["html"]
    assert formats["text"]["right"] >= TEXT_RIGHT * formats["text"]["cells"], formats["text"]
