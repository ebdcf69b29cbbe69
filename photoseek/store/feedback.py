"""The user's word on tags: confirm (+1) or reject (-1), stronger than any model.

Feedback lives in its own table keyed by photo id. Annotators and the indexer never write to it
(they replace rows in `tags`), so a re-index or re-annotation cannot undo what the user said, and a
confirmed tag counts even when no model ever proposed it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from photoseek.errors import PhotoseekError
from photoseek.store.catalog import utc_now
from photoseek.store.tags import USER_SOURCE, EffectiveTag, effective_tags
from photoseek.vision.taxonomy import normalize_tag

__all__ = ["USER_SOURCE", "EffectiveTag", "clear_tag_feedback", "effective_tags", "photo_tags", "set_tag_feedback"]

if TYPE_CHECKING:
    from photoseek.store.catalog import Catalog


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


def photo_tags(catalog: "Catalog", photo_id: int) -> list[dict]:
    """[{tag, confidence, source}] for display and JSON, feedback applied."""
    return [t.to_dict() for t in effective_tags(catalog.conn, photo_id)]
