"""The folders are the pipeline: each stage of archive/ imports only the stages before it,
and only nianbao drives the crawler and the simulated web.

The rules themselves are import-linter contracts in ``pyproject.toml``; these tests run
them (and show that a stage importing a later one does break them), keep the package
tree of docs/architecture.md true to the folders, and hold the README and docs/ to
their links and the README to its length and its first two commands.
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


# -- the docs: the package tree of docs/architecture.md, the README, the links ----------------

DOCS = ROOT / "docs"
DEMO_COMMAND = "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && nianbao demo"
TEST_COMMAND = (
    "bash .ci/system-packages && python3 -m venv .venv && . .venv/bin/activate"
    " && pip install -e '.[test]' && python -m pytest"
)
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


def docs_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _prose(text: str) -> str:
    """``text`` without its fenced code blocks (links there are code, not links)."""
    return re.sub(r"^ {0,3}```.*?^ {0,3}```", "", text, flags=re.S | re.M)


def links(path: Path) -> list[str]:
    """The targets of the markdown links ``[text](target)`` in ``path``'s prose."""
    prose = re.sub(r"`[^`\n]*`", "", _prose(path.read_text(encoding="utf-8")))
    return re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", prose)


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of ``path``: lower case, punctuation
    dropped (Chinese kept), spaces as hyphens, ``-1``, ``-2`` … on repeats."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", _prose(path.read_text("utf-8")), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def test_heading_anchors_are_githubs():
    assert heading_anchors(DOCS / "interfaces.md") >= {
        "command-line-nianbao",
        "site-registry-csv-utf-8-header-row",
    }
    assert "the-arithmetic-rules-勾稽关系-a-report-must-satisfy" in heading_anchors(
        DOCS / "report-json.md"
    )


def test_every_relative_link_leads_to_a_file_and_heading_that_exist():
    broken = []
    for page in [ROOT / "README.md", *docs_pages()]:
        for target in links(page):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …
                continue
            file, _, anchor = target.partition("#")
            linked = (page.parent / file).resolve() if file else page
            where = f"{page.relative_to(ROOT)}: {target}"
            if not linked.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
                broken.append(f"{where} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_every_repository_path_the_docs_name_exists():
    """A path of the repository in backquotes (`crawler/middlewares/scope.py`) names a file
    or folder that exists: a module that moves takes its mentions along."""
    tops = "|".join(re.escape(top) for top in (*PACKAGES, "tests", "benchmarks", "docs", ".ci"))
    gone = []
    for page in [ROOT / "README.md", *docs_pages()]:
        for path in re.findall(rf"`((?:{tops})/[^`\s<>*…]*)`", page.read_text("utf-8")):
            if not (ROOT / path).exists():
                gone.append(f"{page.relative_to(ROOT)}: {path}")
    assert not gone, "paths named that do not exist:\n" + "\n".join(gone)


def module_name_exists(dotted: str) -> bool:
    """``archive.store`` is a package, ``nianbao.process`` a module, ``archive.export.snapshot.
    latest_snapshot`` a name defined at the top of a module."""
    parts = dotted.split(".")
    path = ROOT
    for i, part in enumerate(parts):
        if (path / part / "__init__.py").exists():
            path = path / part
        elif (path / f"{part}.py").exists():
            path = path / f"{part}.py"
        else:
            rest = parts[i:]
            if len(rest) != 1 or path == ROOT:
                return False
            source = path / "__init__.py" if path.is_dir() else path
            name = re.escape(rest[0])
            return bool(
                re.search(
                    rf"^(?:def|class) {name}\b|^{name}\s*[:=]", source.read_text("utf-8"), re.M
                )
            )
    return True


def test_every_module_the_docs_name_exists():
    """A module in backquotes (`archive.export.snapshot.latest_snapshot`) or run as
    ``python -m`` exists: ``python -m archive`` is ``python -m nianbao`` now."""
    tops = "|".join((*PACKAGES, "benchmarks"))
    gone = []
    for page in [ROOT / "README.md", *docs_pages()]:
        text = page.read_text("utf-8")
        dotted = re.findall(rf"`((?:{tops})(?:\.[A-Za-z_]\w*)+)`", text)
        run = re.findall(rf"python3? -m ((?:{tops})(?:\.\w+)*)", text)
        for name in dotted + run:
            if name.rsplit(".", 1)[-1] in (
                "py",
                "csv",
                "md",
                "json",
            ):  # a file: a user's crawler.py
                continue
            if not module_name_exists(name):
                gone.append(f"{page.relative_to(ROOT)}: {name}")
        for name in run:
            package = ROOT.joinpath(*name.split("."))
            if package.is_dir() and not (package / "__main__.py").exists():
                gone.append(f"{page.relative_to(ROOT)}: python -m {name} (no __main__.py)")
    assert not gone, "modules named that do not exist:\n" + "\n".join(gone)


def test_module_name_exists_tells_modules_packages_and_names_from_what_is_gone():
    assert module_name_exists("archive.store")
    assert module_name_exists("nianbao.process")
    assert module_name_exists("archive.export.snapshot.latest_snapshot")
    assert not module_name_exists("archive.jobs")
    assert not module_name_exists("archive.jobs.cli")
    assert not module_name_exists("crawler.scheduling.no_such_name")


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; docs/ is for the rest"


def test_readme_links_every_docs_page():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(ROOT / "README.md")}
    assert docs_pages()
    for page in docs_pages():
        assert page.resolve() in linked, f"README.md does not link docs/{page.name}"


def test_readme_starts_with_the_demo_and_the_test_command():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)
    assert [(lang, body) for lang, body in blocks[:2]] == [
        ("sh", DEMO_COMMAND + "\n"),
        ("sh", TEST_COMMAND + "\n"),
    ]
