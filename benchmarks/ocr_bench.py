"""OCR benchmark: cells read from scanned reports, at 150 / 200 / 300 dpi, skewed and stamped.

    python -m benchmarks.ocr_bench [--n 8] [--seed 0] [--rounds 3] [--dpi 150,200,300]

Each generated report (:mod:`benchmarks.corpus`: both templates, blanks, planted
arithmetic faults) is printed to a text PDF, then scanned by
:func:`simweb.render.render_scan_pdf`: rasterised at the resolution, turned by a skew of
±1–2°, a red seal stamped across table 3, sensor noise and dust, stored as JPEG pages
with no text layer. The class ``grey-seal`` scans in grey levels, where the seal darkens
the digits it covers (its red cannot be told from ink). The parse is the whole parser
(``parse_document``), the same as ``nianbao parse`` runs, in this process.

Per class it prints: cells expected; cells right (value and type, a blank is not 0);
cells null that should hold a number (the OCR was unsure and said so); cells absent
(their row was not found); **cells wrong** — a number kept that is not the printed one,
i.e. read with high confidence and wrong, which must be 0; and CPU seconds per page,
min / median / max over the rounds. The baseline in the same run is the parser on the
text PDF the scan was made from (same report, same pages, no OCR): the OCR time is also
given as a ratio to it. The ``real-*`` classes scan the real text PDFs of
``simweb/corpus`` (a real agency's fonts, rules and page breaks) the same way and
score them against their hand-checked cells. The baseline skips everything OCR does (rasterised pages, rules,
recognition); it is there to say what reading a scan costs over reading the original.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.corpus import Sample, truths

REAL_DIR = Path(__file__).resolve().parent.parent / "simweb" / "corpus"

CLASSES = (
    # (name, dpi, seal, grey)
    ("300dpi", 300, True, False),
    ("200dpi", 200, True, False),
    ("150dpi", 150, True, False),
    ("200dpi-grey-seal", 200, True, True),
)


@dataclass
class Tally:
    cells: int = 0
    right: int = 0
    null: int = 0
    absent: int = 0
    wrong: int = 0
    pages: int = 0
    docs: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    cpu_per_page: list[float] = field(default_factory=list)
    base_per_page: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


def score(sample: Sample, tables: dict, tally: Tally) -> None:
    """Compare a parse with the numbers the scan was printed from."""
    for table, rows in sample.truth.tables.items():
        for row, cols in rows.items():
            for col, value in cols.items():
                tally.cells += 1
                got = tables.get(table, {}).get(row, {}).get(col, "absent")
                if got == value and type(got) is type(value):
                    tally.right += 1
                elif got == "absent":
                    tally.absent += 1
                elif got is None:
                    tally.null += 1
                else:
                    tally.wrong += 1
                    if len(tally.examples) < 12:
                        tally.examples.append(
                            f"{sample.truth.sim_id} {table}.{row}.{col}: printed {value!r}, "
                            f"read {got!r}"
                        )


def run(n: int, seed: int, rounds: int, classes: list[tuple]) -> dict[str, Tally]:
    import pypdfium2 as pdfium

    from archive.parse import parse_document
    from simweb import render

    tallies: dict[str, Tally] = {}
    for name, dpi, seal, grey in classes:
        tally = tallies.setdefault(name, Tally())
        for i, (kind, _fmt, truth) in enumerate(truths(n, seed)):
            skew = random.Random(f"skew:{seed}:{i}").choice([-2, -1.5, -1, 1, 1.5, 2])
            scan = render.Scan(dpi=dpi, skew=skew, seal=seal, gray=grey)
            data = render.render_scan_pdf(truth, scan)
            text_pdf = render.render_report_pdf(truth)
            pages = len(pdfium.PdfDocument(data))
            sample = Sample(kind, "pdf", truth, data, filename="report.pdf")
            for r in range(rounds):
                start = time.process_time()
                report = parse_document(data, filename="report.pdf")
                cpu = time.process_time() - start
                start = time.process_time()
                parse_document(text_pdf, filename="report.pdf")
                base = time.process_time() - start
                tally.cpu_per_page.append(cpu / pages)
                tally.base_per_page.append(base / pages)
                if r == 0:
                    tally.docs += 1
                    tally.pages += pages
                    tally.statuses[report.status] = tally.statuses.get(report.status, 0) + 1
                    score(sample, report.tables, tally)
    return tallies


def run_real(rounds: int, dpis: list[int]) -> dict[str, Tally]:
    """Real reports' own layouts (the text PDFs of ``simweb/corpus`` with their
    hand-checked cells), scanned by the same scanner: real fonts, rules and page breaks."""
    import json

    import pypdfium2 as pdfium

    from archive.parse import parse_document
    from benchmarks.corpus import Sample
    from simweb import render
    from simweb.truth import ReportTruth

    tallies: dict[str, Tally] = {}
    paths = sorted(REAL_DIR.glob("*.pdf"))
    if not paths:
        raise SystemExit(f"ocr_bench: no real report PDFs in {REAL_DIR} (use --no-real)")
    for path in paths:
        expected = json.loads(path.with_suffix(".expected.json").read_text())
        truth = ReportTruth(path.stem, "", "", "", "", 0, "", "", "", "pdf", expected["tables"])
        original = path.read_bytes()
        for dpi in dpis:
            tally = tallies.setdefault(f"real-{dpi}dpi", Tally())
            scan = render.Scan(dpi=dpi, skew=1.2, seal=True)
            data = render.scan_pdf(
                original, scan, seed=path.stem, agency=expected.get("agency", "")
            )
            pages = len(pdfium.PdfDocument(data))
            for r in range(rounds):
                start = time.process_time()
                report = parse_document(data, filename="report.pdf")
                tally.cpu_per_page.append((time.process_time() - start) / pages)
                start = time.process_time()
                parse_document(original, filename="report.pdf")
                tally.base_per_page.append((time.process_time() - start) / pages)
                if r == 0:
                    tally.docs += 1
                    tally.pages += pages
                    tally.statuses[report.status] = tally.statuses.get(report.status, 0) + 1
                    score(Sample("real", "pdf", truth), report.tables, tally)
    return tallies


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def report(tallies: dict[str, Tally]) -> None:
    print(
        f"{'class':<18} {'docs':>4} {'cells':>6} {'right':>7} {'null':>5} {'absent':>6} "
        f"{'WRONG':>5}  {'CPU s/page min/med/max':>24} {'× text PDF':>10}  statuses"
    )
    for name, t in tallies.items():
        if not t.docs:
            continue  # a class asked for with no document (--n 0: the real layouts only)
        ratio = statistics.median(t.cpu_per_page) / max(statistics.median(t.base_per_page), 1e-9)
        print(
            f"{name:<18} {t.docs:>4} {t.cells:>6} {100 * t.right / max(t.cells, 1):>6.2f}% "
            f"{t.null:>5} {t.absent:>6} {t.wrong:>5}  {_spread(t.cpu_per_page):>24} "
            f"{ratio:>9.0f}×  {t.statuses}"
        )
    for name, t in tallies.items():
        for line in t.examples:
            print(f"  wrong [{name}] {line}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8, help="reports per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--classes", default=",".join(c[0] for c in CLASSES))
    parser.add_argument("--no-real", action="store_true", help="skip the real layouts")
    args = parser.parse_args(argv)
    wanted = args.classes.split(",")
    classes = [c for c in CLASSES if c[0] in wanted]
    from archive.parse.ocr import sources

    # The OCR time budget is wall time: on a busy machine it would cut pages and mix speed
    # into the accuracy figures. Here accuracy and CPU time are measured apart.
    sources.TIME_BUDGET = float("inf")
    started = time.perf_counter()
    tallies = run(args.n, args.seed, args.rounds, classes)
    if not args.no_real:
        tallies.update(run_real(args.rounds, [c[1] for c in classes if not c[3]]))
    report(tallies)
    print(f"({time.perf_counter() - started:.0f} s wall in all; CPU time is this process's)")


if __name__ == "__main__":
    main()
