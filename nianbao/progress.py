"""How a long command reports while it works, and what it says when it ends.

One object per command run, in one of four modes:

- ``bars``  — on a terminal: rich progress bars on stderr (a bar per stage, with its
  counts), then the summary line.
- ``plain`` — stderr is not a terminal (cron, systemd, a pipe): no bars, only the
  summary line at the end.
- ``json``  — ``--json``: one JSON object per line on stdout, for a scheduler to read:
  ``stage`` when a stage starts, ``progress`` at most every few seconds while it runs,
  ``stage_end``, and last ``summary`` with the counts (the same as the summary line).
- ``quiet`` — ``--quiet``: nothing but errors (cron mails only when something is printed).

The stages report through :meth:`Progress.stage`, whose ``update(done, total, **counts)``
the work calls as it goes (from any thread); the library functions only take a
callback, so they know nothing of terminals.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

MODES = ("bars", "plain", "json", "quiet")
JSON_EVERY_SECONDS = 5.0

Update = Callable[..., None]


def choose_mode(quiet: bool = False, as_json: bool = False, stream: IO | None = None) -> str:
    """``json`` or ``quiet`` when asked; otherwise bars on a terminal, else plain."""
    if as_json:
        return "json"
    if quiet:
        return "quiet"
    stream = stream or sys.stderr
    return "bars" if stream.isatty() else "plain"


def rich_bars(stderr: bool = True):
    """The progress display every command uses (nightly's included)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}"),
        console=Console(stderr=stderr),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def describe(counts: dict[str, Any]) -> str:
    """``{"ok": 3, "partial": 1}`` → ``ok 3, partial 1`` (the form of every summary line)."""
    return ", ".join(f"{k} {v}" for k, v in counts.items())


class Progress:
    """Where one run of a command reports (see the module's docstring for the modes)."""

    def __init__(
        self,
        command: str,
        mode: str = "plain",
        out: IO | None = None,
        err: IO | None = None,
        json_every: float = JSON_EVERY_SECONDS,
    ):
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        self.command, self.mode, self.json_every = command, mode, json_every
        self._out, self._err = out, err
        self._lock = threading.Lock()
        self._bars = None
        if mode == "bars":
            self._bars = rich_bars()
            self._bars.start()

    @property
    def out(self) -> IO:
        return self._out or sys.stdout

    @property
    def err(self) -> IO:
        return self._err or sys.stderr

    @property
    def drawing(self) -> bool:
        """Whether bars are on the terminal (then other output should stay quiet)."""
        return self._bars is not None

    def event(self, event: str, **data: Any) -> None:
        """One JSON line on stdout (in json mode; nothing otherwise)."""
        if self.mode != "json":
            return
        line = json.dumps(
            {"event": event, "command": self.command, "time": _now(), **data},
            ensure_ascii=False,
            default=str,
        )
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Update]:
        """A stage of the work; the body calls ``update(done, total=None, **counts)``."""
        self.event("stage", stage=name, total=total)
        task = self._bars.add_task(name, total=total, counts="") if self._bars else None
        # "sent": when the last progress event went out (None: none yet, so the first update
        # always goes out, however soon after boot the monotonic clock started)
        state: dict[str, Any] = {"done": 0, "total": total, "counts": {}, "sent": None}
        started = time.monotonic()

        def update(done: int, total: int | None = None, **counts: Any) -> None:
            state["done"] = done
            if total is not None:
                state["total"] = total
            state["counts"] = counts
            if self._bars is not None:
                self._bars.update(
                    task, completed=done, total=state["total"], counts=describe(counts)
                )
            now = time.monotonic()
            if self.mode == "json" and (
                state["sent"] is None or now - state["sent"] >= self.json_every
            ):
                state["sent"] = now
                self.event("progress", stage=name, done=done, total=state["total"], counts=counts)

        try:
            yield update
        finally:
            if self._bars is not None:
                done = state["done"]
                self._bars.update(task, completed=done, total=state["total"] or done or 1)
            self.event(
                "stage_end",
                stage=name,
                done=state["done"],
                total=state["total"],
                counts=state["counts"],
                seconds=round(time.monotonic() - started, 2),
            )

    def summary(self, line: str, **data: Any) -> None:
        """The last word: the summary line on stderr, or a ``summary`` JSON object."""
        self.close()
        if self.mode == "json":
            self.event("summary", message=line, **data)
        elif self.mode != "quiet":
            self.err.write(line + "\n")
            self.err.flush()

    def message(self, line: str) -> None:
        """A line for a person (not in json or quiet mode), printed above the bars."""
        if self.mode in ("json", "quiet"):
            return
        if self._bars is not None:
            self._bars.console.print(line, markup=False, highlight=False)
        else:
            self.err.write(line + "\n")
            self.err.flush()

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
