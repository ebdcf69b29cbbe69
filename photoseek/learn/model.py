"""One taught word's model, over the word features of photoseek.learn.features.

A photo's standing for the word (in standard deviations over the library, like search standings):

    s(x) = z_lda(x) + text_weight · z_text(x) + TAGGER_WEIGHT · tagger(x)

  z_lda    the features · w, w = (mean of the examples − ρ · mean of the rejections) / (variance + λ):
           a shrinkage LDA of the examples against the library as background (in the PCA basis the
           covariance is diagonal; λ = LDA_SHRINKAGE × the mean variance; ρ = the rejections' share of
           the user's photos), standardised over the library
  z_text   the word's own text similarity in the joint space ("giraffe" near photos the classifier sees
           giraffe-like animals in), standardised; text_weight is the examples' mean text standing,
           clipped to 0..1, so a word the text encoder cannot read ("our cabin", a name) counts for nothing
  tagger   the tagger's confidence (0..1) in a class of that name or a narrower one: the learned word and
           the tagger's own class combine rather than fight

Measured on coco-captions/concepts.jsonl (36 concepts with ≥ 6 photos, the first 3 as examples, the
rest found; mAP@200): the text alone 0.664, photos like the 3 (relevance feedback) 0.633, z_lda alone
0.67, z_lda + text 0.753, + tagger 0.757 (bench/words_calibration.py prints today's figure).

Confidence is Platt scaling of the margin between a photo and the examples: p = σ(a (s − m) + b),
where m is the examples' mean standing when each is held out (leave-one-out: the model trained
without it; with one example, its own standing). a and b were fitted on the same concepts, pooled
(bench/words_calibration.py fits them and prints the calibration held out by concept: photos given
0.5–0.7 showed the word 0.75 of the time, 0.7–0.9: 0.79, ≥ 0.9: 0.91). A photo is tagged when p ≥
TAG_CONFIDENCE; the mean p of the photos tagged is the precision `photoseek words` estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from photoseek.learn.features import WordFeatures

MIN_EXAMPLES = 3  # photos a word must be given to before it is learned
LDA_SHRINKAGE = 4.0  # × the mean variance, added to each dimension's variance
TAGGER_WEIGHT = 2.0  # standings per unit of the tagger's confidence in a class of the word's name
PLATT_SLOPE = 0.825  # fitted by bench/words_calibration.py (see the module docstring)
PLATT_INTERCEPT = -0.616
TAG_CONFIDENCE = 0.6  # a photo gets the learned tag at this confidence or more (answers: precision over recall)
MAX_FOLDS = 10  # cross-validation folds over the examples (leave-one-out up to this many)


@dataclass
class WordModel:
    """What was learned of one word; `standings` scores photos, `confidences` calibrates them."""

    direction: "np.ndarray"  # (dims,) float32, in the features' basis
    learned_spread: tuple[float, float]  # (mean, std) of features · direction over the library
    text: "np.ndarray | None" = None  # (dims,) the word's text direction, when it has one
    text_spread: tuple[float, float] = (0.0, 1.0)
    text_weight: float = 0.0
    margin: float = 0.0  # the examples' mean standing, each held out
    held_out: list[float] = field(default_factory=list)  # each example's standing when held out
    examples: int = 0
    rejections: int = 0
    features_key: str = ""

    def standings(self, features: "WordFeatures", tagger: "np.ndarray | None" = None, *,
                  text: bool = True) -> "np.ndarray":
        """s(x) for every photo of `features` (row order); `text=False` leaves the word's text
        similarity out (a search adds its own); `tagger` (n,) the tagger's confidence per photo."""
        import numpy as np

        mean, std = self.learned_spread
        scores = (features.matrix @ self.direction - mean) / std
        if text and self.text is not None and self.text_weight:
            t_mean, t_std = self.text_spread
            scores += self.text_weight * (features.matrix @ self.text - t_mean) / t_std
        if tagger is not None:
            scores += TAGGER_WEIGHT * np.asarray(tagger, dtype=np.float32)
        return scores.astype(np.float32, copy=False)

    def confidences(self, standings: "np.ndarray") -> "np.ndarray":
        import numpy as np

        return (1.0 / (1.0 + np.exp(-(PLATT_SLOPE * (np.asarray(standings) - self.margin) + PLATT_INTERCEPT)))
                ).astype(np.float32)

    def recall(self) -> float | None:
        """The share of the examples tagged when each is held out: a cross-validated recall."""
        if len(self.held_out) < 2:
            return None
        p = [1.0 / (1.0 + math.exp(-(PLATT_SLOPE * (s - self.margin) + PLATT_INTERCEPT))) for s in self.held_out]
        return sum(x >= TAG_CONFIDENCE for x in p) / len(p)

    # -- storage (the learned_words row) ----------------------------------------------------------------
    def to_storage(self) -> tuple[bytes, dict[str, Any]]:
        """(weights blob, JSON-able details) for store.words.save_model."""
        import numpy as np

        parts = [self.direction] + ([self.text] if self.text is not None else [])
        blob = np.concatenate([np.asarray(p, np.float32) for p in parts]).tobytes()
        details = {"dims": int(len(self.direction)), "has_text": self.text is not None,
                   "learned_spread": list(self.learned_spread), "text_spread": list(self.text_spread),
                   "text_weight": self.text_weight, "margin": self.margin, "held_out": self.held_out,
                   "examples": self.examples, "rejections": self.rejections, "features_key": self.features_key}
        return blob, details

    @classmethod
    def from_storage(cls, blob: bytes, details: dict[str, Any]) -> "WordModel":
        import numpy as np

        weights = np.frombuffer(blob, dtype=np.float32)
        dims = int(details["dims"])
        return cls(direction=weights[:dims], learned_spread=tuple(details["learned_spread"]),
                   text=weights[dims:2 * dims] if details.get("has_text") else None,
                   text_spread=tuple(details.get("text_spread", (0.0, 1.0))),
                   text_weight=float(details.get("text_weight", 0.0)), margin=float(details["margin"]),
                   held_out=list(details.get("held_out", [])), examples=int(details.get("examples", 0)),
                   rejections=int(details.get("rejections", 0)), features_key=str(details.get("features_key", "")))


def fit(features: "WordFeatures", examples: "np.ndarray", rejections: "np.ndarray",
        text: "np.ndarray | None" = None, tagger: "np.ndarray | None" = None) -> WordModel:
    """Train on the rows `examples` (photos given the word) and `rejections` (photos where the user
    rejected it), the rest of the library as background; `text` the word's text direction in the
    features' basis (`WordFeatures.project_text`), `tagger` (n,) the tagger's confidence per photo."""
    import numpy as np

    if len(examples) == 0:
        raise ValueError("a word is learned from at least one example")
    matrix = features.matrix
    shrunk = features.variances + LDA_SHRINKAGE * max(float(features.variances.mean()), 1e-12)
    bonus = TAGGER_WEIGHT * np.asarray(tagger, np.float32) if tagger is not None else np.zeros(len(matrix), np.float32)

    text_part = np.zeros(len(matrix), np.float32)
    text_spread, text_weight = (0.0, 1.0), 0.0
    if text is not None:
        raw = matrix @ text
        text_spread = _spread(raw)
        standing = (raw - text_spread[0]) / text_spread[1]
        text_weight = float(np.clip(standing[examples].mean(), 0.0, 1.0))
        text_part = text_weight * standing

    def direction(rows: "np.ndarray") -> "np.ndarray":
        target = matrix[rows].mean(axis=0)
        if len(rejections):
            target = target - len(rejections) / (len(rejections) + len(rows)) * matrix[rejections].mean(axis=0)
        return (target / shrunk).astype(np.float32)

    def standings(w: "np.ndarray") -> tuple["np.ndarray", tuple[float, float]]:
        raw = matrix @ w
        spread = _spread(raw)
        return (raw - spread[0]) / spread[1] + text_part + bonus, spread

    w = direction(examples)
    own, learned_spread = standings(w)
    held_out: list[float] = []
    if len(examples) >= 2:
        folds = np.array_split(np.asarray(examples), min(len(examples), MAX_FOLDS))
        for fold in folds:
            rest = np.setdiff1d(examples, fold)
            scores, _ = standings(direction(rest))
            held_out += [float(scores[i]) for i in fold]
    margin = float(np.mean(held_out)) if held_out else float(own[examples].mean())
    return WordModel(direction=w, learned_spread=learned_spread, text=text if text_weight else None,
                     text_spread=text_spread, text_weight=text_weight, margin=margin, held_out=held_out,
                     examples=int(len(examples)), rejections=int(len(rejections)), features_key=features.key)


def _spread(values: "np.ndarray") -> tuple[float, float]:
    import numpy as np

    return float(np.mean(values)), max(float(np.std(values)), 1e-9)
