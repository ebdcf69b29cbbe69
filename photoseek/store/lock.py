"""One indexer per library: an exclusive flock on <library>/index.lock for the whole run.

flock is released by the kernel when the process dies (even kill -9), so a crashed run never
leaves the library locked. Searching never takes this lock; SQLite's WAL lets it read meanwhile.

Re-entrant within one thread: Library.index holds the lock around stage 1 and stage 2, and the
Indexer it calls takes it again; another thread or process is refused.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from photoseek.errors import LibraryBusyError

LOCK_FILE = "index.lock"

# lock file (resolved) -> (owning thread id, depth); flock itself cannot tell a nested acquire
# by the same thread from a second indexer, since each open() is a new lock owner
_held: dict[str, tuple[int, int]] = {}
_held_guard = threading.Lock()


class IndexLock:
    """`with IndexLock(library_dir): ...` — raises LibraryBusyError at once if another process holds it."""

    def __init__(self, library_dir: str | os.PathLike):
        self.library_dir = Path(library_dir)
        self.path = self.library_dir / LOCK_FILE
        self._handle = None
        self._nested = False

    def acquire(self) -> "IndexLock":
        if self._handle is not None or self._nested:
            return self
        self.library_dir.mkdir(parents=True, exist_ok=True)
        key = os.path.realpath(self.path)
        with _held_guard:
            owner = _held.get(key)
            if owner is not None and owner[0] == threading.get_ident():
                _held[key] = (owner[0], owner[1] + 1)
                self._nested = True
                return self
            self._lock_file()
            _held[key] = (threading.get_ident(), 1)
        return self

    def _lock_file(self) -> None:
        # never truncate on open: the holder's pid in the file is what a refused process reports
        handle = open(self.path, "a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().decode("ascii", errors="replace").strip() or "unknown"
            handle.close()
            raise LibraryBusyError(
                f"The library at {self.library_dir} is being indexed by another photoseek process "
                f"(pid {holder}). Wait for it to finish, or search meanwhile."
            ) from None
        except BaseException:
            handle.close()
            raise
        handle.truncate(0)
        handle.write(str(os.getpid()).encode("ascii"))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is None and not self._nested:
            return
        key = os.path.realpath(self.path)
        with _held_guard:
            thread, depth = _held.get(key, (0, 1))
            if depth > 1:
                _held[key] = (thread, depth - 1)
            else:
                _held.pop(key, None)
            if self._nested:
                self._nested = False
                return
            try:
                self._handle.truncate(0)  # no stale pid for the next reader of the file
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            finally:
                self._handle.close()
                self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None or self._nested

    def __enter__(self) -> "IndexLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def indexing_pid(library_dir: str | os.PathLike) -> int | None:
    """The pid of the process indexing this library now, or None; reads the lock file without
    locking it (a reader must never make an indexer that is starting fail)."""
    try:
        text = (Path(library_dir) / LOCK_FILE).read_text(encoding="ascii", errors="replace").strip()
        pid = int(text)
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # killed mid-run: flock is gone with it, the pid stays in the file
    except PermissionError:
        pass  # alive, another user's
    return pid
