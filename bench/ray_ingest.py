"""Stage 1 through Ray vs locally, and the driver's commit ceiling.

    PYTHONPATH=. .venv/bin/python bench/ray_ingest.py [--photos 96] [--commit-photos 4000]

1. Local: `Indexer` with the LocalExecutor (threads decode, this process embeds), all cores.
2. Ray with 1 and 2 worker nodes (`ray start` processes on this machine, tests/ray_support.py; the
   head node has 0 CPUs and only coordinates, each worker node 1 CPU and one actor holding the
   model). Timed warm — each actor loaded its model on a first run — and the cold figure (actors
   started and models loaded inside the timing) is printed beside it.
   The figure that transfers to a real cluster is the per-worker-CPU ratio: Ray photos/s per worker
   CPU over local photos/s per CPU (1.0 = no overhead; below 1 = serialisation, scheduling, the
   driver's round trips). On this 2-core machine the nodes share the cores with the driver.
3. Commit ceiling: the driver alone — scan, classify, plan, write each batch in one transaction
   (photos, three vectors, classifier tags, full-text), sweep, FAISS refresh — fed precomputed
   results for `--commit-photos` photos. It bounds the cluster: workers x per-worker rate above it
   only queue at the driver.

Photos: the first N of ../shared/data/coco-captions/images (linked from a temporary folder).
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

COCO = REPO_ROOT.parent / "shared" / "data" / "coco-captions" / "images"


def photo_folder(root: Path, count: int) -> Path:
    folder = root / "photos"
    folder.mkdir()
    photos = sorted(COCO.glob("*.jpg"))[:count]
    if len(photos) < count:
        sys.exit(f"needs {count} photos in {COCO}")
    for p in photos:
        os.symlink(p, folder / p.name)
    return folder


def index_once(embedder, folder: Path, executor=None, batch_size: int = 32, workers: int | None = None):
    from photoseek.ingest.indexer import Indexer
    from photoseek.store.annotations import label_sink
    from photoseek.store.catalog import Catalog

    with tempfile.TemporaryDirectory(prefix="photoseek-bench-lib-") as library:
        catalog = Catalog(library)
        indexer = Indexer(catalog, embedder, library, batch_size=batch_size, workers=workers, label_sink=label_sink,
                          executor=executor)  # fmt: skip
        started = time.perf_counter()
        report = indexer.run([folder])
        seconds = time.perf_counter() - started
        catalog.close()
    assert report.added > 0 and report.failed == 0, report.to_dict()
    return report.added / seconds, seconds


def ray_rates(embedder_spec: str, folder: Path, workers: int, batch_size: int, photos: int) -> dict:
    import ray

    from photoseek.ingest.ray_executor import RayExecutor
    from photoseek.vision import get_embedder
    from tests.ray_support import LocalRayCluster

    embedder = get_embedder(embedder_spec)  # the driver's copy is never loaded: ids and sizes only
    with LocalRayCluster(workers=workers, cpus=1, head_cpus=0, timeout_s=180) as cluster:
        executor = RayExecutor(embedder_spec, cluster.address, batch_size=batch_size)
        try:
            cold, cold_s = index_once(embedder, folder, executor)  # actors start + load models inside
            warm = max(index_once(embedder, folder, executor)[0] for _ in range(2))
            nodes = executor.nodes_used
        finally:
            executor.shutdown()
            ray.shutdown()
    return {"workers": workers, "cold": cold, "cold_s": cold_s, "warm": warm, "nodes_used": nodes}


class _Replay:
    """A BatchExecutor that hands out precomputed results (one real photo's, with this task's path
    and a unique hash): what the driver sees from an infinitely fast cluster. Measures the time the
    driver spends between batches (planning + committing)."""

    def __init__(self, template, batch_size: int) -> None:
        self.template, self.batch_size = template, batch_size
        self.commit_seconds = 0.0

    def compute(self, tasks, job, reuse=None):
        raise AssertionError("no photo is ever a duplicate here")

    def run(self, tasks, job):
        for start in range(0, len(tasks), self.batch_size):
            batch = []
            for task in tasks[start : start + self.batch_size]:
                outcome = copy.copy(self.template)
                outcome.task = task
                outcome.photo = copy.copy(self.template.photo)
                outcome.photo.path = task.file.path
                outcome.photo.content_hash = f"{hash(task.file.path) & (2**64 - 1):040x}"
                batch.append(outcome)
            resumed = time.perf_counter()
            yield batch  # the driver plans and commits this batch before asking for the next
            self.commit_seconds += time.perf_counter() - resumed


def commit_ceiling(embedder, sample: Path, count: int, batch_size: int) -> dict:
    from photoseek.ingest.indexer import BatchJob, _Task, compute_batch
    from photoseek.ingest.scan import FoundFile
    from photoseek.store.annotations import label_sink
    from photoseek.store.catalog import Catalog
    from photoseek.ingest.indexer import Indexer

    st = sample.stat()
    with tempfile.TemporaryDirectory(prefix="photoseek-bench-commit-") as root:
        (template,) = compute_batch(
            [_Task(FoundFile(os.fsencode(sample), st.st_size, st.st_mtime_ns), None)], embedder,
            BatchJob(root, embedder.preferred_size), keep_images=False,
        )  # fmt: skip
        files = Path(root) / "files"
        files.mkdir()
        for i in range(count):  # the scan only stats them; _Replay supplies their "content"
            (files / f"{i:07d}.jpg").touch()
        catalog = Catalog(Path(root) / "lib")
        replay = _Replay(template, batch_size)
        indexer = Indexer(catalog, embedder, Path(root) / "lib", batch_size=batch_size, label_sink=label_sink,
                          executor=replay)  # fmt: skip
        started = time.perf_counter()
        report = indexer.run([files])
        total = time.perf_counter() - started
        catalog.close()
    assert report.added == count, report.to_dict()
    return {"photos": count, "total_s": total, "commit_s": replay.commit_seconds,
            "rate_total": count / total, "rate_commit": count / replay.commit_seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--commit-photos", type=int, default=4000)
    parser.add_argument("--embedder", default="conse")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--one-cpu", action="store_true",
                        help="(internal) print the local rate with 1 inference thread, 1 decode thread")  # fmt: skip
    args = parser.parse_args()
    if args.one_cpu:
        from photoseek.vision import get_embedder

        embedder = get_embedder(args.embedder)
        with tempfile.TemporaryDirectory(prefix="photoseek-bench-ray-") as root:
            folder = photo_folder(Path(root), args.photos)
            index_once(embedder, folder, batch_size=args.batch_size, workers=1)
            print(max(index_once(embedder, folder, batch_size=args.batch_size, workers=1)[0] for _ in range(2)))
        return

    from photoseek.vision import get_embedder

    embedder = get_embedder(args.embedder)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="photoseek-bench-ray-") as root:
        folder = photo_folder(Path(root), args.photos)
        index_once(embedder, folder, batch_size=args.batch_size)  # warm-up: model, caches
        local = max(index_once(embedder, folder, batch_size=args.batch_size)[0] for _ in range(2))
        print(f"local:          {local:6.1f} photos/s  ({args.photos} COCO photos, {cores} cores, "
              f"{local / cores:.1f} photos/s per core)")  # fmt: skip
        # the like-for-like baseline for a 1-CPU actor: this pipeline held to one core, in its own
        # process (inference threads are fixed when the model loads)
        one = subprocess.run(
            [sys.executable, __file__, "--one-cpu", "--photos", str(args.photos), "--batch-size", str(args.batch_size),
             "--embedder", args.embedder],
            env=dict(os.environ, PHOTOSEEK_THREADS="1"), capture_output=True, text=True, check=True,
        )  # fmt: skip
        local_one = float(one.stdout.strip().splitlines()[-1])
        print(f"local, 1 core:  {local_one:6.1f} photos/s  (1 inference thread, 1 decode thread)")
        if not args.skip_ray:
            for workers in (1, 2):
                r = ray_rates(args.embedder, folder, workers, args.batch_size, args.photos)
                per_cpu = r["warm"] / workers
                print(f"ray {workers} worker(s): {r['warm']:6.1f} photos/s warm, {r['cold']:5.1f} cold "
                      f"({r['cold_s']:.1f} s incl. actor start), nodes used {r['nodes_used']}; "
                      f"per worker CPU {per_cpu:.1f} = {per_cpu / local_one:.2f}x local on 1 core "
                      f"(Ray efficiency), {r['warm'] / local:.2f}x local on {cores} cores")  # fmt: skip
        ceiling = commit_ceiling(embedder, sorted(COCO.glob("*.jpg"))[0], args.commit_photos, 32)
        print(f"driver ceiling: {ceiling['rate_commit']:6.0f} photos/s committing "
              f"({ceiling['commit_s']:.1f} s for {ceiling['photos']}), {ceiling['rate_total']:.0f} photos/s "
              f"for the whole run with scan, sweep and FAISS refresh ({ceiling['total_s']:.1f} s)")  # fmt: skip
        print(f"=> the driver saturates at about {ceiling['rate_total'] / local_one:.0f} worker CPUs "
              f"at this machine's 1-core rate ({local_one:.1f} photos/s)")  # fmt: skip


if __name__ == "__main__":
    main()
