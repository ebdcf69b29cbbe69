"""Near-duplicate groups: photos whose visual vectors are almost the same (resized, re-encoded,
slightly cropped copies), joined transitively with union-find."""

from __future__ import annotations

from typing import TYPE_CHECKING

from photoseek.results import Evidence, SearchResult

if TYPE_CHECKING:
    from photoseek.library import Library

# Cosine of the visual space above which two photos count as copies. The classifier's pooled
# features of a re-encoded or resized copy sit above 0.95; different shots of one scene rarely pass 0.9.
DEFAULT_THRESHOLD = 0.92
NEIGHBOURS = 8


def find_duplicates(library: "Library", *, threshold: float | None = None) -> list[list[SearchResult]]:
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    store = library.vectors
    space = "visual" if store.count("visual") else "joint"
    ids = [r[0] for r in library.catalog.conn.execute("SELECT id FROM photos ORDER BY id")]
    if len(ids) < 2:
        return []
    vectors = store.get(space, ids)
    parent = {pid: pid for pid in ids}

    def root(pid: int) -> int:
        while parent[pid] != pid:
            parent[pid] = parent[parent[pid]]
            pid = parent[pid]
        return pid

    best: dict[int, float] = {}
    for (hit_ids, scores), pid in zip(store.search(space, vectors, NEIGHBOURS + 1), ids):
        for other, score in zip(hit_ids, scores):
            other = int(other)
            if other < 0 or other == pid or score < threshold:
                continue
            parent[root(other)] = root(pid)
            best[pid] = max(best.get(pid, 0.0), float(score))
            best[other] = max(best.get(other, 0.0), float(score))
    groups: dict[int, list[int]] = {}
    for pid in ids:
        if pid in best:
            groups.setdefault(root(pid), []).append(pid)
    paths = dict(library.catalog.conn.execute("SELECT id, display_path FROM photos").fetchall())
    out = []
    for members in sorted(groups.values(), key=lambda m: (-len(m), m[0])):
        out.append([
            SearchResult(id=pid, path=paths[pid], score=best[pid],
                         evidence=Evidence(signals={"visual": round(best[pid], 4)},
                                           similar_to=[m for m in members if m != pid]))
            for pid in members
        ])
    return out
