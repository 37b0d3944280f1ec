"""The parse pool: outcomes in job order whatever finishes first, a bound per job, and a
worker that dies or hangs costs its job a status and nothing else."""

from __future__ import annotations

import random
import time

from archive.parse import ParseError
from archive.parse.isolate import NO_JOB_YET, ParsePool

TASK = "tests.parse.pool_tasks:behave"


def test_outcomes_come_back_in_job_order():
    rng = random.Random(7)
    plan = [(n, f"sleep:{rng.choice([0, 0, 0.05, 0.2])}") for n in range(30)]
    with ParsePool(3, timeout=30, task=TASK) as pool:
        got = list(pool.map((n, (n, how), {}) for n, how in plan))
    assert [key for key, _ in got] == list(range(30))
    assert [value for _, value in got] == list(range(30))


def test_a_hung_job_times_out_and_a_dead_worker_is_replaced():
    plan = ["ok", "sleep:30", "ok", "die", "ok", "ok", "ok"]
    with ParsePool(2, timeout=1.5, task=TASK) as pool:
        got = dict(pool.map((n, (n, how), {}) for n, how in enumerate(plan)))
    assert isinstance(got[1], ParseError) and got[1].status == "timeout"
    assert isinstance(got[3], ParseError) and got[3].status == "worker_died"
    assert "exited with status 7" in got[3].message
    assert [got[n] for n in (0, 2, 4, 5, 6)] == [0, 2, 4, 5, 6]


def test_the_default_task_is_the_parser():
    html = ("<html><head><title>x</title></head><body><p>页面不存在</p></body></html>").encode()
    with ParsePool(2) as pool:
        ((key, parsed),) = list(pool.map([("a", (html,), {"source": "a.html"})]))
    assert key == "a" and parsed.status == "not_a_report"


def test_a_source_with_no_job_yet_gets_the_outcomes_it_waits_for():
    """A job source following a crawl says "nothing yet" (NO_JOB_YET): the pool gives back
    what its workers finished meanwhile instead of waiting for the next job."""
    received: list[int] = []
    deadline = time.monotonic() + 30

    def jobs():
        yield 0, (0, "ok"), {}
        while 0 not in received:  # the next job comes only once the first is given back
            assert time.monotonic() < deadline, "the pool held the first outcome back"
            yield NO_JOB_YET
        yield 1, (1, "ok"), {}

    with ParsePool(2, timeout=30, task=TASK, poll=0.05) as pool:
        for key, value in pool.map(jobs()):
            received.append(key)
            assert key == value
    assert received == [0, 1]
