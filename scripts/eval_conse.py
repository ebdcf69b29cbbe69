"""Quick comparison of ConSE variants (not a test).

Text→image on ../shared/data/coco-captions: every caption is a query, its own photo the one
relevant result (2305 queries over 461 photos); prints R@1/R@5/R@10 per variant.
Image→image on ../shared/data/webcam-daynight (--webcam): every photo queries the others;
relevant = same camera (scene); prints precision@5 and mAP for the joint vs the visual vector.

    .venv/bin/python scripts/eval_conse.py            # caption retrieval table
    .venv/bin/python scripts/eval_conse.py --webcam   # image→image joint vs visual
    .venv/bin/python scripts/eval_conse.py --full     # more variants (slower: more label texts)

Label vectors for the variants are computed in memory (the model cache only receives the two
ONNX graphs). Nothing here is tuned on caption text: the variants only change how ImageNet labels
are turned into text and how classifier probabilities are mixed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from photoseek.vision.classifier import ClassifierOutput, ImageNetClassifier, class_probabilities  # noqa: E402
from photoseek.vision.conse import (  # noqa: E402
    _ENSEMBLE_TEMPLATES,
    PROMPT_PRESETS,
    ConSEEmbedder,
    LabelPrompts,
    compute_label_vectors,
    conse_joint,
)
from photoseek.vision.imagenet import imagenet_classes  # noqa: E402
from photoseek.vision.text_encoder import MiniLMTextEncoder  # noqa: E402

DATA = REPO_ROOT.parent / "shared" / "data"


def load_photo(path: Path, short_side: int = 224) -> Image.Image:
    """Like the indexer's decoder: EXIF-oriented, JPEG draft mode down to about `short_side`."""
    image = Image.open(path)
    image.draft("RGB", (short_side, short_side))
    return ImageOps.exif_transpose(image).convert("RGB")


def classify(classifier: ImageNetClassifier, paths: list[Path]) -> ClassifierOutput:
    outputs = []
    started = time.perf_counter()
    for start in range(0, len(paths), 32):
        outputs.append(classifier.classify([load_photo(p, classifier.short_side) for p in paths[start : start + 32]]))
    elapsed = time.perf_counter() - started
    print(f"classified {len(paths)} photos in {elapsed:.1f} s ({len(paths) / elapsed:.0f} img/s incl. decode)")
    return ClassifierOutput(*(np.concatenate(parts) for parts in zip(*((o.logits, o.features, o.region_probabilities)
                                                                          for o in outputs))))


def caption_recalls(image_vectors, query_vectors, query_image, ks=(1, 5, 10)) -> list[float]:
    """R@k in %, ties broken at random (in expectation): with top-1 many photos share one vector,
    and counting only strictly better photos would flatter it."""
    scores = query_vectors @ image_vectors.T
    own = scores[np.arange(len(query_image)), query_image][:, None]
    better = (scores > own + 1e-6).sum(axis=1)
    tied = (np.abs(scores - own) <= 1e-6).sum(axis=1)  # includes the photo itself
    return [float(np.clip((k - better) / tied, 0, 1).mean() * 100) for k in ks]


def eval_captions(full: bool) -> None:
    root = DATA / "coco-captions"
    if not root.exists():
        sys.exit(f"{root} is not present")
    records = [json.loads(line) for line in (root / "captions.jsonl").read_text().splitlines() if line.strip()]
    paths = [root / r["file"] for r in records]
    captions = [(i, c) for i, r in enumerate(records) for c in r["captions"]]
    query_image = np.array([i for i, _ in captions])

    classifier, text_encoder = ImageNetClassifier(), MiniLMTextEncoder()
    output = classify(classifier, paths)
    queries = text_encoder.embed([c for _, c in captions])
    print(f"{len(captions)} queries over {len(paths)} photos\n")

    labels = imagenet_classes()
    prompt_sets = dict(PROMPT_PRESETS)
    if full:
        prompt_sets["ens7-description"] = LabelPrompts("ens7-description", "description", _ENSEMBLE_TEMPLATES)
        prompt_sets["bare-name"] = LabelPrompts("bare-name", "name", ("{}",))
    label_vectors = {}
    for name, prompts in prompt_sets.items():
        started = time.perf_counter()
        label_vectors[name] = compute_label_vectors(text_encoder, prompts, labels)
        print(f"label vectors {name}: {time.perf_counter() - started:.1f} s")

    default = ConSEEmbedder()
    best = (default.prompts.name, default.top_k, default.temperature)
    regions_first = default.region_weight
    default.region_weight = 0.0  # the table below compares label texts and mixing on the whole photo
    variants = [("photo-of-name", 5, 1.0, False)]  # the brief's baseline: top-5, "a photo of a {label}"
    variants += [("photo-of-name", k, 1.0, False) for k in (1, 10, 20, 50, 1000)]
    variants += [("photo-of-name", k, t, False) for k in (10, 20) for t in (2.0, 3.0, 4.0)]
    variants += [
        (name, k, t, False) for name in prompt_sets if name != "photo-of-name" for k, t in ((10, 1.0), best[1:])
    ]
    variants += [(best[0], k, t, False) for k, t in ((5, 1.0), (10, 2.0), (10, 3.0), (30, 3.0), (50, 3.0), (20, 6.0))]
    # centring (removing the direction all label texts share) is a general trick; it does not help here
    variants += [(*best, True)]

    print(f"\n{'label prompts':<26} {'top-k':>5} {'T':>4} {'centred':>7} | {'R@1':>5} {'R@5':>5} {'R@10':>5}")
    for name, k, temperature, centred in variants:
        vectors = label_vectors[name]
        joint = conse_joint(class_probabilities(output.logits, temperature), vectors, k)
        text = queries
        if centred:
            mean = vectors.mean(axis=0)
            joint, text = _renormalise(joint - mean), _renormalise(queries - mean)
        r1, r5, r10 = caption_recalls(joint, text, query_image)
        print(f"{name:<26} {k:>5} {temperature:>4g} {str(centred):>7} | {r1:5.1f} {r5:5.1f} {r10:5.1f}")

    print(f"\nwith {default.prompts.name}, top-{default.top_k}, T={default.temperature:g}: "
          "whole-photo probabilities mixed with the region probabilities")
    default._label_vectors = label_vectors[default.prompts.name]
    for weight in (0.0, 0.25, 0.5, 0.75, 1.0):
        default.region_weight = weight
        r1, r5, r10 = caption_recalls(default.joint_from_output(output), queries, query_image)
        marker = "  <- default" if weight == regions_first else ""
        print(f"region weight {weight:<5g} | {r1:5.1f} {r5:5.1f} {r10:5.1f}{marker}")


def _renormalise(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def eval_webcam() -> None:
    root = DATA / "webcam-daynight"
    if not root.exists():
        sys.exit(f"{root} is not present")
    with open(root / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    paths = [root / r["file"] for r in rows]
    scenes = np.array([r["scene"] for r in rows])

    embedder = ConSEEmbedder()
    output = classify(embedder.classifier, paths)
    spaces = {"joint (ConSE)": embedder.joint_from_output(output), "visual (pooled 1280-d)": _renormalise(output.features)}
    print(f"{len(paths)} photos, {len(set(scenes))} cameras; embedder {embedder.id}\n")
    print(f"{'vector':<24} | {'P@5':>5} {'mAP':>5}")
    for name, vectors in spaces.items():
        scores = vectors @ vectors.T
        np.fill_diagonal(scores, -np.inf)  # a photo does not retrieve itself
        order = np.argsort(-scores, axis=1)[:, :-1]
        relevant = scenes[order] == scenes[:, None]
        precision_at_5 = relevant[:, :5].mean()
        hits = np.cumsum(relevant, axis=1)
        precision = hits / np.arange(1, relevant.shape[1] + 1)
        average_precision = (precision * relevant).sum(axis=1) / np.maximum(relevant.sum(axis=1), 1)
        print(f"{name:<24} | {precision_at_5 * 100:5.1f} {average_precision.mean() * 100:5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webcam", action="store_true", help="image→image: joint vs visual on webcam-daynight")
    parser.add_argument("--full", action="store_true", help="also try slower label-text variants")
    args = parser.parse_args()
    if args.webcam:
        eval_webcam()
    else:
        eval_captions(args.full)


if __name__ == "__main__":
    main()
