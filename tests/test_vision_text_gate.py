"""The OCR gate: PP-OCRv4's text detector at a small size decides whether full OCR runs.
Its recall against full OCR on COCO photos is measured by bench/text_gate.py (figures in README)."""

from __future__ import annotations

import skimage.data
from PIL import Image

from photoseek.ingest.pipeline import read_text_gated
from photoseek.vision.text_gate import TextGate, default_gate
from tests.annotate_support import text_image


def test_signs_pass_the_gate_at_any_size():
    gate = default_gate()
    for word in ("EXIT", "Hi", "42"):
        assert gate.has_text(text_image(word)), word
        assert gate.has_text(text_image(word, size=(4000, 3000))), word  # 12 MP: the gate works on a small copy


def test_plain_and_textless_photos_do_not():
    gate = default_gate()
    assert gate.text_score(Image.new("RGB", (640, 480), (90, 140, 200))) == 0
    assert not gate.has_text(Image.fromarray(skimage.data.astronaut()))
    assert not gate.has_text(Image.fromarray(skimage.data.chelsea()))
    assert gate.text_score(Image.new("RGB", (4, 300))) == 0  # a sliver holds no text


def test_probability_map_keeps_the_shape_in_multiples_of_32():
    probabilities = TextGate(long_side=320).probability_map(text_image("EXIT", size=(640, 360)))
    assert probabilities.shape == (192, 320)  # 360 * 0.5 = 180 -> 192
    assert TextGate().probability_map(text_image("EXIT", size=(4000, 3000))).shape == (480, 640)
    assert 0.0 <= float(probabilities.min()) and float(probabilities.max()) <= 1.0


def test_ocr_runs_only_behind_the_gate(monkeypatch):
    from photoseek.ingest import pipeline

    class NoOcr:
        def read(self, image):
            raise AssertionError("full OCR must not run where the gate sees no text")

    monkeypatch.setattr(pipeline, "_ocr_reader", lambda: NoOcr())
    seconds = {}
    assert read_text_gated(Image.fromarray(skimage.data.chelsea()), seconds).lines == []
    assert "ocr_gate" in seconds and "ocr" not in seconds
    monkeypatch.undo()
    result = read_text_gated(text_image("EXIT"), seconds)
    assert "EXIT" in result.text.upper() and "ocr" in seconds

