#!/usr/bin/env python3
"""People detection on COCO photos: recall on photos whose captions mention people, precision on
photos none of whose captions do (../shared/data/coco-captions).

    .venv/bin/python bench/people.py [--photos 200] [--json]

The thresholds of photoseek.vision.faces were chosen on the first 200 photos (the default); pass
--photos 461 for all of them, or --skip 200 --photos 261 for the photos they were not chosen on.

A photo is a positive when at least one of its five captions names a person (man, woman, people,
child, player, skier...; PEOPLE_WORDS below), a negative when none does; photos with only one or
two captions naming people are positives too (a small figure in the background counts). A
detection is a photo with people count >= 1. Prints recall (found/positives), precision
(found positives / all photos found) and seconds per photo.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "coco-captions"

PEOPLE_WORDS = {
    "man", "men", "woman", "women", "person", "people", "persons", "boy", "boys", "girl", "girls", "child",
    "children", "kid", "kids", "baby", "babies", "guy", "guys", "lady", "ladies", "player", "players",
    "skier", "skiers", "surfer", "surfers", "skateboarder", "skateboarders", "snowboarder", "rider", "riders",
    "crowd", "family", "couple", "someone", "he", "she", "they", "adult", "adults", "toddler", "teenager",
    "pitcher", "batter", "catcher", "chef", "cook", "officer", "policeman", "worker", "workers", "student",
    "students", "tourists", "tourist", "bride", "groom", "team", "spectators", "audience", "friends",
}  # fmt: skip


def labelled_photos(limit: int) -> list[tuple[Path, bool]]:
    rows = []
    with open(DATA / "captions.jsonl", encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            words = [set(re.findall(r"[a-z]+", c.lower())) for c in item["captions"]]
            rows.append((DATA / item["file"], any(w & PEOPLE_WORDS for w in words)))
    rows.sort(key=lambda r: r[0].name)
    return rows[:limit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N photos (by file name)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (DATA / "captions.jsonl").exists():
        print(f"{DATA} not found: the benchmark needs the shared COCO photos", file=sys.stderr)
        return 2
    from photoseek.ingest.decode import decode_photo
    from photoseek.vision import faces

    detect = faces.count_people
    photos = labelled_photos(args.skip + args.photos)[args.skip :]
    images = [decode_photo(path, target_size=512).image for path, _ in photos]
    detect(images[0])  # warm-up (model load)
    started = time.perf_counter()
    counts = [detect(image) for image in images]
    seconds = time.perf_counter() - started
    positives = sum(1 for _, p in photos if p)
    found_pos = sum(1 for (_, p), c in zip(photos, counts) if p and c > 0)
    found_neg = sum(1 for (_, p), c in zip(photos, counts) if not p and c > 0)
    result = {
        "detector": faces.FACES_ANNOTATOR_ID,
        "photos": len(photos),
        "positives": positives,
        "negatives": len(photos) - positives,
        "found_positives": found_pos,
        "found_negatives": found_neg,
        "recall": round(found_pos / positives, 3) if positives else None,
        "precision": round(found_pos / (found_pos + found_neg), 3) if found_pos + found_neg else None,
        "ms_per_photo": round(1000 * seconds / len(photos), 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['detector']}: recall {found_pos}/{positives} = {result['recall']}, precision {result['precision']} "
              f"({found_neg} of {result['negatives']} negatives found), {result['ms_per_photo']} ms/photo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
