"""Shared fixtures: the project's own copies of the real corpus, and the simulated web."""

from __future__ import annotations

import json
import socket
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


def expected_path(doc: Path) -> Path:
    return doc.parent / (doc.name.rsplit(".", 1)[0] + ".expected.json")


def corpus_documents() -> list[Path]:
    """Every real document with an expected parse beside it."""
    return sorted(
        p for p in CORPUS.iterdir() if not p.name.endswith(".json") and expected_path(p).exists()
    )


def expected_for(doc: Path) -> dict:
    return json.loads(expected_path(doc).read_text(encoding="utf-8"))


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
