"""The dependencies in pyproject.toml are the ones the code imports, and CI installs what it says.

Every module imported (found by walking the code, not by memory) belongs to a declared
distribution: runtime code to a runtime dependency, tests and benchmarks to those or the
``test`` extra. Every runtime dependency is imported by the runtime code, or named here
with the reason it is needed without an import. When CI installs the lowest versions the
ranges allow (``NIANBAO_RESOLUTION=lowest``, see ``.ci/run``) every direct dependency
must be at its declared minimum: the run then proves those minimums work.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import os
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OWN = {"nianbao", "archive", "crawler", "simweb", "tests", "benchmarks"}
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
RUNTIME = PROJECT["dependencies"]
TEST = PROJECT["optional-dependencies"]["test"]
# Needed at run time, though nothing imports them.
NOT_IMPORTED = {
    "datasette-vega": "a Datasette plugin (by entry point): the charts of the stored queries",
}
# Needed by the tests, though nothing imports them.
TEST_NOT_IMPORTED = {
    "pytest": "the test runner",
    "ruff": "CI's linter and formatter",
    "import-linter": "tests/test_layout.py runs its contracts (lint-imports)",
    "mypy": "CI's type checker",
    "hatchling": "builds the wheel tests/jobs/test_installed_wheel.py installs",
}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement(spec: str) -> tuple[str, str | None]:
    """``"scrapy>=2.12,<3"`` → ``("scrapy", "2.12")``: the name and the declared minimum."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec).group()
    low = re.search(r">=\s*([0-9][0-9A-Za-z.]*)", spec)
    return normalise(name), low.group(1) if low else None


def imported_modules(*folders: str) -> set[str]:
    """Top-level names of every absolute import in the folders, but the stdlib's and ours."""
    found = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in OWN}


@functools.cache
def _by_module() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distributions_of(module: str) -> set[str]:
    return {normalise(d) for d in _by_module().get(module, [])}


def undeclared(modules: set[str], declared: set[str]) -> dict[str, set[str]]:
    return {m: distributions_of(m) for m in modules if not distributions_of(m) & declared}


def test_runtime_code_imports_only_runtime_dependencies():
    declared = {requirement(r)[0] for r in RUNTIME}
    assert undeclared(imported_modules("nianbao", "archive", "crawler", "simweb"), declared) == {}


def test_tests_and_benchmarks_import_only_declared_dependencies():
    declared = {requirement(r)[0] for r in RUNTIME + TEST}
    assert undeclared(imported_modules("tests", "benchmarks"), declared) == {}


def test_every_runtime_dependency_is_needed():
    used = set()
    for module in imported_modules("nianbao", "archive", "crawler", "simweb"):
        used |= distributions_of(module)
    unused = {requirement(r)[0] for r in RUNTIME} - used - set(NOT_IMPORTED)
    assert unused == set(), "declared but never imported: move to an extra, or say why"


def test_every_test_dependency_is_needed():
    used = set()
    for module in imported_modules("tests", "benchmarks"):
        used |= distributions_of(module)
    unused = {requirement(r)[0] for r in TEST} - used - set(TEST_NOT_IMPORTED)
    assert unused == set()


def test_every_direct_dependency_has_a_minimum():
    assert [r for r in RUNTIME + TEST if requirement(r)[1] is None] == []


def _release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in re.match(r"[0-9]+(\.[0-9]+)*", version).group().split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


@pytest.mark.skipif(
    os.environ.get("NIANBAO_RESOLUTION") != "lowest",
    reason="only when CI installed the lowest resolution (NIANBAO_RESOLUTION=lowest)",
)
def test_the_lowest_resolution_installed_every_minimum():
    wrong = {}
    for spec in RUNTIME + TEST:
        name, low = requirement(spec)
        installed = importlib.metadata.version(name)
        if _release(installed) != _release(low):
            wrong[name] = f"{installed} installed, minimum {low}"
    assert wrong == {}


def installed_versions() -> str:
    """``scrapy 2.12.0, twisted 23.10.0, …``: what this run imports (the report header)."""
    versions = []
    for spec in RUNTIME + TEST:
        name = requirement(spec)[0]
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    return ", ".join(versions)
