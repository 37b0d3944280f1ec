"""Start and stop the simulated web in a child process, from tests or the demo.

The servers run in their own process (as Scrapy's test mock server does) so that
a crawl in the parent, with its own reactor and signal handling, talks to them
over real sockets. The child's stderr goes to ``simweb.log`` in the output
directory, so a chatty child can never block on a full pipe, and is shown when
the child fails to start.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

PROJECT = Path(__file__).resolve().parent.parent


class SimWebError(RuntimeError):
    pass


class SimWeb:
    """``with SimWeb(tmp) as web:`` — the running simulated web and what it wrote.

    ``web.sites_csv`` is the registry to crawl, ``web.truth`` the parsed truth.json,
    ``web.sites`` maps site_id → base URL.
    """

    def __init__(
        self,
        out_dir: str | Path,
        seed: int = 0,
        *,
        port: int = 0,
        timeout: float = 120.0,
        log_requests: bool = False,
        extra: tuple[str, ...] = (),
        edition: int = 1,
        scale: int = 0,
        default_world: bool = True,
        dead: int = 0,
        dead_kinds: tuple[str, ...] = (),
        national: int = 0,
        cache: str | Path | None = None,
        latency: float = 0.0,
    ):
        self.out_dir = Path(out_dir)
        self.seed = seed
        self.port = port
        self.timeout = timeout
        self.log_requests = log_requests
        self.options = ["--edition", str(edition)]
        if extra:
            self.options += ["--extra", ",".join(extra)]
        if scale:
            self.options += ["--scale", str(scale)]
        if not default_world:
            self.options.append("--no-default")
        if dead:
            self.options += ["--dead", str(dead)]
        if dead_kinds:
            self.options += ["--dead-kinds", ",".join(dead_kinds)]
        if national:
            self.options += ["--national", str(national)]
        if cache:
            self.options += ["--cache", str(cache)]
        if latency:
            self.options += ["--latency", str(latency)]
        self.proc: subprocess.Popen | None = None
        self.ready: dict = {}
        self.truth: dict = {}
        self._log = None

    @property
    def sites_csv(self) -> Path:
        return Path(self.ready["sites_csv"])

    @property
    def truth_path(self) -> Path:
        return Path(self.ready["truth"])

    @property
    def sites(self) -> dict[str, str]:
        return dict(self.ready["sites"])

    @property
    def log_path(self) -> Path:
        return self.out_dir / "simweb.log"

    def start(self) -> SimWeb:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-P",  # the working directory is not on its import path: a simweb.py there is not it
            "-m",
            "simweb",
            "--out",
            str(self.out_dir),
            "--seed",
            str(self.seed),
            "--port",
            str(self.port),
        ]
        cmd += self.options
        if self.log_requests:
            cmd.append("--log-requests")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT), env.get("PYTHONPATH")) if p)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL, env=env
        )
        line = self._read_ready()
        self.ready = json.loads(line[len("READY ") :])
        self.truth = json.loads(self.truth_path.read_text("utf-8"))
        return self

    def _read_ready(self) -> str:
        lines: queue.Queue[str | None] = queue.Queue()

        def reader() -> None:
            for raw in self.proc.stdout:
                lines.put(raw.decode("utf-8", "replace").strip())
            lines.put(None)

        threading.Thread(target=reader, daemon=True).start()
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise SimWebError(
                    f"simweb did not become ready in {self.timeout:g} s{self._stderr()}"
                )
            try:
                line = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                self.stop()
                raise SimWebError(
                    f"simweb exited with status {code} before it was ready{self._stderr()}"
                )
            if line.startswith("READY "):
                return line

    def requests(self) -> list[dict]:
        """Every request the sites answered so far (needs ``log_requests=True``)."""
        found = []
        for line in self.log_path.read_text("utf-8", "replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut short by a write in progress
        return found

    def _stderr(self) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace").strip()
        except OSError:
            return ""
        return f"; its stderr:\n{text[-4000:]}" if text else ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout:
                proc.stdout.close()
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> SimWeb:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
