"""Libraries indexed before colour management: find the photos whose colour profile needed
converting, from their headers, and redo what depends on their colours, once.

Photos indexed by an older photoseek have no `color_profile` yet (NULL). `catch_up_color_profiles`
reads each one's header (no pixels: decode.read_color_profile) and stores what it found; the
photos whose pixels needed converting (Display P3, Adobe RGB, ProPhoto, CMYK with a profile...)
are decoded once more, as indexing would decode them now, to rewrite their thumbnail and
brightness, recompute the annotations that look at colour (colours and time of day, where they
were done; the others are left to the stage-2 annotator, which then reads the new thumbnail), and
re-embed them (vectors and classifier tags). Re-embedding is measured to matter, mildly: on the
gps-photos set (13 converted of 49) the vectors moved by cosine 0.9935..1.0 and 16 of 30 queries
changed order within their top 10, one at rank 1 (`bench/color.py --reembed`, docs/color.md); it
costs little next to the decode, and leaves the library as a fresh index would be. Faces and OCR
are kept.

Once: every row it looks at gets a value, so the next run finds nothing (one indexed query). A
file that cannot be read now (moved away, a drive offline) stays NULL and is looked at next time.
Resumable: each batch is committed on its own; a killed run leaves the rest for the next one.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from photoseek.progress import Progress, SilentProgress

if TYPE_CHECKING:
    from photoseek.ingest.pipeline import PhotoWork
    from photoseek.store.catalog import Catalog
    from photoseek.vision.base import Embedder

log = logging.getLogger("photoseek.ingest")

RECOMPUTED = ("time", "colors")  # the annotations that read a photo's colours (from its thumbnail)
BATCH = 32  # photos per transaction (and per embedding call)


@dataclass
class ColorCatchUp:
    """What one catch-up did: photos whose header was read, how many of them were converted (their
    thumbnail and colour annotations redone), how many of those were re-embedded, and the seconds."""

    checked: int = 0
    converted: int = 0
    embedded: int = 0
    seconds: float = 0.0


def pending_color_checks(catalog: "Catalog") -> int:
    """Photos whose colour profile has not been looked at yet (indexed before colour management)."""
    return catalog.conn.execute("SELECT count(*) FROM photos WHERE color_profile IS NULL").fetchone()[0]


def catch_up_color_profiles(
    catalog: "Catalog",
    library_dir: str | os.PathLike,
    embedder: "Embedder | None" = None,
    progress: Progress | None = None,
    *,
    workers: int = 2,
) -> ColorCatchUp:
    """Look at every photo without a colour profile record (see the module doc). `embedder`: the
    library's, to re-embed converted photos that have its vectors (None: vectors are kept)."""
    started = time.perf_counter()
    result = ColorCatchUp()
    rows = catalog.conn.execute(
        "SELECT id, path, display_path, content_hash FROM photos WHERE color_profile IS NULL ORDER BY id"
    ).fetchall()
    if not rows:
        return result
    from photoseek.ingest.decode import THUMBNAIL_SIZE

    size = getattr(embedder, "preferred_size", None) or THUMBNAIL_SIZE
    since_generation, changed_ids = catalog.vectors_generation, set()
    progress = progress or SilentProgress()
    progress.start("Checking colour profiles", len(rows))
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="photoseek-color") as pool:
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                done = _annotations_done(catalog, [r["id"] for r in batch])
                found = list(pool.map(lambda row: _look(row, library_dir, size, done.get(row["id"], ())), batch))
                _embed(catalog, embedder, found)
                changed_ids |= _commit(catalog, embedder, found, result)
                progress.advance(len(batch))
    finally:
        progress.finish()
    if changed_ids:
        from photoseek.store.vectors import VectorStore

        VectorStore(catalog, library_dir).refresh(since_generation=since_generation, changed_ids=changed_ids)
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class _Found:
    row: Any
    info: Any = None  # ColorProfileInfo; None: the file could not be read now (looked at next time)
    work: "PhotoWork | None" = None  # converted photos: the new decode, annotations, then vectors


def _annotations_done(catalog: "Catalog", ids: list[int]) -> dict[int, list[str]]:
    marks = ",".join("?" * len(ids))
    done: dict[int, list[str]] = {}
    for photo_id, annotator in catalog.conn.execute(
        f"SELECT photo_id, annotator FROM annotations_done WHERE photo_id IN ({marks}) AND annotator IN (?, ?)",
        (*ids, *RECOMPUTED),
    ):
        done.setdefault(photo_id, []).append(annotator)
    return done


def _look(row, library_dir, size: int, done: list[str]) -> _Found:
    """Header first; a photo that needs converting is decoded (at the embedder's size, as indexing
    does) to redo its thumbnail and colour annotations."""
    from photoseek.ingest.decode import decode_photo, read_color_profile, rewrite_thumbnail
    from photoseek.ingest.pipeline import PhotoWork, annotate_photo

    path = bytes(row["path"])
    info = read_color_profile(path)
    if info is None or not info.converted:
        return _Found(row, info)
    try:
        photo = decode_photo(path, target_size=size)
        if photo is None or photo.content_hash != row["content_hash"]:
            return _Found(row)  # changed since it was indexed: the next index decodes it anew
        rewrite_thumbnail(photo, library_dir)
    except Exception as error:  # noqa: BLE001 - the record is still made: this is tried once
        log.warning("%s: could not redo its colours: %s", row["display_path"], getattr(error, "reason", error))
        return _Found(row, info)
    work = PhotoWork(path, photo=photo)
    annotate_photo(work, [name for name in RECOMPUTED if name in done])
    return _Found(row, photo.color or info, work)


def _embed(catalog: "Catalog", embedder: "Embedder | None", found: list[_Found]) -> None:
    """Re-embed the converted photos that have vectors of this embedder (others: the indexer's)."""
    works = [f for f in found if f.work is not None]
    if embedder is None or not works:
        return
    from photoseek.ingest.pipeline import embed

    marks = ",".join("?" * len(works))
    current = {r[0] for r in catalog.conn.execute(
        f"SELECT photo_id FROM embeddings WHERE space='joint' AND model_id=? AND photo_id IN ({marks})",
        (embedder.id, *(f.row["id"] for f in works)),
    )}  # fmt: skip
    embed(embedder, [f.work for f in works if f.row["id"] in current])


def _commit(catalog: "Catalog", embedder: "Embedder | None", found: list[_Found], result: ColorCatchUp) -> set[int]:
    from photoseek.ingest.annotate import write_pixel_annotations
    from photoseek.ingest.indexer import write_vectors
    from photoseek.store.annotations import label_sink, write_color_profile

    changed: set[int] = set()
    with catalog.transaction() as conn:
        for item in found:
            if item.info is None:
                continue
            photo_id = item.row["id"]
            write_color_profile(conn, photo_id, item.info)
            result.checked += 1
            work = item.work
            if work is None:
                continue
            result.converted += 1
            conn.execute("UPDATE photos SET brightness=? WHERE id=?", (work.photo.brightness, photo_id))
            write_pixel_annotations(conn, photo_id, work.annotations)
            if work.joint is not None:
                write_vectors(conn, photo_id, embedder, work.joint, work.visual, work.layout)
                label_sink(conn, photo_id, work.labels)
                changed.add(photo_id)
            catalog.refresh_fulltext(photo_id)
        if changed:
            catalog.bump_vectors_generation()
    result.embedded += len(changed)
    return changed
