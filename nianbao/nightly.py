"""``nianbao nightly``: crawl → parse → checks → snapshot, and one summary an operator reads.

What a cron job or a systemd timer runs. The crawl runs in a child process
(``nianbao crawl``: Twisted's reactor cannot start twice in one process), its
Scrapy log in a file of its own; the parse stage and the checks run here
(:func:`nianbao.process.process_captures`); then the snapshots are written.
A stage that fails does not hide what the others did: captures stored by a
crawl that stopped early are still parsed and published, and the summary and
the exit status say what went wrong.

Exit status (for alerting):

====  =============================================================================
0     every stage ran, nothing to look at
1     an unexpected error (a bug: the traceback is in the log), or interrupted
      (SIGTERM, Ctrl-C: the crawl child is stopped with SIGTERM, the lock released)
2     bad options, a bad registry or an archive that cannot be used: nothing was done
      (one line on stderr, ``nianbao nightly: error: …``, as every command says it)
3     every stage ran, with alerts: sites that failed, were blocked or gave fewer
      reports than before, parser errors
4     a stage failed: the crawl did not finish, the parse stage or a snapshot
      could not be completed
5     another nightly run holds the lock: nothing was done
====  =============================================================================

Two runs never overlap: an exclusive ``flock`` on a lock file (released by the
kernel if the process dies, so a crashed run never leaves a stale lock). Progress
is drawn with rich on a terminal; every event also goes, one JSON object per
line, to the log file, which is all there is when no terminal is attached.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from archive.store import now
from archive.store.summaries import (
    captures_of_run,
    captures_to_parse,
    checks_summary,
    crawl_run_summary,
    high_water,
    run_of_pid,
)
from nianbao.children import spawn_child

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ALERTS = 3
EXIT_STAGE_FAILED = 4
EXIT_LOCKED = 5

POLL_SECONDS = 0.5


class LockHeld(RuntimeError):
    """Another nightly run holds the lock."""

    def __init__(self, path: Path, holder: dict | None):
        self.path, self.holder = path, holder
        who = f" by pid {holder.get('pid')} since {holder.get('started_at')}" if holder else ""
        super().__init__(f"{path} is held{who}")


class RunLock:
    """An exclusive, non-blocking ``flock`` with the holder's pid and start time in the file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(self.path, self.holder()) from None
        self._fd = fd
        self._holder = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": now()}
        self._write_holder()

    @property
    def fd(self) -> int | None:
        """The locked descriptor: a child given it holds the lock as long as it lives."""
        return self._fd

    def note(self, **more) -> None:
        """Add to what the lock file says about its holder (e.g. the crawl child's pid)."""
        self._holder.update(more)
        self._write_holder()

    def _write_holder(self) -> None:
        if self._fd is None:
            raise RuntimeError(f"{self.path} is not held by this process")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(self._holder).encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> dict | None:
        try:
            return json.loads(self.path.read_text("utf-8") or "null")
        except (OSError, ValueError):
            return None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass
class NightlyConfig:
    db: Path
    sites: str
    snapshot_dir: Path
    log_path: Path
    lock_path: Path
    flavours: tuple[str, ...] = ("data",)
    keep: int | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    warc_dir: Path | None = None
    # Parse beside the crawl (as captures are committed) rather than after it.
    parse_beside: bool = True

    @property
    def crawl_log(self) -> Path:
        return self.log_path.with_name(self.log_path.stem + ".crawl.log")


class Events:
    """Where the run reports: JSON lines in the log file, and rich progress on a terminal."""

    def __init__(self, log_path: Path, terminal: bool | None = None):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self._progress = None
        if self.terminal:
            from nianbao.progress import rich_bars

            self._progress = rich_bars()
            self._progress.start()

    def emit(self, event: str, **data) -> None:
        self._log.write(
            json.dumps({"time": now(), "event": event, **data}, ensure_ascii=False, default=str)
            + "\n"
        )
        self._log.flush()

    @contextmanager
    def stage(self, name: str, total: int | None = None):
        """A stage: start and end events, and a bar the body advances with ``update(done)``."""
        self.emit("stage_start", stage=name, total=total)
        task = self._progress.add_task(name, total=total, counts="") if self._progress else None
        started = time.monotonic()
        last_logged = [0.0]

        def update(done: int, total_now: int | None = None) -> None:
            if self._progress is not None:
                self._progress.update(task, completed=done, total=total_now or total)
            if time.monotonic() - last_logged[0] >= 10:
                last_logged[0] = time.monotonic()
                self.emit("progress", stage=name, done=done, total=total_now or total)

        try:
            yield update
        finally:
            if self._progress is not None:
                self._progress.update(
                    task,
                    total=self._progress.tasks[task].completed or 1,
                    completed=self._progress.tasks[task].completed or 1,
                )
            self.emit("stage_end", stage=name, seconds=round(time.monotonic() - started, 2))

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._log.close()


# -- the run -----------------------------------------------------------------------
def run_nightly(config: NightlyConfig, events: Events) -> tuple[int, dict]:
    """Run every stage under the lock; returns the exit status and the summary."""
    lock = RunLock(config.lock_path)
    try:
        lock.acquire()
    except LockHeld as held:
        events.emit("locked", lock=str(held.path), holder=held.holder)
        return EXIT_LOCKED, {"status": "locked", "lock": str(held.path), "holder": held.holder}
    except OSError as exc:  # the lock file cannot be made: bad --lock (or --db) path
        unlockable = f"cannot write the lock file {config.lock_path} ({exc.strerror or exc})"
        events.emit("bad_input", error=unlockable)
        return EXIT_USAGE, {"status": "bad_input", "error": unlockable}
    problem = preflight(config)
    if problem is not None:
        lock.release()
        events.emit("bad_input", error=problem)
        return EXIT_USAGE, {"status": "bad_input", "error": problem}
    previous = _terminate_as_interrupt()
    try:
        summary = _stages(config, events, lock)
    except KeyboardInterrupt:
        events.emit("interrupted")
        raise
    except Exception as exc:  # a bug: logged with its traceback, then exit status 1
        events.emit("error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        raise
    finally:
        lock.release()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    code = exit_status(summary)
    summary["exit_status"] = code
    events.emit("summary", **summary)
    return code, summary


def _terminate_as_interrupt():
    """SIGTERM (systemd stopping the unit, a kill) unwinds like Ctrl-C, so the crawl child
    is stopped and the lock released; returns the handler it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, interrupt)


def preflight(config: NightlyConfig) -> str | None:
    """What makes the run impossible before it starts (a bad registry, an archive that
    cannot be opened for writing or is too new), as one line; None when all is well."""
    from archive.store import Archive, ArchiveError
    from archive.store.registry import RegistryError, read_registry
    from crawler.scope import check_allowed_domains

    try:
        check_allowed_domains(read_registry(config.sites), config.sites)
        with Archive(config.db) as archive:
            archive.ensure_writable()
    except (RegistryError, ArchiveError) as exc:
        return str(exc)
    return None


def _stages(config: NightlyConfig, events: Events, lock: RunLock | None = None) -> dict:
    summary: dict = {"started_at": now(), "db": str(config.db), "failures": [], "alerts": []}
    before = high_water(config.db)
    parse = ParseThread(config.db)
    summary["crawl"] = _crawl_stage(
        config, events, summary, lock, beside=parse.start if config.parse_beside else None
    )
    summary["parse"] = _parse_stage(config, events, summary, parse)
    summary["checks"] = checks_summary(config.db, before)
    if config.warc_dir is not None and summary["crawl"].get("run_id"):
        summary["warc"] = _warc_stage(config, events, summary)
    summary["snapshots"] = _snapshot_stage(config, events, summary)
    sites = summary["crawl"].get("sites", [])
    summary["crawl"]["site_statuses"] = site_statuses(sites)
    if failing := most_sites_failed(summary["crawl"]["site_statuses"]):
        summary["alerts"].append({"kind": "crawl", "why": [failing]})
    summary["alerts"] += site_alerts(sites)
    if summary["parse"].get("by_status", {}).get("parser_error"):
        summary["alerts"].append(
            {"kind": "parser_error", "count": summary["parse"]["by_status"]["parser_error"]}
        )
    summary["finished_at"] = now()
    return summary


def exit_status(summary: dict) -> int:
    if summary.get("failures"):
        return EXIT_STAGE_FAILED
    if summary.get("alerts"):
        return EXIT_ALERTS
    return EXIT_OK


# -- crawl ---------------------------------------------------------------------------
def crawl_command(config: NightlyConfig) -> list[str]:
    """``nianbao crawl`` as a child; ``-P``: the working directory is not on its import path,
    so a ``crawler.py`` or ``archive/`` there cannot stand in for nianbao's packages."""
    cmd = [
        sys.executable,
        "-P",
        "-m",
        "nianbao",
        "crawl",
        "--sites",
        config.sites,
        "--db",
        str(config.db),
    ]
    for name, value in config.overrides.items():
        cmd += ["-s", f"{name}={value}"]
    return cmd


def _crawl_stage(
    config: NightlyConfig,
    events: Events,
    summary: dict,
    lock: RunLock | None = None,
    beside: Callable[[Callable[[], bool]], None] | None = None,
) -> dict:
    with events.stage("crawl") as update, open(config.crawl_log, "ab") as log:
        # The child dies with this process and holds the lock with it (nianbao.children):
        # no new run can start while a crawl of this one may still write.
        child = spawn_child(
            crawl_command(config),
            keep_fds=(lock.fd,) if lock is not None and lock.fd is not None else (),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if lock is not None:
            lock.note(crawl_pid=child.pid)
        if beside is not None:  # the parse stage starts now, reading what the crawl stores
            beside(lambda: child.poll() is None)
        run_id = None
        try:
            while child.poll() is None:
                run_id = run_id or run_of_pid(config.db, child.pid)
                if run_id:
                    update(captures_of_run(config.db, run_id))
                time.sleep(POLL_SECONDS)
        except BaseException:  # interrupted: never leave a crawl running without its lock
            stop_child(child)
            raise
        run_id = run_id or run_of_pid(config.db, child.pid)
    result = {"exit_status": child.returncode, "run_id": run_id, "log": str(config.crawl_log)}
    if run_id:
        result.update(crawl_run_summary(config.db, run_id))
    # exit 3: the crawl finished, most sites failing (the alert is raised from its counts)
    if child.returncode not in (EXIT_OK, EXIT_ALERTS) or result.get("status") != "finished":
        summary["failures"].append(
            {
                "stage": "crawl",
                "exit_status": child.returncode,
                "status": result.get("status"),
                "log": str(config.crawl_log),
            }
        )
    return result


def stop_child(child: subprocess.Popen, grace: float = 60) -> None:
    """SIGTERM first (Scrapy closes the run cleanly and records it), SIGKILL after ``grace``."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def site_alerts(sites: list[dict]) -> list[dict]:
    """Sites an operator should look at: blocked, unreachable, failing, or shrinking."""
    alerts = []
    for site in sites:
        why = []
        status = site.get("status")
        if status and status != "ok":  # what the crawler found, and what to do about it
            why.append(f"{status}: {site.get('status_detail')}")
        if site.get("alert"):
            why.append(site["alert"])
        if site.get("blocked") and not status:
            why.append(f"blocked: {site['blocked']}")
        fetched, failed = site.get("pages_fetched") or 0, site.get("failed") or 0
        ok = fetched - min(failed, fetched)
        if ok == 0 and not status:
            why.append("no page fetched successfully")
        elif ok and failed and failed >= ok:
            why.append(f"{failed} failures against {ok} good pages")
        if why:
            alerts.append(
                {
                    "kind": "site",
                    "site_id": site["site_id"],
                    "status": status,
                    "why": why,
                    "failed_by_reason": site.get("failed_by_reason") or {},
                }
            )
    return alerts


def site_statuses(sites: list[dict]) -> dict[str, int]:
    """How many sites ended the crawl with each status."""
    counts: dict[str, int] = {}
    for site in sites:
        if site.get("status"):
            counts[site["status"]] = counts.get(site["status"], 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def most_sites_failed(statuses: dict[str, int]) -> str | None:
    """The alert for a crawl in which most sites could not be crawled, else None."""
    total = sum(statuses.values())
    failed = {s: n for s, n in statuses.items() if s != "ok"}
    if not total or 2 * sum(failed.values()) <= total:
        return None
    worst = ", ".join(f"{n} {s}" for s, n in sorted(failed.items(), key=lambda i: -i[1]))
    hint = (
        ": is the network (or DNS) down?"
        if failed.keys() & {"dns_failed", "refused", "timeout", "network_error"}
        else ""
    )
    return f"{sum(failed.values())} of {total} sites could not be crawled ({worst}){hint}"


# -- parse and checks --------------------------------------------------------------------
class ParseThread:
    """The parse stage in a thread of its own, so that the main thread can follow the crawl
    and draw progress; started beside the crawl (reading captures as they are committed)
    or, failing that, after it.

    A daemon: if the run is interrupted, the process ends without waiting for it (each
    capture's outcome is its own transaction, so nothing is left half-written)."""

    def __init__(self, db: Path):
        self.db = db
        self.outcome: dict = {}
        self.thread: threading.Thread | None = None

    def start(self, crawl_storing: Callable[[], bool] | None = None) -> None:
        self.thread = threading.Thread(
            target=_process_in_thread,
            args=(self.db, self.outcome, crawl_storing),
            daemon=True,
            name="nianbao-parse",
        )
        self.thread.start()


def _parse_stage(config: NightlyConfig, events: Events, summary: dict, parse: ParseThread) -> dict:
    if not config.db.exists():
        summary["failures"].append({"stage": "parse", "error": "the archive does not exist"})
        return {}
    total = captures_to_parse(config.db)
    with events.stage("parse", total=total) as update:
        if parse.thread is None:
            parse.start()
        assert parse.thread is not None
        while parse.thread.is_alive():
            update(max(0, total - captures_to_parse(config.db)))
            parse.thread.join(POLL_SECONDS)
        update(total)
    if "error" in parse.outcome:
        summary["failures"].append({"stage": "parse", "error": parse.outcome["error"]})
    return parse.outcome


def _process_in_thread(
    db: Path, outcome: dict, crawl_storing: Callable[[], bool] | None = None
) -> None:
    """The parse stage (beside the crawl while ``crawl_storing()`` says it goes on)."""
    from archive.store import Archive
    from nianbao.process import process_captures

    try:
        with Archive(db) as archive:
            result = process_captures(archive, follow=crawl_storing)
        outcome.update(
            {
                "captures": result.captures,
                "reports": result.reports,
                "by_status": dict(sorted(result.by_status.items())),
            }
        )
    except Exception as exc:  # reported as a failed stage, with its type and message
        from archive.store import ArchiveError, storage_error

        known = exc if isinstance(exc, ArchiveError) else storage_error(db, exc)
        outcome["error"] = str(known) if known else f"{type(exc).__name__}: {exc}"


# -- WARC and snapshots ---------------------------------------------------------------------
def _warc_stage(config: NightlyConfig, events: Events, summary: dict) -> dict:
    from archive.export.warc import write_run_warc

    if config.warc_dir is None:
        return {}
    with events.stage("warc"):
        try:
            return write_run_warc(config.db, summary["crawl"]["run_id"], config.warc_dir).to_json()
        except Exception as exc:  # the archive itself is intact: a failed stage, reported
            summary["failures"].append({"stage": "warc", "error": f"{type(exc).__name__}: {exc}"})
            return {}


def _snapshot_stage(config: NightlyConfig, events: Events, summary: dict) -> list[dict]:
    from archive.export.snapshot import make_snapshot, prune_snapshots

    written: list[dict] = []
    if not config.db.exists():
        return written
    with events.stage("snapshot", total=len(config.flavours)) as update:
        for done, flavour in enumerate(config.flavours, 1):
            try:
                snap = make_snapshot(config.db, config.snapshot_dir, flavour)
            except Exception as exc:  # reported as a failed stage; other flavours still run
                summary["failures"].append(
                    {
                        "stage": "snapshot",
                        "flavour": flavour,
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                )
                continue
            written.append(
                {
                    "path": str(snap.path),
                    "flavour": flavour,
                    "size": snap.manifest["size"],
                    "sha256": snap.manifest["sha256"],
                }
            )
            update(done)
        if config.keep:
            removed = prune_snapshots(config.snapshot_dir, config.keep)
            events.emit("pruned", files=[str(p) for p in removed])
    return written


# -- the summary, for people -------------------------------------------------------------------
def format_summary(summary: dict, code: int) -> str:
    """The few lines a cron mail shows."""
    if summary.get("status") == "locked":
        holder = summary.get("holder") or {}
        child = f", crawl pid {holder['crawl_pid']}" if holder.get("crawl_pid") else ""
        return (
            f"nianbao nightly: not run, another run holds {summary['lock']} "
            f"(pid {holder.get('pid')}{child}, since {holder.get('started_at')}); exit {code}"
        )
    if summary.get("status") == "bad_input":
        return f"nianbao nightly: error: {summary['error']}; nothing was done; exit {code}"
    crawl, parse, checks = summary["crawl"], summary["parse"], summary["checks"]
    lines = [f"nianbao nightly {summary['started_at']} → {summary['finished_at']}: exit {code}"]
    lines.append(
        f"crawl  run {crawl.get('run_id')} {crawl.get('status')}: "
        f"{crawl.get('pages_fetched', 0)} pages, {crawl.get('captures_stored', 0)} captures "
        f"{_pairs(crawl.get('documents'))}, {crawl.get('failures', 0)} failures "
        f"{_pairs(crawl.get('failures_by_reason'))}"
    )
    if crawl.get("site_statuses"):
        lines.append(f"sites  {_pairs(crawl['site_statuses'])[1:-1]}")
    lines.append(f"parse  {parse.get('captures', 0)} captures {_pairs(parse.get('by_status'))}")
    lines.append(
        f"checks {checks.get('new_reports', 0)} new reports, "
        f"{checks.get('changed_reports', 0)} changed, "
        f"{checks.get('new_findings', 0)} findings on them "
        f"{_pairs(checks.get('findings_by_rule'))}"
    )
    if summary.get("warc"):
        lines.append(f"warc   {summary['warc']['path']}")
    for snap in summary.get("snapshots", []):
        lines.append(
            f"snap   {snap['flavour']} {snap['path']} {snap['size']:,} bytes "
            f"sha256 {snap['sha256']}"
        )
    for alert in summary.get("alerts", []):
        where = alert.get("site_id") or alert["kind"]
        lines.append(f"ALERT  {where}: {'; '.join(alert.get('why', [])) or alert.get('count')}")
    for failure in summary.get("failures", []):
        detail = failure.get("error") or f"status {failure.get('status')}, see {failure.get('log')}"
        lines.append(f"FAILED {failure['stage']}: {detail}")
    return "\n".join(lines)


def _pairs(counts: dict | None) -> str:
    return "(" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")" if counts else ""


def default_paths(db: Path) -> dict[str, Path]:
    """Snapshots, log and lock beside the archive unless the operator says otherwise."""
    folder = db.resolve().parent
    return {
        "snapshot_dir": folder / "snapshots",
        "log_path": folder / "nightly.jsonl",
        "lock_path": folder / (db.name + ".nightly.lock"),
    }
