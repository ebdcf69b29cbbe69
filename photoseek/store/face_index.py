"""Nearest faces by descriptor (FAISS, Euclidean distance), for clustering faces into people.

The `faces` table is the source of truth; the index is a cache of it written beside the catalog as
<library>/vectors/faces.g<generation>.faiss (the generation is meta `faces_generation`, moved by
every write of face rows). A reader takes the newest cache file and brings it up to date with the
faces added and removed since (IVF and ID-mapped flat indexes both remove by id), so an index run
that adds a few hundred faces to a million never rebuilds it.

Index kind by size, as for photo vectors (store.vectors): below APPROXIMATE_THRESHOLD faces an exact
IndexFlatL2, above an IVF-Flat over L2 (nlist ~ sqrt(n), nprobe IVF_NPROBE). At a million faces one
query takes about a millisecond (bench/people_scale.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from photoseek.store.faces import descriptor_array, faces_generation
from photoseek.store.vectors import VECTORS_DIR, _index_ids, _is_flat, build_ivf_index

if TYPE_CHECKING:
    import sqlite3

    import numpy as np

APPROXIMATE_THRESHOLD = 50_000
IVF_NPROBE = 24
_CACHE = re.compile(r"faces\.g(\d+)\.faiss")
_CHUNK = 50_000


class FaceIndex:
    """All the library's face descriptors, searchable by Euclidean distance; face ids are FAISS ids."""

    def __init__(self, index, count: int):
        self.index = index
        self.count = count

    # -- building ------------------------------------------------------------------------------------
    @classmethod
    def build(cls, conn: "sqlite3.Connection", *, approximate_threshold: int = APPROXIMATE_THRESHOLD) -> "FaceIndex":
        ids, vectors = read_descriptors(conn)
        return cls.from_vectors(ids, vectors, approximate_threshold=approximate_threshold)

    @classmethod
    def from_vectors(cls, ids: "np.ndarray", vectors: "np.ndarray", *,
                     approximate_threshold: int = APPROXIMATE_THRESHOLD) -> "FaceIndex":
        import faiss
        import numpy as np

        dim = vectors.shape[1] if len(vectors) else 128
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(ids) >= approximate_threshold:
            index = build_ivf_index(vectors, ids, metric="l2")
            faiss.extract_index_ivf(index).nprobe = IVF_NPROBE
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatL2(dim))
            if len(ids):
                index.add_with_ids(vectors, ids)
        return cls(index, int(index.ntotal))

    @classmethod
    def load(cls, conn: "sqlite3.Connection", library_dir: "str | os.PathLike", *, write: bool = True) -> "FaceIndex":
        """The index for the catalog's faces now: the newest cache file brought up to date (and
        written back when `write`), or one built from the table."""
        import faiss

        folder = Path(library_dir) / VECTORS_DIR
        generation = faces_generation(conn)
        cached = _newest_cache(folder, generation)
        loaded = None
        if cached is not None:
            try:
                loaded = cls(faiss.read_index(str(cached[1])), 0)
                loaded.count = int(loaded.index.ntotal)
            except RuntimeError:  # damaged: rebuilt below
                loaded = None
        if loaded is not None and cached[0] == generation:
            return loaded
        if loaded is not None:
            loaded.catch_up(conn)
        else:
            loaded = cls.build(conn)
        if write:
            loaded.save(folder, generation)
        return loaded

    def catch_up(self, conn: "sqlite3.Connection") -> None:
        """Add the faces the table has and the index lacks; remove those it no longer has."""
        import numpy as np

        held = _index_ids(self.index)
        now = np.array([r[0] for r in conn.execute("SELECT id FROM faces ORDER BY id")], dtype=np.int64)
        gone = np.setdiff1d(held, now, assume_unique=True)
        new = np.setdiff1d(now, held, assume_unique=True)
        if len(gone):
            self.index.remove_ids(gone)
        if len(new):
            ids, vectors = read_descriptors(conn, new.tolist())
            self.add(ids, vectors)
        self.count = int(self.index.ntotal)

    def save(self, folder: Path, generation: int) -> None:
        import faiss

        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"faces.g{generation}.faiss"
            partial = folder / f".faces.g{generation}.{os.getpid()}.tmp"
            faiss.write_index(self.index, str(partial))
            os.replace(partial, target)
        except OSError:
            return  # a read-only library: searched from memory
        for path in folder.iterdir():
            match = _CACHE.fullmatch(path.name)
            if match and int(match.group(1)) != generation:
                try:
                    path.unlink()
                except OSError:
                    pass

    # -- use ---------------------------------------------------------------------------------------------
    def add(self, ids: "np.ndarray", vectors: "np.ndarray") -> None:
        import numpy as np

        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                    np.ascontiguousarray(ids, dtype=np.int64))
            self.count = int(self.index.ntotal)

    def search(self, queries: "np.ndarray", k: int) -> tuple["np.ndarray", "np.ndarray"]:
        """(ids, distances) of the k nearest faces per query row, nearest first; -1 ids pad."""
        import numpy as np

        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if self.count == 0 or len(queries) == 0:
            return np.full((len(queries), k), -1, np.int64), np.full((len(queries), k), np.inf, np.float32)
        squared, ids = self.index.search(queries, min(k, self.count))
        distances = np.sqrt(np.maximum(squared, 0.0))
        distances[ids < 0] = np.inf
        return ids, distances

    @property
    def approximate(self) -> bool:
        return not _is_flat(self.index)


def read_descriptors(conn: "sqlite3.Connection", ids: "list[int] | None" = None) -> tuple["np.ndarray", "np.ndarray"]:
    """(face ids, (n, 128) descriptors), in id order; all faces, or those of `ids`."""
    import numpy as np

    out_ids: list[int] = []
    blobs: list[bytes] = []
    if ids is None:
        for face_id, blob in conn.execute("SELECT id, descriptor FROM faces ORDER BY id"):
            out_ids.append(face_id)
            blobs.append(blob)
    else:
        for start in range(0, len(ids), 900):
            chunk = [int(i) for i in ids[start:start + 900]]
            marks = ",".join("?" * len(chunk))
            for face_id, blob in conn.execute(f"SELECT id, descriptor FROM faces WHERE id IN ({marks})", chunk):
                out_ids.append(face_id)
                blobs.append(blob)
        order = np.argsort(out_ids, kind="stable")
        out_ids = [out_ids[i] for i in order]
        blobs = [blobs[i] for i in order]
    return np.array(out_ids, dtype=np.int64), descriptor_array(blobs)


def _newest_cache(folder: Path, generation: int) -> tuple[int, Path] | None:
    if not folder.is_dir():
        return None
    found = []
    for path in folder.iterdir():
        match = _CACHE.fullmatch(path.name)
        if match and int(match.group(1)) <= generation:
            found.append((int(match.group(1)), path))
    return max(found) if found else None
