"""Tables that are pictures: scanned PDFs and Word files with pasted table images, read by OCR.

Every number the OCR keeps must be the printed one; a cell it is unsure of is null with a
warning that names it. The scans are the generator's (:func:`simweb.render.render_scan_pdf`),
so the printed numbers are known. A few pages only, to keep the suite fast.
"""

from __future__ import annotations

import random

import pytest

from archive.parse import ocr, parse_document
from archive.parse.document import Document
from benchmarks.corpus import Sample, truths
from simweb import render

pytestmark = pytest.mark.ocr

pytest.importorskip("tesserocr")
pytest.importorskip("cv2")
if ocr.tessdata_dir() is None:
    pytest.skip("Tesseract's chi_sim data is not installed", allow_module_level=True)

# After the skips: these modules load Tesseract and OpenCV as they are imported.
from archive.parse.ocr import cells, engine, geometry, glyphs, sources, sums  # noqa: E402


@pytest.fixture(autouse=True)
def no_time_budget(monkeypatch):
    """These tests measure what is read; the time budget (wall clock, so shorter on a busy
    machine) has its own test below."""
    monkeypatch.setattr(sources, "TIME_BUDGET", 3600.0)


def test_time_budget_stops_between_pages_and_says_so(monkeypatch):
    sample = _truth(1)
    data = render.render_scan_pdf(sample.truth, render.Scan(dpi=100, noise=False))
    monkeypatch.setattr(sources, "TIME_BUDGET", 0.0)
    report = parse_document(data, filename="scan.pdf")
    assert report.status == "tables_are_images" and report.tables == {}
    assert any("OCR stopped after 0 of" in w for w in report.warnings)


def _truth(i: int):
    kind, fmt, truth = truths(8, seed=3)[i]
    return Sample(kind, fmt, truth)


def _cells(tables: dict):
    for table, rows in tables.items():
        for row, cols in rows.items():
            for col, value in cols.items():
                yield table, row, col, value


def assert_truth_or_null_with_warning(sample: Sample, report) -> tuple[int, int]:
    """Every cell read is the printed number, or null with a warning naming it. Returns
    (right, null)."""
    right = null = 0
    for table, row, col, value in _cells(sample.truth.tables):
        got = report.tables.get(table, {}).get(row, {}).get(col, "absent")
        if got == value and type(got) is type(value):
            right += 1
            continue
        if got == "absent":  # the row was not recognised: the report says it is partial
            assert report.status == "partial" and report.warnings
            continue
        assert got is None, f"{table}.{row}.{col}: printed {value!r}, read {got!r}"
        assert any(w.startswith(f"{table}.{row}") for w in report.warnings), (
            f"{table}.{row}.{col} is null without a warning"
        )
        null += 1
    return right, null


def test_scanned_report_is_read_end_to_end():
    sample = _truth(1)
    data = render.render_scan_pdf(sample.truth, render.Scan(dpi=200, skew=-1.5))
    report = parse_document(data, filename="scan.pdf")
    assert report.format == "pdf" and report.cell_source == "ocr"
    assert report.status in ("ok", "partial")
    assert report.template == sample.truth.template
    assert report.to_json()["cell_source"] == "ocr"
    right, null = assert_truth_or_null_with_warning(sample, report)
    total = sum(1 for _ in _cells(sample.truth.tables))
    assert right >= 0.95 * total, (right, null, total, report.warnings)
    if null:
        assert report.status == "partial"
    # Every cell read carries the engine's confidence.
    for table, row, col, _ in _cells(report.tables):
        assert 0.0 <= report.confidence[table][row][col] <= 1.0


def test_seal_stamped_across_table_three():
    sample = _truth(2)
    data = render.render_scan_pdf(sample.truth, render.Scan(dpi=300, skew=1.0, seal=True))
    report = parse_document(data, filename="scan.pdf")
    assert report.cell_source == "ocr"
    right, _ = assert_truth_or_null_with_warning(sample, report)
    assert right >= 0.95 * sum(1 for _ in _cells(sample.truth.tables))
    assert "t3" in report.tables and report.tables["t3"]


def test_word_file_with_tables_pasted_as_pictures():
    sample = _truth(1)
    data = render.render_docx_table_pictures(sample.truth, render.Scan(dpi=200, skew=1.0))
    report = parse_document(data, filename="report.docx")
    assert report.format == "docx" and report.cell_source == "ocr"
    right, _ = assert_truth_or_null_with_warning(sample, report)
    assert right >= 0.95 * sum(1 for _ in _cells(sample.truth.tables))


def test_a_scan_without_a_readable_table_still_says_tables_are_images():
    sample = _truth(0)
    report = parse_document(render.render_image_pdf(sample.truth), filename="scan.pdf")
    assert report.status == "tables_are_images"
    assert report.tables == {}
    assert any("OCR" in w for w in report.warnings)


# --- the rules after the table reader, on grids with chosen confidences (no OCR run) ------


def _ocr_result(sample: Sample, confidence) -> ocr.OcrResult:
    """The report's three tables as OCR would give them if it read every printed text,
    each cell's confidence from ``confidence(text)``."""
    style = render.Style.pick(sample.truth)
    style.t2_pad = False
    tables = []
    for name in ("t2", "t3", "t4"):
        anchors, ncols = render._place(render._layouts(sample.truth, style)[name])
        nrows = 1 + max(r + cell.rowspan - 1 for r, _, cell in anchors)
        cells: list[list] = [[None] * ncols for _ in range(nrows)]
        for r, c, cell in anchors:
            text = "" if cell.kind == "pad" else cell.text
            if cell.kind == "num":
                text = render.printed(cell, unit=True)
            cells[r][c] = ocr.OcrCell(text, confidence(text) if text else 1.0)
        tables.append(ocr.OcrTable(cells))
    return ocr.OcrResult(tables=tables, pages=1)


def _interpret(result: ocr.OcrResult):
    from archive.parse import interpret

    doc = Document(format="pdf", text="", tables=result.grids(), ocr=result)
    return interpret(doc, "scan.pdf")


def _with_numbers(sample: Sample):
    """A table-3 cell of the report that prints a number other than 0, and its text."""
    for row, cols in sample.truth.tables["t3"].items():
        for col, value in cols.items():
            if isinstance(value, int) and value > 1 and col != "total":
                return row, col, value
    raise AssertionError("no number in table 3")


def _cell_of(result: ocr.OcrResult, sample: Sample, row: str, col: str) -> ocr.OcrCell:
    """The OCR cell of table 3 holding (row, col): the row is the grid row printing its
    label, the column its place among the seven data cells at the right."""
    label = _label(sample, row)
    for grid_row in result.tables[1].cells:
        if any(c is not None and c.text == label for c in grid_row):
            return grid_row[-7:][_cols(sample).index(col)]
    raise AssertionError(f"no row {row}")


def test_unsure_cell_is_null_with_a_warning_never_a_guess():
    """Read unsurely, and the table's sums do not confirm the reading: null, with a warning."""
    sample = _truth(3)
    row, col, value = _with_numbers(sample)
    result = _ocr_result(sample, lambda text: 0.99)
    target = _cell_of(result, sample, row, col)
    assert target.text == str(value)
    target.text, target.confidence = str(value + 1), 0.55
    report = _interpret(result)
    assert report.tables["t3"][row][col] is None
    assert report.confidence["t3"][row][col] == 0.55
    assert any(
        w.startswith(f"t3.{row}.{col}: OCR read '{value + 1}' with confidence 0.55")
        for w in report.warnings
    )
    assert report.status == "partial"
    for t, r, c, v in _cells(sample.truth.tables):
        if (t, r, c) != ("t3", row, col):
            assert report.tables[t][r][c] == v, (t, r, c)


def test_an_unsure_reading_the_sums_confirm_is_kept_and_said():
    """The engine's unsure reading is the one number that makes the sums of surely read
    cells hold: two readers agree, the number is kept, and the report says so."""
    sample = _truth(3)
    row, col, value = _with_numbers(sample)
    result = _ocr_result(sample, lambda text: 0.99)
    target = _cell_of(result, sample, row, col)
    target.confidence = 0.55
    report = _interpret(result)
    assert report.tables["t3"][row][col] == value
    assert any(f"t3.{row}.{col} = {value}" in w and "confirmed" in w for w in report.warnings)
    assert not any(w.startswith(f"t3.{row}.{col}: ") for w in report.warnings)


def _with_unread_cell(sure: float, seen: str):
    """A report whose table-3 cell holding a number other than 0 was printed but not read
    (the engine made ``seen`` of it), every other cell read with confidence ``sure``:
    (sample, row, col, report)."""
    sample = _truth(3)
    row, col, _ = _with_numbers(sample)
    result = _ocr_result(sample, lambda text: sure)
    target = _cell_of(result, sample, row, col)
    target.text, target.confidence, target.numeric, target.seen = "", 0.0, True, seen
    return sample, row, col, _interpret(result)


def test_the_sums_alone_never_fill_a_cell():
    """Ink the engine read as no number at all stays null although the sums would give it."""
    _, row, col, report = _with_unread_cell(0.99, "-~")
    assert report.tables["t3"][row][col] is None


def test_two_readings_the_sums_cannot_tell_apart_stay_null():
    """Two unsure cells of one sum, each read as either of two numbers, where two
    combinations add up: neither is kept; where one does but no other sum checks them
    again, neither is kept either (see the next test)."""
    from types import SimpleNamespace

    def review(upheld, corrected):
        row = {"upheld": upheld, "corrected": corrected, "other": 1, "pending": 0, "total": 9}
        return SimpleNamespace(template="2021", tables={"t4": {"review": row}})

    unsure = {("t4", "review", "upheld"): {3, 5}, ("t4", "review", "corrected"): {5, 3}}
    ambiguous = review(None, None)
    assert ocr.confirm_by_sums(ambiguous, unsure) == {}
    assert ambiguous.tables["t4"]["review"]["upheld"] is None
    one_way = {("t4", "review", "upheld"): {3, 4}, ("t4", "review", "corrected"): {5, 7}}
    unchecked = review(None, None)  # the review row is the only sum over these two cells
    assert ocr.confirm_by_sums(unchecked, one_way) == {}
    none_fits = review(None, None)
    assert ocr.confirm_by_sums(none_fits, {k: {9} for k in one_way}) == {}


def test_a_cell_is_confirmed_only_by_its_row_and_its_column_read_independently():
    """An unsure cell is filled by the sums only when the sum along its row and the sum
    down its column both hold with it, every other cell of both read by itself. Two
    totals misread alike (5 read as 9: 523 → 923, 507 → 907) still balance their column:
    with both unread, neither sum is evidence for either, whatever the readings."""
    import copy
    from types import SimpleNamespace

    sample = _truth(3)
    tables = copy.deepcopy(sample.truth.tables)
    for values in tables["t3"].values():  # printed blank: 0 (a blank cell is not unknown)
        for col, v in values.items():
            values[col] = 0 if v is None else v
    new, done = ("t3", "new_requests", "total"), ("t3", "results_total", "total")
    truth = {k: tables[k[0]][k[1]][k[2]] for k in (new, done)}
    assert all(isinstance(v, int) and v > 0 for v in truth.values())

    def report(*unread):
        t = copy.deepcopy(tables)
        for _, row, col in unread:
            t["t3"][row][col] = None
        return SimpleNamespace(template=sample.truth.template, tables=t)

    alike = {k: {v + 400} for k, v in truth.items()}  # new + carried over = done + forward
    assert ocr.confirm_by_sums(report(new, done), alike) == {}
    right = {new: {truth[new], truth[new] + 3}, done: {truth[done]}}
    # 已办结's total has its own row and the outcomes' column, both read: confirmed; 新收's
    # column runs through 已办结, filled by the sums, not read: no evidence for it.
    assert ocr.confirm_by_sums(report(new, done), right) == {done: truth[done]}
    alone = report(new)
    assert ocr.confirm_by_sums(alone, {new: right[new]}) == {new: truth[new]}
    assert alone.tables["t3"]["new_requests"]["total"] == truth[new]
    # A part of its row unread too: the row's sum says nothing, the column alone is not
    # enough.
    part = ("t3", "new_requests", sums.T3_APPLICANTS[0])
    assert ocr.confirm_by_sums(report(new, part), {new: right[new]}) == {}


def test_a_sum_the_same_misreading_satisfies_on_both_sides_is_no_evidence():
    """21 printed in 本年新收's one applicant column and in its 总计, both read 2 (the thin
    1 dropped): 2 + 0 = 2 + 0 holds, but the same misreading sits on both sides. The sum
    is no evidence for the unsure cell, which stays null."""
    from types import SimpleNamespace

    from archive.store.templates import template

    cols = [c.key for c in template("2021").cols("t3")]
    blank = dict.fromkeys(cols, 0)
    rows = {r.key: dict(blank) for r in template("2021").rows("t3")}
    rows["new_requests"].update(natural=2, total=2)  # as misread: both 21
    rows["granted"].update(natural=2, total=2)
    rows["results_total"].update(natural=2, total=2)
    key = ("t3", "new_requests", "natural")
    rows["new_requests"]["natural"] = None
    report = SimpleNamespace(template="2021", tables={"t3": rows})
    assert ocr.confirm_by_sums(report, {key: {2}}) == {}
    assert report.tables["t3"]["new_requests"]["natural"] is None


def test_a_reading_that_breaks_the_sums_is_not_trusted_unless_near_certain():
    sample = _truth(3)
    row, col, value = _with_numbers(sample)

    def misread(sure: float):
        result = _ocr_result(sample, lambda text: 0.999)
        cell = _cell_of(result, sample, row, col)
        cell.text, cell.confidence = str(value + 3), sure
        return _interpret(result)

    doubtful = misread(0.93)  # over the bar for keeping, under the bar for a broken sum
    assert doubtful.tables["t3"][row][col] is None
    assert any(
        w.startswith(f"t3.{row}.{col}: OCR read {value + 3}") and "breaks" in w
        for w in doubtful.warnings
    )
    certain = misread(0.999)  # as sure as the rest: the agency's arithmetic, kept as printed
    assert certain.tables["t3"][row][col] == value + 3


def _label(sample: Sample, row: str) -> str:
    from archive.store.templates import template

    return next(r.label for r in template(sample.truth.template).rows("t3") if r.key == row)


def _cols(sample: Sample):
    from archive.store.templates import template

    return [c.key for c in template(sample.truth.template).cols("t3")]


def test_label_read_with_a_wrong_character_is_matched_to_the_template():
    assert ocr.correct_label(
        "1.申请人无正当理由让期不补正、行政机关不再处理其政府信息公开申请"
    ).startswith("1.申请人无正当理由逾期不补正")
    assert ocr.correct_label("(七7)总计") == "（七）总计"
    assert ocr.correct_label("(六 ) 其他处理") == "（六）其他处理"  # spaced differently
    assert ocr.correct_label("3.其他") is None  # short: never corrected
    assert ocr.correct_label("（一）予以公开") is None  # read right: left alone
    assert ocr.correct_label("本年度工作要点") is None  # nothing close enough


@pytest.mark.parametrize("seed", range(6))
def test_skew_is_found(seed):
    """The skew of a scanned page is found within 0.1°, either way, from its rules."""
    import numpy as np
    import pypdfium2 as pdfium

    rng = random.Random(seed)
    sample = _truth(seed % 4)
    skew = rng.choice([-1, 1]) * rng.uniform(0.5, 2.5)
    data = render.render_scan_pdf(sample.truth, render.Scan(dpi=100, skew=skew, noise=False))
    page = pdfium.PdfDocument(data)[0].render(scale=100 / 72).to_numpy()[..., :3]
    found = geometry.skew_angle(geometry.ink(geometry.grey(np.ascontiguousarray(page))))
    assert abs(found + skew) < 0.1, (skew, found)


def test_a_minus_the_size_of_dust_is_seen_and_must_be_read():
    """A minus sign scanned at 300 dpi is about as large as a speck of dust (9×4 pixels)
    and the engine may leave it out: a level stroke just left of the number, at
    mid-height, is a minus, and a reading without it does not agree with the ink. The
    same stroke below the line, right of the number, or far above it is not a minus."""
    five = (84, 15, 14, 26)
    minus = _number_line((70, 28, 10, 4), five)
    assert minus.dash and minus.chars == 1
    assert glyphs.agrees("5", minus, shapes=False) is not None
    assert glyphs.agrees("-5", minus, shapes=False) is None
    for mark in ((70, 42, 10, 3), (100, 28, 10, 4), (68, 2, 10, 4)):
        line = _number_line(mark, five)
        assert not line.dash and line.chars == 1, mark
        assert glyphs.agrees("5", line, shapes=False) is None, mark


# --- rules a scan dissolved: parted again, merged cells left merged ---------------------


def _ruled_page(dpi: int = 150):
    """A page with a ruled table of 4 rows and 4 columns, one-pixel rules at 150 dpi, a
    digit in every cell; the ink mask as ``ink`` gives it, and the table's rule edges."""
    import cv2
    import numpy as np

    xs, ys = [40, 200, 290, 380, 470], [40, 88, 136, 184, 232]
    page = np.full((280, 520), 235, np.uint8)
    for x in xs:
        cv2.line(page, (x, ys[0]), (x, ys[-1]), 30, 1)
    for y in ys:
        cv2.line(page, (xs[0], y), (xs[-1], y), 30, 1)
    for r in range(4):
        for c in range(1, 4):
            centre = ((xs[c] + xs[c + 1]) // 2 - 5, (ys[r] + ys[r + 1]) // 2 + 7)
            cv2.putText(page, str((r + c) % 10), centre, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 30, 2)
    return page, xs, ys


def _erase(page, x0, y0, x1, y1):
    page[y0 : y1 + 1, x0 : x1 + 1] = 235


def _dash(page, x0, y0, x1, y1, on=4, off=6):
    """Leave a stretch of a rule in pieces shorter than ``rules`` keeps (as a seal's red
    and JPEG leave a one-pixel rule at 150 dpi)."""
    if y0 == y1:
        for x in range(x0, x1 + 1):
            if (x - x0) % (on + off) >= on:
                page[y0, x] = 235
    else:
        for y in range(y0, y1 + 1):
            if (y - y0) % (on + off) >= on:
                page[y, x0] = 235


def _grid_of(page, dpi: int, mend: bool) -> list[tuple[int, int, int, int]]:
    marks = geometry.ink(page)
    horizontal, vertical = geometry.rules(marks, dpi)
    (boxes,) = geometry.table_boxes(horizontal, vertical, dpi, marks if mend else None)
    return sorted((b.x0, b.y0, b.x1, b.y1) for b in boxes)


def test_a_rule_broken_into_pieces_parts_its_cells_again():
    page, xs, ys = _ruled_page()
    whole = _grid_of(page, 150, mend=True)
    assert len(whole) == 16
    _dash(page, xs[2] + 1, ys[2], xs[3] - 1, ys[2])  # a row rule, in one column
    _dash(page, xs[3], ys[3] + 1, xs[3], ys[4] - 1)  # a column rule, in one row
    assert len(_grid_of(page, 150, mend=False)) == 14  # two pairs of cells became one box
    mended = _grid_of(page, 150, mend=True)
    assert len(mended) == 16
    for (x0, y0, x1, y1), (a0, b0, a1, b1) in zip(whole, mended, strict=True):
        # Cut where the rule ran: within the width of the rule and its blur.
        assert max(abs(x0 - a0), abs(y0 - b0), abs(x1 - a1), abs(y1 - b1)) <= 4


def test_a_merged_cell_stays_merged():
    """No rule at all where two cells are one (总计 over two rows), or a character across
    the edge, or a dash printed in the middle of the cell on the edge: one box each."""
    import cv2

    page, xs, ys = _ruled_page()
    _erase(page, xs[3] + 1, ys[1] - 1, xs[4] - 1, ys[1] + 1)  # no rule: rows 0-1 merged
    _erase(page, xs[1] + 1, ys[3] - 1, xs[2] - 1, ys[3] + 1)  # rows 2-3 merged …
    middle = (xs[1] + xs[2]) // 2  # … with a dash printed in the middle, on the edge
    cv2.line(page, (middle - 11, ys[3]), (middle + 11, ys[3]), 30, 1)
    _erase(page, xs[2] - 1, ys[0] + 1, xs[2] + 1, ys[1] - 1)  # columns 1-2 merged …
    cv2.putText(page, "88", (xs[2] - 14, ys[1] - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 30, 2)
    boxes = _grid_of(page, 150, mend=True)
    assert len(boxes) == 13

    def spans(x: int, y: int, wide: int, high: int) -> bool:
        return any(
            abs(x0 - x) <= 3 and abs(y0 - y) <= 3 and x1 - x0 > wide and y1 - y0 > high
            for x0, y0, x1, y1 in boxes
        )

    assert spans(xs[3], ys[0], 80, 90)  # 总计 over two rows
    assert spans(xs[1], ys[2], 80, 90)  # the dash on the edge
    assert spans(xs[1], ys[0], 160, 40)  # 88 across the column edge


def test_a_seal_leaves_paper_not_a_white_band():
    """Where a red seal is taken off the page, the paper's grey is put back: a white band
    would be brighter than the paper beside it and its borders would turn to ink."""
    import cv2
    import numpy as np

    paper = np.full((200, 200, 3), 228, np.uint8)
    cv2.circle(paper, (100, 100), 70, (40, 40, 220), 6)  # BGR: a red ring
    page = geometry.grey(paper)
    assert int(page.min()) >= 200  # no dark ink where the seal was
    assert not geometry.ink(page).any()


def test_a_row_placed_by_its_position_keeps_its_numbers():
    """A label misread beyond recognition (行政处罚 read 行政处钙) is placed between the rows
    around it; the OCR cells behind it are still found, so its numbers are kept."""
    sample = _truth(1)
    result = _ocr_result(sample, lambda text: 0.99)
    row = next(r for r in result.tables[0].cells if any(c and c.text == "行政处罚" for c in r))
    next(c for c in row if c and c.text == "行政处罚").text = "行政处钙"
    report = _interpret(result)
    assert report.tables["t2"]["penalty"] == sample.truth.tables["t2"]["penalty"]
    assert any("t2.penalty: label '行政处钙'" in w for w in report.warnings)


def test_a_sum_with_an_unread_cell_is_not_held_against_the_others():
    """A cell printed but not read (null) may be what makes a sum hold: the sum casts no
    doubt on the numbers read beside it."""
    sample, row, col, report = _with_unread_cell(0.95, "")
    assert report.tables["t3"][row][col] is None
    assert report.tables["t3"][row]["total"] == sample.truth.tables["t3"][row]["total"]
    assert not any(w.startswith(f"t3.{row}.total:") for w in report.warnings)


def test_a_scan_is_the_same_every_time_it_is_made():
    """The benchmark's scans (seal, noise, dust) come from their seed alone, whatever was
    made before in the process: figures re-run elsewhere must be the same scans."""
    import hashlib

    import pypdfium2 as pdfium

    def pixels(data: bytes) -> list[str]:
        pdf = pdfium.PdfDocument(data)
        return [hashlib.sha256(p.render(scale=1).to_numpy().tobytes()).hexdigest() for p in pdf]

    printed = render.render_report_pdf(_truth(2).truth)
    scan = render.Scan(dpi=72, skew=1.5, seal=True)
    first = pixels(render.scan_pdf(printed, scan, seed="a", agency="某区财政局"))
    render.scan_pdf(printed, render.Scan(dpi=80, seal=True), seed="b", agency="某区")  # others
    assert pixels(render.scan_pdf(printed, scan, seed="a", agency="某区财政局")) == first


def test_words_read_among_a_rows_numbers_are_an_unreadable_number():
    """Right of a row's label only numbers are printed: words read there (a seal's legend
    left on the page) make the cell unreadable, not the row a row of text."""
    C = ocr.OcrCell
    row = [C("3.其他", 0.95), C("", 1.0), C("要Ps人", 0.85), C("0", 0.99, numeric=True)]
    cells._words_among_numbers(row)
    assert [c.text for c in row] == ["3.其他", "", "", "0"]
    assert row[2].numeric and row[2].confidence == 0.0 and row[2].seen is None
    header = [C("信息内容", 0.9), C("本年新制作数量", 0.9), C("本年新公开数量", 0.9)]
    cells._words_among_numbers(header)  # labels after labels stay
    assert [c.text for c in header] == ["信息内容", "本年新制作数量", "本年新公开数量"]
    unknown = [C("某某说明", 0.9), C("另一段话", 0.9)]
    cells._words_among_numbers(unknown)  # no label: not a row of the tables, left alone
    assert [c.text for c in unknown] == ["某某说明", "另一段话"]


def test_a_strip_cut_short_by_the_pictures_edge_is_not_a_rule():
    """Where the strip examined for a broken rule is cut by the picture's edge (nothing
    left, or fewer lines than the band and the paper beside it), it is not a rule, and
    not an error."""
    import numpy as np

    assert geometry._broken_rule(np.zeros((0, 60), np.uint8), 150) is False
    assert geometry._broken_rule(np.full((5, 60), 255, np.uint8), 150) is False


# --- a second look at numbers the engine could not read --------------------------------


def _line(*marks, size=(60, 160)):
    """A thresholded line picture (black on white) with filled rectangles (x, y, w, h)."""
    import numpy as np

    band = np.full(size, 255, np.uint8)
    for x, y, w, h in marks:
        band[y : y + h, x : x + w] = 0
    return band


def _number_line(*marks, size=(60, 160), dpi: int = 300):
    """The number line :func:`glyphs.number_line` finds in a cell of ``marks``."""
    import numpy as np

    picture = _line(*marks, size=size)
    found = glyphs.number_line(picture, np.where(picture < 128, 255, 0).astype(np.uint8), dpi)
    assert found is not None
    return found


def test_specks_around_a_number_are_wiped_and_its_characters_counted():
    """What a seal and dust leave around a lone 0 makes the engine read nothing: the digits
    (marks of nearly the tallest one's height) are kept, specks above and beside wiped; a
    digit broken in two pieces side by side over each other is one character."""
    zero = (70, 15, 14, 26)
    specks = [(20, 3, 3, 3), (120, 30, 4, 3), (75, 50, 3, 3)]
    clean = _number_line(zero, *specks)
    assert clean.chars == 1 and clean.wiped == 3 and not clean.points and not clean.loose
    broken = [(70, 15, 14, 13), (71, 28, 13, 13)]  # a 0 split across its middle
    assert _number_line(*broken, *specks).chars == 1
    assert _number_line((60, 15, 14, 26), (80, 15, 14, 26)).chars == 2


def test_a_digit_dropped_or_a_point_invented_disagrees_with_the_ink():
    """The recogniser dropped a digit (21 read as 2) or invented a point (10 read as 1.0)
    with full confidence: the ink's count of characters and its points refuse both."""
    two, one = (60, 15, 14, 26), (84, 15, 5, 26)
    twenty_one = _number_line(two, one)
    assert glyphs.agrees("2", twenty_one, shapes=False) is not None
    assert glyphs.agrees("21", twenty_one, shapes=False) is None
    ten = _number_line(one, (96, 15, 14, 26))
    assert glyphs.agrees("1.0", ten, shapes=False) is not None
    assert glyphs.agrees("10", ten, shapes=False) is None


def test_a_lone_thin_one_is_read_by_its_shape():
    """A lone serif 1 is the commonest cell the models leave unread (or read as 7): a lone
    mark with no hole, narrower than any other digit, is a 1 when a model read 1 and none
    another number. Not a bare stroke (a rule's remnant), not a wider mark, not a slash
    printed for "not applicable"."""
    one = _printed_glyph(width=14, height=38)
    assert glyphs.lone_one(one)
    assert glyphs.agrees("7", one) is not None  # as narrow as a 1: not a 7
    kept = cells._number(_TwoModels("", "1", sure=0.88), one, "1", 300)
    assert kept.text == "1" and kept.evidence and kept.confidence == 0.88
    assert not glyphs.lone_one(_printed_glyph(width=4, height=38))  # a stroke of a rule
    assert not glyphs.lone_one(_printed_glyph(width=22, height=38))  # a 7 or a 5
    assert cells._number(_TwoModels("", "", sure=0.0), one, "", 300).text == ""
    slash = cells._number(_TwoModels("", "1", sure=0.88), one, "/", 300)
    assert slash.text == ""


def _printed_glyph(width: int, height: int, holes: int = 0) -> glyphs.Line:
    """A measured line of one character of that size."""
    import numpy as np

    mark = glyphs.Glyph(10, 10 + width, 0, height, holes)
    return glyphs.Line(np.full((height + 10, width + 20), 255, np.uint8), [mark], height)


def test_marks_of_different_sizes_are_not_one_number():
    """What a grey seal's legend leaves in a blank cell, two marks 33 and 43 pixels high
    off one line, was read as 72 by both models at 0.90: the digits of a printed number
    are as tall as each other on one baseline, so the ink refuses it."""
    debris = _number_line((40, 22, 16, 25), (62, 10, 20, 33))
    assert debris.chars == 2
    assert glyphs.agrees("72", debris, shapes=False) is not None
    number = _number_line((40, 12, 16, 31), (62, 10, 20, 33))  # a pixel or two apart
    assert glyphs.agrees("72", number, shapes=False) is None


def test_a_point_on_the_line_between_digits_must_be_read():
    """A small mark on the baseline between digits is a decimal point (1.5 read as 15
    would be a wrong number): a reading without it does not agree with the ink, and a
    reading with it does."""
    one, five = (60, 15, 6, 26), (84, 15, 14, 26)
    line = _number_line(one, (74, 37, 4, 4), five)
    assert line.chars == 2 and line.points == [1]
    assert glyphs.agrees("15", line, shapes=False) is not None
    assert glyphs.agrees("1.5", line, shapes=False) is None


def test_a_row_of_zeros_left_unread_is_not_filled_by_its_sum_alone():
    """Cells of one sum that would have to add up to 0 are not made 0 by it: the total
    they are checked against may have lost a thin 1 as they did (10 read as 0 beside a
    total of 13 read as 3). Table 4 has no sum down its columns, so nothing confirms them."""
    from types import SimpleNamespace

    def review(**unread):
        row = {"upheld": 2, "corrected": 1, "other": 0, "pending": 0, "total": 3, **unread}
        return SimpleNamespace(template="2021", tables={"t4": {"review": row}})

    keys = [("t4", "review", c) for c in ("other", "pending")]
    zeros = review(other=None, pending=None)
    assert ocr.confirm_by_sums(zeros, {keys[0]: {0, 10}, keys[1]: {0}}) == {}
    assert zeros.tables["t4"]["review"]["other"] is None
    one = review(other=None)
    assert ocr.confirm_by_sums(one, {keys[0]: {0}}) == {}


class _TwoModels:
    """An engine whose first model reads ``first`` and second ``second`` (and whose second
    look reads nothing)."""

    def __init__(self, first: str, second: str, sure: float = 0.97):
        self.first, self.second, self.sure = first, second, sure

    def read(self, crop, numeric: bool, second: int = 0, chars: int = 0):
        return (self.second if second else self.first), self.sure

    def readings(self, picture, chars: int):
        return set()


def _printed(chars: int, units: int = 0) -> glyphs.Line:
    """A measured line of ``chars`` digits and ``units`` wide characters (元, parted in two
    like two digits), as :func:`glyphs.number_line` gives it."""
    import numpy as np

    marks = [glyphs.Glyph(20 * k, 20 * k + 14, 0, 26, 0, run=k) for k in range(chars)]
    for u in range(units):
        x = 20 * (chars + u)
        run = chars + u
        marks += [
            glyphs.Glyph(x, x + 8, 0, 26, 0, run),
            glyphs.Glyph(x + 10, x + 18, 0, 26, 0, run),
        ]
    return glyphs.Line(np.full((40, 20 * (chars + units) + 20), 255, np.uint8), marks, 26)


def test_an_amount_in_yuan_is_read_by_both_models_too():
    """The second model has no 元 (it reads it as a digit): its digits must begin as the
    first model's. The first model alone read a scanned 5460000元 as 95460000元."""
    amount = _printed(7, units=1)
    wrong = cells._number(_TwoModels("95460000元", "54600007"), amount, "95460000元", 300)
    assert wrong.text == "" and wrong.numeric
    right = cells._number(_TwoModels("5460000元", "54600007"), amount, "5460000元", 300)
    assert right.text == "5460000元"
    plain = cells._number(_TwoModels("523", "923"), _printed(3), "523", 300)
    assert plain.text == "" and plain.seen == "523 or 923"


def test_a_digit_both_models_dropped_surely_is_not_a_number():
    """Both models read 21 as 2 with full confidence: one character read where two are
    printed, so the cell is left unread, never 2."""
    dropped = cells._number(_TwoModels("2", "2", sure=1.0), _printed(2), "2", 300)
    assert dropped.text == "" and dropped.numeric


def test_the_second_look_leaves_both_models_as_it_found_them():
    """The second look reads in eight modes; the cells read after it must be read in the
    modes they always were, by either model."""
    import numpy as np
    from tesserocr import PSM

    eng = engine.engine()
    eng.second.SetPageSegMode(PSM.SINGLE_CHAR)
    eng.numbers.SetPageSegMode(PSM.SINGLE_BLOCK)
    picture = np.full((engine.LINE_HEIGHT, engine.LINE_HEIGHT), 255, dtype=np.uint8)
    eng.readings(picture, 1)
    assert eng.second.GetPageSegMode() == PSM.SINGLE_CHAR
    assert eng.numbers.GetPageSegMode() == PSM.SINGLE_BLOCK
    for api in (eng.second, eng.numbers):  # as the engine sets them up
        api.SetPageSegMode(PSM.SINGLE_LINE)
