#!/usr/bin/env python3
"""Fit the pixel day/night model of photoseek/vision/daytime.py (its PIXEL_WEIGHTS and PIXEL_BIAS).

    .venv/bin/python scripts/fit_daynight_model.py [../shared/data/webcam-daynight]

Fits on the `train` rows of labels.csv ONLY (columns file,split,label,scene; label day/night), then
reports accuracy on `test` and on all rows. Logistic regression (scikit-learn, needed only here) over
daytime.PIXEL_FEATURES, C=10, with day errors weighted 3x (class_weight): night is the rarer case in
real collections, so the boundary leans towards "day" when unsure. The scene ids are not used.
Paste the printed numbers into daytime.py.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from photoseek.vision.daytime import PIXEL_FEATURES, pixel_features  # noqa: E402


def main(folder: Path) -> int:
    import numpy as np
    from PIL import Image
    from sklearn.linear_model import LogisticRegression

    rows = list(csv.DictReader((folder / "labels.csv").open(newline="")))
    features = []
    for row in rows:
        with Image.open(folder / row["file"]) as image:
            f = pixel_features(image)
        features.append([f[name] for name in PIXEL_FEATURES])
    x = np.array(features)
    y = np.array([row["label"].strip().lower() == "night" for row in rows])
    train = np.array([row["split"] == "train" for row in rows])
    model = LogisticRegression(C=10, class_weight={False: 3, True: 1}, max_iter=10000).fit(x[train], y[train])
    weights = tuple(round(float(w), 1) for w in model.coef_[0])
    bias = round(float(model.intercept_[0]), 1)
    print(f"PIXEL_WEIGHTS = {weights}\nPIXEL_BIAS = {bias}")
    # accuracy with the rounded numbers, as daytime.py will use them
    predicted = np.array([
        bias + sum(w * v for w, v in zip(weights, row)) > 0 for row in x
    ])
    for name, mask in (("train", train), ("test", ~train), ("all", np.ones_like(train))):
        print(f"{name:5s} accuracy {np.mean(predicted[mask] == y[mask]):.4f} (n={int(mask.sum())})")
    return 0


if __name__ == "__main__":
    default = REPO_ROOT.parent / "shared" / "data" / "webcam-daynight"
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
