"""Taught words' calibration: fit the Platt scaling of photoseek.learn.model on concept photos and
show how well it holds for concepts it was not fitted on.

For each query of coco-captions/concepts.jsonl with at least 6 relevant photos, the word is learned
(in memory, nothing written) from its first 3 relevant photos; every other photo's margin over the
examples' held-out standing (s − m, see photoseek.learn.model) is paired with whether the captions
name the concept (uncertain photos left out). A logistic regression on the margin (Platt scaling) is
fitted on all concepts (the constants to put in model.py), and again leaving each concept out, to
report the calibration held out by concept and what tagging at TAG_CONFIDENCE gives. Also prints
the mAP@200 of the model's own ranking (the features and LDA alone, no search).

    .venv/bin/python bench/words_calibration.py LIBRARY        # a library indexed from ../shared/data/coco-captions

Measured (461 photos, offline defaults, 36 concepts): slope 0.822, intercept −0.962; held out by
concept, photos given 0.5–0.7 were right 0.75 of the time, 0.7–0.9: 0.79, ≥ 0.9: 0.91; mAP@200 of the
model's ranking 0.748.
"""

from __future__ import annotations

import sys

from concepts import run_bench

EXAMPLES = 3
MIN_RELEVANT = 6
BINS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01))


def measure(lib, concepts) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from photoseek.evaluate.teach import average_precision
    from photoseek.learn.model import TAG_CONFIDENCE, fit

    taught = lib.taught
    features = taught.features(write=False)
    margins, labels, aps = [], [], []
    for query, relevant, uncertain in concepts:
        ordered = sorted(relevant)
        if len(ordered) < MIN_RELEVANT:
            continue
        examples = ordered[:EXAMPLES]
        tagger = taught._tagger(query, features)
        text = features.project_text(lib.embedder.embed_queries([query])[0])
        model = fit(features, features.rows(examples), features.rows([]), text, tagger)
        standing = model.standings(features, tagger)
        keep = ~np.isin(features.ids, list(set(examples) | uncertain))
        margins.append(standing[keep] - model.margin)
        labels.append(np.isin(features.ids[keep], list(set(relevant) - set(examples))))
        ranked = features.ids[np.argsort(-standing, kind="stable")].tolist()
        aps.append(average_precision(ranked, set(relevant) - set(examples), set(examples) | uncertain))
    every = LogisticRegression(C=100).fit(np.concatenate(margins)[:, None], np.concatenate(labels))
    print(f"{len(margins)} concepts; mAP@200 of the model's own ranking {np.mean(aps):.3f}")
    print(f"Platt scaling fitted on all: PLATT_SLOPE = {every.coef_[0][0]:.3f}, PLATT_INTERCEPT = {every.intercept_[0]:.3f}")
    held = []
    tagged = right = found = total = 0
    for i in range(len(margins)):
        fitted = LogisticRegression(C=100).fit(np.concatenate(margins[:i] + margins[i + 1:])[:, None],
                                               np.concatenate(labels[:i] + labels[i + 1:]))
        p = fitted.predict_proba(margins[i][:, None])[:, 1]
        held.append(np.stack([p, labels[i]], axis=1))
        tagged += int((p >= TAG_CONFIDENCE).sum())
        right += int(((p >= TAG_CONFIDENCE) & labels[i]).sum())
        found += int(((p >= TAG_CONFIDENCE) & labels[i]).sum())
        total += int(labels[i].sum())
    pooled = np.concatenate(held)
    print("held out by concept: confidence bin, photos, mean confidence, share showing the concept")
    for low, high in BINS:
        inside = (pooled[:, 0] >= low) & (pooled[:, 0] < high)
        if inside.any():
            print(f"  {low:.1f}-{min(high, 1.0):.1f}  {int(inside.sum()):6d}  {pooled[inside, 0].mean():.2f}  "
                  f"{pooled[inside, 1].mean():.2f}")
    print(f"tagged at {TAG_CONFIDENCE}: {tagged} photos, precision {right / max(tagged, 1):.3f}, "
          f"recall {found / max(total, 1):.3f} (micro, learned tags alone)")


if __name__ == "__main__":
    sys.exit(run_bench(__doc__, measure))
