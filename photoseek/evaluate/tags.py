"""`photoseek eval tags DIR`: how well one tag is predicted, against labels you provide.

Format
------
DIR holds `labels.csv` with a header and the columns `file` and `label`, optionally `split` and
`scene` (extra columns are ignored):

    file,split,label,scene
    images/a.jpg,test,night,cam01
    images/b.jpg,test,day,cam01

`file` is a path relative to DIR (or to DIR/images). `label` has two values: the tag being evaluated
(the positive value, e.g. `night`) and a negative value, one of day, no, none, negative, false, 0,
other or not_<tag> (e.g. `day`). The tag evaluated is the positive label ('night' here); pass
`tag=` to choose it when the labels are two other words. A photo is predicted positive when its
tags (feedback applied, broader terms included) contain the tag.

DIR is indexed into a temporary library (or `library` is reused) and only the annotator that
produces the tag is run: time for day/twilight/night, faces for person/people, OCR for text,
classifier tags otherwise. Returns tag, accuracy, precision, recall, f1, n (plus the confusion
counts, and accuracy per split when there is a split column).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photoseek.errors import PhotoseekError
from photoseek.progress import Progress, SilentProgress
from photoseek.vision.taxonomy import expand, normalize_tag

if TYPE_CHECKING:
    from photoseek.library import Library

NEGATIVE_LABELS = {"day", "no", "none", "negative", "false", "0", "other"}


def _annotator_for(tag: str) -> str:
    if tag in ("day", "twilight", "night"):
        return "time"
    if tag in ("person", "people"):
        return "faces"
    if tag == "text":
        return "ocr"
    return "tags"


def read_labels(folder: Path) -> list[dict[str, str]]:
    labels_file = folder / "labels.csv"
    if not labels_file.exists():
        raise PhotoseekError(f"{labels_file} not found: a tag evaluation folder needs labels.csv (file,label[,split]).")
    with labels_file.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise PhotoseekError(f"{labels_file} has no rows.")
    missing = {"file", "label"} - set(rows[0])
    if missing:
        raise PhotoseekError(f"{labels_file} lacks column(s) {', '.join(sorted(missing))}.")
    return rows


def positive_label(values: set[str], tag: str | None = None) -> str:
    """The label value that means "has the tag"."""
    if tag:
        tag = normalize_tag(tag)
        if tag not in values:
            raise PhotoseekError(f"No row is labelled {tag!r}; labels are: {', '.join(sorted(values))}.")
        return tag
    positives = [v for v in values if v not in NEGATIVE_LABELS and not v.startswith("not_") and not v.startswith("no_")]
    if len(positives) != 1 or len(values) > 2:
        raise PhotoseekError(
            f"Cannot tell which label is the tag among {', '.join(sorted(values))}: use two values, the tag and "
            f"one of {', '.join(sorted(NEGATIVE_LABELS))} (or not_<tag>), or name the tag."
        )
    return positives[0]


def eval_tags(
    library: "Library | None",
    folder: str | Path,
    *,
    embedder: str = "conse",
    progress: Progress | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    from photoseek.evaluate.retrieval import labelled_library
    from photoseek.store.feedback import effective_tags

    folder = Path(folder)
    rows = read_labels(folder)
    labels = [normalize_tag(r["label"]) for r in rows]
    positive = positive_label(set(labels), tag)
    progress = progress or SilentProgress()
    lib, photo_id = labelled_library(folder, library, embedder, progress, annotators=[_annotator_for(positive)])
    matching = expand(positive)
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    per_split: dict[str, list[int]] = {}
    missing = 0
    for row, label in zip(rows, labels):
        pid = photo_id(row["file"])
        if pid is None:
            missing += 1  # failed to index: see `photoseek errors`
            continue
        predicted = any(t.tag in matching for t in effective_tags(lib.catalog.conn, pid))
        actual = label == positive
        key = ("t" if predicted == actual else "f") + ("p" if predicted else "n")
        counts[key] += 1
        split = (row.get("split") or "").strip()
        if split:
            per_split.setdefault(split, []).append(int(predicted == actual))
    n = sum(counts.values())
    if n == 0:
        raise PhotoseekError(f"None of the photos listed in {folder / 'labels.csv'} could be indexed.")
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result: dict[str, Any] = {
        "tag": positive,
        "accuracy": round((tp + counts["tn"]) / n, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "n": n,
        **counts,
    }
    if per_split:
        result["accuracy_by_split"] = {k: round(sum(v) / len(v), 4) for k, v in sorted(per_split.items())}
    if missing:
        result["not_indexed"] = missing
    return result
