"""Reading printed cells and matching printed labels."""

from __future__ import annotations

import pytest

from archive.parse.labels import match_label, normalize, strip_numbering
from archive.parse.tables import GROUPS, ROWS
from archive.parse.values import read_cell


@pytest.mark.parametrize(
    "raw, kind, value",
    [
        ("0", "number", 0),
        ("3119", "number", 3119),
        ("1,234", "number", 1234),
        ("1 234", "number", 1234),
        ("１２３", "number", 123),
        ("96171.6", "number", 96171.6),
        ("251000元", "number", 251000),
        ("-8", "number", -8),
        ("", "blank", None),
        ("/", "blank", None),
        ("—", "blank", None),
        ("-", "blank", None),
        ("无", "blank", None),
        ("\u00a0", "blank", None),
        ("自然人", "text", None),
        ("12件半", "text", None),
    ],
)
def test_read_cell(raw, kind, value):
    cell = read_cell(raw)
    assert (cell.kind, cell.value) == (kind, value)
    assert type(cell.value) is type(value)


def test_normalize_folds_width_brackets_and_spaces():
    assert normalize("（二）部分公开 (区分处理的，只计这一情形)") == normalize(
        "(二)部分公开(区分处理的,只计这一情形)"
    )
    assert strip_numbering("（三）1. 属于国家秘密") == "属于国家秘密"
    assert strip_numbering("四、结转下年度继续办理") == "结转下年度继续办理"
    # Brackets as some agencies print them, or as OCR reads them, and spaced.
    assert strip_numbering("〔六〕其他处理") == "其他处理"
    assert strip_numbering("〈六 ) 其他处理") == "其他处理"
    assert strip_numbering("( 二 ) 部分公开") == "部分公开"
    assert normalize("〈六 ) 其他处理") == normalize("（六）其他处理")
    assert strip_numbering("其他(六)") == "其他(六)"  # only in front


@pytest.mark.parametrize(
    "label, key",
    [
        ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "partially_granted"),
        ("(二) 部分公开", "partially_granted"),
        ("1. 属于国家秘密", "withheld_state_secret"),
        ("3.危及“三安全一稳定”", "withheld_security_stability"),
        ('3.危及"三安全一稳定"', "withheld_security_stability"),
        ("2.没有现成信息需要\n另行制作", "unable_needs_creation"),
        ("一、本年新收政府信息公开申请数量", "new_requests"),
        ("四、结转下年度继续办理", "carried_forward"),
        ("（七）总计", "results_total"),
        ("行政规范性文件", "normative_documents"),
        ("规范性文件", "normative_documents"),
        ("规章", "regulations"),
    ],
)
def test_labels_find_their_row(label, key):
    assert match_label(label, ROWS).entry.key == key


@pytest.mark.parametrize("label", ["其他", "规章制度汇编", "申请人情况", "合计数量", ""])
def test_unknown_or_ambiguous_labels_match_nothing(label):
    # '其他' names a row only inside （六）其他处理; the reader supplies that context.
    candidates = [e for e in ROWS if not e.group]
    assert match_label(label, candidates) is None


def test_groups():
    assert match_label("（三）不予公开", GROUPS).entry.key == "withheld"
    assert match_label("(六)其他处理", GROUPS).entry.key == "other"
