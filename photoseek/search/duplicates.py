"""Near-duplicate groups: photos whose visual vectors and layouts are almost the same (resized,
re-encoded, slightly cropped copies), joined transitively with union-find."""

from __future__ import annotations

from typing import TYPE_CHECKING

from photoseek.results import Evidence, SearchResult

if TYPE_CHECKING:
    from photoseek.store.catalog import Catalog
    from photoseek.store.vectors import VectorStore

# Copies are judged on the mean of two cosines: the classifier's pooled features (what is in the
# photo) and the layout descriptor (where the edges are). Either alone overlaps: a half-size copy is
# upscaled to the classifier's input, which blurs it (pooled cosine down to 0.75), and a 5% crop
# moves the layout (down to 0.77). Measured on 60 coco-captions photos and their copies, the mean is
# >= 0.81 for 5% crops, >= 0.87 for half-size and >= 0.94 for quality-40 re-encodes, and at most 0.71
# between any two of the 461 distinct photos.
DEFAULT_THRESHOLD = 0.78
# Libraries without layout vectors (indexed by an embedder with no classifier features): one cosine.
VISUAL_ONLY_THRESHOLD = 0.92
NEIGHBOURS = 8


def find_duplicates(
    catalog: "Catalog", store: "VectorStore", *, threshold: float | None = None
) -> list[list[SearchResult]]:
    """Groups of near-identical photos: a union-find over each photo's nearest neighbours whose
    mean visual + layout cosine reaches `threshold`; groups largest first, each photo's score its best."""
    import numpy as np

    space = "visual" if store.count("visual") else "joint"
    conn = catalog.conn
    ids = [r[0] for r in conn.execute("SELECT photo_id FROM embeddings WHERE space=? ORDER BY photo_id", (space,))]
    if len(ids) < 2:
        return []
    vectors = store.get(space, ids)
    with_layout = store.count("layout") > 0 and not conn.execute(
        "SELECT 1 FROM embeddings v WHERE v.space=? AND NOT EXISTS "
        "(SELECT 1 FROM embeddings l WHERE l.photo_id=v.photo_id AND l.space='layout') LIMIT 1", (space,)).fetchone()
    layouts = dict(zip(ids, store.get("layout", ids))) if with_layout else {}
    if threshold is None:
        threshold = DEFAULT_THRESHOLD if with_layout else VISUAL_ONLY_THRESHOLD
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
            if other < 0 or other == pid:
                continue
            if layouts:
                score = (score + float(np.dot(layouts[pid], layouts[other]))) / 2
            if score < threshold:
                continue
            parent[root(other)] = root(pid)
            best[pid] = max(best.get(pid, 0.0), float(score))
            best[other] = max(best.get(other, 0.0), float(score))
    groups: dict[int, list[int]] = {}
    for pid in ids:
        if pid in best:
            groups.setdefault(root(pid), []).append(pid)
    paths = dict(catalog.conn.execute("SELECT id, display_path FROM photos").fetchall())
    out = []
    for members in sorted(groups.values(), key=lambda m: (-len(m), m[0])):
        out.append([
            SearchResult(id=pid, path=paths[pid], score=best[pid],
                         evidence=Evidence(signals={"duplicate": round(best[pid], 4)},
                                           similar_to=[m for m in members if m != pid]))
            for pid in members
        ])
    return out
