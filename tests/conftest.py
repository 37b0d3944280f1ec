"""Shared fixtures: the project's own copies of the real corpus, and the simulated web."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "corpus"


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
