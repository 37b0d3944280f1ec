"""Crash safety as a property: every stage SIGKILLed at seeded random moments, then rerun.

    python benchmarks/chaos.py --trials 10 [--seed 1] [--stages crawl,process,...]

Against the simulated web (the default world, CMS listings, a moved site and the hostile
``scope`` world), each trial runs one stage, kills it with SIGKILL at a moment drawn
uniformly from [0, the stage's uninterrupted duration], runs the same command again to
the end, and compares the archive with an uninterrupted run's:

* the same captures (URL, final URL, status, SHA-256, role, failed or not, body kept or
  revisit), no body stored twice; the same reports, cells, findings, report originals,
  parse statuses, derived tables and search index rows;
* no orphan row (cells, findings, originals, wide tables, index rows without their
  report; reports or originals without their capture; revisits without their body);
* ``PRAGMA integrity_check`` and ``foreign_key_check`` clean; no process of the killed
  command left behind; for snapshots and WARC, every published file complete and
  verifiable, and no partial file left after the rerun.

Stages: ``crawl`` and ``crawl-jobdir`` (``--jobdir`` on both runs), ``crawl-pause``
(``--jobdir``, a graceful SIGINT instead of the SIGKILL — Scrapy's saved queue is used),
``crawl-parse`` (``nianbao crawl`` and ``nianbao process --follow`` run at once, the crawl
killed in odd trials and the parse in even ones, the other left to end on its own),
``process``, ``reparse``, ``snapshot``, ``warc``, ``nightly`` (the nightly process is
killed; its crawl child must die with it and hold the lock until then).

Prints one row per stage: trials, how many kills landed while the command was still
running, failed trials, and the items lost and duplicated in total. The test suite runs
a few trials per stage (tests/test_chaos.py); this script runs as many as asked.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

STAGES = (
    "crawl",
    "crawl-jobdir",
    "crawl-pause",
    "crawl-parse",
    "process",
    "reparse",
    "snapshot",
    "warc",
    "nightly",
)
WORLD = ("hanweb", "gkmlpt", "moved", "scope")
# Small sites enough for a crawl of some 300 requests: Scrapy's seen-list (JOBDIR) is
# written through an 8 KiB buffer, and must reach the disk mid-crawl for --jobdir to be
# put to the test.
SCALE_SITES = 20
# The local web needs no politeness; kill moments are drawn over the measured duration.
CRAWL_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
    "RETRY_TIMES": "0",
    "DOWNLOAD_TIMEOUT": "10",
    "LOG_LEVEL": "WARNING",
}
_REPORT_ID = re.compile(r"report \d+")
GONE_SECONDS = 60  # how long the processes of a killed command may take to disappear


# -- what an archive holds ---------------------------------------------------------------------
_ITEMS = {
    "captures": "select url, final_url, status, sha256, role, error is null, body is not null "
    "from captures",
    "reports": "select sha256, url, year, template, parse_status, cell_count, finding_count, "
    "title, agency, site_id, previous_id is not null from reports",
    "cells": "select r.sha256, c.table_key, c.row_key, c.col_key, c.value, c.raw from cells c "
    "join reports r on r.id = c.report_id",
    "findings": "select r.sha256, f.rule, f.table_key, f.row_key, f.col_key, f.status, "
    "f.expected, f.found from findings f join reports r on r.id = f.report_id",
    "originals": "select r.sha256, o.sha256, o.role, o.url from report_originals o "
    "join reports r on r.id = o.report_id",
    "parsed": "select url, sha256, parse_status, parse_message from captures "
    "where parse_status is not null",
    "wide": "select 't2', count(*) from report_t2 union all select 't3', count(*) from report_t3 "
    "union all select 't4', count(*) from report_t4",
    "search": "select 'rows', count(*) from reports_fts",
}
_ORPHANS = {
    "cells": "select count(*) from cells where report_id not in (select id from reports)",
    "findings": "select count(*) from findings where report_id not in (select id from reports)",
    "originals": "select count(*) from report_originals where report_id not in "
    "(select id from reports) or capture_id not in (select id from captures)",
    "reports": "select count(*) from reports where capture_id not in (select id from captures)",
    "revisits": "select count(*) from captures where revisit_of is not null and revisit_of "
    "not in (select id from captures)",
    "wide": "select (select count(*) from report_t2 where report_id not in (select id from "
    "reports)) + (select count(*) from report_t3 where report_id not in (select id from "
    "reports)) + (select count(*) from report_t4 where report_id not in (select id from "
    "reports))",
    "search": "select count(*) from reports_fts where rowid not in (select id from reports)",
    "site_counts": "select count(*) from crawl_site_counts where run_id not in "
    "(select id from crawl_runs)",
}


def archive_state(db: Path) -> tuple[dict[str, Counter], list[str]]:
    """Every item of the archive, as multisets; and what is wrong with it."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    problems = []
    try:
        integrity = conn.execute("pragma integrity_check").fetchone()[0]
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
        if conn.execute("pragma foreign_key_check").fetchall():
            problems.append("foreign_key_check found rows")
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
        state = {}
        for name, sql in _ITEMS.items():
            if name in ("wide", "search") and "report_t3" not in tables:
                state[name] = Counter()
                continue
            state[name] = Counter(tuple(_no_ids(v) for v in r) for r in conn.execute(sql))
        twice = conn.execute(
            "select count(*) - count(distinct url || ' ' || sha256) from captures "
            "where body is not null"
        ).fetchone()[0]
        if twice:
            problems.append(f"{twice} bodies stored twice")
        for name, sql in _ORPHANS.items():
            if name in ("wide", "search") and "report_t3" not in tables:
                continue
            count = conn.execute(sql).fetchone()[0]
            if count:
                problems.append(f"{count} orphan {name}")
    finally:
        conn.close()
    return state, problems


def _no_ids(value):
    """Messages name other reports by id ("another original of report 12"); ids are
    the archive's own numbering, which two equal archives need not share."""
    return _REPORT_ID.sub("report #", value) if isinstance(value, str) else value


def compare(base: dict[str, Counter], got: dict[str, Counter]) -> tuple[int, int, list[str]]:
    """Items lost and items duplicated (or extra) against the uninterrupted run."""
    lost = extra = 0
    notes = []
    for name in base:
        missing, more = base[name] - got[name], got[name] - base[name]
        lost += sum(missing.values())
        extra += sum(more.values())
        if missing or more:
            sample = next(iter(missing or more))
            notes.append(
                f"{name}: {sum(missing.values())} lost, {sum(more.values())} extra (e.g. {sample})"
            )
    return lost, extra, notes


# -- running a command and killing it -----------------------------------------------------------
def nianbao(*args: str) -> list[str]:
    return [sys.executable, "-m", "nianbao", *args]


def settings_args(settings: dict[str, str]) -> list[str]:
    return [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(PROJECT))


def run(cmd: list[str], ok: tuple[int, ...] = (0,), timeout: float = 600) -> float:
    """Run to the end; returns the wall time. A status outside ``ok`` is an error."""
    started = time.monotonic()
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=_env(), start_new_session=True
    )
    if result.returncode not in ok:
        raise RuntimeError(
            f"{' '.join(cmd[2:5])} exited {result.returncode}: "
            f"{(result.stderr or result.stdout)[-2000:]}"
        )
    return time.monotonic() - started


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _group_has_live_member(pgid)


def _group_has_live_member(pgid: int) -> bool:
    """Zombies (killed, not yet reaped by init) hold nothing: only live members count."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def run_killed(cmd: list[str], at: float, sig: int = signal.SIGKILL) -> tuple[bool, list[str]]:
    """Start ``cmd`` in its own process group, send ``sig`` to its first process after
    ``at`` seconds; wait until every process of the group is gone. Returns whether the
    signal landed while the command still ran, and the problems seen."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
        start_new_session=True,
    )
    try:
        proc.wait(at)
        return False, []  # finished before the kill
    except subprocess.TimeoutExpired:
        pass
    proc.send_signal(sig)
    proc.wait()
    deadline = time.monotonic() + GONE_SECONDS
    while _group_alive(proc.pid):
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            return True, [f"processes of the killed command still ran after {GONE_SECONDS} s"]
        time.sleep(0.05)
    return True, []


# -- the trials ------------------------------------------------------------------------------------
@dataclass
class Trial:
    stage: str
    number: int
    kill_at: float
    landed: bool = False
    lost: int = 0
    duplicated: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.duplicated or self.problems)


class Chaos:
    """The simulated web, the uninterrupted baselines, and one method per stage."""

    def __init__(self, web, workdir: Path, seed: int):
        self.web = web
        self.workdir = workdir
        self.seed = seed
        self.settings = {**CRAWL_SETTINGS, "NIANBAO_RESOLVE": web.ready["resolve"]}
        self.durations: dict[str, float] = {}
        self.crawled = workdir / "base" / "crawled.db"  # crawl only
        self.processed = workdir / "base" / "processed.db"  # crawl + process
        self.nightly_db = workdir / "base-nightly" / "archive.db"

    # -- baselines ----------------------------------------------------------------------
    def baselines(self) -> None:
        self.crawled.parent.mkdir(parents=True)
        self.durations["crawl"] = run(self.crawl_cmd(self.crawled))
        _copy(self.crawled, self.processed)
        self.durations["process"] = run(nianbao("process", "--db", str(self.processed)))
        self.durations["reparse"] = run(nianbao("reparse", "--db", str(self.processed)))
        snaps = self.workdir / "base" / "snaps"
        self.durations["snapshot"] = run(self.snapshot_cmd(self.processed, snaps))
        self.base_snapshot, problems = archive_state(_only_snapshot(snaps))
        assert not problems, problems
        warcs = self.workdir / "base" / "warc"
        self.durations["warc"] = run(
            nianbao("warc", "--db", str(self.processed), "--out", str(warcs))
        )
        self.base_warc = warc_records(warcs)
        self.nightly_db.parent.mkdir(parents=True)
        self.durations["nightly"] = run(self.nightly_cmd(self.nightly_db), ok=(0, 3))
        self.base, problems = archive_state(self.processed)
        assert not problems, problems
        self.base_crawled, problems = archive_state(self.crawled)
        assert not problems, problems
        self._base_twice: dict[str, dict[str, Counter]] = {}
        self.base_nightly, problems = archive_state(self.nightly_db)
        assert not problems, problems
        # The baselines agree with each other: the world is crawled the same way each time.
        lost, extra, notes = compare(self.base, self.base_nightly)
        assert not (lost or extra), notes

    def crawl_cmd(self, db: Path, jobdir: Path | None = None) -> list[str]:
        cmd = nianbao("crawl", "--sites", str(self.web.sites_csv), "--db", str(db))
        if jobdir is not None:
            cmd += ["--jobdir", str(jobdir)]
        return cmd + settings_args(self.settings)

    def snapshot_cmd(self, db: Path, out: Path) -> list[str]:
        return nianbao("snapshot", "--db", str(db), "--out", str(out))

    def nightly_cmd(self, db: Path) -> list[str]:
        cmd = nianbao("nightly", "--sites", str(self.web.sites_csv), "--db", str(db))
        return cmd + settings_args(self.settings)

    # -- one trial --------------------------------------------------------------------------
    def trial(self, stage: str, number: int, rng: random.Random) -> Trial:
        duration = self.durations[stage.split("-")[0]]
        trial = Trial(stage, number, round(rng.uniform(0, duration), 3))
        where = self.workdir / f"{stage}-{number}"
        where.mkdir(parents=True)
        try:
            getattr(self, "_" + stage.replace("-", "_"))(trial, where)
        except Exception as exc:  # noqa: BLE001 (a trial that cannot finish is a failure)
            trial.problems.append(f"{type(exc).__name__}: {exc}")
        shutil.rmtree(where, ignore_errors=True)
        return trial

    def _check(
        self, trial: Trial, db: Path, base: dict[str, Counter], only: tuple[str, ...] = ()
    ) -> None:
        state, problems = archive_state(db)
        trial.problems += problems
        if only:
            base = {k: v for k, v in base.items() if k in only}
        lost, extra, notes = compare(base, state)
        trial.lost, trial.duplicated = lost, extra
        trial.problems += notes

    def _crawl_killed(self, trial: Trial, where: Path, jobdir: Path | None, sig: int) -> None:
        """Killed before it finished, the rerun continues the crawl: as one uninterrupted
        crawl. Killed after (the run closed), the rerun is a second crawl (revisits)."""
        db = where / "archive.db"
        trial.landed, problems = run_killed(self.crawl_cmd(db, jobdir), trial.kill_at, sig)
        trial.problems += problems
        second = _crawl_finished(db)
        run(self.crawl_cmd(db, jobdir))
        base = self.base_twice("crawl") if second else self.base_crawled
        self._check(trial, db, base, only=("captures",))

    def _crawl(self, trial: Trial, where: Path) -> None:
        self._crawl_killed(trial, where, None, signal.SIGKILL)

    def _crawl_jobdir(self, trial: Trial, where: Path) -> None:
        self._crawl_killed(trial, where, where / "job", signal.SIGKILL)

    def _crawl_pause(self, trial: Trial, where: Path) -> None:
        self._crawl_killed(trial, where, where / "job", signal.SIGINT)

    def _crawl_parse(self, trial: Trial, where: Path) -> None:
        """``nianbao crawl`` with ``nianbao process --follow`` beside it, the two commands
        an operator runs at once: odd trials kill the crawl, even ones the parse, the other
        left to end on its own; then the crawl is continued (if it had not finished) and
        the parse run again. As one crawl and one parse."""
        db = where / "archive.db"
        crawl = self.crawl_cmd(db)
        # The crawl killed before it made the archive: the follower waits 5 s, not 30.
        follow = nianbao("process", "--follow", "--wait", "5", "--db", str(db))
        kill_crawl = trial.number % 2 == 1
        beside = subprocess.Popen(
            follow if kill_crawl else crawl,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_env(),
            start_new_session=True,
        )
        trial.landed, trial.problems = run_killed(crawl if kill_crawl else follow, trial.kill_at)
        # A crawl killed before it created the archive leaves its follower nothing to
        # follow: after its wait, it must say so (exit 2), and otherwise end well (exit 0).
        expected = 2 if kill_crawl and not db.exists() else 0
        try:
            _, err = beside.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            os.killpg(beside.pid, signal.SIGKILL)
            _, err = beside.communicate()
            trial.problems.append("the command beside the killed one did not end in 600 s")
        if beside.returncode != expected:
            which = "parse" if kill_crawl else "crawl"
            trial.problems.append(
                f"the {which} beside the killed command exited {beside.returncode}, not "
                f"{expected}: "
                f"{err.decode('utf-8', 'replace')[-500:]}"
            )
        if not _crawl_finished(db):
            run(crawl)
        run(nianbao("process", "--db", str(db)))
        self._check(trial, db, self.base)

    def _process(self, trial: Trial, where: Path) -> None:
        db = _copy(self.crawled, where / "archive.db")
        trial.landed, trial.problems = run_killed(
            nianbao("process", "--db", str(db)), trial.kill_at
        )
        run(nianbao("process", "--db", str(db)))
        self._check(trial, db, self.base)

    def _reparse(self, trial: Trial, where: Path) -> None:
        db = _copy(self.processed, where / "archive.db")
        trial.landed, trial.problems = run_killed(
            nianbao("reparse", "--db", str(db)), trial.kill_at
        )
        run(nianbao("reparse", "--db", str(db)))
        self._check(trial, db, self.base)

    def _snapshot(self, trial: Trial, where: Path) -> None:
        db = _copy(self.processed, where / "archive.db")
        out = where / "snaps"
        trial.landed, trial.problems = run_killed(self.snapshot_cmd(db, out), trial.kill_at)
        run(self.snapshot_cmd(db, out))
        self._check(trial, db, self.base)  # the archive itself is untouched
        trial.problems += snapshot_problems(out, self.base_snapshot)

    def _warc(self, trial: Trial, where: Path) -> None:
        db = _copy(self.processed, where / "archive.db")
        out = where / "warc"
        cmd = nianbao("warc", "--db", str(db), "--out", str(out))
        trial.landed, trial.problems = run_killed(cmd, trial.kill_at)
        run(cmd)
        self._check(trial, db, self.base)
        leftovers = [p.name for p in out.iterdir() if p.name.endswith(".part")]
        if leftovers:
            trial.problems.append(f"partial WARC files left: {leftovers}")
        if warc_records(out) != self.base_warc:
            trial.problems.append("the WARC differs from the uninterrupted one")

    def _nightly(self, trial: Trial, where: Path) -> None:
        """Killed before its crawl finished, the rerun continues that crawl: one night.
        Killed later, the rerun is a second night (revisits): two uninterrupted nights."""
        db = where / "archive.db"
        trial.landed, trial.problems = run_killed(self.nightly_cmd(db), trial.kill_at)
        second_night = _crawl_finished(db)
        run(self.nightly_cmd(db), ok=(0, 3))
        self._check(trial, db, self.base_twice("nightly") if second_night else self.base_nightly)
        trial.problems += snapshot_problems(where / "snapshots", None)

    def base_twice(self, stage: str) -> dict[str, Counter]:
        """The archive after two uninterrupted runs of ``stage`` (taken when first needed)."""
        if stage not in self._base_twice:
            db = self.workdir / f"base-{stage}-twice" / "archive.db"
            db.parent.mkdir(parents=True)
            cmd, ok = (
                (self.nightly_cmd(db), (0, 3)) if stage == "nightly" else (self.crawl_cmd(db), (0,))
            )
            run(cmd, ok=ok)
            run(cmd, ok=ok)
            self._base_twice[stage], problems = archive_state(db)
            assert not problems, problems
        return self._base_twice[stage]


def _crawl_finished(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return bool(
                conn.execute("select 1 from crawl_runs where status = 'finished'").fetchone()
            )
        finally:
            conn.close()
    except sqlite3.Error:  # killed before the schema was there
        return False


def _copy(db: Path, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db)
    conn.execute("VACUUM INTO ?", [str(to)])
    conn.close()
    return to


def _only_snapshot(folder: Path) -> Path:
    [db] = [p for p in folder.iterdir() if p.name.endswith(".db")]
    return db


def snapshot_problems(folder: Path, base: dict[str, Counter] | None) -> list[str]:
    """Every snapshot file complete and listed, verifiable, and as the uninterrupted one."""
    from archive.export.snapshot import list_snapshots, snapshot_files, verify_snapshot

    problems = []
    listed = {m["file"] for m in list_snapshots(folder)}
    if not listed:
        problems.append("no snapshot was published")
    owned = set(snapshot_files(folder))  # database, manifest, checksum, companions
    for path in folder.iterdir():
        if path.name not in owned:
            problems.append(f"a file no snapshot owns: {path.name}")
    for name in sorted(listed):
        if not verify_snapshot(folder / name):
            problems.append(f"{name} does not match its SHA-256")
        if base is not None:
            state, issues = archive_state(folder / name)
            problems += issues
            _, _, notes = compare(base, state)
            problems += [f"{name}: {n}" for n in notes]
    return problems


def warc_records(folder: Path) -> list[tuple]:
    """The records of the WARC in ``folder`` (type, target, payload digest, record id),
    without the dates of writing."""
    from warcio.archiveiterator import ArchiveIterator

    [path] = [p for p in folder.iterdir() if p.name.endswith((".warc", ".warc.gz"))]
    records = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            headers = record.rec_headers
            records.append(
                (
                    record.rec_type,
                    headers.get_header("WARC-Target-URI"),
                    headers.get_header("WARC-Payload-Digest"),
                    headers.get_header("WARC-Record-ID") if record.rec_type != "warcinfo" else None,
                )
            )
    return records


# -- the report ------------------------------------------------------------------------------------
def run_chaos(
    workdir: Path,
    trials: int,
    seed: int,
    stages: tuple[str, ...] = STAGES,
    scale: int = SCALE_SITES,
    log=None,
) -> list[Trial]:
    """Start the simulated web (with ``scale`` small sites more), take the baselines,
    run ``trials`` trials of each stage."""
    from simweb.process import SimWeb

    rng = random.Random(seed)
    done: list[Trial] = []
    with SimWeb(workdir / "web", extra=WORLD, scale=scale) as web:
        chaos = Chaos(web, workdir, seed)
        chaos.baselines()
        if log:
            log(
                f"baselines: {sum(chaos.base['captures'].values())} captures, "
                f"{sum(chaos.base['reports'].values())} reports, "
                f"{sum(chaos.base['cells'].values())} cells; seconds "
                + ", ".join(f"{k} {v:.1f}" for k, v in chaos.durations.items())
            )
        for number in range(trials):
            for stage in stages:
                trial = chaos.trial(stage, number, rng)
                done.append(trial)
                if log:
                    log(
                        f"{stage:<13} #{number:<3} kill at {trial.kill_at:6.3f} s "
                        f"{'(mid-run)' if trial.landed else '(after)  '} "
                        f"{'FAILED: ' + '; '.join(trial.problems[:3]) if trial.failed else 'ok'}"
                    )
    return done


def table(trials: list[Trial]) -> str:
    stages = list(dict.fromkeys(t.stage for t in trials))
    lines = [f"{'stage':<14}{'trials':>7}{'mid-run':>9}{'failed':>8}{'lost':>7}{'duplicated':>12}"]
    for stage in [*stages, "total"]:
        chosen = [t for t in trials if stage in (t.stage, "total")]
        lines.append(
            f"{stage:<14}{len(chosen):>7}{sum(t.landed for t in chosen):>9}"
            f"{sum(t.failed for t in chosen):>8}{sum(t.lost for t in chosen):>7}"
            f"{sum(t.duplicated for t in chosen):>12}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="trials per stage")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument(
        "--scale", type=int, default=SCALE_SITES, help="small sites added to the world"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", action="store_true", help="also print every trial as JSON")
    args = parser.parse_args(argv)
    stages = tuple(s for s in args.stages.split(",") if s)
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stage(s) {sorted(unknown)}; choose from {', '.join(STAGES)}")
    workdir = Path(tempfile.mkdtemp(prefix="nianbao-chaos-"))
    started = time.monotonic()
    try:
        trials = run_chaos(
            workdir, args.trials, args.seed, stages, args.scale, log=lambda m: print(m, flush=True)
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    killed = [t for t in trials if t.stage != "crawl-pause"]
    paused = [t for t in trials if t.stage == "crawl-pause"]
    print(
        f"chaos: seed {args.seed}, {len(trials)} trials ({args.trials} per stage): "
        f"{len(killed)} SIGKILLs ({sum(t.landed for t in killed)} while the command ran), "
        f"{len(paused)} SIGINTs; {time.monotonic() - started:.0f} s wall, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(table(trials))
    failed = [t for t in trials if t.failed]
    integrity = all("integrity" not in p for t in trials for p in t.problems)
    print(
        f"lost {sum(t.lost for t in trials)}, duplicated {sum(t.duplicated for t in trials)}, "
        f"integrity {'ok' if integrity else 'FAILED'}, failed trials {len(failed)}"
    )
    for trial in failed:
        print(f"  {trial.stage} #{trial.number} (kill at {trial.kill_at} s): {trial.problems}")
    if args.json:
        print(json.dumps([t.__dict__ | {"failed": t.failed} for t in trials], indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
