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


# -- the package tree of docs/architecture.md -----------------------------------------------

DOCS = ROOT / "docs"
# A name the tree gives a file or a folder: ``cli.py``, ``sites.csv``, ``spiders/``.
_TREE_NAME = r"[a-z_][a-z0-9_]*(?:\.(?:py|csv)|/)"
_TREE_ENTRY = re.compile(rf"{_TREE_NAME}(?:\s*[,+]\s*{_TREE_NAME})*")


def architecture_tree() -> str:
    """The code block under "The package tree" in docs/architecture.md."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The package tree", 1)[1]
    return section.split("```", 2)[1]


def tree_paths(tree: str) -> set[str]:
    """Every path the tree names, from its indentation: two spaces per folder level.

    An entry line starts, at the indentation of its level, with the names of one or
    more files or folders (``html.py, pdf.py + pdfgrid.py``); a folder alone on its
    line opens a level. Any other line (indented deeper than a level could be, or not
    starting with a name) continues the description of the line above."""
    paths: set[str] = set()
    folders: list[str] = []
    for line in tree.splitlines():
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if not stripped or indent % 2 or indent // 2 > len(folders):
            continue
        entry = _TREE_ENTRY.match(stripped)
        if not entry or not (entry.end() == len(stripped) or stripped[entry.end()] == " "):
            continue
        del folders[indent // 2 :]
        names = re.findall(_TREE_NAME, entry.group())
        for name in names:
            paths.add("/".join([*folders, name.rstrip("/")]))
        if len(names) == 1 and names[0].endswith("/"):
            folders.append(names[0].rstrip("/"))
    return paths


def test_tree_paths_reads_levels_lists_and_descriptions():
    tree = """
top/             a package: the description
                 goes on here, naming other.py in passing
  a.py, b.csv (data)
  sub/             a folder
    c.py + d.py        two modules
                       more words
    deeper/
      e.py             deepest
  f.py             back one level
other/
"""
    assert tree_paths(tree) == {
        "top",
        "top/a.py",
        "top/b.csv",
        "top/sub",
        "top/sub/c.py",
        "top/sub/d.py",
        "top/sub/deeper",
        "top/sub/deeper/e.py",
        "top/f.py",
        "other",
    }


def code_files(package: str) -> list[Path]:
    """The folders (Python packages) and the modules and data files of ``package`` that the
    tree must name: every ``.py`` but ``__init__.py`` and every ``.csv``, at any depth."""
    found = []
    for folder in sorted((ROOT / package).rglob("__init__.py")):
        folder = folder.parent
        if folder != ROOT / package:
            found.append(folder)
        found += sorted(
            p for p in folder.iterdir() if p.suffix in (".py", ".csv") and p.name != "__init__.py"
        )
    return found


def test_architecture_tree_names_every_folder_and_module():
    named = tree_paths(architecture_tree())
    missing = [
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in [ROOT / package, *code_files(package)]
        if path.relative_to(ROOT).as_posix() not in named
    ]
    assert not missing, (
        "not named in their folder in the tree of docs/architecture.md (a module added or "
        "moved takes its line there along): " + ", ".join(missing)
    )


def test_architecture_tree_names_nothing_that_is_gone():
    gone = [path for path in sorted(tree_paths(architecture_tree())) if not (ROOT / path).exists()]
    assert not gone, "the tree of docs/architecture.md names what is gone: " + ", ".join(gone)


def test_the_tree_test_fails_on_a_module_left_out():
    """The tree without one module's line is caught (so the test above can fail)."""
    tree = architecture_tree()
    assert "    hostqueue.py" in tree
    shortened = "\n".join(line for line in tree.splitlines() if "hostqueue.py" not in line)
    assert "crawler/scheduling/hostqueue.py" not in tree_paths(shortened)
    assert "crawler/scheduling/frontier.py" in tree_paths(shortened)
