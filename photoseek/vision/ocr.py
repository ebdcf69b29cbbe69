"""Text in photos with RapidOCR (PP-OCRv4 detection + recognition on onnxruntime).

The models ship inside the `rapidocr-onnxruntime` wheel, so nothing is downloaded; the engine is
created on first use. Large photos are downscaled first (OCR cost grows with pixels; text too small
to read at 1280 px on the long side is rarely what anyone searches for). Lines with a low
recognition score or without letters/digits are dropped; the tag "text" (source 'ocr') means at
least a few confidently read characters.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from photoseek.errors import ModelUnavailableError
from photoseek.vision.base import InferenceModel

if TYPE_CHECKING:
    from PIL import Image

OCR_SOURCE = "ocr"
OCR_ANNOTATOR_ID = "rapidocr-ppocrv4-v1"

MAX_LONG_SIDE = 1280
MIN_LINE_SCORE = 0.6  # recognition score below which a line is dropped as noise
TEXT_TAG_MIN_SCORE = 0.8  # lines that count towards the "text" tag
TEXT_TAG_MIN_CHARS = 3  # letters or digits among those lines


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: list[list[float]]  # four [x, y] corners in the given image's pixels
    score: float

    def to_dict(self) -> dict:
        return {"text": self.text, "box": self.box, "score": round(self.score, 4)}


@dataclass
class OcrResult:
    lines: list[OcrLine] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def boxes_json(self) -> str:
        return json.dumps([line.to_dict() for line in self.lines], ensure_ascii=False)

    @property
    def has_readable_text(self) -> bool:
        confident = "".join(line.text for line in self.lines if line.score >= TEXT_TAG_MIN_SCORE)
        return sum(ch.isalnum() for ch in confident) >= TEXT_TAG_MIN_CHARS


class TextReader(InferenceModel):
    """`read(image)` -> OcrResult. One engine per process; calls are serialised."""

    id = OCR_ANNOTATOR_ID

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        self.threads = threads
        self._engine = None
        self._call_lock = threading.Lock()

    def _load(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise ModelUnavailableError(
                "OCR needs the package rapidocr-onnxruntime (pip install rapidocr-onnxruntime==1.4.4)"
            ) from None
        from photoseek.config import cpu_threads

        threads = self.threads or cpu_threads()
        self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)

    def read(self, image: "Image.Image") -> OcrResult:
        import numpy as np

        width, height = image.size
        if min(width, height) < 8:
            return OcrResult()  # nothing readable fits in a sliver
        self.ensure_loaded()
        scale = min(1.0, MAX_LONG_SIDE / max(width, height))
        small = image.convert("RGB")
        if scale < 1.0:
            small = small.resize((max(1, round(width * scale)), max(1, round(height * scale))))
        bgr = np.ascontiguousarray(np.asarray(small)[..., ::-1])  # RapidOCR follows OpenCV's BGR order
        with self._call_lock:
            found, _timings = self._engine(bgr)
        lines = []
        for box, text, score in found or []:
            text = " ".join(str(text).split())
            score = float(score)
            if score < MIN_LINE_SCORE or sum(ch.isalnum() for ch in text) < 1:
                continue
            corners = [[round(float(x) / scale, 1), round(float(y) / scale, 1)] for x, y in box]
            lines.append(OcrLine(text, corners, score))
        return OcrResult(lines)


_default_reader: TextReader | None = None
_default_lock = threading.Lock()


def default_reader() -> TextReader:
    global _default_reader
    with _default_lock:
        if _default_reader is None:
            _default_reader = TextReader()
        return _default_reader


def read_text(image: "Image.Image") -> OcrResult:
    return default_reader().read(image)
