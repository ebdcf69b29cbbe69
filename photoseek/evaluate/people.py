"""`photoseek eval people DIR`: who is in the photos, measured as a user meets it.

Format
------
DIR holds `labels.csv` with the columns `file` and `person` (one row per person a photo shows;
optionally `faces_seen`, a rough count of the faces in it), or one folder per person
(DIR/Anna/*.jpg: the folder names the person). A label means "this person appears in the photo", not
"only this person".

Protocol (../shared/data/faces/README.md)
--------
DIR is indexed into a temporary library (or `library` is reused) with people detection and face
recognition; the faces are grouped into people as indexing does. Then each person is named once, as
a user would: `people name --photo` on the first photo of theirs (by file name) with exactly one
recognised face. Reported:

- pairwise precision and recall of the grouping over the faces of single-face photos (two faces
  are a true pair when their photos are labelled with the same person; faces without a person are
  groups of one);
- for "photos of PERSON" (the `person` filter): precision, recall and F1 per person and their mean;
  other people's photos with two or more faces (by `faces_seen` or the people detector) are
  uncertain, neither right nor wrong;
- the labelled photos where the person was not found, by where they were lost: `detector` (no
  face found at all), `not recognisable` (faces found, none large or frontal enough), `clustering`
  (recognised faces, none with the person), and persons that could not be named (`naming`).
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photoseek.errors import PhotoseekError
from photoseek.progress import Progress, SilentProgress

if TYPE_CHECKING:
    from photoseek.library import Library

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff", ".bmp", ".gif", ".avif"}


def read_people_labels(folder: Path) -> list[dict[str, str]]:
    """[{file, person, faces_seen?}] from labels.csv, or from one folder per person."""
    labels_file = folder / "labels.csv"
    if labels_file.exists():
        with labels_file.open(newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle)]
        if not rows:
            raise PhotoseekError(f"{labels_file} has no rows.")
        missing = {"file", "person"} - set(rows[0])
        if missing:
            raise PhotoseekError(f"{labels_file} lacks column(s) {', '.join(sorted(missing))}: it needs file,person.")
        return [r for r in rows if (r.get("person") or "").strip()]
    rows = []
    for person_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(person_dir.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                rows.append({"file": str(path.relative_to(folder)), "person": person_dir.name})
    if not rows:
        raise PhotoseekError(f"{folder} has neither labels.csv (file,person) nor one folder of photos per person.")
    return rows


def eval_people(folder: str | Path, *, library: "Library | None" = None, embedder: str = "conse",
                progress: Progress | None = None) -> dict[str, Any]:
    from photoseek.evaluate.retrieval import labelled_library
    from photoseek.results import Filters

    folder = Path(folder)
    rows = read_people_labels(folder)
    progress = progress or SilentProgress()
    started = time.perf_counter()
    lib, photo_id = labelled_library(folder, library, embedder, progress, annotators=["faces", "recognition"])
    conn = lib.catalog.conn
    people = lib.people()
    indexed = time.perf_counter() - started

    by_photo: dict[int, set[str]] = defaultdict(set)
    seen_hint: dict[int, int] = {}
    not_indexed = 0
    for row in rows:
        pid = photo_id(row["file"])
        if pid is None:
            not_indexed += 1
            continue
        by_photo[pid].add(row["person"].strip())
        if (row.get("faces_seen") or "").strip().isdigit():
            seen_hint[pid] = max(seen_hint.get(pid, 0), int(row["faces_seen"]))
    photo_rows = {r["id"]: r for r in conn.execute("SELECT id, display_path, faces FROM photos")}
    recognised: dict[int, list[Any]] = defaultdict(list)
    for r in conn.execute("SELECT id, photo_id, person_id FROM faces ORDER BY id"):
        recognised[r["photo_id"]].append(r)

    # -- grouping: pairwise over faces of single-face photos ---------------------------------------------
    single = [(pid, faces[0]) for pid, faces in recognised.items() if len(faces) == 1 and len(by_photo.get(pid, ())) == 1]
    pairs = _pairwise([(next(iter(by_photo[pid])), face["person_id"], face["id"]) for pid, face in single])

    # -- naming, as a user would --------------------------------------------------------------------------
    names = sorted({name for names in by_photo.values() for name in names})
    named: dict[str, str] = {}
    for name in names:
        photos = sorted((pid for pid, labels in by_photo.items() if name in labels and len(recognised.get(pid, ())) == 1),
                        key=lambda pid: photo_rows[pid]["display_path"])
        if not photos:
            continue
        reference = photos[0]
        people.name_face(recognised[reference][0]["id"], name)
        named[name] = photo_rows[reference]["display_path"]

    # -- search by person ---------------------------------------------------------------------------------
    per_person: dict[str, dict[str, Any]] = {}
    lost = {"detector": 0, "not_recognisable": 0, "clustering": 0, "naming": 0}
    for name in names:
        relevant = {pid for pid, labels in by_photo.items() if name in labels}
        uncertain = {pid for pid, labels in by_photo.items() if name not in labels
                     and max(seen_hint.get(pid, 0), photo_rows[pid]["faces"] or 0, len(recognised.get(pid, ()))) >= 2}
        if name in named:
            found = {r.id for r in lib.search(filters=Filters(person=[name]), k=max(1, len(photo_rows)))}
        else:
            found = set()
        judged = found - uncertain
        hits = len(judged & relevant)
        precision = hits / len(judged) if judged else (1.0 if name in named else 0.0)
        recall = len(found & relevant) / len(relevant) if relevant else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        missed = sorted(relevant - found)
        causes = defaultdict(int)
        for pid in missed:
            if name not in named:
                cause = "naming"
            elif not photo_rows[pid]["faces"] and not recognised.get(pid):
                cause = "detector"
            elif not recognised.get(pid):
                cause = "not_recognisable"
            else:
                cause = "clustering"
            causes[cause] += 1
            lost[cause] += 1
        wrong = sorted(judged - relevant)
        per_person[name] = {
            "relevant": len(relevant), "found": len(found), "uncertain_found": len(found & uncertain),
            "precision": round(precision, 4), "recall": round(recall, 4), "F1": round(f1, 4),
            "missed": len(missed), "missed_by": dict(causes),
            "wrong": [Path(photo_rows[p]["display_path"]).relative_to(folder.resolve()).as_posix()
                      if _under(photo_rows[p]["display_path"], folder) else photo_rows[p]["display_path"] for p in wrong],
            "named_by": _relative(named.get(name), folder),
        }
    count = len(per_person) or 1
    photos_with_face = sum(1 for pid in by_photo if photo_rows[pid]["faces"] or recognised.get(pid))
    from photoseek.people.clustering import EDGE_DISTANCE, MERGE_DISTANCE, MIN_FACES

    return {
        "photos": len(by_photo),
        "people_labelled": len(names),
        "photos_with_a_face": photos_with_face,
        "photos_with_a_recognised_face": sum(1 for pid in by_photo if recognised.get(pid)),
        "faces_recognised": sum(len(v) for v in recognised.values()),
        "people_made": conn.execute("SELECT count(*) FROM people").fetchone()[0],
        "pairwise_precision": pairs["precision"],
        "pairwise_recall": pairs["recall"],
        "pairwise_faces": len(single),
        "precision": round(sum(p["precision"] for p in per_person.values()) / count, 4),
        "recall": round(sum(p["recall"] for p in per_person.values()) / count, 4),
        "F1": round(sum(p["F1"] for p in per_person.values()) / count, 4),
        "lost": lost,
        "per_person": per_person,
        "settings": {"edge_distance": EDGE_DISTANCE, "merge_distance": MERGE_DISTANCE, "min_faces": MIN_FACES},
        "not_indexed": not_indexed,
        "seconds": round(time.perf_counter() - started, 1),
        "index_seconds": round(indexed, 1),
        "library": str(lib.path),
    }


def _pairwise(faces: list[tuple[str, int | None, int]]) -> dict[str, float]:
    """Pairwise precision and recall of a grouping: (label, group or None, face id) per face."""
    same_label = same_group = both = 0
    for i in range(len(faces)):
        for j in range(i + 1, len(faces)):
            a, b = faces[i], faces[j]
            label = a[0] == b[0]
            group = a[1] is not None and a[1] == b[1]
            same_label += label
            same_group += group
            both += label and group
    return {"precision": round(both / same_group, 4) if same_group else 0.0,
            "recall": round(both / same_label, 4) if same_label else 0.0}


def _under(path: str, folder: Path) -> bool:
    try:
        Path(path).relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _relative(path: str | None, folder: Path) -> str | None:
    if path is None:
        return None
    return Path(path).relative_to(folder.resolve()).as_posix() if _under(path, folder) else path
