"""Who a face is, as a vector: dlib's ResNet face descriptor (128-d; 99.38 % on LFW) on faces aligned
by dlib's 5-point landmark model, both from the `face-recognition-models` package (CC0 model files,
read from the installed package without importing it: its import needs pkg_resources) and run by
`dlib-bin`. Nothing is downloaded.

Faces come from the people detector's BlazeFace boxes (photoseek.vision.faces), so recognition costs
no second detection. Measured on ../shared/data/faces (378 photos): BlazeFace finds a face in 372 of
them, dlib's HOG detector in 326 (339 upsampled); for faces both find, descriptors from the two
boxes differ by a median distance of 0.05 and separate people equally well, so the landmark model
aligns BlazeFace's boxes as it aligns HOG's.

Which faces are recognised (`recognisable`): the eyes at least MIN_EYE_DISTANCE pixels apart in the
work image the detector saw, and turned no further than MAX_TURN (the nose tip's distance from the
eyes' midline, in eye distances; about 0.5 at 45 degrees). On the faces set, faces turned further
than 0.6 had another person as their nearest neighbour 27 % of the time (1 % below); smaller faces
14 %. MAX_TURN 0.7 was chosen with the clustering (bench/people_clustering.py on descriptors of every
BlazeFace face, a setting chosen on half of the people and checked on the other half): person
search recall 0.914 -> 0.927 at the same precision (audited labels), pairwise 1.000 / 1.000 kept;
0.8 and more cost pairwise recall (0.974) or search precision (0.962 on one half).
A photo gives at most MAX_FACES_PER_PHOTO descriptors, the largest faces first, so a crowd photo
costs bounded time (~0.1 s a face on one core).

A face turned more than MIRROR_TURN is described by the mean of its and its mirror image's descriptors
(test-time augmentation, a second pass of the network); a nearly frontal face, which its mirror barely
changes, by one pass. On the faces set (625 recognised faces; bench/people_clustering.py over the
descriptors of one index, audited labels): the mirror for every face gives pairwise 1.000 / 1.000 and
search 0.986 / 0.927 / 0.955; for no face 1.000 / 0.975 and 0.986 / 0.921 / 0.952; for the 186 faces
turned more than 0.2 (30 % of them: 811 passes instead of 1,250) the same figures as for every face
(labels as given: pairwise recall 0.859 against 0.863, one photo more lost). 0.2 is the largest
threshold that kept half A's figures (0.1 and 0.15 gave the same; 0.25 lost a photo); half B, held
out, kept its own. Other ways measured (each on all 614 faces of the first version): dlib's 68-point
landmarks 0.951 pairwise recall; the detector's box shrunk to 0.9 or grown to 1.15 before the
landmarks 0.974 / 1.000 at lower search precision; a padding of 0.3, or 0.2 and 0.3 averaged
(4 passes), join two people (pairwise precision 0.81); dlib's num_jitters=4 (4 passes) the same
figures as the mirror.

Each face also gets a small upright crop (JPEG), what the People view and contact sheets show.
Descriptors are compared by Euclidean distance (dlib's convention: 0.6 separates people on LFW).
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from photoseek.errors import ModelUnavailableError
from photoseek.inference import InferenceModel, process_wide

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from photoseek.vision.faces import Face

FACE_RECOGNITION_ID = "dlib-resnet-v1-5pt-flip0.2+blazeface-v2"  # model + alignment + which faces: stored with each face
DESCRIPTOR_DIM = 128
MODELS_REQUIREMENT = "face-recognition-models==0.3.0"
DLIB_REQUIREMENT = "dlib-bin==20.0.1.post1"
LANDMARKS_FILE = "models/shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_FILE = "models/dlib_face_recognition_resnet_model_v1.dat"

MIN_EYE_DISTANCE = 14.0  # px between the eye centres in the image the detector saw (a face ~40 px wide)
MAX_TURN = 0.7  # nose tip off the eyes' midline, in eye distances (0 frontal; ~0.5 at 45 degrees)
MIRROR_TURN = 0.2  # faces turned further are also described from their mirror image (see above)
MAX_FACES_PER_PHOTO = 24
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # what dlib's descriptor network was trained on
CROP_SIZE, CROP_PADDING, CROP_QUALITY = 128, 0.6, 82  # the face crops people see


@dataclass(frozen=True)
class FaceDescriptor:
    """One recognised face: `box` (x, y, width, height) as fractions of the photo's width and height,
    `descriptor` (float32, DESCRIPTOR_DIM), `quality` 0..1 (size and how frontal), `crop` (JPEG)."""

    box: tuple[float, float, float, float]
    descriptor: "np.ndarray"
    quality: float
    crop: bytes


def face_model_file(name: str) -> Path:
    """A file of the installed face-recognition-models package, found without importing it.
    Raises ModelUnavailableError saying how to install it."""
    from photoseek.vision.faces import installed_package_file

    path = installed_package_file("face_recognition_models", name)
    if path is not None:
        return path
    raise ModelUnavailableError(
        f"face recognition needs dlib's face models ({name}); install them with "
        f"`pip install {MODELS_REQUIREMENT} {DLIB_REQUIREMENT}`, or index with --no-face-recognition"
    )


def eye_distance(face: "Face") -> float:
    """Pixels between the eye keypoints BlazeFace gave (0 without keypoints)."""
    if len(face.keypoints) < 2:
        return 0.0
    (x1, y1), (x2, y2) = face.keypoints[0], face.keypoints[1]
    return math.hypot(x2 - x1, y2 - y1)


def turn(face: "Face") -> float:
    """How far the face is turned from the camera: the nose tip's distance from the perpendicular
    bisector of the eyes, in eye distances (0 frontal, ~0.5 at 45 degrees, > 1 in profile)."""
    if len(face.keypoints) < 3:
        return math.inf
    (x1, y1), (x2, y2), (nx, ny) = face.keypoints[:3]
    ex, ey = x2 - x1, y2 - y1
    eyes = math.hypot(ex, ey)
    if eyes == 0:
        return math.inf
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    return abs((nx - mx) * ex + (ny - my) * ey) / (eyes * eyes)


def recognisable(face: "Face") -> bool:
    """Large and frontal enough to recognise (see the module docstring for the figures)."""
    return face.kind == "face" and eye_distance(face) >= MIN_EYE_DISTANCE and turn(face) <= MAX_TURN


def face_quality(face: "Face") -> float:
    """0..1: 1 for a frontal face with eyes 40+ px apart, less for smaller or more turned ones."""
    size = min(1.0, eye_distance(face) / 40.0)
    frontal = max(0.0, 1.0 - turn(face) / 1.2)  # 0.5 at a turn of 0.6
    return round(size * frontal, 3)


class _Models(threading.local):
    landmarks: object = None
    descriptor: object = None


class FaceRecognizer(InferenceModel):
    """dlib's 5-point landmarks + ResNet descriptor. `describe(image, faces)` -> [FaceDescriptor] for
    the recognisable ones among `faces` (found in `image`'s pixels). dlib's network object keeps
    per-call state, so each thread loads its own copy (31 MB; ingest runs 2-4 workers)."""

    def __init__(self) -> None:
        super().__init__()
        self._files: dict[str, str] = {}
        self._local = _Models()

    def _load(self) -> None:
        try:
            import dlib  # noqa: F401
        except ImportError:
            raise ModelUnavailableError(
                f"face recognition needs dlib: pip install {DLIB_REQUIREMENT} {MODELS_REQUIREMENT} "
                "(or index with --no-face-recognition)"
            ) from None
        self._files = {"landmarks": str(face_model_file(LANDMARKS_FILE)),
                       "descriptor": str(face_model_file(DESCRIPTOR_FILE))}

    def _models(self):
        local = self._local
        if local.landmarks is None:
            import dlib

            local.landmarks = dlib.shape_predictor(self._files["landmarks"])
            local.descriptor = dlib.face_recognition_model_v1(self._files["descriptor"])
        return local.landmarks, local.descriptor

    def describe(self, image: "Image.Image", faces: Sequence["Face"]) -> list[FaceDescriptor]:
        import dlib
        import numpy as np

        chosen = [f for f in faces if recognisable(f)]
        chosen = sorted(chosen, key=lambda f: (-eye_distance(f), f.x, f.y))[:MAX_FACES_PER_PHOTO]
        if not chosen:
            return []
        self.ensure_loaded()
        landmarks, network = self._models()
        pixels = np.asarray(image.convert("RGB"))
        height, width = pixels.shape[:2]
        out = []
        for face in sorted(chosen, key=lambda f: (f.x, f.y)):  # left to right: what --face N counts
            shape = landmarks(pixels, dlib.rectangle(face.x, face.y, face.x + face.width, face.y + face.height))
            chip = dlib.get_face_chip(pixels, shape, CHIP_SIZE, CHIP_PADDING)
            if turn(face) > MIRROR_TURN:  # the face and its mirror image, averaged (test-time augmentation)
                pair = network.compute_face_descriptor([chip, np.ascontiguousarray(chip[:, ::-1])])
                descriptor = np.mean(np.asarray(pair, dtype=np.float32), axis=0)
            else:
                descriptor = np.asarray(network.compute_face_descriptor(chip), dtype=np.float32)
            crop = dlib.get_face_chip(pixels, shape, CROP_SIZE, CROP_PADDING)
            x0, y0 = max(face.x, 0), max(face.y, 0)
            x1, y1 = min(face.x + face.width, width), min(face.y + face.height, height)
            box = (x0 / width, y0 / height, max(x1 - x0, 1) / width, max(y1 - y0, 1) / height)
            out.append(FaceDescriptor(tuple(round(v, 5) for v in box), descriptor, face_quality(face), _jpeg(crop)))
        return out


def _jpeg(pixels: "np.ndarray") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=CROP_QUALITY)
    return buffer.getvalue()


@process_wide
def face_recognizer() -> FaceRecognizer:
    """The process's recognizer (dlib models per thread inside it)."""
    return FaceRecognizer()


def describe_faces(image: "Image.Image", faces: Sequence["Face"] | None = None) -> list[FaceDescriptor]:
    """Descriptors of the recognisable faces in `image` (detected here unless `faces` are given)."""
    if faces is None:
        from photoseek.vision.faces import people_detector

        faces = people_detector().detect_people_and_faces(image)[1]
    return face_recognizer().describe(image, faces)


def face_distance(a: "np.ndarray", b: "np.ndarray") -> float:
    import numpy as np

    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))
