"""A crawl on several machines: one Redis, N workers, one merge.

``nianbao crawl --redis URL`` with one of

* ``--enqueue [--sites CSV]`` — a new crawl of the registry: its sites, grouped so that no
  two groups share a host, queued in Redis (:mod:`crawler.distributed.leases`);
* ``--worker --db SHARD`` — a worker: leases groups, crawls them into its own archive
  (the shard) and renews its leases while it works (:mod:`crawler.distributed.spider`); it
  stops when the crawl is done, or waits for work per ``--wait/--no-wait`` and
  ``--max-idle``;
* ``--status [--json]`` — which groups are queued, leased by whom, done, failed, and
  which workers are alive.

``nianbao merge SHARD… --into DB`` (:mod:`nianbao.merge`) then brings the shards
into the archive as one crawl run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from crawler.distributed.leases import Crawl, SiteQueue

# The option defaults, as crawler/distributed/leases.py has them (tests/jobs/test_distributed.py checks
# they agree). crawler/ is imported only when a --redis command runs: `nianbao` checks at
# start-up that `crawler` is the installed one before anything imports it.
DEFAULTS = {"prefix": "nianbao", "lease_ttl": 180.0, "max_expiries": 3}


# How often a worker without a crawl to join looks for one.
POLL_SECONDS = 2.0


def redis_options(command):
    """The options ``nianbao crawl`` takes for a crawl on several machines."""
    options = [
        click.option(
            "--redis",
            "redis_url",
            envvar="NIANBAO_REDIS_URL",
            metavar="URL",
            help="Share the crawl through this Redis (redis://host:6379/0; or "
            "$NIANBAO_REDIS_URL) with --enqueue, --worker or --status.",
        ),
        click.option(
            "--enqueue", is_flag=True, help="Queue a new crawl of --sites for the workers."
        ),
        click.option(
            "--worker", is_flag=True, help="Crawl the groups of sites leased from Redis into --db."
        ),
        click.option(
            "--status", "show_status", is_flag=True, help="Show the shared crawl's progress."
        ),
        click.option(
            "--redis-prefix",
            default=DEFAULTS["prefix"],
            show_default=True,
            help="Key prefix: separate crawls sharing one Redis.",
        ),
        click.option(
            "--lease-ttl",
            type=click.FloatRange(min=1),
            default=DEFAULTS["lease_ttl"],
            show_default=True,
            help="--enqueue: seconds a worker's lease lasts without renewal.",
        ),
        click.option(
            "--max-expiries",
            type=click.IntRange(min=1),
            default=DEFAULTS["max_expiries"],
            show_default=True,
            help="--enqueue: set a group aside as failed after this many expired leases.",
        ),
        click.option(
            "--replace", is_flag=True, help="--enqueue: even if the current crawl is unfinished."
        ),
        click.option(
            "--requeue-failed", is_flag=True, help="Queue the failed groups of the crawl again."
        ),
        click.option(
            "--sites-at-once",
            type=click.IntRange(min=1),
            default=8,
            show_default=True,
            help="--worker: site groups crawled at the same time.",
        ),
        click.option(
            "--wait/--no-wait",
            default=True,
            show_default=True,
            help="--worker: with nothing queued, wait while other workers hold leases "
            "(their groups come back if they die) and for a crawl to be enqueued; "
            "--no-wait stops at once.",
        ),
        click.option(
            "--max-idle",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="--worker: stop after this many seconds without work (0: no limit).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def distributed_crawl(
    sites: str | None,
    db: str,
    db_given: bool,
    jobdir: str | None,
    overrides: dict,
    *,
    redis_url: str,
    enqueue: bool,
    worker: bool,
    show_status: bool,
    as_json: bool,
    redis_prefix: str,
    lease_ttl: float,
    max_expiries: int,
    replace: bool,
    requeue_failed: bool,
    sites_at_once: int,
    wait: bool,
    max_idle: int,
) -> None:
    """``nianbao crawl --redis …``: one of enqueue, worker, status (or requeue-failed)."""
    # Here, not at the top: every `nianbao` command would pay for importing the Redis
    # client (a quarter of a second of CPU) to build its options.
    import redis

    from crawler.distributed.leases import QueueError, SiteQueue, check_prefix, connect, redacted

    chosen = [n for n, on in (("--enqueue", enqueue), ("--worker", worker)) if on]
    chosen += [
        n for n, on in (("--status", show_status), ("--requeue-failed", requeue_failed)) if on
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "with --redis, give one of --enqueue, --worker, --status, --requeue-failed"
            + (f" (not {' and '.join(chosen)})" if chosen else "")
        )
    if jobdir:
        raise click.UsageError("--jobdir does not apply with --redis: Redis holds the frontier")
    try:
        queue = SiteQueue(connect(redis_url), check_prefix(redis_prefix))
        if enqueue:
            _enqueue(queue, redis_url, sites, lease_ttl, max_expiries, replace)
        elif show_status:
            _status(queue, redis_url, as_json)
        elif requeue_failed:
            crawl = _current(queue, redis_url)
            click.echo(
                f"crawl {crawl.id}: {queue.requeue_failed(crawl)} failed groups queued again"
            )
        else:
            if not db_given:
                raise click.UsageError(
                    "a worker writes its own archive (a shard, merged later): give --db, "
                    "e.g. --db shard-$(hostname).db"
                )
            _work(queue, redis_url, db, overrides, sites_at_once, wait, max_idle)
    except QueueError as exc:
        click.echo(f"nianbao crawl: error: {exc}", err=True)
        raise SystemExit(2) from None
    except redis.RedisError as exc:  # reachable at first, then not (before the crawl ran)
        click.echo(f"nianbao crawl: error: lost Redis at {redacted(redis_url)}: {exc}", err=True)
        raise SystemExit(1) from None


def _current(queue: SiteQueue, redis_url: str) -> Crawl:
    from crawler.distributed.leases import QueueError, redacted

    crawl = queue.current()
    if crawl is None:
        raise QueueError(
            f"no crawl on {redacted(redis_url)} (prefix {queue.prefix}): "
            "enqueue one with nianbao crawl --redis URL --enqueue --sites CSV"
        )
    return crawl


def _enqueue(
    queue: SiteQueue,
    redis_url: str,
    sites: str | None,
    lease_ttl: float,
    max_expiries: int,
    replace: bool,
) -> None:
    from archive.store.registry import RegistryError, read_registry
    from crawler.distributed.leases import QueueError, redacted
    from crawler.runner import BUNDLED_REGISTRY

    path = str(Path(sites or BUNDLED_REGISTRY).resolve())
    try:
        rows = read_registry(path)
    except RegistryError as exc:
        raise QueueError(str(exc)) from None
    crawl = queue.enqueue(rows, path, lease_ttl, max_expiries, replace)
    click.echo(
        f"crawl {crawl.id}: {crawl.sites} sites in {crawl.groups} site groups queued on "
        f"{redacted(redis_url)}; on each machine: nianbao crawl --redis URL --worker "
        "--db shard-$(hostname).db",
        err=True,
    )
    click.echo(crawl.id)


def _work(
    queue: SiteQueue,
    redis_url: str,
    db: str,
    overrides: dict,
    sites_at_once: int,
    wait: bool,
    max_idle: int,
) -> None:
    from crawler.distributed.leases import QueueError, redacted
    from crawler.distributed.worker import run_worker
    from crawler.runner import crawl_settings

    crawl = _crawl_to_join(queue, redis_url, wait, max_idle)
    if crawl is None:
        return
    timeout = crawl_settings(db, None, overrides).getfloat("DOWNLOAD_TIMEOUT")
    if crawl.lease_ttl - timeout < crawl.lease_ttl / 3:
        raise QueueError(
            f"crawl {crawl.id}'s leases last {crawl.lease_ttl:g} s, too short for "
            f"DOWNLOAD_TIMEOUT {timeout:g} s (a lease must outlast a download by a third of "
            f"itself): lower DOWNLOAD_TIMEOUT to {crawl.lease_ttl * 2 / 3:g} or enqueue "
            f"with --lease-ttl {timeout * 1.5:g} or more"
        )
    stats = run_worker(redis_url, crawl, db, overrides, sites_at_once, wait, max_idle)
    reason = stats.get("finish_reason")
    click.echo(
        f"worker {stats['nianbao/worker']} of crawl {crawl.id} stopped ({reason}): "
        f"{stats.get('nianbao/site_groups_finished', 0)} site groups finished, "
        f"{stats.get('nianbao/site_groups_lost', 0)} lost, "
        f"{stats.get('nianbao/site_groups_released', 0)} given back; "
        f"{stats.get('nianbao/captures_stored', 0)} captures in {db}",
        err=True,
    )
    if reason == "redis_unreachable":
        click.echo(
            f"nianbao crawl: error: lost Redis at {redacted(redis_url)} for longer than a "
            "lease; the groups held go to other workers",
            err=True,
        )
        raise SystemExit(1)
    if reason not in ("finished", "shutdown"):  # stopped by a signal: its groups given back
        raise SystemExit(1)


def _crawl_to_join(queue: SiteQueue, redis_url: str, wait: bool, max_idle: int) -> Crawl | None:
    """The current crawl if it has work left; else wait for one (per --wait, --max-idle)."""
    from crawler.distributed.leases import redacted

    since = time.monotonic()
    announced = False
    finished_id = None
    while True:
        crawl = queue.current()
        if crawl is not None and crawl.id != finished_id:
            if not queue.is_complete(crawl):
                return crawl
            finished_id = crawl.id
        what = (
            f"crawl {finished_id} is complete"
            if finished_id
            else f"no crawl is enqueued on {redacted(redis_url)}"
        )
        if not wait:
            click.echo(f"nianbao crawl: {what}; nothing to do (--no-wait)", err=True)
            return None
        if max_idle and time.monotonic() - since >= max_idle:
            click.echo(f"nianbao crawl: {what}; stopped waiting after {max_idle} s", err=True)
            return None
        if not announced:
            click.echo(f"nianbao crawl: {what}; waiting for the next one", err=True)
            announced = True
        time.sleep(POLL_SECONDS)


def _status(queue: SiteQueue, redis_url: str, as_json: bool) -> None:
    crawl = _current(queue, redis_url)
    status = queue.status(crawl)
    if as_json:
        click.echo(json.dumps(status, ensure_ascii=False, indent=1))
        return
    click.echo(format_status(status))


def format_status(status: dict) -> str:
    crawl, counts = status["crawl"], status["counts"]
    lines = [
        f"crawl {crawl['id']} of {crawl['sites_csv']} (enqueued {crawl['enqueued_at']}, "
        f"leases of {crawl['lease_ttl']:g} s)",
        f"{crawl['sites']} sites in {crawl['groups']} site groups: {counts['done']} done, "
        f"{counts['leased']} leased, {counts['queued']} queued, {counts['failed']} failed",
    ]
    if status["leased"]:
        lines.append("leased:")
        lines += [
            f"  {lease['group']} ({_sites(lease['sites'])}) by {lease['worker']}, attempt "
            f"{lease['attempt']}, for {lease['held_for']:g} s, expires in "
            f"{lease['expires_in']:g} s"
            for lease in status["leased"]
        ]
    if status["failed"]:
        lines.append("failed:")
        lines += [
            f"  {group}: {record.get('reason')} (last worker {record.get('worker')})"
            for group, record in status["failed"].items()
        ]
    if status["queued"]:
        shown = status["queued"][:10]
        more = len(status["queued"]) - len(shown)
        lines.append(
            "queued: "
            + ", ".join(q["group"] for q in shown)
            + (f" … and {more} more" if more else "")
        )
    if status["workers"]:
        lines.append("workers:")
        for name, info in sorted(status["workers"].items()):
            groups = info.get("groups") or {}
            state = info.get("state")
            if state in ("crawling", "stopping") and info.get("seen_ago", 0) > crawl["lease_ttl"]:
                state = "silent longer than a lease: dead?"
            lines.append(
                f"  {name} ({state}, seen {info.get('seen_ago', 0):g} s ago): "
                f"{len(info.get('leases') or [])} leases, {groups.get('finished', 0)} groups "
                f"finished, {info.get('captures', 0)} captures in {info.get('shard')}"
            )
    return "\n".join(lines)


def _sites(site_ids: list[str]) -> str:
    """``1 site`` or ``3 sites: a, b, c`` (the first few named)."""
    if len(site_ids) == 1:
        return "1 site"
    named = ", ".join(site_ids[:3]) + (" …" if len(site_ids) > 3 else "")
    return f"{len(site_ids)} sites: {named}"
