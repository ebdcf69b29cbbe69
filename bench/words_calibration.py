"""Taught words' confidence: measure the constants of photoseek.learn.model's calibration on concept
photos, and how well it holds for concepts it was not measured on.

For each query of coco-captions/concepts.jsonl with at least 6 relevant photos, the word is learned
(in memory, nothing written) from its first 3 relevant photos, over the whole library and over
libraries of its relevant photos plus 60 or 200 others drawn at random (small libraries, where a
word's photos are a larger share). Every other photo's standing is paired with whether the captions
name the concept (uncertain photos left out). Printed:

  mAP@200                 of the model's own ranking (features and LDA, no search), whole library
  PLATT_*                 the library-wide Platt scaling of (standing, the examples' held-out standing)
  POSITIVE_SPREAD(_SLOPE) the word's photos' spread of standings against the examples' standing
  NEGATIVE_TAIL           the share of non-matching photos standing at or above each knot (whole library)
  RECALIBRATION           Platt scaling of the density posterior near the examples' standing, pooled
                          over the sizes
  per library size        confidence bins against the share of photos that show the concept, and what
                          tagging at TAG_CONFIDENCE gives (precision and recall of the learned tags alone)

The constants are fitted on these same concepts (5 numbers over 36 concepts): the bins say how well
the model's form fits, not how it does on photos it never saw (`photoseek eval teach` on another
labelled folder does).

    .venv/bin/python bench/words_calibration.py LIBRARY        # a library indexed from ../shared/data/coco-captions

Measured (461 photos, offline defaults, 36 concepts; the values in model.py): mAP@200 0.735; Platt
0.588, −0.220, −3.931; tail log-survival −1.28 at 1 … −5.81 at 12; spread 1.93 + 0.17 m;
RECALIBRATION (0.629, −0.713). Whole library: photos given 0.5–0.7 showed the concept 0.54 of the
time, 0.7–0.9: 0.73, ≥ 0.9: 0.93, tagging at 0.7 precision 0.84, recall 0.40; with 200 others
0.76 / 0.84 / 0.96 (0.91, 0.34); with 60 others 0.93 / 0.93 / 0.98 (0.96, 0.24).
"""

from __future__ import annotations

import sys

from concepts import run_bench

EXAMPLES = 3
MIN_RELEVANT = 6
KNOTS = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0)
SIZES = ("all", 200, 60)
BINS = ((0.5, 0.7), (0.7, 0.9), (0.9, 1.01))


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


def measure(lib, concepts) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from photoseek.evaluate.teach import average_precision
    from photoseek.learn.model import TAG_CONFIDENCE

    rng = np.random.default_rng(0)
    runs = {size: learned(lib, concepts, size, rng) for size in SIZES}
    whole = runs["all"]
    ranked = [average_precision(ids[np.argsort(-s, kind="stable")].tolist(), set(ids[y].tolist()),
                                set(ids[~keep].tolist())) for s, _, keep, y, ids, _ in whole]
    print(f"{len(whole)} concepts; mAP@200 of the model's own ranking: {np.mean(ranked):.3f}")
    x = np.concatenate([np.stack([s[keep], np.full(int(keep.sum()), m.margin)], 1) for s, m, keep, y, _, _ in whole])
    y = np.concatenate([y[keep] for s, m, keep, y, _, _ in whole])
    platt = LogisticRegression(C=100).fit(x, y)
    print(f"library-wide Platt scaling: PLATT_STANDING, PLATT_MARGIN, PLATT_INTERCEPT = "
          f"{platt.coef_[0][0]:.3f}, {platt.coef_[0][1]:.3f}, {platt.intercept_[0]:.3f}")
    negatives = np.concatenate([s[keep & ~y] for s, m, keep, y, _, _ in whole])
    print("NEGATIVE_TAIL (standing, log share at or above):",
          ", ".join(f"({k:g}, {np.log(max((negatives >= k).mean(), 1e-9)):.2f})" for k in (1, 2, 3, 4, 5, 6, 8, 10, 12)))
    margins = np.array([m.margin for s, m, keep, y, _, _ in whole if (keep & y).sum() >= 3])
    spreads = np.array([s[keep & y].std() for s, m, keep, y, _, _ in whole if (keep & y).sum() >= 3])
    slope, intercept = np.polyfit(margins, spreads, 1)
    print(f"the word's photos' spread against the examples' standing: POSITIVE_SPREAD {intercept:.2f} + {slope:.2f} m")
    from photoseek.learn import model as word_model

    cores = []
    for run in runs.values():
        for s, m, keep, y, _, _ in run:
            posterior, core, _ = word_model.density_posterior(s.astype(np.float64), m.margin, m.examples, np.asarray(m.held_out))
            chosen = core & keep
            p = np.clip(posterior[chosen], word_model.POSTERIOR_CLIP, 1 - word_model.POSTERIOR_CLIP)
            cores.append((np.log(p / (1 - p)), y[chosen]))
    recal = LogisticRegression(C=100).fit(np.concatenate([c for c, _ in cores])[:, None], np.concatenate([y for _, y in cores]))
    print(f"density posterior, photos near the examples' standing, pooled over the sizes: RECALIBRATION = "
          f"({recal.coef_[0][0]:.3f}, {recal.intercept_[0]:.3f})")
    for size, run in runs.items():
        pooled = np.concatenate([np.stack([p[keep], y[keep]], 1) for s, m, keep, y, _, p in run])
        tagged = pooled[:, 0] >= TAG_CONFIDENCE
        bins = "; ".join(f"{low:.1f}–{min(high, 1.0):.1f}: {int(m.sum())} photos, right {pooled[m, 1].mean():.2f}"
                         for low, high in BINS for m in [(pooled[:, 0] >= low) & (pooled[:, 0] < high)] if m.any())
        print(f"{size} others: {bins}; tagged at {TAG_CONFIDENCE}: {int(tagged.sum())}, precision "
              f"{pooled[tagged, 1].mean():.3f}, recall {pooled[tagged, 1].sum() / max(pooled[:, 1].sum(), 1):.3f}")


if __name__ == "__main__":
    sys.exit(run_bench(__doc__, measure))
