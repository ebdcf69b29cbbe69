"""Bad input during a real index run: each file gets a clear reason, and the run goes on.

Uses the real "conse" embedder on photos from ../shared/data/coco-captions.
"""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from photoseek.ingest import decode as decode_module
from photoseek.ingest import pipeline as pipeline_module  # decodes for the indexer
from photoseek.store.catalog import Catalog
from photoseek.ingest.indexer import Indexer
from photoseek.store.vectors import VectorStore
from tests.index_support import coco_files, copy_photos, failures, photo_ids
from tests.test_index_decode import _png_header_only


@pytest.fixture(scope="module")
def conse():
    from photoseek.vision import get_embedder

    return get_embedder("conse")


def _truncated_jpeg() -> bytes:
    noise = np.random.default_rng(1).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


def test_every_bad_input_is_recorded_and_the_run_goes_on(tmp_path, conse, monkeypatch):
    photos = tmp_path / "photos"
    good = copy_photos(coco_files(5), photos / "good")
    bad = photos / "bad"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "truncated.jpg").write_bytes(_truncated_jpeg())
    (bad / "letter.jpg").write_text("Dear Sir or Madam,\nthis is not a photo.\n")
    (bad / "bomb.png").write_bytes(_png_header_only(30000, 30000))
    os.mkfifo(bad / "pipe.jpg")
    os.symlink(tmp_path / "nowhere.jpg", bad / "broken.jpg")
    os.symlink("loop.jpg", bad / "loop.jpg")
    os.symlink(photos, bad / "cycle")  # a folder cycle: must not loop, is not a failure
    shutil.copyfile(good[0], bad / "vanishing.jpg")
    shutil.copyfile(good[1], bad / "locked.jpg")
    (bad / "readme.txt").write_text("not a photo, not a failure")
    non_utf8 = os.fsencode(bad) + b"/ph\xf6to.jpg"
    shutil.copyfile(good[2], non_utf8)

    # deleted between the scan and its decoding: the decoder is wrapped to delete it first
    real_decode = pipeline_module.decode_photo

    def deleting_decode(path, **kwargs):
        if os.path.basename(path) == b"vanishing.jpg":
            os.remove(path)
        return real_decode(path, **kwargs)

    monkeypatch.setattr(pipeline_module, "decode_photo", deleting_decode)
    # unreadable: simulated, because these tests run as root and root reads a chmod-000 file anyway
    real_open = os.open

    def refusing_open(path, *args, **kwargs):
        if os.path.basename(os.fsencode(path)) == b"locked.jpg":
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(decode_module.os, "open", refusing_open)

    catalog = Catalog(tmp_path / "library")
    report = Indexer(catalog, conse, catalog.library_dir, batch_size=4).run([photos])
    expected = {
        "empty.jpg": "empty file",
        "truncated.jpg": "corrupt or truncated image",
        "letter.jpg": "not an image (content is text)",
        "bomb.png": "image too large: 30000×30000 pixels",
        "pipe.jpg": "not a regular file (named pipe)",
        "broken.jpg": "broken symbolic link (points to ",
        "loop.jpg": "symbolic link loop",
        "vanishing.jpg": "file disappeared during indexing",
        "locked.jpg": "cannot read file: permission denied",
    }
    recorded = {os.path.basename(path): reason for path, reason in failures(catalog).items()}
    assert set(recorded) == set(expected)
    for name, reason in expected.items():
        assert recorded[name].startswith(reason), (name, recorded[name])
    assert report.failed == len(expected)
    assert report.added == 6  # the five good photos and the non-UTF-8 one; nothing through the cycle
    assert catalog.photo_count() == 6
    assert VectorStore(catalog, catalog.library_dir).count("joint") == 6

    # fixed files leave the failures table; the others stay
    monkeypatch.setattr(decode_module.os, "open", real_open)
    shutil.copyfile(good[3], bad / "truncated.jpg")
    os.remove(bad / "empty.jpg")
    again = Indexer(catalog, conse, catalog.library_dir).run([photos])
    assert (again.added, again.unchanged) == (2, 6)  # truncated.jpg and locked.jpg; vanishing.jpg is gone
    recorded = {os.path.basename(path) for path in failures(catalog)}
    assert recorded == {"letter.jpg", "bomb.png", "pipe.jpg", "broken.jpg", "loop.jpg"}
    assert again.failed == 5
    assert str(bad / "truncated.jpg") in photo_ids(catalog)
    catalog.close()


def test_a_photo_that_becomes_unreadable_keeps_its_row(tmp_path, conse, monkeypatch):
    photos = tmp_path / "photos"
    copies = copy_photos(coco_files(3), photos)
    catalog = Catalog(tmp_path / "library")
    Indexer(catalog, conse, catalog.library_dir).run([photos])
    victim = copies[0]
    old_id = photo_ids(catalog)[str(victim)]
    victim.write_bytes(victim.read_bytes()[:2000])  # now truncated
    report = Indexer(catalog, conse, catalog.library_dir).run([photos])
    assert report.failed == 1 and report.removed == 0
    assert photo_ids(catalog)[str(victim)] == old_id  # its vectors and annotations are not lost
    assert failures(catalog)[str(victim)].startswith("corrupt or truncated image")
    catalog.close()
