"""The whole default ingest in one pass: one decode per photo for embeddings and the pixel
annotators (time, colours, faces, text-gated OCR), committed together; the pure batch function;
captions made on demand and cached; status. Real models throughout; the one LLM stand-in
(ScriptedLLM) replaces the local LLM only to count its calls (the real one is tested in
test_annotate_captions.py)."""

from __future__ import annotations

import os

import skimage.data
import pytest
from PIL import Image

from photoseek.ingest import pipeline
from photoseek.library import Library
from tests.annotate_support import photo_id, text_image
from tests.test_annotate_captions import ScriptedLLM


def _photos(folder):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.jpg", quality=92)
    Image.fromarray(skimage.data.coffee()).save(folder / "coffee.jpg", quality=92)
    text_image("EXIT").save(folder / "exit.jpg", quality=92)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("fused")
    photos = _photos(root / "photos")
    calls = []
    original = pipeline.decode_photo

    def counting(path, **kwargs):
        calls.append(path)
        return original(path, **kwargs)

    pipeline.decode_photo = counting
    try:
        library = Library(root / "lib", llm=None, captioner="template")
        report = library.index([photos])
    finally:
        pipeline.decode_photo = original
    return library, photos, report, calls


def test_one_pass_annotates_everything_and_decodes_each_file_once(indexed):
    library, photos, report, calls = indexed
    assert report.added == 3 and report.failed == 1
    assert sorted(calls) == sorted(os.fsencode(p) for p in photos.iterdir())
    done = library.catalog.conn.execute("SELECT annotator, count(*) FROM annotations_done GROUP BY annotator").fetchall()
    assert dict(done) == {"tags": 3, "time": 3, "colors": 3, "faces": 3, "recognition": 3, "ocr": 3}
    assert report.annotated == {"tags": 0, "time": 0, "colors": 0, "faces": 0, "recognition": 0, "ocr": 0}  # nothing left for stage 2
    astronaut, coffee, sign = (photo_id(library, photos / f) for f in ("astronaut.jpg", "coffee.jpg", "exit.jpg"))
    faces = dict(library.catalog.conn.execute("SELECT id, faces FROM photos").fetchall())
    assert faces[astronaut] == 1 and faces[coffee] == 0 and faces[sign] == 0
    assert "EXIT" in library.show(sign)["ocr_text"].upper()
    assert library.show(coffee)["ocr_text"] is None
    assert library.catalog.conn.execute("SELECT count(*) FROM captions").fetchone()[0] == 0  # on demand only


def test_report_times_the_whole_run_and_each_stage(indexed):
    _, photos, report, _ = indexed
    d = report.to_dict()
    assert set(d) >= {"added", "updated", "moved", "removed", "unchanged", "failed", "seconds", "stages"}
    assert set(d["stages"]) == {"index", "annotate"} | ({"people"} if d.get("people") else set())  # faces grouped
    assert d["seconds"] >= d["stages"]["index"] > 0
    assert {"decode", "embed", "faces", "ocr_gate", "time", "colors", "commit"} <= set(d["work_seconds"])
    assert report.work_photos["faces"] == 3
    # full OCR ran exactly on the photos the gate let through (the sign among them)
    from photoseek.vision.text_gate import default_gate

    passed = [f for f in ("astronaut.jpg", "coffee.jpg", "exit.jpg")
              if default_gate().has_text(Image.open(photos / f).convert("RGB"))]
    assert "exit.jpg" in passed and "astronaut.jpg" not in passed
    assert report.work_photos["ocr"] == len(passed)


def test_status_says_what_is_searchable_and_pending(indexed):
    library, _, _, _ = indexed
    stats = library.stats()
    assert stats["searchable"] == stats["photos"] == 3
    assert stats["annotations_pending"] == {"tags": 0, "time": 0, "colors": 0, "faces": 0, "recognition": 0, "ocr": 0}
    assert stats["captions"] == {}


def test_caption_on_demand_is_written_once_then_cached(indexed):
    library, photos, _, _ = indexed
    sign = photo_id(library, photos / "exit.jpg")
    llm = ScriptedLLM('{"caption": "A green sign with the text EXIT."}')
    lib = Library(library.path, llm=llm, captioner="local")
    assert lib.caption(sign, store=False).startswith("A photo")  # the instant template, nothing written
    assert llm.calls == 0 and lib.stats()["captions"] == {}
    first = lib.caption(sign)
    assert first == "A green sign with the text EXIT." and llm.calls == 1
    assert lib.caption(sign) == first and lib.caption(sign, store=False) == first and llm.calls == 1
    assert lib.show(sign)["caption"] == first
    assert lib.stats()["annotations_pending"] == {"tags": 0, "time": 0, "colors": 0, "faces": 0, "recognition": 0, "ocr": 0}


def test_process_batch_is_pure_and_keeps_order(tmp_path):
    from photoseek.vision import get_embedder

    photos = _photos(tmp_path / "photos")
    paths = [photos / "exit.jpg", photos / "broken.jpg", photos / "astronaut.jpg"]
    works = pipeline.process_batch(paths, get_embedder("conse"))
    assert [w.path for w in works] == [str(p).encode() for p in paths]
    exit_work, broken, astronaut = works
    assert broken.failure and broken.photo is None and broken.joint is None
    assert exit_work.joint is not None and exit_work.layout is not None and exit_work.labels
    assert exit_work.annotations["ocr"].has_readable_text and astronaut.annotations["faces"] == 1
    assert astronaut.annotations["ocr"].lines == [] and "ocr" not in astronaut.seconds  # gated off
    assert astronaut.photo.pixels is None  # the work image is dropped once annotated
    assert not list(tmp_path.glob("**/*.sqlite*"))  # no catalog anywhere
