"""The one registry format: what ``nianbao discover`` prints, ``crawler/sites.csv`` reads,
and the reader keeps whole or refuses in one line naming file, line and field."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from archive.store import Archive
from archive.store import database as store
from archive.store.registry import COLUMNS, RegistryError, read_registry
from crawler import BUNDLED_REGISTRY
from nianbao.cli import main

HEADER = "site_id,agency,region_code,start_url"
GOOD = "a,牧野区财政局,410711,http://www.muye.gov.cn/zwgk/"


def write(tmp_path, text: str, name: str = "sites.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(path) -> str:
    with pytest.raises(RegistryError) as caught:
        read_registry(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_bundled_registry_has_the_formats_header():
    header = BUNDLED_REGISTRY.read_text("utf-8").splitlines()[0]
    assert header.split(",") == list(COLUMNS)


def test_every_field_of_a_discovered_row_is_kept(tmp_path):
    row = {
        "site_id": "tongshun-caizheng",
        "agency": "通顺区财政局",
        "region_code": "110198",
        "level": "department",
        "start_url": "http://127.0.0.39/zfxxgknb/2024/bm/12/",
        "allowed_domains": "127.0.0.39",
        "start_kind": "column",
        "more_urls": "http://127.0.0.39/zfxxgknb/2023/bm/12/ http://127.0.0.39/zfxxgknb/2022/bm/12/",
        "column_url": "http://127.0.0.39/zfxxgknb/",
        "listing": "year-tree/links",
        "pages": "3",
        "reports_seen": "3",
        "discovered_at": "2026-03-01",
        "discovered_from": "http://127.0.0.39/",
        "found_via": "http://127.0.0.39/ > http://127.0.0.39/zfxxgknb/",
        "notes": "年报按年份分目录",
    }
    path = write(tmp_path, ",".join(COLUMNS) + "\n" + ",".join(row.get(c, "") for c in COLUMNS))
    [read] = read_registry(path)
    assert {k: v for k, v in read.items() if v} == row
    with Archive(tmp_path / "a.db") as archive:
        archive.load_sites([read])
        stored = archive.site("tongshun-caizheng")
    assert stored is not None and stored["more_urls"] == row["more_urls"]
    assert stored["pages"] == 3 and stored["notes"] == "年报按年份分目录"


def test_a_column_not_in_the_format_is_refused(tmp_path):
    path = write(tmp_path, f"{HEADER},note\n{GOOD},hello\n")
    message = refused(path)
    assert message.startswith(f"{path}:1: column 'note' is not in the registry format")
    assert "notes" in message  # the format's columns are named, the notes column among them
    assert refused(write(tmp_path, f"{HEADER},agency\n{GOOD},x\n")).endswith(
        "column 'agency' is named twice"
    )


def test_a_field_past_the_header_is_refused_with_its_line(tmp_path):
    # a quoted field over two lines and a blank line: the line is where the row starts
    text = f'{HEADER}\n{GOOD}\n\n"b","乙\n局",410711,http://b.gov.cn/\nc,丙局,410711,http://c.gov.cn/,http://c.gov.cn/2023/\n'
    path = write(tmp_path, text)
    message = refused(path)
    assert message.startswith(f"{path}:6: field 5 ('http://c.gov.cn/2023/') is past")
    assert "(start_url)" in message and "5 fields, the header 4 columns" in message


def test_empty_fields_past_the_header_and_unnamed_empty_columns_are_no_loss(tmp_path):
    # what Excel writes when a column beside the table was touched
    path = write(tmp_path, f"{HEADER},\n{GOOD},,\n")
    [row] = read_registry(path)
    assert row["site_id"] == "a"
    message = refused(write(tmp_path, f"{HEADER},\n{GOOD},lost\n"))
    assert message.endswith(":2: field 5 ('lost') is under a column without a name")


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("level", "city", "level 'city' is not one of ministry, province"),
        ("start_kind", "homepage", "start_kind 'homepage' is not one of column"),
        (
            "more_urls",
            "http://a.gov.cn/2023/ 2022/",
            "more_urls 'http://a.gov.cn/2023/ 2022/' holds '2022/'",
        ),
        ("pages", "three", "pages 'three' is not a whole number"),
        ("reports_seen", "-1", "reports_seen '-1' is not a whole number"),
        ("discovered_at", "03/01/2026", "discovered_at '03/01/2026' is not a date"),
        ("column_url", "zfxxgknb/", "column_url 'zfxxgknb/' is not an http(s) URL"),
    ],
)
def test_a_field_the_format_cannot_take_is_named(tmp_path, column, value, says):
    path = write(tmp_path, f"{HEADER},{column}\n{GOOD},{value}\n")
    assert refused(path).startswith(f"{path}:2: {says}")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("b,x,4107,http://h/", "region_code '4107' is not 6 digits"),
        ("b,x,410711,ftp://h/", "start_url 'ftp://h/' is not an http(s) URL"),
        (",x,410711,http://h/", "empty site_id"),
    ],
)
def test_required_fields_are_checked_by_line(tmp_path, bad, message):
    path = write(tmp_path, f"{HEADER}\n{GOOD}\n{bad}\n")
    assert refused(path) == f"{path}:3: {message}"


def test_missing_columns_and_empty_files_are_one_line(tmp_path):
    assert "missing column(s) region_code" in refused(write(tmp_path, "site_id,agency,start_url\n"))
    assert refused(write(tmp_path, "")).endswith(": empty (no header row)")
    assert refused(write(tmp_path, HEADER + "\n")).endswith(": no sites (a header row and no rows)")


@pytest.mark.parametrize("command", ["crawl", "discover"])
def test_commands_that_read_a_registry_refuse_it_in_one_line(tmp_path, command):
    path = write(
        tmp_path, f"{HEADER}\n{GOOD}\nb,乙局,410711,http://b.gov.cn/,http://b.gov.cn/2023/\n"
    )
    db = tmp_path / "a.db"
    args = ["crawl", "--db", str(db), "--sites"] if command == "crawl" else ["discover", "--check"]
    result = CliRunner().invoke(main, [*args, str(path)])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"nianbao {command}: error: {path}:3: field 5 ('http://b.gov.cn/2023/')")
    assert not db.exists()


def migration_of(sql: str) -> int:
    """The index of the migration whose SQL holds ``sql``: the schema version before it."""
    scripts = [m.__closure__[0].cell_contents if m.__closure__ else "" for m in store.MIGRATIONS]
    return next(n for n, script in enumerate(scripts) if sql in str(script))


def test_registry_columns_kept_in_extra_move_to_their_own(tmp_path, monkeypatch):
    """An archive loaded before the one format kept ``more_urls`` (and the columns it did
    not know) in ``extra``: the migration gives the format's their columns, and leaves in
    ``extra`` only what the format does not name."""
    path = tmp_path / "old.db"
    before = migration_of("ALTER TABLE sites ADD COLUMN more_urls")
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:before])
    monkeypatch.setattr(store, "SCHEMA_VERSION", before)
    with Archive(path) as archive:
        conn = archive.db.conn
        extra = {"more_urls": "http://a.gov.cn/2023/", "source": "public code #1", "note": "x"}
        conn.execute(
            "insert into sites (site_id, agency, region_code, start_url, extra) "
            "values ('a', '甲局', '410711', 'http://a.gov.cn/2024/', ?), "
            "('b', '乙局', '410711', 'http://b.gov.cn/', '{\"pages\": \"2\"}')",
            [json.dumps(extra)],
        )
    monkeypatch.undo()
    Archive(path).close()
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    a, b = conn.execute("select * from sites order by site_id").fetchall()
    assert a["more_urls"] == "http://a.gov.cn/2023/" and a["source"] == "public code #1"
    assert json.loads(a["extra"]) == {"note": "x"}
    assert b["pages"] == 2 and b["extra"] is None
