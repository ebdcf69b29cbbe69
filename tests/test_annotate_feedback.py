"""The user's tag feedback wins over the models and survives re-indexing and re-annotation."""

from __future__ import annotations

import pytest
import skimage.data
from PIL import Image

from photoseek.store.feedback import photo_tags, set_tag_feedback
from photoseek.search.filters import filter_photo_ids, fulltext_search
from photoseek.results import Filters
from tests.annotate_support import indexed_library, photo_id


def _tags(library, pid) -> dict[str, dict]:
    return {t["tag"]: t for t in photo_tags(library.catalog, pid)}


def test_feedback_survives_reindexing(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cat_photo = photos / "chelsea.jpg"
    Image.fromarray(skimage.data.chelsea()).save(cat_photo, quality=95)
    library = indexed_library(tmp_path / "lib", photos)
    library.annotate(["time", "faces"])
    pid = photo_id(library, cat_photo)
    assert "cat" in _tags(library, pid), "the classifier should see the cat"

    library.tag(pid, add=["Sofa", "chelsea"], remove=["cat"])
    tags = _tags(library, pid)
    assert "cat" not in tags
    assert tags["sofa"] == {"tag": "sofa", "confidence": 1.0, "source": "user"}

    # new content at the same path: stage 1 re-tags it and stage 2 starts over for it
    Image.fromarray(skimage.data.chelsea()).save(cat_photo, quality=70)
    report = library.index([photos])
    assert report.updated == 1
    assert photo_id(library, cat_photo) == pid
    models_say = {r[0] for r in library.catalog.conn.execute("SELECT tag FROM tags WHERE photo_id=?", (pid,))}
    assert "cat" in models_say  # the models still think so...
    library.annotate(["time", "faces"])

    tags = _tags(library, pid)  # ...but the user's word wins
    assert {"sofa", "chelsea"} <= set(tags)
    assert not [t for t in tags if t.endswith("cat")]  # "not a cat" hides "tabby cat" too
    assert pid not in filter_photo_ids(library.catalog, Filters(tags=["cat"]))
    assert pid in filter_photo_ids(library.catalog, Filters(tags=["sofa"]))
    assert pid in filter_photo_ids(library.catalog, Filters(not_tags=["cat"]))
    assert [h[0] for h in fulltext_search(library.catalog, "sofa", column="tags")] == [pid]

    # confirming a rejected tag flips it back
    set_tag_feedback(library.catalog, pid, add=["cat"])
    assert _tags(library, pid)["cat"]["source"] == "user"


def test_feedback_checks_its_input(tmp_path):
    from photoseek.errors import NotFoundError, PhotoseekError

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(skimage.data.coffee()).save(photos / "coffee.jpg")
    library = indexed_library(tmp_path / "lib", photos)
    with pytest.raises(NotFoundError):
        set_tag_feedback(library.catalog, 999, add=["cup"])
    with pytest.raises(PhotoseekError):
        set_tag_feedback(library.catalog, 1, add=["cup"], remove=["Cup"])
    with pytest.raises(PhotoseekError):
        set_tag_feedback(library.catalog, 1, add=["  "])


def test_a_tag_the_user_added_is_evidence_for_the_search(tmp_path):
    """A tag confirmed by hand meets the request word ("holiday"), as the model's tags do; a rejected
    one no longer does."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, image in (("chelsea.jpg", skimage.data.chelsea()), ("coffee.jpg", skimage.data.coffee())):
        Image.fromarray(image).save(photos / name, quality=90)
    library = indexed_library(tmp_path / "lib", photos)
    pid = photo_id(library, photos / "coffee.jpg")
    library.tag(pid, add=["holiday"])
    result = next(r for r in library.search("holiday", k=2) if r.id == pid)
    assert result.evidence.met.get("holiday") == "tag holiday" and "holiday" not in result.evidence.missing
    assert result.match == "strong"
    library.tag(pid, remove=["holiday"])
    result = next(r for r in library.search("holiday", k=2) if r.id == pid)
    assert "holiday" not in result.evidence.met and result.match != "strong"
