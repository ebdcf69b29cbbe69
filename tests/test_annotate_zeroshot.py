"""Zero-shot tags for CLIP-style embedders: the tag logic on given scores, and the annotator's
plumbing end to end with the tiny random-init CLIP that tests/test_vision_clip.py builds offline
(real hf: loader; its random weights make no confident tags, so only the bookkeeping is checked)."""

from __future__ import annotations

import pytest
from PIL import Image

from photoseek.vision.tagging import tags_from_zero_shot, zero_shot_vocabulary


def test_zero_shot_scores_become_tags_with_broader_terms():
    vocabulary = ["golden retriever", "tabby cat", "frisbee"]
    tags = {t.name: t for t in tags_from_zero_shot([(0, 0.7), ("frisbee", 0.2), (1, 0.05)], vocabulary)}
    assert not tags["golden retriever"].broader and tags["golden retriever"].confidence == pytest.approx(0.7)
    assert "frisbee" in tags and "tabby cat" not in tags
    assert tags["dog"].broader and tags["animal"].broader
    assert tags["dog"].confidence == pytest.approx(0.7)
    # a broader term named directly is a tag of its own, with its own broader terms
    direct = {t.name: t for t in tags_from_zero_shot([("dog", 0.5)], ["dog"])}
    assert not direct["dog"].broader and direct["animal"].broader


def test_default_vocabulary_has_classes_and_everyday_terms():
    vocabulary = zero_shot_vocabulary()
    assert {"golden retriever", "dog", "animal", "vehicle", "tabby cat"} <= set(vocabulary)


def test_annotator_tags_a_clip_library_from_stored_vectors(tmp_path_factory, tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from tests.test_vision_clip import _tiny_clip_folder

    from photoseek.library import Library
    from photoseek.vision import get_embedder

    folder = _tiny_clip_folder(tmp_path_factory.mktemp("clip") / "tiny-clip")
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photos / "red.jpg")
    Image.new("RGB", (64, 48), (30, 30, 200)).save(photos / "blue.jpg")
    embedder = get_embedder(f"hf:{folder}")
    library = Library(tmp_path / "lib", embedder=embedder, llm=None, captioner="template")
    library.index([photos], annotate=False)
    assert library.catalog.conn.execute("SELECT count(*) FROM tags").fetchone()[0] == 0  # CLIP has no labels
    assert library.annotate(["tags"]) == {"tags": 2}
    done = library.catalog.conn.execute("SELECT DISTINCT annotator_id FROM annotations_done").fetchall()
    assert [d[0].split(":")[0] for d in done] == ["zeroshot"]
    assert library.annotate(["tags"]) == {"tags": 0}
