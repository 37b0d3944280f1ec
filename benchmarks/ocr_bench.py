"""OCR benchmark: cells read from scans of generated and of real reports, by class.

    python -m benchmarks.ocr_bench [--n 6] [--seed 0] [--rounds 1]
        [--dpi 300,200,150] [--conditions clean,skewed-noisy,red-seal,grey-seal,photographed]
        [--layouts N | --only ID,ID] [--no-generated] [--no-real] [--by-layout]

A class is a scanning condition at a resolution (:data:`benchmarks.realscans.CONDITIONS`:
clean; skewed and noisy; a red seal over table 3; the same seal scanned in grey; a page
photographed slightly out of plane — each at 300, 200 and 150 dpi), and every class is
measured on two sets of documents side by side:

- **generated**: reports of :mod:`benchmarks.corpus` (both templates, blanks, planted
  arithmetic faults), printed to a text PDF by :func:`simweb.render.render_report_pdf`;
- **real-derived**: real agencies' layouts (:mod:`benchmarks.realscans`): 淮安's WPS PDF
  and ten 平潭 reports' published HTML printed by Chromium and by LibreOffice, scored
  against their hand-checked cells. Without the real material (``../shared/real``) this
  half is skipped, and the reason printed.

Both are scanned by the same scanner (:func:`benchmarks.realscans.scan`), seeded by
document, condition, resolution and page. The parse is the whole parser
(``parse_document``), the same as ``nianbao parse`` runs, in this process.

Per class and set it prints, **wrong numbers first** — a number kept that is not the printed
one, which must be 0 — then the cells right (value and type; a blank is not 0), null (the
OCR was unsure and said so) and absent (their row was not found), as counts and as shares
of the cells expected, and CPU seconds per page (median, max). Every wrong number is listed
after the table. ``--by-layout`` adds one line per real layout and class.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field

from benchmarks import realscans

WHAT = "\n".join((__doc__ or "").splitlines()[:1])


@dataclass
class Tally:
    cells: int = 0
    right: int = 0
    null: int = 0
    absent: int = 0
    wrong: int = 0
    pages: int = 0
    docs: int = 0
    cpu_per_page: list[float] = field(default_factory=list)
    wrongs: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("cells", "right", "null", "absent", "wrong", "pages", "docs"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cpu_per_page += other.cpu_per_page
        self.wrongs += other.wrongs

    def share(self, n: int) -> str:
        return f"{100 * n / self.cells:.1f}" if self.cells else "-"


def score(name: str, expected: dict, tables: dict, tally: Tally) -> None:
    """Compare a parse with the cells printed (a key the record lacks is not counted)."""
    for table, rows in expected.items():
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
                    tally.wrongs.append(
                        f"{name} {table}.{row}.{col}: printed {value!r}, read {got!r}"
                    )


def measure(name: str, pdf: bytes, expected: dict, condition, dpi: int, agency: str, rounds: int):
    """One document scanned under one class, parsed ``rounds`` times, scored once."""
    from archive.parse import parse_document

    data = realscans.scan(pdf, condition, dpi, seed=name, agency=agency)
    pages = realscans._pages(data)
    tally = Tally(docs=1, pages=pages)
    for r in range(rounds):
        start = time.process_time()
        report = parse_document(data, filename="report.pdf")
        tally.cpu_per_page.append((time.process_time() - start) / pages)
        if r == 0:
            score(name, expected, report.tables, tally)
    return tally


def documents(args) -> tuple[list[tuple[str, str, bytes, dict, str]], list[str]]:
    """(set, name, text PDF, expected tables, agency) of every document measured, and why
    a set is left out."""
    from benchmarks.corpus import truths
    from simweb import render

    docs, skipped = [], []
    if not args.no_generated:
        for i, (_kind, _fmt, truth) in enumerate(truths(args.n, args.seed)):
            pdf = render.render_report_pdf(truth)
            docs.append(("generated", f"gen-{args.seed}-{i}", pdf, truth.tables, truth.agency))
    if not args.no_real:
        try:
            found = realscans.layouts()
        except realscans.Unavailable as exc:
            skipped.append(f"real-derived: skipped, {exc}")
            found = []
        if args.only:
            found = [
                lay
                for lay in found
                if lay.id in args.only.split(",") or lay.report in args.only.split(",")
            ]
        elif args.layouts is not None:
            found = found[: args.layouts]
        for lay in found:
            docs.append(("real", lay.id, lay.pdf(), lay.expected()["tables"], lay.agency))
    return docs, skipped


def run(args) -> tuple[dict, dict, list[str]]:
    from archive.parse.ocr import sources

    # The OCR time budget is wall time: on a busy machine it would cut pages and mix speed
    # into the accuracy figures. Here accuracy and CPU time are measured apart.
    sources.TIME_BUDGET = float("inf")
    conditions = [c for c in realscans.CONDITIONS if c.name in args.conditions.split(",")]
    dpis = [int(d) for d in args.dpi.split(",")]
    docs, skipped = documents(args)
    tallies: dict[tuple[str, str], Tally] = {}
    per_layout: dict[tuple[str, str], Tally] = {}
    for condition in conditions:
        for dpi in dpis:
            klass = f"{condition.name} {dpi}"
            for kind, name, pdf, expected, agency in docs:
                tally = measure(name, pdf, expected, condition, dpi, agency, args.rounds)
                tallies.setdefault((klass, kind), Tally()).add(tally)
                if kind == "real":
                    per_layout[(klass, name)] = tally
                if args.progress:
                    print(
                        f"  {klass:<18} {name:<38} wrong {tally.wrong} right {tally.right}/"
                        f"{tally.cells} null {tally.null} absent {tally.absent} "
                        f"{statistics.median(tally.cpu_per_page):.1f} s/page",
                        file=sys.stderr,
                        flush=True,
                    )
    return tallies, per_layout, skipped


def _half(t: Tally | None) -> str:
    if t is None or not t.docs:
        return f"{'-':>5} {'-':>6} {'-':>5} {'-':>5} {'-':>5} {'-':>9}"
    cpu = f"{statistics.median(t.cpu_per_page):.1f}/{max(t.cpu_per_page):.1f}"
    return (
        f"{t.wrong:>5} {t.share(t.right):>6} {t.share(t.null):>5} {t.share(t.absent):>5} "
        f"{t.cells:>5} {cpu:>9}"
    )


def report(tallies: dict, per_layout: dict, skipped: list[str], by_layout: bool) -> None:
    head = f"{'WRONG':>5} {'right%':>6} {'null%':>5} {'abs%':>5} {'cells':>5} {'s/page':>9}"
    docs = {
        kind: max((t.docs for (_, k), t in tallies.items() if k == kind), default=0)
        for kind in ("generated", "real")
    }
    print(
        f"{'':<18} | {'generated (' + str(docs['generated']) + ' docs)':<40} | "
        f"{'real-derived (' + str(docs['real']) + ' layouts)':<40}"
    )
    print(f"{'class':<18} | {head} | {head}")
    for klass in dict.fromkeys(k for k, _ in tallies):
        print(
            f"{klass:<18} | {_half(tallies.get((klass, 'generated')))} | "
            f"{_half(tallies.get((klass, 'real')))}"
        )
    print("(s/page: CPU seconds per scanned page, median/max; right/null/absent: % of cells)")
    for line in skipped:
        print(line)
    for (klass, kind), t in tallies.items():
        for line in t.wrongs:
            print(f"  WRONG [{klass} {kind}] {line}")
    if by_layout:
        for (klass, name), t in per_layout.items():
            print(
                f"  {klass:<18} {name:<40} wrong {t.wrong} right {t.right}/{t.cells} "
                f"null {t.null} absent {t.absent}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=WHAT)
    parser.add_argument("--n", type=int, default=6, help="generated reports")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1, help="parses per scan (CPU time)")
    parser.add_argument("--dpi", default=",".join(str(d) for d in realscans.DPIS))
    parser.add_argument("--conditions", default=",".join(c.name for c in realscans.CONDITIONS))
    parser.add_argument("--layouts", type=int, help="only the first N real layouts")
    parser.add_argument("--only", help="only these real layouts (ids or report ids, commas)")
    parser.add_argument("--no-generated", action="store_true")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--by-layout", action="store_true", help="a line per real layout")
    parser.add_argument("--progress", action="store_true", help="a line per document (stderr)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tallies, per_layout, skipped = run(args)
    report(tallies, per_layout, skipped, args.by_layout)
    print(f"({time.perf_counter() - started:.0f} s wall in all; CPU time is this process's)")


if __name__ == "__main__":
    main()
