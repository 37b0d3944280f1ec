"""The store is the only code that opens transactions or writes SQL to the archive.

Every module of ``nianbao/``, ``crawler/`` and ``archive/`` outside ``archive/store/`` is
parsed with :mod:`ast` and held to the rule ``archive/store/__init__.py`` states:

- no ``sqlite3.connect`` (the store opens every connection to an archive, a shard or a
  copy of one);
- no ``.execute`` / ``.executemany`` / ``.executescript`` — except on a Redis pipeline
  (a name bound to ``….pipeline(…)`` in the same function), and in ``archive/publish/``,
  which runs Datasette's queries and its own derived-table SQL on connections the store
  or Datasette hands it;
- no ``.db`` / ``.conn`` on an Archive: a name or attribute called ``archive``, a
  parameter annotated ``Archive``, or a name or ``self`` attribute bound to
  ``Archive(…)`` (a multiprocessing connection called ``conn`` is nobody's business);
- no string literal that is a transaction's ``BEGIN``, ``COMMIT`` or ``ROLLBACK``
  (publish included: its refresh runs in the store's transaction);
- no string literal that starts like a statement that writes, defines or tunes a
  database (``INSERT INTO``, ``UPDATE … SET``, ``DELETE FROM``, ``CREATE``, ``DROP``,
  ``ALTER``, ``VACUUM``, ``PRAGMA``) outside ``archive/store/`` and ``archive/publish/``
  (publish defines its own derived tables, views and queries).

A failure names every offence as ``file:line: what``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("nianbao", "crawler", "archive")
STORE = Path("archive/store")
PUBLISH = Path("archive/publish")
EXECUTE = {"execute", "executemany", "executescript"}
CONNECTIONS = {"db", "conn"}

# A string literal that starts like SQL (an f-string's fields read as ``{}``), in any
# letter case. Each keyword needs what follows it in SQL, so that prose ("Delete all but
# …", "Update the site …", "Begin the crawl") is not taken for a statement.
# Opening, ending or undoing a transaction: the store's alone, publish included.
TRANSACTION_CONTROL = re.compile(
    r"""\s*(?:
        BEGIN(?:\s+(?:DEFERRED|IMMEDIATE|EXCLUSIVE))?(?:\s+TRANSACTION)?
      | COMMIT(?:\s+TRANSACTION)?
      | ROLLBACK(?:\s+TRANSACTION)?(?:\s+TO\b.*)?
      | SAVEPOINT\s+\w+
    )\s*;?\s*$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
# Writing, defining or tuning a database: the store's, and publish's for its own tables.
_NAME = r"(?:\"[^\"]+\"|\[[^\]]+\]|\{\}|[\w.]+)"
WRITING = re.compile(
    r"""\s*(?:
        INSERT\s+(?:OR\s+\w+\s+)?INTO\s
      | REPLACE\s+INTO\s
      | UPDATE\s+(?:OR\s+\w+\s+)?NAME\s+SET\s
      | DELETE\s+FROM\s
      | CREATE\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+|VIRTUAL\s+)*
            (?:TABLE|INDEX|VIEW|TRIGGER)\s
      | DROP\s+(?:TABLE|INDEX|VIEW|TRIGGER)\s
      | ALTER\s+TABLE\s
      | VACUUM\b
      | PRAGMA\s+[\w.]+
    )""".replace("NAME", _NAME),
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class Offence:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _annotation_names(node: ast.expr | None) -> set[str]:
    """The names an annotation mentions (``Archive``, ``Archive | None``, ``"Archive"``)."""
    if node is None:
        return set()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _calls(node: ast.expr | None, name: str) -> bool:
    """Is ``node`` a call of ``name(…)`` or ``….name(…)``?"""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == name) or (
        isinstance(func, ast.Attribute) and func.attr == name
    )


def _bound(node: ast.AST) -> list[tuple[ast.expr, ast.expr | None, ast.expr | None]]:
    """(target, value, annotation) of the bindings one statement makes."""
    if isinstance(node, ast.Assign):
        return [(t, node.value, None) for t in node.targets]
    if isinstance(node, ast.AnnAssign):
        return [(node.target, node.value, node.annotation)]
    if isinstance(node, ast.With | ast.AsyncWith):
        return [(i.optional_vars, i.context_expr, None) for i in node.items if i.optional_vars]
    return []


def _key(target: ast.expr) -> str | None:
    """``x`` for a name, ``self.x`` for an attribute of self: what a binding binds."""
    if isinstance(target, ast.Name):
        return target.id
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    ):
        return f"self.{target.attr}"
    return None


class _Scope:
    """The names one function (or a module's top level) binds to an Archive or a pipeline."""

    def __init__(self, body: ast.AST, archive_attributes: set[str]):
        self.archives = set(archive_attributes)
        self.pipelines: set[str] = set()
        if isinstance(body, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = body.args
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
                if "Archive" in _annotation_names(arg.annotation):
                    self.archives.add(arg.arg)
        for node in _own_nodes(body):
            for target, value, annotation in _bound(node):
                key = _key(target)
                if key is None:
                    continue
                if _calls(value, "Archive") or "Archive" in _annotation_names(annotation):
                    self.archives.add(key)
                if _calls(value, "pipeline"):
                    self.pipelines.add(key)


def _own_nodes(scope: ast.AST):
    """The nodes of a function or module that are not inside a nested function or class."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))


def _archive_attributes(cls: ast.ClassDef) -> set[str]:
    """``self.x`` of every attribute a class binds to an Archive in any of its methods."""
    found = set()
    for node in ast.walk(cls):
        for target, value, annotation in _bound(node):
            key = _key(target)
            if (
                key
                and key.startswith("self.")
                and (_calls(value, "Archive") or "Archive" in _annotation_names(annotation))
            ):
                found.add(key)
    return found


def _expression_key(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _is_archive(node: ast.expr, scope: _Scope) -> bool:
    """Is ``node`` an Archive: called ``archive``, or bound to one in its scope?"""
    if isinstance(node, ast.Name) and node.id == "archive":
        return True
    if isinstance(node, ast.Attribute) and node.attr == "archive":
        return True
    return _expression_key(node) in scope.archives


def _sqlite3_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """The names the module gives the sqlite3 module, and its ``connect`` function."""
    modules, connects = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "sqlite3"}
        elif isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            connects |= {a.asname or a.name for a in node.names if a.name == "connect"}
    return modules, connects


def _string_text(node: ast.expr) -> str | None:
    """A string literal's text, an f-string's with ``{}`` for each field."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
            for v in node.values
        )
    return None


def check_module(path: Path, relative: Path) -> list[Offence]:
    """Every offence against the store's SQL boundary in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    in_publish = relative.is_relative_to(PUBLISH)
    modules, connects = _sqlite3_names(tree)
    # The literal parts of an f-string are read with it, not again on their own.
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    offences: list[Offence] = []

    def offence(node: ast.AST, what: str) -> None:
        offences.append(Offence(relative.as_posix(), getattr(node, "lineno", 0), what))

    def visit(scope_node: ast.AST, archive_attributes: set[str]) -> None:
        scope = _Scope(scope_node, archive_attributes)
        for node in _own_nodes(scope_node):
            if isinstance(node, ast.ClassDef):
                visit(node, _archive_attributes(node))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(node, scope.archives)
            elif isinstance(node, ast.Call):
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr == "connect"
                    and isinstance(func.value, ast.Name)
                    and func.value.id in modules
                ) or (isinstance(func, ast.Name) and func.id in connects):
                    offence(node, "sqlite3.connect: the store opens connections")
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in EXECUTE
                    and not in_publish
                    and _expression_key(func.value) not in scope.pipelines
                ):
                    offence(node, f".{func.attr}(): SQL belongs in the store")
            elif isinstance(node, ast.Attribute) and node.attr in CONNECTIONS:
                if _is_archive(node.value, scope):
                    offence(node, f"Archive.{node.attr}: the archive's connection is the store's")
            elif isinstance(node, ast.expr) and id(node) not in parts:
                text = _string_text(node)
                if text is None:
                    continue
                first = text.strip().splitlines()[0][:40] if text.strip() else ""
                if TRANSACTION_CONTROL.match(text):
                    offence(node, f"SQL statement {first!r}: transactions are the store's")
                elif not in_publish and WRITING.match(text):
                    offence(node, f"SQL statement {first!r}: SQL belongs in the store")

    visit(tree, set())
    return sorted(offences, key=lambda o: o.line)


def check_tree(root: Path) -> list[Offence]:
    """Every offence in the packages under ``root``, the store itself apart."""
    offences = []
    for package in CHECKED:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if not relative.is_relative_to(STORE):
                offences += check_module(path, relative)
    return offences


# -- the rule, held ---------------------------------------------------------------------
def test_only_the_store_opens_connections_and_writes_sql():
    offences = check_tree(ROOT)
    assert not offences, "SQL outside the store:\n" + "\n".join(map(str, offences))


# -- the rule, shown to bite ------------------------------------------------------------
BREAKS = """
import sqlite3
from sqlite3 import connect as open_db

from archive.store import Archive


def count(path):
    conn = sqlite3.connect(path)
    other = open_db(path)
    return conn.execute("select count(*) from reports").fetchone()[0], other


def merge(archive: Archive, rows):
    archive.db.conn.executemany("insert into t values (?)", rows)


class Job:
    def __init__(self, path):
        self.store = Archive(path)

    def run(self):
        with Archive("x.db") as opened:
            opened.conn.close()
        self.store.db.execute("select 1")
        return "BEGIN IMMEDIATE", f"UPDATE {self} SET a = 1", "delete from cells where 1"
"""


def _write_module(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_checker_names_each_offence_by_file_and_line(tmp_path):
    _write_module(tmp_path, "nianbao/job.py", BREAKS)
    found = {(o.path, o.line, o.what.split(":")[0]) for o in check_tree(tmp_path)}
    assert found == {
        ("nianbao/job.py", 9, "sqlite3.connect"),
        ("nianbao/job.py", 10, "sqlite3.connect"),
        ("nianbao/job.py", 11, ".execute()"),
        ("nianbao/job.py", 15, "Archive.db"),
        ("nianbao/job.py", 15, ".executemany()"),
        ("nianbao/job.py", 15, "SQL statement 'insert into t values (?)'"),
        ("nianbao/job.py", 24, "Archive.conn"),
        ("nianbao/job.py", 25, "Archive.db"),
        ("nianbao/job.py", 25, ".execute()"),
        ("nianbao/job.py", 26, "SQL statement 'BEGIN IMMEDIATE'"),
        ("nianbao/job.py", 26, "SQL statement 'UPDATE {} SET a = 1'"),
        ("nianbao/job.py", 26, "SQL statement 'delete from cells where 1'"),
    }
    failure = str(check_tree(tmp_path)[0])
    assert failure.startswith("nianbao/job.py:9: sqlite3.connect")


def test_the_store_itself_and_publishs_own_sql_are_allowed(tmp_path):
    _write_module(tmp_path, "archive/store/shards.py", BREAKS)
    _write_module(
        tmp_path,
        "archive/publish/views.py",
        """
        def refresh(conn):
            conn.execute("DELETE FROM report_t2")
            conn.executemany("INSERT INTO report_t2 VALUES (?)", [])
        """,
    )
    assert check_tree(tmp_path) == []


def test_publish_opens_no_connection_and_touches_no_archive_connection(tmp_path):
    _write_module(
        tmp_path,
        "archive/publish/prepare.py",
        """
        import sqlite3

        def prepare_file(path, archive):
            conn = sqlite3.connect(path)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM publish_state")
            return conn, archive.db
        """,
    )
    assert [str(o) for o in check_tree(tmp_path)] == [
        "archive/publish/prepare.py:5: sqlite3.connect: the store opens connections",
        "archive/publish/prepare.py:6: SQL statement 'BEGIN IMMEDIATE': transactions are the "
        "store's",
        "archive/publish/prepare.py:8: Archive.db: the archive's connection is the store's",
    ]


def test_what_only_looks_like_the_archives_sql_is_allowed(tmp_path):
    _write_module(
        tmp_path,
        "crawler/distributed/queue.py",
        '''
        """Delete all but the newest snapshots. Update the site's start URL, then begin."""

        def enqueue(server, conn):
            pipe = server.pipeline(transaction=True)
            pipe.rpush("queue", "a")
            pipe.execute()
            conn.send("work")  # a multiprocessing connection
            return "Begin the crawl", "commit every 100 captures", "pragmatic"

        class Worker:
            def __init__(self, conn, db: str):
                self.conn = conn
                self.db = db

            def close(self):
                self.conn.close()
                return self.db
        ''',
    )
    assert check_tree(tmp_path) == []


def test_a_pipeline_in_one_function_does_not_excuse_a_cursor_in_another(tmp_path):
    _write_module(
        tmp_path,
        "nianbao/mixed.py",
        """
        def queue(server):
            pipe = server.pipeline()
            return pipe.execute()

        def read(conn):
            pipe = conn.cursor()
            return pipe.execute("select 1")
        """,
    )
    assert [str(o) for o in check_tree(tmp_path)] == [
        "nianbao/mixed.py:8: .execute(): SQL belongs in the store"
    ]
