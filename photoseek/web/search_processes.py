"""API searches answered by worker processes: `photoseek serve --search-processes N`.

A search is mostly Python (reading evidence, judging levels, composing reasons), and one Python
process runs Python on one core at a time: with eight concurrent clients on 2 cores the server
answered 78 searches/s with its cores 1.45 busy, and a search waited ~93 ms (p50, bench/serve.py,
10k photos). Searches sent to worker processes, each with its own interpreter, fill both cores:
131 searches/s at 57 ms p50 with two workers (three or four did worse). This is FastAPI's advice
for CPU-bound work (a process pool behind the event loop), done for the one route that needs it.

Each worker opens the library read-only, like a second `photoseek search` would: it sees what the
server commits (confirmed tags, an index run) through SQLite, and its vector caches reload when
the catalog's vectors generation moves. The server process keeps everything that has state or the
LLM: conversations, indexing, and searches whose text must be translated first.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from photoseek.library import Library
    from photoseek.web.models import SearchRequest

log = logging.getLogger(__name__)

# the worker process's own state (module globals live once per process)
_worker_state: Any = None


def _open_library(path: str, embedder: str, captioner: str) -> None:
    """Worker start: one thread per ONNX session and BLAS call (many processes share the cores), the
    library without an LLM, warmed like the server's."""
    global _worker_state
    from photoseek.config import serve_from_threads
    from photoseek.library import Library
    from photoseek.web.state import AppState

    serve_from_threads()
    _exit_with(os.getppid())
    _worker_state = AppState(Library(path, embedder=embedder, llm=None, captioner=captioner))
    _worker_state.warm()
    if _worker_state.photo_count():
        from photoseek.search.facts import load_all

        load_all(_worker_state.library.engine.facts)


def _exit_with(parent: int) -> None:
    """End this worker when the server is gone: a server killed outright (kill -9, out of memory)
    cannot shut its pool down, and its workers would otherwise live on as orphans."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="photoseek-parent-watch", daemon=True).start()


def _search(request: "SearchRequest") -> bytes:
    """One search, rendered to the JSON the route sends (rendering here keeps that work off the
    server's interpreter too)."""
    from photoseek.web.app import json_response, run_search

    return bytes(json_response(run_search(_worker_state, request)).body)


def _ready(_: object = None) -> bool:
    return _worker_state is not None


class SearchProcesses:
    """A pool of `processes` worker processes that answer `SearchRequest`s for `library` with the
    JSON body of `/api/search`. `start()` launches them in the background; until they are warm (a
    few seconds) `ready` is False and the server searches in its own process. A worker that dies
    breaks the pool: `submit` or its future then raises BrokenProcessPool, and once the caller calls
    `mark_broken()` `ready` is False for good."""

    def __init__(self, library: "Library", processes: int):
        if processes < 1:
            raise ValueError("search processes must be at least 1")
        if not isinstance(library._embedder_spec, str):
            raise ValueError("worker processes open the library by its embedder's name; this one was given an object")
        self.processes = processes
        self._args = (str(library.path), library._embedder_spec, library.captioner)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._ready = threading.Event()
        self._broken = False

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._start, name="photoseek-search-processes", daemon=True)
        thread.start()
        return thread

    def _start(self) -> None:
        # spawn, not fork: the server already runs threads (uvicorn, ONNX Runtime), which fork copies badly
        self._pool = concurrent.futures.ProcessPoolExecutor(
            self.processes, mp_context=multiprocessing.get_context("spawn"),
            initializer=_open_library, initargs=self._args)
        try:
            # every worker starts (and warms) before the first search goes to the pool
            list(self._pool.map(_ready, range(self.processes)))
        except Exception as exc:  # a library the workers cannot open: the server searches in-process
            log.warning("search processes did not start (%s); searching in the server process", exc)
            self._broken = True
            return
        self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not self._broken

    def submit(self, request: "SearchRequest") -> "concurrent.futures.Future[bytes]":
        """Raises BrokenProcessPool once a worker died (so does the future); the caller then
        `mark_broken()`s the pool, as web.app.search_response does for both."""
        return self._pool.submit(_search, request)

    def mark_broken(self) -> None:
        self._broken = True

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout) and not self._broken

    def close(self) -> None:
        """Stop the workers and wait for them (idle ones exit at once; a search under way finishes,
        ~10 ms): exiting without waiting leaves the pool's semaphores for Python's resource tracker
        to report as leaked."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
