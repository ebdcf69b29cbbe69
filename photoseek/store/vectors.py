"""Vector search over the catalog's embeddings.

The `embeddings` table (float32 BLOBs committed with their photo) is the source of truth. FAISS
indexes, one per space, are caches derived from it and written beside the catalog as
<library>/vectors/<space>.g<generation>.<model-hash>.faiss : the name carries the catalog's
`vectors_generation` and the model id, and files are written to a temporary name and renamed, so
a reader either finds the file for the catalog's current state or rebuilds one from SQLite (a
corrupt or stale file is never used). Readers that cannot write rebuild in memory. While another
process is indexing, a reader extends its older index with the newly committed photos instead
(see `_catch_up`). Large (IVF) cache files are memory-mapped, so a cold search reads only the
lists it probes.

Spaces: 'joint' (image vectors in the text-image space), 'visual' (image-only features), 'caption'
(caption texts embedded in the joint space by stage 2).

Index kind by library size: below APPROXIMATE_THRESHOLD vectors an exact IndexFlatIP (inside an
IndexIDMap2 so photo ids are the FAISS ids); above, an IVF-Flat index (nlist ≈ √n, nprobe tuned
for recall@10 ≥ 0.95, see bench/search.py). IVF rather than HNSW because IVF can remove vectors,
so an index run that changes a few photos updates the cache instead of rebuilding it, and its
build is a k-means plus one assignment pass, minutes faster than HNSW at a million vectors.

Vectors of two models never mix: only embeddings whose model_id equals the library's current
model (meta `embedder_id` / `visual_id`) are indexed, and `check_model` refuses a search with
another model.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from photoseek.errors import PhotoseekError

if TYPE_CHECKING:
    import numpy as np

    from photoseek.store.catalog import Catalog

SPACES = ("joint", "visual", "caption", "layout")
# meta keys naming the model whose vectors each space holds (written by the indexer). Caption
# vectors are captions embedded with the embedder's text side (`embed_texts`), so they belong to
# the joint model: whoever writes them stores space='caption', model_id=<embedder id> and bumps
# catalog.vectors_generation in the same transaction.
MODEL_META_KEY = {"joint": "embedder_id", "visual": "visual_id", "caption": "embedder_id", "layout": "layout_id"}
DIM_META_KEY = {"joint": "joint_dim", "visual": "visual_dim", "caption": "joint_dim", "layout": "layout_dim"}
VECTORS_DIR = "vectors"

APPROXIMATE_THRESHOLD = 50_000  # vectors; below this exact search is fast enough (< 10 ms)
EXACT_SUBSET_LIMIT = 20_000  # an allowed_ids filter this small is scored exactly, brute force
IVF_NPROBE = 32
# A few queries are faster on one thread: OpenMP's barriers cost more than they save at this size,
# and on a busy machine a descheduled worker thread turns 5 ms into 30 ms (bench/search.py).
SINGLE_THREAD_QUERIES = 8
_SQL_CHUNK = 900  # stay under SQLite's bound-parameter limit
_IVF_FLAT_FOURCC = b"IwFl"  # how faiss files of an IndexIVFFlat begin


class ModelMismatchError(PhotoseekError):
    """The library's vectors were made by another model than the one asked for."""


@dataclass
class _LoadedIndex:
    index: object  # faiss.Index
    ids: "np.ndarray"  # int64, the photo ids in the index
    generation: int
    model_id: str
    dim: int
    # memory-mapped from its cache file (generation `file_generation`): searchable, not changeable
    read_only: bool = False
    file_generation: int | None = None

    @property
    def approximate(self) -> bool:
        return not _is_flat(self.index)


class VectorStore:
    """Vector search for one library. Cheap to create; indexes load on first use per space."""

    def __init__(
        self,
        catalog: "Catalog",
        library_dir: str | os.PathLike | None = None,
        *,
        approximate_threshold: int = APPROXIMATE_THRESHOLD,
        nprobe: int = IVF_NPROBE,
    ) -> None:
        self.catalog = catalog
        self.library_dir = Path(library_dir) if library_dir is not None else catalog.library_dir
        self.approximate_threshold = approximate_threshold
        self.nprobe = nprobe
        self._loaded: dict[str, _LoadedIndex] = {}

    # -- models -------------------------------------------------------------------------------------

    def model_id(self, space: str = "joint") -> str | None:
        """The model whose vectors this library's `space` holds (None before the first index)."""
        _check_space(space)
        return self.catalog.get_meta(MODEL_META_KEY[space])

    def check_model(self, embedder_id: str) -> None:
        """Refuse to compare a query embedded by `embedder_id` with vectors of another model."""
        library_model = self.model_id("joint")
        if library_model is not None and library_model != embedder_id:
            raise ModelMismatchError(
                f"This library's photos were indexed with the model {library_model!r}, but the search "
                f"asked for {embedder_id!r}; their vectors cannot be compared. Search with the library's "
                f"model, or index the photos again with the new one (photoseek index re-embeds them all)."
            )

    # -- queries ----------------------------------------------------------------------------------

    def count(self, space: str = "joint") -> int:
        loaded = self._index(space)
        return 0 if loaded is None else int(loaded.index.ntotal)

    def search(
        self,
        space: str,
        query: "np.ndarray",
        k: int,
        allowed_ids: "set[int] | Iterable[int] | None" = None,
    ) -> "list[tuple[np.ndarray, np.ndarray]]":
        """Top `k` photos by inner product (cosine for normalised vectors), per query row.

        query: (d,) or (q, d). allowed_ids: restrict to these photo ids (a filtered subset); a
        small subset is scored exactly. Returns one (ids int64, scores float32) pair per query,
        best first, possibly shorter than k.
        """
        import numpy as np

        queries = np.atleast_2d(np.asarray(query, dtype=np.float32))
        loaded = self._index(space)
        empty = (np.zeros(0, np.int64), np.zeros(0, np.float32))
        if loaded is None or k <= 0 or loaded.index.ntotal == 0:
            return [empty for _ in queries]
        if queries.shape[1] != loaded.dim:
            raise PhotoseekError(
                f"a {queries.shape[1]}-d query cannot search the {space} vectors ({loaded.dim}-d, model "
                f"{loaded.model_id!r})"
            )
        queries = _normalise(queries)
        if allowed_ids is None:
            return self._search_index(loaded, queries, k, None)
        allowed = np.fromiter((int(i) for i in allowed_ids), dtype=np.int64)
        allowed = allowed[np.isin(allowed, loaded.ids)]
        if len(allowed) == 0:
            return [empty for _ in queries]
        if len(allowed) <= EXACT_SUBSET_LIMIT:
            with _threads_for(len(queries)):
                return _exact_top_k(queries, loaded.index.reconstruct_batch(allowed), allowed, k)
        return self._search_index(loaded, queries, k, allowed)

    def ids(self, space: str = "joint") -> "np.ndarray":
        """The photo ids (int64) of the vectors `space` holds, sorted; empty before any."""
        import numpy as np

        loaded = self._index(space)
        return np.zeros(0, np.int64) if loaded is None else loaded.ids

    def exact_matrix(self, space: str = "joint") -> "tuple[np.ndarray, np.ndarray] | None":
        """(ids (n,) int64, vectors (n, d) float32) of an exact (flat) index, in index order. The
        vectors are a read-only view of the index's own memory, not a copy (15 MB at 10k photos);
        the view keeps the index alive. None for an approximate (IVF) index or none at all."""
        import faiss
        import numpy as np

        loaded = self._index(space)
        if loaded is None or loaded.approximate or loaded.index.ntotal == 0:
            return None
        flat = faiss.downcast_index(loaded.index.index)
        vectors = np.asarray(_IndexMemory(loaded.index, int(flat.get_xb()), (int(flat.ntotal), int(flat.d))))
        return faiss.vector_to_array(loaded.index.id_map).astype(np.int64, copy=False), vectors

    def get(self, space: str, photo_ids: Sequence[int]) -> "np.ndarray":
        """(len(photo_ids), d) vectors in the order given; raises NotFound-style error for unknown ids."""
        import numpy as np

        loaded = self._index(space)
        ids = np.asarray(list(photo_ids), dtype=np.int64)
        if loaded is None:
            if len(ids):
                raise PhotoseekError(f"no {space} vectors in this library yet; index some photos first")
            return np.zeros((0, 0), np.float32)
        missing = ids[~np.isin(ids, loaded.ids)]
        if len(missing):
            raise PhotoseekError(
                f"photo(s) {', '.join(map(str, missing[:5].tolist()))} have no {space} vector "
                f"(not indexed, or indexed with another model)"
            )
        return loaded.index.reconstruct_batch(ids) if len(ids) else np.zeros((0, loaded.dim), np.float32)

    def _search_index(self, loaded: _LoadedIndex, queries, k: int, allowed) -> "list[tuple]":
        import faiss
        import numpy as np

        k = min(k, int(loaded.index.ntotal))
        selector = faiss.IDSelectorBatch(allowed) if allowed is not None else None
        if loaded.approximate:
            nlist = faiss.extract_index_ivf(loaded.index).nlist
            nprobe = self.nprobe
            if allowed is not None:
                # a restrictive filter leaves fewer candidates per list: probe more lists
                fraction = len(allowed) / max(1, loaded.index.ntotal)
                nprobe = math.ceil(nprobe * max(1.0, math.sqrt(0.05 / fraction)))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=min(nlist, nprobe))
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        with _threads_for(len(queries)):
            scores, ids = loaded.index.search(queries, k, params=params)
        results = []
        for row_ids, row_scores in zip(ids, scores):
            keep = row_ids >= 0
            results.append((row_ids[keep].astype(np.int64), row_scores[keep].astype(np.float32)))
        return results

    # -- loading and caching -------------------------------------------------------------------------

    def _index(self, space: str) -> _LoadedIndex | None:
        """The index for the catalog's current state: in memory, else the cache file, else built."""
        _check_space(space)
        model_id = self.model_id(space)
        if model_id is None:
            return None
        generation = self.catalog.vectors_generation
        loaded = self._loaded.get(space)
        if loaded is not None and loaded.generation == generation and loaded.model_id == model_id:
            return loaded
        loaded = self._read_cache(space, generation, model_id, mmap=True)
        if loaded is None:
            loaded = self._catch_up(space, generation, model_id)
        if loaded is None:
            with self.catalog.read_transaction():  # the generation and the vectors read from one state
                generation = self.catalog.vectors_generation
                model_id = self.model_id(space)
                loaded = self._build(space, generation, model_id)
            self._write_cache(space, loaded, quiet=True)
        self._loaded[space] = loaded
        return loaded

    def _catch_up(self, space: str, generation: int, model_id: str) -> _LoadedIndex | None:
        """While another process indexes, the generation moves on with every batch; rebuilding
        the index for each search would cost seconds on a large library. An index run only adds
        photos (new ids are larger) until its final sweep, after which it writes a fresh cache,
        so an older index of the same model plus the rows with larger ids is what a search needs.
        (Photos re-embedded mid-run keep their previous vector until the run's own cache.)"""
        from photoseek.store.lock import indexing_pid

        if indexing_pid(self.library_dir) is None:
            return None
        base = self._loaded.get(space)
        if base is None or base.model_id != model_id:
            base = self._newest_older_cache(space, generation, model_id)
        if base is not None and base.read_only:  # vectors will be added: load it into memory
            base = self._read_cache(space, base.file_generation, model_id)
        if base is None:
            return None
        import numpy as np

        last = int(base.ids[-1]) if len(base.ids) else 0
        rows = self.catalog.conn.execute(
            "SELECT photo_id, vector FROM embeddings WHERE photo_id > ? AND space=? AND model_id=? ORDER BY photo_id",
            (last, space, model_id),
        ).fetchall()
        rows = [r for r in rows if len(r[1]) == 4 * base.dim]
        if rows:
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), base.dim)
            base.index.add_with_ids(np.ascontiguousarray(vectors), ids)
            base.ids = np.concatenate([base.ids, ids])
        base.generation = generation  # in memory only: not written, it is not exactly that state
        return base

    def _newest_older_cache(self, space: str, generation: int, model_id: str) -> _LoadedIndex | None:
        suffix = f".{_model_hash(model_id)}.faiss"
        pattern = re.compile(rf"{re.escape(space)}\.g(\d+){re.escape(suffix)}")
        older = []
        for path in (self.library_dir / VECTORS_DIR).glob(f"{space}.g*{suffix}"):
            match = pattern.fullmatch(path.name)
            if match and int(match.group(1)) < generation:
                older.append(int(match.group(1)))
        for candidate in sorted(older, reverse=True):
            loaded = self._read_cache(space, candidate, model_id)
            if loaded is not None:
                return loaded
        return None

    def refresh(
        self,
        *,
        since_generation: int | None = None,
        changed_ids: Iterable[int] = (),
        removed_ids: Iterable[int] = (),
    ) -> None:
        """Writer side (the indexer, at the end of a run): make the cache files current.

        When the cache for `since_generation` exists and the index kind still fits the library's
        size, only `changed_ids` (re-added from SQLite) and `removed_ids` are applied to it;
        otherwise the index is rebuilt from SQLite. Nothing is done for a cache already current.
        """
        import numpy as np

        changed = np.fromiter((int(i) for i in changed_ids), dtype=np.int64)
        removed = np.fromiter((int(i) for i in removed_ids), dtype=np.int64)
        generation = self.catalog.vectors_generation
        for space in SPACES:
            model_id = self.model_id(space)
            if model_id is None:
                continue
            if self._cache_file(space, generation, model_id).exists():
                self._loaded.pop(space, None)
                continue
            loaded = None
            if since_generation is not None and since_generation != generation:
                loaded = self._read_cache(space, since_generation, model_id)
            if loaded is not None:
                loaded = self._apply_delta(space, loaded, changed, removed, generation)
            if loaded is None:
                loaded = self._build(space, generation, model_id)
            self._write_cache(space, loaded, quiet=False)
            self._loaded[space] = loaded

    def _apply_delta(self, space, loaded: _LoadedIndex, changed, removed, generation) -> _LoadedIndex | None:
        import numpy as np

        ids, vectors = self._read_vectors(space, loaded.model_id, changed)
        gone = np.union1d(changed, removed)
        remaining = len(np.setdiff1d(loaded.ids, gone, assume_unique=False)) + len(ids)
        if self._wants_approximate(remaining) != loaded.approximate:
            return None  # crossed the size threshold: build the other kind
        if loaded.approximate and _ivf_nlist_for(remaining) > 2 * _ivf_nlist(loaded.index):
            return None  # grown well past what its clusters were trained for
        if len(gone):
            loaded.index.remove_ids(np.ascontiguousarray(gone, dtype=np.int64))
        if len(ids):
            loaded.index.add_with_ids(vectors, ids)
        loaded.ids = np.union1d(np.setdiff1d(loaded.ids, gone), ids)
        loaded.generation = generation
        return loaded

    def _wants_approximate(self, n: int) -> bool:
        return n >= self.approximate_threshold

    def _build(self, space: str, generation: int, model_id: str) -> _LoadedIndex:
        import faiss

        ids, vectors = self._read_vectors(space, model_id)
        dim = vectors.shape[1] if len(vectors) else self._meta_dim(space)
        if self._wants_approximate(len(ids)):
            index = build_ivf_index(vectors, ids)
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            if len(ids):
                index.add_with_ids(vectors, ids)
        return _LoadedIndex(index=index, ids=ids, generation=generation, model_id=model_id, dim=dim)

    def _meta_dim(self, space: str) -> int:
        value = self.catalog.get_meta(DIM_META_KEY[space])
        return int(value) if value else 1

    def _read_vectors(self, space: str, model_id: str, only_ids=None) -> "tuple[np.ndarray, np.ndarray]":
        """(ids, vectors) from the catalog, for every photo or only `only_ids`."""
        import numpy as np

        sql = "SELECT photo_id, vector FROM embeddings WHERE space=? AND model_id=?"
        rows: list = []
        if only_ids is None:
            rows = self.catalog.conn.execute(sql + " ORDER BY photo_id", (space, model_id)).fetchall()
        else:
            only = [int(i) for i in only_ids]
            for start in range(0, len(only), _SQL_CHUNK):
                chunk = only[start : start + _SQL_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows += self.catalog.conn.execute(
                    f"{sql} AND photo_id IN ({marks})", (space, model_id, *chunk)
                ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, self._meta_dim(space)), np.float32)
        width = len(rows[0][1])
        rows = [r for r in rows if len(r[1]) == width]  # a malformed blob must not shift every row
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), width // 4)
        return ids, np.ascontiguousarray(vectors)

    # -- cache files ------------------------------------------------------------------------------

    def _cache_file(self, space: str, generation: int, model_id: str) -> Path:
        return self.library_dir / VECTORS_DIR / f"{space}.g{generation}.{_model_hash(model_id)}.faiss"

    def _read_cache(self, space: str, generation: int, model_id: str, *, mmap: bool = False) -> _LoadedIndex | None:
        """The cache file for this state, or None (missing, truncated, corrupt: rebuild instead).

        mmap: map an IVF index's lists instead of reading them (a search touches only the lists it
        probes, so a cold search on a million photos does not read 1.5 GB first). Such an index is
        read-only: faiss aborts the process on a write to mapped lists, so it is never changed."""
        import faiss

        path = self._cache_file(space, generation, model_id)
        try:
            with open(path, "rb") as handle:
                mappable = mmap and handle.read(4) == _IVF_FLAT_FOURCC
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP if mappable else 0)
        except (RuntimeError, OSError):
            return None
        try:
            return _LoadedIndex(index=index, ids=_index_ids(index), generation=generation, model_id=model_id,
                                dim=index.d, read_only=mappable, file_generation=generation)  # fmt: skip
        except Exception:
            return None

    def _write_cache(self, space: str, loaded: _LoadedIndex, *, quiet: bool) -> None:
        """Atomically write `loaded` under its generation's name and drop older files.
        Readers (quiet) keep going with the in-memory index when the library is read-only."""
        import faiss

        from photoseek.vision.model_cache import atomic_output

        target = self._cache_file(space, loaded.generation, loaded.model_id)
        try:
            with atomic_output(target) as tmp:
                faiss.write_index(loaded.index, str(tmp))
        except (OSError, RuntimeError):
            if quiet:
                return
            raise
        self._remove_older_caches(space, loaded.generation)

    def _remove_older_caches(self, space: str, generation: int) -> None:
        remove_older_caches(self.library_dir / VECTORS_DIR, space, "faiss", generation)


def remove_older_caches(folder: Path, name: str, extension: str, generation: int) -> None:
    """Delete the cache files <name>.g<N>.<model-hash>.<extension> of generations before `generation`
    (a file another process still reads stays readable until it closes it)."""
    pattern = re.compile(rf"{re.escape(name)}\.g(\d+)\.[0-9a-f]+\.{re.escape(extension)}")
    for path in folder.glob(f"{name}.g*.{extension}"):
        match = pattern.fullmatch(path.name)
        if match and int(match.group(1)) < generation:
            try:
                path.unlink()
            except OSError:
                pass


# -- index construction ---------------------------------------------------------------------------------


def _ivf_nlist_for(n: int) -> int:
    """Clusters for n vectors: ~√n, a power of two, at least 64."""
    return max(64, 1 << round(math.log2(max(1.0, math.sqrt(n)))))


def _ivf_nlist(index) -> int:
    import faiss

    return faiss.extract_index_ivf(index).nlist


def build_ivf_index(vectors: "np.ndarray", ids: "np.ndarray", nlist: int | None = None, *, metric: str = "ip"):
    """IVF-Flat, inner product (or "l2": squared Euclidean, for face descriptors), trained on a
    sample; photo ids as FAISS ids; removable, and reconstructable by id (hashtable direct map)."""
    import faiss
    import numpy as np

    n, dim = vectors.shape
    nlist = nlist or _ivf_nlist_for(n)
    if metric == "l2":
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, nlist, faiss.METRIC_L2)
    else:
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    training = vectors
    sample = min(n, 64 * nlist)  # k-means quality plateaus well below faiss' 256 points per centroid
    if sample < n:
        rng = np.random.default_rng(0)
        training = vectors[np.sort(rng.choice(n, size=sample, replace=False))]
    index.cp.niter = 12
    index.train(np.ascontiguousarray(training))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    index.add_with_ids(vectors, ids)
    index.nprobe = IVF_NPROBE
    return index


class _IndexMemory:
    """A FAISS index's float32 vectors as a numpy array interface; the array made from it holds
    this object, and so the index, for as long as the array lives."""

    def __init__(self, index: object, address: int, shape: tuple[int, int]):
        self.index = index
        self.__array_interface__ = {"shape": shape, "typestr": "<f4", "data": (address, True), "version": 3}


def _is_flat(index) -> bool:
    import faiss

    return isinstance(index, faiss.IndexIDMap2) or isinstance(index, faiss.IndexIDMap)


def _index_ids(index) -> "np.ndarray":
    """The photo ids an index holds, sorted."""
    import faiss
    import numpy as np

    if _is_flat(index):
        return np.sort(faiss.vector_to_array(index.id_map).astype(np.int64))
    ivf = faiss.extract_index_ivf(index)
    invlists = ivf.invlists
    parts = []
    for list_no in range(ivf.nlist):
        size = invlists.list_size(list_no)
        if size:
            pointer = invlists.get_ids(list_no)
            parts.append(faiss.rev_swig_ptr(pointer, size).copy())
            invlists.release_ids(list_no, pointer)
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def _exact_top_k(queries, vectors, ids, k: int) -> "list[tuple]":
    import faiss
    import numpy as np

    scores, positions = faiss.knn(queries, np.ascontiguousarray(vectors), min(k, len(ids)), metric=faiss.METRIC_INNER_PRODUCT)
    results = []
    for row_positions, row_scores in zip(positions, scores):
        keep = row_positions >= 0
        results.append((ids[row_positions[keep]].astype(np.int64), row_scores[keep].astype(np.float32)))
    return results


_omp_guard = threading.Lock()


@contextlib.contextmanager
def _threads_for(queries: int):
    """One OpenMP thread for a handful of queries, all of them for batches."""
    if queries > SINGLE_THREAD_QUERIES:
        yield
        return
    import faiss

    with _omp_guard:  # the setting is process-wide: searches in other threads wait their turn
        previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(previous)


def _normalise(vectors):
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def _model_hash(model_id: str) -> str:
    return hashlib.sha1(model_id.encode("utf-8")).hexdigest()[:10]


def _check_space(space: str) -> None:
    if space not in SPACES:
        raise ValueError(f"unknown vector space {space!r}; use one of {SPACES}")
