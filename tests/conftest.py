"""Shared fixtures: the project's own copies of the real corpus, the simulated web, and the
default world crawled (and processed) once per test session, for the tests that only need
an archive of it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from simweb.sites import CORPUS as CORPUS_DIR

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = CORPUS_DIR  # the real documents simweb serves, with their expected cells


def pytest_report_header(config) -> list[str]:
    """The Python and the version of every direct dependency, at the top of every run: the
    log of a CI run shows which resolution (newest or lowest) it tested."""
    import os
    import platform

    from tests.test_dependencies import installed_versions

    resolution = os.environ.get("NIANBAO_RESOLUTION", "as installed")
    return [
        f"nianbao: python {platform.python_version()}, dependencies ({resolution}): "
        + installed_versions()
    ]


# Kinds of test that take longest, started first so that the parallel run ends together.
SLOW_FIRST = ("chaos", "timing", "browser", "wheel", "e2e", "redis", "ocr")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``timing`` share one xdist group (one worker, one after the other), so
    no two of them measure time while competing for the cores; the slow kinds of test come
    first (each module keeps its order)."""
    for item in items:
        if item.get_closest_marker("timing") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("timing"))

    def rank(item) -> int:
        kinds = [k for k in SLOW_FIRST if item.get_closest_marker(k)]
        return SLOW_FIRST.index(kinds[0]) if kinds else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: each module's tests stay in their order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Each test module is one unit of work for pytest-xdist (its module fixtures — a crawl,
    a server — are built once, on one worker); an ``xdist_group`` is one unit across modules."""
    from xdist.scheduler import LoadGroupScheduling

    class ModuleScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            group = super()._split_scope(nodeid)
            return group if group != nodeid else nodeid.split("::", 1)[0]

    return ModuleScheduling(config, log)


def expected_path(doc: Path) -> Path:
    return doc.parent / (doc.name.rsplit(".", 1)[0] + ".expected.json")


def corpus_documents() -> list[Path]:
    """Every real document with an expected parse beside it."""
    return sorted(
        p for p in CORPUS.iterdir() if not p.name.endswith(".json") and expected_path(p).exists()
    )


def expected_for(doc: Path) -> dict:
    return json.loads(expected_path(doc).read_text(encoding="utf-8"))


def require_tool(command: str, package: str) -> str:
    """The path of ``command``. Missing, the test is skipped on a workstation (with the
    reason in pytest's summary) but fails in CI (``CI`` set, as .ci/run does), where
    .ci/system-packages must have installed ``package``: a whole class of tests never
    disappears from CI unnoticed."""
    path = shutil.which(command)
    if path is None:
        message = f"{command} is not installed (.ci/system-packages installs {package})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def simweb(tmp_path_factory):
    """The simulated government web, running in its own process for the whole session."""
    from simweb.process import SimWeb

    with SimWeb(tmp_path_factory.mktemp("simweb"), seed=0) as web:
        yield web


@pytest.fixture(scope="session")
def crawled(simweb, tmp_path_factory) -> Path:
    """The default world crawled into an archive, not yet parsed: the one crawl of it that
    every test needing only such an archive shares (copy it to change it)."""
    from tests.crawling import crawl

    db = tmp_path_factory.mktemp("crawled") / "archive.db"
    crawl(simweb.sites_csv, db)
    return db


@pytest.fixture(scope="session")
def processed(crawled, tmp_path_factory) -> Path:
    """The default world crawled, then parsed and checked by ``nianbao process`` (copy it to
    change it)."""
    from tests.crawling import nianbao

    db = copy_archive(crawled, tmp_path_factory.mktemp("processed") / "archive.db")
    nianbao("process", "--db", db)
    return db


def copy_archive(db: Path, to: Path) -> Path:
    """A consistent copy of an archive (one SQLite transaction)."""
    to.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db)
    try:
        conn.execute("VACUUM INTO ?", [str(to)])
    finally:
        conn.close()
    return to


def in_ci() -> bool:
    """Whether this run is CI (``.ci/run`` sets ``CI``): there a missing system package
    fails the run instead of skipping the tests that need it."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def start_redis(directory: Path) -> tuple[subprocess.Popen, str]:
    """A real ``redis-server`` (Debian's package; ``.ci/system-packages`` installs it) on a
    free loopback port, keeping nothing on disk; returns the process and its URL.

    Without ``redis-server`` the calling test is skipped with the reason, except in CI,
    which installs it and so must run the tests of a crawl on several machines."""
    server = shutil.which("redis-server")
    if server is None:
        reason = "redis-server is not installed (bash .ci/system-packages installs it)"
        if in_ci():
            pytest.fail(f"{reason}; CI must run the tests of a crawl on several machines")
        pytest.skip(reason)
    port = free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
        + ["--save", "", "--appendonly", "no", "--logfile", str(directory / "redis.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"redis-server did not start: {directory / 'redis.log'}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis server for the session's tests (each test uses its own key prefix)."""
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(timeout=10)
