"""Writing what the annotators found into the catalog, and reading it back as caption evidence.

The models in `photoseek.vision` compute tags and captions from pixels; this module is where their
results become catalog rows (inside the caller's transaction), so vision never touches storage.
`label_sink(conn, photo_id, labels)` is what the indexer calls inside its batch transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from photoseek.store.catalog import refresh_fulltext_row, utc_now
from photoseek.store.tags import effective_tags
from photoseek.vision.captions import CaptionEvidence, camera_name
from photoseek.vision.tagging import (
    CLASSIFIER_SOURCE,
    CLASSIFIER_TAGGER_ID,
    Tag,
    alternatives_dropped,
    tags_from_labels,
)
from photoseek.vision.taxonomy import normalize_tag

if TYPE_CHECKING:
    import sqlite3


def replace_tags(conn: "sqlite3.Connection", photo_id: int, source: str, tags: Sequence[Tag]) -> None:
    """Replace a photo's tags from one source (call inside a transaction; FTS not refreshed)."""
    conn.execute("DELETE FROM tags WHERE photo_id=? AND source=?", (photo_id, source))
    conn.executemany(
        "INSERT OR REPLACE INTO tags(photo_id, tag, confidence, source, broader) VALUES (?, ?, ?, ?, ?)",
        [(photo_id, normalize_tag(t.name), float(t.confidence), source, int(t.broader)) for t in tags],
    )


def refresh_fulltext(conn: "sqlite3.Connection", photo_id: int) -> None:
    """Catalog.refresh_fulltext for callers that hold only the connection (the indexer's sink)."""
    refresh_fulltext_row(conn, photo_id)


# what a copy of a photo shares with it: everything computed from the bytes, not the user's word
_COPIED_TABLES = {
    "embeddings": "space, model_id, vector",
    "tags": "tag, confidence, source, broader",
    "ocr": "text, boxes",
    "captions": "caption, captioner_id",
    "annotations_done": "annotator, annotator_id, done_at",
    "annotation_failures": "annotator, annotator_id, content_hash, reason, failed_at",
    # the same faces are the same people: a copy never starts a second person
    "faces": "face_index, x, y, w, h, quality, descriptor, model_id, person_id, assigned, distance",
}
_PHOTO_COLUMNS = ("content_hash, format, width, height, taken_at, gps_lat, gps_lon, camera_make, camera_model, "
                  "orientation, faces, time_of_day, brightness, taken_at_source, utc_offset_source, time_zone, "
                  "metadata_id")
_PHOTO_COLUMNS += ", color_profile, color_converted, color_note"  # colour profiles (issue 28)


def copy_photo(
    conn: "sqlite3.Connection", source_id: int, path: bytes, display: str, size: int, mtime_ns: int, now: str,
    run_id: int,
) -> int:
    """A new photo row at `path` for a file with the same bytes as photo `source_id`: its metadata,
    vectors, tags, OCR, caption, faces (with their people) and annotation records are copied
    (nothing to decode, embed or annotate again); the user's tag feedback stays with the original. Returns the new id. Call
    inside a transaction; the caller bumps the vectors generation."""
    cursor = conn.execute(
        f"""INSERT INTO photos(path, display_path, size, mtime_ns, {_PHOTO_COLUMNS}, indexed_at, seen_run)
            SELECT ?, ?, ?, ?, {_PHOTO_COLUMNS}, ?, ? FROM photos WHERE id=?""",
        (path, display, size, mtime_ns, now, run_id, source_id),
    )
    new_id = cursor.lastrowid
    for table, columns in _COPIED_TABLES.items():
        conn.execute(f"INSERT INTO {table}(photo_id, {columns}) SELECT ?, {columns} FROM {table} WHERE photo_id=?",
                     (new_id, source_id))
    conn.execute(
        """INSERT INTO face_crops(face_id, jpeg) SELECT copy.id, crop.jpeg FROM faces copy
           JOIN faces original ON original.photo_id = ? AND original.face_index = copy.face_index
           JOIN face_crops crop ON crop.face_id = original.id WHERE copy.photo_id = ?""", (source_id, new_id))
    if conn.execute("SELECT 1 FROM faces WHERE photo_id=? LIMIT 1", (new_id,)).fetchone():
        from photoseek.store.faces import bump_faces_generation

        bump_faces_generation(conn)
    refresh_fulltext_row(conn, new_id)
    return new_id


def record_failure(
    conn: "sqlite3.Connection", photo_id: int, annotator: str, annotator_id: str, content_hash: str, reason: str
) -> None:
    """Remember that `annotator` failed on this content (call inside a transaction): `photoseek
    errors` shows it, and the annotator skips the photo until its content or the annotator's id
    changes, or the user asks for a retry (`clear_failures`)."""
    conn.execute(
        """INSERT OR REPLACE INTO annotation_failures(photo_id, annotator, annotator_id, content_hash, reason, failed_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (photo_id, annotator, annotator_id, content_hash, reason[:500], utc_now()),
    )


def clear_failures(conn: "sqlite3.Connection", annotator: str | None = None) -> int:
    """Forget recorded stage-2 failures (all, or one annotator's) so they are tried again; the count."""
    if annotator is None:
        return conn.execute("DELETE FROM annotation_failures").rowcount
    return conn.execute("DELETE FROM annotation_failures WHERE annotator=?", (annotator,)).rowcount


def write_color_profile(conn: "sqlite3.Connection", photo_id: int, info) -> None:
    """What decoding found about the photo's colour profile (a color_management.ColorProfileInfo)."""
    conn.execute(
        "UPDATE photos SET color_profile=?, color_converted=?, color_note=? WHERE id=?",
        (info.name, int(info.converted), info.problem, photo_id),
    )


def mark_done(conn: "sqlite3.Connection", photo_id: int, annotator: str, annotator_id: str) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO annotations_done(photo_id, annotator, annotator_id, done_at) VALUES (?, ?, ?, ?)",
        (photo_id, annotator, annotator_id, utc_now()),
    )


def label_sink(conn: "sqlite3.Connection", photo_id: int, labels: Sequence[tuple[int, float]] | None) -> None:
    """Store classifier tags for one photo; the indexer calls this inside its batch transaction.

    Also records the 'tags' annotation as done, so stage 2 does not tag the photo again.
    """
    if labels is None:
        return
    replace_tags(conn, photo_id, CLASSIFIER_SOURCE, tags_from_labels(labels))
    mark_done(conn, photo_id, "tags", CLASSIFIER_TAGGER_ID)
    refresh_fulltext(conn, photo_id)


def caption_evidence(conn: "sqlite3.Connection", photo_id: int) -> CaptionEvidence:
    """What the catalog knows of one photo, as the facts a caption may state (feedback applied)."""
    row = conn.execute(
        "SELECT faces, time_of_day, taken_at, camera_make, camera_model FROM photos WHERE id=?", (photo_id,)
    ).fetchone()
    ocr = conn.execute("SELECT text FROM ocr WHERE photo_id=?", (photo_id,)).fetchone()
    evidence = CaptionEvidence()
    guesses: list[str] = []
    tags = effective_tags(conn, photo_id)
    has_text_tag = any(tag.tag == "text" for tag in tags)
    for tag in tags:
        if tag.source == "color":
            evidence.colours.append(tag.tag)
        elif tag.tag in ("person", "people", "text") or tag.source == "time" or tag.tag in ("day", "night", "twilight"):
            continue
        elif tag.broader:
            evidence.broader.append(tag.tag)
        elif tag.source == CLASSIFIER_SOURCE:
            guesses.append(tag.tag)
        else:
            evidence.subjects.append(tag.tag)  # the user's own tags are facts, not guesses
    evidence.subjects += alternatives_dropped(guesses)
    if row is not None:
        evidence.people = row[0]
        evidence.time_of_day = row[1]
        evidence.taken_at = row[2]
        evidence.camera = camera_name(row[3], row[4])
    if ocr and ocr[0].strip() and has_text_tag:
        # only text the OCR read confidently (the "text" tag); stray glyphs are no evidence
        evidence.ocr_text = ocr[0].strip()
    return evidence
