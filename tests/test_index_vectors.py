"""VectorStore: exact and approximate search, filtered search, and the FAISS cache life cycle.

Vectors here are synthetic (clustered, normalised) and written straight into the catalog's
embeddings table, which is the store's source of truth; no embedder is involved.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from photoseek.errors import PhotoseekError
from photoseek.store.catalog import Catalog, utc_now
from photoseek.store.vectors import ModelMismatchError, VectorStore

MODEL = "synthetic:v1"


def clustered_vectors(n: int, dim: int, seed: int = 0, clusters: int = 50) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def fill(catalog: Catalog, vectors: np.ndarray, start_id: int = 1, model: str = MODEL) -> list[int]:
    """Photo rows + joint embeddings, committed together, generation bumped (as the indexer does)."""
    ids = list(range(start_id, start_id + len(vectors)))
    with catalog.transaction() as conn:
        conn.executemany(
            "INSERT INTO photos(id, path, display_path, size, mtime_ns, content_hash, indexed_at) VALUES (?,?,?,?,?,?,?)",
            [(i, f"/p/{i}.jpg".encode(), f"/p/{i}.jpg", 1, 1, f"h{i}", utc_now()) for i in ids],
        )
        conn.executemany(
            "INSERT INTO embeddings(photo_id, space, model_id, vector) VALUES (?, 'joint', ?, ?)",
            [(i, model, v.tobytes()) for i, v in zip(ids, vectors)],
        )
        catalog.set_meta("embedder_id", model)
        catalog.set_meta("joint_dim", str(vectors.shape[1]))
        catalog.bump_vectors_generation()
    return ids


def delete(catalog: Catalog, ids) -> None:
    with catalog.transaction() as conn:
        conn.executemany("DELETE FROM photos WHERE id=?", [(int(i),) for i in ids])
        catalog.bump_vectors_generation()


def brute_force(vectors, ids, query, k):
    scores = vectors @ query
    order = np.argsort(-scores)[:k]
    return np.asarray(ids)[order]


@pytest.fixture
def catalog(tmp_path):
    c = Catalog(tmp_path / "library")
    yield c
    c.close()


def cache_files(catalog) -> list[str]:
    folder = catalog.library_dir / "vectors"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_exact_search_matches_brute_force_and_writes_a_stamped_cache(catalog):
    vectors = clustered_vectors(500, 32)
    ids = fill(catalog, vectors)
    store = VectorStore(catalog)
    queries = clustered_vectors(5, 32, seed=9)
    results = store.search("joint", queries, 10)
    assert len(results) == 5
    for query, (got, scores) in zip(queries, results):
        assert got.tolist() == brute_force(vectors, ids, query, 10).tolist()
        assert np.all(np.diff(scores) <= 1e-6)
    assert not store._index("joint").approximate
    assert cache_files(catalog) == [f"joint.g{catalog.vectors_generation}.{cache_files(catalog)[0].split('.')[2]}.faiss"]
    # a single (d,) query works too
    assert store.search("joint", queries[0], 3)[0][0].tolist() == results[0][0][:3].tolist()


def test_approximate_index_above_threshold_has_high_recall(catalog):
    vectors = clustered_vectors(6000, 48)
    ids = fill(catalog, vectors)
    store = VectorStore(catalog, approximate_threshold=2000)
    assert store._index("joint").approximate
    queries = clustered_vectors(50, 48, seed=3)
    recall = np.mean(
        [
            len(set(got.tolist()) & set(brute_force(vectors, ids, q, 10).tolist())) / 10
            for q, (got, _) in zip(queries, store.search("joint", queries, 10))
        ]
    )
    assert recall >= 0.95
    assert VectorStore(catalog, approximate_threshold=10_000)._index("joint").approximate  # the file decides
    assert store.count("joint") == 6000


@pytest.mark.parametrize("threshold", [100_000, 1000])  # exact index, then IVF
def test_allowed_ids_restrict_results(catalog, threshold):
    vectors = clustered_vectors(3000, 24)
    ids = fill(catalog, vectors)
    store = VectorStore(catalog, approximate_threshold=threshold)
    query = vectors[17]
    small = set(ids[100:130])
    got, _ = store.search("joint", query, 10, allowed_ids=small)[0]
    expected = brute_force(vectors[100:130], ids[100:130], query, 10)
    assert got.tolist() == expected.tolist()  # small subsets are scored exactly
    large = set(ids[::2])
    got, _ = store.search("joint", query, 10, allowed_ids=large)[0]
    assert set(got.tolist()) <= large and len(got) == 10
    assert store.search("joint", query, 10, allowed_ids=set())[0][0].size == 0
    assert store.search("joint", query, 10, allowed_ids={999_999})[0][0].size == 0


def test_get_returns_vectors_in_order_and_refuses_unknown_ids(catalog):
    vectors = clustered_vectors(50, 16)
    fill(catalog, vectors)
    store = VectorStore(catalog)
    np.testing.assert_allclose(store.get("joint", [5, 2]), vectors[[4, 1]], rtol=1e-6)
    with pytest.raises(PhotoseekError, match="have no joint vector"):
        store.get("joint", [5, 999])


def test_stale_and_corrupt_caches_are_rebuilt(catalog):
    vectors = clustered_vectors(300, 16)
    ids = fill(catalog, vectors)
    VectorStore(catalog).count("joint")
    (name,) = cache_files(catalog)
    # corrupt: garbage in the file for the current generation
    (catalog.library_dir / "vectors" / name).write_bytes(b"not a faiss index")
    store = VectorStore(catalog)
    assert store.count("joint") == 300
    assert store.search("joint", vectors[3], 1)[0][0].tolist() == [ids[3]]
    # stale: the catalog moved on (photos deleted); a long-lived store notices on its next search
    delete(catalog, ids[:100])
    assert store.count("joint") == 200
    assert ids[3] not in store.search("joint", vectors[3], 5)[0][0].tolist()
    assert cache_files(catalog) == [f"joint.g{catalog.vectors_generation}.{name.split('.')[2]}.faiss"]


def test_reader_that_cannot_write_rebuilds_in_memory(catalog):
    vectors = clustered_vectors(100, 16)
    ids = fill(catalog, vectors)
    # a file where the cache folder should be: the write fails whoever we run as (root included)
    (catalog.library_dir / "vectors").write_bytes(b"")
    store = VectorStore(catalog)
    assert store.search("joint", vectors[7], 1)[0][0].tolist() == [ids[7]]


@pytest.mark.parametrize("threshold", [100_000, 500])
def test_delta_refresh_equals_full_rebuild(catalog, threshold, monkeypatch):
    vectors = clustered_vectors(2000, 16)
    ids = fill(catalog, vectors[:1500])
    store = VectorStore(catalog, approximate_threshold=threshold)
    store.refresh()
    since = catalog.vectors_generation
    new_ids = fill(catalog, vectors[1500:], start_id=1501)
    delete(catalog, ids[:40])
    with catalog.transaction() as conn:  # re-embed photo 50 (as an updated photo would be)
        conn.execute("UPDATE embeddings SET vector=? WHERE photo_id=50", (vectors[1999].tobytes(),))
        catalog.bump_vectors_generation()
    builds = []
    real_build = VectorStore._build
    monkeypatch.setattr(VectorStore, "_build", lambda self, *a: builds.append(a) or real_build(self, *a))
    store.refresh(since_generation=since, changed_ids=new_ids + [50], removed_ids=ids[:40])
    assert builds == []  # the previous cache was updated, not rebuilt
    monkeypatch.undo()
    delta = VectorStore(catalog, approximate_threshold=threshold)
    loaded = delta._index("joint")
    assert loaded.index.ntotal == 1960 and loaded.ids.tolist() == sorted(ids[40:] + new_ids)
    np.testing.assert_allclose(delta.get("joint", [50]), vectors[[1999]], rtol=1e-6)
    # the same answers as an index built from scratch
    fresh = VectorStore(catalog, approximate_threshold=threshold)
    fresh._loaded["joint"] = fresh._build("joint", catalog.vectors_generation, MODEL)
    queries = clustered_vectors(20, 16, seed=5)
    for (a, _), (b, _) in zip(delta.search("joint", queries, 10), fresh.search("joint", queries, 10)):
        assert len(set(a.tolist()) & set(b.tolist())) >= 9


def test_model_mismatch_is_refused_and_other_models_vectors_are_ignored(catalog):
    vectors = clustered_vectors(20, 16)
    fill(catalog, vectors)
    with catalog.transaction() as conn:  # a leftover vector of another model must not be searched
        conn.execute("UPDATE embeddings SET model_id='old:v0' WHERE photo_id=3")
        catalog.bump_vectors_generation()
    store = VectorStore(catalog)
    assert store.count("joint") == 19
    assert 3 not in store.search("joint", vectors[2], 5)[0][0].tolist()
    store.check_model(MODEL)
    with pytest.raises(ModelMismatchError, match="synthetic:v1"):
        store.check_model("clip:other")
    with pytest.raises(PhotoseekError, match="8-d query"):
        store.search("joint", np.ones(8, np.float32), 3)


def test_empty_library_searches_return_nothing(catalog):
    store = VectorStore(catalog)
    assert store.count("joint") == 0
    assert store.search("joint", np.ones(4, np.float32), 5)[0][0].size == 0
    store.check_model("anything")  # nothing indexed yet: no model to disagree with
    assert not os.path.exists(catalog.library_dir / "vectors")


def test_search_during_an_index_run_catches_up_without_rebuilding(catalog, monkeypatch):
    from photoseek.store.lock import IndexLock

    vectors = clustered_vectors(400, 16)
    fill(catalog, vectors[:300])
    VectorStore(catalog).count("joint")  # the cache an index run starts from
    with IndexLock(catalog.library_dir):  # an index run is under way (this process holds the lock)
        fill(catalog, vectors[300:350], start_id=301)  # two committed batches
        fill(catalog, vectors[350:], start_id=351)
        builds = []
        real_build = VectorStore._build
        monkeypatch.setattr(VectorStore, "_build", lambda self, *a: builds.append(a) or real_build(self, *a))
        store = VectorStore(catalog)
        assert store.search("joint", vectors[377], 1)[0][0].tolist() == [378]
        assert store.count("joint") == 400 and builds == []
    # with no index running, a stale cache is never patched: the store rebuilds from the catalog
    delete(catalog, [1, 2, 3])
    assert VectorStore(catalog).count("joint") == 397 and len(builds) == 1


def test_large_cache_is_memory_mapped_and_never_written_through(catalog):
    vectors = clustered_vectors(3000, 16)
    ids = fill(catalog, vectors[:2500])
    VectorStore(catalog, approximate_threshold=1000).count("joint")  # writes the IVF cache
    reader = VectorStore(catalog, approximate_threshold=1000)
    loaded = reader._index("joint")
    assert loaded.approximate and loaded.read_only  # mapped, not read
    assert reader.search("joint", vectors[10], 1)[0][0].tolist() == [ids[10]]
    np.testing.assert_allclose(reader.get("joint", [ids[10]]), vectors[[10]], rtol=1e-6)
    # an index run adds photos: the catch-up must copy the mapped index before adding to it
    # (faiss would abort the process on a write to mapped lists)
    from photoseek.store.lock import IndexLock

    with IndexLock(catalog.library_dir):
        fill(catalog, vectors[2500:], start_id=2501)
        assert reader.search("joint", vectors[2900], 1)[0][0].tolist() == [2901]
        assert not reader._index("joint").read_only


def test_exact_matrix_is_the_index_in_its_order_and_none_when_approximate(catalog, tmp_path):
    vectors = clustered_vectors(300, 16)
    ids = fill(catalog, vectors)
    got_ids, got = VectorStore(catalog).exact_matrix("joint")  # the store is gone: the view keeps the index
    import gc

    gc.collect()
    assert got_ids.tolist() == ids
    np.testing.assert_allclose(got, vectors, atol=1e-7)
    assert not got.flags.writeable  # a view of FAISS's memory: never written through
    other = Catalog(tmp_path / "ivf")
    fill(other, vectors)
    assert VectorStore(other, approximate_threshold=100).exact_matrix("joint") is None
    other.close()


def test_centred_text_scores_are_the_same_whole_or_from_faiss_candidates(catalog):
    """The joint text signal scores an exact index whole; a filtered search re-scores FAISS's best
    raw cosines. Over the same photos both give (v·q − c·m·q) / ‖v − c·m‖ computed directly."""
    from photoseek.search.engine import JOINT_CENTRING, SearchEngine

    vectors = clustered_vectors(400, 16, seed=3)
    ids = fill(catalog, vectors)
    store = VectorStore(catalog)
    engine = SearchEngine(catalog, store)
    query = clustered_vectors(1, 16, seed=4)[0] * 0.7  # not unit length, as a Rocchio query is not
    whole = engine._joint_text_signal(query, 50, None)
    candidates = engine._joint_text_signal(query, 50, set(ids))
    mean = engine._library_mean("joint")
    centred = vectors - JOINT_CENTRING * mean
    direct = (centred @ query) / np.linalg.norm(centred, axis=1)
    expected = [ids[i] for i in np.argsort(-direct)[:50]]
    assert list(whole.scores) == expected
    assert list(candidates.scores) == expected
    for pid in expected:
        assert whole.scores[pid] == pytest.approx(direct[pid - 1], abs=1e-5)
        assert candidates.scores[pid] == pytest.approx(direct[pid - 1], abs=1e-5)


def test_per_thread_connections_read_in_parallel_and_all_close(tmp_path):
    import sqlite3
    import threading

    catalog = Catalog(tmp_path / "library")
    fill(catalog, clustered_vectors(20, 8))
    shared = catalog.conn
    catalog.per_thread_connections()
    assert catalog.conn is shared  # the calling thread keeps its connection (and any transaction)
    seen = {}

    def read(name):
        seen[name] = (catalog.conn, catalog.conn.execute("SELECT count(*) FROM photos").fetchone()[0])

    threads = [threading.Thread(target=read, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["a"][1] == seen["b"][1] == 20
    assert len({id(shared), id(seen["a"][0]), id(seen["b"][0])}) == 3
    with catalog.transaction():  # writes still work, on this thread's connection
        catalog.set_meta("probe", "1")
    assert seen["a"][0].execute("SELECT value FROM meta WHERE key='probe'").fetchone()[0] == "1"
    catalog.close()
    for conn in (shared, seen["a"][0], seen["b"][0]):
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")


def test_a_snapshot_reads_meta_once_and_sees_one_committed_state(tmp_path):
    """Catalog.snapshot (what every engine search runs in on a server): the meta table is read once,
    a commit by another connection meanwhile is not seen until the snapshot ends, and the snapshot is
    a no-op on the CLI's shared connection."""
    import threading

    catalog = Catalog(tmp_path / "library")
    fill(catalog, clustered_vectors(5, 4))
    with catalog.transaction():
        catalog.set_meta("probe", "1")
    with catalog.snapshot():  # shared connection: nothing held, reads go to the table
        assert not catalog.conn.in_transaction
    catalog.per_thread_connections()
    writer = Catalog(tmp_path / "library")  # another process's catalog, as an index run would be
    statements = []
    catalog.conn.set_trace_callback(statements.append)
    with catalog.snapshot():
        assert catalog.conn.in_transaction
        assert catalog.get_meta("probe") == "1" and catalog.vectors_generation == int(catalog.get_meta("vectors_generation", "0"))
        meta_reads = [s for s in statements if "FROM meta" in s]
        with writer.transaction():
            writer.set_meta("probe", "2")
            writer.conn.execute("DELETE FROM photos WHERE id=1")
        assert catalog.get_meta("probe") == "1"  # the snapshot's value
        assert catalog.conn.execute("SELECT count(*) FROM photos").fetchone()[0] == 5  # and its rows
        assert [s for s in statements if "FROM meta" in s] == meta_reads  # no second read of meta
        seen_elsewhere = []
        worker = threading.Thread(target=lambda: seen_elsewhere.append(catalog.get_meta("probe")))
        worker.start()
        worker.join()
        assert seen_elsewhere == ["2"]  # other threads are not in this snapshot
    catalog.conn.set_trace_callback(None)
    assert not catalog.conn.in_transaction
    assert catalog.get_meta("probe") == "2" and catalog.conn.execute("SELECT count(*) FROM photos").fetchone()[0] == 4
    writer.close()
    catalog.close()
