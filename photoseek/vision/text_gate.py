"""A cheap "is there text in this photo?" check that decides whether full OCR runs.

Full OCR (photoseek.vision.ocr, RapidOCR) costs about a second a photo on a laptop core: RapidOCR
scales the short side UP to 736 px before its text detector, then recognises every box. Many
photos hold no text, so the default ingest first runs the same PP-OCRv4 text detector
(DBNet, `ch_PP-OCRv4_det_infer.onnx`, shipped inside the rapidocr-onnxruntime wheel) once, at
GATE_LONG_SIDE px on the long side (a 4:3 photo: 0.42 of the pixels full OCR's detector sees), and
looks at its probability map: a photo passes when at least MIN_TEXT_PIXELS pixels of the map are
above PIXEL_THRESHOLD. Only then does full OCR run. Thresholds lean to recall (a missed sign is a
search that fails; a false alarm only costs one OCR call). Recall of the gate on photos where full
OCR reads text, and the share it sends to OCR: `bench/text_gate.py` (figures in the README).

`TextGate().has_text(image) -> bool`; `TextGate().text_score(image) -> int` (pixels above the
threshold, at gate size). One ONNX Runtime session per process, sized to `threads` (default 1: the
gate runs in the ingest's worker threads, one core each).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from photoseek.errors import ModelUnavailableError
from photoseek.inference import InferenceModel, process_wide

if TYPE_CHECKING:
    from PIL import Image

# px, sides rounded to multiples of 32 (DBNet's stride). COCO's text is small (watermarks, shop
# signs, bus numbers): on the first 200 COCO photos the gate kept 30 of the 63 photos where full
# OCR reads something at 416 px, 38 at 544 and 51 at 640 (bench/text_gate.py); 640 keeps most and
# is still less than half the pixels of full OCR's detector input (736 px on the SHORT side).
GATE_LONG_SIDE = 640
PIXEL_THRESHOLD = 0.3  # DBNet's own binarisation threshold in RapidOCR's config
MIN_TEXT_PIXELS = 1  # any pixel: DBNet's map is near binary, and a higher count only lost hits
TEXT_GATE_ID = f"ppocrv4-det-gate{GATE_LONG_SIDE}-v1"  # recorded with OCR: another size redoes OCR
DET_MODEL = "ch_PP-OCRv4_det_infer.onnx"


def detector_model_path() -> Path:
    """The text detector's ONNX file inside the installed rapidocr-onnxruntime package."""
    try:
        import rapidocr_onnxruntime
    except ImportError:
        raise ModelUnavailableError(
            "the OCR gate needs the package rapidocr-onnxruntime (pip install rapidocr-onnxruntime==1.4.4)"
        ) from None
    path = Path(rapidocr_onnxruntime.__file__).parent / "models" / DET_MODEL
    if not path.exists():
        raise ModelUnavailableError(f"{DET_MODEL} is missing from {path.parent}; reinstall rapidocr-onnxruntime")
    return path


class TextGate(InferenceModel):
    """Runs PP-OCRv4's text detector at a small size; see the module docstring."""

    id = TEXT_GATE_ID

    def __init__(self, threads: int = 1, long_side: int = GATE_LONG_SIDE) -> None:
        super().__init__()
        self.threads = max(1, threads)
        self.long_side = long_side
        self._session = None
        self._input = None

    def _load(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(detector_model_path()), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def probability_map(self, image: "Image.Image"):
        """(h, w) float32 text probabilities at gate size (sides multiples of 32, aspect kept)."""
        import numpy as np
        from PIL import Image as PILImage

        self.ensure_loaded()
        width, height = image.size
        scale = self.long_side / max(width, height)
        w = max(32, int(round(width * scale / 32)) * 32)
        h = max(32, int(round(height * scale / 32)) * 32)
        small = image.convert("RGB").resize((w, h), PILImage.Resampling.BILINEAR)
        # RapidOCR feeds OpenCV's BGR order, normalised with mean 0.5 and std 0.5
        pixels = np.asarray(small, dtype=np.float32)[..., ::-1] * (2.0 / 255.0) - 1.0
        batch = np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])
        return self._session.run(None, {self._input: batch})[0][0, 0]

    def text_score(self, image: "Image.Image") -> int:
        """Pixels of the probability map above PIXEL_THRESHOLD (0 for images too small to hold text)."""
        if min(image.size) < 8:
            return 0
        return int((self.probability_map(image) > PIXEL_THRESHOLD).sum())

    def has_text(self, image: "Image.Image") -> bool:
        return self.text_score(image) >= MIN_TEXT_PIXELS


@process_wide
def default_gate() -> TextGate:
    """One gate per process (ONNX Runtime sessions are safe to call from several threads)."""
    return TextGate()
