"""The features a taught word is learned over: each photo's stored vectors, no photo read again.

Per photo: the joint vector (what the classifier sees, in the text-image space) and the visual one
(the classifier's pooled features; signed square root, "power normalisation"), each centred on the
library's mean and scaled to unit length, weighted (SPACE_WEIGHTS) and concatenated; then reduced by
PCA to FEATURE_DIMS numbers. In that basis the features' covariance is diagonal, so a shrinkage LDA
(photoseek.learn.model) trains with one division per dimension, and scoring the whole library is one
(n, FEATURE_DIMS) product: 100k photos in milliseconds.

Chosen on coco-captions/concepts.jsonl (36 concepts, 3 examples each, mAP@200 of the combined
ranking): joint alone 0.63, visual alone 0.59 (logistic regression); joint + visual 0.65; shrinkage
LDA over both 0.67 and with the word's text 0.748; power-normalised visual +0.005; PCA to 128
dimensions 0.757, 256: 0.743 (the dev set is small; see docs/words.md).

The features are a cache derived from the catalog, like the FAISS files: written beside them as
<library>/vectors/words.g<generation>.<model-hash>.npz (temporary name, then renamed) when a word is
taught or an index run ends, and rebuilt whenever the vectors generation moved. A reader that cannot
write keeps them in memory.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from photoseek.store.vectors import MODEL_META_KEY, VECTORS_DIR, remove_older_caches

if TYPE_CHECKING:
    import numpy as np

    from photoseek.store.catalog import Catalog
    from photoseek.store.vectors import VectorStore

#: the spaces a word is learned over, and how much each counts (joint 0.7: measured, see above)
SPACE_WEIGHTS = {"joint": 0.7, "visual": 1.0}
#: exponent of the signed power normalisation per space (visual features are pooled activations)
POWER = {"visual": 0.5}
FEATURE_DIMS = 128
PCA_SAMPLE = 5000  # photos the means and the PCA basis are computed from (a random sample beyond this)
CHUNK = 8192  # photos transformed at a time: a 100k library never holds its full vectors twice
FEATURES_VERSION = "pca128-j0.7-vpow0.5-v1"  # change it when the features change: old caches are ignored
_FILE = re.compile(r"words\.g(\d+)\.[0-9a-f]+\.npz")


@dataclass
class WordFeatures:
    """The features of every photo with vectors: `ids` (sorted int64), `matrix` (n, dims) float32,
    `variances` (dims,) of each dimension over the library, `joint_basis` (joint dim, dims): how a
    vector of the joint space (a text) projects into the same basis; `key` names this basis (a model
    trained in another basis is trained again)."""

    ids: "np.ndarray"
    matrix: "np.ndarray"
    variances: "np.ndarray"
    joint_basis: "np.ndarray | None"
    key: str

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, photo_ids: Iterable[int]) -> "np.ndarray":
        """Row numbers of these photos (those without features left out)."""
        import numpy as np

        wanted = np.fromiter((int(i) for i in photo_ids), dtype=np.int64)
        at = np.searchsorted(self.ids, wanted)
        at = np.minimum(at, max(len(self.ids) - 1, 0))
        found = self.ids[at] == wanted if len(self.ids) else np.zeros(len(wanted), bool)
        return at[found]

    def project_text(self, vector: "np.ndarray") -> "np.ndarray | None":
        """A joint-space vector (a query text's) as a direction in this basis; None without a joint space."""
        import numpy as np

        v = np.asarray(vector, dtype=np.float32)
        if self.joint_basis is None or v.shape != (self.joint_basis.shape[0],):
            return None
        return (v / max(float(np.linalg.norm(v)), 1e-12)) @ self.joint_basis


def features_key(catalog: "Catalog") -> tuple[int, str] | None:
    """(vectors generation, hash of the models and feature version): what a cache file is stamped
    with; None before any photo has vectors."""
    models = [catalog.get_meta(MODEL_META_KEY[space]) for space in SPACE_WEIGHTS]
    if models[0] is None:
        return None
    text = "|".join(str(m) for m in models) + "|" + FEATURES_VERSION
    return catalog.vectors_generation, hashlib.sha1(text.encode()).hexdigest()[:10]


def load_features(catalog: "Catalog", vectors: "VectorStore", library_dir: str | Path | None = None, *,
                  write: bool = True) -> WordFeatures | None:
    """The features for the catalog's current vectors: read from their cache file, else built (and
    written when `write` and the folder allows). None for a library without vectors."""
    key = features_key(catalog)
    if key is None:
        return None
    folder = Path(library_dir if library_dir is not None else catalog.library_dir) / VECTORS_DIR
    path = folder / f"words.g{key[0]}.{key[1]}.npz"
    loaded = _read(path, key)
    if loaded is not None:
        return loaded
    with catalog.read_transaction():  # vectors and generation of one committed state
        key = features_key(catalog)
        built = build_features(vectors, f"g{key[0]}.{key[1]}")
    path = folder / f"words.g{key[0]}.{key[1]}.npz"
    if write and built is not None:
        _write(path, built)
    return built


def build_features(vectors: "VectorStore", key: str, *, seed: int = 0) -> WordFeatures | None:
    """Transform and reduce every photo's vectors (see the module docstring)."""
    import numpy as np

    spaces = [s for s in SPACE_WEIGHTS if vectors.model_id(s) is not None and len(vectors.ids(s))]
    if not spaces:
        return None
    ids = vectors.ids(spaces[0])
    for space in spaces[1:]:
        ids = np.intersect1d(ids, vectors.ids(space))
    if len(ids) == 0:
        return None
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(ids, size=min(len(ids), PCA_SAMPLE), replace=False))
    means = {s: _powered(s, vectors.get(s, sample)).mean(axis=0) for s in spaces}

    def transform(chunk_ids: "np.ndarray") -> "np.ndarray":
        parts = []
        for s in spaces:
            x = _powered(s, vectors.get(s, chunk_ids)) - means[s]
            x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            parts.append(SPACE_WEIGHTS[s] * x)
        return np.hstack(parts).astype(np.float32)

    rows = transform(sample)
    centre = rows.mean(axis=0)
    rows -= centre
    dims = max(1, min(FEATURE_DIMS, len(sample) - 1, rows.shape[1]))
    basis, variances = top_components(rows, dims, rng)
    matrix = np.empty((len(ids), dims), dtype=np.float32)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        matrix[start:start + len(chunk)] = (transform(chunk) - centre) @ basis
    joint_basis = None
    if "joint" in spaces:
        joint_dim = len(means["joint"])
        joint_basis = (SPACE_WEIGHTS["joint"] * basis[:joint_dim]).astype(np.float32)
    return WordFeatures(ids=ids.astype(np.int64), matrix=matrix, variances=variances, joint_basis=joint_basis, key=key)


def top_components(rows: "np.ndarray", dims: int, rng, iterations: int = 5) -> tuple["np.ndarray", "np.ndarray"]:
    """The `dims` leading principal axes (columns) of centred `rows` and their variances, by subspace
    iteration on the covariance (Halko et al. 2011): ~0.2 s where a full eigendecomposition of the
    1664-d covariance takes 1.5 s. On one BLAS thread: these small products and QR steps only lose
    time to threads (8 s instead of 0.07 for the QR steps on a busy 2-core machine)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        covariance = (rows.T @ rows) / len(rows)
        width = min(covariance.shape[0], dims + 32)
        if width >= covariance.shape[0]:  # small: the exact decomposition is as cheap
            values, vectors = np.linalg.eigh(covariance.astype(np.float64))
        else:
            q = np.linalg.qr(covariance @ rng.normal(size=(covariance.shape[0], width)).astype(np.float32))[0]
            for _ in range(iterations):
                q = np.linalg.qr(covariance @ q)[0]
            values, small = np.linalg.eigh((q.T @ covariance @ q).astype(np.float64))
            vectors = q @ small.astype(np.float32)
    order = np.argsort(values)[::-1][:dims]
    return vectors[:, order].astype(np.float32), np.maximum(values[order], 0.0).astype(np.float32)


def _powered(space: str, x: "np.ndarray") -> "np.ndarray":
    import numpy as np

    x = np.asarray(x, dtype=np.float32)
    power = POWER.get(space)
    return np.sign(x) * np.abs(x) ** power if power else x


def _read(path: Path, key: tuple[int, str]) -> WordFeatures | None:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            joint = data["joint_basis"]
            return WordFeatures(ids=data["ids"], matrix=data["matrix"], variances=data["variances"],
                                joint_basis=joint if joint.size else None, key=f"g{key[0]}.{key[1]}")
    except (OSError, KeyError, ValueError):
        return None  # missing, truncated or from another version: rebuild


def _write(path: Path, features: WordFeatures) -> None:
    """Atomically, then drop older generations' files; a folder that cannot be written is no error."""
    import numpy as np

    from photoseek.vision.model_cache import atomic_output

    try:
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, ids=features.ids, matrix=features.matrix, variances=features.variances,
                         joint_basis=features.joint_basis if features.joint_basis is not None else np.zeros(0, np.float32))
    except (OSError, RuntimeError):
        return
    remove_older_caches(path.parent, "words", "npz", int(_FILE.fullmatch(path.name).group(1)))
