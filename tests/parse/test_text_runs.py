"""Text renderings read by their arithmetic: a report page flattened to one line.

An archive's text rendering of a report page strips the tags and collapses white space:
the whole report is one line, and every table cell runs into its label and neighbours
(``一、本年新收政府信息公开申请数量142000016``). The template fixes the labels and how
many cells each row has; the sums of tables 3 and 4 decide the splits — and where they
do not decide one, the row is refused and named, never guessed.
"""

from __future__ import annotations

import time

import pytest

from archive.parse import digits, parse_document
from archive.parse.tables import T3_KEYS
from archive.store.templates import template

TPL = template("2021")
GROUPS = {g.key: g.label for g in TPL.groups("t3")}
T4_HEADER = (
    "四、政府信息公开行政复议、行政诉讼情况行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计"
    "未经复议直接起诉复议后起诉结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计"
)


def zeros_t3() -> dict[str, list[int]]:
    return {r.key: [0] * 7 for r in TPL.rows("t3")}


def row(n: int, col: int = 0) -> list[int]:
    """A table-3 row of ``n`` requests in one applicant column (and its 总计)."""
    cells = [0] * 7
    cells[col] = n
    cells[6] = n
    return cells


def page(
    t3: dict[str, list[int] | str],
    t2: dict[str, str] | None = None,
    t4: str = "0" * 15,
) -> bytes:
    """A report page as an archive renders it: header lines, then the body on one line,
    prose and the three tables run together (a row given as a string is printed as is)."""
    t2 = {"regulations": "000", "normative_documents": "000", **(t2 or {})}
    body = (
        "某某局2024年政府信息公开工作年度报告 根据《中华人民共和国政府信息公开条例》要求，"
        "现将本局2024年度政府信息公开工作情况报告如下。一、总体情况2024年，本局主动公开政府信息"
        "55条，办理依申请公开14件。"
        " 二、主动公开政府信息情况第二十条第（一）项信息内容本年制发件数本年废止件数现行有效件数"
        f"规章{t2['regulations']}行政规范性文件{t2['normative_documents']}"
        "第二十条第（五）项信息内容本年处理决定数量行政许可7"
        "第二十条第（六）项信息内容本年处理决定数量行政处罚3行政强制0"
        "第二十条第（八）项信息内容本年收费金额（单位：万元）行政事业性收费0"
        " 三、收到和处理政府信息公开申请情况（本列数据的勾稽关系为：第一项加第二项之和，等于第三项"
        "加第四项之和）申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他"
    )
    group = None
    for entry in TPL.rows("t3"):
        if entry.key == "granted":
            body += "三、本年度办理结果"
        if entry.group and entry.group != group:
            body += GROUPS[entry.group]
        group = entry.group
        cells = t3[entry.key]
        body += entry.label + (cells if isinstance(cells, str) else "".join(map(str, cells)))
    body += " " + T4_HEADER + t4
    body += " 五、存在的主要问题及改进情况本局将进一步加强培训。六、其他需要报告的事项无。"
    head = (
        "标题: 某某局2024年政府信息公开工作年度报告\n发布时间: 2025-01-20 10:00\n"
        "==================== 正文 ====================\n"
    )
    return (head + body + "\n").encode()


def consistent() -> dict[str, list[int] | str]:
    """14 requests from natural persons and 2 from enterprises; multi-digit cells."""
    t3: dict[str, list[int] | str] = dict(zeros_t3())
    t3["new_requests"] = [14, 2, 0, 0, 0, 0, 16]  # printed 142000016
    t3["granted"] = [10, 2, 0, 0, 0, 0, 12]
    t3["unable_not_held"] = row(4)
    t3["results_total"] = [14, 2, 0, 0, 0, 0, 16]
    return t3


def parse(data: bytes):
    return parse_document(data, filename="page.txt")


def test_a_page_on_one_line_is_read_cell_by_cell():
    report = parse(page(consistent()))
    assert report.status == "ok", report.warnings
    assert report.template == "2021" and report.agency == "某某局" and report.year == 2024
    assert report.cell_count() == 200
    t3 = report.tables["t3"]
    assert list(t3["new_requests"].values()) == [14, 2, 0, 0, 0, 0, 16]
    assert list(t3["granted"].values()) == [10, 2, 0, 0, 0, 0, 12]
    assert report.tables["t2"]["licensing"] == {"decisions": 7}
    assert report.tables["t4"]["review"] == dict.fromkeys(("upheld", "corrected", "other"), 0) | {
        "pending": 0,
        "total": 0,
    }


def test_prose_numbers_are_not_table_cells():
    """55条 and 14件 in the overview are figures of the text, not cells of table 2."""
    report = parse(page(consistent()))
    assert not any("unrecognised row" in w for w in report.warnings), report.warnings


def test_the_same_misreading_on_both_sides_of_a_sum_decides_nothing():
    """110000011 is 11,0,…,11 or 1,10,…,11. Printed so for 一、本年新收 and （七）总计, and
    for the one outcome row, every sum holds either way: each row is refused."""
    t3: dict[str, list[int] | str] = dict(zeros_t3())
    for key in ("new_requests", "granted", "results_total"):
        t3[key] = "110000011"
    report = parse(page(t3))
    for key in ("new_requests", "granted", "results_total"):
        assert key not in report.tables["t3"]
        assert any(w.startswith(f"t3.{key}:") and "left out" in w for w in report.warnings)
    assert report.status == "run_together" and "t3.new_requests" in report.reason


def test_an_outcome_printed_apart_decides_the_misreading():
    """The same totals, but the outcomes printed in two rows of single-digit cells that
    settle the columns (5 + 6 natural persons): only 11,0,…,11 makes the table add up."""
    t3: dict[str, list[int] | str] = dict(zeros_t3())
    t3["new_requests"] = t3["results_total"] = "110000011"
    t3["granted"], t3["unable_not_held"] = row(5), row(6)
    report = parse(page(t3))
    assert list(report.tables["t3"]["new_requests"].values()) == [11, 0, 0, 0, 0, 0, 11]
    assert list(report.tables["t3"]["results_total"].values()) == [11, 0, 0, 0, 0, 0, 11]
    assert any("the only split under which the table's sums hold" in w for w in report.warnings)


def test_a_row_whose_own_total_is_misprinted_is_refused():
    t3 = consistent()
    t3["unable_not_held"] = "4000000"  # 4 under 自然人, 总计 printed 0: no split adds up
    report = parse(page(t3))
    assert "unable_not_held" not in report.tables["t3"]
    assert any("t3.unable_not_held" in w and "no way of splitting" in w for w in report.warnings)


def test_a_blank_that_left_no_trace_makes_every_split_allow_for_blanks():
    """Table 4 printed 010010000000000: fifteen digits, one a cell — 行政复议 0,1,0,0,1. When
    a row shows that blank cells vanish from this text (四、结转下年度 prints six digits for
    seven cells), it may as well be 0,·,10,0,10 with a blank: refused."""
    report = parse(page(consistent(), t4="010010000000000"))
    assert list(report.tables["t4"]["review"].values()) == [0, 1, 0, 0, 1]
    t3 = consistent()
    t3["carried_forward"] = "000000"
    report = parse(page(t3, t4="010010000000000"))
    assert any("blank cells leave no trace" in w for w in report.warnings)
    assert "carried_forward" not in report.tables["t3"] and "t4" not in report.tables
    assert any(w.startswith("t4.review:") and "left out" in w for w in report.warnings)
    assert list(report.tables["t3"]["unable_not_held"].values()) == row(4)  # no room for one


def test_sums_that_fail_under_every_split_trust_no_split():
    """110000011 for 一 and （七）, but the outcomes add up to 10 natural persons: no split
    makes the table add up, so the digits are not what any split assumes (a misprint, or
    a blank that left no trace) and neither row is read — not even as 11,0,…,11."""
    t3: dict[str, list[int] | str] = dict(zeros_t3())
    t3["new_requests"] = t3["results_total"] = "110000011"
    t3["granted"], t3["unable_not_held"] = row(5), row(5)
    report = parse(page(t3))
    for key in ("new_requests", "results_total"):
        assert key not in report.tables["t3"]
        assert any(f"t3.{key}" in w and "no split can be trusted" in w for w in report.warnings)
    assert list(report.tables["t3"]["granted"].values()) == row(5)


def test_table2_has_no_sum_so_its_splits_allow_for_a_blank():
    """规章 101 is 1,0,1 — or 10,1 with a blank cell: nothing can tell. 0011 can only be
    0,0,11 (0,011 has a leading zero)."""
    report = parse(page(consistent(), t2={"regulations": "101", "normative_documents": "0011"}))
    assert "regulations" not in report.tables["t2"]
    assert any("t2.regulations" in w and "no sum decides" in w for w in report.warnings)
    assert report.tables["t2"]["normative_documents"] == {
        "issued": 0,
        "repealed": 0,
        "in_force": 11,
    }


def test_table4_blocks_are_read_one_by_one():
    """17 digits for 15 cells: 行政复议 adds up only as 0,0,2,0,2, which leaves
    未经复议直接起诉 0,0,0,0,0; 复议后起诉's 1324015 adds up no way: that block alone is
    refused."""
    report = parse(page(consistent(), t4="00202000001324015"))
    t4 = report.tables["t4"]
    assert list(t4["review"].values()) == [0, 0, 2, 0, 2]
    assert list(t4["litigation_direct"].values()) == [0, 0, 0, 0, 0]
    assert "litigation_after_review" not in t4
    assert "t4.litigation_after_review" in report.reason


def test_a_misprinted_label_is_placed_by_its_neighbours_before_the_split():
    data = page(consistent()).replace(
        "2.其他法律行政法规禁止公开".encode(), "2.其他法律和行政法规禁止公开".encode()
    )
    report = parse(data)
    assert report.tables["t3"]["withheld_prohibited_by_law"]["total"] == 0
    assert any("from its place between the rows" in w for w in report.warnings)


def test_table2_in_the_2019_layout_keeps_only_the_columns_both_templates_have():
    """A 2021 report (its 三 in the 2021 layout) printing 第（五）项 with the 2019 columns
    上一年项目数量 / 本年增/减 / 处理决定数量: only 处理决定数量 is a 2021 cell."""
    data = page(consistent()).replace(
        "第二十条第（五）项信息内容本年处理决定数量行政许可7".encode(),
        "第二十条第（五）项信息内容上一年项目数量本年增/减处理决定数量行政许可0 0 7".encode(),
    )
    report = parse(data)
    assert report.tables["t2"]["licensing"] == {"decisions": 7}
    assert any("other template" in w for w in report.warnings)


def test_cells_on_lines_of_their_own_are_read_as_one_run():
    """What a PDF extractor gives: every label and every cell on a line of its own."""
    lines = ["某某局2024年政府信息公开工作年度报告", "三、收到和处理政府信息公开申请情况"]
    lines += ["申请人情况", "自然人", "法人或其他组织", "总计"]
    t3 = consistent()
    group = None
    for entry in TPL.rows("t3"):
        if entry.group and entry.group != group:
            lines.append(GROUPS[entry.group])
        group = entry.group
        lines.append(entry.label)
        lines += [str(v) for v in t3[entry.key]]
    report = parse_document(("\n".join(lines) + "\n").encode(), filename="r.txt")
    assert report.meta["layout"] == "lines"
    assert len(report.tables["t3"]) == 25
    assert list(report.tables["t3"]["granted"].values()) == [10, 2, 0, 0, 0, 0, 12]


def test_rows_on_lines_of_their_own_with_nothing_between_their_cells():
    """What some PDF extractors give: a line per row, its label and digits run together."""
    lines = ["某某局2024年政府信息公开工作年度报告", "三、收到和处理政府信息公开申请情况"]
    lines.append("申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他")
    t3 = consistent()
    group = None
    for entry in TPL.rows("t3"):
        head = GROUPS[entry.group] if entry.group and entry.group != group else ""
        group = entry.group
        lines.append(head + entry.label + "".join(str(v) for v in t3[entry.key]))
    report = parse_document(("\n".join(lines) + "\n").encode(), filename="r.txt")
    assert report.meta["layout"] == "spaces"
    assert len(report.tables["t3"]) == 25
    assert list(report.tables["t3"]["new_requests"].values()) == [14, 2, 0, 0, 0, 0, 16]


def test_a_row_of_many_digits_is_refused_in_bounded_work():
    """40 digits for table 4's 15 cells, blanks allowed for: refused quickly, named."""
    t3 = consistent()
    t3["carried_forward"] = "000000"  # blanks vanish in this text
    start = time.process_time()
    report = parse(page(t3, t4="1234567890" * 4))
    assert time.process_time() - start < 20
    assert "review" not in report.tables.get("t4", {})
    assert any(w.startswith("t4.review:") and "left out" in w for w in report.warnings)


# -- digits.readings -------------------------------------------------------------------


def tokens(*printed: str) -> list[digits.Token]:
    found = digits.parse_tokens(list(printed))
    assert found is not None
    return found


@pytest.mark.parametrize(
    "printed,width,blanks,expected",
    [
        (["101"], 3, False, [(1, 0, 1)]),
        (
            ["101"],
            3,
            True,
            [(1, 0, 1), (None, 10, 1), (10, None, 1), (10, 1, None)]
            + [(101, None, None), (None, 101, None), (None, None, 101)],
        ),
        (["0011"], 3, True, [(0, 0, 11)]),
        (["1个", "246900元"], 2, False, [(1, 246900)]),
        (["45.82万元"], 2, False, [(4, 5.82)]),  # a decimal part is the last number's
        (["12", "/"], 3, False, [(1, 2, None)]),
        (["5"], 2, False, []),
    ],
)
def test_readings_of_a_row(printed, width, blanks, expected):
    assert sorted(digits.readings(tokens(*printed), width, blanks=blanks), key=repr) == sorted(
        expected, key=repr
    )


def test_readings_that_add_up_are_the_readings_filtered_by_their_sums():
    """With and without blanks, the sum-pruned walk finds exactly the readings that add up."""
    run = digits.RunTogether("t3", "r", ["2600000", "26"], T3_KEYS)
    sums = digits.row_sums(run)
    for blanks in (False, True):
        every = digits.readings(tokens(*run.tokens), 7, blanks=blanks)
        pruned = digits.readings(tokens(*run.tokens), 7, sums, blanks=blanks)
        assert every is not None and pruned is not None
        assert sorted(pruned, key=repr) == sorted(
            (v for v in every if digits.adds_up(sums, v)), key=repr
        )
    assert digits.readings(tokens(*run.tokens), 7, sums) == [(26, 0, 0, 0, 0, 0, 26)]
