"""Reading reports that depart from the template, and refusing where it would be a guess.

Each class of departure seen in real reports: a misprinted label placed by its
neighbours, （六）其他处理 printed as one row in a 2021 report, a label wrapped across a
page break, single-space / flattened / run-together text, a 小计 column, dash cells,
a chrome prefix on the title, traditional characters. A wrong number is worse than a
missing one: every test of a class also tests the case the parser must refuse.
"""

from __future__ import annotations

import pytest

from archive.checks import check_parsed
from archive.parse import digits, parse_document
from archive.parse.tables import T3_KEYS, assemble, detect_template, read_tables
from tests.parse.test_tables import T3_HEADER, T4, html, t2_rows, t3_rows


def consistent_t3() -> list[list[str]]:
    """A 2021 table 3 whose every rule holds: 10 requests per column, all granted
    except 2 unable_not_held and 1 other_other, none carried."""
    rows = t3_rows(value=lambda i, j: 0)
    values = {0: 10, 2: 7, 12: 2, 22: 1, 23: 10}  # new, granted, unable_not_held, other, total
    out = []
    for i, row in enumerate(rows):
        v = values.get(i, 0)
        out.append(row[:-7] + [str(v)] * 6 + [str(6 * v)])
    return out


def read(grids, exact=True):
    reading = read_tables(grids, exact)
    template_id, _ = detect_template(reading, 2024)
    tables, _, warnings = assemble(reading, template_id)
    return tables, warnings + reading.warnings, reading


# --- 1. misprinted labels ----------------------------------------------------------------


def test_a_label_with_dropped_characters_is_placed_by_its_neighbours():
    rows = t3_rows()
    rows[5][-8] = "2.其他法律行政止公开"  # 法规禁 dropped (a real misprint)
    report = parse_document(html(t2_rows() + T3_HEADER + rows + T4))
    assert report.status == "ok", report.warnings
    assert report.tables["t3"]["withheld_prohibited_by_law"]["natural_person"] == 5
    assert any("2.其他法律行政止公开" in w and "place" in w for w in report.warnings)


def test_a_misprinted_table2_label_is_placed_too():
    rows = t2_rows()
    rows[3][0] = "行政规范王文件"
    report = parse_document(html(rows + T3_HEADER + t3_rows() + T4))
    assert report.tables["t2"]["normative_documents"] == {"issued": 2, "repealed": 1, "in_force": 9}


def test_two_neighbouring_garbled_labels_are_not_guessed():
    rows = t3_rows()
    # 5.属于三类内部事务信息 and 6.属于四类过程性信息 both garbled alike: each resembles
    # both template rows, so which is which cannot be told.
    rows[8][-8] = "属于类内部过程信息"
    rows[9][-8] = "属于类内部过程信息"
    report = parse_document(html(t2_rows() + T3_HEADER + rows + T4))
    t3 = report.tables["t3"]
    assert "withheld_internal_affairs" not in t3 and "withheld_process_info" not in t3
    assert report.status == "partial"
    assert any("withheld_internal_affairs" in w and "not found" in w for w in report.warnings)
    assert any("unrecognised row '属于类内部过程信息'" in w for w in report.warnings)


def test_a_label_resembling_no_missing_row_stays_a_local_row():
    rows = t3_rows()
    rows.insert(8, ["其中：涉及商业秘密", "1", "0", "0", "0", "0", "0", "1"])
    report = parse_document(html(t2_rows() + T3_HEADER + rows + T4))
    assert report.status == "ok"  # every template row is there; the extra one kept aside
    assert "local_其中涉及商业秘密" in report.raw["t3"]


def test_a_numbering_that_contradicts_the_place_is_not_read():
    rows = t3_rows()
    rows[5][-8] = "5.其他法律行政止公开"  # the place is 2., the label says 5.
    tables, warnings, _ = read([t2_rows() + T3_HEADER + rows + T4])
    assert "withheld_prohibited_by_law" not in tables["t3"]


# --- 2. （六）其他处理 as one row in a 2021 report ------------------------------------------


def hybrid_rows(rows):
    i = next(k for k, r in enumerate(rows) if "逾期不补正" in r[-8])
    merged = [str(sum(int(rows[i + j][-7 + c]) for j in range(3))) for c in range(7)]
    return rows[:i] + [["（六）其他处理"] + merged] + rows[i + 3 :]


def test_other_handling_printed_as_one_row_in_a_2021_report_is_kept_and_checked():
    report = parse_document(html(t2_rows() + T3_HEADER + hybrid_rows(consistent_t3()) + T4))
    assert report.template == "2021"
    assert report.tables["t3"]["other_handling"]["total"] == 6
    assert report.status == "partial"  # the template's three rows are not printed
    assert any("other_handling" in w and "one row" in w for w in report.warnings)
    assert check_parsed(report) == []  # t3_results counts it: 7 + 2 + 1 = 10
    faulty = hybrid_rows(consistent_t3())
    i = next(k for k, r in enumerate(faulty) if r[-8] == "（六）其他处理")
    faulty[i][-7] = "2"  # natural_person: 1 printed as 2 (total stays 6)
    found = check_parsed(parse_document(html(t2_rows() + T3_HEADER + faulty + T4)))
    assert {(f.rule, f.column or f.row) for f in found} >= {
        ("t3_results", "natural_person"),
        ("t3_applicants", "other_handling"),
    }


# --- 3. a label wrapped across a page break ------------------------------------------------


def test_a_label_wrapped_across_a_page_break_is_joined_numbers_on_either_side():
    rows = t3_rows()
    i = next(k for k, r in enumerate(rows) if r[-8] == "4.无正当理由大量反复申请")
    numbers = rows[i][-7:]
    for first, second in ((numbers, [""] * 7), ([""] * 7, numbers)):
        page1 = T3_HEADER + rows[:i] + [["4.无正当理由大量反"] + first]
        page2 = [["复申请"] + second] + rows[i + 1 :]
        tables, warnings, _ = read([t2_rows(), page1, page2, T4])
        assert tables["t3"]["rejected_excessive"]["total"] == int(numbers[-1])
        assert any("wrapped across a page break" in w for w in warnings)


def test_a_row_followed_by_a_header_on_the_next_page_is_not_joined():
    rows = t2_rows()
    page1 = rows  # ends with 行政事业性收费 | 1.25
    page2 = (
        [["（本列数据的勾稽关系为：第一项加第二项之和，", "申请人情况"]] + T3_HEADER[1:] + t3_rows()
    )
    tables, warnings, _ = read([page1, page2, T4])
    assert tables["t2"]["fees"] == {"amount_10k_yuan": 1.25}
    assert not any("wrapped" in w for w in warnings)


def test_numbers_on_both_sides_of_a_wrapped_label_are_not_joined():
    rows = t3_rows()
    i = next(k for k, r in enumerate(rows) if r[-8] == "4.无正当理由大量反复申请")
    page1 = T3_HEADER + rows[:i] + [["4.无正当理由大量反"] + rows[i][-7:]]
    page2 = [["复申请"] + rows[i][-7:]] + rows[i + 1 :]
    tables, _, _ = read([t2_rows(), page1, page2, T4])
    assert "rejected_excessive" not in tables["t3"]


# --- 4. text: single spaces, one line, digits run together ---------------------------------


def text_report(lines: list[str]) -> bytes:
    return ("某区财政局2024年政府信息公开工作年度报告\n" + "\n".join(lines) + "\n").encode()


T3_TEXT = [
    "三、收到和处理政府信息公开申请情况",
    "一、本年新收政府信息公开申请数量 14 2 0 0 0 0 16",
]


def test_cells_separated_by_single_spaces():
    report = parse_document(
        text_report(T3_TEXT + ["（一）予以公开 0 0 0 0 0 0 0"]), filename="r.txt"
    )
    assert report.tables["t3"]["new_requests"]["natural_person"] == 14
    assert report.tables["t3"]["granted"] == dict.fromkeys(report.tables["t3"]["granted"], 0)


def consistent_text_rows() -> list[tuple[str, list[int]]]:
    """Table 3 as (label, seven numbers) with every rule holding (some multi-digit)."""
    out = []
    for row in consistent_t3():
        out.append((row[-8], [int(n) for n in row[-7:]]))
    return out


def test_digits_run_together_are_split_when_the_sums_allow_one_split():
    lines = ["三、收到和处理政府信息公开申请情况"]
    for label, numbers in consistent_text_rows():
        lines.append(label + " " + "".join(str(n) for n in numbers))
    report = parse_document(text_report(lines), filename="r.txt")
    t3 = report.tables["t3"]
    assert t3["new_requests"] == dict(zip(t3["new_requests"], [10] * 6 + [60], strict=True))
    assert t3["granted"]["total"] == 42 and t3["unable_not_held"]["natural_person"] == 2
    assert any("run together" in w and "only split" in w for w in report.warnings)


def test_the_issue_example_alone_and_an_ambiguous_row_is_refused():
    # 142000016 has one split whose applicants add up to its total: 14 2 0 0 0 0 16.
    assert (
        digits.solve(
            [digits.RunTogether("t3", "new_requests", ["142000016"], T3_KEYS)],
            {},
            [],
            7,
        ).refused
        == {}
    )
    # 161000017 has two: 16 1 0 0 0 0 17 and 1 6 10 0 0 0 17; alone, it is refused.
    run = digits.RunTogether(
        "t3",
        "granted",
        ["161000017"],
        (
            "natural_person",
            "enterprise",
            "research",
            "public_interest",
            "legal_service",
            "other_org",
            "total",
        ),
    )
    outcome = digits.solve([run], {}, [], 7)
    assert "granted" in outcome.refused and "2 ways" in outcome.refused["granted"]
    lines = T3_TEXT[:1] + ["（一）予以公开 161000017"]
    report = parse_document(text_report(lines), filename="r.txt")
    assert "granted" not in report.tables.get("t3", {})
    assert report.status == "run_together" and "t3.granted" in report.reason


def test_run_together_digits_whose_row_cannot_add_up_are_refused():
    # The agency's own total is wrong: no split can be trusted.
    report = parse_document(text_report(T3_TEXT[:1] + ["（一）予以公开 3100005"]), filename="r.txt")
    assert "granted" not in report.tables.get("t3", {})
    assert any("no way of splitting" in w for w in report.warnings)


def test_a_whole_table_on_one_line():
    cells = []
    for label, numbers in consistent_text_rows():
        cells += [label] + [str(n) for n in numbers]
    line = " ".join(
        ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"]
        + cells
    )
    report = parse_document(
        text_report(["三、收到和处理政府信息公开申请情况", line]), filename="r.txt"
    )
    assert len(report.tables["t3"]) == 25
    assert report.tables["t3"]["results_total"]["total"] == 60


@pytest.mark.parametrize(
    "tokens,width,expected",
    [
        (["0000000"], 7, [(0,) * 7]),
        (["100"], 2, [(10, 0)]),  # 1,00 has a leading zero
        (["12", "/"], 3, [(1, 2, None)]),
        (["5"], 2, []),
    ],
)
def test_compositions(tokens, width, expected):
    assert digits.compositions(tokens, width) == expected


# --- 5. 小计 column, dashes, missing row, chrome -------------------------------------------


def test_a_table3_with_a_subtotal_column():
    header = [T3_HEADER[0], T3_HEADER[1], T3_HEADER[2] + ["小计"]]
    rows = []
    for row in consistent_t3():
        values = [int(n) for n in row[-7:]]
        rows.append(
            row[:-7] + [str(v) for v in values[:6]] + [str(sum(values[1:6])), str(values[6])]
        )
    report = parse_document(html(t2_rows() + header + rows + T4))
    assert report.status == "ok" and report.cell_count() == 200
    assert report.tables["t3"]["new_requests"]["total"] == 60
    assert any("小计" in w for w in report.warnings)
    rows[0][-2] = "49"  # the printed 小计 of new_requests is not 5 × 10
    report = parse_document(html(t2_rows() + header + rows + T4))
    assert any("t3.new_requests" in w and "小计 49" in w for w in report.warnings)


def test_slash_and_dash_cells_are_blank_not_zero():
    rows = t3_rows()
    rows[0] = rows[0][:-7] + ["6", "/", "—", "／", "-", "1", "7"]
    report = parse_document(html(t2_rows() + T3_HEADER + rows + T4))
    new = report.tables["t3"]["new_requests"]
    assert new == {
        "natural_person": 6,
        "enterprise": None,
        "research": None,
        "public_interest": None,
        "legal_service": None,
        "other_org": 1,
        "total": 7,
    }
    assert report.cell_audit["dash"] == 4


def test_a_table2_without_its_regulations_row_is_partial_and_says_so():
    rows = [r for r in t2_rows() if r[0] != "规章"]
    report = parse_document(html(rows + T3_HEADER + t3_rows() + T4))
    assert report.status == "partial"
    assert "t2: row regulations of the 2021 template not found" in report.warnings
    assert report.tables["t2"]["normative_documents"]["in_force"] == 9


@pytest.mark.parametrize("prefix", ["标题：", "标 题:", "信息名称：", "首页>政务公开>年报>"])
def test_the_agency_name_without_page_chrome(prefix):
    page = (
        html(t2_rows() + T3_HEADER + t3_rows() + T4).decode().replace("<title>", f"<title>{prefix}")
    )
    report = parse_document(page.encode())
    assert report.agency == "某某局"


def test_a_report_in_traditional_characters():
    import opencc

    page = opencc.OpenCC("s2t").convert(html(t2_rows() + T3_HEADER + t3_rows() + T4).decode())
    assert "報告" in page
    report = parse_document(page.encode())
    assert report.status == "ok" and report.cell_count() == 200
    assert report.title == "某某局2024年政府信息公开工作年度报告"
    assert any("traditional characters" in w for w in report.warnings)


def test_digits_that_allow_too_many_splits_are_refused_in_bounded_work():
    lines = ["三、收到和处理政府信息公开申请情况"]
    for label, _ in consistent_text_rows():
        lines.append(label + " " + "1234567890123456789012345")  # no split adds up
    report = parse_document(text_report(lines), filename="r.txt")
    assert "t3" not in report.tables
    assert report.status == "run_together"


@pytest.mark.parametrize("seed", range(3))
def test_pruned_splits_are_exactly_the_splits_that_add_up(seed):
    """Seeded random rows: the sum-pruned search finds exactly what enumerating every split
    and keeping those that add up finds (table 3's row, table 4's three blocks)."""
    rng = __import__("random").Random(seed)
    for _ in range(25):
        groups = rng.choice([[6], [6], [4, 4, 4]])
        cols = T3_KEYS if groups == [6] else tuple(str(i) for i in range(15))
        table = "t3" if groups == [6] else "t4"
        values: list[int] = []
        for size in groups:
            parts = [
                rng.choice([0, 0, 1, 2, rng.randint(0, 40), rng.randint(0, 400)])
                for _ in range(size)
            ]
            values += parts + [sum(parts)]
        printed = [str(v) for v in values]
        cut = sorted(rng.sample(range(1, len(printed)), rng.randint(0, 3)))
        tokens = [
            "".join(printed[a:b]) for a, b in zip([0, *cut], [*cut, len(printed)], strict=True)
        ]
        run = digits.RunTogether(table, "r", tokens, cols)
        every = digits.compositions(tokens, len(cols))
        if every is None:
            continue
        expected = sorted(v for v in every if digits.row_adds_up(run, v))
        assert sorted(digits.summed_splits(tokens, groups)) == expected, tokens
        assert tuple(values) in expected


def test_reading_digits_every_way_is_bounded_work_and_refuses_past_it(monkeypatch):
    """28 digits for table 4's 15 cells allow millions of readings: those that cannot end
    on the last cell are not walked (they took 83 s before the count refused the row),
    and the walk itself stops after a bounded number of steps — then the row is refused,
    never guessed."""
    long_run = ["3132622361001740174121500153"]
    assert digits.compositions(long_run, 15) is None
    assert digits.summed_splits(long_run, [4, 4, 4]) == [
        (31, 326, 2, 2, 361, 0, 0, 174, 0, 174, 1, 2, 150, 0, 153)
    ]
    short = ["1", "-", "2345678"]
    readings = digits.compositions(short, 6)
    assert readings is not None and len(readings) == 20  # 7 digits as 4 numbers
    assert (1, None, 2, 3, 4, 5678) in readings
    monkeypatch.setattr(digits, "MAX_STEPS", 10)  # too few steps for this row
    assert digits.compositions(short, 6) is None


def test_a_row_chromium_printed_across_a_page_break():
    """A real browser's print: Chromium breaks table 3's row 4.无正当理由大量反复申请 inside
    its wrapped label and draws no rule at the break; the row is read whole."""
    import shutil

    from benchmarks.corpus import Sample, truths, wrong_cells
    from simweb.render import render_report_pdf_browser

    if not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")):
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium)")
    truth = truths(20, seed=3)[0][2]
    try:
        pdf = render_report_pdf_browser(truth)
    except RuntimeError as exc:  # this Chromium lays the page out otherwise
        pytest.skip(str(exc))
    report = parse_document(pdf, filename="r.pdf")
    assert wrong_cells(Sample("pdf-browser", "pdf", truth, pdf), report.tables) == []
    assert report.status == "ok"
    assert any("wrapped across a page break" in w for w in report.warnings)


def test_a_breadcrumb_is_not_the_title():
    page = html(t2_rows() + T3_HEADER + t3_rows() + T4).decode()
    page = page.replace("<title>某某局2024年政府信息公开工作年度报告</title>", "<title></title>")
    page = page.replace(
        "<body>",
        "<body><p>首页 &gt; 政府信息公开 &gt; 年报</p><p>某某局2024年政府信息公开工作年度报告</p>",
    )
    report = parse_document(page.encode())
    assert report.title == "某某局2024年政府信息公开工作年度报告" and report.agency == "某某局"
