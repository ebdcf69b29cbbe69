"""A scene-layout descriptor for "the same place" (a fixed camera, a landmark shot again at night).

The classifier's pooled features say *what* is in a photo and change a lot between day and night;
the arrangement of edges (buildings, horizon, roads) does not. This is a HOG (Dalal & Triggs)
over the whole frame of a contrast-equalised (CLAHE) greyscale thumbnail: a GIST-like global
descriptor. Search compares it after subtracting the library's mean descriptor, as instance
retrieval does, so what all photos share does not dominate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

LAYOUT_ID = "layout:hog64-clahe-v1"
SIZE = 64
CELL = 8
LAYOUT_DIM = ((SIZE - 2 * CELL) // CELL + 1) ** 2 * 4 * 9  # blocks × cells per block × bins = 1764

_hog = None


def layout_descriptor(image: "Image.Image") -> "np.ndarray":
    """(LAYOUT_DIM,) float32, zero-mean, L2-normalised."""
    import cv2
    import numpy as np

    global _hog
    if _hog is None:
        _hog = cv2.HOGDescriptor((SIZE, SIZE), (2 * CELL, 2 * CELL), (CELL, CELL), (CELL, CELL), 9)
    grey = np.asarray(image.convert("L").resize((SIZE, SIZE)), dtype=np.uint8)
    grey = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(grey)
    vector = _hog.compute(grey).ravel().astype(np.float32)
    vector -= vector.mean()
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
