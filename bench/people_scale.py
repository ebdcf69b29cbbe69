"""Face clustering at scale: assigning new faces to people in a library that already holds 100,000 or a
million faces, and listing the people (`photoseek people`).

Synthetic faces (no photos): PEOPLE identities, each a random 128-d centre of dlib-like norm (~1.5),
faces scattered around their centre at about dlib's same-person distance (~0.4), written into a real
catalog (photos, faces, people) and grouped into people beforehand; the new faces are more faces of
those identities. Timed:

  index      loading the face index for the catalog (built once and cached; later runs read the cache)
  assign     `cluster_faces` for a batch of new faces (neighbours from FAISS, chinese whispers, merging,
             writing): milliseconds per face, the index loaded (what an index run pays per new face)
  one        `cluster_faces` for one new face, the index loaded
  people     `PeopleDirectory.list()` (photoseek people)

Goals (issue 26): assigning a new face <= 5 ms at 100k and 1M faces; `people` on 100k faces <= 1 s.

    nice -n 10 .venv/bin/python bench/people_scale.py --faces 100000
    nice -n 10 .venv/bin/python bench/people_scale.py --faces 1000000 --people 20000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def make_faces(rng, centres, count: int, spread: float = 0.035):
    import numpy as np

    who = rng.integers(0, len(centres), size=count)
    vectors = centres[who] + rng.normal(0.0, spread, size=(count, centres.shape[1])).astype(np.float32)
    return who, vectors.astype(np.float32)


def build(library: Path, faces: int, people: int, seed: int = 0):
    import numpy as np

    from photoseek.store.catalog import Catalog, utc_now
    from photoseek.store.faces import bump_faces_generation

    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, size=(people, 128)).astype(np.float32)
    centres *= (1.5 / np.linalg.norm(centres, axis=1, keepdims=True))
    catalog = Catalog(library)
    conn = catalog.conn
    now = utc_now()
    chunk = 50_000
    with catalog.transaction():
        conn.executemany("INSERT INTO people(id, created_at) VALUES (?, ?)", ((i + 1, now) for i in range(people)))
    for start in range(0, faces, chunk):
        count = min(chunk, faces - start)
        who, vectors = make_faces(rng, centres, count)
        with catalog.transaction():
            conn.executemany(
                "INSERT INTO photos(id, path, display_path, size, mtime_ns, content_hash, indexed_at) VALUES (?, ?, ?, 1, 1, ?, ?)",
                ((start + i + 1, f"/p/{start + i}.jpg".encode(), f"/p/{start + i}.jpg", f"h{start + i}", now)
                 for i in range(count)))
            conn.executemany(
                """INSERT INTO faces(photo_id, face_index, x, y, w, h, quality, descriptor, model_id, person_id, assigned, distance)
                   VALUES (?, 1, 0.4, 0.3, 0.2, 0.2, 1.0, ?, 'bench', ?, 'auto', 0.4)""",
                ((start + i + 1, vectors[i].tobytes(), int(who[i]) + 1) for i in range(count)))
            bump_faces_generation(conn)
        print(f"  {start + count} faces written", file=sys.stderr, flush=True)
    return catalog, centres, rng


def add_new(catalog, centres, rng, count: int, first_photo: int) -> None:
    from photoseek.store.catalog import utc_now
    from photoseek.store.faces import bump_faces_generation

    conn = catalog.conn
    _, vectors = make_faces(rng, centres, count)
    now = utc_now()
    with catalog.transaction():
        for i in range(count):
            photo = first_photo + i
            conn.execute("INSERT INTO photos(id, path, display_path, size, mtime_ns, content_hash, indexed_at) "
                         "VALUES (?, ?, ?, 1, 1, ?, ?)", (photo, f"/new/{photo}.jpg".encode(), f"/new/{photo}.jpg",
                                                         f"n{photo}", now))
            conn.execute("INSERT INTO faces(photo_id, face_index, x, y, w, h, quality, descriptor, model_id) "
                         "VALUES (?, 1, 0.4, 0.3, 0.2, 0.2, 1.0, ?, 'bench')", (photo, vectors[i].tobytes()))
        bump_faces_generation(conn)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=1_000, help="new faces assigned in one run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from photoseek.people.clustering import cluster_faces
    from photoseek.people.directory import PeopleDirectory
    from photoseek.store.face_index import FaceIndex

    with tempfile.TemporaryDirectory(prefix="photoseek-people-bench-") as folder:
        library = Path(folder)
        started = time.perf_counter()
        catalog, centres, rng = build(library, args.faces, args.people)
        built = time.perf_counter() - started
        result: dict = {"faces": args.faces, "people": args.people, "write_s": round(built, 1)}

        started = time.perf_counter()
        index = FaceIndex.load(catalog.conn, library)
        result["index_build_s"] = round(time.perf_counter() - started, 2)
        result["index"] = "IVF" if index.approximate else "flat"
        started = time.perf_counter()
        FaceIndex.load(catalog.conn, library)
        result["index_load_cached_s"] = round(time.perf_counter() - started, 2)

        next_photo = args.faces + 1
        add_new(catalog, centres, rng, args.batch, next_photo)
        next_photo += args.batch
        index.catch_up(catalog.conn)
        started = time.perf_counter()
        report = cluster_faces(catalog, library, index=index)
        seconds = time.perf_counter() - started
        result["assign_ms_per_face"] = round(1000 * seconds / args.batch, 2)
        result["assign_batch"] = report.to_dict()

        ones = []
        for _ in range(5):
            add_new(catalog, centres, rng, 1, next_photo)
            next_photo += 1
            index.catch_up(catalog.conn)
            started = time.perf_counter()
            cluster_faces(catalog, library, index=index)
            ones.append(time.perf_counter() - started)
        result["assign_one_ms"] = round(1000 * sorted(ones)[len(ones) // 2], 2)

        directory = PeopleDirectory(catalog, library)
        directory.list()
        started = time.perf_counter()
        listed = directory.list()
        result["people_list_s"] = round(time.perf_counter() - started, 3)
        result["people_listed"] = len(listed)
        catalog.close()
    with open("/proc/loadavg") as handle:
        result["loadavg"] = handle.read().split()[:3]
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
