"""Text in photos with RapidOCR (PP-OCRv4 detection + recognition on onnxruntime).

The models ship inside the `rapidocr-onnxruntime` wheel, so nothing is downloaded; the engine is
created on first use. Large photos are downscaled first (OCR cost grows with pixels; text too small
to read at 1280 px on the long side is rarely what anyone searches for). Lines with a low
recognition score or without letters/digits are dropped; the tag "text" (source 'ocr') means at
least a few confidently read characters.

Memory stays bounded whatever the shape. RapidOCR scales an input so that its short side is at least
30 px and then 736 px (its detector's `limit_type: min`), so a 1280×1 strip became a (9600, 38400, 3)
float32 array (4 GiB), and a 790×36861 chat screenshot squeezed to 27×1280 lost every line. So a
photo longer than TILE_ABOVE_ASPECT:1 is cut along its long side into overlapping tiles of
MAX_TILE_ASPECT:1 (at most MAX_TILES of them; past that the tiles get longer and are scaled down),
a tile thinner than that (a strip) is padded with white, lines cut by a tile's inner edge are left to
the neighbouring tile that holds them whole, and lines read twice in an overlap are kept once. The
detector then sees at most ~736×2944 px per call.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from photoseek.inference import process_wide
from photoseek.errors import ModelUnavailableError
from photoseek.vision.base import InferenceModel

if TYPE_CHECKING:
    from PIL import Image

OCR_SOURCE = "ocr"
OCR_ANNOTATOR_ID = "rapidocr-ppocrv4-v1"

MAX_LONG_SIDE = 1280
MIN_SHORT_SIDE = 8  # px: nothing readable fits in a thinner sliver
MAX_TILE_ASPECT = 2.0  # long:short of each tile, and the least a padded strip is given
TILE_ABOVE_ASPECT = 4.0  # photos up to this long:short are read whole (a line across a 3:1 panorama stays whole)
TILE_OVERLAP = 0.15  # of a tile's length: a line cut by one tile's edge is whole in the next
MAX_TILES = 32  # per photo: bounds the time a very long screenshot or panorama costs
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
        """Lines of text in an image of any size and shape; boxes are in the image's own pixels."""
        width, height = image.size
        if min(width, height) < MIN_SHORT_SIDE:
            return OcrResult()  # nothing readable fits in a sliver
        self.ensure_loaded()
        lines: list[OcrLine] = []
        for box in tile_boxes(width, height):
            for line in self._read_tile(image, box):
                if _cut_by_tile_edge(line, box, width, height):
                    continue  # the overlap holds it whole in the neighbouring tile
                if not any(_same_line(line, kept) for kept in lines):
                    lines.append(line)
        return OcrResult(lines)

    def _read_tile(self, image: "Image.Image", box: tuple[int, int, int, int]) -> list[OcrLine]:
        """One tile (left, top, right, bottom), scaled to at most MAX_LONG_SIDE and padded to at most
        MAX_TILE_ASPECT:1 with white, read; corners mapped back to `image` coordinates."""
        import numpy as np
        from PIL import Image

        left, top, right, bottom = box
        tile = image.crop(box) if box != (0, 0, *image.size) else image
        width, height = tile.size
        scale = min(1.0, MAX_LONG_SIDE / max(width, height))
        small = tile.convert("RGB")
        if scale < 1.0:
            small = small.resize((max(1, round(width * scale)), max(1, round(height * scale))))
        w, h = small.size
        if _is_blank(small):
            return []  # a plain tile (the margin of a screenshot, a strip of one colour): no text to find
        pad_to = MAX_TILE_ASPECT if max(w, h) > min(w, h) * TILE_ABOVE_ASPECT else TILE_ABOVE_ASPECT
        need_w = max(w, int(np.ceil(h / pad_to)))
        need_h = max(h, int(np.ceil(w / pad_to)))
        if (need_w, need_h) != (w, h):
            padded = Image.new("RGB", (need_w, need_h), (255, 255, 255))
            padded.paste(small, (0, 0))
            small = padded
        bgr = np.ascontiguousarray(np.asarray(small)[..., ::-1])  # RapidOCR follows OpenCV's BGR order
        with self._call_lock:
            found, _timings = self._engine(bgr)
        lines = []
        for corners, text, score in found or []:
            text = " ".join(str(text).split())
            score = float(score)
            if score < MIN_LINE_SCORE or sum(ch.isalnum() for ch in text) < 1:
                continue
            mapped = [[round(left + float(x) / scale, 1), round(top + float(y) / scale, 1)] for x, y in corners]
            lines.append(OcrLine(text, mapped, score))
        return lines


def tile_boxes(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Crop boxes (left, top, right, bottom) covering a width×height image: the whole image when it
    is no longer than TILE_ABOVE_ASPECT:1, else overlapping tiles along its long side, each about
    MAX_TILE_ASPECT times the short side long (longer when that would make more than MAX_TILES)."""
    long_side, short_side = max(width, height), min(width, height)
    if long_side <= short_side * TILE_ABOVE_ASPECT:
        return [(0, 0, width, height)]
    length = max(int(short_side * MAX_TILE_ASPECT), 1)
    step = max(int(length * (1 - TILE_OVERLAP)), 1)
    count = -(-(long_side - length) // step) + 1
    if count > MAX_TILES:
        # longer tiles (then scaled down to fit MAX_LONG_SIDE): the cost stays at MAX_TILES calls
        length = -(-long_side // (MAX_TILES * (1 - TILE_OVERLAP) + TILE_OVERLAP))
        length = int(length) + 1
        step = max(int(length * (1 - TILE_OVERLAP)), 1)
        count = -(-(long_side - length) // step) + 1
    starts = [min(i * step, long_side - length) for i in range(int(count))]
    if width >= height:
        return [(x, 0, x + length, height) for x in starts]
    return [(0, y, width, y + length) for y in starts]


BLANK_SPREAD = 6  # grey levels: a tile whose pixels all lie within this is read as empty


def _is_blank(image: "Image.Image") -> bool:
    lo, hi = image.convert("L").getextrema()
    return hi - lo <= BLANK_SPREAD


def _bounds(line: OcrLine) -> tuple[float, float, float, float]:
    xs = [p[0] for p in line.box]
    ys = [p[1] for p in line.box]
    return min(xs), min(ys), max(xs), max(ys)


EDGE_MARGIN = 3  # px: a line this close to a tile's inner edge was cut by it


def _cut_by_tile_edge(line: OcrLine, box: tuple[int, int, int, int], width: int, height: int) -> bool:
    """Whether the line touches an edge of its tile that is not an edge of the image."""
    left, top, right, bottom = box
    x0, y0, x1, y1 = _bounds(line)
    return (
        (left > 0 and x0 - left <= EDGE_MARGIN) or (right < width and right - x1 <= EDGE_MARGIN)
        or (top > 0 and y0 - top <= EDGE_MARGIN) or (bottom < height and bottom - y1 <= EDGE_MARGIN)
    )


def _same_line(a: OcrLine, b: OcrLine) -> bool:
    """The same words read in two overlapping tiles: equal text (or one part of the other, a line
    cut at a tile edge) whose boxes overlap by half of the smaller."""
    at, bt = "".join(a.text.split()).lower(), "".join(b.text.split()).lower()
    if not (at in bt or bt in at):
        return False
    ax0, ay0, ax1, ay1 = _bounds(a)
    bx0, by0, bx1, by1 = _bounds(b)
    ix = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    iy = max(0.0, min(ay1, by1) - max(ay0, by0))
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return smaller > 0 and ix * iy >= 0.5 * smaller


@process_wide
def default_reader() -> TextReader:
    """One reader per process."""
    return TextReader()


def read_text(image: "Image.Image") -> OcrResult:
    return default_reader().read(image)
