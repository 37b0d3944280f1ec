"""The shared frontier of a crawl on several machines: groups of sites, leased through Redis.

The unit of work is a *site group*: the sites of the registry that share a host (a
portal and the departments it hosts, or any sites whose domains overlap). One worker
at a time holds a group, so a host is never asked by two workers at once, and each
worker's own politeness (download slots, Crawl-delay, backoff) is the host's.

A group is *leased*, not popped: the lease expires unless its worker renews it, and an
expired lease goes back to the head of the queue for another worker (after
``max_expiries`` expiries the group is set aside as failed, so a site that kills its
workers cannot stop the crawl). A worker finishing a group marks it done; a worker
stopping cleanly gives its groups back at once. Every step is one Lua script, atomic in
Redis, with Redis's own clock: scrapy-redis feeds spiders from Redis but pops its
work, so a killed worker's work would be lost — this module is that missing piece.

Keys, under ``<prefix>:`` (``nianbao`` by default):

========================  ===============================================================
``current``               the id of the crawl workers join
``<id>:meta``             the crawl: registry, when, lease TTL, counts
``<id>:sites``            site_id → registry row (JSON): workers need no CSV
``<id>:groups``           group id → its site ids (JSON)
``<id>:queue``            the groups waiting, in registry order (a list)
``<id>:leases``           group → expiry in ms of Redis time (a sorted set)
``<id>:holder``           group → {worker, attempt, since} of its lease
``<id>:attempts``         group → leases taken so far (numbers each attempt)
``<id>:expiries``         group → leases that expired (towards ``max_expiries``)
``<id>:done``             group → {worker, attempt, at, captures}
``<id>:failed``           group → {reason, expiries, worker}
``<id>:workers``          worker → {host, pid, shard, leases, captures, seen}
========================  ===============================================================
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import redis

from archive.store.registry import site_domains

DEFAULT_PREFIX = "nianbao"
# A lease must outlast the longest download (DOWNLOAD_TIMEOUT, 60 s by default) with room
# for two renewals; three minutes leaves a killed worker's sites idle for at most that.
DEFAULT_LEASE_TTL = 180.0
DEFAULT_MAX_EXPIRIES = 3
# Old crawls' keys stay readable (``--status``) for a week after a new crawl replaces them.
KEEP_OLD_CRAWL_SECONDS = 7 * 24 * 3600


class QueueError(RuntimeError):
    """An operator's problem with the shared queue: one line, no traceback."""


def redacted(url: str) -> str:
    """The Redis URL without its password, for messages and the archive."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def connect(url: str, timeout: float = 10.0) -> redis.Redis:
    """A client for ``url``, checked with a PING; a :class:`QueueError` says why not."""
    try:
        server = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, decode_responses=True
        )
    except ValueError as exc:
        raise QueueError(f"--redis {redacted(url)!r} is not a Redis URL ({exc})") from None
    try:
        server.ping()
    except redis.AuthenticationError as exc:
        raise QueueError(f"Redis at {redacted(url)} refused the credentials: {exc}") from None
    except redis.RedisError as exc:
        raise QueueError(f"cannot reach Redis at {redacted(url)}: {exc}") from None
    return server


def new_crawl_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


# -- site groups ------------------------------------------------------------------------
def site_hosts(site: dict) -> list[str]:
    """Every host the site may be crawled on: its domains and its start URL's host."""
    hosts = [d.lower().strip(".") for d in site_domains(site)]
    start = urlsplit(site["start_url"]).hostname
    return [h for h in {*hosts, (start or "").lower()} if h]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def site_groups(sites: list[dict]) -> list[list[dict]]:
    """The registry's sites grouped so that no two groups share a host.

    Two sites are in one group when a host of one is a host of the other or below it
    (``a.gov.cn`` and ``www.a.gov.cn``): exactly when the spider's scope of one could
    reach the other's host. Groups keep registry order (by their first site).
    """
    parent = list(range(len(sites)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    owner: dict[str, int] = {}
    for index, site in enumerate(sites):
        for host in site_hosts(site):
            if host in owner:
                union(index, owner[host])
            else:
                owner[host] = index
    for host, index in owner.items():
        if _is_ip(host):
            continue
        labels = host.split(".")
        for cut in range(1, len(labels)):
            above = ".".join(labels[cut:])
            if above in owner:
                union(index, owner[above])
    groups: dict[int, list[dict]] = {}
    for index, site in enumerate(sites):
        groups.setdefault(find(index), []).append(site)
    return [groups[k] for k in sorted(groups)]


# -- the crawl ----------------------------------------------------------------------------
@dataclass
class Crawl:
    """One crawl of a registry, shared by every worker that joins it."""

    id: str
    prefix: str
    sites_csv: str | None
    enqueued_at: str
    lease_ttl: float
    max_expiries: int
    sites: int
    groups: int

    def key(self, name: str) -> str:
        return f"{self.prefix}:{self.id}:{name}"

    @classmethod
    def from_meta(cls, prefix: str, meta: dict[str, str]) -> Crawl:
        return cls(
            id=meta["id"],
            prefix=prefix,
            sites_csv=meta.get("sites_csv") or None,
            enqueued_at=meta["enqueued_at"],
            lease_ttl=float(meta["lease_ttl"]),
            max_expiries=int(meta["max_expiries"]),
            sites=int(meta["sites"]),
            groups=int(meta["groups"]),
        )


@dataclass
class Claim:
    """A group leased to a worker: ``attempt`` numbers the leases of the group (1, 2 …)."""

    group: str
    attempt: int
    sites: list[dict] = field(default_factory=list)

    @property
    def token(self) -> str:
        return f"{self.group}#{self.attempt}"


# KEYS: queue leases holder attempts expiries failed groups sites;
# ARGV: worker n ttl_ms max_expiries. Returns group, attempt, site rows (JSON) per lease.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, g in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  local held = redis.call('HGET', KEYS[3], g)
  local last = held and cjson.decode(held) or {}
  redis.call('ZREM', KEYS[2], g)
  redis.call('HDEL', KEYS[3], g)
  local n = tonumber(redis.call('HGET', KEYS[5], g) or '0')
  if not last.released then n = redis.call('HINCRBY', KEYS[5], g, 1) end
  if n >= tonumber(ARGV[4]) then
    redis.call('HSET', KEYS[6], g, cjson.encode({reason = 'its lease expired ' .. n ..
      ' times without the group being finished', expiries = n, worker = last.worker}))
  else
    redis.call('LPUSH', KEYS[1], g)
  end
end
local out = {}
for i = 1, tonumber(ARGV[2]) do
  local g = redis.call('LPOP', KEYS[1])
  if not g then break end
  local a = redis.call('HINCRBY', KEYS[4], g, 1)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), g)
  redis.call('HSET', KEYS[3], g, cjson.encode({worker = ARGV[1], attempt = a, since = now}))
  local ids = cjson.decode(redis.call('HGET', KEYS[7], g) or '[]')
  local rows = {}
  if #ids > 0 then rows = redis.call('HMGET', KEYS[8], unpack(ids)) end
  table.insert(out, g)
  table.insert(out, a)
  table.insert(out, '[' .. table.concat(rows, ',') .. ']')
end
return out
"""

# KEYS: leases holder; ARGV: worker ttl_ms group1 attempt1 group2 attempt2 …
# Returns the groups whose lease this worker no longer holds.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lost = {}
for i = 3, #ARGV, 2 do
  local g, a = ARGV[i], tonumber(ARGV[i + 1])
  local held = redis.call('HGET', KEYS[2], g)
  local mine = false
  if held then
    local h = cjson.decode(held)
    mine = h.worker == ARGV[1] and tonumber(h.attempt) == a
  end
  if mine and redis.call('ZSCORE', KEYS[1], g) then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), g)
  else
    table.insert(lost, g)
  end
end
return lost
"""

# KEYS: leases holder done queue failed; ARGV: worker group attempt summary
# Done if this worker holds the lease, or if nobody does (the lease expired and the group
# waits in the queue or was set aside): then its work is complete all the same.
_COMPLETE = """
local held = redis.call('HGET', KEYS[2], ARGV[2])
if held then
  local h = cjson.decode(held)
  if h.worker ~= ARGV[1] or tonumber(h.attempt) ~= tonumber(ARGV[3]) then return 0 end
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
elseif redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then
  return 1
else
  redis.call('LREM', KEYS[4], 0, ARGV[2])
  redis.call('HDEL', KEYS[5], ARGV[2])
end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
return 1
"""

# KEYS: leases holder queue; ARGV: worker group attempt grace_ms — a clean stop gives the
# group back: at once, or when downloads that may still be under way have ended (the lease
# then expires ``grace`` from now without counting as an expiry).
_RELEASE = """
local held = redis.call('HGET', KEYS[2], ARGV[2])
if not held then return 0 end
local h = cjson.decode(held)
if h.worker ~= ARGV[1] or tonumber(h.attempt) ~= tonumber(ARGV[3]) then return 0 end
local grace = tonumber(ARGV[4])
if grace > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local expiry = math.min(tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]) or now), now + grace)
  redis.call('ZADD', KEYS[1], expiry, ARGV[2])
  h.released = true
  redis.call('HSET', KEYS[2], ARGV[2], cjson.encode(h))
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('LPUSH', KEYS[3], ARGV[2])
return 1
"""


class SiteQueue:
    """The crawls of one Redis key prefix: enqueue, claim, renew, complete, status."""

    def __init__(self, server: redis.Redis, prefix: str = DEFAULT_PREFIX):
        self.server = server
        self.prefix = prefix
        self._claim = server.register_script(_CLAIM)
        self._renew = server.register_script(_RENEW)
        self._complete = server.register_script(_COMPLETE)
        self._release = server.register_script(_RELEASE)

    # -- the crawl ---------------------------------------------------------------------
    def current(self) -> Crawl | None:
        # decode_responses=True: keys and values come back as str
        crawl_id = cast(str | None, self.server.get(f"{self.prefix}:current"))
        if not crawl_id:
            return None
        meta = self.server.hgetall(f"{self.prefix}:{crawl_id}:meta")
        return Crawl.from_meta(self.prefix, cast(dict[str, str], meta)) if meta else None

    def enqueue(
        self,
        sites: list[dict],
        sites_csv: str | None,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        max_expiries: int = DEFAULT_MAX_EXPIRIES,
        replace: bool = False,
    ) -> Crawl:
        """A new crawl of ``sites``: every group queued, and the crawl made current.

        Refused while the current crawl is unfinished, unless ``replace`` (its keys are
        then kept for a week, for ``--status``, and its workers stop at their next claim).
        """
        if not sites:
            raise QueueError("the registry has no sites to crawl")
        current = self.current()
        if current and not replace:
            progress = self.progress(current)
            if progress["queued"] or progress["leased"]:
                raise QueueError(
                    f"crawl {current.id} is not finished ({progress['queued']} site groups "
                    f"queued, {progress['leased']} leased): let it finish, or enqueue "
                    "with --replace"
                )
        groups = site_groups(sites)
        crawl = Crawl(
            id=new_crawl_id(),
            prefix=self.prefix,
            sites_csv=sites_csv,
            enqueued_at=datetime.now(UTC).isoformat(timespec="seconds"),
            lease_ttl=float(lease_ttl),
            max_expiries=int(max_expiries),
            sites=len(sites),
            groups=len(groups),
        )
        pipe = self.server.pipeline(transaction=True)
        pipe.hset(
            crawl.key("meta"),
            mapping={
                "id": crawl.id,
                "sites_csv": sites_csv or "",
                "enqueued_at": crawl.enqueued_at,
                "lease_ttl": crawl.lease_ttl,
                "max_expiries": crawl.max_expiries,
                "sites": crawl.sites,
                "groups": crawl.groups,
            },
        )
        pipe.hset(
            crawl.key("sites"),
            mapping={s["site_id"]: json.dumps(s, ensure_ascii=False) for s in sites},
        )
        pipe.hset(
            crawl.key("groups"),
            mapping={g[0]["site_id"]: json.dumps([s["site_id"] for s in g]) for g in groups},
        )
        pipe.rpush(crawl.key("queue"), *[g[0]["site_id"] for g in groups])
        pipe.set(f"{self.prefix}:current", crawl.id)
        if current:
            for name in self._names():
                pipe.expire(current.key(name), KEEP_OLD_CRAWL_SECONDS)
        pipe.execute()
        return crawl

    @staticmethod
    def _names() -> tuple[str, ...]:
        return (
            "meta",
            "sites",
            "groups",
            "queue",
            "leases",
            "holder",
            "attempts",
            "expiries",
            "done",
            "failed",
            "workers",
        )

    def registry(self, crawl: Crawl) -> list[dict]:
        """Every registry row of the crawl, in group order."""
        rows = self.server.hgetall(crawl.key("sites"))
        return [json.loads(v) for v in rows.values()]

    # -- leases --------------------------------------------------------------------------
    def claim(self, crawl: Crawl, worker: str, count: int) -> list[Claim]:
        """Lease up to ``count`` groups to ``worker`` (expired leases are requeued first)."""
        if count <= 0:
            return []
        names = ("queue", "leases", "holder", "attempts", "expiries", "failed", "groups", "sites")
        flat = self._claim(
            keys=[crawl.key(n) for n in names],
            args=[worker, count, int(crawl.lease_ttl * 1000), crawl.max_expiries],
        )
        return [
            Claim(flat[i], int(flat[i + 1]), json.loads(flat[i + 2]))
            for i in range(0, len(flat), 3)
        ]

    def renew(self, crawl: Crawl, worker: str, claims: list[Claim]) -> set[str]:
        """Extend the leases ``worker`` holds; returns the groups it no longer holds."""
        if not claims:
            return set()
        args: list = [worker, int(crawl.lease_ttl * 1000)]
        for claim in claims:
            args += [claim.group, claim.attempt]
        return set(self._renew(keys=[crawl.key("leases"), crawl.key("holder")], args=args))

    def complete(self, crawl: Crawl, worker: str, claim: Claim, summary: dict) -> bool:
        """Mark the group done; False if another worker holds it now (it finishes it)."""
        record = {"worker": worker, "attempt": claim.attempt, **summary}
        return bool(
            self._complete(
                keys=[crawl.key(n) for n in ("leases", "holder", "done", "queue", "failed")],
                args=[worker, claim.group, claim.attempt, json.dumps(record, ensure_ascii=False)],
            )
        )

    def release(self, crawl: Crawl, worker: str, claim: Claim, grace: float = 0.0) -> bool:
        """Give the group back to the head of the queue: at once, or after ``grace``
        seconds (downloads of the group that may still be under way)."""
        return bool(
            self._release(
                keys=[crawl.key("leases"), crawl.key("holder"), crawl.key("queue")],
                args=[worker, claim.group, claim.attempt, int(grace * 1000)],
            )
        )

    def requeue_failed(self, crawl: Crawl) -> int:
        """Give the groups set aside as failed another round of leases."""
        failed = list(self.server.hkeys(crawl.key("failed")))
        if failed:
            pipe = self.server.pipeline(transaction=True)
            pipe.hdel(crawl.key("failed"), *failed)
            pipe.hdel(crawl.key("expiries"), *failed)
            pipe.rpush(crawl.key("queue"), *failed)
            pipe.execute()
        return len(failed)

    # -- what is going on ------------------------------------------------------------------
    def report_worker(self, crawl: Crawl, worker: str, info: dict) -> None:
        record = {**info, "seen": self.server_time()}
        self.server.hset(crawl.key("workers"), worker, json.dumps(record, ensure_ascii=False))

    def server_time(self) -> float:
        seconds, micros = self.server.time()
        return seconds + micros / 1e6

    def progress(self, crawl: Crawl) -> dict[str, int]:
        pipe = self.server.pipeline(transaction=False)
        pipe.llen(crawl.key("queue"))
        pipe.zcard(crawl.key("leases"))
        pipe.hlen(crawl.key("done"))
        pipe.hlen(crawl.key("failed"))
        queued, leased, done, failed = pipe.execute()
        return {"queued": queued, "leased": leased, "done": done, "failed": failed}

    def is_complete(self, crawl: Crawl) -> bool:
        progress = self.progress(crawl)
        return not progress["queued"] and not progress["leased"]

    def status(self, crawl: Crawl) -> dict:
        """Everything ``--status`` shows: counts, leases (who, until when), failures, workers."""
        now = self.server_time()
        pipe = self.server.pipeline(transaction=False)
        pipe.lrange(crawl.key("queue"), 0, -1)
        pipe.zrange(crawl.key("leases"), 0, -1, withscores=True)
        pipe.hgetall(crawl.key("holder"))
        pipe.hgetall(crawl.key("done"))
        pipe.hgetall(crawl.key("failed"))
        pipe.hgetall(crawl.key("workers"))
        pipe.hgetall(crawl.key("groups"))
        queue, leases, holders, done, failed, workers, groups = pipe.execute()
        members = {g: json.loads(v) for g, v in groups.items()}
        leased = []
        for group, expiry in leases:
            holder = json.loads(holders.get(group) or "{}")
            leased.append(
                {
                    "group": group,
                    "sites": members.get(group, []),
                    "worker": holder.get("worker"),
                    "attempt": holder.get("attempt"),
                    "held_for": round(now - holder.get("since", now * 1000) / 1000, 1),
                    "expires_in": round(expiry / 1000 - now, 1),
                }
            )
        return {
            "crawl": {
                "id": crawl.id,
                "prefix": crawl.prefix,
                "sites_csv": crawl.sites_csv,
                "enqueued_at": crawl.enqueued_at,
                "lease_ttl": crawl.lease_ttl,
                "sites": crawl.sites,
                "groups": crawl.groups,
            },
            "counts": {
                "queued": len(queue),
                "leased": len(leased),
                "done": len(done),
                "failed": len(failed),
            },
            "queued": [{"group": g, "sites": members.get(g, [])} for g in queue],
            "leased": leased,
            "done": {g: json.loads(v) for g, v in done.items()},
            "failed": {g: json.loads(v) for g, v in failed.items()},
            "workers": {
                w: {**json.loads(v), "seen_ago": round(now - json.loads(v).get("seen", now), 1)}
                for w, v in workers.items()
            },
        }


_SAFE_PREFIX = re.compile(r"[A-Za-z0-9_.-]+")


def check_prefix(prefix: str) -> str:
    if not _SAFE_PREFIX.fullmatch(prefix):
        raise QueueError(f"--redis-prefix {prefix!r}: use letters, digits, '_', '.', '-'")
    return prefix
