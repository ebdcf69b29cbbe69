"""Where a photo's score stands among all the library's photos for the same query.

A raw cosine means different things for different embedders (ConSE's centred cosines sit around
0.1–0.5, CLIP's around 0.15–0.35) and libraries, so a match level cannot be a fixed cosine. It is a
z-score instead: (score − mean) / std over the scores of every photo of the library for this query.

For text queries that needs no scan. The search scores each photo with y·q, where y is the photo's
joint vector less JOINT_CENTRING × the library mean, normalised, and q the unit query vector. Over
the library, those scores have mean μ·q and variance qᵀΣq, with μ and Σ the mean and covariance of
the y vectors. Those moments (d + d² numbers) are computed once when indexing ends and stored in the
catalog's meta table (`calibration.joint`, stamped with the vectors generation); a library indexed
before they existed, or changed since, gets them computed in memory on first search.

For query by example the score mixes two spaces (visual + layout), so the moments of one space do
not give it; the engine scores a sample of the library instead (at most SAMPLE photos).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np

    from photoseek.store.catalog import Catalog
    from photoseek.store.vectors import VectorStore

META_KEY = "calibration.{space}"
SAMPLE = 5000  # photos the moments are computed from (a random sample beyond this; exact below)
MIN_PHOTOS = 20  # fewer photos give no usable spread: no standing (levels then rest on evidence alone)
MIN_STD = 1e-6


@dataclass
class Moments:
    """Mean (d,) and covariance (d, d) of a library's transformed vectors, and what they were made from."""

    mean: "np.ndarray"
    cov: "np.ndarray"
    count: int
    generation: int
    centring: float

    def spread(self, query: "np.ndarray") -> tuple[float, float]:
        """(mean, std) of the scores y·query over the library; query a unit (d,) vector."""
        import numpy as np

        q = np.asarray(query, dtype=np.float64)
        mean = float(self.mean @ q)
        var = float(q @ self.cov @ q)
        return mean, max(var, 0.0) ** 0.5

    def to_json(self) -> str:
        import numpy as np

        def b64(a: "np.ndarray") -> str:
            return base64.b64encode(np.ascontiguousarray(a, dtype=np.float32).tobytes()).decode("ascii")

        return json.dumps({"count": self.count, "generation": self.generation, "centring": self.centring,
                           "dim": int(self.mean.shape[0]), "mean": b64(self.mean), "cov": b64(self.cov)})

    @classmethod
    def from_json(cls, text: str) -> "Moments":
        import numpy as np

        data = json.loads(text)
        dim = int(data["dim"])

        def array(key: str, shape: tuple[int, ...]) -> "np.ndarray":
            return np.frombuffer(base64.b64decode(data[key]), dtype=np.float32).astype(np.float64).reshape(shape)

        return cls(array("mean", (dim,)), array("cov", (dim, dim)), int(data["count"]), int(data["generation"]),
                   float(data["centring"]))


def transform(vectors: "np.ndarray", library_mean: "np.ndarray | float", centring: float) -> "np.ndarray":
    """Rows less centring × the library mean, normalised: what the joint text search scores."""
    import numpy as np

    x = np.asarray(vectors, dtype=np.float64) - centring * np.asarray(library_mean, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def compute_moments(vectors: "np.ndarray", centring: float, generation: int) -> Moments | None:
    """Moments of `vectors` (n, d) after `transform` with their own mean; None below MIN_PHOTOS."""
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float64)
    if len(vectors) < MIN_PHOTOS:
        return None
    y = transform(vectors, vectors.mean(axis=0), centring)
    mean = y.mean(axis=0)
    cov = np.cov(y, rowvar=False, bias=True)
    return Moments(mean, cov, len(vectors), generation, centring)


def sample_ids(catalog: "Catalog", space: str, limit: int = SAMPLE) -> list[int]:
    """Up to `limit` photo ids with a vector in `space` (all of them below the limit)."""
    rows = catalog.conn.execute(
        "SELECT photo_id FROM embeddings WHERE space=? ORDER BY random() LIMIT ?", (space, limit))
    return sorted(r[0] for r in rows)


def _current_stored(catalog: "Catalog", space: str, centring: float) -> Moments | None:
    """The stored moments when they were computed for the catalog's current vectors and centring."""
    stored = catalog.get_meta(META_KEY.format(space=space))
    if not stored:
        return None
    try:
        moments = Moments.from_json(stored)
    except (ValueError, KeyError):
        return None  # unreadable: recompute
    if moments.generation == catalog.vectors_generation and moments.centring == centring:
        return moments
    return None


def _sampled_moments(catalog: "Catalog", vectors: "VectorStore", space: str, centring: float) -> Moments | None:
    """The moments of a sample of `space`'s current vectors, computed now (None below MIN_PHOTOS)."""
    ids = sample_ids(catalog, space)
    if len(ids) < MIN_PHOTOS:
        return None
    return compute_moments(vectors.get(space, ids), centring, catalog.vectors_generation)


def library_moments(catalog: "Catalog", vectors: "VectorStore", space: str, centring: float) -> Moments | None:
    """The moments for the catalog's current vectors: stored ones when their generation is current,
    else computed now (not stored: searching opens the catalog read-only)."""
    current = _current_stored(catalog, space, centring)
    return current if current is not None else _sampled_moments(catalog, vectors, space, centring)


def store_moments(catalog: "Catalog", vectors: "VectorStore", space: str, centring: float) -> Moments | None:
    """Compute the moments of `space` and store them in the catalog's meta table (at index time);
    a run that changed no vectors keeps the stored ones."""
    current = _current_stored(catalog, space, centring)
    if current is not None:
        return current
    moments = _sampled_moments(catalog, vectors, space, centring)
    if moments is not None:
        with catalog.transaction():
            catalog.set_meta(META_KEY.format(space=space), moments.to_json())
    return moments


def z_scores(scores: dict[int, float], mean: float, std: float) -> dict[int, float]:
    """(score − mean) / std per photo; empty when the spread is degenerate."""
    if std < MIN_STD:
        return {}
    return {pid: (s - mean) / std for pid, s in scores.items()}


def sample_spread(values: Sequence[float], minimum: int = MIN_PHOTOS) -> tuple[float, float]:
    """(mean, std) of sampled scores (query by example); (0, 0) from fewer than `minimum`."""
    import numpy as np

    a = np.asarray(values, dtype=np.float64)
    if len(a) < minimum:
        return 0.0, 0.0
    return float(a.mean()), float(a.std())
