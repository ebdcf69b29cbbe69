"""The user's word on tags: confirm (+1) or reject (-1), stronger than any model.

Feedback lives in its own table keyed by photo id. Annotators and the indexer never write to it
(they replace rows in `tags`), so a re-index or re-annotation cannot undo what the user said, and a
confirmed tag counts even when no model ever proposed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from photoseek.errors import PhotoseekError
from photoseek.vision.taxonomy import expand, normalize_tag

if TYPE_CHECKING:
    import sqlite3

    from photoseek.index.catalog import Catalog

USER_SOURCE = "user"


@dataclass(frozen=True)
class EffectiveTag:
    tag: str
    confidence: float
    source: str
    broader: bool

    def to_dict(self) -> dict:
        return {"tag": self.tag, "confidence": round(self.confidence, 4), "source": self.source}


def _clean(tags: Iterable[str]) -> list[str]:
    cleaned = []
    for tag in tags:
        name = normalize_tag(str(tag))
        if not name:
            raise PhotoseekError("A tag cannot be empty.")
        if len(name) > 100:
            raise PhotoseekError(f"Tag too long ({len(name)} characters, at most 100): {name[:40]}...")
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def set_tag_feedback(
    catalog: "Catalog", photo_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> None:
    """Confirm the tags in `add` and reject those in `remove` for one photo (the last word wins:
    confirming a rejected tag flips it). Refreshes the photo's full-text row."""
    from photoseek.index.catalog import utc_now

    add, remove = _clean(add), _clean(remove)
    both = set(add) & set(remove)
    if both:
        raise PhotoseekError(f"Cannot both add and remove: {', '.join(sorted(both))}")
    catalog.resolve_photo(int(photo_id))  # NotFoundError for an unknown id
    now = utc_now()
    with catalog.transaction() as conn:
        conn.executemany(
            """INSERT INTO tag_feedback(photo_id, tag, verdict, at) VALUES (?, ?, ?, ?)
               ON CONFLICT(photo_id, tag) DO UPDATE SET verdict=excluded.verdict, at=excluded.at""",
            [(photo_id, tag, 1, now) for tag in add] + [(photo_id, tag, -1, now) for tag in remove],
        )
        catalog.refresh_fulltext(photo_id)


def clear_tag_feedback(catalog: "Catalog", photo_id: int, tags: Iterable[str]) -> None:
    """Forget the user's word on these tags (the models' tags show again)."""
    with catalog.transaction() as conn:
        conn.executemany(
            "DELETE FROM tag_feedback WHERE photo_id=? AND tag=?", [(photo_id, t) for t in _clean(tags)]
        )
        catalog.refresh_fulltext(photo_id)


def effective_tags(conn: "sqlite3.Connection", photo_id: int) -> list[EffectiveTag]:
    """A photo's tags with feedback applied: rejected tags hidden, confirmed ones as source 'user'
    with confidence 1.0. One row per tag (the most confident source), most confident first.

    Rejecting a term also hides the models' narrower tags under it ("not a cat" hides "tabby cat").
    """
    verdicts = {
        row[0]: row[1]
        for row in conn.execute("SELECT tag, verdict FROM tag_feedback WHERE photo_id=?", (photo_id,))
    }
    hidden: set[str] = set()
    for tag, verdict in verdicts.items():
        if verdict == -1:
            hidden |= expand(tag)
    best: dict[str, EffectiveTag] = {}
    for tag, confidence, source, broader in conn.execute(
        "SELECT tag, confidence, source, broader FROM tags WHERE photo_id=? ORDER BY confidence DESC, broader",
        (photo_id,),
    ):
        if tag in hidden or tag in best:
            continue
        best[tag] = EffectiveTag(tag, float(confidence), source, bool(broader))
    for tag, verdict in verdicts.items():
        if verdict == 1:
            best[tag] = EffectiveTag(tag, 1.0, USER_SOURCE, False)
    return sorted(best.values(), key=lambda t: (-t.confidence, t.broader, t.tag))


def photo_tags(catalog: "Catalog", photo_id: int) -> list[dict]:
    """[{tag, confidence, source}] for display and JSON, feedback applied."""
    return [t.to_dict() for t in effective_tags(catalog.conn, photo_id)]
