"""The whole default ingest locally and through Ray (1 and 2 worker nodes), with CPU seconds per
worker and on the driver, and the driver's commit ceiling.

    PYTHONPATH=. .venv/bin/python bench/ray_ingest.py [--photos 48] [--batch-size 8] [--commit-photos 4000]
    PYTHONPATH=. .venv/bin/python bench/ray_ingest.py --stage1      # stage 1 only (index --no-annotate)

Every run is `Library.index` into a fresh library, as `photoseek index` runs it by default: decode,
the pixel annotators (time of day, colours, people, the text gate and OCR) and embedding per batch,
then on the driver the sweep, the FAISS refresh, the stored score spread and the catch-up pass of
`ingest/annotate.py` (which finds nothing left to do after a fresh run: printed as `catch-up`).

1. Local, all cores (the default threads); timed after a warm-up run (models loaded).
2. Local held to one core (a subprocess pinned to one CPU with PHOTOSEEK_THREADS=1): the
   like-for-like baseline for a worker node of one CPU.
3. Ray with 1 and 2 worker nodes (`ray start` processes on this machine, tests/ray_support.py; the
   head node has 0 CPUs and only coordinates, each worker node 1 CPU and one actor). Cold: the first
   run, actors started and models loaded inside the timing; warm: a second run with the same
   actors. Printed per worker: the actor process's CPU seconds in the warm run (from /proc) and the
   whole node's (raylet and its helpers included), and the driver's CPU seconds (this process: scan,
   commits, the catch-up pass, Ray's client). Per-worker-CPU ratio = Ray photos/s per worker over
   local photos/s on one core (1.0 = no overhead). On this 2-core machine the nodes, the driver and
   the raylets share the cores.
4. Commit ceiling: the driver alone — scan, classify, plan, write each batch in one transaction
   (photos, three vectors, classifier tags, full-text), sweep, FAISS refresh — fed precomputed
   results for `--commit-photos` photos. It bounds the cluster: workers x per-worker rate above it
   only queue at the driver.

Photos: the first N of ../shared/data/coco-captions/images (linked from a temporary folder).
If a cluster fails to start with "InvalidAuthToken", a local `--ray` run left ~/.ray/auth_token
behind: remove it.
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
TICKS = os.sysconf("SC_CLK_TCK")


def photo_folder(root: Path, count: int, name: str = "photos") -> Path:
    folder = root / name
    folder.mkdir()
    photos = sorted(COCO.glob("*.jpg"))[:count]
    if len(photos) < count:
        sys.exit(f"needs {count} photos in {COCO}")
    for p in photos:
        os.symlink(p, folder / p.name)
    return folder


# -- CPU seconds of other processes, from /proc ------------------------------------------------------
def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one live process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def tree_cpu(root_pid: int) -> float:
    """CPU seconds of a process and all its live descendants (a Ray node: `ray start`, raylet, workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        total += process_cpu(pid)
        todo.extend(children.get(pid, []))
    return total


# -- one ingest ------------------------------------------------------------------------------------
class _KeepActors:
    """Library.index shuts its executor down after the run; the bench keeps the actors for the warm run."""

    def __init__(self, executor) -> None:
        self.executor = executor

    def __getattr__(self, name):
        return getattr(self.executor, name)

    def shutdown(self) -> None:
        pass


def ingest_once(folder: Path, *, annotate: bool, ray=None) -> dict:
    """`Library.index` of `folder` into a fresh library; photos/s, wall and this process's CPU seconds."""
    from photoseek import Library

    with tempfile.TemporaryDirectory(prefix="photoseek-bench-lib-") as library:
        with Library(library, llm=None) as lib:
            cpu, started = time.process_time(), time.perf_counter()
            report = lib.index([folder], annotate=annotate, ray=ray)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report.added > 0 and report.failed == 0, report.to_dict()
    catch_up = {k: v for k, v in report.annotated.items() if v}
    return {"rate": report.added / seconds, "seconds": seconds, "driver_cpu": cpu, "photos": report.added,
            "catch_up": catch_up, "stages": report.stages}  # fmt: skip


def local_rates(folder: Path, annotate: bool, warmup: Path) -> dict:
    ingest_once(warmup, annotate=annotate)
    return ingest_once(folder, annotate=annotate)


def ray_rates(embedder_spec: str, folder: Path, workers: int, batch_size: int, annotate: bool) -> dict:
    import ray

    from photoseek.ingest.ray_executor import RayExecutor
    from tests.ray_support import LocalRayCluster

    with LocalRayCluster(workers=workers, cpus=1, head_cpus=0, timeout_s=180) as cluster:
        executor = RayExecutor(embedder_spec, cluster.address, batch_size=batch_size)
        kept = _KeepActors(executor)
        try:
            cold = ingest_once(folder, annotate=annotate, ray=kept)  # actors start + load models inside
            actors = {pid: node for node, pid in executor.placement.values()}
            worker_nodes = cluster.nodes[1:]
            before = {pid: process_cpu(pid) for pid in actors}
            nodes_before = [tree_cpu(n.pid) for n in worker_nodes]
            batches_before = dict(executor.batches_by_node)
            warm = ingest_once(folder, annotate=annotate, ray=kept)
            actor_cpu = {pid: process_cpu(pid) - before[pid] for pid in actors}
            node_cpu = [tree_cpu(n.pid) - b for n, b in zip(worker_nodes, nodes_before)]
            batches = {node: executor.batches_by_node[node] - batches_before.get(node, 0)
                       for node in executor.batches_by_node}  # fmt: skip
            nodes_used = sum(1 for b in batches.values() if b)
        finally:
            executor.shutdown()
            ray.shutdown()
    return {"workers": workers, "cold": cold, "warm": warm, "actor_cpu": sorted(actor_cpu.values()),
            "node_cpu": node_cpu, "nodes_used": nodes_used, "batches": sorted(batches.values())}  # fmt: skip


# -- the driver alone ------------------------------------------------------------------------------
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


def commit_ceiling(embedder, sample: Path, count: int, batch_size: int, annotate: bool) -> dict:
    """annotate: each result carries the pixel annotators' results too (one real photo's), as a
    worker of the whole default ingest sends them."""
    from photoseek.ingest.indexer import BatchJob, Indexer, _Task, compute_batch
    from photoseek.ingest.pipeline import PIXEL_ANNOTATORS
    from photoseek.ingest.scan import FoundFile
    from photoseek.store.annotations import label_sink
    from photoseek.store.catalog import Catalog

    st = sample.stat()
    with tempfile.TemporaryDirectory(prefix="photoseek-bench-commit-") as root:
        (template,) = compute_batch(
            [_Task(FoundFile(os.fsencode(sample), st.st_size, st.st_mtime_ns), None)], embedder,
            BatchJob(root, embedder.preferred_size, annotators=PIXEL_ANNOTATORS if annotate else ()), keep_images=False,
        )  # fmt: skip
        files = Path(root) / "files"
        files.mkdir()
        for i in range(count):  # the scan only stats them; _Replay supplies their "content"
            (files / f"{i:07d}.jpg").touch()
        catalog = Catalog(Path(root) / "lib")
        replay = _Replay(template, batch_size)
        indexer = Indexer(catalog, embedder, Path(root) / "lib", batch_size=batch_size, label_sink=label_sink,
                          executor=replay, annotators=PIXEL_ANNOTATORS if annotate else ())  # fmt: skip
        started = time.perf_counter()
        report = indexer.run([files])
        total = time.perf_counter() - started
        catalog.close()
    assert report.added == count, report.to_dict()
    return {"photos": count, "total_s": total, "commit_s": replay.commit_seconds,
            "rate_total": count / total, "rate_commit": count / replay.commit_seconds}  # fmt: skip


def _one_cpu(args) -> None:
    """(internal) this process held to one core: the local rate a 1-CPU worker node is compared with."""
    with tempfile.TemporaryDirectory(prefix="photoseek-bench-ray-") as root:
        folder = photo_folder(Path(root), args.photos)
        warmup = photo_folder(Path(root), 8, "warmup")  # loads every model of the process once
        r = local_rates(folder, not args.stage1, warmup)
        print(r["rate"], r["driver_cpu"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--commit-photos", type=int, default=4000)
    parser.add_argument("--embedder", default="conse")
    parser.add_argument("--stage1", action="store_true", help="stage 1 only: no pixel annotators (index --no-annotate)")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--one-cpu", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_cpu:
        return _one_cpu(args)

    what = "stage 1" if args.stage1 else "whole default ingest"
    cores = os.cpu_count() or 1
    print(f"{what}, {args.photos} COCO photos, batches of {args.batch_size}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="photoseek-bench-ray-") as root:
        folder = photo_folder(Path(root), args.photos)
        warmup = photo_folder(Path(root), 8, "warmup")  # loads every model of the process once
        local = local_rates(folder, not args.stage1, warmup)
        print(f"local, {cores} cores:  {local['rate']:6.2f} photos/s  ({local['seconds']:.1f} s; "
              f"{local['driver_cpu']:.1f} CPU s in the process)")  # fmt: skip
        # the like-for-like baseline for a 1-CPU worker node: this ingest held to one core, in its own
        # process (inference threads are fixed when the models load)
        cpu0 = min(os.sched_getaffinity(0))
        one = subprocess.run(
            ["taskset", "-c", str(cpu0), sys.executable, __file__, "--one-cpu", "--photos", str(args.photos),
             "--batch-size", str(args.batch_size), *(["--stage1"] if args.stage1 else [])],
            env=dict(os.environ, PHOTOSEEK_THREADS="1"), capture_output=True, text=True, check=True,
        )  # fmt: skip
        local_one, local_one_cpu = map(float, one.stdout.strip().splitlines()[-1].split())
        print(f"local, 1 core:    {local_one:6.2f} photos/s  (pinned to CPU {cpu0}, 1 inference thread; "
              f"{local_one_cpu:.1f} CPU s)")  # fmt: skip
        print(f"  catch-up pass after a local run: {local['catch_up'] or 'nothing to do'}")
        if not args.skip_ray:
            for workers in (1, 2):
                r = ray_rates(args.embedder, folder, workers, args.batch_size, not args.stage1)
                warm, cold = r["warm"], r["cold"]
                per_cpu = warm["rate"] / workers
                print(f"ray, {workers} worker node(s): {warm['rate']:6.2f} photos/s warm ({warm['seconds']:.1f} s), "
                      f"{cold['rate']:.2f} cold ({cold['seconds']:.1f} s incl. actor start and model loads); "
                      f"nodes used {r['nodes_used']}, batches per node {r['batches']}")  # fmt: skip
                print(f"  per worker CPU {per_cpu:.2f} photos/s = {per_cpu / local_one:.2f}x local on 1 core; "
                      f"{warm['rate'] / local['rate']:.2f}x local on {cores} cores")  # fmt: skip
                print(f"  CPU seconds in the warm run: actors {', '.join(f'{c:.1f}' for c in r['actor_cpu'])}; "
                      f"worker nodes (raylet included) {', '.join(f'{c:.1f}' for c in r['node_cpu'])}; "
                      f"driver {warm['driver_cpu']:.1f} "
                      f"({warm['driver_cpu'] / warm['photos'] * 1000:.0f} ms a photo)")  # fmt: skip
                print(f"  catch-up pass on the driver after the run: {warm['catch_up'] or 'nothing to do'}")
        from photoseek.vision import get_embedder

        embedder = get_embedder(args.embedder)
        ceiling = commit_ceiling(embedder, sorted(COCO.glob("*.jpg"))[0], args.commit_photos, 32, not args.stage1)
        print(f"driver ceiling: {ceiling['rate_commit']:6.0f} photos/s committing "
              f"({ceiling['commit_s']:.1f} s for {ceiling['photos']}), {ceiling['rate_total']:.0f} photos/s "
              f"for the whole run with scan, sweep and FAISS refresh ({ceiling['total_s']:.1f} s)")  # fmt: skip
        print(f"=> the driver saturates at about {ceiling['rate_total'] / local_one:.0f} worker CPUs "
              f"at this machine's 1-core rate ({local_one:.2f} photos/s)")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
