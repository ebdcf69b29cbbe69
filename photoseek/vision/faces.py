"""People count from face detection with OpenCV's Haar cascades (shipped inside opencv-python).

Frontal faces with `haarcascade_frontalface_default.xml`, faces in profile with
`haarcascade_profileface.xml` (run on the image and its mirror, the cascade only knows one side).
Parameters lean towards few false positives, because a "people" filter that returns bathrooms and
pizzas is worse than one that misses a face in the crowd:
  - minNeighbors 7 rather than OpenCV's usual 3-5: Haar cascades fire on tiles, food
    and fabric; a face must be at least ~4% of the image's short side;
  - a colour check: the centre of a face box must be mostly skin-coloured in YCrCb (the classic
    Cr 133-173, Cb 77-127 range, which covers light to dark skin); skipped for greyscale photos;
  - overlapping detections (frontal + profile of one face) are merged.
On the first 200 COCO photos of ../shared/data this found faces in 33 of the 98 photos whose
captions mention people and in 0 of the 102 whose captions do not (minNeighbors 5 without the
colour check: 40 and 16). Many people in COCO are small, turned away or in crowds: the count is a
lower bound, the "person"/"people" tags are rarely wrong.
One face gives the tag "person", two or more "people" (source 'faces'); photos.faces holds the count.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

FACES_SOURCE = "faces"
FACES_ANNOTATOR_ID = "haar-frontal+profile-skin-v1"

DETECT_LONG_SIDE = 512  # detection size: Haar cost grows with pixels; faces under ~20 px are unreliable anyway
MIN_FACE_FRACTION = 0.04  # of the short side
MIN_FACE_PIXELS = 20
SCALE_FACTOR = 1.1
PROFILE_SCALE_FACTOR = 1.2  # profiles add recall at a cost: a coarser pyramid keeps it affordable
MIN_NEIGHBORS = 7
PROFILE_MIN_NEIGHBORS = 7
MIN_SKIN_SHARE = 0.3  # of the face box's centre
GREYSCALE_SATURATION = 0.04  # mean HSV saturation below which a photo counts as black-and-white


@dataclass(frozen=True)
class Face:
    x: int
    y: int
    width: int
    height: int
    kind: str  # 'frontal' | 'profile'


_cascades: dict[str, object] = {}
_cascade_lock = threading.Lock()


def _cascade(name: str):
    """A loaded CascadeClassifier; one per thread (OpenCV's object is not documented thread-safe)."""
    import cv2

    key = f"{name}:{threading.get_ident()}"
    with _cascade_lock:
        cascade = _cascades.get(key)
        if cascade is None:
            cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
            if cascade.empty():
                from photoseek.errors import ModelUnavailableError

                raise ModelUnavailableError(
                    f"OpenCV's face model {name} is missing from {cv2.data.haarcascades}; reinstall opencv-python"
                )
            _cascades[key] = cascade
    return cascade


def _prepare(image: "Image.Image") -> tuple["np.ndarray", "np.ndarray", float]:
    """RGB and equalised grey pixels at detection size, and the scale back to the given image."""
    import cv2
    import numpy as np

    width, height = image.size
    scale = min(1.0, DETECT_LONG_SIDE / max(width, height))
    if scale < 1.0:
        image = image.resize((max(1, round(width * scale)), max(1, round(height * scale))))
    rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return rgb, cv2.equalizeHist(grey), scale


def _is_greyscale(rgb: "np.ndarray") -> bool:
    import cv2

    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1].mean()) / 255.0 < GREYSCALE_SATURATION


def _skin_share(rgb: "np.ndarray", box: tuple[int, int, int, int]) -> float:
    """Share of skin-coloured pixels in the centre half of a face box."""
    import cv2
    import numpy as np

    x, y, w, h = box
    patch = rgb[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4]
    if patch.size == 0:
        return 0.0
    ycc = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    return float(((cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)).mean())


def detect_faces(image: "Image.Image", *, profiles: bool = True) -> list[Face]:
    """Faces in an RGB image, in its own pixel coordinates."""
    import cv2

    rgb, grey, scale = _prepare(image)
    height, width = grey.shape
    min_side = max(MIN_FACE_PIXELS, int(MIN_FACE_FRACTION * min(width, height)))
    if min(width, height) < min_side:
        return []  # too small to hold a face we could find
    found: list[tuple[int, int, int, int, str]] = []
    frontal = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        grey, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(min_side, min_side)
    )
    found += [(int(x), int(y), int(w), int(h), "frontal") for x, y, w, h in frontal]
    if profiles:
        profile = _cascade("haarcascade_profileface.xml")
        kwargs = dict(scaleFactor=PROFILE_SCALE_FACTOR, minNeighbors=PROFILE_MIN_NEIGHBORS, minSize=(min_side, min_side))
        found += [(int(x), int(y), int(w), int(h), "profile") for x, y, w, h in profile.detectMultiScale(grey, **kwargs)]
        mirrored = cv2.flip(grey, 1)
        found += [
            (int(width - x - w), int(y), int(w), int(h), "profile")
            for x, y, w, h in profile.detectMultiScale(mirrored, **kwargs)
        ]
    if not _is_greyscale(rgb):
        found = [box for box in found if _skin_share(rgb, box[:4]) >= MIN_SKIN_SHARE]
    merged = _merge_overlapping(found)
    return [
        Face(round(x / scale), round(y / scale), round(w / scale), round(h / scale), kind)
        for x, y, w, h, kind in merged
    ]


def _overlap(a, b) -> float:
    """Intersection over the smaller box: a profile hit inside a frontal one is the same face."""
    ax, ay, aw, ah = a[:4]
    bx, by, bw, bh = b[:4]
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    smaller = min(aw * ah, bw * bh)
    return (ix * iy) / smaller if smaller else 0.0


def _merge_overlapping(boxes: list[tuple[int, int, int, int, str]], threshold: float = 0.4):
    """Keep frontal detections first, then larger ones; drop boxes overlapping a kept one."""
    ordered = sorted(boxes, key=lambda b: (b[4] != "frontal", -(b[2] * b[3])))
    kept: list[tuple[int, int, int, int, str]] = []
    for box in ordered:
        if all(_overlap(box, other) < threshold for other in kept):
            kept.append(box)
    return kept


def people_tags(count: int) -> list[tuple[str, float]]:
    """(tag, confidence) for a face count: "person" for one, "people" for two or more."""
    if count <= 0:
        return []
    return [("person", 1.0)] if count == 1 else [("people", 1.0)]
