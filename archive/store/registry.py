"""The site registry: one CSV row per start URL (``docs/interfaces.md``).

Required columns are checked and reported by line number; unknown columns are
kept (in ``extra``), not rejected, so a registry can carry its own notes.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

REQUIRED = ("site_id", "agency", "region_code", "start_url")
KNOWN = REQUIRED + ("region", "level", "allowed_domains", "cms", "encoding")


class RegistryError(ValueError):
    pass


def read_registry(path: str | Path) -> list[dict]:
    """The rows of a registry CSV, validated, with unknown columns folded into ``extra``."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise RegistryError(f"{path}: missing column(s) {', '.join(missing)}")
        rows: list[dict] = []
        seen: set[str] = set()
        for line_no, raw in enumerate(reader, start=2):
            rows.append(_row(raw, f"{path}:{line_no}", seen))
    return rows


def _row(raw: dict, where: str, seen: set[str]) -> dict:
    row = {k: (raw.get(k) or "").strip() for k in KNOWN}
    for column in REQUIRED:
        if not row[column]:
            raise RegistryError(f"{where}: empty {column}")
    if row["site_id"] in seen:
        raise RegistryError(f"{where}: duplicate site_id {row['site_id']}")
    seen.add(row["site_id"])
    if not re.fullmatch(r"\d{6}", row["region_code"]):
        raise RegistryError(f"{where}: region_code {row['region_code']!r} is not 6 digits")
    parts = urlsplit(row["start_url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistryError(f"{where}: start_url {row['start_url']!r} is not an http(s) URL")
    if not row["allowed_domains"]:
        row["allowed_domains"] = parts.hostname
    extra = {k: v for k, v in raw.items() if k not in KNOWN and k is not None}
    row["extra"] = json.dumps(extra, ensure_ascii=False) if extra else None
    return {k: (v or None) for k, v in row.items()}


def site_domains(site: dict) -> list[str]:
    return (site.get("allowed_domains") or "").split()
