"""Stage 2 end to end on real photos and the real annotators: results, bad input, resuming."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from photoseek.search.filters import filter_photo_ids, fulltext_search
from photoseek.results import Filters
from tests.annotate_support import indexed_library, photo_id, text_image, write_text_photos

REPO = Path(__file__).resolve().parent.parent


def _done(library, annotator: str) -> set[int]:
    rows = library.catalog.conn.execute("SELECT photo_id FROM annotations_done WHERE annotator=?", (annotator,))
    return {r[0] for r in rows}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A folder of awkward photos, indexed (stage 1) and then annotated once with everything."""
    root = tmp_path_factory.mktemp("mixed")
    photos = root / "photos"
    photos.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(photos / "astronaut.jpg", quality=92)
    Image.fromarray(skimage.data.coffee()).save(photos / "coffee.jpg", quality=92)
    text_image("EXIT").save(photos / "exit.jpg", quality=92)
    Image.new("RGB", (1, 1), (250, 250, 250)).save(photos / "one_pixel.png")
    big = np.zeros((3000, 5000, 3), np.uint8)
    big[..., 2] = np.linspace(40, 220, 5000, dtype=np.uint8)[None, :]
    Image.fromarray(big).save(photos / "huge.jpg", quality=80)
    # an EXIF block of garbage: metadata is lost, the photo is not
    Image.new("RGB", (320, 240), (5, 5, 10)).save(photos / "broken_exif.jpg", exif=b"Exif\x00\x00MM\x00*garbage")
    library = indexed_library(root / "lib", photos)
    counts = library.annotate()
    counts.update(library.annotate(["captions"]))  # captions are not a default annotator (made on demand)
    return library, photos, counts


def test_every_annotator_ran_on_every_photo(mixed):
    library, photos, counts = mixed
    n = library.catalog.photo_count()
    assert n == 6
    assert counts.get("failed", 0) == 0
    for name in ("time", "faces", "ocr", "captions", "colors"):
        assert counts[name] == n, name
    assert counts["tags"] == 0  # stage 1's label sink already tagged them
    assert _done(library, "tags") == _done(library, "ocr") == set(range(1, n + 1))


def test_results_are_what_the_photos_show(mixed):
    library, photos, _ = mixed
    astronaut, coffee, sign = (photo_id(library, photos / f) for f in ("astronaut.jpg", "coffee.jpg", "exit.jpg"))
    faces = dict(library.catalog.conn.execute("SELECT id, faces FROM photos").fetchall())
    assert faces[astronaut] == 1 and faces[coffee] == 0
    assert filter_photo_ids(library.catalog, Filters(people=True)) == {astronaut}
    assert filter_photo_ids(library.catalog, Filters(has_text=True)) == {sign}
    assert [pid for pid, _, _ in fulltext_search(library.catalog, "EXIT", column="ocr")] == [sign]
    assert library.show(photo_id(library, photos / "broken_exif.jpg"))["time_of_day"] == "night"
    for pid in (astronaut, coffee, sign):
        shown = library.show(pid)
        assert shown["caption"] and shown["captioner"] == "template-v1"
    assert "EXIT" in library.show(sign)["caption"]
    # captions are searchable
    assert sign in {pid for pid, _, _ in fulltext_search(library.catalog, "EXIT", column="caption")}


def test_a_second_run_does_nothing(mixed):
    library, _, _ = mixed
    assert set(library.annotate().values()) == {0}


def test_unreadable_file_is_counted_and_nothing_is_lost(mixed, tmp_path):
    library, photos, _ = mixed
    sign = photo_id(library, photos / "exit.jpg")
    before = library.show(sign)
    library.catalog.conn.execute("DELETE FROM annotations_done WHERE photo_id=? AND annotator='ocr'", (sign,))
    moved = tmp_path / "exit.jpg"
    os.replace(photos / "exit.jpg", moved)
    try:
        counts = library.annotate(["ocr", "faces"])
    finally:
        os.replace(moved, photos / "exit.jpg")
    assert counts == {"ocr": 0, "faces": 0, "failed": 1}
    assert library.show(sign)["ocr_text"] == before["ocr_text"]  # the stored text is still there
    assert library.annotate(["ocr"]) == {"ocr": 1}  # and it is retried once the file is back


def test_unknown_annotator_is_refused(mixed):
    from photoseek.errors import PhotoseekError

    library, _, _ = mixed
    with pytest.raises(PhotoseekError, match="Unknown annotator"):
        library.annotate(["ocr", "sentiment"])


# -- resuming --------------------------------------------------------------------------------------------


@pytest.fixture
def signs(tmp_path):
    photos = tmp_path / "photos"
    write_text_photos(photos, ["EXIT", "STOP", "OPEN", "SALE", "PARK"])
    return indexed_library(tmp_path / "lib", photos), photos


class _CountingReads:
    """Wraps the real TextReader.read: counts calls and can stop the run at call `stop_at`."""

    def __init__(self, monkeypatch, stop_at=None):
        from photoseek.vision.ocr import TextReader

        real = TextReader.read
        self.calls = 0

        def read(reader, image):
            self.calls += 1
            if self.calls == stop_at:
                raise KeyboardInterrupt  # like Ctrl-C in the middle of a photo
            return real(reader, image)

        monkeypatch.setattr(TextReader, "read", read)


def test_interrupted_run_resumes_without_redoing_photos(signs, monkeypatch):
    library, _ = signs
    reads = _CountingReads(monkeypatch, stop_at=3)
    with pytest.raises(KeyboardInterrupt):
        library.annotate(["ocr"])
    assert len(_done(library, "ocr")) == 2  # committed photo by photo
    reads = _CountingReads(monkeypatch)
    assert library.annotate(["ocr"]) == {"ocr": 3}
    assert reads.calls == 3
    texts = {r[0] for r in library.catalog.conn.execute("SELECT text FROM ocr")}
    assert {"EXIT", "STOP", "OPEN", "SALE", "PARK"} <= {t.upper() for t in texts}


def test_killed_run_resumes(signs):
    library, _ = signs
    script = textwrap.dedent(f"""
        import os
        from photoseek.library import Library
        from photoseek.vision.ocr import TextReader
        real, calls = TextReader.read, []
        def read(reader, image):
            calls.append(1)
            if len(calls) == 4:
                os._exit(137)  # no cleanup at all, like kill -9
            return real(reader, image)
        TextReader.read = read
        Library({str(library.path)!r}, llm=None, captioner="template").annotate(["ocr"])
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 137, result.stderr
    assert len(_done(library, "ocr")) == 3
    assert library.annotate(["ocr"]) == {"ocr": 2}
    assert len(_done(library, "ocr")) == 5
