"""Taught words in the catalog: the user's examples (their tag feedback), the learned tags (rows of
`tags` with source "learned") and what was learned (the `learned_words` table).

The user's word is the source of truth: a word's examples are the photos they gave it to (+1 in
tag_feedback), its rejections the photos where they refused it (-1). Everything else here is derived
and can be rebuilt from those (photoseek.learn.words does), so forgetting a word or a re-index never
touches the user's own tags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from photoseek.store.catalog import refresh_fulltext_row, utc_now
from photoseek.store.tags import LEARNED_SOURCE

if TYPE_CHECKING:
    import sqlite3


@dataclass
class WordRecord:
    """One learned_words row."""

    word: str
    forgotten: bool
    version: int
    model: bytes | None
    details: dict[str, Any]
    updated_at: str


def user_words(conn: "sqlite3.Connection") -> dict[str, tuple[int, int]]:
    """Every word the user gave to at least one photo: word -> (examples, rejections)."""
    counts: dict[str, list[int]] = {}
    for tag, verdict, n in conn.execute("SELECT tag, verdict, count(*) FROM tag_feedback GROUP BY tag, verdict"):
        counts.setdefault(tag, [0, 0])[0 if verdict == 1 else 1] += n
    return {tag: (c[0], c[1]) for tag, c in counts.items() if c[0]}


def feedback_photos(conn: "sqlite3.Connection", word: str) -> tuple[list[int], list[int]]:
    """(photos the user gave `word` to, photos where they rejected it), by id."""
    examples, rejections = [], []
    for pid, verdict in conn.execute("SELECT photo_id, verdict FROM tag_feedback WHERE tag=? ORDER BY photo_id", (word,)):
        (examples if verdict == 1 else rejections).append(int(pid))
    return examples, rejections


def learned_tags(conn: "sqlite3.Connection", word: str) -> dict[int, float]:
    """photo id -> confidence of the learned tag `word`."""
    return {int(pid): float(c) for pid, c in conn.execute(
        "SELECT photo_id, confidence FROM tags WHERE tag=? AND source=?", (word, LEARNED_SOURCE))}


def learned_counts(conn: "sqlite3.Connection") -> dict[str, int]:
    """word -> photos carrying it as a learned tag."""
    return dict(conn.execute("SELECT tag, count(*) FROM tags WHERE source=? GROUP BY tag", (LEARNED_SOURCE,)).fetchall())


def replace_learned_tags(conn: "sqlite3.Connection", word: str, confidences: dict[int, float]) -> tuple[int, int]:
    """Make the learned tags of `word` exactly `confidences` (photo id -> confidence). Call inside a
    transaction. Only the rows that change are written, and only photos that gained or lost the
    word get their full-text row rebuilt. Returns (photos added, photos removed)."""
    before = learned_tags(conn, word)
    removed = [pid for pid in before if pid not in confidences]
    added = [pid for pid in confidences if pid not in before]
    changed = [pid for pid, c in confidences.items() if pid in before and abs(before[pid] - c) >= 0.005]
    conn.executemany("DELETE FROM tags WHERE photo_id=? AND tag=? AND source=?",
                     [(pid, word, LEARNED_SOURCE) for pid in removed])
    conn.executemany(
        "INSERT OR REPLACE INTO tags(photo_id, tag, confidence, source, broader) VALUES (?, ?, ?, ?, 0)",
        [(pid, word, round(float(confidences[pid]), 4), LEARNED_SOURCE) for pid in added + changed])
    for pid in added + removed:
        refresh_fulltext_row(conn, pid)
    return len(added), len(removed)


def word_record(conn: "sqlite3.Connection", word: str) -> WordRecord | None:
    row = conn.execute("SELECT word, forgotten, version, model, details, updated_at FROM learned_words WHERE word=?",
                       (word,)).fetchone()
    return _record(row) if row else None


def word_records(conn: "sqlite3.Connection") -> dict[str, WordRecord]:
    rows = conn.execute("SELECT word, forgotten, version, model, details, updated_at FROM learned_words").fetchall()
    return {row[0]: _record(row) for row in rows}


def _record(row) -> WordRecord:
    return WordRecord(word=row[0], forgotten=bool(row[1]), version=int(row[2]), model=row[3],
                      details=json.loads(row[4] or "{}"), updated_at=row[5])


def save_word(conn: "sqlite3.Connection", word: str, model: bytes | None, details: dict[str, Any], *,
              forgotten: bool = False) -> None:
    """Write what was learned of `word` (None: nothing, too few examples); moves its version on.
    Call inside a transaction."""
    conn.execute(
        """INSERT INTO learned_words(word, forgotten, version, model, details, updated_at) VALUES (?, ?, 1, ?, ?, ?)
           ON CONFLICT(word) DO UPDATE SET forgotten=excluded.forgotten, version=learned_words.version + 1,
               model=excluded.model, details=excluded.details, updated_at=excluded.updated_at""",
        (word, int(forgotten), model, json.dumps(details, separators=(",", ":")), utc_now()))


def delete_word(conn: "sqlite3.Connection", words: Iterable[str]) -> None:
    """Drop the records of words nobody gives any more (call inside a transaction)."""
    conn.executemany("DELETE FROM learned_words WHERE word=?", [(w,) for w in words])
