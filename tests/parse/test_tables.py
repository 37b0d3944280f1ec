"""Finding the tables in awkward layouts: split, merged, repeated, with local rows."""

from __future__ import annotations

from archive.parse import parse_document
from archive.store.templates import template

T3_HEADER = [
    ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
    ["自然人", "法人或其他组织", "总计"],
    ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"],
]


def t3_rows(value=lambda i, j: i + j):
    """The 2021 table 3 as (labels, 7 numbers) rows, every group label in its first row."""
    tpl = template("2021")
    groups = {g.key: g.label for g in tpl.groups("t3")}
    rows, open_group = [], None
    for i, row in enumerate(tpl.rows("t3")):
        labels = [row.label]
        if row.group and row.group != open_group:
            labels.insert(0, groups[row.group])
        open_group = row.group
        numbers = [value(i, j) for j in range(6)]
        rows.append(labels + [str(n) for n in numbers] + [str(sum(numbers))])
    return rows


def html(*tables) -> bytes:
    body = "".join(
        "<table>"
        + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
        + "</table>"
        for rows in tables
    )
    return (
        f"<html><head><title>某某局2024年政府信息公开工作年度报告</title></head><body>"
        f"{body}</body></html>"
    ).encode()


def t2_rows():
    return [
        ["第二十条第（一）项"],
        ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
        ["规章", "1", "0", "5"],
        ["行政规范性文件", "2", "1", "9"],
        ["第二十条第（五）项"],
        ["信息内容", "本年处理决定数量"],
        ["行政许可", "7"],
        ["第二十条第（六）项"],
        ["信息内容", "本年处理决定数量"],
        ["行政处罚", "3"],
        ["行政强制", "0"],
        ["第二十条第（八）项"],
        ["信息内容", "本年收费金额（单位：万元）"],
        ["行政事业性收费", "1.25"],
    ]


T4 = [
    ["行政复议", "行政诉讼"],
    ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "未经复议直接起诉", "复议后起诉"],
    [str(n) for n in [1, 0, 0, 1, 2] * 3],
]


def test_three_tables_in_one_and_split_over_two():
    rows = t3_rows()
    one = parse_document(html(t2_rows() + T3_HEADER + rows + T4))
    split = parse_document(html(t2_rows(), T3_HEADER + rows[:9], T3_HEADER + rows[9:], T4))
    for report in (one, split):
        assert report.status == "ok", report.warnings
        assert report.template == "2021"
        assert report.tables["t3"]["withheld_state_secret"]["enterprise"] == 5
        assert report.tables["t3"]["other_other"]["total"] == sum(22 + j for j in range(6))
        assert report.tables["t2"]["fees"] == {"amount_10k_yuan": 1.25}
        assert report.tables["t4"]["litigation_after_review"]["total"] == 2


def test_local_row_is_kept_aside_with_a_warning():
    rows = t3_rows()
    rows.insert(3, ["其中：网上申请", "1", "0", "0", "0", "0", "0", "1"])
    report = parse_document(html(t2_rows() + T3_HEADER + rows + T4))
    assert report.status == "ok"
    assert any("其中：网上申请" in w for w in report.warnings)
    assert "local_其中网上申请" in report.raw["t3"]


def test_a_row_with_a_missing_cell_is_left_out_not_shifted():
    rows = t3_rows()
    rows[2] = rows[2][:-1]  # granted: only 6 numbers printed
    report = parse_document(html(t2_rows() + T3_HEADER + rows + T4))
    assert "granted" not in report.tables["t3"]
    assert report.status == "partial"
    assert any("t3.granted" in w for w in report.warnings)


def test_the_same_row_printed_twice_with_other_numbers_is_dropped():
    rows = t3_rows()
    again = list(rows[0])
    again[1] = "999"
    report = parse_document(html(t2_rows() + T3_HEADER + rows + [again] + T4))
    assert "new_requests" not in report.tables["t3"]
    assert any("printed twice" in w for w in report.warnings)


def test_labels_broken_by_markup_and_full_width_digits():
    page = html(t2_rows() + T3_HEADER + t3_rows() + T4).decode()
    page = page.replace("保护第三方合法权益", "保护第三方<br/>合法<p>权益</p>").replace(
        "<td>3</td>", "<td>&nbsp;３&nbsp;</td>", 1
    )
    report = parse_document(page.encode())
    assert report.status == "ok", report.warnings
    assert "withheld_third_party" in report.tables["t3"]


def test_not_a_report():
    page = (
        "<html><head><title>2024年部门预算公开</title></head><body><table><tr><td>支出</td>"
        "<td>123</td></tr></table></body></html>"
    ).encode()
    assert parse_document(page).status == "not_a_report"


def test_gbk_page_declared_gb2312():
    page = (
        html(t2_rows() + T3_HEADER + t3_rows() + T4)
        .decode()
        .replace("<head>", '<head><meta charset="gb2312">')
        .encode("gb18030")
    )
    report = parse_document(page, content_type="text/html; charset=gb2312")
    assert report.agency == "某某局" and report.status == "ok"
