"""Text in photos with RapidOCR (models ship in the rapidocr-onnxruntime wheel)."""

from __future__ import annotations

import json

from PIL import Image

from photoseek.vision.ocr import read_text
from tests.annotate_support import text_image


def test_reads_exit_from_a_sign():
    result = read_text(text_image("EXIT"))
    assert "EXIT" in result.text.upper()
    assert result.has_readable_text
    boxes = json.loads(result.boxes_json)
    assert boxes and all(len(b["box"]) == 4 and 0.6 <= b["score"] <= 1 for b in boxes)
    # the box sits in the middle of the 640x360 sign
    xs = [x for x, _ in boxes[0]["box"]]
    assert 100 < sum(xs) / 4 < 540


def test_large_photos_are_read_downscaled_and_boxes_map_back():
    big = text_image("EXIT", size=(4000, 2250))
    result = read_text(big)
    assert "EXIT" in result.text.upper()
    xs = [x for x, _ in result.lines[0].box]
    assert max(xs) > 2000  # in the original's pixels, not the downscaled copy's


def test_nothing_to_read():
    blank = read_text(Image.new("RGB", (640, 480), (90, 140, 200)))
    assert blank.lines == [] and not blank.has_readable_text and blank.text == ""
    assert read_text(Image.new("RGB", (1, 1))).lines == []
