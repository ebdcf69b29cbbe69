"""Taught words at 100k photos: what one new example costs (train again and re-tag the library).

A catalog of N synthetic photos (default 100,000) is filled with vectors shaped like the default
embedder's (joint 384-d, visual 1280-d, L2-normalised; each photo drawn around one of 300 "subjects",
so a word has photos to find). Then, through `Library` as the CLI and the page use it:

  features   building the word features (photoseek.learn.features: PCA of every photo's vectors),
             done once per vectors generation at the end of an index run, then read from its file
  first      `Library.teach(word, 3 photos)`: the word's text embedded once, trained, the library tagged
  example    one more example (`Library.tag(ID, add=[word])`): trained again, re-tagged (the goal: ≤ 1 s)
  rejection  one rejection (`Library.tag(ID, remove=[word])`)
  cold       one more example in a new process's Library (reads the features file; the CLI's `tag`)
  search     `Library.search(word)` with the word's learned signal, against a word nobody taught

No photo is read anywhere: only the catalog's vectors.

    .venv/bin/python bench/words.py                 # 100k photos
    .venv/bin/python bench/words.py --photos 10000
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

JOINT_DIM, VISUAL_DIM, SUBJECTS = 384, 1280, 300


def fill(library: Path, n: int, rng) -> np.ndarray:
    """A catalog of n photos with joint and visual vectors; returns each photo's subject."""
    from photoseek.store.catalog import Catalog, utc_now
    from photoseek.vision import get_embedder

    embedder = get_embedder("conse")
    joint_model, visual_model = embedder.id, "bench-visual"
    joint_centres = rng.normal(size=(SUBJECTS, JOINT_DIM)).astype(np.float32)
    visual_centres = np.abs(rng.normal(size=(SUBJECTS, VISUAL_DIM))).astype(np.float32)
    subjects = rng.integers(0, SUBJECTS, n)
    catalog = Catalog(library)
    conn = catalog.conn
    conn.execute("PRAGMA synchronous=OFF")  # bench set-up only
    now = utc_now()
    step = 20_000
    for start in range(0, n, step):
        ids = np.arange(start + 1, min(n, start + step) + 1)
        s = subjects[ids - 1]
        joint = joint_centres[s] + 1.5 * rng.normal(size=(len(ids), JOINT_DIM)).astype(np.float32)
        visual = np.abs(visual_centres[s] + 1.2 * rng.normal(size=(len(ids), VISUAL_DIM)).astype(np.float32))
        joint /= np.linalg.norm(joint, axis=1, keepdims=True)
        visual /= np.linalg.norm(visual, axis=1, keepdims=True)
        with catalog.transaction():
            conn.executemany("INSERT INTO photos(id, path, display_path, size, mtime_ns, content_hash, indexed_at) "
                             "VALUES (?, ?, ?, 1, 1, ?, ?)",
                             ((int(i), b"/bench/%d.jpg" % i, f"/bench/{i}.jpg", f"h{i}", now) for i in ids))
            conn.executemany("INSERT INTO embeddings(photo_id, space, model_id, vector) VALUES (?, 'joint', ?, ?)",
                             ((int(i), joint_model, v.tobytes()) for i, v in zip(ids, joint)))
            conn.executemany("INSERT INTO embeddings(photo_id, space, model_id, vector) VALUES (?, 'visual', ?, ?)",
                             ((int(i), visual_model, v.tobytes()) for i, v in zip(ids, visual)))
    with catalog.transaction():
        for key, value in (("embedder_id", joint_model), ("joint_dim", JOINT_DIM), ("visual_id", visual_model),
                           ("visual_dim", VISUAL_DIM)):
            catalog.set_meta(key, str(value))
        catalog.bump_vectors_generation()
    conn.execute("PRAGMA synchronous=NORMAL")
    catalog.close()
    return subjects


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--keep", metavar="DIR", help="build (or reuse) the synthetic library here")
    args = parser.parse_args()
    from photoseek.library import Library

    rng = np.random.default_rng(0)
    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="photoseek-bench-words-"))
    try:
        if not (scratch / "catalog.sqlite3").exists():
            started = time.perf_counter()
            subjects = fill(scratch, args.photos, rng)
            np.save(scratch / "subjects.npy", subjects)
            print(f"filled {args.photos} photos in {time.perf_counter() - started:.1f} s (set-up)")
        subjects = np.load(scratch / "subjects.npy")
        members = np.flatnonzero(subjects == 7) + 1  # photo ids of one subject
        print(f"{len(subjects)} photos; the word's subject has {len(members)}")
        with Library(scratch, llm=None) as lib:
            lib.vectors.ids("visual")  # FAISS caches built once (set-up, as after an index run)
            seconds, _ = timed(lambda: lib.taught.features())
            print(f"features: {seconds:.2f} s (once per vectors generation, at the end of an index run)")
            lib.embedder.embed_queries(["warm up"])
            seconds, status = timed(lambda: lib.teach("my bike", [int(i) for i in members[:3]]))
            print(f"first: {seconds:.2f} s (the word's text embedded once, trained, {status.tagged} photos tagged, "
                  f"{len(set(members.tolist()) & set(_tagged(lib, 'my bike')))} of them of its subject)")
            example_times = []
            for pid in members[3:8]:
                seconds, status = timed(lambda: lib.tag(int(pid), add=["my bike"]))
                example_times.append(seconds)
            print(f"example: median {statistics.median(example_times):.3f} s, max {max(example_times):.3f} s over "
                  f"5 new examples (train again + re-tag {len(subjects)} photos; now {status['taught'][0]['tagged']} tagged)")
            others = np.flatnonzero(subjects != 7)[:5] + 1
            rejection_times = [timed(lambda: lib.tag(int(pid), remove=["my bike"]))[0] for pid in others]
            print(f"rejection: median {statistics.median(rejection_times):.3f} s, max {max(rejection_times):.3f} s")
            lib.search("my bike", k=10)
            taught, _ = timed(lambda: lib.search("my bike", k=10), repeat=5)
            plain, _ = timed(lambda: lib.search("a red bus", k=10), repeat=5)
            print(f"search: {taught * 1000:.0f} ms for the taught word, {plain * 1000:.0f} ms for an untaught query "
                  f"(median of 5, warm)")
        with Library(scratch, llm=None) as lib:  # a new process's view: the CLI's `photoseek tag`
            seconds, _ = timed(lambda: lib.tag(int(members[8]), add=["my bike"]))
            print(f"cold: {seconds:.2f} s for one more example in a new Library (features read from their file)")
        import os

        print(f"load: {os.getloadavg()[0]:.2f} (1-minute load average; the machine is shared)")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _tagged(lib, word: str) -> list[int]:
    from photoseek.store.words import learned_tags

    return list(learned_tags(lib.catalog.conn, word))


if __name__ == "__main__":
    sys.exit(main())
