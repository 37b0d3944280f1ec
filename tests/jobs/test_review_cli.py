"""``nianbao review``: an operator records verdicts and corrections, and reads them back.

The archive is the marks tests'. What the command writes is what the report page and the
wide tables then show (:mod:`tests.publish.test_review` tests those); here: the command's
output, its JSON, and its errors — one line, exit 2, nothing written.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from nianbao.cli import main
from tests.conftest import copy_archive
from tests.crawling import nianbao
from tests.publish.test_review import CELL, build


@pytest.fixture()
def archive(tmp_path):
    archive, planted = build(tmp_path / "nb.db")
    archive.close()
    return {"db": str(tmp_path / "nb.db"), "report": planted["ids"][("huaian", 2023)]}


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def test_mark_correct_show_and_list(archive):
    db, report = archive["db"], archive["report"]
    with sqlite3.connect(db) as conn:
        (before,) = conn.execute(
            "select value from cells where report_id = ? and table_key = 't4' "
            "and row_key = 'litigation_direct' and col_key = 'total'",
            [report],
        ).fetchone()
    done = run(
        "review", "mark", report, "disputed", "--note", "表四存疑", "--by", "张三", "--db", db
    )
    assert done.exit_code == 0, done.output
    assert done.output == f"report {report}: 有争议 (disputed) by 张三\n"
    done = run(
        "review",
        "correct",
        report,
        CELL,
        "1,234",
        "--note",
        "扫描件误读",
        "--db",
        db,
        env={"NIANBAO_REVIEWER": "李四"},
    )
    assert done.exit_code == 0, done.output
    assert done.output == f"report {report} {CELL}: original 1,234, parsed {before}, by 李四\n"
    shown = run("review", "show", report, "--db", db)
    lines = shown.output.splitlines()
    assert lines[0].endswith("有争议 (disputed)  张三: 表四存疑")
    assert lines[1].startswith(f"{CELL}  校正：原件为 1,234，解析为 {before}（李四 ")
    data = json.loads(run("review", "show", report, "--json", "--db", db).output)
    assert data["reviews"][0]["status"] == "disputed"
    [correction] = data["corrections"]
    assert (correction["value"], correction["parsed_value"], correction["stale"]) == (
        1234,
        before,
        False,
    )
    listed = run("review", "list", "--db", db).output.splitlines()
    assert listed == [f"{report}\t2023\t淮安市人民政府\tdisputed\t张三\t1 corrected"]
    assert run("review", "list", "--status", "checked", "--db", db).output == ""
    [line] = run("review", "list", "--json", "--db", db).output.splitlines()
    assert json.loads(line)["corrections"] == 1
    done = run("review", "withdraw", report, CELL, "--by", "李四", "--db", db)
    assert done.output == f"report {report} {CELL}: correction withdrawn by 李四\n"
    with sqlite3.connect(db) as conn:
        (value,) = conn.execute(
            "select litigation_direct_total from report_t4 where report_id = ?", [report]
        ).fetchone()
    assert value == before


@pytest.mark.parametrize(
    "args, message",
    [
        (("mark", "99999", "checked", "--by", "张三"), "没有编号为 99999 的报告"),
        (("mark", "{report}", "fine", "--by", "张三"), "核对结论须为"),
        (("correct", "{report}", "t4.nothing.total", "3", "--by", "张三"), "没有单元格"),
        (("correct", "{report}", CELL, "many", "--by", "张三"), "「many」不是数字"),
        (("withdraw", "{report}", CELL, "--by", "张三"), "没有有效的校正可撤回"),
        (("show", "99999"), "没有编号为 99999 的报告"),
        (("mark", "{report}", "checked"), "Missing option '--by'"),
    ],
)
def test_what_cannot_be_recorded_is_one_line_and_exit_2(archive, args, message):
    db, report = archive["db"], archive["report"]
    args = tuple(a.format(report=report) for a in args)
    result = run("review", *args, "--db", db, env={"NIANBAO_REVIEWER": ""})
    assert result.exit_code == 2, result.output
    [line] = result.output.splitlines()
    assert line.startswith("nianbao review: error: ") and message in line
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "select (select count(*) from report_reviews) + (select count(*) from cell_corrections)"
        ).fetchone() == (0,)


def test_a_missing_archive_is_one_line_from_the_real_command(tmp_path):
    result = nianbao(
        "review", "mark", "1", "checked", "--by", "张三", "--db", str(tmp_path / "no.db"), ok=(2,)
    )
    assert result.stderr.strip().splitlines() == [
        f"nianbao review: error: {tmp_path / 'no.db'} does not exist (is --db right?)"
    ]
    assert not (tmp_path / "no.db").exists()


def test_serve_refuses_reviewers_without_allow_review(archive):
    result = run("serve", "--reviewer", "alice", "--db", archive["db"])
    assert result.exit_code == 2
    assert result.output.strip() == "nianbao serve: error: --reviewer needs --allow-review"


@pytest.mark.e2e
def test_a_correction_outlives_nianbao_reparse(processed, tmp_path):
    """The real thing: an archive crawled from the simulated web and parsed by ``nianbao
    process``, a verdict and a correction recorded by the command, every original read
    again by ``nianbao reparse``: both still there, the correction still applied."""
    db = copy_archive(processed, tmp_path / "archive.db")
    with sqlite3.connect(db) as conn:
        report, before = conn.execute(
            "select report_id, litigation_direct_total from report_t4 "
            "where superseded_by is null and litigation_direct_total is not null "
            "order by report_id limit 1"
        ).fetchone()
    nianbao("review", "mark", str(report), "checked", "--by", "张三", "--db", db)
    nianbao("review", "correct", str(report), CELL, str(before + 77), "--by", "张三", "--db", db)
    nianbao("reparse", "--db", db, "-q")
    shown = json.loads(nianbao("review", "show", str(report), "--json", "--db", db).stdout)
    assert [r["status"] for r in shown["reviews"]] == ["checked"]
    [correction] = shown["corrections"]
    assert correction["stale"] is False and correction["current_value"] == before
    with sqlite3.connect(db) as conn:
        value, check = conn.execute(
            "select litigation_direct_total, litigation_direct_total_check from report_t4 "
            "where report_id = ?",
            [report],
        ).fetchone()
        (parsed,) = conn.execute(
            "select value from cells where report_id = ? and table_key = 't4' "
            "and row_key = 'litigation_direct' and col_key = 'total'",
            [report],
        ).fetchone()
    assert (value, parsed) == (before + 77, before)
    assert check.startswith(f"校正：原件为 {before + 77}，解析为 {before}（张三 ")
