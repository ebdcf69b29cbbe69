"""Face clustering settings measured on stored descriptors: seconds per variant, not a re-index.

A library indexed once with face recognition (`photoseek --library LIB eval people DIR` makes one) is
copied without its people, names and corrections, its faces grouped again (`cluster_faces`, full) with
the clustering settings given by --set, and measured as `photoseek eval people` measures (pairwise
precision/recall over faces of single-face photos; person search precision/recall/F1 after naming
each person by one photo), on all the labelled people and on two halves of them (A, B: alternately by
name). Settings are chosen on one half and reported on the other, the held-out one.

    nice -n 10 .venv/bin/python bench/people_clustering.py --library /tmp/faces.lib ../shared/data/faces
    nice -n 10 .venv/bin/python bench/people_clustering.py --library /tmp/faces.lib ../shared/data/faces \\
        --set MERGE_DISTANCE=0.62 --set ATTACH_DISTANCE=0.55
    nice -n 10 .venv/bin/python bench/people_clustering.py --library /tmp/faces.lib ../shared/data/faces \\
        --grid ATTACH_DISTANCE=0.5,0.55,0.6 --grid ATTACH_MARGIN=0,0.03,0.06

The library is never changed (its copy is). Each row: the settings, then all / A / B as pairwise
P/R and search P/R/F1. With --grid, the best row of each half by the issue's goals (pairwise
recall, with pairwise precision >= 0.97 and search precision >= 0.97) is named, with its other half.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def fresh_copy(library: Path, target: Path) -> None:
    """The library's catalog (thumbnails left out) with every face free again. Its descriptors are
    what is measured, whatever recognition settings made them: they are marked current, so that the
    evaluation's index pass does not recognise the photos again."""
    from photoseek.vision.face_descriptors import FACE_RECOGNITION_ID

    target.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{library / 'catalog.sqlite3'}?mode=ro", uri=True)
    copy = sqlite3.connect(target / "catalog.sqlite3")
    source.backup(copy)
    source.close()
    copy.execute("DELETE FROM face_verdicts")
    copy.execute("UPDATE faces SET person_id=NULL, assigned=NULL, distance=NULL")
    copy.execute("DELETE FROM people")
    copy.execute("UPDATE annotations_done SET annotator_id=? WHERE annotator='recognition'", (FACE_RECOGNITION_ID,))
    copy.commit()
    copy.close()
    for name in ("vectors",):
        if (library / name).is_dir():
            shutil.copytree(library / name, target / name,
                            ignore=shutil.ignore_patterns("faces.g*", ".faces.g*"), dirs_exist_ok=True)


def measure(library: Path, folder: Path, settings: dict[str, float], audit: Path | None = None) -> dict:
    from photoseek.evaluate.people import eval_people
    from photoseek.library import Library
    from photoseek.people import clustering

    saved = {name: getattr(clustering, name) for name in settings}
    try:
        for name, value in settings.items():
            setattr(clustering, name, type(saved[name])(value))
        with tempfile.TemporaryDirectory(prefix="photoseek-cluster-") as tmp:
            fresh_copy(library, Path(tmp))
            lib = Library(Path(tmp), llm=None, embedder="conse", captioner="template")
            started = time.perf_counter()
            grouped = lib.people().cluster(full=True)
            seconds = time.perf_counter() - started
            result = eval_people(folder, library=lib, audit=audit)
            result["cluster_seconds"] = round(seconds, 3)
            result["clustering"] = grouped.to_dict()
            lib.close() if hasattr(lib, "close") else None
            return result
    finally:
        for name, value in saved.items():
            setattr(clustering, name, value)


def row(settings: dict, result: dict) -> str:
    def part(d: dict) -> str:
        return (f"{d['pairwise_precision']:.3f}/{d['pairwise_recall']:.3f} "
                f"{d['precision']:.3f}/{d['recall']:.3f}/{d['F1']:.3f}")

    label = " ".join(f"{k}={v}" for k, v in settings.items()) or "(defaults)"
    line = (f"{label:<48} all {part(result)} | A {part(result['halves']['A'])} | B {part(result['halves']['B'])}"
            f" | people {result['people_made']} lost {result['lost']['clustering']}")
    if "audited" in result:
        audited = result["audited"]
        line += (f"\n{'  audited':<48} all {part(audited)} | A {part(audited['halves']['A'])} | "
                 f"B {part(audited['halves']['B'])} | lost {audited['lost']['clustering']}")
    return line


def acceptable(d: dict) -> bool:
    return d["pairwise_precision"] >= 0.97 and d["precision"] >= 0.97


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="the labelled folder the library was indexed from")
    parser.add_argument("--library", type=Path, required=True, help="a library indexed with face recognition")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a photoseek.people.clustering setting for every row")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="a setting to vary (rows: every combination)")
    parser.add_argument("--audit", type=Path, help="an audit of the folder's labels (eval people --audit), "
                        "reported beside the labels as given; halves are chosen on it when given")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    fixed = dict(item.split("=", 1) for item in args.set)
    fixed = {k: float(v) for k, v in fixed.items()}
    axes = [(name, [float(v) for v in values.split(",")])
            for name, values in (item.split("=", 1) for item in args.grid)]
    combos = [dict(zip([a[0] for a in axes], values)) for values in itertools.product(*[a[1] for a in axes])] or [{}]
    results = []
    for combo in combos:
        settings = {**fixed, **combo}
        result = measure(args.library, args.folder, settings, args.audit)
        results.append((settings, result))
        if not args.json:
            print(row(settings, result), flush=True)
    if args.json:
        print(json.dumps([{"settings": s, **{k: r[k] for k in ("pairwise_precision", "pairwise_recall", "precision",
                                                            "recall", "F1", "lost", "halves", "people_made",
                                                            "cluster_seconds") if k in r},
                           "audited": {k: v for k, v in r.get("audited", {}).items() if k != "per_person"}}
                          for s, r in results], indent=1))
        return
    if len(results) > 1:
        for chosen, held in (("A", "B"), ("B", "A")):
            fit = [(s, r.get("audited", r)) for s, r in results if acceptable(r.get("audited", r)["halves"][chosen])]
            if not fit:
                print(f"chosen on {chosen}: no row meets precision >= 0.97")
                continue
            s, r = max(fit, key=lambda sr: (sr[1]["halves"][chosen]["pairwise_recall"], sr[1]["halves"][chosen]["F1"]))
            h = r["halves"][held]
            print(f"chosen on {chosen}: {s} -> held-out {held}: pairwise {h['pairwise_precision']:.3f}/"
                  f"{h['pairwise_recall']:.3f}, search {h['precision']:.3f}/{h['recall']:.3f}/{h['F1']:.3f}")


if __name__ == "__main__":
    main()
