"""Sharded search, simulated on one machine: N FAISS shards in N processes, fan-out + top-k merge,
against one index over the same vectors; plus the per-index figures docs/scale.md extrapolates.

    PYTHONPATH=. .venv/bin/python bench/shard_search.py                  # 200k vectors, 1/2/4 shards
    PYTHONPATH=. .venv/bin/python bench/shard_search.py --n 100000 --shards 1 2

Vectors and queries are bench/search.py's (ConSE-shaped mixtures of the real MiniLM label vectors,
dim 384; queries are MiniLM embeddings of COCO captions). Ground truth is exact inner-product
search (IndexFlatIP) over all n vectors.

1. Scaling of one index (what one process serves): p50 of a single k=10 query, exact and IVF-Flat
   as photoseek's VectorStore builds it (build_ivf_index: nlist ~ sqrt(n), nprobe=IVF_NPROBE), at
   n/4, n/2 and n; bytes per vector of each index kind (serialised size / n), IVF-PQ and IVF-SQ8
   recall@10 beside them.
2. Sharding: the n vectors split round-robin into N shards, each an IVF-Flat (nlist ~ sqrt(n/N),
   same nprobe) in its own process (multiprocessing, 1 FAISS thread each); the parent sends each
   query to every shard, gathers the N top-10 lists and merges them by score. Prints p50/p95 of
   the whole fan-out + merge and recall@10 of the merged list against exact search over all n.
   On this 2-core machine N processes share 2 cores (and the machine is shared), so latencies with
   N > 2 are pessimistic: on a cluster each shard has its own cores.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import numpy as np  # noqa: E402

from search import conse_like, label_vectors, queries, recall  # noqa: E402  (bench/search.py)

K = 10


def _p(times: list[float], q: float) -> float:
    return float(np.percentile(times, q) * 1000)


def timed_search(index, qs: np.ndarray, k: int = K) -> tuple[list[float], list[np.ndarray]]:
    index.search(qs[:1], k)  # warm
    times, results = [], []
    for q in qs:
        started = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        times.append(time.perf_counter() - started)
        results.append(ids[0])
    return times, results


def serialized_bytes(index) -> int:
    import faiss

    return int(faiss.serialize_index(index).size)


def one_index(vectors: np.ndarray, qs: np.ndarray, exact_ids: list[np.ndarray]) -> None:
    import faiss

    from photoseek.store.vectors import IVF_NPROBE, build_ivf_index

    n, dim = vectors.shape
    print(f"\n1. One index, one process, one thread (dim {dim}, k={K}, {len(qs)} queries)")
    print(f"   {'n':>9}  {'exact p50':>10}  {'IVF p50':>9}  {'IVF recall@10':>13}  {'nlist':>6}")
    for m in (n // 8, n // 4, n // 2, n):
        part = vectors[:m]
        ids = np.arange(m, dtype=np.int64)
        flat = faiss.IndexFlatIP(dim)
        flat.add(part)
        ft, fr = timed_search(flat, qs)
        ivf = build_ivf_index(part, ids)
        ivf.nprobe = IVF_NPROBE
        it, ir = timed_search(ivf, qs)
        print(f"   {m:>9,}  {_p(ft, 50):8.2f}ms  {_p(it, 50):7.2f}ms  {recall(ir, fr):13.3f}  "
              f"{faiss.extract_index_ivf(ivf).nlist:>6}")  # fmt: skip


def index_kinds(vectors: np.ndarray, qs: np.ndarray, exact_ids: list[np.ndarray]) -> None:
    import faiss

    from photoseek.store.vectors import IVF_NPROBE, build_ivf_index

    n, dim = vectors.shape
    # memory per vector by index kind, at n (serialised size; the in-memory size is the same to a few %)
    flat_ids = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    flat_ids.add_with_ids(vectors, np.arange(n, dtype=np.int64))
    ivf = build_ivf_index(vectors, np.arange(n, dtype=np.int64))
    nlist = faiss.extract_index_ivf(ivf).nlist
    rows = [("Flat (IDMap2)", flat_ids, None), (f"IVF{nlist},Flat (store's)", ivf, None)]
    for spec in (f"IVF{nlist},SQ8", f"IVF{nlist},PQ48"):
        index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
        ivf_part = faiss.extract_index_ivf(index)
        ivf_part.cp.niter = 12  # as build_ivf_index
        if "PQ" in spec:
            faiss.downcast_index(ivf_part).pq.cp.niter = 10  # PQ k-means converges early; keeps the bench short on 2 cores
        rng = np.random.default_rng(0)
        index.train(vectors[rng.choice(n, size=min(n, 32 * nlist), replace=False)])
        index.add(vectors)
        ivf_part.nprobe = IVF_NPROBE
        rows.append((spec, index, None))
    print(f"\n   at n={n:,}: bytes per vector (serialised / n) and recall@10 vs exact, nprobe={IVF_NPROBE}")
    for name, index, _ in rows:
        times, results = timed_search(index, qs)
        print(f"   {name:<24} {serialized_bytes(index) / n:8.1f} B/vector  p50 {_p(times, 50):6.2f} ms  "
              f"recall@10 {recall(results, exact_ids):.3f}")  # fmt: skip


def _shard_server(conn, vectors: np.ndarray, ids: np.ndarray, nprobe: int) -> None:
    """One shard: its own IVF-Flat, answers (query batch) -> (scores, ids) over a pipe."""
    import faiss

    from photoseek.store.vectors import build_ivf_index

    faiss.omp_set_num_threads(1)
    index = build_ivf_index(vectors, ids)
    index.nprobe = nprobe
    conn.send(("ready", faiss.extract_index_ivf(index).nlist))
    while True:
        query = conn.recv()
        if query is None:
            break
        scores, found = index.search(query, K)
        conn.send((scores, found))
    conn.close()


def merge_top_k(parts: list[tuple[np.ndarray, np.ndarray]], k: int = K) -> np.ndarray:
    """The k best ids over every shard's (scores, ids), by score (inner product: higher first)."""
    scores = np.concatenate([s[0] for s, _ in parts])
    ids = np.concatenate([i[0] for _, i in parts])
    keep = ids >= 0
    scores, ids = scores[keep], ids[keep]
    best = np.argsort(-scores, kind="stable")[:k]
    return ids[best]


def sharded(vectors: np.ndarray, qs: np.ndarray, exact_ids: list[np.ndarray], shard_counts: list[int]) -> None:
    from photoseek.store.vectors import IVF_NPROBE

    n = len(vectors)
    print(f"\n2. Sharded: N processes, each an IVF-Flat over n/N vectors (round-robin), nprobe={IVF_NPROBE}; "
          f"fan-out + top-{K} merge in the parent")  # fmt: skip
    print(f"   {'N':>3}  {'per shard':>9}  {'nlist':>5}  {'p50':>8}  {'p95':>8}  {'recall@10 vs exact':>18}  "
          f"{'build':>6}")  # fmt: skip
    context = mp.get_context("spawn")  # a clean process per shard, as on separate machines
    for count in shard_counts:
        started = time.perf_counter()
        pipes, procs = [], []
        for s in range(count):
            parent, child = context.Pipe()
            shard_ids = np.arange(s, n, count, dtype=np.int64)
            proc = context.Process(target=_shard_server, args=(child, vectors[shard_ids], shard_ids, IVF_NPROBE))
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        nlists = [pipe.recv()[1] for pipe in pipes]
        build = time.perf_counter() - started
        try:
            for pipe in pipes:  # warm
                pipe.send(qs[:1])
            for pipe in pipes:
                pipe.recv()
            times, merged = [], []
            for q in qs:
                started = time.perf_counter()
                for pipe in pipes:
                    pipe.send(q[None, :])
                parts = [pipe.recv() for pipe in pipes]
                merged.append(merge_top_k(parts))
                times.append(time.perf_counter() - started)
        finally:
            for pipe in pipes:
                pipe.send(None)
            for proc in procs:
                proc.join(timeout=30)
        print(f"   {count:>3}  {n // count:>9,}  {nlists[0]:>5}  {_p(times, 50):6.2f}ms  {_p(times, 95):6.2f}ms  "
              f"{recall(merged, exact_ids):>18.3f}  {build:5.1f}s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--parts", default="scaling,kinds,shards", help="comma-separated subset")
    args = parser.parse_args()

    import faiss

    rng = np.random.default_rng(0)
    labels, source = label_vectors(rng)
    vectors, _ = conse_like(args.n, labels, rng)
    qs, texts = queries(args.queries, labels, rng)
    qs = np.ascontiguousarray(qs, dtype=np.float32)
    print(f"{args.n:,} vectors ({source}), {len(qs)} queries ({'COCO captions' if texts else 'synthetic'})")
    faiss.omp_set_num_threads(1)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    _, exact = flat.search(qs, K)
    exact_ids = list(exact)
    del flat
    parts = set(args.parts.split(","))
    if "scaling" in parts:
        one_index(vectors, qs, exact_ids)
    if "kinds" in parts:
        index_kinds(vectors, qs, exact_ids)
    if "shards" in parts:
        sharded(vectors, qs, exact_ids, args.shards)


if __name__ == "__main__":
    main()
