"""Incremental indexing (mark and sweep): unchanged, updated, moved, removed, and embedder changes.

End-to-end tests use the real "conse" embedder on photos from ../shared/data/coco-captions.
TinyEmbedder (tests/index_support.py) appears only in the fast bookkeeping tests at the bottom,
where what is checked is which photos get embedded and how rows move, not what vectors mean.
"""

from __future__ import annotations

import os
import shutil
import sqlite3

import numpy as np
import pytest

from photoseek.vision.layout import LAYOUT_ID

from photoseek.store.catalog import Catalog
from photoseek.ingest.decode import thumbnail_path
from photoseek.ingest.indexer import Indexer
from photoseek.store.vectors import ModelMismatchError, VectorStore
from tests.index_support import (
    COCO_PIZZA,
    COCO_ZEBRA,
    CountingEmbedder,
    TinyEmbedder,
    coco_files,
    colors,
    copy_photos,
    embedding_ids,
    failures,
    make_photo,
    photo_ids,
)


@pytest.fixture(scope="module")
def conse():
    from photoseek.vision import get_embedder

    return get_embedder("conse")


@pytest.fixture
def library(tmp_path):
    catalog = Catalog(tmp_path / "library")
    yield catalog
    catalog.close()


def _index(catalog, embedder, photos, **kwargs):
    return Indexer(catalog, embedder, catalog.library_dir, **kwargs).run([photos])


def _vector(catalog, photo_id, space="joint") -> bytes:
    row = catalog.conn.execute("SELECT vector FROM embeddings WHERE photo_id=? AND space=?", (photo_id, space))
    return row.fetchone()[0]


def _rank_of(store, embedder, text, photo_id, k=12) -> int:
    ids, _ = store.search("joint", embedder.embed_texts([text])[0], k)[0]
    return ids.tolist().index(photo_id) if photo_id in ids else k


def test_incremental_runs_end_to_end(tmp_path, library, conse, monkeypatch):
    photos = tmp_path / "photos"
    copies = copy_photos(coco_files(12), photos, per_folder=6)
    counter = CountingEmbedder(conse, monkeypatch)

    first = _index(library, conse, photos, batch_size=5)
    assert (first.added, first.updated, first.moved, first.removed, first.failed) == (12, 0, 0, 0, 0)
    assert counter.images == 12
    store = VectorStore(library, library.library_dir)
    assert store.count("joint") == 12 and store.count("visual") == 12
    ids = photo_ids(library)
    zebra_id = ids[str(photos / "part0" / COCO_ZEBRA)]
    pizza_id = ids[str(photos / "part0" / COCO_PIZZA)]
    assert _rank_of(store, conse, "a zebra", zebra_id) == 0
    assert _rank_of(store, conse, "a pizza", pizza_id) == 0
    for row in library.conn.execute("SELECT content_hash, width, height, brightness FROM photos"):
        assert thumbnail_path(library.library_dir, row["content_hash"]).exists()
        assert row["width"] > 0 and row["height"] > 0 and 0 < row["brightness"] < 1

    # nothing changed: nothing is read or embedded
    second = _index(library, conse, photos)
    assert (second.added, second.updated, second.moved, second.removed, second.unchanged) == (0, 0, 0, 0, 12)
    assert counter.images == 12

    # touched (same bytes, new mtime): updated without re-embedding; rewritten content: re-embedded
    touched, rewritten = copies[6], copies[7]
    stat = os.stat(touched)
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    rewritten_id = ids[str(rewritten)]
    old_vector = _vector(library, rewritten_id)
    shutil.copyfile(coco_files(13)[12], rewritten)
    third = _index(library, conse, photos)
    assert (third.added, third.updated, third.unchanged) == (0, 2, 10)
    assert counter.images == 13  # only the rewritten photo
    assert photo_ids(library)[str(rewritten)] == rewritten_id
    assert _vector(library, rewritten_id) != old_vector

    # renamed into another folder: moved, same id and vectors, embedder not called
    zebra_old = photos / "part0" / COCO_ZEBRA
    zebra_new = photos / "part1" / "renamed zebra.jpg"
    zebra_vector = _vector(library, zebra_id)
    os.rename(zebra_old, zebra_new)
    fourth = _index(library, conse, photos)
    assert (fourth.moved, fourth.added, fourth.removed, fourth.unchanged) == (1, 0, 0, 11)
    assert counter.images == 13
    now = photo_ids(library)
    assert now[str(zebra_new)] == zebra_id and str(zebra_old) not in now
    assert _vector(library, zebra_id) == zebra_vector
    store = VectorStore(library, library.library_dir)
    assert _rank_of(store, conse, "a zebra", zebra_id) == 0

    # deleted: gone from the catalog, its vectors, the FAISS index and its thumbnail
    pizza_hash = library.conn.execute("SELECT content_hash FROM photos WHERE id=?", (pizza_id,)).fetchone()[0]
    os.remove(photos / "part0" / COCO_PIZZA)
    fifth = _index(library, conse, photos)
    assert (fifth.removed, fifth.unchanged) == (1, 11)
    assert pizza_id not in photo_ids(library).values()
    assert pizza_id not in embedding_ids(library, "joint") | embedding_ids(library, "visual")
    store = VectorStore(library, library.library_dir)
    assert store.count("joint") == 11 and store.count("visual") == 11
    hits, _ = store.search("joint", conse.embed_texts(["a pizza"])[0], 50)[0]
    assert pizza_id not in hits.tolist()
    assert not thumbnail_path(library.library_dir, pizza_hash).exists()


def test_non_utf8_file_name_is_indexed_and_searchable(tmp_path, library, conse):
    photos = tmp_path / "photos"
    photos.mkdir()
    name = os.fsencode(photos) + b"/z\xe8bre \xff.jpg"  # Latin-1 bytes: not valid UTF-8
    with open(coco_files(1)[0], "rb") as source, open(name, "wb") as target:
        target.write(source.read())
    copy_photos(coco_files(8)[1:], photos)
    report = _index(library, conse, photos)
    assert report.added == 8 and report.failed == 0
    row = library.conn.execute("SELECT id, path, display_path FROM photos WHERE path=?", (name,)).fetchone()
    assert row is not None and bytes(row["path"]) == name
    assert "\ufffd" in row["display_path"]  # shown with replacement characters, stored exactly
    store = VectorStore(library, library.library_dir)
    assert _rank_of(store, conse, "a zebra", row["id"], k=8) == 0
    assert _index(library, conse, photos).unchanged == 8  # and recognised as unchanged next time


def test_embedder_change_reembeds_everything_and_vectors_never_mix(tmp_path, library, conse, monkeypatch):
    from photoseek.vision import get_embedder

    other = get_embedder("conse:k=5")
    assert other.id != conse.id
    photos = tmp_path / "photos"
    copy_photos(coco_files(6), photos)
    _index(library, conse, photos)
    counter = CountingEmbedder(other, monkeypatch)

    report = _index(library, other, photos)
    assert (report.updated, report.added, report.unchanged) == (6, 0, 0)
    assert counter.images == 6
    models = {r[0] for r in library.conn.execute("SELECT DISTINCT model_id FROM embeddings")}
    assert models == {other.id, other.visual_id, LAYOUT_ID}
    store = VectorStore(library, library.library_dir)
    store.check_model(other.id)
    with pytest.raises(ModelMismatchError, match="indexed with the model"):
        store.check_model(conse.id)
    assert store.count("joint") == 6
    from photoseek.store.vectors import _model_hash

    cache_files = [p.name.split(".") for p in (library.library_dir / "vectors").iterdir()]
    spaces = [space for space, *_ in cache_files]
    assert sorted(spaces) == sorted(set(spaces))  # one file per space
    assert {model for _, _, model, _ in cache_files} <= {
        _model_hash(other.id), _model_hash(other.visual_id), _model_hash(LAYOUT_ID)}
    # and the next run with the new model has nothing to do
    assert _index(library, other, photos).unchanged == 6


# -- fast bookkeeping tests (TinyEmbedder, see the module docstring) ---------------------------------------


def _tiny_library(tmp_path, n=10):
    photos = tmp_path / "photos"
    for i, color in enumerate(colors(n)):
        make_photo(photos / f"p{i:02d}.png", color=color, fmt="PNG")
    return photos


def test_copy_of_a_moved_photo_keeps_one_id_and_embeds_the_other(tmp_path, library):
    photos = _tiny_library(tmp_path, 4)
    embedder = TinyEmbedder()
    _index(library, embedder, photos)
    old_id = photo_ids(library)[str(photos / "p00.png")]
    shutil.copyfile(photos / "p00.png", photos / "a.png")
    os.rename(photos / "p00.png", photos / "b.png")
    embedder.calls.clear()
    report = _index(library, embedder, photos)
    assert (report.moved, report.added, report.removed, report.unchanged) == (1, 1, 0, 3)
    ids = photo_ids(library)
    assert old_id in (ids[str(photos / "a.png")], ids[str(photos / "b.png")])
    assert embedder.images_encoded == 0  # the copy reuses the moved photo's vectors (issue 11)


def test_indexing_another_folder_keeps_the_first(tmp_path, library):
    embedder = TinyEmbedder()
    first = _tiny_library(tmp_path / "one", 3)
    second = _tiny_library(tmp_path / "two", 2)
    _index(library, embedder, first)
    report = _index(library, embedder, second)
    assert (report.added, report.removed) == (2, 0)
    assert library.photo_count() == 5


def test_crash_during_model_change_never_mixes_vectors(tmp_path, library):
    photos = _tiny_library(tmp_path, 10)
    _index(library, TinyEmbedder("tiny:v1"), photos, batch_size=4)

    class Crashing(TinyEmbedder):
        def encode_images(self, images):
            if self.calls:
                raise RuntimeError("simulated crash after the first batch")
            return super().encode_images(images)

    with pytest.raises(RuntimeError, match="simulated crash"):
        _index(library, Crashing("tiny:v2"), photos, batch_size=4)
    models = [r[0] for r in library.conn.execute("SELECT model_id FROM embeddings WHERE space='joint'")]
    assert models.count("tiny:v2") == 4 and models.count("tiny:v1") == 6
    store = VectorStore(library, library.library_dir)
    assert store.count("joint") == 4  # only the new model's vectors are searchable
    with pytest.raises(ModelMismatchError):
        store.check_model("tiny:v1")

    v2 = TinyEmbedder("tiny:v2")
    report = _index(library, v2, photos, batch_size=4)
    assert (report.updated, report.unchanged) == (6, 4)
    assert v2.images_encoded == 6
    assert {r[0] for r in library.conn.execute("SELECT DISTINCT model_id FROM embeddings")} == {
        "tiny:v2",
        "tiny:v2#visual",
        LAYOUT_ID,  # the layout descriptor is model-independent and kept
    }
    assert VectorStore(library, library.library_dir).count("joint") == 10


def test_embedder_without_visual_space_drops_visual_vectors(tmp_path, library):
    photos = _tiny_library(tmp_path, 3)
    _index(library, TinyEmbedder("tiny:v1"), photos)
    _index(library, TinyEmbedder("tiny:joint-only", visual=False), photos)
    assert embedding_ids(library, "visual") == set()
    store = VectorStore(library, library.library_dir)
    assert store.count("visual") == 0 and store.count("joint") == 3


def test_label_sink_runs_in_the_batch_transaction(tmp_path, library):
    photos = _tiny_library(tmp_path, 5)
    seen: list[tuple[int, list]] = []

    def sink(conn: sqlite3.Connection, photo_id: int, labels) -> None:
        assert conn.in_transaction
        assert conn.execute("SELECT 1 FROM photos WHERE id=?", (photo_id,)).fetchone()
        seen.append((photo_id, labels))

    Indexer(library, TinyEmbedder(), library.library_dir, label_sink=sink).run([photos])
    assert sorted(pid for pid, _ in seen) == sorted(photo_ids(library).values())
    assert all(labels[0] == (1, 0.9) for _, labels in seen)


def test_unchanged_run_marks_seen_and_touches_no_vectors(tmp_path, library):
    photos = _tiny_library(tmp_path, 6)
    embedder = TinyEmbedder()
    _index(library, embedder, photos)
    generation = library.vectors_generation
    report = _index(library, embedder, photos)
    assert report.unchanged == 6 and embedder.images_encoded == 6
    assert library.vectors_generation == generation
    runs = {r[0] for r in library.conn.execute("SELECT seen_run FROM photos")}
    assert runs == {int(library.get_meta("last_run_id"))}
    vectors = np.frombuffer(_vector(library, 1), np.float32)
    assert vectors.shape == (TinyEmbedder.dim,) and abs(np.linalg.norm(vectors) - 1) < 1e-5


def test_photos_in_a_folder_that_became_unreadable_are_kept(tmp_path, library, monkeypatch):
    photos = _tiny_library(tmp_path, 2)
    make_photo(photos / "private" / "a.png", fmt="PNG")
    make_photo(photos / "private" / "b.png", color=(0, 90, 200), fmt="PNG")
    _index(library, TinyEmbedder(), photos)
    assert library.photo_count() == 4
    # Simulated: as root (these tests' user) a chmod-000 folder stays readable, so os.scandir is
    # made to fail with EACCES for that one folder.
    import photoseek.ingest.scan as scan_module

    real_scandir = os.scandir

    def refusing_scandir(path):
        if os.path.basename(path) == b"private":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(scan_module.os, "scandir", refusing_scandir)
    report = _index(library, TinyEmbedder(), photos)
    assert (report.removed, report.unchanged, report.failed) == (0, 2, 1)
    assert library.photo_count() == 4  # nothing deleted: the folder may be back tomorrow
    assert list(failures(library).values()) == ["cannot read folder: permission denied"]


def test_progress_counts_every_file_once(tmp_path, library):
    photos = _tiny_library(tmp_path, 7)
    (photos / "broken.jpg").write_text("text")
    events: list = []

    class Recorder:
        def start(self, label, total):
            events.append(("start", label, total))

        def advance(self, n=1):
            events.append(("advance", n))

        def finish(self):
            events.append(("finish",))

    Indexer(library, TinyEmbedder(), library.library_dir, Recorder(), batch_size=3).run([photos])
    assert events[0] == ("start", "Indexing", 8) and events[-1] == ("finish",)
    assert sum(e[1] for e in events if e[0] == "advance") == 8
