"""One taught word's model, over the word features of photoseek.learn.features.

A photo's standing for the word (how far above the library's centre it stands, in units of the
library's spread: median and 1.4826 × MAD, so the word's own photos do not move the scale):

    s(x) = z_lda(x) + text_weight · z_text(x) + tagger_weight · tagger(x)

  z_lda    the features · w, w = (mean of the examples − ρ · mean of the rejections) / (variance + λ):
           a shrinkage LDA of the examples against the library as background (in the PCA basis the
           covariance is diagonal; λ = LDA_SHRINKAGE × the mean variance; ρ = the rejections' share of
           the user's photos), standardised over the library
  z_text   the word's own text similarity in the joint space ("giraffe" near photos the classifier sees
           giraffe-like animals in), standardised; text_weight is the examples' mean text standing,
           clipped to 0..1, so a word the text encoder cannot read ("our cabin", a name) counts for nothing
  tagger   the tagger's confidence (0..1) in a class of that name or a narrower one: the learned word and
           the tagger's own class combine rather than fight. tagger_weight is TAGGER_WEIGHT, less the share
           of it the user's rejections take back: when the tagger sees the class in the photos you rejected
           as much as in your examples, the class is not what your word means, and it counts for nothing

Measured on coco-captions/concepts.jsonl (36 concepts with ≥ 6 photos, the first 3 as examples, the
rest found; mAP@200 of the ranking): the text alone 0.664, photos like the 3 (relevance feedback)
0.633, z_lda alone 0.67, z_lda + text 0.753, + tagger 0.757 with standard deviations as the scale;
0.735 with the robust scale kept (median and MAD: it lets a word on a quarter of a small library
stand out, where the standard deviation grows with the word's own photos). LDA_SHRINKAGE and
TAGGER_WEIGHT were then chosen on half the concepts (the 1st, 3rd, … of the 36) over a grid (λ 0.5-8,
tagger 2-24) and checked on the other half: λ 4 → 0.5 and tagger 2 → 10 raised the search's mAP@200
from 0.722 to 0.745 on the half they were chosen on and from 0.743 to 0.759 on the other (0.733 →
0.752 over all 36; 1 example 0.719 → 0.732, 5: 0.672 → 0.698). Measured and not better (the same
protocol, docs/words.md): the full vectors instead of the 128-d PCA, the layout vectors, late fusion
of per-space models, the classifier's class probabilities recovered from the stored vectors, nearest
examples (max or mean likeness), exemplar LDA, bags of the tagger's tags, colour / time / people
annotations, query expansion from the text's best photos, rank-normalised or reciprocal-rank fusion.

Confidence: how sure a tag is, meant as the share of photos given that confidence that show the
word. Three estimates, the largest counts:

  library-wide  Platt scaling of the photo's standing s and the examples' own m (the examples' mean
                standing when each is held out of the training: cross-validation): p = σ(a s + c m + b),
                fitted on coco-captions concepts (a word whose examples stand far out needs its photos
                to stand further: c < 0). Calibrated held out by concept, but it knows nothing of the
                library at hand, and a word whose photos all stand alike and far from the rest (one
                bike, photographed often) would never reach it.
  your examples a photo standing above m, where your own examples stand when each is held out:
                p = σ(a' (s − m) + b') (EXAMPLES_*), a per-word cut from the examples' cross-validated
                standing. The library-wide part asks every word's photos to stand as far out as the
                concepts' do; a word whose photos stand close to the rest (a kitchen among rooms) is
                found where its examples say it stands. On coco-captions' held-out half this raised
                the answers' recall from 0.56 to 0.65 at the same precision (docs/words.md).
  this library  near the examples' standing (within CORE_SPREADS of the word's spread below it: the
                held-out examples' spread, shrunk to POSITIVE_SPREAD + POSITIVE_SPREAD_SLOPE × m), one
                minus the local false discovery rate (Efron): the density of standings non-matching
                photos have there (NEGATIVE_TAIL's bulk, then an exponential tail fitted on this
                library's photos below the word's) over the density this library has there,
                Platt-scaled (RECALIBRATION). A standing of 5
                where the library has a cluster of photos and next to nothing else is the word; where
                thousands of photos stand as high, it is not.

bench/words_calibration.py fits the constants on half the concepts (the 1st, 3rd, …; `--fit`) and
prints the calibration on that half and the other, over the whole library and with 60 or 200 other
photos; with TAG_CONFIDENCE 0.7 the learned tags of the other half's concepts were right 0.77 of the
time over the whole library (tags at 0.7–0.9: 0.57, ≥ 0.9: 0.90), 0.77 with 200 others, 0.92 with 60
(0.89, 0.91, 0.95 on the half fitted on; fitted on the other half, 0.90, 0.96, 0.97 held out: the
halves differ that much). It prefers no tag to a wrong one. The mean confidence of the
photos a word tags is the precision `photoseek words` estimates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from photoseek.learn.features import WordFeatures

MIN_EXAMPLES = 3  # photos a word must be given to before it is learned
LDA_SHRINKAGE = 0.5  # × the mean variance, added to each dimension's variance
TAGGER_WEIGHT = 10.0  # standings per unit of the tagger's confidence in a class of the word's name
MODEL_VERSION = 2  # stored with a word: a model of another version is trained again before it is used
TAG_CONFIDENCE = 0.7  # a photo gets the learned tag at this confidence or more (answers: precision over recall)
# the calibration's constants, fitted by bench/words_calibration.py --fit even on coco-captions concepts:
PLATT_STANDING, PLATT_MARGIN, PLATT_INTERCEPT = 0.579, -0.193, -3.365  # library-wide: σ(a s + c m + b)
# non-matching photos' standings: (standing, log of their share at or above it); beyond the last knot
# the tail falls by NEGATIVE_DECAY a unit
NEGATIVE_TAIL = ((0.0, -0.742), (1.0, -1.4), (2.0, -2.1), (3.0, -2.71), (4.0, -3.23), (5.0, -3.68),
                 (6.0, -4.02), (8.0, -4.63), (10.0, -5.35), (12.0, -6.22))
NEGATIVE_DECAY = 0.366
TAIL_FROM = 2.0  # standings: above this the null's tail decays exponentially, fitted on the library
TAIL_PRIOR = 30  # photos' worth of NEGATIVE_DECAY in that fit
# photos standing above the examples' held-out standing m in a library of n photos: σ(a (s − m) + c log n + b)
EXAMPLES_SLOPE, EXAMPLES_SIZE, EXAMPLES_INTERCEPT = 0.534, -1.157, 7.147
# p = σ(a · logit(1 − local fdr) + b), fitted pooled over libraries of 63, 203 and 461 photos
RECALIBRATION = (0.439, -0.673)
POSTERIOR_CLIP = 1e-3  # a density estimate says no more than 999 to 1, however empty the tail looks
POSITIVE_SPREAD, POSITIVE_SPREAD_SLOPE = 1.9, 0.3  # the word's photos' standings: sd = 1.9 + 0.3 × m
PRIOR_WEIGHT = 3  # examples' worth of that prior spread, against the examples' own
CORE_SPREADS = 2.0  # the density part judges photos within this many spreads below the examples' standing
DENSITY_BANDWIDTH = 0.5  # standings: the least kernel that smooths the library's density...
BANDWIDTH_SPREADS = 0.35  # ...or this share of the word's spread, when wider (a few photos make no peak)
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
    share: float = 0.0  # the share of the library the mixture found to show the word (at training)
    tagger_weight: float = TAGGER_WEIGHT  # what the tagger's class counts for this word (see `tagger_weight`)
    version: int = MODEL_VERSION

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
        if tagger is not None and self.tagger_weight:
            scores += self.tagger_weight * np.asarray(tagger, dtype=np.float32)
        return scores.astype(np.float32, copy=False)

    def confidences(self, standings: "np.ndarray") -> "np.ndarray":
        import numpy as np

        return mixture_confidence(np.asarray(standings, dtype=np.float32), self.margin, self.examples,
                                  np.asarray(self.held_out))[0]

    def recall(self) -> float | None:
        """The share of the examples tagged when each is held out: a cross-validated recall."""
        if len(self.held_out) < 2:
            return None
        import numpy as np

        at = np.asarray(self.held_out, dtype=np.float64)  # by the library-wide part of the confidence alone
        logit = PLATT_STANDING * at + PLATT_MARGIN * self.margin + PLATT_INTERCEPT
        return float((1.0 / (1.0 + np.exp(-logit)) >= TAG_CONFIDENCE).mean())

    # -- storage (the learned_words row) ----------------------------------------------------------------
    def to_storage(self) -> tuple[bytes, dict[str, Any]]:
        """(weights blob, JSON-able details) for store.words.save_model."""
        import numpy as np

        parts = [self.direction] + ([self.text] if self.text is not None else [])
        blob = np.concatenate([np.asarray(p, np.float32) for p in parts]).tobytes()
        details = {"dims": int(len(self.direction)), "has_text": self.text is not None,
                   "learned_spread": list(self.learned_spread), "text_spread": list(self.text_spread),
                   "text_weight": self.text_weight, "margin": self.margin, "held_out": self.held_out,
                   "examples": self.examples, "rejections": self.rejections, "features_key": self.features_key,
                   "share": self.share, "tagger_weight": self.tagger_weight, "version": self.version}
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
                   rejections=int(details.get("rejections", 0)), features_key=str(details.get("features_key", "")),
                   share=float(details.get("share", 0.0)),
                   tagger_weight=float(details.get("tagger_weight", TAGGER_WEIGHT)),
                   version=int(details.get("version", 1)))


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
    weight_of_tagger = tagger_weight(tagger, examples, rejections)
    bonus = (weight_of_tagger * np.asarray(tagger, np.float32) if tagger is not None
             else np.zeros(len(matrix), np.float32))

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
    _, share = mixture_confidence(own, margin, len(examples), np.asarray(held_out))
    return WordModel(direction=w, learned_spread=learned_spread, text=text if text_weight else None,
                     text_spread=text_spread, text_weight=text_weight, margin=margin, held_out=held_out,
                     examples=int(len(examples)), rejections=int(len(rejections)), features_key=features.key,
                     share=share, tagger_weight=weight_of_tagger)


def tagger_weight(tagger: "np.ndarray | None", examples: "np.ndarray", rejections: "np.ndarray") -> float:
    """What the tagger's class counts for a word: TAGGER_WEIGHT, less the share the rejections take
    back (the tagger's mean confidence in the rejected photos over its mean in the examples). Your ✗
    on photos the tagger calls a dog as surely as your examples says your word is not "any dog"."""
    import numpy as np

    if tagger is None or len(rejections) == 0:
        return TAGGER_WEIGHT
    tagger = np.asarray(tagger, dtype=np.float64)
    shown, rejected = float(tagger[examples].mean()), float(tagger[rejections].mean())
    if shown <= 0.0:
        return TAGGER_WEIGHT if rejected <= 0.0 else 0.0
    return float(TAGGER_WEIGHT * np.clip(1.0 - rejected / shown, 0.0, 1.0))


def mixture_confidence(standings: "np.ndarray", margin: float, examples: int = 1,
                       held_out: "np.ndarray | None" = None) -> tuple["np.ndarray", float]:
    """(each photo's calibrated confidence, the share of the library estimated to show the word):
    the library-wide Platt scaling, raised where the library's own density says more (module docstring)."""
    import numpy as np

    standings = np.asarray(standings, dtype=np.float64)
    if len(standings) == 0:
        return np.zeros(0, np.float32), 0.0
    logit = PLATT_STANDING * standings + PLATT_MARGIN * margin + PLATT_INTERCEPT
    confidence = 1.0 / (1.0 + np.exp(-logit))
    posterior, core, share = density_posterior(standings, margin, examples, held_out)
    confidence[core] = np.maximum(confidence[core], _calibrated(posterior[core]))
    if held_out is not None and len(held_out) >= 2:  # the examples' own standing, each held out
        above = standings >= margin
        logit = EXAMPLES_SLOPE * (standings[above] - margin) + EXAMPLES_SIZE * np.log(len(standings)) + EXAMPLES_INTERCEPT
        own = 1.0 / (1.0 + np.exp(-logit))
        confidence[above] = np.maximum(confidence[above], own)
    return confidence.astype(np.float32), share


def density_posterior(standings: "np.ndarray", margin: float, examples: int = 1,
                      held_out: "np.ndarray | None" = None) -> tuple["np.ndarray", "np.ndarray", float]:
    """(P(word | standing) from the library's own density of standings, which photos stand near
    enough the examples to be judged so, the share of the library judged the word's): one minus the
    local false discovery rate (Efron), the density non-matching photos would have there (`null_density`)
    over the density the library has there."""
    import numpy as np

    spread = _word_spread(margin, held_out)
    core_from = margin - CORE_SPREADS * spread
    null = null_density(standings, core_from)
    density = _library_density(standings, max(DENSITY_BANDWIDTH, BANDWIDTH_SPREADS * spread))
    posterior = np.clip(1.0 - null / np.maximum(density, 1e-300), 0.0, 1.0)
    core = standings >= core_from
    share = float((posterior * core).sum() / max(len(standings), 1))
    return posterior, core, share


def null_density(standings: "np.ndarray", core_from: float) -> "np.ndarray":
    """The density of standings non-matching photos have, at each of `standings`: NEGATIVE_TAIL's up
    to TAIL_FROM; above it an exponential tail whose decay is this library's own (fitted on its photos
    standing between TAIL_FROM and `core_from`, below where the word's photos stand), shrunk toward
    NEGATIVE_DECAY by TAIL_PRIOR photos' worth: a library of far-apart photos has a light tail, one
    of near-alike photos (most real ones, and the concepts) a heavy one."""
    import numpy as np

    standings = np.asarray(standings, dtype=np.float64)
    knots = np.array([k for k, _ in NEGATIVE_TAIL])
    logs = np.array([v for _, v in NEGATIVE_TAIL])
    # the library's own decay: the slope of log counts in unit bins from TAIL_FROM up to where the word's
    # photos begin (two bins at least; fewer photos there, the more the concepts' decay counts)
    edges = np.arange(TAIL_FROM, core_from + 1e-9, 1.0)
    counts = np.histogram(standings, bins=edges)[0] if len(edges) >= 3 else np.zeros(0)
    own, weight = NEGATIVE_DECAY, 0
    if len(counts) >= 2 and counts.sum() > 0:
        slope = np.polyfit(edges[:-1], np.log(counts + 0.5), 1, w=np.sqrt(counts + 0.5))[0]
        own, weight = max(-float(slope), 0.05), int(counts.sum())
    decay = (weight * own + TAIL_PRIOR * NEGATIVE_DECAY) / (weight + TAIL_PRIOR)
    above = float((standings >= TAIL_FROM).mean()) if len(standings) else 0.0
    above = max(min(above, float(np.exp(np.interp(TAIL_FROM, knots, logs)))), 1.0 / max(len(standings), 1))
    x = np.maximum(standings, 0.0)

    def survival(at):
        bulk = np.exp(np.interp(at, knots, logs))
        return np.where(at > TAIL_FROM, above * np.exp(-decay * (at - TAIL_FROM)), bulk)

    step = 0.25
    return (survival(np.maximum(x - step, 0.0)) - survival(x + step)) / (x + step - np.maximum(x - step, 0.0))


def _word_spread(margin: float, held_out: "np.ndarray | None") -> float:
    """How widely the word's photos stand: the coco prior (POSITIVE_SPREAD + SLOPE × m) shrunk toward
    the held-out examples' own spread (a tight subject, one bike, stands tightly)."""
    import numpy as np

    prior = POSITIVE_SPREAD + POSITIVE_SPREAD_SLOPE * max(margin, 0.0)
    if held_out is None or len(held_out) < 2:
        return prior
    own = float(np.var(held_out, ddof=1))
    k = PRIOR_WEIGHT
    return float(np.sqrt((k * prior ** 2 + (len(held_out) - 1) * own) / (k + len(held_out) - 1)))


def _normal(x: "np.ndarray", mean: float, spread: float) -> "np.ndarray":
    import numpy as np

    return np.exp(-0.5 * ((x - mean) / spread) ** 2) / (spread * np.sqrt(2 * np.pi))


def _library_density(standings: "np.ndarray", bandwidth: float = 0.5) -> "np.ndarray":
    """The density of the library's standings at each of them: a histogram smoothed by a Gaussian
    kernel (`bandwidth` standings wide), so 100,000 photos cost what 2,000 bins cost."""
    import numpy as np

    low, high = float(standings.min()) - 3 * bandwidth, float(standings.max()) + 3 * bandwidth
    bins = int(min(4000, max(50, (high - low) / (bandwidth / 5))))
    counts, edges = np.histogram(standings, bins=bins, range=(low, high))
    width = edges[1] - edges[0]
    reach = int(np.ceil(3 * bandwidth / width))
    kernel = _normal(np.arange(-reach, reach + 1) * width, 0.0, bandwidth) * width
    smooth = np.convolve(counts, kernel, mode="same") / (len(standings) * width)
    at = np.clip(((standings - low) / width).astype(int), 0, bins - 1)
    return smooth[at]


def _calibrated(posterior: "np.ndarray") -> "np.ndarray":
    """Platt scaling of the density posterior (RECALIBRATION)."""
    import numpy as np

    p = np.clip(np.asarray(posterior, dtype=np.float64), POSTERIOR_CLIP, 1 - POSTERIOR_CLIP)
    slope, intercept = RECALIBRATION
    return (1.0 / (1.0 + np.exp(-(slope * np.log(p / (1 - p)) + intercept)))).astype(np.float32)


def _spread(values: "np.ndarray") -> tuple[float, float]:
    """(median, 1.4826 × median absolute deviation): the centre and spread of the library's bulk. A
    word's own photos sit in the upper tail, so a mean and standard deviation would move with how many
    there are (a word on a quarter of a small library would never stand out); these do not."""
    import numpy as np

    centre = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - centre)))
    return centre, max(spread, float(np.std(values)) * 1e-3, 1e-9)
