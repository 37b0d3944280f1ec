"""The site registry: one CSV row per start URL (``docs/interfaces.md``).

Required columns are checked and reported by line number; unknown columns are
kept (in ``extra``), not rejected, so a registry can carry its own notes.

A registry is read as UTF-8 (with or without the byte-order mark Excel writes with
"CSV UTF-8"), UTF-16 with a byte-order mark (Excel's "Unicode text"), or, when it is
not valid UTF-8, as GB18030 — what Excel writes for "CSV" on Chinese Windows (GBK is
its subset). Chinese text in GBK is practically never valid UTF-8, so trying UTF-8
strictly first tells the two apart.
"""

from __future__ import annotations

import codecs
import csv
import io
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
    text, _ = registry_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = [(f or "").strip() for f in reader.fieldnames or []]
        reader.fieldnames = fields
        missing = [c for c in REQUIRED if c not in fields]
        if missing:
            raise RegistryError(
                f"{path}: missing column(s) {', '.join(missing)} "
                f"(the header row has: {', '.join(f for f in fields if f) or 'nothing'})"
            )
        rows, seen = [], set()
        for line_no, raw in enumerate(reader, start=2):
            rows.append(_row(raw, f"{path}:{line_no}", seen))
    except csv.Error as exc:
        raise RegistryError(f"{path}:{reader.line_num}: not readable as CSV ({exc})") from exc
    if not rows:
        raise RegistryError(f"{path}: no sites (a header row and no rows)")
    return rows


def registry_text(path: str | Path) -> tuple[str, str]:
    """The registry file's text and the encoding it was read in."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read the registry ({exc.strerror})") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise RegistryError(f'{path}: neither UTF-8 nor GBK/GB18030 text; save it as "CSV UTF-8"')


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
    host = start_host(row["start_url"])
    if host is None:
        raise RegistryError(f"{where}: start_url {row['start_url']!r} is not an http(s) URL")
    if not row["allowed_domains"]:
        row["allowed_domains"] = host
    extra = {k: v for k, v in raw.items() if k not in KNOWN and k is not None}
    row["extra"] = json.dumps(extra, ensure_ascii=False) if extra else None
    return {k: (v or None) for k, v in row.items()}


# A host name: letters (any script: 政府.cn), digits, hyphens, dots; or an IP literal.
_HOST = re.compile(r"[\w-]+(\.[\w-]+)*\.?|\d+\.\d+\.\d+\.\d+|[0-9a-fA-F:.]+")


def start_host(url: str) -> str | None:
    """The host of an http(s) URL a crawl can start from, or None (``file:``, no host,
    a malformed host or port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port out of range)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if not _HOST.fullmatch(parts.hostname):
        return None
    return parts.hostname


def site_domains(site: dict) -> list[str]:
    return (site.get("allowed_domains") or "").split()
