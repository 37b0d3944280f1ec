"""Parsing one document in a worker process with bounded time and memory.

A hostile or broken file (a ZIP bomb, a PDF whose content stream loops, a 50 MB
page of garbage) must cost one status in the archive, not the parse stage. So
the parse runs in a long-lived child process whose address space is capped
with ``RLIMIT_AS``; the parent waits at most ``timeout`` seconds for the
answer. A worker that overruns is killed and replaced by a fresh one on the
next call, and a worker that dies (out of memory, a crash in a C library) is
reported the same way. Keeping one worker alive across calls keeps the cost
of isolation to a pipe round trip per document instead of a process start.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import traceback
from multiprocessing.connection import Connection

from archive.parse.document import ParsedReport, ParseError

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 1536
_EXIT_MEMORY = 3


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
        from archive.parse import ocr

        ocr.engine()
    except Exception:  # not installed: a document with pictures says so when it comes
        pass


def _serve(conn: Connection, budget_mb: int) -> None:
    """The worker's loop: one request in, one answer out, until the pipe closes."""
    from archive.parse import parse_document

    _preload()
    _limit_memory(budget_mb)
    while True:
        try:
            data, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        except MemoryError:
            os._exit(_EXIT_MEMORY)  # the request itself does not fit: the parent says so
        try:
            answer: tuple = ("ok", parse_document(data, **kwargs))
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
        del data
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("error", "too_much_memory", "the parsed record is too large to return"))


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
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def _start(self) -> None:
        # A fork server forks workers from a clean single-threaded process, so a parent that
        # runs threads (a crawl, a web server) never hands a held lock to a worker.
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_serve, args=(child, self.memory_mb), daemon=True, name="nianbao-parse-worker"
        )
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent

    def parse(self, data: bytes, **kwargs) -> ParsedReport:
        """Parse ``data`` (keyword arguments as for ``parse_document``) in the worker."""
        if self._proc is None or not self._proc.is_alive():
            self.close()
            self._start()
        assert self._conn is not None
        try:
            self._conn.send((data, kwargs))
            ready = self._conn.poll(self.timeout)
        except (BrokenPipeError, EOFError, OSError) as exc:
            raise self._died(exc) from exc
        if not ready:
            self.close()
            raise ParseError(
                "timeout", f"reading the document took longer than {self.timeout:g} s; stopped"
            )
        try:
            answer = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise self._died(exc) from exc
        if answer[0] == "ok":
            return answer[1]
        raise ParseError(answer[1], answer[2])

    def _died(self, exc: BaseException) -> ParseError:
        """The error for a worker that ended without answering, by how it ended."""
        if self._proc is not None:
            self._proc.join(2)
        code = self._proc.exitcode if self._proc else None
        self.close()
        if code in (_EXIT_MEMORY, -9):
            return ParseError(
                "too_much_memory",
                f"the document needed more than {self.memory_mb} MB of memory to read",
            )
        return ParseError("worker_died", worker_death(code, exc))

    def close(self) -> None:
        """Stop the worker (killing it if it is busy)."""
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5)
        self._proc = self._conn = None

    def __enter__(self) -> ParseWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_isolated(
    data: bytes, *, timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB, **kwargs
) -> ParsedReport:
    """Parse one document in a fresh worker (for single documents, e.g. ``nianbao parse``)."""
    with ParseWorker(timeout, memory_mb) as worker:
        return worker.parse(data, **kwargs)
