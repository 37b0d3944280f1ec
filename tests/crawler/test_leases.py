"""The shared frontier on a real Redis: site groups, leases that expire and come back,
and the property that matters — a group is never held by two live workers at once."""

from __future__ import annotations

import random
import time
import uuid

import pytest

from crawler.distributed.leases import QueueError, SiteQueue, connect, redacted, site_groups

pytestmark = pytest.mark.redis


def site(site_id: str, url: str, domains: str = "") -> dict:
    return {"site_id": site_id, "start_url": url, "allowed_domains": domains or None}


@pytest.fixture
def queue(redis_url):
    return SiteQueue(connect(redis_url), f"test-{uuid.uuid4().hex[:8]}")


def registry(n: int) -> list[dict]:
    return [site(f"s{i}", f"http://www{i}.example.gov.cn/") for i in range(n)]


def test_sites_sharing_a_host_or_a_parent_domain_are_one_group():
    sites = [
        site("city", "http://www.a.gov.cn/", "www.a.gov.cn"),
        site("other", "http://www.b.gov.cn/"),
        site("bureau", "http://www.a.gov.cn/jyj/", "www.a.gov.cn"),
        site("portal", "http://a.gov.cn/", "a.gov.cn"),  # www.a.gov.cn is below a.gov.cn
        site("moved", "http://www.c.gov.cn/", "www.c.gov.cn www.b.gov.cn"),
        site("ip", "http://10.0.0.1:8080/", "10.0.0.1"),
        site("ip2", "http://10.0.0.2/", "10.0.0.2"),
    ]
    groups = [[s["site_id"] for s in g] for g in site_groups(sites)]
    assert groups == [["city", "bureau", "portal"], ["other", "moved"], ["ip"], ["ip2"]]


def test_a_group_is_leased_once_and_done_once(queue):
    crawl = queue.enqueue(registry(3), "/r.csv", lease_ttl=30)
    first = queue.claim(crawl, "w1", 2)
    second = queue.claim(crawl, "w2", 5)
    assert [c.group for c in first] == ["s0", "s1"] and [c.group for c in second] == ["s2"]
    assert first[0].sites[0]["start_url"] == "http://www0.example.gov.cn/"
    assert queue.claim(crawl, "w3", 5) == []
    assert not queue.complete(crawl, "w2", first[0], {})  # not w2's lease
    assert queue.complete(crawl, "w1", first[0], {"captures": 3})
    assert queue.progress(crawl) == {"queued": 0, "leased": 2, "done": 1, "failed": 0}
    assert queue.renew(crawl, "w1", first) == {"s0"}  # done: no longer held
    assert queue.release(crawl, "w2", second[0])  # a clean stop gives it back at once
    again = queue.claim(crawl, "w3", 5)
    assert [(c.group, c.attempt) for c in again] == [("s2", 2)]


def test_an_expired_lease_goes_back_to_the_head_of_the_queue(queue):
    crawl = queue.enqueue(registry(3), None, lease_ttl=0.3)
    [dead] = queue.claim(crawl, "dead", 1)
    [alive] = queue.claim(crawl, "alive", 1)
    for _ in range(4):
        time.sleep(0.1)
        assert queue.renew(crawl, "alive", [alive]) == set()
    time.sleep(0.05)
    [taken] = queue.claim(crawl, "other", 1)
    assert (taken.group, taken.attempt) == (dead.group, 2)  # before s2, still queued
    assert queue.renew(crawl, "dead", [dead]) == {dead.group}
    assert not queue.complete(crawl, "dead", dead, {})  # the new holder finishes it


def test_work_finished_after_expiry_counts_when_nobody_took_the_group(queue):
    crawl = queue.enqueue(registry(2), None, lease_ttl=0.2)
    [slow] = queue.claim(crawl, "slow", 1)
    time.sleep(0.3)
    queue.claim(crawl, "other", 0)  # nothing claimed; requeues nothing either (count 0)
    [next_one] = queue.claim(crawl, "other", 1)  # requeues s0 first, then takes it
    assert next_one.group == "s0"
    queue.release(crawl, "other", next_one)
    assert queue.complete(crawl, "slow", slow, {})  # waiting in the queue: taken out
    assert queue.progress(crawl) == {"queued": 1, "leased": 0, "done": 1, "failed": 0}


def test_a_group_whose_workers_keep_dying_is_set_aside_as_failed(queue):
    crawl = queue.enqueue(registry(1), None, lease_ttl=0.1, max_expiries=2)
    for _ in range(2):
        assert len(queue.claim(crawl, "doomed", 1)) == 1
        time.sleep(0.15)
    assert queue.claim(crawl, "next", 1) == []
    status = queue.status(crawl)
    assert status["counts"] == {"queued": 0, "leased": 0, "done": 0, "failed": 1}
    assert "expired 2 times" in status["failed"]["s0"]["reason"]
    assert queue.is_complete(crawl)
    assert queue.requeue_failed(crawl) == 1
    assert [c.attempt for c in queue.claim(crawl, "next", 1)] == [3]


def test_a_new_crawl_waits_for_the_unfinished_one_unless_replacing(queue):
    first = queue.enqueue(registry(2), None)
    with pytest.raises(QueueError, match="not finished"):
        queue.enqueue(registry(2), None)
    second = queue.enqueue(registry(1), None, replace=True)
    assert queue.current().id == second.id != first.id
    assert queue.server.ttl(first.key("queue")) > 0  # kept a while for --status


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_group_is_ever_held_by_two_live_workers(queue, seed):
    """Workers claim, renew, finish, stall and die in a seeded random order on short
    leases; at every step each group has at most one worker that believes it holds it
    and could still renew it, and in the end every group is done."""
    rng = random.Random(seed)
    ttl = 0.25
    crawl = queue.enqueue(registry(12), None, lease_ttl=ttl, max_expiries=50)
    held: dict[str, dict] = {f"w{i}": {} for i in range(4)}  # worker -> group -> (claim, renewed)
    dead: set[str] = set()
    deadline = time.monotonic() + 30
    while not queue.is_complete(crawl):
        assert time.monotonic() < deadline, queue.status(crawl)
        worker = rng.choice(sorted(held))
        action = rng.random()
        now = time.monotonic()
        mine = held[worker]
        if worker in dead:
            if action < 0.1:  # restarted with a new name: the old leases are lost
                dead.discard(worker)
                mine.clear()
            continue
        if action < 0.3:
            for claim in queue.claim(crawl, worker, rng.randint(1, 3)):
                mine[claim.group] = (claim, now)
        elif action < 0.6 and mine:
            lost = queue.renew(crawl, worker, [c for c, _ in mine.values()])
            for group in list(mine):
                if group in lost:
                    del mine[group]
                else:
                    mine[group] = (mine[group][0], now)
        elif action < 0.8 and mine:
            group = rng.choice(sorted(mine))
            claim, renewed = mine.pop(group)
            if now - renewed < ttl * 0.8:  # a worker finishes only while its lease is safe
                queue.complete(crawl, worker, claim, {})
        elif action < 0.85:
            dead.add(worker)  # killed: its leases expire
        else:
            time.sleep(rng.uniform(0, ttl / 2))  # a stall
        # The property: no group is believed held, and safely renewed, by two workers.
        now = time.monotonic()
        believers: dict[str, list[str]] = {}
        for name, groups in held.items():
            if name in dead:
                continue
            for group, (_, renewed) in groups.items():
                if now - renewed < ttl * 0.8:
                    believers.setdefault(group, []).append(name)
        assert all(len(names) == 1 for names in believers.values()), believers
        for group, names in believers.items():
            holder = queue.status(crawl)["leased"]
            owners = {lease["group"]: lease["worker"] for lease in holder}
            assert owners.get(group) in (names[0], None), (group, names, owners)
    status = queue.status(crawl)
    assert status["counts"]["done"] == 12 and status["counts"]["failed"] == 0


def test_an_unreachable_redis_is_one_clear_error():
    with pytest.raises(QueueError, match=r"cannot reach Redis at redis://127\.0\.0\.1:1/0"):
        connect("redis://127.0.0.1:1/0", timeout=2)
    with pytest.raises(QueueError, match="is not a Redis URL"):
        connect("http://example.org/")
    assert redacted("redis://:secret@h:6379/0") == "redis://:***@h:6379/0"
    assert redacted("redis://user:secret@h/0") == "redis://user:***@h/0"


def test_a_clean_stop_with_downloads_in_flight_gives_the_group_back_after_them(queue):
    crawl = queue.enqueue(registry(1), None, lease_ttl=30, max_expiries=1)
    [claim] = queue.claim(crawl, "stopping", 1)
    assert queue.release(crawl, "stopping", claim, grace=0.3)
    assert queue.claim(crawl, "next", 1) == []  # its last downloads may still be running
    assert 0 < queue.status(crawl)["leased"][0]["expires_in"] <= 0.3
    time.sleep(0.35)
    [again] = queue.claim(crawl, "next", 1)  # not set aside: a release is not an expiry
    assert (again.group, again.attempt) == ("s0", 2)
