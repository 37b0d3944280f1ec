"""The parse stage on several workers writes exactly what one worker writes."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from archive.store import Archive
from nianbao.process import process_captures

pytestmark = pytest.mark.e2e

# What the parse stage writes, without its timestamps.
TABLES = {
    "captures": "select id, parse_status, parse_message, parser_version from captures",
    "reports": "select id, capture_id, sha256, parse_status, year, template, agency, title, "
    "cell_count, finding_count, warnings, previous_id from reports",
    "cells": "select report_id, table_key, row_key, col_key, value, raw from cells",
    "findings": "select report_id, rule, table_key, row_key, col_key, status, expected, found "
    "from findings",
    "report_originals": "select report_id, capture_id, sha256, role from report_originals",
}


def written(db) -> dict[str, list]:
    conn = sqlite3.connect(db)
    try:
        return {
            name: sorted(conn.execute(sql).fetchall(), key=repr) for name, sql in TABLES.items()
        }
    finally:
        conn.close()


def test_three_workers_write_what_one_writes(crawled, tmp_path):
    outcomes = {}
    for workers in (1, 3):
        db = tmp_path / f"w{workers}.db"
        shutil.copy(crawled, db)
        with Archive(db) as archive:
            summary = process_captures(archive, workers=workers)
        outcomes[workers] = (summary.by_status, written(db))
    assert outcomes[1][0] == outcomes[3][0]
    one, three = outcomes[1][1], outcomes[3][1]
    for table in TABLES:
        assert one[table] == three[table], table
    assert len(one["reports"]) > 20 and len(one["cells"]) > 1000
