"""A photo's tags as everyone reads them: the models' tags with the user's word applied.

One rule for display, search (the FTS row) and explanations, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from photoseek.vision.taxonomy import expand

if TYPE_CHECKING:
    import sqlite3

USER_SOURCE = "user"
# tags of a word the user taught (photoseek.learn): rows of `tags` like any model's, the user's word still wins
LEARNED_SOURCE = "learned"


@dataclass(frozen=True)
class EffectiveTag:
    tag: str
    confidence: float
    source: str
    broader: bool

    def to_dict(self) -> dict:
        return {"tag": self.tag, "confidence": round(self.confidence, 4), "source": self.source}


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
