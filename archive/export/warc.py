"""A crawl run written as standard WARC 1.1, so any web-archive tool can read it.

The archive keeps every fetch in SQLite (``captures``); this module turns the
captures of one crawl run into a WARC file with warcio: a ``warcinfo`` record
naming the software and the robots policy, then for each fetch a ``request``, a
``response`` (or a ``revisit`` when the same payload was archived before, by
identical payload digest) and a ``metadata`` record carrying the archive's own
provenance (capture id, site, role, referring page, redirect chain, SHA-256).
A fetch the crawler itself stored without a body — a 304, or the same bytes as
the last capture of the URL (``captures.revisit_of``) — is a ``revisit`` record
(profile *server-not-modified* for a 304, *identical-payload-digest* otherwise)
that refers to the capture holding the bytes, whatever ``revisits`` mode is
chosen. Fetches that got no response (DNS, refused, timeout, a blocked host) are
a ``metadata`` record with the error, so the WARC says why a URL is absent.

What differs from the bytes on the wire, precisely (the archive stores what
Scrapy hands the spider, not the socket's bytes):

- the body is stored after HTTP transfer decoding (chunks joined) and after
  Scrapy's ``HttpCompressionMiddleware`` decoded gzip/deflate/br/zstd, which also
  deleted the ``Content-Encoding`` header. The response record therefore holds
  the decoded entity; a ``Transfer-Encoding`` header is renamed
  ``X-Crawler-Transfer-Encoding``, and a ``Content-Length`` that does not match
  the stored body is renamed ``X-Crawler-Content-Length`` and replaced by the
  true length (Common Crawl's convention for decoded payloads);
- header names are as Scrapy normalised them (title case), in the order Scrapy
  kept them, repeated headers in order; the status line is rebuilt as
  ``HTTP/1.1 <status> <standard reason>`` (protocol and reason phrase are not stored);
- request records are rebuilt from what is stored: method, URL, ``Host`` and
  ``Referer``; the other request headers Scrapy sent (User-Agent, Accept,
  Accept-Encoding …) are not stored and are not invented;
- only the last hop of a redirect chain has a response: the intermediate 3xx
  responses are not stored, their URLs are listed in the metadata record;
- WARC-Date has second precision (the precision of ``fetched_at``); the
  server's IP address is not stored, so there is no ``WARC-IP-Address``.

Record IDs are derived from the capture (uuid5), so writing the same run twice
gives the same IDs and a ``revisit`` can name the record of an earlier run it
refers to. Digests are SHA-256 in base32; a response's payload digest is the
archive's ``captures.sha256`` of the same bytes.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive import __version__
from archive.store.runs import RunReader

REVISIT_MODES = ("archive", "run", "none")
_NAMESPACE = uuid.UUID("5b0f3c4e-2b1d-4c59-9d5e-6e1f8a9b0c7d")
_HOP_HEADERS = ("Transfer-Encoding",)
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


class WarcError(RuntimeError):
    """The run cannot be written (no such run, unreadable archive)."""


@dataclass
class WarcSummary:
    path: Path
    run_id: int
    records: Counter = field(default_factory=Counter)
    captures: int = 0
    decoded_bodies: int = 0

    def to_json(self) -> dict:
        return {
            "path": str(self.path),
            "run_id": self.run_id,
            "captures": self.captures,
            "records": dict(self.records),
            "decoded_bodies": self.decoded_bodies,
            "size": self.path.stat().st_size,
        }


def write_run_warc(
    db: str | Path,
    run_id: int | None,
    out_dir: str | Path,
    revisits: str = "archive",
    gzip: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> WarcSummary:
    """Write crawl run ``run_id`` (the latest when None) of archive ``db`` as one WARC file.

    ``revisits``: ``archive`` writes a revisit record for a payload already captured
    earlier anywhere in the archive (the earlier run's WARC holds it), ``run`` only
    for one captured earlier in the same run (each file stands alone), ``none``
    never. The file is written under a temporary name and renamed when complete.
    ``progress(done, total)`` hears of every capture written.
    """
    if revisits not in REVISIT_MODES:
        raise WarcError(f"revisits must be one of {', '.join(REVISIT_MODES)}, not {revisits!r}")
    if not Path(db).exists():
        raise WarcError(f"{db} does not exist")
    with RunReader(db) as reader:
        run = _run(reader, run_id)
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarcError(f"cannot create {out} for the WARC ({exc.strerror or exc})") from exc
        stamp = (run["started_at"] or "").replace("-", "").replace(":", "")[:15]
        name = f"nianbao-run{run['id']:05d}-{stamp or 'undated'}.warc" + (".gz" if gzip else "")
        summary = WarcSummary(out / name, run["id"])
        partial = summary.path.with_name(f"{summary.path.name}.{os.getpid()}.part")
        _remove_abandoned_parts(out)
        try:
            with open(partial, "wb") as fh:
                writer = WARCWriter(fh, gzip=gzip, warc_version="1.1")
                _write(writer, _warcinfo(writer, name, run, reader.schema_version()))
                summary.records["warcinfo"] += 1
                ids = reader.capture_ids(run["id"])
                for done, capture_id in enumerate(ids, 1):
                    capture = reader.capture(capture_id)
                    _write_capture(writer, reader, capture, revisits, summary)
                    if progress is not None:
                        progress(done, len(ids))
            os.replace(partial, summary.path)
        except OSError as exc:  # a full disk, an unwritable directory: one line, no half file
            partial.unlink(missing_ok=True)
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise WarcError(
                f"{'no space left' if full else 'cannot write'} in {out} for the WARC "
                f"({exc.strerror or exc}); nothing was written"
            ) from exc
        return summary


def _remove_abandoned_parts(out: Path) -> None:
    """The partial files of WARC writers that died (``kill -9``): named for their pid."""
    for path in out.glob("nianbao-run*.part"):
        pid = path.name.rsplit(".", 2)[-2]
        if not pid.isdigit() or not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run(reader: RunReader, run_id: int | None) -> dict:
    run = reader.run(run_id)
    if run is None and run_id is None:
        raise WarcError("the archive has no crawl runs")
    if run is None:
        raise WarcError(f"the archive has no crawl run {run_id}")
    return run


# -- records -------------------------------------------------------------------
def record_id(capture: dict, kind: str) -> str:
    """A stable WARC-Record-ID for one record of one capture."""
    key = "|".join(str(capture.get(k)) for k in ("id", "url", "fetched_at", "sha256"))
    return f"<urn:uuid:{uuid.uuid5(_NAMESPACE, key + '|' + kind)}>"


def digest(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


def hex_to_digest(sha256_hex: str) -> str:
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


def warc_date(iso: str | None) -> str:
    """WARC-Date (UTC, ``Z``) from the archive's ISO timestamps."""
    if not iso:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def robots_policy(stats: dict) -> str:
    """``classic`` when Scrapy's robots.txt middleware ran, ``ignore`` when it did not."""
    if any(key.startswith("robotstxt/") for key in stats):
        return "classic"
    if stats.get("downloader/request_count"):
        return "ignore"
    return "unknown"


def _warcinfo(writer: WARCWriter, filename: str, run: dict, schema_version: int):
    stats = json.loads(run["stats"] or "{}")
    import warcio

    info = {
        "software": f"nianbao-archive/{__version__} (warcio/{_version(warcio)})",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
        "warc-format/warc-1.1/",
        "robots": robots_policy(stats),
        "isPartOf": f"nianbao crawl run {run['id']}",
        "description": (
            "Written from the nianbao archive (SQLite). Response bodies are stored after "
            "HTTP transfer and content decoding; Transfer-Encoding and a mismatching "
            "Content-Length are renamed X-Crawler-*; request records hold only method, URL, "
            "Host and Referer; intermediate redirect responses are not stored."
        ),
        "nianbao-run-started": run["started_at"] or "",
        "nianbao-run-finished": run["finished_at"] or "",
        "nianbao-run-status": run["status"] or "",
        "nianbao-sites-csv": os.path.basename(run["sites_csv"] or ""),
        "nianbao-schema-version": str(schema_version),
    }
    if stats.get("downloader/request_count") is not None:
        info["nianbao-requests"] = str(stats["downloader/request_count"])
    block = "".join(f"{k}: {v}\r\n" for k, v in info.items()).encode("utf-8")
    record = writer.create_warc_record(
        "",
        "warcinfo",
        payload=BytesIO(block),
        length=len(block),
        warc_content_type="application/warc-fields",
        warc_headers_dict={
            "WARC-Filename": filename,
            "WARC-Record-ID": f"<urn:uuid:{uuid.uuid4()}>",
        },
    )
    _block_digest(record, block)
    return record


def _version(module) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.__name__)
    except PackageNotFoundError:
        return "unknown"


def _write_capture(
    writer: WARCWriter, reader: RunReader, capture: dict, revisits: str, summary: WarcSummary
) -> None:
    summary.captures += 1
    uri = capture["final_url"] or capture["url"]
    date = warc_date(capture["fetched_at"])
    stored_elsewhere = capture.get("revisit_of") is not None and capture["status"] is not None
    if not stored_elsewhere and (capture["status"] is None or capture["body"] is None):
        _write(writer, _metadata(writer, capture, uri, date, None))
        summary.records["metadata"] += 1
        return
    request = _request(writer, capture, uri, date)
    _write(writer, request)
    summary.records["request"] += 1
    if stored_elsewhere:
        body = b""
        original = reader.capture_source(capture["revisit_of"])
    else:
        body = bytes(capture["body"])
        original = _earlier_capture(reader, capture, revisits)
    http_headers, decoded = response_headers(capture, None if original else len(body))
    summary.decoded_bodies += decoded
    if original is not None:
        record = writer.create_revisit_record(
            uri,
            hex_to_digest(capture["sha256"] or original["sha256"]),
            original["final_url"] or original["url"],
            warc_date(original["fetched_at"]),
            http_headers=http_headers,
            warc_headers_dict=_ids(capture, "response", date, request),
        )
        record.rec_headers.add_header("WARC-Refers-To", record_id(original, "response"))
        if capture.get("not_modified"):
            record.rec_headers.replace_header("WARC-Profile", NOT_MODIFIED_PROFILE)
        _block_digest(record, b"")
        kind = "revisit"
    else:
        record = writer.create_warc_record(
            uri,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict={
                **_ids(capture, "response", date, request),
                "WARC-Payload-Digest": digest(body),
            },
        )
        _block_digest(record, body)
        kind = "response"
    _write(writer, record)
    summary.records[kind] += 1
    _write(writer, _metadata(writer, capture, uri, date, record))
    summary.records["metadata"] += 1


def _ids(capture: dict, kind: str, date: str, concurrent=None) -> dict:
    headers = {"WARC-Record-ID": record_id(capture, kind), "WARC-Date": date}
    if concurrent is not None:
        headers["WARC-Concurrent-To"] = concurrent.rec_headers.get_header("WARC-Record-ID")
    return headers


def _request(writer: WARCWriter, capture: dict, uri: str, date: str):
    parts = urlsplit(uri)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc)]
    if capture.get("referer"):
        headers.append(("Referer", capture["referer"]))
    http_headers = StatusAndHeaders(
        f"{capture.get('method') or 'GET'} {target} HTTP/1.1",
        headers,
        protocol="",
        is_http_request=True,
    )
    record = writer.create_warc_record(
        uri, "request", http_headers=http_headers, warc_headers_dict=_ids(capture, "request", date)
    )
    _block_digest(record, b"")
    return record


def response_headers(capture: dict, length: int | None) -> tuple[StatusAndHeaders, bool]:
    """The stored response headers as an HTTP header block true to the stored body.

    ``length`` is the body written after them (None for a revisit, whose headers
    describe a payload stored elsewhere: Content-Length is then left as served).
    Returns the headers and whether the body evidently differs from the wire
    (a Content-Length that does not match it: content decoding happened).
    """
    stored = json.loads(capture.get("headers") or "{}")
    pairs: list[tuple[str, str]] = []
    decoded = False
    has_length = False
    for name, values in stored.items():
        for value in values if isinstance(values, list) else [values]:
            if name.lower() in (h.lower() for h in _HOP_HEADERS):
                pairs.append((f"X-Crawler-{name}", value))
            elif name.lower() == "content-length" and length is not None:
                has_length = True
                if value.strip() != str(length):
                    decoded = True
                    pairs.append(("X-Crawler-Content-Length", value))
                    pairs.append(("Content-Length", str(length)))
                else:
                    pairs.append((name, value))
            else:
                pairs.append((name, value))
    if not has_length and length is not None:
        pairs.append(("Content-Length", str(length)))
    status = int(capture["status"])
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return StatusAndHeaders(f"{status} {reason}".strip(), pairs, protocol="HTTP/1.1"), decoded


def _earlier_capture(reader: RunReader, capture: dict, revisits: str) -> dict | None:
    """The first capture of the same non-empty payload, if it came before this one."""
    if revisits == "none" or not capture.get("size") or not capture.get("sha256"):
        return None
    run_id = capture["run_id"] if revisits == "run" else None
    return reader.first_with_payload(capture["sha256"], capture["id"], run_id)


def _metadata(writer: WARCWriter, capture: dict, uri: str, date: str, concurrent):
    fields = [
        ("nianbao-capture-id", str(capture["id"])),
        ("nianbao-site-id", capture.get("site_id") or ""),
        ("nianbao-role", capture.get("role") or ""),
    ]
    if capture.get("referer"):
        fields.append(("via", capture["referer"]))
    if capture.get("url") and capture["url"] != uri:
        fields.append(("nianbao-requested-url", capture["url"]))
    for hop in json.loads(capture.get("redirects") or "[]"):
        fields.append(("nianbao-redirect-hop", hop))
    if capture.get("sha256"):
        fields.append(("nianbao-body-sha256", capture["sha256"]))
    if capture.get("revisit_of"):
        fields.append(("nianbao-revisit-of-capture", str(capture["revisit_of"])))
    if capture.get("error"):
        fields.append(("nianbao-fetch-error", capture["error"]))
    block = "".join(f"{k}: {v}\r\n" for k, v in fields).encode("utf-8")
    record = writer.create_warc_record(
        uri,
        "metadata",
        payload=BytesIO(block),
        length=len(block),
        warc_content_type="application/warc-fields",
        warc_headers_dict=_ids(capture, "metadata", date, concurrent),
    )
    _block_digest(record, block)
    return record


def _block_digest(record, payload: bytes) -> None:
    """SHA-256 block digest over the HTTP header block (if any) and the payload."""
    head = b""
    if record.http_headers is not None:
        record.http_headers.compute_headers_buffer()
        head = record.http_headers.headers_buff
    record.rec_headers.replace_header("WARC-Block-Digest", digest(head + payload))


def _write(writer: WARCWriter, record) -> None:
    writer.write_record(record)
