"""What one running server holds: the Library, the conversations by id, an index run's progress,
and the small file that tells `photoseek ask` a server is running for this library.

The FastAPI app gets an `AppState` through dependency injection (`create_app(state)`), so tests
build one around a test library and a scripted LLM.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from photoseek.errors import NotFoundError, PhotoseekError

if TYPE_CHECKING:
    from photoseek.agent.session import Session
    from photoseek.library import Library
    from photoseek.web.search_processes import SearchProcesses

#: in the library folder while `photoseek serve` runs: {"host", "port", "pid", "token"} (mode 0600)
SERVER_FILE = "serve.json"
#: conversations kept per server; the least recently used one goes first
MAX_SESSIONS = 64


class IndexProgress:
    """A `photoseek.progress.Progress` that records where an index run is, for /api/status."""

    def __init__(self, paths: Iterable[str]):
        self.paths = [str(p) for p in paths]
        self.stage: str | None = "starting"
        self.done = 0
        self.total: int | None = None
        self.error: str | None = None
        self.finished = False

    def start(self, label: str, total: int | None) -> None:
        self.stage, self.done, self.total = label, 0, total

    def advance(self, n: int = 1) -> None:
        self.done += n

    def finish(self) -> None:
        pass

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "done": self.done, "total": self.total, "paths": self.paths,
                "error": self.error, "finished": self.finished}


@dataclass
class AppState:
    """One Library for every request; `llm` overrides the library's model for conversations
    (tests pass a scripted one); `token`, when set, is required on every request."""

    library: "Library"
    llm: Any = None
    token: str | None = None
    sessions: "OrderedDict[str, Session]" = field(default_factory=OrderedDict)
    indexing: IndexProgress | None = None
    #: worker processes for /api/search (`photoseek serve --search-processes`); None: this process
    search_processes: "SearchProcesses | None" = None
    #: one model, many requests: llama.cpp contexts are not thread-safe, so turns take this in turn
    llm_lock: threading.Lock = field(default_factory=threading.Lock)
    #: writes (the user's tag confirmations) and the first, lazy load of the search engine
    write_lock: threading.RLock = field(default_factory=threading.RLock)
    _sessions_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.library.per_thread_connections()  # requests run on a pool of threads

    # -- the library ------------------------------------------------------------------------------------
    def photo_count(self) -> int:
        """Photos in the catalog; 0 when the library has not been created yet."""
        try:
            return self.library.catalog.photo_count()
        except PhotoseekError:
            return 0

    def has_llm(self) -> bool:
        return self.llm is not None or self.library.llm is not None

    def warm(self) -> None:
        """Load the catalog, the embedder and the vector caches now, so the first search is not
        the slow one (and concurrent first requests do not each build them)."""
        with self.write_lock:
            if self.photo_count():
                self.library.search("photo", k=1)

    def photo_file(self, photo_id: str) -> bytes:
        """The file of a photo the catalog holds, by its id only (never a path from the request).
        Raises NotFoundError for anything else, which the app answers with 404."""
        if not photo_id.isdigit():
            raise NotFoundError(f"No photo {photo_id!r}")
        return self.library.catalog.resolve_photo(int(photo_id))["path"]

    # -- conversations ----------------------------------------------------------------------------------
    def session(self, session_id: str | None) -> tuple[str, "Session"]:
        """The conversation `session_id`, or a new one (an unknown id starts a new one too)."""
        from photoseek.agent.session import Session

        with self._sessions_lock:
            if session_id and session_id in self.sessions:
                self.sessions.move_to_end(session_id)
                return session_id, self.sessions[session_id]
            new_id = secrets.token_urlsafe(12)
            llm = self.llm if self.llm is not None else self.library.llm
            self.sessions[new_id] = Session(self.library, llm)
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)
            return new_id, self.sessions[new_id]

    # -- indexing ---------------------------------------------------------------------------------------
    def start_index(self, paths: list[str], *, annotate: bool = True) -> threading.Thread:
        """Index `paths` in a background thread with its own Library (own catalog connection; the
        embedder is shared), recording progress for /api/status. Searches keep working meanwhile:
        the vector caches notice the new generation by themselves."""
        from photoseek.library import Library

        progress = IndexProgress(paths)
        self.indexing = progress
        lib = self.library

        def run() -> None:
            try:
                with Library(lib.path, embedder=lib.embedder, llm=lib.llm, captioner=lib.captioner) as indexer:
                    indexer.index(paths, annotate=annotate, progress=progress)
            except Exception as exc:  # shown on the page; the server keeps serving what is indexed
                progress.error = str(exc) or type(exc).__name__
            finally:
                progress.finished, progress.stage = True, "done"

        thread = threading.Thread(target=run, name="photoseek-index", daemon=True)
        thread.start()
        return thread


# -- discovery: `photoseek ask` finds a running server for its library ---------------------------------


def write_server_file(library_dir: Path, host: str, port: int, token: str | None) -> Path:
    """Write <library>/serve.json (owner-only: it may hold the token). Returns its path."""
    library_dir.mkdir(parents=True, exist_ok=True)
    path = library_dir / SERVER_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"host": host, "port": port, "pid": os.getpid(), "token": token, "started": time.time()}, handle)
    os.replace(tmp, path)
    return path


def remove_server_file(library_dir: Path) -> None:
    path = library_dir / SERVER_FILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def read_server_file(library_dir: Path) -> dict[str, Any] | None:
    """The running server's address, or None when there is none or its process is gone (a stale
    file from a killed server is ignored)."""
    try:
        info = json.loads((Path(library_dir) / SERVER_FILE).read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def loopback_host(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")
