"""Stage 2: annotate indexed photos — tags, colours, time of day, faces, face recognition, OCR text, captions.

Stage 1 (the indexer) already committed vectors and classifier tags, so the library is searchable
before this starts; annotations only add to it. Each annotator is its own pass over the photos that
still need it, with its own progress bar, cheapest first (time, colours, faces, then OCR and
captions at about 1-2 s a photo).

Resumable: every (photo, annotator) that is done is recorded in `annotations_done` with the
annotator's id (model + rules version) in the same transaction as its results, so a re-run skips
finished work, a killed run resumes where it stopped, and a new model version redoes only its own
annotator. The indexer clears these records when a photo's content changes.

Robust: one photo that cannot be read or annotated (a corrupt file, an annotator out of memory) is
counted as failed, recorded in `annotation_failures` with its reason (`photoseek errors` lists it) and
not tried again until its content or the annotator's id changes, or `retry_failed` is given; it never
stops the run or touches what is already stored. A captioner that cannot
run is reported once and the next one takes over (see photoseek.vision.captions).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from photoseek.errors import PhotoseekError, UnsupportedImageError
from photoseek.ingest.pipeline import PIXEL_ANNOTATORS, WORK_LONG_SIDE
from photoseek.ingest.pipeline import annotator_id as pixel_annotator_id
from photoseek.progress import Progress, SilentProgress

if TYPE_CHECKING:
    import sqlite3

    from PIL import Image

    from photoseek.store.catalog import Catalog

log = logging.getLogger("photoseek.annotate")

ANNOTATORS = ("tags", "time", "colors", "faces", "recognition", "ocr", "captions")  # the order they run in
# what `index` and `annotate` run unless told otherwise: captions are written on demand
# (Library.caption) or by an opt-in pass (`--captioner`), never by the LLM for every photo; face
# recognition unless the library has it off (Library drops it then)
DEFAULT_ANNOTATORS = ("tags", "time", "colors", "faces", "recognition", "ocr")
FAST_BATCH = 16  # photos per transaction for the cheap annotators
SLOW_ANNOTATORS = {"ocr", "captions"}  # committed photo by photo
# decode sizes (short side) each annotator needs from the original file
CAPTION_DECODE = 768

PHOTO_COLUMNS = "id, path, display_path, content_hash, taken_at, gps_lat, gps_lon, width, height"


class Annotator:
    """Runs the stage-2 annotators over a catalog.

    only:      a subset of ANNOTATORS (None: DEFAULT_ANNOTATORS, all but captions); "colours" is
               accepted for "colors".
    captioner: 'local' (the LLM writes from the evidence), 'template', or 'ollama:MODEL'.
    llm_spec:  the local LLM for captions (a get_llm spec or an LLM instance); None: no LLM, so
               'local' captions use the template.
    embedder:  the library's embedder, for tags when stage 1 did not store them (zero-shot CLIP
               tags, or classifier labels for photos indexed without the label sink).
    """

    def __init__(
        self,
        catalog: "Catalog",
        library_dir: str | os.PathLike,
        only: Iterable[str] | None = None,
        captioner: str = "local",
        progress: Progress | None = None,
        *,
        llm_spec: Any = None,
        embedder: Any = None,
        ollama_host: str | None = None,
        retry_failed: bool = False,
    ) -> None:
        self.catalog = catalog
        self.library_dir = Path(library_dir)
        self.selected = _selected(only)
        self.captioner = captioner or "local"
        self.progress = progress or SilentProgress()
        self.llm_spec = llm_spec
        self.embedder = embedder
        self.ollama_host = ollama_host
        self.retry_failed = retry_failed
        self.messages: list[str] = []
        self._caption_service = None
        if "captions" in self.selected:
            self._captions()  # an unknown captioner is the user's mistake: say so before any work

    # -- public ---------------------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        """Annotate what is not done yet; returns photos annotated per annotator (+ 'failed')."""
        counts: dict[str, int] = {}
        failed = 0
        if self.retry_failed:
            from photoseek.store.annotations import clear_failures

            with self.catalog.transaction() as conn:
                for name in self.selected:
                    clear_failures(conn, name)
        for name in ANNOTATORS:
            if name not in self.selected:
                continue
            done, failures = self._run_annotator(name)
            counts[name] = done
            failed += failures
        if failed:
            counts["failed"] = failed
        return counts

    def pending(self) -> dict[str, int]:
        """Photos each selected annotator still has to do (what `run` would work on now)."""
        pending = {}
        for name in self.selected:
            try:
                annotator_id = self._annotator_id(name)
            except PhotoseekError:
                continue
            if annotator_id is None:
                continue
            pending[name] = self.catalog.conn.execute(
                """SELECT count(*) FROM photos p WHERE NOT EXISTS (
                       SELECT 1 FROM annotations_done d
                       WHERE d.photo_id = p.id AND d.annotator = ? AND d.annotator_id = ?)""",
                (name, annotator_id),
            ).fetchone()[0]
        return pending

    def caption_one(self, photo_id: int) -> str:
        """Caption one photo now (whatever annotations_done says), store it and return it."""
        row = self.catalog.conn.execute(f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id=?", (photo_id,)).fetchone()
        if row is None:
            from photoseek.errors import NotFoundError

            raise NotFoundError(f"No photo {photo_id} in this library.")
        service = self._captions()
        result = self._caption(row, service)
        with self.catalog.transaction() as conn:
            self._write_caption(conn, row, result, service)
        return result.caption

    # -- the pass loop ----------------------------------------------------------------------------------
    def _annotator_id(self, name: str) -> str | None:
        """The id recorded in annotations_done; None when the annotator cannot run here."""
        if name == "tags":
            from photoseek.vision.tagging import CLASSIFIER_TAGGER_ID, supports_zero_shot

            if self.embedder is None:
                return None
            if supports_zero_shot(self.embedder):
                return _zero_shot_id(self.embedder)
            return CLASSIFIER_TAGGER_ID
        if name in PIXEL_ANNOTATORS:
            return pixel_annotator_id(name)
        return self._captions().requested_id

    def _todo(self, name: str, annotator_id: str) -> list["sqlite3.Row"]:
        return self.catalog.conn.execute(
            f"""SELECT {PHOTO_COLUMNS} FROM photos p WHERE NOT EXISTS (
                    SELECT 1 FROM annotations_done d
                    WHERE d.photo_id = p.id AND d.annotator = ? AND d.annotator_id = ?)
                AND NOT EXISTS (
                    SELECT 1 FROM annotation_failures f
                    WHERE f.photo_id = p.id AND f.annotator = ? AND f.annotator_id = ?
                      AND f.content_hash = p.content_hash)
                ORDER BY id""",
            (name, annotator_id, name, annotator_id),
        ).fetchall()

    def _run_annotator(self, name: str) -> tuple[int, int]:
        try:
            annotator_id = self._annotator_id(name)
        except PhotoseekError as error:
            self._note(f"{name}: cannot run ({error})")
            return 0, 0
        if annotator_id is None:
            self._note(f"{name}: no embedder given, tags come from indexing")
            return 0, 0
        todo = self._todo(name, annotator_id)
        if not todo:
            return 0, 0
        compute, write = self._steps(name)
        batch_size = 1 if name in SLOW_ANNOTATORS else FAST_BATCH
        done = failed = 0
        self.progress.start(f"Annotating ({name})", len(todo))
        try:
            for start in range(0, len(todo), batch_size):
                batch = todo[start : start + batch_size]
                results, failures = [], []
                for row in batch:
                    try:
                        results.append((row, compute(row)))
                    except Exception as error:  # noqa: BLE001 - one bad photo must not stop the run
                        failed += 1
                        if _about_the_content(error):
                            failures.append((row, _reason(error)))
                        log.warning("%s: %s failed: %s", row["display_path"], name, _reason(error))
                    self.progress.advance()
                results, batch_failures = self._batch_extras(name, results)
                failed += batch_failures
                if not results and not failures:
                    continue
                with self.catalog.transaction() as conn:
                    for row, reason in failures:
                        _record_failure(conn, row, name, annotator_id, reason)
                    for row, result in results:
                        if result is _SKIP:
                            continue
                        write(conn, row, result)
                        _mark_done(conn, row["id"], name, self._done_id(name, annotator_id, result))
                        self.catalog.refresh_fulltext(row["id"])
                        done += 1
        finally:
            self.progress.finish()
        for message in self._drain_service_messages():
            self._note(message)
        return done, failed

    def _steps(self, name: str) -> tuple[Callable[[Any], Any], Callable[[Any, Any, Any], None]]:
        return {
            "tags": (self._compute_tags, self._write_tags),
            "time": (self._compute_time, self._write_time),
            "colors": (self._compute_colors, self._write_colors),
            "faces": (self._compute_faces, self._write_faces),
            "recognition": (self._compute_recognition, self._write_recognition),
            "ocr": (self._compute_ocr, self._write_ocr),
            "captions": (self._compute_caption, self._write_caption_row),
        }[name]

    def _done_id(self, name: str, annotator_id: str, result: Any) -> str:
        if name == "captions":
            return result.done_id
        return annotator_id

    def _batch_extras(self, name: str, results: list) -> tuple[list, int]:
        """Zero-shot tags are computed for a whole batch at once (one model call)."""
        pending = [(row, value) for row, value in results if _is_pending_zero_shot(value)]
        if name != "tags" or not pending:
            return results, 0
        from photoseek.vision.tagging import tags_from_zero_shot, zero_shot_vocabulary

        vocabulary = zero_shot_vocabulary()
        try:
            scores = _zero_shot_scores(self.embedder, [value for _, value in pending], vocabulary)
        except Exception as error:  # noqa: BLE001 - a failing batch is retried on the next run
            log.warning("zero-shot tagging failed for %d photos: %s", len(pending), _reason(error))
            return [(row, value) for row, value in results if not _is_pending_zero_shot(value)], len(pending)
        tagged = {row["id"]: ("zeroshot", tags_from_zero_shot(s, vocabulary)) for (row, _), s in zip(pending, scores)}
        return [(row, tagged.get(row["id"], value)) for row, value in results], 0

    def _note(self, message: str) -> None:
        if message not in self.messages:
            self.messages.append(message)
            log.warning(message)

    def _drain_service_messages(self) -> list[str]:
        service = self._caption_service
        if service is None:
            return []
        return [m for m in service.messages if m not in self.messages]

    # -- images -------------------------------------------------------------------------------------------
    def _original(self, row, short_side: int) -> "Image.Image":
        """The photo decoded from its file at about `short_side` (EXIF orientation applied)."""
        from photoseek.ingest.decode import decode_photo

        photo = decode_photo(row["path"], target_size=short_side)
        if photo is None or photo.image is None:
            raise UnsupportedImageError("the file is no longer an image")
        if photo.content_hash != row["content_hash"]:
            from photoseek.errors import FileAccessError

            raise FileAccessError("the file changed since it was indexed; index it again")
        return photo.image

    def _work_image(self, row) -> "Image.Image":
        """The photo at up to WORK_LONG_SIDE on the long side (what ingest's pixel annotators see)."""
        from photoseek.ingest.decode import decode_photo

        photo = decode_photo(row["path"], target_size=256, work_size=WORK_LONG_SIDE)
        if photo is None or photo.pixels is None:
            raise UnsupportedImageError("the file is no longer an image")
        if photo.content_hash != row["content_hash"]:
            raise UnsupportedImageError("the file changed since it was indexed; index it again")
        return photo.pixels

    def _thumbnail_or_original(self, row) -> "Image.Image":
        """The library's thumbnail (cheap), or the original when there is none."""
        from photoseek.ingest.decode import thumbnail_path

        path = thumbnail_path(self.library_dir, row["content_hash"])
        if path.exists():
            from PIL import Image

            try:
                with Image.open(path) as thumb:
                    return thumb.convert("RGB")
            except OSError:
                pass  # a damaged thumbnail: read the original instead
        return self._original(row, 256)

    # -- tags --------------------------------------------------------------------------------------------
    def _compute_tags(self, row):
        from photoseek.vision.tagging import supports_zero_shot

        if supports_zero_shot(self.embedder):
            vector = self.catalog.conn.execute(
                "SELECT vector FROM embeddings WHERE photo_id=? AND space='joint' AND model_id=?",
                (row["id"], self.embedder.id),
            ).fetchone()
            if vector is not None and hasattr(self.embedder, "zero_shot_labels_from_vectors"):
                return _PendingZeroShot(vector=vector[0])
            return _PendingZeroShot(image=self._original(row, getattr(self.embedder, "preferred_size", 256)))
        image = self._original(row, getattr(self.embedder, "preferred_size", 256))
        labels = self.embedder.encode_images([image]).labels
        if not labels:
            return _SKIP  # an embedder without labels: no classifier tags to give
        return ("classifier", labels[0])

    def _write_tags(self, conn, row, result) -> None:
        from photoseek.store.annotations import replace_tags
        from photoseek.vision.tagging import CLASSIFIER_SOURCE, ZEROSHOT_SOURCE, tags_from_labels

        kind, value = result
        if kind == "classifier":
            replace_tags(conn, row["id"], CLASSIFIER_SOURCE, tags_from_labels(value))
        else:
            replace_tags(conn, row["id"], ZEROSHOT_SOURCE, value)

    # -- time of day -------------------------------------------------------------------------------------
    def _compute_time(self, row):
        from photoseek.vision.daytime import time_from_pixels, time_from_sun

        found = time_from_sun(row["taken_at"], row["gps_lat"], row["gps_lon"])
        return found if found is not None else time_from_pixels(self._thumbnail_or_original(row))

    def _write_time(self, conn, row, result) -> None:
        write_time(conn, row["id"], result)

    # -- colours -------------------------------------------------------------------------------------------
    def _compute_colors(self, row):
        from photoseek.vision.colors import color_tags

        return color_tags(self._thumbnail_or_original(row))

    def _write_colors(self, conn, row, result) -> None:
        write_colors(conn, row["id"], result)

    # -- faces -----------------------------------------------------------------------------------------------
    def _compute_faces(self, row):
        from photoseek.vision.faces import count_people

        return count_people(self._work_image(row))

    def _write_faces(self, conn, row, count) -> None:
        write_faces(conn, row["id"], count)

    # -- face recognition ------------------------------------------------------------------------------
    def _compute_recognition(self, row):
        from photoseek.vision.face_descriptors import describe_faces

        return describe_faces(self._work_image(row))

    def _write_recognition(self, conn, row, found) -> None:
        write_recognition(conn, row["id"], found)

    # -- OCR ---------------------------------------------------------------------------------------------------
    def _compute_ocr(self, row):
        from photoseek.ingest.pipeline import read_text_gated

        return read_text_gated(self._work_image(row))

    def _write_ocr(self, conn, row, result) -> None:
        write_ocr(conn, row["id"], result)

    # -- captions ----------------------------------------------------------------------------------------------
    def _captions(self):
        if self._caption_service is None:
            from photoseek.vision.captions import CaptionService

            self._caption_service = CaptionService(self.captioner, llm=self.llm_spec, ollama_host=self.ollama_host)
        return self._caption_service

    def _caption(self, row, service):
        from photoseek.store.annotations import caption_evidence

        evidence = caption_evidence(self.catalog.conn, row["id"])
        return service.caption(evidence, lambda: self._original(row, CAPTION_DECODE))

    def _compute_caption(self, row):
        return self._caption(row, self._captions())

    def _write_caption_row(self, conn, row, result) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO captions(photo_id, caption, captioner_id) VALUES (?, ?, ?)",
            (row["id"], result.caption, result.captioner_id),
        )
        self._write_caption_vector(conn, row["id"], result.caption)

    def _write_caption_vector(self, conn, photo_id: int, caption: str) -> None:
        """The caption in the embedder's text space: search compares queries with it (text to text)."""
        embedder = self.embedder
        if embedder is None or not caption:
            return
        vector = embedder.embed_texts([caption])[0].astype("float32")
        conn.execute(
            "INSERT OR REPLACE INTO embeddings(photo_id, space, model_id, vector) VALUES (?, 'caption', ?, ?)",
            (photo_id, embedder.id, vector.tobytes()),
        )
        self.catalog.bump_vectors_generation()

    def _write_caption(self, conn, row, result, service) -> None:
        self._write_caption_row(conn, row, result)
        _mark_done(conn, row["id"], "captions", result.done_id)
        self.catalog.refresh_fulltext(row["id"])


# -- writing results (shared with the indexer, which writes them in its batch transaction) -----------------


def write_time(conn, photo_id: int, result) -> None:
    """result: a daytime.TimeOfDay."""
    from photoseek.store.annotations import replace_tags
    from photoseek.vision.daytime import TIME_SOURCE
    from photoseek.vision.tagging import Tag

    conn.execute("UPDATE photos SET time_of_day=? WHERE id=?", (result.label, photo_id))
    replace_tags(conn, photo_id, TIME_SOURCE, [Tag(result.label, result.confidence)])


def write_colors(conn, photo_id: int, result) -> None:
    """result: [(colour name, share)]."""
    from photoseek.store.annotations import replace_tags
    from photoseek.vision.tagging import Tag

    replace_tags(conn, photo_id, "color", [Tag(name, share) for name, share in result])


def write_faces(conn, photo_id: int, count: int) -> None:
    from photoseek.store.annotations import replace_tags
    from photoseek.vision.faces import FACES_SOURCE, people_tags
    from photoseek.vision.tagging import Tag

    conn.execute("UPDATE photos SET faces=? WHERE id=?", (count, photo_id))
    replace_tags(conn, photo_id, FACES_SOURCE, [Tag(name, c) for name, c in people_tags(count)])


def write_recognition(conn, photo_id: int, found) -> None:
    """found: [FaceDescriptor] (the faces wait for clustering; see photoseek.people)."""
    from photoseek.store.faces import write_faces as store_faces
    from photoseek.vision.face_descriptors import FACE_RECOGNITION_ID

    store_faces(conn, photo_id, found, FACE_RECOGNITION_ID)


def write_ocr(conn, photo_id: int, result) -> None:
    """result: an ocr.OcrResult."""
    from photoseek.store.annotations import replace_tags
    from photoseek.vision.ocr import OCR_SOURCE
    from photoseek.vision.tagging import Tag

    if result.lines:
        conn.execute(
            "INSERT OR REPLACE INTO ocr(photo_id, text, boxes) VALUES (?, ?, ?)",
            (photo_id, result.text, result.boxes_json),
        )
    else:
        conn.execute("DELETE FROM ocr WHERE photo_id=?", (photo_id,))
    replace_tags(conn, photo_id, OCR_SOURCE, [Tag("text", 1.0)] if result.has_readable_text else [])


PIXEL_WRITERS = {"time": write_time, "colors": write_colors, "faces": write_faces, "recognition": write_recognition,
                 "ocr": write_ocr}


def write_pixel_annotations(conn, photo_id: int, annotations: dict[str, Any]) -> None:
    """Write the pixel annotators' results for one photo and record each as done (no commit)."""
    for name, result in annotations.items():
        if result is None:
            continue  # time of day without a verdict: nothing to store, retried later
        PIXEL_WRITERS[name](conn, photo_id, result)
        _mark_done(conn, photo_id, name, pixel_annotator_id(name))


# -- helpers ---------------------------------------------------------------------------------------------------

_SKIP = object()


class _PendingZeroShot:
    """A photo waiting for the batch's zero-shot call: its stored joint vector, or its image."""

    def __init__(self, vector: bytes | None = None, image: "Image.Image | None" = None) -> None:
        self.vector = vector
        self.image = image


def _is_pending_zero_shot(value: Any) -> bool:
    return isinstance(value, _PendingZeroShot)


def _zero_shot_scores(embedder, pending: list[_PendingZeroShot], vocabulary: list[str]) -> list:
    """Zero-shot scores per photo: from stored vectors where there are some, else from images."""
    import numpy as np

    scores: list = [None] * len(pending)
    by_vector = [i for i, p in enumerate(pending) if p.vector is not None]
    by_image = [i for i, p in enumerate(pending) if p.vector is None]
    if by_vector:
        vectors = np.stack([np.frombuffer(pending[i].vector, dtype=np.float32) for i in by_vector])
        for i, s in zip(by_vector, embedder.zero_shot_labels_from_vectors(vectors, vocabulary)):
            scores[i] = s
    if by_image:
        for i, s in zip(by_image, embedder.zero_shot_labels([pending[i].image for i in by_image], vocabulary)):
            scores[i] = s
    return scores


def _zero_shot_id(embedder) -> str:
    import hashlib

    from photoseek.vision.tagging import zero_shot_vocabulary

    vocabulary_hash = hashlib.sha1("\n".join(zero_shot_vocabulary()).encode()).hexdigest()[:10]
    return f"zeroshot:{embedder.id}:{vocabulary_hash}"


def _about_the_content(error: BaseException) -> bool:
    """Whether a failure says something about the photo (kept until its content changes), rather
    than about the moment: a file away or locked, a model package missing (tried again next run)."""
    from photoseek.errors import FileAccessError, ModelUnavailableError

    return not isinstance(error, (FileAccessError, ModelUnavailableError, OSError))


def _record_failure(conn, row, annotator: str, annotator_id: str, reason: str) -> None:
    from photoseek.store.annotations import record_failure

    record_failure(conn, row["id"], annotator, annotator_id, row["content_hash"], reason)


def _mark_done(conn, photo_id: int, annotator: str, annotator_id: str) -> None:
    from photoseek.store.annotations import mark_done

    mark_done(conn, photo_id, annotator, annotator_id)


def _selected(only: Iterable[str] | None) -> list[str]:
    if only is None:
        return list(DEFAULT_ANNOTATORS)
    chosen = []
    for name in only:
        name = str(name).strip().lower()
        name = {"colours": "colors", "color": "colors", "caption": "captions", "face": "faces", "tag": "tags",
                "face_recognition": "recognition", "face-recognition": "recognition"}.get(name, name)
        if not name:
            continue
        if name not in ANNOTATORS:
            raise PhotoseekError(f"Unknown annotator {name!r}; choose from {', '.join(ANNOTATORS)}.")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _reason(error: BaseException) -> str:
    if isinstance(error, UnsupportedImageError):
        return error.reason
    if isinstance(error, MemoryError):  # numpy's "Unable to allocate 4.12 GiB ..." says what happened
        return f"out of memory: {error}" if str(error) else "out of memory"
    return str(error) or type(error).__name__

