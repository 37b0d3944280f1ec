"""The folders are the pipeline: each stage of archive/ imports only the stages before it,
and only nianbao drives the crawler and the simulated web.

The rules themselves are import-linter contracts in ``pyproject.toml``; these tests run
them (and show that a stage importing a later one does break them), and keep the
package tree of docs/architecture.md true to the folders.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nianbao", "crawler", "archive", "simweb")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter over the packages found under ``root``, with ``root``'s contracts."""
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_store_module_importing_a_later_stage_breaks_the_contract(tmp_path):
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.csv", "*.pdf"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    schema = tmp_path / "archive" / "store" / "schema.py"
    schema.write_text(schema.read_text() + "\nfrom nianbao import cli  # noqa\n")
    spider = tmp_path / "crawler" / "spiders" / "reports.py"
    spider.write_text(spider.read_text() + "\nimport simweb  # noqa\n")
    checks = tmp_path / "archive" / "checks.py"
    checks.write_text(checks.read_text() + "\nimport crawler.runner  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "archive.store.schema -> nianbao.cli" in result.stdout
    assert "crawler.spiders.reports -> simweb" in result.stdout
    assert "archive.checks -> crawler.runner" in result.stdout


def import_cycles(packages: tuple[str, ...] = PACKAGES) -> list[list[str]]:
    """The groups of modules that import each other in a circle (directly or through
    others), found as the strongly connected components of grimp's import graph (the
    graph import-linter itself reads), function-local imports included."""
    import grimp

    graph = grimp.build_graph(*packages, cache_dir=None)
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            group = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return cycles


def test_no_module_imports_itself_in_a_circle():
    assert import_cycles() == []


def _readme_tree() -> str:
    """The package tree, in docs/architecture.md since the README points there."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The package tree", 1)[1]
    return section.split("```", 2)[1]


def test_readme_tree_names_every_stage_and_module():
    tree = _readme_tree()
    for folder in sorted(
        p for p in (ROOT / "archive").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    ):
        assert re.search(rf"^\s+{folder.name}/", tree, re.M), (
            f"archive/{folder.name}/ not in README"
        )
        for module in sorted(folder.glob("*.py")):
            if module.name != "__init__.py":
                assert module.name in tree or module.stem in tree, (
                    f"archive/{folder.name}/{module.name} not in the README tree"
                )
    for module in (ROOT / "archive").glob("*.py"):
        if module.name not in ("__init__.py", "__main__.py"):
            assert module.name in tree, f"archive/{module.name} not in the README tree"


def test_readme_tree_names_nothing_that_is_gone():
    tree = _readme_tree()
    for name in re.findall(r"\b([a-z_]+\.(?:py|csv))\b", tree):
        found = [p for top in (*PACKAGES, "tests") for p in (ROOT / top).rglob(name)]
        assert found, f"the README tree names {name}, which is gone"
