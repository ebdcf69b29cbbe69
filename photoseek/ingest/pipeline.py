"""The pure part of ingest: files in, everything the catalog stores about them out (no database).

Each photo is read and decoded ONCE (`prepare`): the embedder's small image, the thumbnail and a
work image of up to WORK_LONG_SIDE px come from the same decode, and the pixel annotators — time
of day, colours, faces (people counted, then the recognisable ones described), OCR behind a cheap
text gate — run on them right away. `embed` then runs
the embedder over a batch of prepared photos. `process_batch` chains the two for a list of files
with a small thread pool; the Indexer runs the same two steps pipelined (decode + annotate in
worker threads while its main thread embeds the previous batch) and commits each batch in one
transaction, and a distributed executor can run `process_batch` on workers and commit the
returned `PhotoWork`s the same way.

Threads: each worker thread runs one photo at a time through single-threaded models (the OCR gate
and OCR with one ONNX Runtime thread each, the people detectors with one LiteRT thread), so two workers use two cores;
the embedder's ONNX Runtime session uses `config.cpu_threads()` with idle threads sleeping.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Container, Iterable, Sequence

from photoseek.errors import FileAccessError, UnsupportedImageError
from photoseek.inference import process_wide
from photoseek.ingest.decode import DecodedPhoto, decode_photo

if TYPE_CHECKING:
    import os

    from photoseek.vision.base import Embedder

log = logging.getLogger("photoseek.ingest")

PIXEL_ANNOTATORS = ("time", "colors", "faces", "recognition", "ocr")  # run on the decoded pixels, in this order
WORK_LONG_SIDE = 1280  # px: OCR's own limit (photoseek.vision.ocr.MAX_LONG_SIDE); faces use less


@dataclass
class PhotoWork:
    """What ingest learned about one file.

    photo:        the decode (None: not an image; `photo.image` None: content unchanged, skipped)
    failure:      why the file could not be read (then photo is None)
    transient:    the failure is the file system's (gone, unreadable just now), not the content's:
                  tried again next run
    annotations:  annotator name -> its result (see `compute_annotation`), for new content only
    annotation_failures: annotator name -> reason (retried by the next `annotate` run)
    joint, visual, layout, labels: filled by `embed` (numpy vectors; labels as the embedder gives)
    seconds:      step name -> seconds spent on this photo (decode, faces, ocr_gate, ocr, ...)
    """

    path: bytes
    photo: DecodedPhoto | None = None
    failure: str | None = None
    transient: bool = False
    annotations: dict[str, Any] = field(default_factory=dict)
    annotation_failures: dict[str, str] = field(default_factory=dict)
    joint: Any = None
    visual: Any = None
    layout: Any = None
    labels: Any = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def needs_embedding(self) -> bool:
        return self.photo is not None and self.photo.image is not None


def annotator_id(name: str) -> str:
    """The id recorded in annotations_done for a pixel annotator (model + rules version)."""
    if name == "time":
        from photoseek.vision.daytime import TIME_ANNOTATOR_ID

        return TIME_ANNOTATOR_ID
    if name == "colors":
        from photoseek.vision.colors import COLOR_ANNOTATOR_ID

        return COLOR_ANNOTATOR_ID
    if name == "faces":
        from photoseek.vision.faces import FACES_ANNOTATOR_ID

        return FACES_ANNOTATOR_ID
    if name == "recognition":
        from photoseek.vision.face_descriptors import FACE_RECOGNITION_ID

        return FACE_RECOGNITION_ID
    if name == "ocr":
        from photoseek.vision.ocr import OCR_ANNOTATOR_ID
        from photoseek.vision.text_gate import TEXT_GATE_ID

        return f"{OCR_ANNOTATOR_ID}+{TEXT_GATE_ID}"
    raise ValueError(f"{name!r} is not a pixel annotator; choose from {', '.join(PIXEL_ANNOTATORS)}")


@process_wide
def _ocr_reader():
    """A RapidOCR reader with one thread (it runs in a worker thread next to other work)."""
    from photoseek.vision.ocr import TextReader

    return TextReader(threads=1)


def compute_annotation(name: str, photo: DecodedPhoto, seconds: dict[str, float] | None = None,
                       found: dict[str, Any] | None = None) -> Any:
    """One pixel annotator on a decoded photo (needs `photo.pixels` or `photo.image`).

    time        -> TimeOfDay (the sun's verdict from EXIF time + GPS, else the thumbnail's pixels)
    colors      -> [(colour name, share)]
    faces       -> int, people found (photoseek.vision.faces)
    recognition -> [FaceDescriptor] of the recognisable faces (photoseek.vision.face_descriptors)
    ocr         -> OcrResult; empty without running OCR when the text gate sees no text
    `found`: one dict per photo shared by its annotators, so that faces and recognition run the
    people detector once.
    """
    seconds = seconds if seconds is not None else {}
    found = found if found is not None else {}
    pixels = photo.pixels or photo.image
    small = photo.thumbnail_image or photo.image
    started = time.perf_counter()
    try:
        if name == "time":
            from photoseek.vision.daytime import time_of_day

            return time_of_day(small, taken_at=photo.taken_at, latitude=photo.gps_lat, longitude=photo.gps_lon)
        if name == "colors":
            from photoseek.vision.colors import color_tags

            return color_tags(small)
        if name == "faces":
            return len(_people_and_faces(pixels, found)[0])
        if name == "recognition":
            from photoseek.vision.face_descriptors import describe_faces

            return describe_faces(pixels, _people_and_faces(pixels, found)[1])
        if name == "ocr":
            return read_text_gated(pixels, seconds)
        raise ValueError(f"{name!r} is not a pixel annotator; choose from {', '.join(PIXEL_ANNOTATORS)}")
    finally:
        if name != "ocr":
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started


def _people_and_faces(pixels, found: dict[str, Any]):
    """The people detector's (people, faces) for this photo, detected once per photo."""
    if "people" not in found:
        from photoseek.vision.faces import people_detector

        found["people"] = people_detector().detect_people_and_faces(pixels)
    return found["people"]


def read_text_gated(image, seconds: dict[str, float] | None = None):
    """OCR only where the text gate (photoseek.vision.text_gate) sees text; else an empty result."""
    from photoseek.vision.ocr import OcrResult
    from photoseek.vision.text_gate import default_gate

    from photoseek.ingest.decode import ELONGATED_ASPECT

    seconds = seconds if seconds is not None else {}
    started = time.perf_counter()
    width, height = image.size
    # The gate looks at the whole photo at 640 px: a tall screenshot or a panorama would shrink to a
    # sliver with no legible text, so those (rare, and often text) go straight to OCR, which tiles them.
    elongated = max(width, height) > ELONGATED_ASPECT * max(1, min(width, height))
    has_text = elongated or default_gate().has_text(image)
    gated = time.perf_counter()
    seconds["ocr_gate"] = seconds.get("ocr_gate", 0.0) + gated - started
    if not has_text:
        return OcrResult()
    result = _ocr_reader().read(image)
    seconds["ocr"] = seconds.get("ocr", 0.0) + time.perf_counter() - gated
    return result


def prepare(
    path: bytes | str | "os.PathLike",
    *,
    target_size: int,
    thumbs_root: "str | os.PathLike | None" = None,
    reuse_hashes: Container[str] = (),
    annotators: Sequence[str] = PIXEL_ANNOTATORS,
) -> PhotoWork:
    """Read, decode once, and run the pixel `annotators` on one file (no database, thread-safe).

    target_size, thumbs_root, reuse_hashes: as for decode.decode_photo. A file that cannot be read
    comes back with `failure` set; an annotator that fails is recorded in `annotation_failures`
    and the photo is kept.
    """
    import os

    work = PhotoWork(os.fsencode(path))
    started = time.perf_counter()
    try:
        work.photo = decode_photo(
            path,
            target_size=target_size,
            thumbs_root=thumbs_root,
            reuse_hashes=reuse_hashes,
            work_size=WORK_LONG_SIDE if annotators else None,
        )
    except FileAccessError as error:  # (an UnsupportedImageError too: caught first)
        work.failure, work.transient = error.reason, True
        return work
    except UnsupportedImageError as error:
        work.failure = error.reason
        return work
    except Exception as error:  # a bug or an exotic file must not end the whole run
        work.failure = f"unexpected error while decoding: {type(error).__name__}: {error}"
        return work
    finally:
        work.seconds["decode"] = time.perf_counter() - started
    if work.needs_embedding:
        annotate_photo(work, annotators)
    return work


def annotate_photo(work: PhotoWork, annotators: Iterable[str]) -> None:
    """Run the pixel annotators on a prepared photo, then drop the work image (memory)."""
    found: dict[str, Any] = {}
    for name in annotators:
        try:
            work.annotations[name] = compute_annotation(name, work.photo, work.seconds, found)
        except Exception as error:  # noqa: BLE001 - one annotator failing must not lose the photo
            reason = getattr(error, "reason", None) or str(error) or type(error).__name__
            work.annotation_failures[name] = reason
            log.warning("%s: %s failed: %s", work.path.decode(errors="replace"), name, reason)
    work.photo.pixels = None
    work.photo.thumbnail_image = None


def embed(embedder: "Embedder", works: Sequence[PhotoWork]) -> None:
    """Fill joint/visual/layout/labels of the works that need embedding (one model call)."""
    from photoseek.vision.layout import layout_descriptor

    todo = [w for w in works if w.needs_embedding]
    if not todo:
        return
    started = time.perf_counter()
    encoding = embedder.encode_images([w.photo.image for w in todo])
    share = (time.perf_counter() - started) / len(todo)
    for i, work in enumerate(todo):
        work.joint = encoding.joint[i]
        work.visual = encoding.visual[i] if encoding.visual is not None and embedder.visual_dim else None
        work.labels = encoding.labels[i] if encoding.labels is not None else None
        layout_started = time.perf_counter()
        work.layout = layout_descriptor(work.photo.image)
        work.seconds["embed"] = share + time.perf_counter() - layout_started


def process_batch(
    paths: Sequence[bytes | str | "os.PathLike"],
    embedder: "Embedder",
    *,
    thumbs_root: "str | os.PathLike | None" = None,
    annotators: Sequence[str] = PIXEL_ANNOTATORS,
    reuse_hashes: Container[str] = (),
    workers: int = 2,
) -> list[PhotoWork]:
    """Files -> PhotoWork each (decode once -> pixel annotators -> embed), in the given order.

    Pure: touches no catalog (thumbnails are written under thumbs_root when given, named by
    content hash, so running it twice or on two machines is harmless). Commit the results with
    `Indexer` (or anything that writes PhotoWork the same way).
    """
    def one(path):
        return prepare(path, target_size=embedder.preferred_size, thumbs_root=thumbs_root,
                       reuse_hashes=reuse_hashes, annotators=annotators)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="photoseek-prepare") as pool:
        works = list(pool.map(one, paths))
    embed(embedder, works)
    return works
