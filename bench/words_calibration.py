"""Taught words' confidence: measure the constants of photoseek.learn.model's calibration on concept
photos, and how well it holds for concepts it was not measured on.

For each query of coco-captions/concepts.jsonl with at least 6 relevant photos, the word is learned
(in memory, nothing written) from its first 3 relevant photos, over the whole library and over
libraries of its relevant photos plus 60 or 200 others drawn at random (small libraries, where a
word's photos are a larger share). Every other photo's standing is paired with whether the captions
name the concept (uncertain photos left out). Printed:

  mAP@200                 of the model's own ranking (features and LDA, no search), whole library
  PLATT_*                 the library-wide Platt scaling of (standing, the examples' held-out standing)
  EXAMPLES_*              Platt scaling of how far a photo stands above the examples' held-out standing and
                          of the library's size (photos standing above it only, pooled over the sizes)
  POSITIVE_SPREAD(_SLOPE) the word's photos' spread of standings against the examples' standing
  NEGATIVE_TAIL           the share of non-matching photos standing at or above each knot (whole library)
  RECALIBRATION           Platt scaling of the density posterior near the examples' standing, pooled
                          over the sizes
  per library size        confidence bins against the share of photos that show the concept, and what
                          tagging at TAG_CONFIDENCE gives (precision and recall of the learned tags alone)

The constants are fitted on half the concepts (`--fit even`, the default: the 1st, 3rd, … of those
with 6+ photos; `odd`, or `all`) and the calibration is printed for that half and for the other,
which the constants never saw. The printed constants go into photoseek/learn/model.py.

    .venv/bin/python bench/words_calibration.py LIBRARY [--fit even]   # a library indexed from ../shared/data/coco-captions

Measured (461 photos, offline defaults, 36 concepts, `--fit even`; the values in model.py; 2026-12-06):
mAP@200 of the model's own ranking 0.756; tagging at 0.7 over the whole library, the concepts fitted
on: precision 0.89, recall 0.55; held out: 0.77, 0.61 (tags at 0.7–0.9 right 0.57, ≥ 0.9: 0.90); with
200 others 0.91 / 0.77, with 60 others 0.95 / 0.92 (fitted on / held out). `--fit odd` gives 0.90,
0.96, 0.97 on its held-out half: 18 concepts a half make these figures move by that much.
"""

from __future__ import annotations

import sys

from concepts import run_bench

EXAMPLES = 3
MIN_RELEVANT = 6
KNOTS = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0)
SIZES = ("all", 200, 60)
BINS = ((0.5, 0.7), (0.7, 0.9), (0.9, 1.01))
# which concepts (by position among those with MIN_RELEVANT photos) the constants are fitted on
HALVES = {"all": lambda i: True, "even": lambda i: i % 2 == 0, "odd": lambda i: i % 2 == 1}


def learned(lib, concepts, size, rng):
    """Per concept: (standings of the photos scored, the model, which to score, labels, ids, confidences)."""
    import numpy as np

    from photoseek.learn.features import WordFeatures
    from photoseek.learn.model import fit

    taught = lib.taught
    whole = taught.features(write=False)
    out = []
    for query, relevant, uncertain in concepts:
        ordered = sorted(relevant)
        if len(ordered) < MIN_RELEVANT:
            continue
        ids = whole.ids
        if size != "all":
            others = np.setdiff1d(whole.ids, list(set(relevant) | uncertain))
            ids = np.sort(np.concatenate([ordered, rng.choice(others, size=size, replace=False)]))
        rows = whole.rows(ids)
        features = WordFeatures(whole.ids[rows], whole.matrix[rows], whole.variances, whole.joint_basis, whole.key)
        examples = ordered[:EXAMPLES]
        tagger = taught._tagger(query, features)
        text = features.project_text(lib.embedder.embed_queries([query])[0])
        model = fit(features, features.rows(examples), features.rows([]), text, tagger)
        standing = model.standings(features, tagger)
        keep = ~np.isin(features.ids, list(set(examples) | uncertain))
        labels = np.isin(features.ids, list(set(relevant) - set(examples)))
        out.append((standing, model, keep, labels, features.ids, model.confidences(standing)))
    return out


def options(parser) -> None:
    parser.add_argument("--fit", choices=sorted(HALVES), default="even",
                        help="the concepts the constants are fitted on, by position among those with 6+ photos "
                             "(even: 1st, 3rd, …); the calibration is printed for them and for the others (default even)")


def measure(lib, concepts, args) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from photoseek.evaluate.teach import average_precision
    from photoseek.learn import model as word_model

    rng = np.random.default_rng(0)
    runs = {size: learned(lib, concepts, size, rng) for size in SIZES}
    chosen = HALVES[args.fit]
    whole = runs["all"]
    ranked = [average_precision(ids[np.argsort(-s, kind="stable")].tolist(), set(ids[y].tolist()),
                                set(ids[~keep].tolist())) for s, _, keep, y, ids, _ in whole]
    fit_on = [i for i in range(len(whole)) if chosen(i)]
    print(f"{len(whole)} concepts, constants fitted on {len(fit_on)} ({args.fit}); mAP@200 of the model's own "
          f"ranking: {np.mean(ranked):.3f} (fitted half {np.mean([ranked[i] for i in fit_on]):.3f})")
    own = [whole[i] for i in fit_on]
    x = np.concatenate([np.stack([s[keep], np.full(int(keep.sum()), m.margin)], 1) for s, m, keep, y, _, _ in own])
    y = np.concatenate([y[keep] for s, m, keep, y, _, _ in own])
    platt = LogisticRegression(C=100).fit(x, y)
    constants = {"PLATT_STANDING": round(float(platt.coef_[0][0]), 3), "PLATT_MARGIN": round(float(platt.coef_[0][1]), 3),
                 "PLATT_INTERCEPT": round(float(platt.intercept_[0]), 3)}
    # photos above the examples' held-out standing, pooled over the library sizes (the word's photos are in
    # each, the others fewer: how the odds fall as a library holds more photos that are not the word)
    above = [(s[keep] - m.margin, np.full(int(keep.sum()), np.log(len(s))), y[keep])
             for run in runs.values() for i, (s, m, keep, y, _, _) in enumerate(run) if chosen(i) and len(m.held_out) >= 2]
    gap, size, shown = (np.concatenate(part) for part in zip(*above))
    examples = LogisticRegression(C=100).fit(np.stack([gap, size], 1)[gap >= 0], shown[gap >= 0])
    constants["EXAMPLES_SLOPE"] = round(float(examples.coef_[0][0]), 3)
    constants["EXAMPLES_SIZE"] = round(float(examples.coef_[0][1]), 3)
    constants["EXAMPLES_INTERCEPT"] = round(float(examples.intercept_[0]), 3)
    negatives = np.concatenate([s[keep & ~y] for s, m, keep, y, _, _ in own])
    tail = [(0.0, round(float(np.log(max((negatives >= 0).mean(), 1e-9))), 3))]
    tail += [(k, round(float(np.log(max((negatives >= k).mean(), 1e-9))), 2)) for k in KNOTS]
    constants["NEGATIVE_TAIL"] = tuple(tail)
    far = [(k, v) for k, v in tail if k >= 6.0 and v > np.log(1e-8)]
    constants["NEGATIVE_DECAY"] = round(-float(np.polyfit([k for k, _ in far], [v for _, v in far], 1)[0]), 3)
    margins = np.array([m.margin for s, m, keep, y, _, _ in own if (keep & y).sum() >= 3])
    spreads = np.array([s[keep & y].std() for s, m, keep, y, _, _ in own if (keep & y).sum() >= 3])
    slope, intercept = np.polyfit(margins, spreads, 1)
    constants["POSITIVE_SPREAD"], constants["POSITIVE_SPREAD_SLOPE"] = round(float(intercept), 2), round(float(slope), 2)
    for name, value in constants.items():
        setattr(word_model, name, value)
    cores = []
    for run in runs.values():
        for i, (s, m, keep, y, _, _) in enumerate(run):
            if not chosen(i):
                continue
            posterior, core, _ = word_model.density_posterior(s.astype(np.float64), m.margin, m.examples, np.asarray(m.held_out))
            near = core & keep
            p = np.clip(posterior[near], word_model.POSTERIOR_CLIP, 1 - word_model.POSTERIOR_CLIP)
            cores.append((np.log(p / (1 - p)), y[near]))
    recal = LogisticRegression(C=100).fit(np.concatenate([c for c, _ in cores])[:, None], np.concatenate([y for _, y in cores]))
    constants["RECALIBRATION"] = (round(float(recal.coef_[0][0]), 3), round(float(recal.intercept_[0]), 3))
    word_model.RECALIBRATION = constants["RECALIBRATION"]
    print("constants for photoseek/learn/model.py:")
    for name, value in constants.items():
        print(f"  {name} = {value}")
    threshold = word_model.TAG_CONFIDENCE
    for size, run in runs.items():
        for label, keep_concept in (("fitted", chosen), ("held out", lambda i: not chosen(i))):
            parts = [np.stack([m.confidences(s)[keep], y[keep]], 1) for i, (s, m, keep, y, _, _) in enumerate(run)
                     if keep_concept(i)]
            if not parts:
                continue
            pooled = np.concatenate(parts)
            tagged = pooled[:, 0] >= threshold
            bins = "; ".join(f"{low:.1f}–{min(high, 1.0):.1f}: {int(m.sum())} photos, right {pooled[m, 1].mean():.2f}"
                             for low, high in BINS for m in [(pooled[:, 0] >= low) & (pooled[:, 0] < high)] if m.any())
            print(f"{size} others, {label} concepts: {bins}; tagged at {threshold}: {int(tagged.sum())}, precision "
                  f"{pooled[tagged, 1].mean() if tagged.any() else 0:.3f}, recall "
                  f"{pooled[tagged, 1].sum() / max(pooled[:, 1].sum(), 1):.3f}")


if __name__ == "__main__":
    sys.exit(run_bench(__doc__, measure, options))
