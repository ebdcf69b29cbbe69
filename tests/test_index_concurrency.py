"""One indexer per library, searching while it runs, and surviving kill -9 in the middle of a run.

The indexing runs in real subprocesses with the real "conse" embedder on ../shared/data photos.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from photoseek.errors import LibraryBusyError
from photoseek.store.catalog import Catalog
from photoseek.ingest.decode import thumbnail_path
from photoseek.ingest.indexer import Indexer
from photoseek.store.lock import IndexLock
from photoseek.store.vectors import VectorStore
from tests.index_support import TinyEmbedder, coco_files, copy_photos, make_photo

REPO_ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import json, sys
from photoseek.store.catalog import Catalog
from photoseek.ingest.indexer import Indexer
from photoseek.vision import get_embedder
library, photos, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
catalog = Catalog(library)
report = Indexer(catalog, get_embedder("conse"), library, batch_size=batch, workers=2).run([photos])
print(json.dumps(report.to_dict()))
"""


def _start_indexing(library: Path, photos: Path, batch: int) -> subprocess.Popen:
    env = dict(os.environ, PHOTOSEEK_THREADS="1")  # one inference thread: a run long enough to catch
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(library), str(photos), str(batch)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _committed_photos(library: Path) -> int:
    path = library / "catalog.sqlite3"
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM photos").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # created but not migrated yet
        return 0


def _wait_for_photos(process: subprocess.Popen, library: Path, at_least: int, timeout: float = 180) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = _committed_photos(library)
        if count >= at_least:
            return count
        if process.poll() is not None:
            pytest.fail(f"the indexing process ended before {at_least} photos were committed: {process.stderr.read()}")
        time.sleep(0.01)
    process.kill()
    pytest.fail(f"no {at_least} photos committed within {timeout} s")


@pytest.fixture
def many_photos(tmp_path):
    return copy_photos(coco_files(96), tmp_path / "photos", per_folder=32)


def test_second_index_is_refused_and_search_works_meanwhile(tmp_path, many_photos):
    library = tmp_path / "library"
    process = _start_indexing(library, tmp_path / "photos", batch=8)
    try:
        committed = _wait_for_photos(process, library, at_least=8)
        catalog = Catalog(library)
        with pytest.raises(LibraryBusyError) as refused:
            Indexer(catalog, TinyEmbedder("conse-stand-in"), library).run([tmp_path / "photos"])
        assert f"pid {process.pid}" in str(refused.value)
        assert "being indexed by another photoseek process" in str(refused.value)
        assert catalog.get_meta("embedder_id", "").startswith("conse:")  # the refused run changed nothing

        # a search while the index runs: no lock, sees what is committed
        from photoseek.vision import get_embedder

        conse = get_embedder("conse")
        store = VectorStore(catalog, library)
        store.check_model(conse.id)
        ids, scores = store.search("joint", conse.embed_texts(["a zebra"])[0], 5)[0]
        assert len(ids) == 5 and store.count("joint") >= committed
        assert process.poll() is None, "the run finished before the checks: they proved nothing"
        catalog.close()
    finally:
        out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["added"] == 96


def test_kill_9_mid_run_loses_at_most_a_batch_and_the_next_run_finishes(tmp_path, many_photos):
    library = tmp_path / "library"
    process = _start_indexing(library, tmp_path / "photos", batch=8)
    _wait_for_photos(process, library, at_least=16)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    catalog = Catalog(library)  # opens (and recovers the WAL) after the crash
    assert catalog.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    committed = catalog.photo_count()
    assert 16 <= committed < 96, "killed after the run had finished: nothing was tested"
    assert committed % 8 == 0  # whole batches only
    for space in ("joint", "visual"):
        with_vectors = catalog.conn.execute(
            "SELECT count(*) FROM photos p JOIN embeddings e ON e.photo_id=p.id AND e.space=?", (space,)
        ).fetchone()[0]
        assert with_vectors == committed
    for row in catalog.conn.execute("SELECT content_hash FROM photos"):
        assert thumbnail_path(library, row[0]).exists()

    from photoseek.vision import get_embedder

    report = Indexer(catalog, get_embedder("conse"), library).run([tmp_path / "photos"])
    assert (report.added, report.unchanged, report.failed, report.removed) == (96 - committed, committed, 0, 0)
    assert catalog.photo_count() == 96
    assert VectorStore(catalog, library).count("joint") == 96
    catalog.close()


def test_lock_is_reentrant_in_one_thread_and_exclusive_across_threads(tmp_path):
    library = tmp_path / "library"
    photos = tmp_path / "photos"
    make_photo(photos / "one.png", fmt="PNG")
    catalog = Catalog(library)
    with IndexLock(library):
        # Library.index holds the lock around stage 1 and 2; the Indexer inside takes it again
        assert Indexer(catalog, TinyEmbedder(), library).run([photos]).added == 1
        errors = []

        def other_thread():
            try:
                IndexLock(library).acquire()
            except LibraryBusyError as error:
                errors.append(error)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(errors) == 1 and f"pid {os.getpid()}" in str(errors[0])
    with IndexLock(library):  # released after the outer block
        pass
    catalog.close()
