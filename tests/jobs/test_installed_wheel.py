"""The built wheel, installed in a fresh virtualenv, works wherever a user runs it.

The wheel is built from this checkout (hatchling, no build isolation) and installed
without its dependencies into a new virtualenv that borrows them from the running
one by a ``.pth`` line (so this runs offline, and on whichever resolution CI is
testing). The borrowed folder's own ``.pth`` files are not read, so the checkout's
editable install is not on the path: what runs is the wheel.

It is run from a directory such as scraper authors keep: a ``crawler.py``, a
``simweb.py`` and an ``archive/`` package of their own, each failing loudly if
imported. The demo must serve and archive the same 29 reports the checkout's does
(its real documents come from inside the package), and the nightly job, whose crawl
runs as a child process, must not pick up the user's ``crawler.py``. Foreign
packages on ``PYTHONPATH`` and files overwritten after installation are refused at
start-up in one line.
"""

from __future__ import annotations

import os
import site
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.wheel, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
BOOBY_TRAP = "raise RuntimeError(\"the user's {name} was imported instead of nianbao's\")\n"
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=WARNING"]


def run(cmd: list, cwd: Path, env: dict | None = None, timeout: int = 600):
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel built from this checkout installed in it."""
    tmp = tmp_path_factory.mktemp("wheel")
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            "dist",
            ROOT,
        ],
        cwd=tmp,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp / "dist").glob("nianbao_archive-*.whl")
    env = tmp / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", env], cwd=tmp)
    assert made.returncode == 0, made.stderr
    python = env / "bin" / "python"
    [own_site] = [
        Path(p)
        for p in run(
            [python, "-c", "import site; print(site.getsitepackages()[0])"], tmp
        ).stdout.split()
    ]
    installed = run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-deps",
            "--no-index",
            wheel,
        ],
        cwd=tmp,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    # the dependencies of the running environment, after the venv's own packages
    (own_site / "zz_borrowed_dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", "utf-8"
    )
    return env


@pytest.fixture(scope="module")
def users_dir(tmp_path_factory) -> Path:
    """A working directory with a nianbao.py, a crawler.py, a simweb.py and an archive/
    package."""
    folder = tmp_path_factory.mktemp("scraper-project")
    (folder / "nianbao.py").write_text(BOOBY_TRAP.format(name="nianbao.py"), "utf-8")
    (folder / "crawler.py").write_text(BOOBY_TRAP.format(name="crawler.py"), "utf-8")
    (folder / "simweb.py").write_text(BOOBY_TRAP.format(name="simweb.py"), "utf-8")
    (folder / "archive").mkdir()
    (folder / "archive" / "__init__.py").write_text(BOOBY_TRAP.format(name="archive/"), "utf-8")
    return folder


def site_packages(venv: Path) -> Path:
    [found] = (venv / "lib").glob("python3*/site-packages")
    return found


def test_the_wheel_is_what_runs(venv, users_dir):
    where = run(
        [
            venv / "bin" / "python",
            "-P",
            "-c",
            "import archive, crawler, simweb; "
            "print(archive.__file__, crawler.__file__, simweb.__file__)",
        ],
        cwd=users_dir,
    )
    assert where.returncode == 0, where.stderr
    assert all(Path(p).is_relative_to(site_packages(venv)) for p in where.stdout.split())
    corpus = site_packages(venv) / "simweb" / "corpus"
    assert {"huaian-szf-2024.pdf", "shanghai-szfbgt-2019.html"} <= {
        p.name for p in corpus.iterdir()
    }
    licences = {p.name for p in site_packages(venv).glob("nianbao_archive-*.dist-info/licenses/*")}
    assert {"LICENSE", "THIRD_PARTY_NOTICES.md"} <= licences


def test_the_installed_demo_archives_the_checkouts_reports(venv, users_dir, simweb):
    result = run([venv / "bin" / "nianbao", "demo", "--no-serve", "--db", "demo.db"], users_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    truth = simweb.truth["reports"]  # the checkout's simulated web, same seed
    real = sum(1 for r in truth if r.get("corpus"))
    assert (len(truth), real) == (29, 2)
    assert f"served 29 reports ({real} real, {29 - real} generated)" in result.stderr
    with sqlite3.connect(users_dir / "demo.db") as conn:
        archived = sorted(where(r[0]) for r in conn.execute("select url from reports"))
    assert archived == sorted(where(r["source"]) for r in truth)


def where(url: str) -> tuple[str | None, str]:
    """A report's original by site address and path (the two webs run on different ports)."""
    parts = urlsplit(url)
    return parts.hostname, parts.path


def test_the_installed_nightly_job_crawls_with_its_own_crawler(venv, users_dir, simweb):
    """Its crawl is a child process (`python -P -m nianbao crawl`): the user's crawler.py
    in the working directory used to stand in for nianbao's crawler package."""
    result = run(
        [
            venv / "bin" / "nianbao",
            "nightly",
            "--sites",
            simweb.sites_csv,
            "--db",
            "nightly.db",
            *FAST,
        ],
        users_dir,
    )
    assert result.returncode in (0, 3), result.stdout[-3000:] + result.stderr[-3000:]
    with sqlite3.connect(users_dir / "nightly.db") as conn:
        assert conn.execute("select count(*) from reports").fetchone()[0] == 29
    assert "was imported instead" not in (users_dir / "nightly.crawl.log").read_text("utf-8")


def test_a_package_on_the_path_that_shadows_nianbaos_is_refused(venv, tmp_path):
    (tmp_path / "crawler.py").write_text(BOOBY_TRAP.format(name="crawler.py"), "utf-8")
    result = run(
        [venv / "bin" / "nianbao", "process", "--db", "x.db"],
        tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("nianbao: error: 'crawler' would be imported from ")
    assert str(tmp_path / "crawler.py") in line and "was imported instead" not in line
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("change", ["overwritten", "removed"])
def test_files_changed_after_installation_are_refused(venv, tmp_path, change):
    """What installing or uninstalling another distribution with a top-level `crawler`
    package does to nianbao's files: found against the hashes pip recorded."""
    victim = (
        site_packages(venv)
        / "crawler"
        / ("__init__.py" if change == "overwritten" else "runner.py")
    )
    original = victim.read_bytes()
    try:
        if change == "overwritten":
            victim.write_text('"""Someone else\'s crawler package."""\n', "utf-8")
        else:
            victim.unlink()
        result = run([venv / "bin" / "nianbao", "process", "--db", "x.db"], tmp_path)
    finally:
        victim.write_bytes(original)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "1 of nianbao-archive's files" in line and "pip install --force-reinstall" in line
    assert f"crawler/{victim.name}" in line
    again = run([venv / "bin" / "nianbao", "process", "--help"], tmp_path)
    assert again.returncode == 0, again.stderr
