"""No silent data loss, no work done twice (issue 11, parts 3 and 4).

The bookkeeping tests use TinyEmbedder (tests/index_support.py), a deterministic stand-in: what is
checked is which rows survive and which photos get decoded or embedded, not what vectors mean. The
end-to-end CLI test runs the real default models.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import photoseek.ingest.pipeline as pipeline_module
from photoseek.ingest.offline import OFFLINE_MIN_PHOTOS, offline_groups
from photoseek.library import Library
from photoseek.store.catalog import Catalog
from photoseek.store.feedback import set_tag_feedback
from photoseek.ingest.indexer import Indexer
from tests.conftest import REPO_ROOT
from tests.index_support import TinyEmbedder, colors, embedding_ids, failures, make_photo, photo_ids


@pytest.fixture
def catalog(tmp_path):
    catalog = Catalog(tmp_path / "library")
    yield catalog
    catalog.close()


def _index(catalog, embedder, *paths, **settings):
    indexer = Indexer(catalog, embedder, catalog.library_dir)
    for key, value in settings.items():
        setattr(indexer, key, value)
    return indexer.run(list(paths))


def _photos(folder: Path, n: int, start: int = 0) -> list[Path]:
    paths = []
    for i, color in enumerate(colors(start + n)[start:], start):
        paths.append(Path(os.fsdecode(make_photo(folder / f"p{i:02d}.png", color=color, fmt="PNG"))))
    return paths


class _CountingDecodes:
    """Counts decode_photo calls that really decode (not those skipped for a known hash)."""

    def __init__(self, monkeypatch):
        self.decoded: list[str] = []
        real = pipeline_module.decode_photo

        def counting(path, **kwargs):
            photo = real(path, **kwargs)
            if photo is not None and not photo.content_unchanged:
                self.decoded.append(os.path.basename(os.fsdecode(path)))
            return photo

        monkeypatch.setattr(pipeline_module, "decode_photo", counting)


# -- part 3: a drive that is not mounted ----------------------------------------------------------------


def test_emptied_root_is_offline_and_nothing_is_removed(tmp_path, catalog):
    photos = tmp_path / "photos"
    _photos(photos, 4)
    embedder = TinyEmbedder()
    _index(catalog, embedder, photos)
    ids = photo_ids(catalog)
    pid = ids[str(photos / "p00.png")]
    set_tag_feedback(catalog, pid, add=["holiday"], remove=[])

    os.rename(photos, tmp_path / "photos.off")  # what an unmounted drive looks like
    photos.mkdir()
    report = _index(catalog, embedder, photos)
    assert report.removed == 0
    assert report.offline == [{"path": str(photos), "missing": 4, "photos": 4}]
    assert photo_ids(catalog) == ids and len(embedding_ids(catalog)) == 4
    remembered = json.loads(catalog.get_meta("offline_folders"))
    assert [e["path"] for e in remembered] == [str(photos)] and remembered[0]["since"]

    # back again: same ids, nothing decoded or embedded, the user's tag still there, no longer offline
    photos.rmdir()
    os.rename(tmp_path / "photos.off", photos)
    embedder.calls.clear()
    back = _index(catalog, embedder, photos)
    assert (back.unchanged, back.added, back.removed, back.offline) == (4, 0, 0, [])
    assert photo_ids(catalog) == ids and embedder.images_encoded == 0
    tags = catalog.conn.execute("SELECT tag FROM tag_feedback WHERE photo_id=?", (pid,)).fetchall()
    assert [t[0] for t in tags] == ["holiday"]
    assert json.loads(catalog.get_meta("offline_folders")) == []


def test_emptied_subfolder_is_offline_the_rest_is_swept_as_usual(tmp_path, catalog):
    photos = tmp_path / "photos"
    _photos(photos / "trip", 3)
    _photos(photos / "home", 5, start=3)
    embedder = TinyEmbedder()
    _index(catalog, embedder, photos)
    for path in (photos / "trip").iterdir():
        path.unlink()
    (photos / "home" / "p03.png").unlink()  # one ordinary deletion: removed
    report = _index(catalog, embedder, photos)
    assert report.offline == [{"path": str(photos / "trip"), "missing": 3, "photos": 3}]
    assert report.removed == 1
    left = photo_ids(catalog)
    assert str(photos / "home" / "p03.png") not in left and str(photos / "trip" / "p00.png") in left


def test_a_folder_that_lost_most_of_its_photos_is_offline(tmp_path, catalog):
    photos = tmp_path / "photos"
    paths = _photos(photos, 6)
    _index(catalog, TinyEmbedder(), photos)
    for path in paths[:4]:
        path.unlink()
    report = _index(catalog, TinyEmbedder(), photos)
    assert (report.removed, report.unchanged) == (0, 2) and report.offline[0]["missing"] == 4


def test_prune_removes_and_a_prompt_is_asked(tmp_path, catalog):
    photos = tmp_path / "photos"
    paths = _photos(photos, 3)
    _index(catalog, TinyEmbedder(), photos)
    for path in paths:
        path.unlink()
    asked = []
    report = _index(catalog, TinyEmbedder(), photos, prune=lambda folders: asked.append(folders) or False)
    assert asked == [[str(photos)]] and report.removed == 0 and catalog.photo_count() == 3
    report = _index(catalog, TinyEmbedder(), photos, prune=lambda folders: True)
    assert report.removed == 3 and catalog.photo_count() == 0 and report.offline == []
    assert json.loads(catalog.get_meta("offline_folders")) == []


def test_a_drive_mounted_elsewhere_keeps_its_photos_ids(tmp_path, catalog):
    old, new = tmp_path / "mnt" / "old", tmp_path / "mnt" / "new"
    _photos(old, 3)
    embedder = TinyEmbedder()
    _index(catalog, embedder, old)
    ids = sorted(photo_ids(catalog).values())
    old.parent.rename(tmp_path / "away")
    (tmp_path / "mnt").mkdir()
    os.makedirs(old)
    assert _index(catalog, embedder, old).offline  # kept as offline
    shutil.copytree(tmp_path / "away" / "old", new)
    embedder.calls.clear()
    report = _index(catalog, embedder, new)
    assert (report.moved, report.added) == (3, 0) and embedder.images_encoded == 0
    assert sorted(photo_ids(catalog).values()) == ids
    assert all(path.startswith(str(new)) for path in photo_ids(catalog))


def test_single_deletions_are_still_swept(tmp_path, catalog):
    photos = tmp_path / "photos"
    paths = _photos(photos, 5)
    _index(catalog, TinyEmbedder(), photos)
    paths[0].unlink()
    report = _index(catalog, TinyEmbedder(), photos)
    assert (report.removed, report.offline) == (1, [])


def test_offline_groups_rules():
    root = b"/r"
    known = [b"/r/a/1.jpg", b"/r/a/2.jpg", b"/r/b/1.jpg", b"/r/b/2.jpg", b"/r/b/3.jpg", b"/r/c/1.jpg"]
    assert offline_groups([root], known, []) == []
    assert offline_groups([root], known, [b"/r/c/1.jpg"]) == []  # one photo of a folder: a deletion
    got = offline_groups([root], known, [b"/r/a/1.jpg", b"/r/a/2.jpg"])
    assert [(g.path, g.missing, g.had) for g in got] == [(b"/r/a", 2, 2)]
    got = offline_groups([root], known, known)  # everything: the root, not each folder
    assert [(g.path, g.missing) for g in got] == [(root, 6)]
    assert OFFLINE_MIN_PHOTOS >= 2


def test_library_stats_lists_offline_roots(tmp_path):
    photos = tmp_path / "photos"
    paths = _photos(photos, 2)
    lib = Library(tmp_path / "lib", embedder=TinyEmbedder(), llm=None)
    lib.index([photos], annotate=False)
    assert lib.stats()["offline_roots"] == []
    for path in paths:
        path.unlink()
    report = lib.index([photos], annotate=False)
    assert report.to_dict()["offline"] == [{"path": str(photos), "missing": 2, "photos": 2}]
    offline = lib.stats()["offline_roots"]
    assert [(e["path"], e["missing"]) for e in offline] == [(str(photos), 2)]
    lib.close()


def test_cli_unmounted_drive_end_to_end(tmp_path):
    """The issue's steps with the real models: index, tag +holiday, `mv photos photos.off && mkdir
    photos`, index (rc 0, nothing removed, offline said), then the folder comes back."""
    photos = tmp_path / "photos"
    _photos(photos, 3)
    library = tmp_path / "lib"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "photoseek", "--library", str(library), "--llm", "none", *args],
                              capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=600)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    cli("index", str(photos), "--no-annotate", "--json")
    cli("tag", str(photos / "p00.png"), "+holiday")
    os.rename(photos, tmp_path / "photos.off")
    photos.mkdir()
    report = json.loads(cli("index", str(photos), "--no-annotate", "--json"))
    assert report["removed"] == 0 and report["offline"][0]["path"] == str(photos)
    text = cli("index", str(photos), "--no-annotate")
    assert "Offline:" in text and "--prune" in text
    stats = json.loads(cli("stats", "--json"))
    assert stats["photos"] == 3 and stats["offline_roots"][0]["path"] == str(photos)
    photos.rmdir()
    os.rename(tmp_path / "photos.off", photos)
    report = json.loads(cli("index", str(photos), "--no-annotate", "--json"))
    assert (report["unchanged"], report["added"]) == (3, 0) and "offline" not in report
    shown = json.loads(cli("show", str(photos / "p00.png"), "--json"))
    assert any(t["tag"] == "holiday" for t in shown["tags"])
    os.rename(photos, tmp_path / "photos.off")
    photos.mkdir()
    report = json.loads(cli("index", str(photos), "--no-annotate", "--json", "--prune"))
    assert report["removed"] == 3


# -- part 4: work done twice ------------------------------------------------------------------------------


def test_a_copy_of_a_known_photo_reuses_its_vectors_and_annotations(tmp_path, catalog, monkeypatch):
    photos = tmp_path / "photos"
    _photos(photos, 2)
    embedder = TinyEmbedder()
    _index(catalog, embedder, photos)
    source = photo_ids(catalog)[str(photos / "p00.png")]
    conn = catalog.conn
    with catalog.transaction():  # as stage 2 would have left it
        conn.execute("UPDATE photos SET faces=0, time_of_day='night' WHERE id=?", (source,))
        conn.execute("INSERT INTO ocr(photo_id, text, boxes) VALUES (?, 'EXIT', '[]')", (source,))
        conn.execute("INSERT INTO annotations_done VALUES (?, 'ocr', 'rapidocr', 'now')", (source,))
        conn.execute("INSERT INTO tags VALUES (?, 'sign', 0.9, 'classifier', 0), (?, 'text', 1.0, 'ocr', 0)",
                     (source, source))
    set_tag_feedback(catalog, source, add=["holiday"], remove=[])
    shutil.copy2(photos / "p00.png", photos / "b.png")  # cp -p
    decodes = _CountingDecodes(monkeypatch)
    embedder.calls.clear()
    report = _index(catalog, embedder, photos)
    assert (report.added, report.unchanged) == (1, 2)
    assert decodes.decoded == [] and embedder.images_encoded == 0
    copy = photo_ids(catalog)[str(photos / "b.png")]

    def row(pid, sql):
        return [tuple(r) for r in conn.execute(sql, (pid,)).fetchall()]

    for sql in ("SELECT space, model_id, vector FROM embeddings WHERE photo_id=? ORDER BY space",
                "SELECT tag, source FROM tags WHERE photo_id=? ORDER BY tag, source",
                "SELECT text FROM ocr WHERE photo_id=?",
                "SELECT annotator, annotator_id FROM annotations_done WHERE photo_id=?",
                "SELECT content_hash, width, height, faces, time_of_day, brightness FROM photos WHERE id=?"):
        assert row(copy, sql) == row(source, sql) != [], sql
    # the user's word stays on the photo it was said about
    assert row(copy, "SELECT tag FROM tag_feedback WHERE photo_id=?") == []
    hits = conn.execute("SELECT rowid FROM photo_text WHERE photo_text MATCH 'EXIT'").fetchall()
    assert {h[0] for h in hits} == {source, copy}
    from photoseek.store.vectors import VectorStore

    assert VectorStore(catalog, catalog.library_dir).count("joint") == 3


def test_unchanged_broken_files_are_not_read_again(tmp_path, catalog, monkeypatch):
    photos = tmp_path / "photos"
    _photos(photos, 1)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    (photos / "note.jpg").write_text("not a photo")
    embedder = TinyEmbedder()
    first = _index(catalog, embedder, photos)
    assert first.failed == 2
    reads = []
    real = pipeline_module.decode_photo
    monkeypatch.setattr(pipeline_module, "decode_photo", lambda path, **kw: reads.append(path) or real(path, **kw))
    second = _index(catalog, embedder, photos)
    assert reads == [] and second.failed == 2 and len(failures(catalog)) == 2
    retried = _index(catalog, embedder, photos, retry_failed=True)
    assert len(reads) == 2 and retried.failed == 2
    # a change (new size or mtime) is read again without asking
    (photos / "note.jpg").write_text("still not a photo, but longer")
    reads.clear()
    _index(catalog, embedder, photos)
    assert [os.path.basename(os.fsdecode(p)) for p in reads] == ["note.jpg"]
