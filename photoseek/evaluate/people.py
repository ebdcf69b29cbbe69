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
from collections import Counter, defaultdict
from dataclasses import dataclass
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


AUDIT_VERDICTS = {
    "not_person": "someone else (a look-alike, a cosplayer): label dropped",
    "uncertain": "a likeness (a figure, a painting) or unclear: label dropped, the photo neither right nor wrong for them",
    "other_face": "the person appears, but the one recognised face is someone else's: out of the pairwise faces",
}


def read_label_audit(path: str | Path) -> dict[tuple[str, str], str]:
    """(file, person) -> verdict from an audit of a folder's labels (CSV: file, person, verdict[, note];
    verdicts: AUDIT_VERDICTS)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    except OSError as exc:
        raise PhotoseekError(f"Cannot read the label audit {path}: {exc.strerror or exc}.") from None
    out = {}
    for row in rows:
        verdict = (row.get("verdict") or "").strip()
        if verdict not in AUDIT_VERDICTS:
            raise PhotoseekError(f"{path}: verdict {verdict!r} for {row.get('file')} is not one of "
                                 f"{', '.join(AUDIT_VERDICTS)}.")
        out[((row.get("file") or "").strip(), (row.get("person") or "").strip())] = verdict
    return out


def eval_people(folder: str | Path, *, library: "Library | None" = None, embedder: str = "conse",
                progress: Progress | None = None, audit: str | Path | None = None) -> dict[str, Any]:
    """See the module docstring. With `audit` (read_label_audit), the figures are also given for the
    audited labels, under "audited"."""
    from photoseek.evaluate.retrieval import labelled_library

    folder = Path(folder)
    rows = read_people_labels(folder)
    verdicts = read_label_audit(audit) if audit else {}
    progress = progress or SilentProgress()
    started = time.perf_counter()
    lib, photo_id = labelled_library(folder, library, embedder, progress, annotators=["faces", "recognition"])
    conn = lib.catalog.conn
    indexed = time.perf_counter() - started

    labels = _Labels.read(rows, photo_id)
    audited = _Labels.read(rows, photo_id, verdicts) if verdicts else None
    photo_rows = {r["id"]: r for r in conn.execute("SELECT id, display_path, faces FROM photos")}
    recognised: dict[int, list[Any]] = defaultdict(list)
    for r in conn.execute("SELECT id, photo_id, person_id FROM faces ORDER BY id"):
        recognised[r["photo_id"]].append(r)
    # the grouping as clustering left it, before naming (naming gathers faces to the named)
    grouping = {face["id"]: face["person_id"] for faces in recognised.values() for face in faces}

    # -- naming, as a user would, by photos the audit (if any) kept ----------------------------------------
    people = lib.people()
    chosen = audited or labels
    names = sorted({name for names in labels.by_photo.values() for name in names})
    named: dict[str, str] = {}
    for name in names:
        photos = sorted((pid for pid, labelled in chosen.by_photo.items()
                         if name in labelled and len(recognised.get(pid, ())) == 1
                         and pid not in chosen.other_face.get(name, ())),
                        key=lambda pid: photo_rows[pid]["display_path"])
        if not photos:
            continue
        reference = photos[0]
        people.name_face(recognised[reference][0]["id"], name)
        named[name] = photo_rows[reference]["display_path"]
    found = {name: _photos_of(lib, name, len(photo_rows)) if name in named else set() for name in names}

    result = _measure(labels, names, named, found, grouping, recognised, photo_rows, folder)
    result.update({
        "photos": len(labels.by_photo),
        "people_labelled": len(names),
        "photos_with_a_face": sum(1 for pid in labels.by_photo if photo_rows[pid]["faces"] or recognised.get(pid)),
        "photos_with_a_recognised_face": sum(1 for pid in labels.by_photo if recognised.get(pid)),
        "faces_recognised": sum(len(v) for v in recognised.values()),
        "people_made": len({p for p in grouping.values() if p is not None}),
    })
    if audited is not None:
        result["audited"] = _measure(audited, names, named, found, grouping, recognised, photo_rows, folder)
        result["audited"]["changed"] = dict(Counter(verdicts.values()))
    from photoseek.people.clustering import EDGE_DISTANCE, MERGE_DISTANCE, MIN_FACES

    result.update({
        "settings": {"edge_distance": EDGE_DISTANCE, "merge_distance": MERGE_DISTANCE, "min_faces": MIN_FACES},
        "not_indexed": labels.not_indexed,
        "seconds": round(time.perf_counter() - started, 1),
        "index_seconds": round(indexed, 1),
        "library": str(lib.path),
    })
    return result


@dataclass
class _Labels:
    by_photo: dict[int, set[str]]  # photo id -> the people it shows
    seen_hint: dict[int, int]  # photo id -> faces a labeller counted
    uncertain: dict[str, set[int]]  # person -> photos neither right nor wrong for them (audited)
    other_face: dict[str, set[int]]  # person -> photos whose one recognised face is someone else's (audited)
    not_indexed: int

    @classmethod
    def read(cls, rows: list[dict[str, str]], photo_id, verdicts: dict[tuple[str, str], str] | None = None) -> "_Labels":
        out = cls(defaultdict(set), {}, defaultdict(set), defaultdict(set), 0)
        for row in rows:
            pid = photo_id(row["file"])
            if pid is None:
                out.not_indexed += 1
                continue
            person = row["person"].strip()
            if (row.get("faces_seen") or "").strip().isdigit():
                out.seen_hint[pid] = max(out.seen_hint.get(pid, 0), int(row["faces_seen"]))
            verdict = (verdicts or {}).get((row["file"].strip(), person))
            if verdict in ("not_person", "uncertain"):
                if verdict == "uncertain":
                    out.uncertain[person].add(pid)
                out.by_photo.setdefault(pid, set())
                continue
            if verdict == "other_face":
                out.other_face[person].add(pid)
            out.by_photo[pid].add(person)
        return out


def _photos_of(lib: "Library", name: str, limit: int) -> set[int]:
    from photoseek.results import Filters

    return {r.id for r in lib.search(filters=Filters(person=[name]), k=max(1, limit))}


def _measure(labels: _Labels, names: list[str], named: dict[str, str], found: dict[str, set[int]],
             grouping: dict[int, int | None], recognised: dict[int, list[Any]], photo_rows, folder: Path) -> dict[str, Any]:
    """Pairwise precision/recall of the grouping and person-search precision/recall/F1 against `labels`."""
    by_photo = labels.by_photo
    # -- grouping: pairwise over faces of single-face photos ---------------------------------------------
    single = [(pid, faces[0]) for pid, faces in recognised.items()
              if len(faces) == 1 and len(by_photo.get(pid, ())) == 1
              and pid not in labels.other_face.get(next(iter(by_photo[pid])), ())]
    grouped = [(next(iter(by_photo[pid])), grouping[face["id"]], face["id"]) for pid, face in single]
    pairs = _pairwise(grouped)

    # -- search by person ---------------------------------------------------------------------------------
    per_person: dict[str, dict[str, Any]] = {}
    lost = {"detector": 0, "not_recognisable": 0, "clustering": 0, "naming": 0}
    for name in names:
        relevant = {pid for pid, labelled in by_photo.items() if name in labelled}
        uncertain = labels.uncertain.get(name, set()) | {
            pid for pid, labelled in by_photo.items() if name not in labelled
            and max(labels.seen_hint.get(pid, 0), photo_rows[pid]["faces"] or 0, len(recognised.get(pid, ()))) >= 2}
        judged = found[name] - uncertain
        hits = len(judged & relevant)
        precision = hits / len(judged) if judged else (1.0 if name in named else 0.0)
        recall = len(found[name] & relevant) / len(relevant) if relevant else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        missed = sorted(relevant - found[name])
        causes: dict[str, int] = defaultdict(int)
        for pid in missed:
            if name not in named:
                cause = "naming"
            elif not photo_rows[pid]["faces"] and not recognised.get(pid):
                cause = "detector"
            elif not recognised.get(pid) or pid in labels.other_face.get(name, ()):
                cause = "not_recognisable"  # (audited: the one face recognised is someone else's)
            else:
                cause = "clustering"
            causes[cause] += 1
            lost[cause] += 1
        wrong = sorted(judged - relevant)
        per_person[name] = {
            "relevant": len(relevant), "found": len(found[name]), "uncertain_found": len(found[name] & uncertain),
            "precision": round(precision, 4), "recall": round(recall, 4), "F1": round(f1, 4),
            "missed": len(missed), "missed_by": dict(causes),
            "wrong": [_relative(photo_rows[p]["display_path"], folder) for p in wrong],
            "named_by": _relative(named.get(name), folder),
        }
    count = len(per_person) or 1
    halves = {}
    for half, members in zip("AB", person_halves(names)):
        chosen = [per_person[n] for n in members]
        half_pairs = _pairwise(grouped, only=set(members))
        halves[half] = {
            "people": members,
            "pairwise_precision": half_pairs["precision"], "pairwise_recall": half_pairs["recall"],
            **{key: round(sum(p[key] for p in chosen) / (len(chosen) or 1), 4) for key in ("precision", "recall", "F1")},
        }
    return {
        "pairwise_precision": pairs["precision"],
        "pairwise_recall": pairs["recall"],
        "pairwise_faces": len(single),
        "precision": round(sum(p["precision"] for p in per_person.values()) / count, 4),
        "recall": round(sum(p["recall"] for p in per_person.values()) / count, 4),
        "F1": round(sum(p["F1"] for p in per_person.values()) / count, 4),
        "lost": lost,
        "halves": halves,
        "per_person": per_person,
    }


def person_halves(names: list[str]) -> tuple[list[str], list[str]]:
    """The labelled people in two halves (alternately by name), to choose settings on one half and
    report the other (held out)."""
    ordered = sorted(names)
    return ordered[0::2], ordered[1::2]


def _pairwise(faces: list[tuple[str, int | None, int]], only: set[str] | None = None) -> dict[str, float]:
    """Pairwise precision and recall of a grouping: (label, group or None, face id) per face. With
    `only`, the pairs with a face of those labels (a held-out set of people): a face of theirs
    grouped with anyone's is a wrong pair."""
    same_label = same_group = both = 0
    for i in range(len(faces)):
        for j in range(i + 1, len(faces)):
            a, b = faces[i], faces[j]
            if only is not None and a[0] not in only and b[0] not in only:
                continue
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
