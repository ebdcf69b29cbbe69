"""The seam between computing and committing (indexer.compute_batch + BatchExecutor), without Ray.

An executor that computes batches with `compute_batch` the way a remote one does — pixels dropped
after embedding, batches handed back out of order — must leave the same catalog as the local
path. TinyEmbedder (tests/index_support.py) stands in for the model: what is checked is the
bookkeeping (which rows, which vectors, which tags), not what the vectors mean; the real model on
a real Ray cluster is tests/test_index_ray.py.
"""

from __future__ import annotations

import os
import shutil

import numpy as np

from photoseek.ingest.indexer import Indexer, compute_batch
from photoseek.store.annotations import label_sink
from photoseek.store.catalog import Catalog
from tests.index_support import TinyEmbedder, colors, make_photo, photo_ids


class OutOfOrderExecutor:
    """Like RayExecutor, in this process: batches of 3 computed with keep_images=False (what a
    worker sends back), yielded last batch first."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.computed_alone = 0  # single tasks redone through `compute`

    def run(self, tasks, job):
        batches = [compute_batch(tasks[i : i + 3], self.embedder, job, keep_images=False)
                   for i in range(0, len(tasks), 3)]  # fmt: skip
        yield from reversed(batches)

    def compute(self, tasks, job, reuse=None):
        self.computed_alone += len(tasks)
        return compute_batch(tasks, self.embedder, job, reuse=reuse, keep_images=False)


def _photos(root, n=8):
    for i, color in enumerate(colors(n)):
        make_photo(root / f"d{i % 2}" / f"p{i:02d}.png", color=color, fmt="PNG")
    return root


def _state(catalog) -> dict:
    rows = catalog.conn.execute(
        """SELECT p.display_path, p.content_hash, p.brightness, e.space, e.vector FROM photos p
           JOIN embeddings e ON e.photo_id = p.id ORDER BY p.display_path, e.space"""
    ).fetchall()
    tags = catalog.conn.execute(
        "SELECT p.display_path, t.tag, t.source FROM tags t JOIN photos p ON p.id = t.photo_id ORDER BY 1, 2, 3"
    ).fetchall()
    return {
        "vectors": [(r[0], r[1], r[2], r[3], np.frombuffer(r[4], np.float32).round(6).tobytes()) for r in rows],
        "tags": [tuple(r) for r in tags],
    }


def _index(library_dir, photos, executor=None, embedder=None):
    catalog = Catalog(library_dir)
    try:
        embedder = embedder or TinyEmbedder()
        report = Indexer(catalog, embedder, library_dir, batch_size=4, label_sink=label_sink,
                         executor=executor).run([photos])  # fmt: skip
        return report, _state(catalog), photo_ids(catalog)
    finally:
        catalog.close()


def test_out_of_order_remote_style_batches_give_the_local_catalog(tmp_path):
    photos = _photos(tmp_path / "photos")
    local_report, local, _ = _index(tmp_path / "local", photos)
    embedder = TinyEmbedder()
    executor = OutOfOrderExecutor(embedder)
    report, remote, _ = _index(tmp_path / "remote", photos, executor, embedder)
    assert executor.computed_alone == 0  # pixels dropped after embedding are not mistaken for "unchanged"
    timings = {"seconds": 0, "stages": {}, "work_seconds": {}}  # wall-clock figures differ run to run
    assert report.to_dict() | timings == local_report.to_dict() | timings
    assert report.added == 8 and len(remote["vectors"]) == 8 * 3  # joint, visual, layout
    assert remote == local
    assert sorted(os.listdir(tmp_path / "remote" / "thumbs")) == sorted(os.listdir(tmp_path / "local" / "thumbs"))


def test_copy_of_a_moved_photo_reuses_its_data_through_the_executor(tmp_path):
    """The one photo whose decoding was skipped (its hash was a moved photo's) but which turns out
    to be new copies the moved photo's vectors and annotations: nothing is computed again."""
    photos = _photos(tmp_path / "photos", 4)
    embedder = TinyEmbedder()
    executor = OutOfOrderExecutor(embedder)
    _index(tmp_path / "lib", photos, executor, embedder)
    shutil.copyfile(photos / "d0" / "p00.png", photos / "a.png")
    os.rename(photos / "d0" / "p00.png", photos / "b.png")
    report, state, ids = _index(tmp_path / "lib", photos, executor, embedder)
    assert (report.moved, report.added, report.unchanged) == (1, 1, 3)
    assert executor.computed_alone == 0
    assert {str(photos / "a.png"), str(photos / "b.png")} <= set(ids)
    assert len(state["vectors"]) == 5 * 3
