#!/usr/bin/env python3
"""Photos per second of each stage-2 annotator, on COCO photos from ../shared/data/coco-captions.

    .venv/bin/python bench/annotate.py [--photos 50] [--llm-photos 10] [--no-llm] [--json]

The photos are copied to a temporary folder, indexed (stage 1, the default embedder, whose labels
give the classifier tags for free), then each annotator runs alone over all of them and is timed:
tags (re-run from the images), time, colors, faces, ocr, captions with the template, and captions
written by the local LLM from the evidence (on the first --llm-photos photos: about 1-10 s each on
a laptop CPU). Single process; set PHOTOSEEK_THREADS to pin the thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
COCO = REPO.parent / "shared" / "data" / "coco-captions" / "images"


def _time_annotator(library, name: str, **annotator_args) -> dict:
    from photoseek.ingest.annotate import Annotator

    library.catalog.conn.execute("DELETE FROM annotations_done WHERE annotator=?", (name,))
    if name == "captions":
        library.catalog.conn.execute("DELETE FROM captions")
    annotator = Annotator(library.catalog, library.path, only={name}, embedder=library.embedder, **annotator_args)
    start = time.perf_counter()
    counts = annotator.run()
    seconds = time.perf_counter() - start
    done = counts.get(name, 0)
    return {
        "annotator": name if "captioner" not in annotator_args else f"captions ({annotator_args['captioner']})",
        "photos": done,
        "failed": counts.get("failed", 0),
        "seconds": round(seconds, 2),
        "photos_per_second": round(done / seconds, 2) if seconds and done else None,
        "notes": annotator.messages,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--llm-photos", type=int, default=10)
    parser.add_argument("--no-llm", action="store_true", help="skip the local-LLM captions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not COCO.exists():
        print(f"{COCO} not found: the benchmark needs the shared COCO photos", file=sys.stderr)
        return 2
    os.environ.setdefault("PHOTOSEEK_MODEL_CACHE", str(REPO / ".cache" / "test-models"))
    from photoseek.library import Library

    rows = []
    with tempfile.TemporaryDirectory(prefix="photoseek-bench-annotate-") as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        for name in sorted(os.listdir(COCO))[: args.photos]:
            shutil.copy(COCO / name, photos / name)
        library = Library(Path(tmp) / "lib", llm=None, captioner="template")
        start = time.perf_counter()
        report = library.index([photos], annotate=False)
        seconds = time.perf_counter() - start
        rows.append({"annotator": "stage 1 (embed + classifier tags)", "photos": report.added,
                     "seconds": round(seconds, 2), "photos_per_second": round(report.added / seconds, 2)})
        for name in ("tags", "time", "colors", "faces", "ocr"):
            rows.append(_time_annotator(library, name))
        rows.append(_time_annotator(library, "captions", captioner="template"))
        if not args.no_llm:
            keep = {r[0] for r in library.catalog.conn.execute("SELECT id FROM photos ORDER BY id LIMIT ?",
                                                                (args.llm_photos,))}
            library.catalog.conn.execute(
                f"DELETE FROM photos WHERE id NOT IN ({','.join(str(i) for i in keep)})"
            )
            from photoseek.llm.base import get_llm

            llm = get_llm("llamacpp")
            start = time.perf_counter()
            llm.warm_up()
            load = time.perf_counter() - start
            row = _time_annotator(library, "captions", captioner="local", llm_spec=llm)
            row["model_load_seconds"] = round(load, 2)
            used = library.catalog.conn.execute(
                "SELECT captioner_id, count(*) FROM captions GROUP BY captioner_id").fetchall()
            row["written_by"] = {r[0]: r[1] for r in used}
            rows.append(row)
        library.close()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            extra = f"  {row.get('written_by')}" if row.get("written_by") else ""
            print(f"{row['annotator']:36s} {row['photos']:4d} photos {row['seconds']:8.2f} s "
                  f"{row['photos_per_second'] or 0:8.2f} photos/s{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
