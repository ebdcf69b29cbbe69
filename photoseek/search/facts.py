"""What a search reads of each photo it ranks or returns, kept in memory between searches.

Every search reads the same few things of its ~400 candidates and 10 results: the photo's row
(path, date, time of day, faces), caption, text read in it, tags as the user left them, the time
classifier's confidence, the colour tags and the named people recognised in it. From SQLite that is six queries and ~2.5 ms of a ~13 ms
API search at 10k photos (bench/serve.py); from memory, dictionary look-ups.

The cache is dropped whenever the catalog changed: `Catalog.change_key()` moves on every commit,
by this connection (`total_changes`) or any other (`PRAGMA data_version`), so a tag confirmed on the
page or an index run in another process is seen by the next search, as it was without the cache.
Those counters are each connection's own, so the cache holds only while the catalog has one
connection: the CLI, a script, each of the server's search processes (one thread each). A server
searching from many request threads, each with a connection of its own, reads SQLite every time.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from photoseek.store.catalog import Catalog
    from photoseek.store.places import PhotoPlace

#: photos kept before the cache starts over (~1 KB each)
MAX_PHOTOS = 200_000


@dataclass(frozen=True)
class StoredFacts:
    """One photo as a search reads it. `tags`: the effective tags (rejected ones left out, the
    user's confirmed ones first, as store.tags.effective_tags orders them); `learned`: the tags of
    taught words among them, with their confidence; `time_confidence`: the
    time-of-day classifier's confidence, None when it gave none; `colors`: colour tag names."""

    row: sqlite3.Row
    caption: str | None = None
    ocr: str | None = None
    tags: tuple[str, ...] = ()
    time_confidence: float | None = None
    colors: frozenset[str] = field(default_factory=frozenset)
    # the named people recognised in the photo: (name, face distance or None, 'auto' | 'user')
    recognised: tuple[tuple[str, float | None, str], ...] = ()
    place: "PhotoPlace | None" = None  # where it was taken and how that is known (store.places)
    learned: dict[str, float] = field(default_factory=dict)  # its learned tags (taught words) -> confidence


class FactsCache:
    """`facts(ids)` → {id: StoredFacts} for the ids the catalog holds (others are left out)."""

    def __init__(self, catalog: "Catalog"):
        self.catalog = catalog
        self._facts: dict[int, StoredFacts] = {}
        self._key: object = None
        self._lock = threading.Lock()

    def facts(self, ids: Iterable[int], *, evidence: bool = True, time: bool = True, colors: bool = True
              ) -> dict[int, StoredFacts]:
        """The flags say what the caller reads: `evidence` the whole row, caption, text and tags
        (else only faces and time of day), `time` the time confidence, `colors` the colour tags.
        Where nothing is kept (several connections) only those are read; the cache reads all."""
        ids = [int(i) for i in ids]
        key = self.catalog.change_key()
        if key is None:  # several connections (a server's request threads): read what is asked, keep nothing
            with self._lock:
                self._facts, self._key = {}, None
            loaded = _load(self.catalog.conn, list(dict.fromkeys(ids)), evidence=evidence, time=time,
                           colors=colors) if ids else {}
            return {i: loaded[i] for i in ids if i in loaded}
        with self._lock:
            if key != self._key or len(self._facts) > MAX_PHOTOS:
                self._facts, self._key = {}, key
            known = self._facts
            missing = [i for i in dict.fromkeys(ids) if i not in known]
        loaded = _load(self.catalog.conn, missing) if missing else {}
        with self._lock:  # `known` may be the dict other threads add to: read it under the lock too
            if self._key == key:
                self._facts.update(loaded)
            return {i: loaded[i] if i in loaded else known[i] for i in ids if i in loaded or i in known}


def load_all(cache: FactsCache, chunk: int = 5000) -> int:
    """Read every photo into `cache` (at most MAX_PHOTOS), so that no search waits on a cold read:
    the server's search processes do this as they start (0.5 s and ~1.6 KB a photo at 10k photos).
    Returns the number of photos read."""
    ids = [row[0] for row in cache.catalog.conn.execute(f"SELECT id FROM photos ORDER BY id LIMIT {MAX_PHOTOS}")]
    for start in range(0, len(ids), chunk):
        cache.facts(ids[start:start + chunk])
    return len(ids)


def _load(conn: sqlite3.Connection, ids: list[int], *, evidence: bool = True, time: bool = True,
          colors: bool = True) -> dict[int, StoredFacts]:
    id_list = ",".join(str(i) for i in ids)
    columns = "*" if evidence else "id, faces, time_of_day"  # what the attribute signal reads
    rows = {r["id"]: r for r in conn.execute(f"SELECT {columns} FROM photos WHERE id IN ({id_list})")}
    captions: dict[int, str] = {}
    ocr: dict[int, str] = {}
    tags: dict[int, list[str]] = {}
    learned: dict[int, dict[str, float]] = {}
    people: dict[int, list[tuple[str, float | None, str]]] = {}
    places: dict = {}
    if evidence:
        from photoseek.store.faces import recognised_in
        from photoseek.store.places import photo_places

        captions = dict(conn.execute(f"SELECT photo_id, caption FROM captions WHERE photo_id IN ({id_list})").fetchall())
        ocr = dict(conn.execute(f"SELECT photo_id, text FROM ocr WHERE photo_id IN ({id_list})").fetchall())
        tags = _effective_tags(conn, id_list)
        for pid, tag, confidence in conn.execute(
                f"""SELECT photo_id, tag, confidence FROM tags t WHERE source='learned' AND photo_id IN ({id_list})
                    AND NOT EXISTS (SELECT 1 FROM tag_feedback f WHERE f.photo_id=t.photo_id AND f.tag=t.tag)"""):
            learned.setdefault(pid, {})[tag] = float(confidence)
        people = recognised_in(conn, ids)
        places = photo_places(conn, ids)
    time_confidence: dict[int, float] = {}
    if time:
        time_confidence = dict(conn.execute(
            f"SELECT photo_id, max(confidence) FROM tags WHERE source='time' AND photo_id IN ({id_list}) "
            "GROUP BY photo_id").fetchall())
    color_tags: dict[int, set[str]] = {}
    if colors:
        for pid, tag in conn.execute(f"SELECT photo_id, tag FROM tags WHERE source='color' AND photo_id IN ({id_list})"):
            color_tags.setdefault(pid, set()).add(tag)
    none: frozenset[str] = frozenset()
    return {
        pid: StoredFacts(row, captions.get(pid), ocr.get(pid), tuple(tags.get(pid, ())), time_confidence.get(pid),
                         frozenset(color_tags[pid]) if pid in color_tags else none, tuple(people.get(pid, ())),
                         places.get(pid), learned.get(pid, {}))
        for pid, row in rows.items()
    }


def _effective_tags(conn: sqlite3.Connection, id_list: str) -> dict[int, list[str]]:
    """The tags as store.tags.effective_tags reads them: rejected ones hidden, the user's confirmed
    ones first (confidence 1), so "holiday" added by hand is evidence for "holiday"."""
    tags: dict[int, list[str]] = {}
    for pid, tag in conn.execute(
        f"""SELECT photo_id, tag FROM (
                SELECT photo_id, tag, confidence FROM tags WHERE photo_id IN ({id_list})
                    AND NOT EXISTS (SELECT 1 FROM tag_feedback f WHERE f.photo_id=tags.photo_id
                                    AND f.tag=tags.tag AND f.verdict=-1)
                UNION ALL
                SELECT photo_id, tag, 2.0 FROM tag_feedback WHERE verdict=1 AND photo_id IN ({id_list}))
            ORDER BY confidence DESC"""
    ):
        photo_tags = tags.setdefault(pid, [])
        if tag not in photo_tags:
            photo_tags.append(tag)
    return tags
