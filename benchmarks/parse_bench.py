"""Parse benchmark: accuracy and speed per format, on a generated corpus and the real one.

    python -m benchmarks.parse_bench [--n 600] [--seed 0]

For every format, and for every layout variant and class of departure from the
template (misprinted labels, （六）其他处理 as one row, a label wrapped across a PDF
page break, single-space / one-line / run-together text, a 小计 column, dash cells,
a missing row or table, a blank table, chrome on the title, deep nesting, a misstated
figure, traditional characters, a blank format template: ``benchmarks.corpus.KINDS``),
it prints the documents read, the cells expected, the share of cells read exactly
right (value and type: 0 is not blank), the cells read *wrong* (the figure that must
stay 0), missing and extra, wrong statuses, narrative findings found / planted
(+ false alarms), documents per
second and the peak memory of the process that parsed them (each format is
parsed in its own forked process, so the figures do not mix; CPU ms/doc is that
process's own CPU time, steadier than wall time on a busy machine, and for DOC it
leaves out the LibreOffice converter's). Ground truth is
the generator's numbers (:mod:`benchmarks.corpus`) and, for real documents,
the hand-checked ``*.expected.json`` beside each document in
``tests/fixtures/corpus`` and in ``../shared/corpus`` when that exists (new
documents dropped there are picked up). The baseline measured in the same run
is plain pdfplumber ``extract_tables()`` over every page of the same PDFs: the
parser's PDF time is printed as a ratio to it.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import resource
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.corpus import Sample, build, cell_total, wrong_cells

ROOT = Path(__file__).resolve().parent.parent
REAL_DIRS = (ROOT / "tests" / "fixtures" / "corpus", ROOT.parent / "shared" / "corpus")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _parse_all(samples: list[Sample]) -> dict:
    """Parse every sample in this process: counts, wrong cells, seconds, peak memory.

    A cell is *right* when value and type match the truth (0 is not blank), *wrong* when
    the parser gives another value (the failure that matters: a wrong number is worse than
    a missing one), *missing* when the parser leaves it out; *extra* are cells the
    document does not print. The status is judged against the truth's (``ok`` only when
    every row is printed and no table is blank); in classes where rows may honestly be
    refused (digits run together), ``partial``/``run_together`` with cells missing is right.
    Narrative findings (the text against the tables) are compared with the planted ones.
    """
    from archive.checks import narrative_findings
    from archive.parse import ParseError, parse_document
    from benchmarks.corpus import MAY_REFUSE

    out = {
        "docs": 0,
        "cells": 0,
        "right": 0,
        "wrong": 0,
        "missing": 0,
        "extra": 0,
        "meta_wrong": 0,
        "status_wrong": 0,
        "errors": 0,
        "narrative_expected": 0,
        "narrative_found": 0,
        "narrative_false": 0,
        "seconds": 0.0,
        "examples": [],
    }
    cpu_start = time.process_time()
    for s in samples:
        start = time.perf_counter()
        try:
            report = parse_document(s.data, filename=s.filename, content_type=s.content_type)
        except ParseError as exc:
            out["seconds"] += time.perf_counter() - start
            out["docs"] += 1
            out["errors"] += 1
            out["cells"] += cell_total(s) if s.tables_expected else 0
            out["missing"] += cell_total(s) if s.tables_expected else 0
            out["examples"].append(f"{s.truth.sim_id}: {exc.status}: {exc.message}")
            continue
        out["seconds"] += time.perf_counter() - start
        out["docs"] += 1
        if not s.tables_expected:
            if report.status != s.expected_status:
                out["status_wrong"] += 1
                out["examples"].append(f"{s.truth.sim_id}: status {report.status}")
            continue
        total = cell_total(s)
        misses = wrong_cells(s, report.tables)
        missing = sum(1 for m in misses if m[4] == "absent")
        wrong = len(misses) - missing
        out["cells"] += total
        out["right"] += total - len(misses)
        out["wrong"] += wrong
        out["missing"] += missing
        out["extra"] += max(0, report.cell_count() - (total - missing))
        if (report.year, report.template, report.agency) != (
            s.truth.year,
            s.truth.template,
            s.truth.agency,
        ):
            out["meta_wrong"] += 1
        expected = s.expected_status
        refused = s.kind in MAY_REFUSE and missing and report.status in ("partial", "run_together")
        if report.status != expected and not refused:
            out["status_wrong"] += 1
            if len(out["examples"]) < 6:
                out["examples"].append(
                    f"{s.truth.sim_id} ({s.kind}): status {report.status}, expected {expected}: "
                    f"{report.warnings[:2]}"
                )
        planted = {f["rule"] for f in s.truth.expected_narrative}
        found = {c.rule for c in narrative_findings(report)}
        out["narrative_expected"] += len(planted)
        out["narrative_found"] += len(planted & found)
        out["narrative_false"] += len(found - planted)
        if wrong and len(out["examples"]) < 6:
            out["examples"].append(
                f"{s.truth.sim_id} ({s.kind}) WRONG: {[m for m in misses if m[4] != 'absent'][:3]}"
            )
    out["cpu"] = time.process_time() - cpu_start
    out["peak_mb"] = _rss_mb()
    return out


def _pdfplumber_tables(samples: list[Sample]) -> dict:
    """The baseline: plain pdfplumber extract_tables() over every page of the same PDFs."""
    import pdfplumber

    start, cpu_start = time.perf_counter(), time.process_time()
    for s in samples:
        with pdfplumber.open(io.BytesIO(s.data)) as pdf:
            for page in pdf.pages:
                page.extract_tables()
    return {
        "docs": len(samples),
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu_start,
        "peak_mb": _rss_mb(),
    }


def _in_child(func, samples: list) -> dict:
    """Run ``func(samples)`` in a forked process, so its peak memory is its own."""
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        return pool.apply(func, (samples,))


def real_documents() -> list[Sample]:
    """Every real document with an ``.expected.json`` beside it, each file once."""
    from simweb.truth import ReportTruth

    seen: set[bytes] = set()
    found = []
    for folder in REAL_DIRS:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            expected = path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json")
            if path.name.endswith(".json") or not expected.exists():
                continue
            data = path.read_bytes()
            if data in seen:
                continue
            seen.add(data)
            exp = json.loads(expected.read_text("utf-8"))
            truth = ReportTruth(
                path.name,
                "",
                exp.get("agency"),
                exp.get("region", ""),
                exp.get("region_code", ""),
                exp["year"],
                exp["template"],
                exp.get("title", ""),
                exp.get("published", ""),
                path.suffix.lstrip("."),
                exp["tables"],
            )
            found.append(
                Sample(
                    f"real-{path.suffix.lstrip('.')}",
                    path.suffix.lstrip("."),
                    truth,
                    data,
                    None,
                    path.name,
                )
            )
    return found


def _row(name: str, r: dict, extra: str = "") -> str:
    acc = f"{100 * r['right'] / r['cells']:.2f} %" if r.get("cells") else "—"
    rate = r["docs"] / r["seconds"] if r["seconds"] else 0.0
    narrative = (
        f"{r.get('narrative_found', 0)}/{r.get('narrative_expected', 0)} "
        f"+{r.get('narrative_false', 0)}"
    )
    return (
        f"| {name} | {r['docs']} | {r.get('cells', 0)} | {acc} | {r.get('wrong', 0)} | "
        f"{r.get('missing', 0)} | {r.get('extra', 0)} | {r.get('meta_wrong', 0)} | "
        f"{r.get('status_wrong', 0) + r.get('errors', 0)} | {narrative} | {rate:.1f} | "
        f"{1000 * r['seconds'] / max(r['docs'], 1):.1f} | "
        f"{1000 * r['cpu'] / max(r['docs'], 1):.1f} | {r['peak_mb']:.0f} | {extra} |"
    )


def _print(*parts: str) -> None:
    print(*parts, flush=True)  # progress shows as it comes, even into a file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=600, help="generated reports (default 600)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from archive.parse.isolate import _preload

    _preload()  # every library imported once here, not timed inside the first document

    start = time.perf_counter()
    samples = build(args.n, args.seed)
    _print(
        f"generated {len(samples)} reports in {time.perf_counter() - start:.1f} s "
        f"(seed {args.seed})\n"
    )
    by_format: dict[str, list[Sample]] = defaultdict(list)
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_format[s.format].append(s)
        by_kind[s.kind].append(s)
    real = real_documents()
    header = (
        "| set | documents | cells | cell accuracy | wrong | missing | extra | metadata wrong | "
        "status wrong | narrative found/planted +false | docs/s | ms/doc | CPU ms/doc | "
        "peak MB | notes |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    _print("Per format (generated):\n" + header)
    results = {}
    for fmt in sorted(by_format):
        results[fmt] = _in_child(_parse_all, by_format[fmt])
        _print(_row(fmt, results[fmt]))
    _print("\nPer layout variant and class (generated):\n" + header)
    for kind in sorted(by_kind):
        result = _in_child(_parse_all, by_kind[kind])
        results.setdefault("kinds", {})[kind] = result
        _print(_row(kind, result))
    if real:
        _print("\nReal documents (hand-checked .expected.json):\n" + header)
        for s in real:
            _print(_row(s.filename, _in_child(_parse_all, [s])))
    text_pdfs = [s for s in samples if s.kind in ("pdf", "pdf-cut_row")]
    real_pdfs = [s for s in real if s.format == "pdf"]
    _print("\nText PDFs against plain pdfplumber extract_tables() (same PDFs, same run):")
    _print(
        "| PDFs | documents | parser s (CPU s) | pdfplumber extract_tables s (CPU s) | "
        "ratio wall | ratio CPU |\n|---|---|---|---|---|---|"
    )
    for name, pdfs in (("generated", text_pdfs), ("real", real_pdfs)):
        if not pdfs:
            continue
        ours = _in_child(_parse_all, pdfs)
        plumber = _in_child(_pdfplumber_tables, pdfs)
        _print(
            f"| {name} | {len(pdfs)} | {ours['seconds']:.2f} ({ours['cpu']:.2f}) | "
            f"{plumber['seconds']:.2f} ({plumber['cpu']:.2f}) | "
            f"{ours['seconds'] / plumber['seconds']:.2f} | {ours['cpu'] / plumber['cpu']:.2f} |"
        )
    examples = [e for r in results.pop("kinds", {}).values() for e in r["examples"]]
    if examples:
        _print("\nFirst misses:\n" + "\n".join(f"  {e}" for e in examples[:10]))


if __name__ == "__main__":
    main()
