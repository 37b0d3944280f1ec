"""The search page, in process (Datasette's test client).

The archive is built for the questions a reader asks: every report prints the template's
table-4 heading (复议 is in all of them), a third of them say 复议 in their own narrative,
one agency's name holds a word, and a long word sits in a few reports whole and in one
only as its overlapping pieces. Every count is checked against a substring test on the
same text.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
from datasette.app import Datasette

from archive.publish import metadata_path, prepare
from archive.publish.pages.search_page import PER_PAGE, snippet
from archive.publish.search import FTS_TABLE, fts_query
from archive.publish.serve import SETTINGS
from archive.store import Archive
from tests.publish.test_publish_search import SITES, add_report

HEADING = "四、政府信息公开行政复议、行政诉讼情况"
PRINTED = f"一、总体情况\n（一）主动公开情况\n{HEADING}\n行政复议\t行政诉讼\t结果维持\n"
LONG = "棚户区改造项目征收补偿安置"  # 13 characters: longer than the index's pieces
# Every 8-character piece of LONG, but never LONG itself.
PIECES = "棚户区改造项目征收补偿。区改造项目征收补偿安置"
SECTIONS = (
    (1, "overall", "一、总体情况"),
    (4, "review_litigation", HEADING),
    (5, "problems", "五、存在的主要问题及改进情况"),
)


def add_sections(archive: Archive, report_id: int, narrative: dict[int, str]) -> None:
    for number, key, heading in SECTIONS:
        text = narrative.get(number, "本机关认真落实条例，扎实推进政务公开。")
        archive.insert(
            "report_sections",
            {
                "report_id": report_id,
                "section": number,
                "section_key": key,
                "heading": heading,
                "text": text,
                "chars": len(text),
            },
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("search") / "nb.db"
    rng = random.Random(25)
    archive = Archive(path)
    archive.load_sites(SITES)
    said, printed, long = set(), set(), set()
    for n in range(48):
        site = SITES[n % 4]
        year = 2019 + n % 6
        narrative = {1: "（一）主动公开情况。全年主动公开政府信息120条。"}
        if n % 4 != 1 and n % 5 == 0:  # another agency names 财政局 in its narrative
            narrative[1] += "会同财政局公开预算决算。"
        if n % 3 == 0:
            narrative[4] = f"全年发生政府信息公开行政复议{n}件，均已办结。"
        if n % 11 == 0:
            narrative[5] = f"推进{LONG}信息公开。"
        if n == 7:
            narrative[5] = PIECES
        text = site["agency"] + "\n" + "\n".join(narrative.values()) + "\n" + PRINTED
        report_id = add_report(archive, rng, site, year, text=text)
        add_sections(archive, report_id, narrative)
        (said if n % 3 == 0 else printed).add(report_id)
        if n % 11 == 0:
            long.add(report_id)
        if n == 7:
            decoy = report_id
    prepare(archive.db.conn)
    archive.close()
    metadata = json.loads(metadata_path().read_text(encoding="utf-8"))
    ds = Datasette([str(path)], metadata=metadata, settings=SETTINGS)
    return {
        "ds": ds,
        "path": path,
        "said": said,
        "printed": printed,
        "long": long,
        "decoy": decoy,
    }


def get(ds, url: str):
    return asyncio.run(ds.client.get(url))


def found(ds, query: str, **args) -> dict:
    extra = "".join(f"&{k}={quote(str(v))}" for k, v in args.items())
    response = get(ds, f"/nb/-/search.json?q={quote(query)}{extra}")
    assert response.status_code == 200, response.text
    return response.json()


def every_page(ds, query: str, **args) -> list[dict]:
    first = found(ds, query, **args)
    results = list(first["results"])
    for page in range(2, first["pages"] + 1):
        results += found(ds, query, page=page, **args)["results"]
    return results


def truth(path: Path, word: str) -> set[int]:
    conn = Archive(path).db.conn
    return {
        r[0]
        for r in conn.execute(
            "select id from reports where instr(title, ?) or instr(text, ?) "
            "or instr(agency, ?) or instr(region, ?)",
            [word] * 4,
        )
    }


def test_narrative_hits_come_before_the_reports_that_only_print_the_word(site):
    results = every_page(site["ds"], "复议")
    ids = [r["id"] for r in results]
    assert set(ids) == truth(site["path"], "复议") == site["said"] | site["printed"]
    wheres = [r["where"] for r in results]
    # The reports that say 复议 in their narrative, all of them first; the template's
    # heading, printed by every report, last.
    assert set(ids[: len(site["said"])]) == site["said"]
    assert wheres == ["narrative"] * len(site["said"]) + ["printed"] * len(site["printed"])
    # A report that only prints the word shows where: the template's heading, not its table.
    printed = [r["snippet"] for r in results if r["where"] == "printed"]
    assert all(HEADING in text and "结果维持" not in text for text in printed)
    summary = found(site["ds"], "复议")
    assert (summary["total"], summary["said"]) == (48, len(site["said"]))
    # Newest first within each: the years never go up inside a group.
    years = [r["year"] for r in results[: len(site["said"])]]
    assert years == sorted(years, reverse=True)


def test_a_word_in_the_names_ranks_first(site):
    results = every_page(site["ds"], "财政局")
    assert {r["id"] for r in results} == truth(site["path"], "财政局")
    named = [r for r in results if r["agency"] == "牧野区财政局"]
    assert len(named) == 12 and results[:12] == named
    assert {r["where"] for r in named} == {"names"}
    assert {r["where"] for r in results[12:]} == {"narrative"} and len(results) > 12


def test_a_word_longer_than_the_pieces_is_found_whole(site):
    assert (
        {r["id"] for r in every_page(site["ds"], LONG)} == site["long"] == truth(site["path"], LONG)
    )
    # The report holding every 8-character piece of the word, but not the word, is not
    # found: the long-word index decides, not the pieces (which would find it).
    conn = Archive(site["path"]).db.conn
    pieces = {
        r[0]
        for r in conn.execute(
            f"select rowid from {FTS_TABLE} where {FTS_TABLE} match ?", [fts_query(LONG)]
        )
    }
    assert site["decoy"] in pieces and site["decoy"] not in site["long"]
    twelve = "政府信息公开工作年度报告"  # in every title
    assert found(site["ds"], twelve)["total"] == 48
    assert {r["where"] for r in every_page(site["ds"], twelve)} == {"names"}


def test_words_mixed_with_digits_or_punctuation_are_confirmed_whole(site):
    assert found(site["ds"], "复议0件")["total"] == len(truth(site["path"], "复议0件"))
    phrase = "行政复议、行政诉讼"
    assert found(site["ds"], phrase)["total"] == len(truth(site["path"], phrase)) == 48


def test_pages_are_disjoint_and_cover_every_result(site):
    first = found(site["ds"], "复议", size=20)
    assert (first["pages"], len(first["results"])) == (3, 20)
    seen = []
    for page in (1, 2, 3):
        seen += [r["id"] for r in found(site["ds"], "复议", size=20, page=page)["results"]]
    assert len(seen) == len(set(seen)) == 48
    assert first["next_url"].endswith("&page=2") and first["previous_url"] is None
    last = get(site["ds"], f"/nb/-/search.json?q={quote('复议')}&size=20&page=4")
    assert last.status_code == 404 and "共 3 页" in last.json()["error"]
    assert found(site["ds"], "复议")["size"] == PER_PAGE


def test_facets_count_with_the_other_filters_and_filter_when_clicked(site):
    data = found(site["ds"], "复议")
    years = {f["value"]: f["count"] for f in data["facets"]["year"]}
    assert sum(years.values()) == 48 and set(years) == set(range(2019, 2025))
    provinces = {f["label"]: f for f in data["facets"]["province"]}
    assert provinces["河南省"]["count"] == 24 and provinces["江苏省"]["count"] == 12
    levels = {f["label"]: f["count"] for f in data["facets"]["level"]}
    assert levels == {"省级": 12, "地市级": 12, "县级": 24}
    # Clicking 河南省: only its reports, while the year facet counts them and the province
    # facet still offers the others.
    url = provinces["河南省"]["url"]
    henan = get(site["ds"], url).json()
    assert henan["total"] == 24 and henan["filters"]["province"] == "410000"
    assert sum(f["count"] for f in henan["facets"]["year"]) == 24
    assert {f["label"] for f in henan["facets"]["province"]} == {"河南省", "江苏省", "上海市"}
    selected = next(f for f in henan["facets"]["province"] if f["selected"])
    assert "province" not in selected["url"]  # clicking it again removes the filter
    both = found(site["ds"], "复议", province="410000", year=2024)
    assert both["total"] == years_count(henan, 2024)
    assert all(r["year"] == 2024 and "河南" in r["region"] for r in both["results"])


def years_count(data: dict, year: int) -> int:
    return next(f["count"] for f in data["facets"]["year"] if f["value"] == year)


def test_the_json_form_carries_what_a_script_needs(site):
    data = found(site["ds"], "复议")
    assert data["ok"] and data["terms"] == ["复议"] and data["page"] == 1
    first = data["results"][0]
    assert first["marked"] == ["复议"] and "复议" in first["snippet"]
    assert first["url"] == f"/nb/reports/{first['id']}"
    assert re.fullmatch(r"/-/original/nb/\d+", first["original_url"])
    assert first["original_text_url"] == first["original_url"] + "?view=text"
    assert {"agency", "region", "year", "title", "where", "published"} <= set(first)


def test_the_page_lists_results_with_snippets_facets_and_links(site):
    page = get(site["ds"], f"/nb/-/search?q={quote('复议')}").text
    assert "找到 <strong>48</strong> 份报告" in page
    first = page.index('class="nb-hit nb-hit-narrative"')
    divider = page.index("以下报告只在每份报告都印有的表格标题或模板文字中含有这些词")
    assert first < divider < page.index('class="nb-hit nb-hit-printed"')
    assert "<mark>复议</mark>" in page
    assert re.search(r'<a href="/nb/-/search\?q=%E5%A4%8D%E8%AE%AE&amp;year=2024">2024</a>', page)
    assert re.search(r'href="/nb/reports/\d+">报告</a>', page)
    assert re.search(r'href="/-/original/nb/\d+\?view=text">原件文本</a>', page)
    assert 'rel="next" href="/nb/-/search?q=%E5%A4%8D%E8%AE%AE&amp;page=2"' in page
    assert '<p class="crumbs"><a href="/">首页</a> / <a href="/nb">nb</a> / 搜索</p>' in page


def test_the_front_page_box_leads_to_the_search_page(site):
    for url in ("/", "/nb"):
        page = get(site["ds"], url).text
        assert re.search(r'<form class="nb-search" action="/nb/-/search"', page)
        assert 'name="q"' in page
    empty = get(site["ds"], "/nb/-/search")
    assert empty.status_code == 200 and "输入一个或几个词" in empty.text


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("q=复议&year=二〇二三", 400, "年度"),
        ("q=复议&year=1066", 400, "年度"),
        ("q=复议&level=国家级", 400, "层级"),
        ("q=复议&province=河南", 400, "六位"),
        ("q=复议&sort=random", 400, "排序"),
        ("q=复议&page=0", 400, "页码"),
        ("q=复议&page=x", 400, "页码"),
        ("q=复议&size=1000", 400, "每页条数"),
        ("q=" + "复议" * 101, 400, "太长"),
        ("q=" + "+".join("甲乙丙丁戊己庚辛壬癸子丑寅"), 400, "词太多"),
    ],
)
def test_a_bad_request_is_a_4xx_page_that_says_why(site, query, status, says):
    for path in ("/nb/-/search", "/nb/-/search.json"):
        response = get(site["ds"], f"{path}?{query}")
        assert response.status_code == status, response.text
        assert says in response.text and "Traceback" not in response.text
    assert get(site["ds"], "/nb/-/search.json?" + query).json()["ok"] is False


def test_an_unknown_database_is_a_404(site):
    response = get(site["ds"], "/missing/-/search?q=复议")
    assert response.status_code == 404 and "missing" in response.text


def test_snippet_prefers_the_report_s_own_words_and_marks_every_term():
    where, pieces = snippet(
        ["复议", "诉讼"],
        [
            ("narrative", "本年度共办理行政复议案件3件，行政诉讼1件。"),
            ("printed", HEADING),
        ],
    )
    assert where == "narrative"
    assert [text for text, marked in pieces if marked] == ["复议", "诉讼"]
    assert "".join(text for text, _ in pieces) == "本年度共办理行政复议案件3件，行政诉讼1件。"
    assert snippet(["不存在"], [("narrative", "abc")]) == (None, [])


def test_reports_of_unknown_region_are_counted_but_offer_no_filter():
    from archive.publish.pages.search_page import Options, _found
    from archive.publish.search import Search, bucket_parts

    unknown, jiangsu = 2024 * 1000 + 9 * 100 + 0, 2024 * 1000 + 1 * 100 + 32
    assert bucket_parts(unknown) == (2024, None, None)
    assert bucket_parts(jiangsu) == (2024, "city", "320000")
    conn = sqlite3.connect(":memory:")
    data = _found(
        conn, Options(q="复议"), Search.of("复议"), {unknown: 3, jiangsu: 2}, {unknown: 3}, []
    )
    nowhere = next(f for f in data["facets"]["province"] if f["value"] is None)
    assert (nowhere["label"], nowhere["count"], nowhere["query"]) == ("地区不明", 3, None)
    known = next(f for f in data["facets"]["province"] if f["value"] == "320000")
    assert known["query"] == "q=%E5%A4%8D%E8%AE%AE&province=320000"
    assert (data["said"], data["total"], data["unfiltered"]) == (3, 5, 5)


@pytest.mark.parametrize(
    "query", ["复议", "公开", "财政局", "复议 公开", LONG, "行政复议、行政诉讼"]
)
def test_every_way_of_counting_and_reading_a_page_gives_the_same_page(site, query, monkeypatch):
    """The page counts a word most reports say from the reports that lack it, and reads a
    tier by walking the reports in year order or by sorting its few reports, whichever
    costs less: each way must give the same counts, facets and results as the others."""
    import archive.publish.pages.search_page as page

    def everything(**args) -> list:
        first = found(site["ds"], query, size=7, **args)
        pages = range(2, min(first["pages"], 4) + 1)
        return [first, *(found(site["ds"], query, page=n, size=7, **args) for n in pages)]

    def answers(**args) -> list:
        answers = []
        for data in everything(**args) + everything(sort="newest", **args):
            answers.append({k: data.get(k) for k in ("total", "said", "facets", "results")})
        return answers

    monkeypatch.setattr(page, "MOSTLY", 2.0)  # never from what lacks
    monkeypatch.setattr(page, "PROBE_US", 10**9)  # always sort
    sorted_directly = answers() + answers(year=2024)
    monkeypatch.setattr(page, "MOSTLY", 0.0)  # from what lacks whenever it can
    monkeypatch.setattr(page, "PROBE_US", 0)  # always walk
    assert answers() + answers(year=2024) == sorted_directly
    expected = set.intersection(*(truth(site["path"], word) for word in query.split()))
    assert sorted_directly[0]["total"] == len(expected)
