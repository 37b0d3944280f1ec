"""Parsing one document in a worker process with bounded time and memory.

A hostile or broken file (a ZIP bomb, a PDF whose content stream loops, a 50 MB
page of garbage) must cost one status in the archive, not the parse stage. So
the parse runs in a long-lived child process whose address space is capped
with ``RLIMIT_AS``; the parent waits at most ``timeout`` seconds for the
answer. A worker that overruns is killed and replaced by a fresh one on the
next call, and a worker that dies (out of memory, a crash in a C library) is
reported the same way. Keeping one worker alive across calls keeps the cost
of isolation to a pipe round trip per document instead of a process start.

:class:`ParsePool` runs several such workers at once (one per CPU by default), each
job with the same deadline and memory budget, and gives the outcomes back in the
order the jobs came, for one writer to store.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import resource
import signal
import time
import traceback
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as connection_wait
from typing import Any

from archive.parse.document import ParsedReport, ParseError

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 1536
_EXIT_MEMORY = 3
_READY = ("ready",)
# How long a new worker may take to load its libraries before its first document's
# deadline starts counting (seconds; they load in well under one on an idle machine).
STARTUP_ALLOWANCE = 120.0
# Loaded once by the fork server, so that every worker it forks starts with them.
_PRELOAD = ["archive.parse", "pdfplumber", "pypdfium2", "docx", "lxml.html"]


def _vm_size() -> int:
    """The process's current virtual size in bytes (0 when /proc is not there)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(budget_mb: int) -> None:
    """Cap the soft address-space limit at what the worker uses now plus the budget.

    Only the soft limit is lowered, so a converter subprocess (LibreOffice) can raise
    it back for itself; the parse in this process cannot exceed it.
    """
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = _vm_size() + budget_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _preload() -> None:
    """Import every reader's libraries before the memory cap, so that mapping their shared
    objects is not counted against (and refused by) the budget of a document."""
    import docx  # noqa: F401
    import lxml.html  # noqa: F401
    import pdfplumber  # noqa: F401
    import pypdfium2  # noqa: F401
    from pdfminer import pdfdocument  # noqa: F401

    from archive.parse import html, pdf, text, word  # noqa: F401
    from archive.parse.script import _converter

    _converter()  # OpenCC's dictionaries, loaded once per worker

    try:  # the OCR libraries and models (OpenCV, Tesseract), loaded once per worker
        from archive.parse.ocr.engine import engine

        engine()
    except Exception:  # not installed: a document with pictures says so when it comes
        pass


def _task(path: str | None):
    """The function a worker runs on each job: ``parse_document``, or ``module:function``."""
    if not path:
        from archive.parse import parse_document

        return parse_document
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _serve(conn: Connection, budget_mb: int, task_path: str | None = None, nice: int = 0) -> None:
    """The worker's loop: one request in, one answer out, until the pipe closes."""
    if nice:
        os.nice(nice)  # beside a crawl: the crawl comes first when both want the cores
    task = _task(task_path)
    _preload()
    _limit_memory(budget_mb)
    conn.send(_READY)  # a document's deadline starts now, not while the libraries load
    while True:
        try:
            args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        except MemoryError:
            os._exit(_EXIT_MEMORY)  # the request itself does not fit: the parent says so
        try:
            answer: tuple = ("ok", task(*args, **kwargs))
        except ParseError as exc:
            answer = ("error", exc.status, exc.message)
        except MemoryError:
            answer = (
                "error",
                "too_much_memory",
                f"reading the document needed more than {budget_mb} MB of memory",
            )
        except RecursionError:
            answer = ("error", "corrupt", "the document nests too deeply to be read")
        except Exception as exc:  # a parser bug: reported with where it happened
            where = traceback.extract_tb(exc.__traceback__)[-1]
            answer = (
                "error",
                "parser_error",
                f"{type(exc).__name__}: {exc} (at "
                f"{os.path.basename(where.filename)}:{where.lineno})",
            )
        del args, kwargs
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("error", "too_much_memory", "the parsed record is too large to return"))


PENDING = object()  # a worker's answer that is not the job's outcome yet
# What a job source gives :meth:`ParsePool.map` when it has no job now but may later (the
# parse stage following a crawl that is still storing captures).
NO_JOB_YET = object()


@contextlib.contextmanager
def _safe_path():
    """The fork server (started with the first worker) is a new ``python -c``: without
    ``PYTHONSAFEPATH`` its import path would begin with the working directory, and a
    user's own ``archive/`` there would be preloaded instead of nianbao's."""
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = before


class _Worker:
    """One isolated worker process, started on first use and replaced when it dies."""

    def __init__(self, memory_mb: int, task: str | None, nice: int = 0):
        self.memory_mb = memory_mb
        self.task = task
        self.nice = nice
        self.proc: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None
        self.job: int | None = None  # what it is working on (the pool's sequence number)
        self.deadline = 0.0
        self.timeout = DEFAULT_TIMEOUT
        self.ready = False  # it has loaded its libraries
        self.cpu_seconds = 0.0  # used by the processes this worker has been, so far
        self.peak_rss_mb = 0.0

    def start(self) -> None:
        # A fork server forks workers from a clean single-threaded process, so a parent that
        # runs threads (a crawl, a web server) never hands a held lock to a worker; it holds
        # the parser's libraries already, so a worker replacing a killed one starts at once.
        methods = multiprocessing.get_all_start_methods()
        ctx = (
            multiprocessing.get_context("forkserver")
            if "forkserver" in methods
            else multiprocessing.get_context("spawn")
        )
        if "forkserver" in methods:
            multiprocessing.get_context("forkserver").set_forkserver_preload(_PRELOAD)
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_serve,
            args=(child, self.memory_mb, self.task, self.nice),
            daemon=True,
            name="nianbao-parse-worker",
        )
        with _safe_path():
            proc.start()
        child.close()
        self.proc, self.conn, self.ready = proc, parent, False

    def submit(self, job, args: tuple, kwargs: dict, timeout: float) -> None:
        """Hand the worker a job (raises ParseError if it dies taking it)."""
        if self.proc is None or not self.proc.is_alive():
            self.close()
            self.start()
        assert self.conn is not None
        self.job, self.timeout = job, timeout
        self.deadline = time.monotonic() + timeout + (0 if self.ready else STARTUP_ALLOWANCE)
        try:
            self.conn.send((args, kwargs))
        except (BrokenPipeError, EOFError, OSError) as exc:
            raise self.died(exc) from exc

    def answer(self):
        """The finished job's value (``PENDING`` if the worker only said it is ready), or
        raise the ParseError that says why there is none."""
        assert self.conn is not None
        try:
            answer = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.job = None
            raise self.died(exc) from exc
        if answer == _READY:
            self.ready = True
            self.deadline = time.monotonic() + self.timeout
            return PENDING
        self.job = None
        if answer[0] == "ok":
            return answer[1]
        raise ParseError(answer[1], answer[2])

    def overran(self, timeout: float) -> ParseError:
        """Kill a worker past its deadline; the error for its job."""
        self.close()
        self.job = None
        return ParseError(
            "timeout", f"reading the document took longer than {timeout:g} s; stopped"
        )

    def died(self, exc: BaseException) -> ParseError:
        """The error for a worker that ended without answering, by how it ended."""
        if self.proc is not None:
            self.proc.join(2)
        code = self.proc.exitcode if self.proc else None
        self.close()
        if code in (_EXIT_MEMORY, -9):
            return ParseError(
                "too_much_memory",
                f"the document needed more than {self.memory_mb} MB of memory to read",
            )
        return ParseError("worker_died", worker_death(code, exc))

    def close(self) -> None:
        """Stop the worker (killing it if it is busy)."""
        if self.conn is not None:
            self.conn.close()
        if self.proc is not None:
            self.cpu_seconds += _cpu_of(self.proc.pid)
            self.peak_rss_mb = max(self.peak_rss_mb, _peak_rss_mb(self.proc.pid))
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(5)
        self.proc = self.conn = None


def _cpu_of(pid: int | None) -> float:
    """User + system CPU seconds a live process has used (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _peak_rss_mb(pid: int | None) -> float:
    """The most resident memory a live process has had, in MiB (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def worker_death(code: int | None, exc: BaseException | None = None) -> str:
    """How the worker ended, in words: a signal by name, an exit status, and the error the
    pipe gave only when it says something (a closed pipe's EOFError says nothing)."""
    if code is not None and code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name} (exit code {code})"
        except ValueError:
            how = f"was killed by signal {-code} (exit code {code})"
    elif code is not None:
        how = f"exited with status {code}"
    else:
        how = "vanished"
    detail = str(exc).strip() if exc is not None else ""
    return f"the parse worker {how} without an answer" + (f": {detail}" if detail else "")


class ParseWorker:
    """A reusable isolated parser: ``worker.parse(data, ...)`` or raise ParseError.

    Statuses it adds to the parser's own: ``timeout`` (killed after ``timeout``
    seconds), ``too_much_memory`` and ``worker_died`` (the process ended without
    answering, e.g. killed by the kernel).
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB):
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._worker = _Worker(memory_mb, None)

    def parse(self, data: bytes, **kwargs) -> ParsedReport:
        """Parse ``data`` (keyword arguments as for ``parse_document``) in the worker."""
        worker = self._worker
        worker.memory_mb = self.memory_mb
        worker.submit(0, (data,), kwargs, self.timeout)
        assert worker.conn is not None
        while True:
            try:
                ready = worker.conn.poll(max(0.0, worker.deadline - time.monotonic()))
            except (BrokenPipeError, EOFError, OSError) as exc:
                raise worker.died(exc) from exc
            if not ready:
                raise worker.overran(self.timeout)
            answer = worker.answer()
            if answer is not PENDING:
                return answer

    def close(self) -> None:
        self._worker.close()

    def __enter__(self) -> ParseWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ParsePool:
    """``workers`` isolated workers (default: one per CPU) running one task over many jobs.

    Each job gets what a lone :class:`ParseWorker` gives it: its own deadline
    (``timeout``), the memory budget of its worker, and a :class:`ParseError` for a
    document that kills or hangs a worker, which is then replaced. ``task`` names the
    function the workers run, as ``"module:function"`` (default: ``parse_document``), so a
    later stage can run its own pure steps there too. :meth:`map` hands out jobs as
    workers come free and gives the outcomes back **in the order of the jobs**, so the
    one process that writes them writes them in the order one worker would have. A job
    source may give :data:`NO_JOB_YET` (nothing now, more later): the pool then gives back
    what is done and asks again after ``poll`` seconds. ``nice`` lowers the workers'
    priority (a parse beside a crawl).
    """

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB,
        task: str | None = None,
        ahead: int | None = None,
        nice: int = 0,
        poll: float = 0.5,
    ):
        self.size = max(1, workers or os.cpu_count() or 1)
        self.poll = poll
        self.timeout = timeout
        # Finished jobs held back while an earlier one is still running (a slow document):
        # bounded, so memory is too; then the pool waits for the slow one.
        self.ahead = ahead if ahead is not None else 4 * self.size
        self.workers = [_Worker(memory_mb, task, nice) for _ in range(self.size)]
        self.waited = 0.0  # seconds the caller spent waiting for a worker to finish

    def map(self, jobs: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """For each ``(key, args, kwargs)``: ``(key, value)``, or ``(key, ParseError)``."""
        jobs = iter(jobs)
        keys: dict[int, Any] = {}
        done: dict[int, Any] = {}
        sent = given = 0
        idle = list(self.workers)
        busy: list[_Worker] = []
        exhausted = False
        while True:
            starved = False  # the source has no job now, but may have later
            while idle and not exhausted and sent - given < self.size + self.ahead:
                try:
                    item = next(jobs)
                except StopIteration:
                    exhausted = True
                    break
                if item is NO_JOB_YET:
                    starved = True
                    break
                key, args, kwargs = item
                worker = idle.pop()
                keys[sent] = key
                try:
                    worker.submit(sent, args, kwargs, self.timeout)
                    busy.append(worker)
                except ParseError as exc:
                    done[sent] = exc
                    idle.append(worker)
                sent += 1
            while given in done:
                yield keys.pop(given), done.pop(given)
                given += 1
            if exhausted and given == sent:
                return
            if not busy:
                if starved:
                    time.sleep(self.poll)
                continue
            began = time.monotonic()
            wait_for = min(w.deadline for w in busy) - began
            if starved:
                wait_for = min(wait_for, self.poll)
            ready = connection_wait(
                [w.conn for w in busy if w.conn is not None], timeout=max(0.0, wait_for)
            )
            now = time.monotonic()
            self.waited += now - began
            for worker in list(busy):
                job = worker.job
                assert job is not None  # a busy worker has a job
                if worker.conn in ready:
                    try:
                        answer = worker.answer()
                    except ParseError as exc:
                        answer = exc
                    if answer is PENDING:
                        continue
                    done[job] = answer
                elif worker.deadline <= now:
                    done[job] = worker.overran(self.timeout)
                else:
                    continue
                busy.remove(worker)
                idle.append(worker)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    @property
    def cpu_seconds(self) -> float:
        """CPU the workers have used (those closed or replaced; all of them after close)."""
        return sum(worker.cpu_seconds for worker in self.workers)

    @property
    def peak_rss_mb(self) -> float:
        """The most memory any one worker held (closed or replaced ones; all after close)."""
        return max((worker.peak_rss_mb for worker in self.workers), default=0.0)

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_isolated(
    data: bytes, *, timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB, **kwargs
) -> ParsedReport:
    """Parse one document in a fresh worker (for single documents, e.g. ``nianbao parse``)."""
    with ParseWorker(timeout, memory_mb) as worker:
        return worker.parse(data, **kwargs)
