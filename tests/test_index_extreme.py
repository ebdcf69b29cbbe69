"""Bounded memory per photo whatever its shape, tiled OCR, and stage-2 failures that are recorded and
not retried (issue 11, part 1). Real models throughout (conse embedder, RapidOCR, the people detector)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.annotate_support import bold_font, indexed_library, photo_id, text_image

REPO = Path(__file__).resolve().parent.parent
MEMORY_CAP = 5 * 2**30  # address space for the whole indexing process (models included)


def _screenshot(size=(790, 36861), every=600, font_size=28) -> Image.Image:
    """A long chat screenshot: a "MESSAGE n" line every `every` px on white."""
    image = Image.new("RGB", size, (255, 255, 255))
    draw, font = ImageDraw.Draw(image), bold_font(font_size)
    for n, y in enumerate(range(100, size[1] - font_size, every)):
        draw.text((40, y), f"MESSAGE {n}", font=font, fill=(20, 20, 20))
    return image


def _message_numbers(text: str) -> set[int]:
    """Numbers of the MESSAGE lines read (the recogniser may drop the space or read 0 as O)."""
    found = set()
    for line in text.splitlines():
        m = re.fullmatch(r"MESSAGE\s*([0-9O]+)", line.strip().upper())
        if m:
            found.add(int(m.group(1).replace("O", "0")))
    return found


def _extreme_shapes(folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    Image.new("RGB", (12800, 10), (250, 160, 40)).save(folder / "strip.png")  # the case
    Image.new("RGB", (10, 12800), (40, 160, 250)).save(folder / "tall_strip.png")
    wide = np.zeros((120, 24000, 3), np.uint8)
    wide[..., 1] = np.linspace(0, 255, 24000, dtype=np.uint8)[None, :]
    Image.fromarray(wide).save(folder / "panorama.jpg", quality=85)
    _screenshot((600, 7300)).save(folder / "chat.png")
    Image.new("RGB", (1, 1), (0, 0, 0)).save(folder / "dot.png")
    Image.new("L", (3, 9000), 128).save(folder / "hair.png")
    return sorted(p.name for p in folder.iterdir())


def test_indexing_extreme_shapes_stays_within_a_memory_cap(tmp_path):
    """The whole index run (stage 1 and every annotator) in a subprocess limited with RLIMIT_AS:
    before, OCR alone asked for 4.12 GiB on the 12800×10 strip (and grew past 21 GB without a cap)."""
    photos = tmp_path / "photos"
    names = _extreme_shapes(photos)
    script = textwrap.dedent(f"""
        import json, resource
        resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP}))
        from photoseek.library import Library
        lib = Library({str(tmp_path / 'lib')!r}, llm=None, captioner="template")
        report = lib.index([{str(photos)!r}], captions=True)  # captions are on demand by default
        conn = lib.catalog.conn
        done = dict(conn.execute("SELECT annotator, count(*) FROM annotations_done GROUP BY annotator").fetchall())
        chat = conn.execute("SELECT o.text FROM ocr o JOIN photos p ON p.id = o.photo_id "
                            "WHERE p.display_path LIKE '%chat.png'").fetchone()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"report": report.to_dict(), "errors": lib.errors(), "done": done,
                          "chat": chat[0] if chat else "", "peak_kib": peak}}))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["report"]["added"] == len(names) and out["report"]["failed"] == 0, out
    assert out["errors"] == []
    for annotator in ("time", "colors", "faces", "ocr", "captions"):
        assert out["done"].get(annotator) == len(names), (annotator, out["done"])
    assert _message_numbers(out["chat"]) >= set(range(12)), out["chat"]


@pytest.mark.slow
def test_long_chat_screenshot_is_read_line_by_line():
    """The issue's 790×36861 screenshot: every "MESSAGE n" line is read (before: none, the page was
    squeezed to 27×1280), each once, with boxes in the screenshot's own pixels."""
    from photoseek.vision.ocr import read_text

    image = _screenshot()
    expected = set(range(len(range(100, 36861 - 28, 600))))
    result = read_text(image)
    numbers = _message_numbers(result.text)
    assert numbers == expected
    messages = [line for line in result.lines if _message_numbers(line.text)]
    assert len(messages) == len(expected)  # lines in the tiles' overlaps are kept once
    line = next(line for line in result.lines if _message_numbers(line.text) == {60})
    assert 100 + 60 * 600 - 20 < line.box[0][1] < 100 + 60 * 600 + 40


def test_ocr_tiles_are_bounded():
    from photoseek.vision.ocr import MAX_TILE_ASPECT, MAX_TILES, tile_boxes

    assert tile_boxes(1000, 800) == [(0, 0, 1000, 800)]
    assert tile_boxes(1000, 420) == [(0, 0, 1000, 420)]  # an ordinary wide photo is read whole
    for width, height in [(790, 36861), (12800, 10), (10, 12800), (100, 200000), (24000, 120)]:
        boxes = tile_boxes(width, height)
        assert 1 <= len(boxes) <= MAX_TILES
        covered = np.zeros(max(width, height), bool)
        for left, top, right, bottom in boxes:
            assert 0 <= left < right <= width and 0 <= top < bottom <= height
            if width >= height:
                covered[left:right] = True
            else:
                covered[top:bottom] = True
        assert covered.all()  # nothing of the long side is skipped
    short = tile_boxes(790, 36861)[0]
    assert (short[3] - short[1]) <= 790 * MAX_TILE_ASPECT


def test_limit_aspect_keeps_the_centre():
    from photoseek.vision.base import limit_aspect

    strip = Image.new("RGB", (12800, 10))
    assert limit_aspect(strip).size == (20, 10)
    assert limit_aspect(Image.new("RGB", (10, 12800))).size == (10, 20)
    square = Image.new("RGB", (300, 200))
    assert limit_aspect(square) is square


# -- failures of an annotator are recorded and not retried ------------------------------------------------


@pytest.fixture
def two_signs(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    text_image("EXIT").save(photos / "exit.jpg", quality=92)
    text_image("STOP", background=(120, 20, 20)).save(photos / "stop.jpg", quality=92)
    return indexed_library(tmp_path / "lib", photos), photos


def _ocr_failing_on(monkeypatch, word: str, calls: list):
    """The real reader, except that it runs out of memory on images whose colour matches `word`'s
    sign, as RapidOCR did on a strip (numpy's message)."""
    from photoseek.vision.ocr import TextReader

    real = TextReader.read

    def read(reader, image):
        calls.append(image.size)
        red = np.asarray(image.convert("RGB"))[5, 5, 0]
        if (word == "STOP") == (red > 100):
            raise MemoryError("Unable to allocate 4.12 GiB for an array with shape (9600, 38400, 3) "
                              "and data type float32")
        return real(reader, image)

    monkeypatch.setattr(TextReader, "read", read)


def test_annotator_failure_is_recorded_and_not_retried_until_the_file_changes(two_signs, monkeypatch):
    library, photos = two_signs
    calls: list = []
    _ocr_failing_on(monkeypatch, "STOP", calls)
    assert library.annotate(["ocr"]) == {"ocr": 1, "failed": 1}
    errors = [e for e in library.errors() if e.get("annotator") == "ocr"]
    assert len(errors) == 1 and errors[0]["path"].endswith("stop.jpg")
    assert "out of memory" in errors[0]["reason"] and "4.12 GiB" in errors[0]["reason"]
    assert errors[0]["photo_id"] == photo_id(library, photos / "stop.jpg")
    assert library.stats()["annotation_failures"] == 1

    calls.clear()
    assert library.annotate(["ocr"]) == {"ocr": 0}  # nothing to do: not retried
    assert calls == []

    # the file changes (new content): indexing it again gives the annotator another try
    text_image("STOP!", background=(120, 20, 20)).save(photos / "stop.jpg", quality=90)
    monkeypatch.undo()
    library.index([photos], annotate=False)
    assert library.annotate(["ocr"]) == {"ocr": 1}
    assert [e for e in library.errors() if e.get("annotator")] == []


def test_retry_failed_tries_again(two_signs, monkeypatch):
    library, photos = two_signs
    _ocr_failing_on(monkeypatch, "STOP", [])
    library.annotate(["ocr"])
    monkeypatch.undo()
    assert library.annotate(["ocr"]) == {"ocr": 0}
    assert library.annotate(["ocr"], retry_failed=True) == {"ocr": 1}
    assert "STOP" in library.show(photo_id(library, photos / "stop.jpg"))["ocr_text"].upper()


def test_a_new_annotator_version_retries(two_signs, monkeypatch):
    import photoseek.vision.ocr as ocr

    library, _ = two_signs
    _ocr_failing_on(monkeypatch, "STOP", [])
    library.annotate(["ocr"])
    monkeypatch.undo()
    monkeypatch.setattr(ocr, "OCR_ANNOTATOR_ID", ocr.OCR_ANNOTATOR_ID + "-next")
    assert library.annotate(["ocr"]) == {"ocr": 2}


def test_a_file_away_for_a_moment_is_not_recorded(two_signs, tmp_path):
    library, photos = two_signs
    away = tmp_path / "away.jpg"
    os.replace(photos / "exit.jpg", away)
    try:
        assert library.annotate(["ocr"]) == {"ocr": 1, "failed": 1}
    finally:
        os.replace(away, photos / "exit.jpg")
    assert [e for e in library.errors() if e.get("annotator")] == []
    assert library.annotate(["ocr"]) == {"ocr": 1}
