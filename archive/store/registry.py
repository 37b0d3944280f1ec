"""The site registry: one CSV row per start URL, in one format (``docs/interfaces.md``).

The format is :data:`COLUMNS`, in that order: what the crawl reads, where a row's URL was
seen, and what ``nianbao discover`` found on the way (the rows it prints are in this
format, and ``crawler/sites.csv`` has this header, so its rows can be appended as they
are). A registry may name any of the columns, in any order; the required ones must be there.

Nothing a registry holds is dropped silently: a column the format does not know, or a
line with a field past the header's last column (a row of another format appended), is
refused with one line naming the file, the line and the field — as is every field whose
value the format cannot take (a region code that is not 6 digits, a level it does not
know, a ``more_urls`` entry that is no http(s) URL …). Required columns are checked and
reported by line number, too.

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
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

REQUIRED = ("site_id", "agency", "region_code", "start_url")
# What the crawl reads of a row: a registry of these columns alone is a whole one (the
# simulated web writes such a registry).
CRAWL_COLUMNS = (
    "site_id",
    "agency",
    "region_code",
    "region",
    "level",
    "start_url",
    "allowed_domains",
    "cms",
)
# The registry format, in the order ``nianbao discover`` prints it.
COLUMNS = (
    *CRAWL_COLUMNS,
    # where the start URL was seen
    "start_kind",
    "source",
    # read by the crawl too
    "encoding",
    "more_urls",
    # what discovery found (nianbao discover)
    "column_url",
    "listing",
    "pages",
    "reports_seen",
    "discovered_at",
    "discovered_from",
    "found_via",
    # the registry keeper's own words
    "notes",
)
LEVELS = ("ministry", "province", "prefecture", "county", "department", "township")
START_KINDS = ("column", "report", "xxgk", "portal")


class RegistryError(ValueError):
    pass


def read_registry(path: str | Path) -> list[dict]:
    """The rows of a registry CSV, validated: one dict per row with every column of
    :data:`COLUMNS` (None where the row leaves it empty)."""
    text, _ = registry_text(path)
    records = _records(text, path)
    header_line, header = next(records, (1, None))
    if header is None:
        raise RegistryError(f"{path}: empty (no header row)")
    columns = _header(header, f"{path}:{header_line}")
    rows: list[dict] = []
    seen: set[str] = set()
    for line, record in records:
        rows.append(_row(_fields(columns, record, f"{path}:{line}"), f"{path}:{line}", seen))
    if not rows:
        raise RegistryError(f"{path}: no sites (a header row and no rows)")
    return rows


def _records(text: str, path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each CSV record, blank lines skipped; a record's line is
    the one it starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    end = 0
    while True:
        start = end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RegistryError(f"{path}:{start}: not readable as CSV ({exc})") from exc
        end = reader.line_num
        if record and any(field.strip() for field in record):
            yield start, record


def _header(header: list[str], where: str) -> list[str]:
    """The header's column names, checked: each known to the format, none twice, the
    required ones there. An unnamed column (Excel's trailing comma) is ``""``."""
    columns = [name.strip() for name in header]
    for name in columns:
        if name and name not in COLUMNS:
            raise RegistryError(
                f"{where}: column {name!r} is not in the registry format "
                f"({', '.join(COLUMNS)}; docs/interfaces.md)"
            )
        if name and columns.count(name) > 1:
            raise RegistryError(f"{where}: column {name!r} is named twice")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise RegistryError(
            f"{where}: missing column(s) {', '.join(missing)} "
            f"(the header row has: {', '.join(c for c in columns if c) or 'nothing'})"
        )
    return columns


def _fields(columns: list[str], record: list[str], where: str) -> dict[str, str]:
    """A record's fields by column; a field past the header's last column, or under a
    column without a name, is refused (it would be lost)."""
    for n, value in enumerate(record):
        if not value.strip():
            continue
        if n >= len(columns):
            named = [c for c in columns if c]
            raise RegistryError(
                f"{where}: field {n + 1} ({_shown(value)}) is past the header's last column "
                f"({named[-1]}): the line has {len(record)} fields, the header "
                f"{len(columns)} columns (a row of the registry format needs its header: "
                "nianbao discover prints it)"
            )
        if not columns[n]:
            raise RegistryError(
                f"{where}: field {n + 1} ({_shown(value)}) is under a column without a name"
            )
    return {c: v.strip() for c, v in zip(columns, record, strict=False) if c}


def _shown(value: str) -> str:
    value = value.strip()
    return repr(value if len(value) <= 60 else value[:57] + "...")


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


def _row(fields: dict[str, str], where: str, seen: set[str]) -> dict:
    row = {c: fields.get(c, "") for c in COLUMNS}
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
    for column, check in _CHECKS.items():
        if row[column] and (problem := check(row[column])):
            raise RegistryError(f"{where}: {column} {_shown(row[column])} {problem}")
    if not row["allowed_domains"]:
        row["allowed_domains"] = host
    return {k: (v or None) for k, v in row.items()}


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    return lambda value: None if value in choices else f"is not one of {', '.join(choices)}"


def _urls(value: str) -> str | None:
    bad = [u for u in value.split() if start_host(u) is None]
    return f"holds {_shown(bad[0])}, not an http(s) URL" if bad else None


def _url(value: str) -> str | None:
    return None if start_host(value) else "is not an http(s) URL"


def _count(value: str) -> str | None:
    return None if value.isascii() and value.isdigit() else "is not a whole number"


def _when(value: str) -> str | None:
    """A date (2026-03-01) or a date and time (2026-03-01T08:00:00+00:00)."""
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(value)
            return None
        except ValueError:
            continue
    return "is not a date (YYYY-MM-DD, or an ISO 8601 date and time)"


# What a field of these columns must be, when it is not empty.
_CHECKS: dict[str, Callable[[str], str | None]] = {
    "level": _one_of(LEVELS),
    "start_kind": _one_of(START_KINDS),
    "more_urls": _urls,
    "column_url": _url,
    "discovered_from": _url,
    "pages": _count,
    "reports_seen": _count,
    "discovered_at": _when,
}


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
