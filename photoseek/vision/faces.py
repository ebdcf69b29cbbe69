"""People in a photo, from MediaPipe's BlazePose person detector and BlazeFace full-range face
detector (TFLite graphs that ship inside the `mediapipe==0.10.21` wheel, run by LiteRT
(`ai-edge-litert`); nothing is downloaded and mediapipe itself is never imported).

Both are single-shot detectors (SSD) over a fixed anchor grid (Bazarevsky et al., 2019 "BlazeFace";
2020 "BlazePose"): the person detector finds a person by the head and upper body at 224 px, the
face detector faces down to a few pixels at 192 px. Each sees the photo letterboxed whole and, for
photos wider (or taller) than SQUARE_VIEW_ASPECT, as squares of the short side spread along the long
side: a 640x480 photo is seen at 224 px whole and as two 480x480 squares, so small people are seen at
about 1.4x the scale. Detections from all views are put back into photo pixels and merged by
non-maximum suppression. The face box is the face; the person box sits between face and shoulders,
so two detections are one person when their centres are closer than MERGE_DISTANCE of the larger box.

Measured with `bench/people.py --photos 461` (COCO photos of ../shared/data; positives: photos a
caption says show a person, 216 of 461): people found in 66% of the positives at 90% precision,
against 41% at 98% for MTCNN, the previous detector. On the first 200 (the set the thresholds
were chosen on) 74% at 93% (MTCNN 49% at 98%); on the other 261, 60% at 89%.
One detection gives the tag "person", two or more "people" (source 'faces'); photos.faces holds the
count. The count is a lower bound: people turned away, in crowds or only a hand in the frame are missed.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from photoseek.errors import ModelUnavailableError
from photoseek.inference import InferenceModel, process_wide

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

FACES_SOURCE = "faces"
FACES_ANNOTATOR_ID = "mediapipe-0.10.21-blazepose+blazeface-full-v1"
MEDIAPIPE_REQUIREMENT = "mediapipe==0.10.21"

SQUARE_VIEW_ASPECT = 1.15  # long/short side above which squares are added to the whole view
MAX_SQUARE_VIEWS = 6  # panoramas: at most this many squares along the long side
MERGE_DISTANCE = 0.75  # centres closer than this many box sides: one person (see merge_overlapping)
MIN_PHOTO_PIXELS = 16  # a side shorter than this cannot show a findable head


@dataclass(frozen=True)
class SsdSpec:
    """One MediaPipe SSD detector: its file in the wheel, input side (px), anchor strides with
    anchors per cell, and the score from which a detection counts.
    The anchors follow MediaPipe's SsdAnchorsCalculator with fixed_anchor_size (centres of every
    cell of each stride's grid, layers of equal stride merged)."""

    kind: str
    wheel_path: str
    size: int
    anchors_per_stride: tuple[tuple[int, int], ...]
    min_score: float


# Minimum scores chosen on bench/people.py's first 200 COCO photos for >= 90% precision over all 461.
PERSON_DETECTOR = SsdSpec(
    "person", "modules/pose_detection/pose_detection.tflite", 224, ((8, 2), (16, 2), (32, 6)), 0.75
)
FACE_DETECTOR = SsdSpec(
    "face", "modules/face_detection/face_detection_full_range_sparse.tflite", 192, ((4, 1),), 0.65
)
DETECTORS = (PERSON_DETECTOR, FACE_DETECTOR)


@dataclass(frozen=True)
class Face:
    """A head found in a photo, in its pixels; `kind` says which detector found it ("person", "face")."""

    x: int
    y: int
    width: int
    height: int
    confidence: float
    kind: str = "face"
    # BlazeFace's six keypoints in photo pixels (face detections only): the eyes (the one on the
    # photo's left first), nose tip, mouth centre, and the two ear tragions
    keypoints: tuple[tuple[float, float], ...] = ()


def mediapipe_model_file(wheel_path: str) -> Path:
    """The file at `wheel_path` inside the installed mediapipe package, found without importing it
    (its import needs jax and protobuf<5, which photoseek does not install).

    Raises ModelUnavailableError saying how to install it when the package or the file is absent."""
    path = installed_package_file("mediapipe", wheel_path)
    if path is not None:
        return path
    raise ModelUnavailableError(
        f"people detection needs MediaPipe's model files ({wheel_path}); install them with "
        f"`pip install --no-deps {MEDIAPIPE_REQUIREMENT}` (photoseek only reads the .tflite files)"
    )


def installed_package_file(package: str, relative: str) -> Path | None:
    """A file inside an installed package, found without importing it (mediapipe's import needs jax,
    face_recognition_models' pkg_resources); None when the package or the file is missing."""
    spec = importlib.util.find_spec(package)
    for root in list(spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / relative
        if path.is_file():
            return path
    return None


def _anchors(spec: SsdSpec) -> "np.ndarray":
    """(n, 2) anchor centres (x, y), normalised to the input square."""
    import numpy as np

    centres = []
    for stride, per_cell in spec.anchors_per_stride:
        cells = math.ceil(spec.size / stride)
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        xs, ys = np.meshgrid(grid, grid)
        centres.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(centres)


def square_views(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(left, top, right, bottom) of the views a photo is seen in: the whole photo, then, when one
    side is more than SQUARE_VIEW_ASPECT times the other, squares of the short side spread evenly
    from one end of the long side to the other (two for 4:3, more for panoramas)."""
    views = [(0, 0, width, height)]
    short, long_side = min(width, height), max(width, height)
    if long_side <= short * SQUARE_VIEW_ASPECT:
        return views
    count = min(MAX_SQUARE_VIEWS, max(2, math.ceil(long_side / short)))
    for i in range(count):
        start = round(i * (long_side - short) / (count - 1))
        views.append((start, 0, start + short, short) if width >= height else (0, start, short, start + short))
    return views


class _Interpreters(threading.local):
    by_kind: dict[str, object]

    def __init__(self) -> None:
        self.by_kind = {}


class PeopleDetector(InferenceModel):
    """BlazePose person detector + BlazeFace full-range face detector (see the module docstring).

    `detect(image)` -> [Face] in photo pixels, most confident first. A LiteRT interpreter is not safe
    to call from two threads, so each thread gets its own (one thread each: ingest runs several
    annotators side by side)."""

    def __init__(self) -> None:
        super().__init__()
        self._files: dict[str, Path] = {}
        self._anchors: dict[str, "np.ndarray"] = {}
        self._local = _Interpreters()

    def _load(self) -> None:
        try:
            import ai_edge_litert.interpreter  # noqa: F401
        except ImportError:
            raise ModelUnavailableError(
                "people detection needs LiteRT to run MediaPipe's detectors: pip install ai-edge-litert"
            ) from None
        for spec in DETECTORS:
            self._files[spec.kind] = mediapipe_model_file(spec.wheel_path)
            self._anchors[spec.kind] = _anchors(spec)

    def _interpreter(self, spec: SsdSpec):
        interpreter = self._local.by_kind.get(spec.kind)
        if interpreter is None:
            from ai_edge_litert.interpreter import Interpreter

            from photoseek.vision.model_cache import quiet_native_stderr

            with quiet_native_stderr():  # LiteRT's XNNPACK notice on every first interpreter
                interpreter = Interpreter(model_path=str(self._files[spec.kind]), num_threads=1)
                interpreter.allocate_tensors()
            self._local.by_kind[spec.kind] = interpreter
        return interpreter

    def _run(self, spec: SsdSpec, view: "Image.Image", origin: tuple[int, int]) -> list[Face]:
        """Detections of one detector on one view, in the photo's pixels (`origin`: the view's top-left)."""
        import numpy as np
        from PIL import Image

        width, height = view.size
        scale = spec.size / max(width, height)
        fitted_w, fitted_h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (spec.size - fitted_w) // 2, (spec.size - fitted_h) // 2
        canvas = np.zeros((1, spec.size, spec.size, 3), np.float32)
        fitted = np.asarray(view.resize((fitted_w, fitted_h), Image.BILINEAR), np.float32)
        canvas[0, pad_y : pad_y + fitted_h, pad_x : pad_x + fitted_w] = fitted / 127.5 - 1.0  # [-1, 1]
        interpreter = self._interpreter(spec)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], canvas)
        interpreter.invoke()
        # two outputs: (1, n, 1) scores and (1, n, 4 + 2k) box + keypoints
        outputs = sorted(interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        logits = interpreter.get_tensor(outputs[0]["index"])[0, :, 0]
        regressors = interpreter.get_tensor(outputs[1]["index"])[0]
        boxes = regressors[:, :4]
        with_keypoints = spec.kind == "face" and regressors.shape[1] >= 16
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        keep = np.flatnonzero(scores >= spec.min_score)
        anchors = self._anchors[spec.kind]
        found = []
        for i in keep:
            cx = (anchors[i, 0] * spec.size + boxes[i, 0] - pad_x) / scale
            cy = (anchors[i, 1] * spec.size + boxes[i, 1] - pad_y) / scale
            w, h = boxes[i, 2] / scale, boxes[i, 3] / scale
            if w <= 0 or h <= 0:
                continue
            keypoints: tuple[tuple[float, float], ...] = ()
            if with_keypoints:
                ax, ay = anchors[i, 0] * spec.size - pad_x, anchors[i, 1] * spec.size - pad_y
                keypoints = tuple(
                    (float(origin[0] + (ax + regressors[i, 4 + 2 * j]) / scale),
                     float(origin[1] + (ay + regressors[i, 5 + 2 * j]) / scale))
                    for j in range(6)
                )
            found.append(
                Face(
                    round(origin[0] + cx - w / 2), round(origin[1] + cy - h / 2), round(w), round(h),
                    float(scores[i]), spec.kind, keypoints,
                )
            )
        return found

    def detect(self, image: "Image.Image") -> list[Face]:
        return self.detect_people_and_faces(image)[0]

    def detect_people_and_faces(self, image: "Image.Image") -> tuple[list[Face], list[Face]]:
        """(people, faces) from one pass of both detectors: `people` as `detect` gives them (a head
        found by either, merged), `faces` the face detector's own boxes with their keypoints, merged
        among themselves (what face recognition aligns), most confident first."""
        self.ensure_loaded()
        width, height = image.size
        if min(width, height) < MIN_PHOTO_PIXELS:
            return [], []
        rgb = image.convert("RGB")
        found: list[Face] = []
        for box in square_views(width, height):
            view = rgb if box == (0, 0, width, height) else rgb.crop(box)
            for spec in DETECTORS:
                found.extend(self._run(spec, view, box[:2]))
        return merge_overlapping(found), merge_overlapping([f for f in found if f.kind == "face"])


def _same_person(a: Face, b: Face, distance: float) -> bool:
    side = max(a.width, a.height, b.width, b.height)
    dx = (a.x + a.width / 2) - (b.x + b.width / 2)
    dy = (a.y + a.height / 2) - (b.y + b.height / 2)
    return math.hypot(dx, dy) < distance * side


def merge_overlapping(found: list[Face], distance: float = MERGE_DISTANCE) -> list[Face]:
    """Greedy non-maximum suppression by centre distance: the most confident detection of each
    group whose centres lie within `distance` box sides, most confident first. A face and the person
    box of the same person (face to shoulders) merge, as do one head seen in two views; two faces
    side by side (centres a face width apart) do not."""
    kept: list[Face] = []
    for face in sorted(found, key=lambda f: -f.confidence):
        if not any(_same_person(face, other, distance) for other in kept):
            kept.append(face)
    return kept


@process_wide
def people_detector() -> PeopleDetector:
    """The process's detector (interpreters are per thread inside it)."""
    return PeopleDetector()


def detect_faces(image: "Image.Image") -> list[Face]:
    """People's heads in an RGB image, in its own pixel coordinates, most confident first."""
    return people_detector().detect(image)


def count_people(image: "Image.Image") -> int:
    """The number of people found (what photos.faces stores)."""
    return len(detect_faces(image))


PEOPLE_TAGS = ("person", "people")


def shows_people(count: int | None, tags: "Iterable[str]") -> bool | None:
    """Whether a photo shows people, as the people filter (search.filters) decides it: someone found
    by the detector, or a "person"/"people" tag (the classifier's "baseball player" is under
    "person"; a user's own tag). None when the detector never ran and no tag says so."""
    if count or any(t.lower() in PEOPLE_TAGS for t in tags):
        return True
    return None if count is None else False


def people_found_phrase(count: int | None, seen: bool | None = None) -> str:
    """A reason's words for a photo's people: '3 people found', '1 person found', 'nobody found', or
    'tagged as a person' when only a tag says so (`seen`: shows_people's verdict, when known)."""
    if count:
        return "1 person found" if count == 1 else f"{count} people found"
    return "tagged as a person" if seen else "nobody found"


def people_tags(count: int) -> list[tuple[str, float]]:
    """(tag, confidence) for a people count: "person" for one, "people" for two or more."""
    if count <= 0:
        return []
    return [("person", 1.0)] if count == 1 else [("people", 1.0)]
