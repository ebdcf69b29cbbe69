"""Search filters and full-text search over a catalog filled directly (no models needed here:
what is tested is the SQL over stored annotations)."""

from __future__ import annotations

import pytest

from photoseek.errors import PhotoseekError
from photoseek.store.catalog import Catalog, utc_now
from photoseek.store.feedback import set_tag_feedback
from photoseek.search.filters import filter_photo_ids, fulltext_search
from photoseek.results import Filters
from photoseek.store.annotations import replace_tags
from photoseek.vision.tagging import Tag, tags_from_labels
from photoseek.vision import taxonomy

# id: (file, classifier labels by wnid, taken_at, time_of_day, faces, ocr text, camera)
PHOTOS = {
    1: ("retriever.jpg", [("n02099601", 0.9)], "2019-06-21T20:00:00", "day", 0, None, ("Canon", "Canon EOS 5D")),
    2: ("tabby.jpg", [("n02123045", 0.8)], "2019-12-31T23:30:00", "night", 0, "EXIT", ("Apple", "iPhone 8")),
    3: ("sportscar.jpg", [("n04285008", 0.7)], "2021-03-02T12:00:00", "day", 2, None, ("Apple", "iPhone 12")),
    4: ("portrait.jpg", [], None, "twilight", 1, "Happy birthday", (None, None)),
    5: ("unknown.jpg", [], None, None, None, None, (None, None)),  # not annotated yet
}


def _index(wnid: str) -> int:
    return next(i for i in range(taxonomy.num_classes()) if taxonomy.class_wnid(i) == wnid)


@pytest.fixture
def catalog(tmp_path):
    catalog = Catalog(tmp_path / "lib")
    with catalog.transaction() as conn:
        for pid, (name, labels, taken, when, faces, text, (make, model)) in PHOTOS.items():
            conn.execute(
                """INSERT INTO photos(id, path, display_path, size, mtime_ns, content_hash, taken_at, time_of_day,
                       faces, camera_make, camera_model, indexed_at) VALUES (?, ?, ?, 1, 1, ?, ?, ?, ?, ?, ?, ?)""",
                (pid, f"/p/{name}".encode(), f"/p/{name}", f"h{pid}", taken, when, faces, make, model, utc_now()),
            )
            replace_tags(conn, pid, "classifier", tags_from_labels([(_index(w), p) for w, p in labels]))
            if faces:
                replace_tags(conn, pid, "faces", [Tag("person" if faces == 1 else "people", 1.0)])
            if text:
                conn.execute("INSERT INTO ocr(photo_id, text, boxes) VALUES (?, ?, '[]')", (pid, text))
                replace_tags(conn, pid, "ocr", [Tag("text", 1.0)])
            catalog.refresh_fulltext(pid)
    yield catalog
    catalog.close()


def ids(catalog, **kwargs):
    return filter_photo_ids(catalog, Filters(**kwargs))


def test_no_filter_is_no_restriction(catalog):
    assert filter_photo_ids(catalog, Filters()) is None
    assert filter_photo_ids(catalog, None) is None


def test_tags_match_with_broader_terms(catalog):
    assert ids(catalog, tags=["dog"]) == {1}
    assert ids(catalog, tags=["animal"]) == {1, 2}
    assert ids(catalog, tags=["vehicle"]) == {3}
    assert ids(catalog, tags=["Golden Retriever"]) == {1}
    assert ids(catalog, tags=["animal", "cat"]) == {2}
    assert ids(catalog, not_tags=["animal"]) == {3, 4, 5}
    assert ids(catalog, tags=["animal"], not_tags=["dog"]) == {2}
    assert ids(catalog, tags=["unicorn"]) == set()


def test_feedback_wins_over_the_models(catalog):
    set_tag_feedback(catalog, 1, remove=["dog"])  # "that is no dog"
    assert 1 not in ids(catalog, tags=["dog"])  # even though its "golden retriever" row is still there
    set_tag_feedback(catalog, 3, add=["dog"])  # a dog in the car the classifier missed
    assert ids(catalog, tags=["dog"]) == {3}
    assert 3 in ids(catalog, tags=["animal"])  # a confirmed narrower tag counts for its broader terms
    set_tag_feedback(catalog, 2, remove=["tabby cat"])
    assert 2 not in ids(catalog, tags=["tabby cat"])


def test_rejecting_a_term_rejects_its_narrower_tags(catalog):
    set_tag_feedback(catalog, 2, remove=["cat"])  # then it is no tabby cat either
    assert 2 not in ids(catalog, tags=["tabby cat"])
    assert 2 in ids(catalog, not_tags=["cat"])
    assert 2 in ids(catalog, tags=["animal"])  # "not a cat" does not say it is no animal


def test_user_word_on_people_text_and_time(catalog):
    set_tag_feedback(catalog, 4, remove=["person"], add=["night"])
    set_tag_feedback(catalog, 1, add=["people"], remove=["day"])
    set_tag_feedback(catalog, 2, remove=["text"])
    assert ids(catalog, people=True) == {1, 3}
    assert ids(catalog, people=False) == {2, 4}
    assert ids(catalog, time_of_day="night") == {2, 4}
    assert ids(catalog, time_of_day="day") == {3}
    assert ids(catalog, has_text=True) == {4}


def test_dates_are_inclusive_and_prefixes_work(catalog):
    assert ids(catalog, date_from="2019-06-21", date_to="2019-12-31") == {1, 2}
    assert ids(catalog, date_from="2019-06-22") == {2, 3}
    assert ids(catalog, date_to="2019") == {1, 2}
    assert ids(catalog, date_from="2020-01") == {3}
    with pytest.raises(PhotoseekError, match="date"):
        ids(catalog, date_from="last summer")


def test_time_of_day_text_people_camera(catalog):
    assert ids(catalog, time_of_day="night") == {2}
    assert ids(catalog, time_of_day="twilight") == {4}
    with pytest.raises(PhotoseekError):
        ids(catalog, time_of_day="noon")
    assert ids(catalog, has_text=True) == {2, 4}
    assert ids(catalog, has_text=False) == {1, 3, 5}
    assert ids(catalog, people=True) == {3, 4}
    assert ids(catalog, people=False) == {1, 2}  # photo 5's faces were never counted
    assert ids(catalog, camera="iphone") == {2, 3}
    assert ids(catalog, camera="CANON eos") == {1}
    assert ids(catalog, camera="50%") == set()
    assert ids(catalog, camera="iphone", time_of_day="day", tags=["car"]) == {3}


def test_fulltext_search_ocr_column_and_escaping(catalog):
    hits = fulltext_search(catalog, "EXIT", column="ocr")
    assert [pid for pid, _, _ in hits] == [2]
    assert "[EXIT]" in hits[0][2]
    assert [pid for pid, _, _ in fulltext_search(catalog, "retriever")] == [1]
    assert fulltext_search(catalog, "retriever", column="ocr") == []
    # every word present ranks before any word present
    both = fulltext_search(catalog, "happy birthday")
    assert both[0][0] == 4
    # FTS5 syntax in user input is just text, never an error
    for nasty in ['"', "EXIT OR", "ocr: exit", "NEAR(a b", "*", "exit)", "tags:dog AND", "'; DROP TABLE photos"]:
        fulltext_search(catalog, nasty)
    assert [pid for pid, _, _ in fulltext_search(catalog, '"EXIT"*')] == [2]
    with pytest.raises(PhotoseekError):
        fulltext_search(catalog, "x", column="photos")
