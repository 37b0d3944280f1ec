"""``nianbao review``: record and read reviews and corrections from the command line.

A thin layer over :mod:`archive.publish.review` (writing, then publishing the corrected
numbers) and :mod:`archive.store.reviews` (reading). Who did it is ``--by`` (or
``$NIANBAO_REVIEWER``). A value, cell, report or verdict that cannot be recorded is an
operator's error: one line, ``nianbao review: error: …``, exit 2, nothing written.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from nianbao.cli import db_option, printable

by_option = click.option(
    "--by",
    "reviewer",
    envvar="NIANBAO_REVIEWER",
    required=True,
    help="Who checked the original (or $NIANBAO_REVIEWER).",
)
note_option = click.option("--note", default=None, help="What was found, and where.")


def _open(db: str):
    from archive.store import Archive
    from nianbao.cli import _archive_path

    return Archive(_archive_path(db, must_exist=True), create=False)


@click.group()
def review() -> None:
    """Reviews and corrections: a report checked or disputed, a cell read from the original.

    \b
    nianbao review mark 12 checked --by 张三
    nianbao review mark 12 disputed --note "表四与原件不符" --by 张三
    nianbao review correct 12 t4.review.total 3 --note "扫描件误读" --by 张三
    nianbao review withdraw 12 t4.review.total --by 张三
    nianbao review show 12 [--json]
    nianbao review list [--status disputed] [--json]
    """


@review.command()
@db_option
@click.argument("report_id", type=int)
@click.argument("status", metavar="checked|disputed|withdrawn")
@note_option
@by_option
def mark(db: str, report_id: int, status: str, note: str | None, reviewer: str) -> None:
    """Mark a report checked (核对无误) or disputed (有争议, with a --note), or withdraw
    the verdict in force."""
    from archive.publish.review import STATUS_NAMES, record_review

    with _open(db) as archive:
        done = record_review(archive, report_id, status, reviewer, note)
    click.echo(
        f"report {report_id}: {STATUS_NAMES[done.status]} ({done.status}) by {printable(done.reviewer)}"
    )


@review.command()
@db_option
@click.argument("report_id", type=int)
@click.argument("cell", metavar="TABLE.ROW.COL")
@click.argument("value")
@note_option
@by_option
def correct(
    db: str, report_id: int, cell: str, value: str, note: str | None, reviewer: str
) -> None:
    """Record VALUE, read in the original, for one cell (``—`` for a cell printed blank);
    the parsed value is kept, and the archive's tables show VALUE marked 校正."""
    from archive.publish.review import record_correction, shown

    with _open(db) as archive:
        done = record_correction(archive, report_id, cell, value, reviewer, note)
    parsed = shown(done.parsed_value) if done.parsed_read else "not read"
    click.echo(
        f"report {report_id} {done.cell}: original {shown(done.value)}, parsed {parsed}, "
        f"by {printable(done.reviewer)}"
    )


@review.command()
@db_option
@click.argument("report_id", type=int)
@click.argument("cell", metavar="TABLE.ROW.COL")
@note_option
@by_option
def withdraw(db: str, report_id: int, cell: str, note: str | None, reviewer: str) -> None:
    """Withdraw a cell's correction: the parsed value is shown again."""
    from archive.publish.review import withdraw as withdraw_correction

    with _open(db) as archive:
        done = withdraw_correction(archive, report_id, cell, reviewer, note)
    click.echo(
        f"report {report_id} {done.cell}: correction withdrawn by {printable(done.reviewer)}"
    )


@review.command()
@db_option
@click.argument("report_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
def show(db: str, report_id: int, as_json: bool) -> None:
    """A report's verdicts and corrections, and whether each correction still stands."""
    from archive.publish.review import STATUS_NAMES, correction_text
    from archive.store.reviews import corrections_of, require_report, reviews_of

    with _open(db) as archive:
        require_report(archive, report_id)
        verdicts = reviews_of(archive, report_id)
        corrections = list(corrections_of(archive, [report_id]).get(report_id, {}).values())
    if as_json:
        out = {
            "report_id": report_id,
            "reviews": [asdict(v) for v in verdicts],
            "corrections": [
                {**asdict(c), "cell": c.cell, "stale": c.stale, "check": correction_text(c)}
                for c in corrections
            ],
        }
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if not verdicts and not corrections:
        click.echo(f"report {report_id}: not reviewed")
    for v in verdicts:
        note = f": {v.note}" if v.note else ""
        click.echo(
            printable(
                f"{v.reviewed_at}  {STATUS_NAMES.get(v.status, v.status)} ({v.status})"
                f"  {v.reviewer}{note}"
            )
        )
    for c in corrections:
        click.echo(printable(f"{c.cell}  {correction_text(c)}"))


@review.command(name="list")
@db_option
@click.option(
    "--status", type=click.Choice(["checked", "disputed"]), help="Only reports with this verdict."
)
@click.option("--json", "as_json", is_flag=True, help="As JSON lines.")
def list_reviewed(db: str, status: str | None, as_json: bool) -> None:
    """Every report with a verdict or a correction in force."""
    from archive.store.reviews import reviewed_reports

    with _open(db) as archive:
        found = reviewed_reports(archive, status)
    for r in found:
        if as_json:
            click.echo(json.dumps(asdict(r), ensure_ascii=False))
            continue
        fixes = f"{r.corrections} corrected" + (f" ({r.stale} stale)" if r.stale else "")
        click.echo(
            printable(
                f"{r.report_id}\t{r.year or ''}\t{r.agency or ''}\t{r.status or '-'}"
                f"\t{r.reviewer or ''}\t{fixes}"
            )
        )
