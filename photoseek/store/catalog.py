"""The SQLite catalog: one file per library, WAL mode, schema version + migrations.

WAL lets `search` read while `index` writes. Every write happens inside `with catalog.transaction():`
so a crash (even kill -9) leaves the catalog at the last committed batch.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from photoseek.errors import NotFoundError, PhotoseekError
from photoseek.store.schema import MIGRATIONS, SCHEMA_VERSION
from photoseek.store.tags import effective_tags  # feedback applied: one rule for display and search

CATALOG_FILE = "catalog.sqlite3"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def path_key(path: str | os.PathLike | bytes) -> bytes:
    """The exact bytes of an absolute path: the catalog's key for a file."""
    if isinstance(path, bytes):
        return os.path.abspath(path)
    return os.fsencode(os.path.abspath(os.fspath(path)))


def display_path(key: bytes) -> str:
    """Text for people: undecodable bytes shown as replacement characters."""
    return key.decode("utf-8", errors="replace")


class Catalog:
    def __init__(self, library_dir: str | os.PathLike, *, readonly: bool = False):
        self.library_dir = Path(library_dir)
        self.path = self.library_dir / CATALOG_FILE
        if readonly and not self.path.exists():
            raise PhotoseekError(
                f"No photo library at {self.library_dir}. Index some photos first: "
                f"photoseek --library {self.library_dir} index PATH"
            )
        self.library_dir.mkdir(parents=True, exist_ok=True)
        self._shared = self._connect()
        self._local: threading.local | None = None  # set by per_thread_connections()
        self._opened = [self._shared]
        self._opened_lock = threading.Lock()
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so batches are explicit.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoint, never corrupt
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection for the calling thread: one shared by all threads, unless
        `per_thread_connections()` was called."""
        local = self._local
        if local is None:
            return self._shared
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = self._connect()
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def change_key(self) -> tuple[int, int] | None:
        """A value that moves on every commit to the database, by this connection or another (another
        process's too), for caches of what was read: (PRAGMA data_version, total_changes) of the one
        connection open. None once per-thread connections opened a second one: the counters are
        each connection's own, so no value would be comparable between threads."""
        with self._opened_lock:
            if len(self._opened) != 1:
                return None
            conn = self._opened[0]
        return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes

    def per_thread_connections(self) -> None:
        """From now on each thread uses a connection of its own (the calling thread keeps the one it
        has). For servers: threads sharing one connection queue on SQLite's connection mutex, and a
        thread reading rows waits for it holding the GIL, so one slow query stalls every request
        (measured: 8 concurrent API searches ran one at a time). WAL lets the connections read in
        parallel; each transaction still runs on one thread's connection."""
        if self._local is None:
            local = threading.local()
            local.conn = self._shared
            self._local = local

    # -- schema -------------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise PhotoseekError(
                f"The catalog at {self.path} was made by a newer photoseek (schema {version}, "
                f"this one knows {SCHEMA_VERSION}). Upgrade photoseek."
            )
        for target in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _split_sql(MIGRATIONS[target]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={target + 1}")

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    # -- transactions ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolls back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction for a block of reads (a search), on a server's per-thread connection:
        every query inside sees the same committed state (WAL snapshot isolation), SQLite takes its
        read lock once instead of per statement, and `get_meta` answers from the meta table read
        once at the start (a search asks for the vectors generation and model ids ~10 times: 10% of
        an API search's CPU). A no-op on the shared connection (the CLI: other threads may use it)
        and inside a transaction already open."""
        local = self._local
        if local is None or getattr(local, "meta", None) is not None or self.conn.in_transaction:
            yield
            return
        with self.read_transaction():
            local.meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
            try:
                yield
            finally:
                local.meta = None

    @contextmanager
    def read_transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT around reads on the calling thread's connection: one consistent state
        while an indexer commits batches (WAL). Inside a transaction already open, that one holds."""
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    # -- meta -------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        meta = getattr(self._local, "meta", None) if self._local is not None else None
        if meta is not None:
            return meta.get(key, default)
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Call inside a transaction."""
        meta = getattr(self._local, "meta", None) if self._local is not None else None
        if meta is not None:
            meta[key] = value
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def bump_vectors_generation(self) -> int:
        """Call inside the transaction that changes embeddings; FAISS caches compare against it."""
        generation = int(self.get_meta("vectors_generation", "0")) + 1
        self.set_meta("vectors_generation", str(generation))
        return generation

    @property
    def vectors_generation(self) -> int:
        return int(self.get_meta("vectors_generation", "0"))

    # -- lookups ----------------------------------------------------------------------------------
    def resolve_photo(self, path_or_id: str | int) -> sqlite3.Row:
        """A photo row by id ("12", 12) or by path (relative paths resolved from the cwd)."""
        row = None
        if isinstance(path_or_id, int) or (isinstance(path_or_id, str) and path_or_id.isdigit()):
            row = self.conn.execute("SELECT * FROM photos WHERE id=?", (int(path_or_id),)).fetchone()
        if row is None and not isinstance(path_or_id, int):
            row = self.conn.execute("SELECT * FROM photos WHERE path=?", (path_key(path_or_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"No photo {path_or_id!r} in this library (give a photo id or an indexed path).")
        return row

    def photo_name(self, photo_id: int) -> str:
        """The file name of a photo (no folder), as people see it; "photo ID" when the catalog lacks it."""
        row = self.conn.execute("SELECT display_path FROM photos WHERE id=?", (int(photo_id),)).fetchone()
        return os.path.basename(row[0]) if row else f"photo {photo_id}"

    def photo_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM photos").fetchone()[0]

    # -- full text ----------------------------------------------------------------------------------
    def refresh_fulltext(self, photo_id: int) -> None:
        """Rebuild the FTS row of one photo from tags (minus rejected ones), OCR, caption, file name.

        Call inside a transaction, after changing any of those.
        """
        refresh_fulltext_row(self.conn, photo_id)


def refresh_fulltext_row(conn: sqlite3.Connection, photo_id: int) -> None:
    """The FTS row of one photo (see Catalog.refresh_fulltext); for callers holding only a connection."""
    row = conn.execute("SELECT display_path FROM photos WHERE id=?", (photo_id,)).fetchone()
    conn.execute("DELETE FROM photo_text WHERE rowid=?", (photo_id,))
    if row is None:
        return
    tags = [t.tag for t in effective_tags(conn, photo_id)]
    ocr = conn.execute("SELECT text FROM ocr WHERE photo_id=?", (photo_id,)).fetchone()
    caption = conn.execute("SELECT caption FROM captions WHERE photo_id=?", (photo_id,)).fetchone()
    filename = os.path.splitext(os.path.basename(row[0]))[0].replace("_", " ").replace("-", " ")
    conn.execute(
        "INSERT INTO photo_text(rowid, tags, ocr, caption, filename) VALUES (?, ?, ?, ?, ?)",
        (photo_id, " ".join(tags), ocr[0] if ocr else "", caption[0] if caption else "", filename),
    )


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements: drop `--` comments, then split on semicolons
    (our migrations have none inside literals)."""
    without_comments = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [s.strip() for s in without_comments.split(";") if s.strip()]
