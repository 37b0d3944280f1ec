"""A snapshot opened without nianbao: Datasette alone, sqlite-utils alone, the sqlite3 shell.

Each tool runs from a virtualenv holding that tool and nothing of the project (created
once and kept in ``build/standalone-venvs/``, or ``$NIANBAO_STANDALONE_VENVS``); the
tests first prove nianbao cannot be imported there and no nianbao plugin is loaded. The
snapshot is a real one (:func:`archive.export.snapshot.make_snapshot` over an archive
prepared for publishing); the commands are the ones its README documents. Every search
must give exactly the reports nianbao's own search gives, which are exactly the reports
whose title or text contains the word — a word of two characters and one of thirteen
alike, each by the way the README says.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from datasette.utils import tilde_encode

from archive.export.snapshot import make_snapshot
from archive.publish import prepare
from archive.publish.search import search
from tests.conftest import free_port, require_tool
from tests.publish.test_publish_search import SITES, add_report, truth

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
VENVS = Path(os.environ.get("NIANBAO_STANDALONE_VENVS", ROOT / "build" / "standalone-venvs"))
# What a reader would type into each stored query's parameters (others left empty).
SAMPLE_PARAMS = {
    "region": "新乡市",
    "year": "2023",
    "q": "复议",
    "section": "问题",
    "omit_failing": "1",
    "rows": "10",
}
# Longer than the n-gram pieces of reports_fts: found by reports_long_fts.
LONG = "棚户区改造项目征收补偿安置"
WORDS = ["复议", "行政复议", "拆迁", "最低生活保障", "信息处理费", LONG]
TEXT_WORDS = [
    LONG,
    "行政复议",
    "复议",
    "拆迁",
    "征地拆迁",
    "最低生活保障",
    "低保",
    "信息处理费",
    "依申请公开",
]


def venv_with(package: str) -> Path:
    """A virtualenv with ``package`` (the version installed here) and its dependencies only."""
    pinned = f"{package}=={version(package)}"
    folder = VENVS / f"{package}-{version(package)}-py{sys.version_info[0]}{sys.version_info[1]}"
    python = folder / "bin" / "python"
    done = folder / ".complete"  # written last: a half-built venv is rebuilt
    if (
        done.exists()
        and _run([python, "-c", f"import {package.replace('-', '_')}"]).returncode == 0
    ):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # The base interpreter, not this virtualenv's: nothing of ours comes along.
    base = getattr(sys, "_base_executable", sys.executable)
    assert _run([base, "-m", "venv", str(folder)]).returncode == 0
    result = _run([folder / "bin" / "pip", "install", "-q", pinned], timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    done.write_text(pinned + "\n")
    return folder


def _run(command, cwd=None, timeout=120, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
        **kwargs,
    )


def assert_without_nianbao(venv: Path, cwd: Path) -> None:
    """The proof: the project cannot be imported, and no distribution of it is installed."""
    python = venv / "bin" / "python"
    imported = _run([python, "-c", "import archive.publish"], cwd=cwd)
    assert imported.returncode != 0 and "No module named 'archive'" in imported.stderr
    dists = _run(
        [
            python,
            "-c",
            "import importlib.metadata as m; print([d.metadata['Name'] for d in m.distributions()])",
        ],
        cwd=cwd,
    ).stdout
    assert "nianbao" not in dists and "datasette-vega" not in dists, dists


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    """A data snapshot of an archive whose reports mention the words some of the time."""
    tmp = tmp_path_factory.mktemp("standalone")
    from archive.store import Archive

    rng = random.Random(21)
    archive = Archive(tmp / "archive.db")
    archive.load_sites(SITES)
    for n in range(48):
        words = rng.sample(TEXT_WORDS, rng.randint(0, 3))
        text = "，".join(f"本机关{w}工作" for w in words) + "。政府信息公开。"
        add_report(archive, rng, SITES[n % 4], 2019 + n % 6, text=text)
    prepare(archive.db.conn)
    conn = archive.db.conn
    expected = {w: truth(conn, w) for w in WORDS}
    nianbao = {w: set(search(conn, w, limit=10_000)) for w in WORDS}
    archive.close()
    snap = make_snapshot(tmp / "archive.db", tmp / "snapshots", "data")
    work = tmp / "unpacked"
    with zipfile.ZipFile(snap.path.with_name(snap.path.name[: -len(".db")] + ".zip")) as bundle:
        bundle.extractall(work)
    folder = work / snap.path.name[: -len(".db")]
    assert expected["复议"] and expected["行政复议"] and expected["复议"] != expected["行政复议"]
    assert expected[LONG] and len(expected[LONG]) < 48
    assert nianbao == expected
    metadata = json.loads((folder / f"{folder.name}.metadata.json").read_text("utf-8"))
    queries = list(metadata["databases"][folder.name]["queries"])
    assert len(queries) >= 10
    return {
        "folder": folder,
        "name": folder.name,
        "expected": expected,
        "all": set(range(1, 49)),
        "queries": queries,
    }


def test_the_bundle_holds_database_metadata_readme_and_checksum(snapshot):
    folder, name = snapshot["folder"], snapshot["name"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{name}.db", f"{name}.metadata.json", "README.md", f"{name}.db.sha256"]
    )
    metadata = json.loads((folder / f"{name}.metadata.json").read_text("utf-8"))
    assert list(metadata["databases"]) == [name]  # the real name, not "*"
    readme = (folder / "README.md").read_text("utf-8")
    assert f"datasette {name}.db -m {name}.metadata.json" in readme
    assert "{database}" not in readme and "sqlite-utils search" in readme
    check = _run(["sha256sum", "-c", f"{name}.db.sha256"], cwd=folder)
    assert check.returncode == 0, check.stdout + check.stderr


def readme_command(folder: Path, tool: str) -> str:
    """The first command of the README's block for ``tool`` (its continuation lines joined)."""
    readme = (folder / "README.md").read_text("utf-8")
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        lines = block.replace("\n  ", " ").splitlines()
        for line in lines:
            if line.startswith(tool + " ") and (tool != "sqlite-utils" or " search " in line):
                return line
    raise AssertionError(f"the README documents no {tool} command")


def readme_commands(folder: Path, start: str, holding: str) -> list[str]:
    """The README's command that starts with ``start`` and names ``holding``, split as the
    shell would split it."""
    readme = (folder / "README.md").read_text("utf-8")
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        for line in block.replace("\n  ", " ").splitlines():
            if line.startswith(start + " ") and holding in line:
                return shlex.split(line)
    raise AssertionError(f"the README documents no {start} command with {holding}")


def test_datasette_alone(snapshot, tmp_path):
    venv = venv_with("datasette")
    assert_without_nianbao(venv, tmp_path)
    folder, name = snapshot["folder"], snapshot["name"]
    command = readme_command(folder, "datasette").split()
    if "--port" in command:  # the README's port (8011) may be taken here: a free one instead
        at = command.index("--port")
        command = command[:at] + command[at + 2 :]
    port = free_port()
    server = subprocess.Popen(
        [str(venv / "bin" / command[0]), *command[1:], "--port", str(port)],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    base = f"http://127.0.0.1:{port}"
    readme = (folder / "README.md").read_text("utf-8")
    try:
        _wait(f"{base}/-/versions.json", server)
        plugins = _get_json(f"{base}/-/plugins.json")
        assert plugins == [], plugins
        metadata = json.loads((folder / f"{name}.metadata.json").read_text("utf-8"))
        queries = {q["name"] for q in _get_json(f"{base}/{name}.json")["queries"]}
        assert queries == set(metadata["databases"][name]["queries"]) and len(queries) >= 10
        for word in ("复议", "行政复议"):
            found = _ids(f"{base}/{name}/reports.json?_search={quote(word)}&_col=id&_size=max")
            assert found == snapshot["expected"][word], word
            ranked = _get_json(f"{base}/{name}/search_reports.json?_shape=objects&q={quote(word)}")
            assert {r["报告编号"] for r in ranked["rows"]} == snapshot["expected"][word]
        long = _get_json(
            f"{base}/{name}/search_reports.json?_shape=objects&q={quote('最低生活保障')}"
        )
        assert {r["报告编号"] for r in long["rows"]} == snapshot["expected"]["最低生活保障"]
        # A word longer than the pieces: ?_search= on reports_long_fts, the way the README
        # and the second box on the reports page say.
        documented = re.search(r"\(`/[^`]+/reports\?_search=([^&`]+)&_fts_table=(\w+)`", readme)
        assert documented, "the README gives no URL for a long word"
        fts_table = documented.group(2)
        found = _ids(
            f"{base}/{name}/reports.json?_search={quote(LONG)}&_fts_table={fts_table}"
            "&_col=id&_size=max"
        )
        assert found == snapshot["expected"][LONG]
        page = _get_text(f"{base}/{name}/reports")
        assert 'name="_search"' in page
        assert f'name="_fts_table" value="{fts_table}"' in page  # the second box
        assert "统计年度 — 报告所统计的年度" in page  # column descriptions
        assert "各政府网站" in page and "Apache-2.0" in page  # provenance, licence
        region = _get_json(
            f"{base}/{name}/region_requests.json?_shape=objects&region={quote('新乡市')}"
        )
        assert region["rows"] and "一、本年新收政府信息公开申请数量" in region["rows"][0]
        view = _get_text(f"{base}/{name}/{tilde_encode('表三_依申请公开')}.csv")
        assert view.startswith("报告编号,机关,省级,地市级,县级,年度")
        for query in queries:  # every stored query runs without the plugin's SQL functions
            sql = metadata["databases"][name]["queries"][query]["sql"]
            params = {p: SAMPLE_PARAMS.get(p, "") for p in re.findall(r"(?<![:\w]):(\w+)", sql)}
            answer = _get_json(f"{base}/{name}/{query}.json?{urlencode(params)}")
            assert answer.get("ok", True) and "rows" in answer, (query, answer)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_sqlite_utils_alone(snapshot, tmp_path):
    venv = venv_with("sqlite-utils")
    assert_without_nianbao(venv, tmp_path)
    assert _run([venv / "bin" / "python", "-c", "import datasette"], cwd=tmp_path).returncode
    folder = snapshot["folder"]
    documented = readme_command(folder, "sqlite-utils").split()
    assert documented[:4] == ["sqlite-utils", "search", f"{snapshot['name']}.db", "reports"]
    for word in ("复议", "行政复议"):
        result = _run(
            [
                venv / "bin" / "sqlite-utils",
                "search",
                documented[2],
                "reports",
                word,
                "-c",
                "id",
                "--csv",
            ],
            cwd=folder,
        )
        assert result.returncode == 0, result.stderr
        found = {int(r["id"]) for r in csv.DictReader(io.StringIO(result.stdout))}
        assert found == snapshot["expected"][word], word
    sqlite_utils = venv / "bin" / "sqlite-utils"
    command = readme_commands(folder, "sqlite-utils query", "reports_long_fts")
    assert command[-1] == "政府信息公开工作年度报告", command
    for word in (LONG, "政府信息公开工作年度报告"):
        result = _run([sqlite_utils, *command[1:-1], word], cwd=folder)
        assert result.returncode == 0, result.stderr
        found = {row["id"] for row in json.loads(result.stdout)}
        assert found == (snapshot["expected"][LONG] if word == LONG else snapshot["all"]), word
    listed = _run(
        [sqlite_utils, "rows", documented[2], "stored_queries", "-c", "name", "--csv"], cwd=folder
    )
    assert listed.returncode == 0, listed.stderr
    names = sorted(r["name"] for r in csv.DictReader(io.StringIO(listed.stdout)))
    assert names == sorted(snapshot["queries"])
    # The README's way to run one: its SQL from the table, the region by name.
    sql = _run(
        [
            sqlite_utils,
            "query",
            documented[2],
            "select sql from stored_queries where name = 'region_requests'",
            "--raw",
        ],
        cwd=folder,
    )
    assert sql.returncode == 0, sql.stderr
    region = _run(
        [sqlite_utils, "query", documented[2], sql.stdout]
        + ["-p", "region", "新乡市", "-p", "omit_failing", ""],
        cwd=folder,
    )
    assert region.returncode == 0, region.stderr
    rows = json.loads(region.stdout)
    assert rows and all(r["报告数"] >= 1 for r in rows), rows
    assert "一、本年新收政府信息公开申请数量" in rows[0]


def test_sqlite3_shell_and_module(snapshot, tmp_path):
    folder = snapshot["folder"]
    documented = readme_command(folder, "sqlite3")
    sql = re.search(r'"(select .*)"', documented, re.S).group(1)
    assert "match '行政复议'" in sql
    venv = venv_with("sqlite-utils")  # any interpreter without nianbao will do
    for word in ("复议", "行政复议"):
        query = sql.replace("'行政复议'", f"'{word}'").replace("limit 20", "")
        module = _run(
            [
                venv / "bin" / "python",
                "-I",
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                "print([r[0] for r in c.execute(sys.argv[2])])",
                f"{snapshot['name']}.db",
                query,
            ],
            cwd=folder,
        )
        assert module.returncode == 0, module.stderr
        assert set(json.loads(module.stdout)) == snapshot["expected"][word], word
        shell = require_tool("sqlite3", "Debian's sqlite3")
        result = _run([shell, f"{snapshot['name']}.db", query], cwd=folder)
        assert result.returncode == 0, result.stderr
        found = {int(line.split("|")[0]) for line in result.stdout.splitlines() if line}
        assert found == snapshot["expected"][word], word
    long = readme_commands(folder, "sqlite3", "reports_long_fts")
    query = long[-1].replace("'政府信息公开工作年度报告'", f"'{LONG}'")
    result = _run([shell, *long[1:-1], query], cwd=folder)
    assert result.returncode == 0, result.stderr
    found = {int(line.split("|")[0]) for line in result.stdout.splitlines() if line}
    assert found == snapshot["expected"][LONG]
    listed = _run([shell, f"{snapshot['name']}.db", "select name from stored_queries"], cwd=folder)
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.split()) == sorted(snapshot["queries"])


def _wait(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if server.poll() is not None:
                raise AssertionError(server.stderr.read().decode()[-2000:]) from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode("utf-8")


def _get_json(url: str):
    return json.loads(_get_text(url))


def _ids(url: str) -> set[int]:
    return {row["id"] for row in _get_json(url + "&_shape=objects")["rows"]}
