"""Dated, verifiable copies of the archive for download, taken while a crawl may write.

Two flavours:

- ``full``: the whole archive, raw bodies included — ``VACUUM INTO`` under one
  read transaction, so the copy is one consistent moment and compacted;
- ``data``: what a researcher downloads — every table and index, full-text
  indexes and views included, but every BLOB column (the raw bodies in
  ``captures.body``) emptied. It is built by copying table by table inside one
  read transaction of the source (WAL lets the crawl go on writing meanwhile),
  so it too is one consistent moment. Full-text index shadow tables are copied
  as they are, so search works in the copy without a rebuild.

The copies themselves are made by the store (:mod:`archive.store.copies`); this module
names, checks, publishes and prunes them.

Beside each ``nianbao-<flavour>-<UTC time>.db`` go ``….db.json`` (the manifest:
date, flavour, tables and row counts, schema version, SHA-256, size) and
``….db.sha256`` (``sha256sum -c`` format). Files appear under their final name
only when complete. :func:`list_snapshots` is what the Datasette plugin
(:mod:`archive.publish.snapshots`) serves.

**Standalone.** A copy must open without nianbao. The publish stage keeps, inside the
archive (table ``publish_files``), a Datasette metadata file and a README written for
"any copy" (``{database}`` standing for the file's name); each snapshot gets them
beside it with its own name filled in — ``<name>.metadata.json`` (``datasette
<name>.db -m <name>.metadata.json``) and ``<name>.README.md`` — and a data snapshot is
also bundled as ``<name>.zip`` (a folder with the database, metadata, README and
checksum): the one download a researcher needs. They are listed in the manifest under
``companions``, with their SHA-256, and served and pruned with the snapshot.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import sqlite3
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive import __version__
from archive.store.copies import contents, copy_without_blobs, publish_files, vacuum_into

FLAVOURS = ("data", "full")
# The stamp has milliseconds (UTC, ``20260101T031500123Z``: no dot, which Datasette would
# take for a format suffix), so two snapshots in one second have two names; names written
# before that (seconds only) are still listed.
_NAME = re.compile(r"^nianbao-(?P<flavour>data|full)-(?P<stamp>\d{8}T\d{6}(?:\d{3})?Z)\.db$")
_PART = re.compile(r"\.(?P<pid>\d+)\.part$")


class SnapshotError(RuntimeError):
    """A snapshot cannot be taken (missing archive, bad flavour, unwritable directory)."""


@dataclass
class Snapshot:
    path: Path
    manifest: dict

    @property
    def manifest_path(self) -> Path:
        return manifest_path(self.path)


def manifest_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".json")


def make_snapshot(
    db: str | Path, out_dir: str | Path, flavour: str = "data", at: datetime | None = None
) -> Snapshot:
    """Write one snapshot of archive ``db`` into ``out_dir``; returns it with its manifest."""
    if flavour not in FLAVOURS:
        raise SnapshotError(f"flavour must be one of {', '.join(FLAVOURS)}, not {flavour!r}")
    source = Path(db)
    if not source.is_file():
        raise SnapshotError(f"{db} does not exist")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_parts(out)
        moment = (at or datetime.now(UTC)).astimezone(UTC)
        # Named for this process until complete; a copy killed half-way is removed later.
        partial = out / f"nianbao-{flavour}-{_stamp(moment)}.db.{os.getpid()}.part"
        try:
            if flavour == "full":
                vacuum_into(source, partial)
            else:
                copy_without_blobs(source, partial)
            manifest = _manifest(partial, "", flavour, moment, source)
            final = _publish(partial, out, flavour, moment, at is None)
            manifest["file"] = final.name
            manifest["companions"] = _write_companions(final, flavour, manifest["sha256"])
            snapshot = Snapshot(final, manifest)
            _write_text(
                final.with_name(final.name + ".sha256"), f"{manifest['sha256']}  {final.name}\n"
            )
            # The manifest last: a snapshot is listed only once it is there (list_snapshots).
            # Until then the .part file is a second name of the database file, which tells
            # a live writer's snapshot from an abandoned one (_remove_abandoned_parts).
            _write_text(
                snapshot.manifest_path,
                json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
            )
        finally:
            partial.unlink(missing_ok=True)
    except (sqlite3.Error, OSError) as exc:
        raise SnapshotError(_write_failure(out, exc)) from exc
    return snapshot


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


def _publish(partial: Path, out: Path, flavour: str, moment: datetime, now_: bool) -> Path:
    """Give the complete copy its final name, never replacing another snapshot: a name
    taken in the same millisecond (another process) moves this one a millisecond on."""
    for _ in range(1000):
        final = out / f"nianbao-{flavour}-{_stamp(moment)}.db"
        try:
            os.link(partial, final)  # fails if the name exists; rename would replace it
        except FileExistsError:
            if not now_:
                raise SnapshotError(f"{final} already exists") from None
            moment += timedelta(milliseconds=1)
            continue
        except OSError as exc:  # a file system without hard links
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP) or final.exists():
                raise
            os.replace(partial, final)
        return final
    raise SnapshotError(f"no free snapshot name in {out}")


def _remove_abandoned_parts(out: Path) -> None:
    """Remove what snapshot processes that died (``kill -9``, a power cut) left behind:
    their ``.part`` files, and a database published without its manifest (a live writer's
    database still has its ``.part`` as a second name; an abandoned one has none)."""
    for path in out.glob("nianbao-*.part"):
        match = _PART.search(path.name)
        if match is None or not _alive(int(match["pid"])):
            path.unlink(missing_ok=True)
    for path in out.glob("nianbao-*.db"):
        if not _NAME.match(path.name) or manifest_path(path).exists():
            continue
        try:
            if path.stat().st_nlink > 1:
                continue
        except FileNotFoundError:
            continue
        for name in (path.name + ".sha256", *_companions_of(path.name), path.name):
            (out / name).unlink(missing_ok=True)
    for path in out.glob("nianbao-*.db.sha256"):  # a checksum whose database never came
        if not path.with_name(path.name.removesuffix(".sha256")).exists():
            path.unlink(missing_ok=True)
    for suffix in _COMPANION_SUFFIXES:  # companions whose database never came
        for path in out.glob(f"nianbao-*{suffix}"):
            if not (out / (path.name.removesuffix(suffix) + ".db")).exists():
                path.unlink(missing_ok=True)


# What _write_companions writes beside ``<name>.db``.
_COMPANION_SUFFIXES = (".metadata.json", ".README.md", ".zip")


def _companions_of(db_name: str) -> list[str]:
    stem = db_name.removesuffix(".db")
    return [stem + suffix for suffix in _COMPANION_SUFFIXES]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def _write_failure(out: Path, exc: BaseException) -> str:
    """One line for a snapshot that could not be written."""
    full = getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or getattr(exc, "errno", None) in (
        errno.ENOSPC,
        errno.EDQUOT,
    )
    if full:
        return f"no space left in {out} for the snapshot ({exc}); nothing was published"
    return f"cannot write the snapshot in {out} ({exc}); nothing was published"


# -- standalone companions ------------------------------------------------------------
def _write_companions(db_path: Path, flavour: str, sha: str) -> dict[str, str]:
    """Metadata, README and (data flavour) the zip bundle, each complete before it is
    named; file name → SHA-256. Nothing when the archive carries no publish files yet
    (never prepared for publishing)."""
    name = db_path.name[: -len(".db")]
    files = publish_files(db_path)
    if files is None:
        return {}
    texts = {
        f"{name}.{fname}": content.replace("{database}", name)
        for fname, content in files.items()
        if fname in ("metadata.json", "README.md")
    }
    written = {}
    for fname, text in texts.items():
        _write_text(db_path.with_name(fname), text)
        written[fname] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if flavour == "data":
        bundle = db_path.with_name(f"{name}.zip")
        partial = bundle.with_name(f"{bundle.name}.{os.getpid()}.part")
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                zf.write(db_path, f"{name}/{db_path.name}")
                for fname, text in texts.items():
                    member = "README.md" if fname.endswith(".README.md") else fname
                    zf.writestr(f"{name}/{member}", text)
                zf.writestr(f"{name}/{db_path.name}.sha256", f"{sha}  {db_path.name}\n")
            os.replace(partial, bundle)
        finally:
            partial.unlink(missing_ok=True)
        written[bundle.name] = file_sha256(bundle)
    return written


def _companion_names(manifest: dict) -> list[str]:
    companions = manifest.get("companions") or {}
    return [n for n in companions if isinstance(n, str) and "/" not in n and "\\" not in n]


# -- manifest --------------------------------------------------------------------
def _manifest(path: Path, name: str, flavour: str, moment: datetime, source: Path) -> dict:
    held = contents(path)
    if held.integrity != "ok":
        raise SnapshotError(f"the snapshot failed SQLite's quick_check: {held.integrity}")
    return {
        "file": name,
        "flavour": flavour,
        "date": moment.strftime("%Y-%m-%d"),
        "created_at": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "raw_bodies": flavour == "full",
        "tables": held.tables,
        "schema_version": held.schema_version,
        "sha256": file_sha256(path),
        "size": path.stat().st_size,
        "source": source.name,
        "nianbao_version": __version__,
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")  # pid: see _remove_abandoned_parts
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# -- what is published -------------------------------------------------------------
def list_snapshots(directory: str | Path) -> list[dict]:
    """Manifests of the complete snapshots in ``directory``, newest first.

    A snapshot counts only with its database file and its manifest both present
    and the manifest naming that file, so a half-written one is never listed.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    found = []
    for db_path in folder.iterdir():
        if not _NAME.match(db_path.name):
            continue
        try:
            manifest = json.loads(manifest_path(db_path).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if manifest.get("file") == db_path.name:
            found.append(manifest)
    return sorted(found, key=lambda m: (m["created_at"], m["file"], m["flavour"]), reverse=True)


def snapshot_files(directory: str | Path) -> dict[str, Path]:
    """Every downloadable file (database, manifest, checksum) by name: nothing else is served."""
    folder = Path(directory)
    files = {}
    for manifest in list_snapshots(folder):
        name = manifest["file"]
        for fname in (name, name + ".json", name + ".sha256", *_companion_names(manifest)):
            if (folder / fname).is_file():
                files[fname] = folder / fname
    return files


def latest_snapshot(directory: str | Path, flavour: str = "data") -> Path | None:
    """The newest complete snapshot of a flavour (for Datasette to serve immutably)."""
    for manifest in list_snapshots(directory):
        if manifest["flavour"] == flavour:
            return Path(directory) / manifest["file"]
    return None


def prune_snapshots(directory: str | Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` snapshots of each flavour; returns what went."""
    if keep < 1:
        raise SnapshotError("keep at least one snapshot")
    folder = Path(directory)
    seen: dict[str, int] = {}
    removed = []
    for manifest in list_snapshots(folder):
        seen[manifest["flavour"]] = seen.get(manifest["flavour"], 0) + 1
        if seen[manifest["flavour"]] > keep:
            name = manifest["file"]
            for fname in (name + ".json", name + ".sha256", *_companion_names(manifest), name):
                path = folder / fname
                if path.exists():
                    path.unlink()
                    removed.append(path)
    return removed


def verify_snapshot(db_path: str | Path) -> bool:
    """Does the file still have the SHA-256 its manifest records?"""
    path = Path(db_path)
    manifest = json.loads(manifest_path(path).read_text("utf-8"))
    return file_sha256(path) == manifest["sha256"]
