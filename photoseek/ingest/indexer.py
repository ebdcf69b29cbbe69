"""Stage 1 of indexing: scan, decode, embed, and commit photos to the catalog, incrementally.

Mark and sweep (after rclip): every run scans the given folders and compares each file with the
catalog in memory —
  unchanged  same path, size and mtime, vectors of the current model: nothing is read;
  updated    same path, new size or mtime (re-read; re-embedded when the bytes changed), or
             vectors of another model (the embedder changed: everything is re-embedded);
  moved      a new path whose content hash equals a photo whose path is gone: the row keeps its id,
             vectors and annotations, only the path changes; nothing is embedded;
  copied     a new path whose content hash equals a photo still present (a copy): added with that
             photo's metadata, vectors and annotations copied, nothing decoded, embedded or annotated;
  added      anything else that is an image;
  failed     unchanged since it failed (same size and mtime): skipped unless `retry_failed`;
  removed    photos under the scanned folders that were not seen: rows deleted (vectors, tags and
             annotations cascade), thumbnails dropped when no other photo shares them — except in
             a folder that lost all or most of its photos (an unmounted drive; see ingest.offline),
             which is reported offline and kept unless `prune` says otherwise.
Files are decoded ONCE each in a thread pool (Pillow, OpenCV and ONNX Runtime release the GIL),
and the same worker runs the pixel annotators on the decoded photo (time of day, colours, faces,
OCR behind a text gate: photoseek.ingest.pipeline) while the main thread embeds the previous
batch; each batch — photos, vectors, failures, classifier labels, annotations — is committed in
one transaction, so kill -9 loses at most the batch in flight and the next run finishes the job.
At the end the FAISS caches are brought up to date (vectors.VectorStore.refresh).

The seam between computing and committing: `compute_batch(tasks, embedder, job)` turns a batch of
files into results (decode once + pixel annotators + embed + layout + classifier labels, through
photoseek.ingest.pipeline; no catalog, no state) and an
executor maps it over the run's tasks — `LocalExecutor` (threads decode ahead, the main thread
embeds: today's pipeline) or `photoseek.ingest.ray_executor.RayExecutor` (the same function on a
Ray cluster's actors). The Indexer alone plans and writes, batch by batch, in the driver.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Collection, Iterable, Iterator, Protocol

from photoseek.errors import FileAccessError, UnsupportedImageError
from photoseek.store.catalog import Catalog, display_path, utc_now
from photoseek.ingest.camera_raw import has_raw_extension
from photoseek.ingest.decode import DecodedPhoto, thumbnail_path
from photoseek.ingest.metadata import METADATA_READER_ID
from photoseek.ingest.pipeline import PhotoWork, embed, prepare
from photoseek.store.lock import IndexLock
from photoseek.ingest.scan import FoundFile, ScanFailure, scan
from photoseek.store.vectors import DIM_META_KEY, MODEL_META_KEY, VectorStore
from photoseek.vision.layout import LAYOUT_DIM, LAYOUT_ID
from photoseek.progress import Progress, SilentProgress
from photoseek.results import IndexReport

if TYPE_CHECKING:
    from photoseek.vision.base import Embedder

LabelSink = Callable[[sqlite3.Connection, int, "list[tuple[int, float]]"], None]
"""Called as label_sink(conn, photo_id, labels) inside the batch's transaction for every photo the
embedder just classified (labels: (class_index, probability), best first)."""

DISAPPEARED = "file disappeared during indexing"
_SQL_CHUNK = 900


@dataclass
class _Known:
    """A catalog photo as the run needs it (held in memory: comparing is cheaper than querying)."""

    id: int
    path: bytes
    size: int
    mtime_ns: int
    content_hash: str
    current: bool  # has vectors of the current model in every space the embedder has
    metadata_current: bool = True  # read by the current metadata reader (ingest.metadata.METADATA_READER_ID)
    format: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class _Task:
    file: FoundFile
    known: _Known | None  # the catalog row at this path, if any
    reread: bool = False  # unchanged, but read by an older metadata reader: read its metadata again
    pair_with: bytes | None = None  # a RAW file: the JPEG/HEIF beside it that may be the same shot


@dataclass
class _Outcome:
    """What computing one task gives: the decoded photo (or a failure) and, when its pixels were
    read, its vectors. Picklable: Ray workers send these back to the driver."""

    task: _Task
    photo: DecodedPhoto | None = None
    failure: str | None = None
    embedded: bool = False  # joint/visual/layout/labels below were computed from the pixels
    joint: object = None
    visual: object = None
    layout: object = None
    labels: list | None = None
    work: PhotoWork | None = None  # pixel annotations and step timings from the pipeline
    transient: bool = False  # the file could not be read just now: tried again next run
    reread: bool = False  # `photo` holds metadata read again (no pixels): only those columns change
    paired_with: bytes | None = None  # a RAW file of the same shot as this photo: no photo of its own

    @property
    def content_unchanged(self) -> bool:
        """Decoding was skipped (the bytes hash to a hash the catalog has vectors for). A worker
        drops the pixels once embedded (`keep_images=False`), so `embedded` says they were read."""
        return self.photo is not None and self.photo.content_unchanged and not self.embedded


@dataclass(frozen=True)
class BatchJob:
    """What every batch of one run shares (sent once to each Ray worker).

    thumbs_root:     the library folder (thumbnails are written under it; see decode_photo).
    target_size:     the embedder's preferred short side, pixels.
    reusable_hashes: content hashes of photos that went missing with current vectors: a new path
                     with one of them is a move, whose decoding and embedding are skipped.
    annotators:      pixel annotators (pipeline.PIXEL_ANNOTATORS) run on each newly decoded photo.
    """

    thumbs_root: str
    target_size: int
    reusable_hashes: frozenset[str] = frozenset()
    annotators: tuple[str, ...] = ()


def decode_task(task: _Task, job: BatchJob, reuse: Collection[str] | None = None) -> _Outcome:
    """Read and decode one file (thread-safe). `reuse`: hashes for which decoding may be skipped
    (default: this path's stored hash, or for a new path `job.reusable_hashes`). A RAW file with a
    JPEG/HEIF of the same shot beside it is only compared with it (`paired_with`); a photo read by
    an older metadata reader has its metadata read again, and is decoded again only when its pixels
    were stored wrongly (see `reread_task`)."""
    if task.pair_with is not None:
        paired = _pair_outcome(task)
        if paired is not None:
            return paired
    if task.reread and task.known is not None:
        outcome = reread_task(task, job)
        if outcome is not None:
            return outcome
        reuse = ()  # its pixels need decoding again
    if reuse is None:
        if task.known is not None:
            reuse = {task.known.content_hash} if task.known.current else ()
        else:
            reuse = job.reusable_hashes
    work = prepare(
        task.file.path,
        target_size=job.target_size,
        thumbs_root=job.thumbs_root,
        reuse_hashes=reuse,
        annotators=job.annotators,
    )
    return _Outcome(task, photo=work.photo, failure=work.failure, work=work, transient=work.transient)


def reread_task(task: _Task, job: BatchJob) -> _Outcome | None:
    """Read an unchanged photo's metadata again (no pixels decoded); None when its pixels must be
    decoded again: its format is read differently now (a DNG was its little TIFF preview), or its
    upright size changed (an iPhone HEIC stored sideways), or a HEIF carries an orientation older
    readers never applied. Its old thumbnail is then removed, so that the new decode writes one."""
    from photoseek.ingest.decode import read_photo_metadata

    known = task.known
    try:
        photo = read_photo_metadata(task.file.path)
    except FileAccessError as error:
        return _Outcome(task, failure=error.reason, transient=True)
    except UnsupportedImageError:
        return None  # decoding will say what is wrong with it
    except Exception:  # noqa: BLE001 - an exotic file: the full decode reports it properly
        return None
    pixels_differ = (
        photo.format != known.format
        or (photo.width, photo.height) != (known.width, known.height)
        or (photo.format in ("HEIF", "AVIF") and photo.transpose != 1)
    )
    if pixels_differ:
        try:
            os.unlink(thumbnail_path(job.thumbs_root, known.content_hash))
        except OSError:
            pass
        return None
    photo.content_hash = known.content_hash
    return _Outcome(task, photo=photo, reread=True)


def _pair_outcome(task: _Task) -> _Outcome | None:
    """The outcome of a RAW file that is the same shot as the JPEG/HEIF beside it (same capture time
    to the second; or, when neither has one, files written within a minute of each other), else None."""
    from photoseek.ingest.decode import read_photo_metadata

    try:
        raw = read_photo_metadata(task.file.path)
        primary = read_photo_metadata(task.pair_with)
    except Exception:  # noqa: BLE001 - either unreadable: the RAW is decoded on its own and reports it
        return None
    if not same_shot(raw, primary):
        return None
    return _Outcome(task, photo=raw, paired_with=task.pair_with)


def same_shot(raw, primary) -> bool:
    """Whether a RAW file and a JPEG/HEIF with its name are one shot (cameras write both at once)."""
    if raw.taken_at and primary.taken_at:
        return raw.taken_at[:19] == primary.taken_at[:19]
    if raw.taken_at is None and primary.taken_at is None:
        return abs(raw.mtime_ns - primary.mtime_ns) <= 60 * 1_000_000_000
    return False


def embed_outcomes(outcomes: list[_Outcome], embedder: "Embedder", *, keep_images: bool = True) -> None:
    """Embed, in one `encode_images` call, every outcome whose pixels were decoded; fills joint,
    visual (when the embedder has that space), layout and classifier labels in place.
    keep_images=False drops the pixels afterwards (what a remote worker sends back stays small)."""
    todo = [o for o in outcomes if o.work is not None and o.work.needs_embedding and not o.embedded]
    if not todo:
        return
    embed(embedder, [o.work for o in todo])
    for outcome in todo:
        work = outcome.work
        outcome.joint, outcome.visual, outcome.labels, outcome.layout = work.joint, work.visual, work.labels, work.layout
        outcome.embedded = True
        if not keep_images:
            outcome.photo.image = None


def compute_batch(
    tasks: list[_Task],
    embedder: "Embedder",
    job: BatchJob,
    *,
    reuse: Collection[str] | None = None,
    threads: int = 1,
    keep_images: bool = True,
) -> list[_Outcome]:
    """Process one batch of files into results: decode each (in `threads` threads), then embed the
    decoded ones together. Pure with respect to the catalog (writes only thumbnails), so any
    executor may run it anywhere the files and the library folder are at the same paths; the
    Indexer commits its results. `reuse`: see decode_task (() forces decoding)."""
    if threads > 1 and len(tasks) > 1:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="photoseek-decode") as pool:
            outcomes = list(pool.map(lambda t: decode_task(t, job, reuse), tasks))
    else:
        outcomes = [decode_task(t, job, reuse) for t in tasks]
    embed_outcomes(outcomes, embedder, keep_images=keep_images)
    return outcomes


class BatchExecutor(Protocol):
    """Maps compute_batch over a run's tasks. `run` yields computed batches (in any order) as they
    are ready, so the Indexer commits while the rest compute; `compute` runs one batch now."""

    def run(self, tasks: list[_Task], job: BatchJob) -> Iterator[list[_Outcome]]: ...

    def compute(self, tasks: list[_Task], job: BatchJob, reuse: Collection[str] | None = None) -> list[_Outcome]: ...


class LocalExecutor:
    """This process: files are decoded in a thread pool (Pillow releases the GIL) that runs ahead
    while the calling thread embeds the previous batch. A batch closes at `batch_size` decoded
    images (or 4x that many files, most of them unchanged)."""

    def __init__(self, embedder: "Embedder", batch_size: int = 32, workers: int = 2) -> None:
        self.embedder = embedder
        self.batch_size = max(1, batch_size)
        self.workers = max(1, workers)

    def compute(self, tasks: list[_Task], job: BatchJob, reuse: Collection[str] | None = None) -> list[_Outcome]:
        return compute_batch(tasks, self.embedder, job, reuse=reuse)

    def run(self, tasks: list[_Task], job: BatchJob) -> Iterator[list[_Outcome]]:
        if not tasks:
            return
        window = self.batch_size * 2 + self.workers  # decode runs ahead while a batch embeds
        queue: deque[Future] = deque()
        pending: list[_Outcome] = []
        images_pending = 0
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="photoseek-decode")
        try:
            remaining = iter(tasks)
            for task in remaining:
                queue.append(pool.submit(decode_task, task, job))
                if len(queue) >= window:
                    break
            while queue:
                outcome = queue.popleft().result()
                next_task = next(remaining, None)
                if next_task is not None:
                    queue.append(pool.submit(decode_task, next_task, job))
                pending.append(outcome)
                if outcome.photo is not None and not outcome.photo.content_unchanged:
                    images_pending += 1
                if images_pending >= self.batch_size or len(pending) >= 4 * self.batch_size:
                    embed_outcomes(pending, self.embedder)
                    yield pending
                    pending, images_pending = [], 0
        finally:
            # on an error (or Ctrl-C) do not decode the files still queued before reporting it
            pool.shutdown(wait=True, cancel_futures=True)
        if pending:
            embed_outcomes(pending, self.embedder)
            yield pending


@dataclass
class _RunState:
    run_id: int
    report: IndexReport = field(default_factory=IndexReport)
    kept_ids: set[int] = field(default_factory=set)  # photos that survive the sweep
    changed_ids: set[int] = field(default_factory=set)  # photos whose vectors were (re)written
    failed_paths: set[bytes] = field(default_factory=set)
    replaced_hashes: set[str] = field(default_factory=set)  # old content hashes: maybe orphan thumbnails
    claimed_move_ids: set[int] = field(default_factory=set)
    absorbed_ids: set[int] = field(default_factory=set)  # RAW photo rows that became their JPEG's companion


class Indexer:
    """`Indexer(catalog, embedder, library_dir, progress).run(paths) -> IndexReport`."""

    def __init__(
        self,
        catalog: Catalog,
        embedder: "Embedder",
        library_dir: str | os.PathLike | None = None,
        progress: Progress | None = None,
        *,
        batch_size: int = 32,
        workers: int | None = None,
        label_sink: LabelSink | None = None,
        executor: BatchExecutor | None = None,
        annotators: "tuple[str, ...] | list[str]" = (),
    ) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self.library_dir = catalog.library_dir if library_dir is None else os.fspath(library_dir)
        self.progress = progress or SilentProgress()
        self.batch_size = max(1, batch_size)
        self.workers = workers or max(2, min(4, os.cpu_count() or 2))
        self.label_sink = label_sink
        self.executor = executor  # None: a LocalExecutor with this batch size and these workers
        self.annotators = tuple(annotators)
        # per run: paths the scan found, and photos whose files went missing (candidates for moves)
        self._seen_paths: set[bytes] = set()
        self._move_sources: dict[str, list[_Known]] = {}
        self._reusable_hashes: frozenset[str] = frozenset()
        self._copy_sources: dict[str, int] = {}  # content hash -> a present photo with current vectors
        self._user_given: set[int] = set()  # photos carrying the user's word (never absorbed into a pair)
        self._unchanged_companions = 0
        self.retry_failed = False  # decode files that failed before even when unchanged
        self.prune: "bool | Callable[[list[str]], bool]" = False  # remove photos of offline folders?

    # -- the run ------------------------------------------------------------------------------------

    def run(self, paths: Iterable[str | os.PathLike | bytes]) -> IndexReport:
        started = time.perf_counter()
        with IndexLock(self.library_dir):
            report = self._run(list(paths))
        report.seconds = time.perf_counter() - started
        report.stages["index"] = report.seconds
        return report

    def _run(self, paths: list) -> IndexReport:
        scan_started = time.perf_counter()
        found = scan(paths, exclude=[self.library_dir])
        state = _RunState(run_id=self._start_run())
        state.report.work_seconds["scan"] = time.perf_counter() - scan_started
        since_generation = self.catalog.vectors_generation
        known_by_path = self._load_known()
        self._user_given = {r[0] for r in self.catalog.conn.execute("SELECT DISTINCT photo_id FROM tag_feedback")}
        self._unchanged_companions = 0

        tasks, unchanged = self._classify(found, known_by_path)
        tasks, still_failing = self._skip_unchanged_failures(tasks)
        protected = self._protected_ids(found, known_by_path)
        missing = [
            k for k in known_by_path.values()
            if k.id not in protected and k.path not in self._seen_paths and found.in_scope(k.path)
        ]  # fmt: skip
        missing += self._offline_elsewhere(found, known_by_path)
        self._move_sources = {}
        for known in missing:
            self._move_sources.setdefault(known.content_hash, []).append(known)
        # photos present with current vectors: a new file with their content is a copy (issue 11)
        missing_ids = {k.id for k in missing}
        self._copy_sources = {
            k.content_hash: k.id for k in known_by_path.values() if k.current and k.id not in missing_ids
        }
        # a new file with one of these hashes is a move or a copy whose vectors hold: no decoding needed
        self._reusable_hashes = frozenset(k.content_hash for k in missing if k.current) | frozenset(self._copy_sources)
        # photos outside the scanned folders that lost the vectors of the current model (the
        # embedder changed) are re-embedded too when their file is still there
        tasks += self._stale_outside_scope(found, known_by_path)

        self.progress.start("Indexing", len(unchanged) + self._unchanged_companions + len(tasks) + len(still_failing)
                            + len(found.failures))
        self._mark_unchanged(unchanged, state)
        state.report.unchanged += self._unchanged_companions
        state.kept_ids.update(protected)
        self.progress.advance(len(unchanged) + self._unchanged_companions)

        for failure in found.failures:
            state.failed_paths.add(failure.path)
        for task in still_failing:  # their failure row stays as it is
            state.failed_paths.add(task.file.path)
            if task.known is not None:
                state.kept_ids.add(task.known.id)
        self.progress.advance(len(still_failing))
        self._process(tasks, state, scan_failures=found.failures)
        removed = self._sweep(found, known_by_path, state)
        state.report.failed = len(state.failed_paths)
        self._finish_run(state)
        VectorStore(self.catalog, self.library_dir).refresh(
            since_generation=since_generation, changed_ids=state.changed_ids, removed_ids=removed
        )
        self.progress.finish()
        return state.report

    # -- before: model, catalog state, classification --------------------------------------------------

    def _start_run(self) -> int:
        """New run id; when the embedder differs from the library's, switch the library to it
        (vectors of the old model stop being searched at once, and are replaced photo by photo)."""
        embedder = self.embedder
        visual_id = embedder.visual_id if embedder.visual_dim else None
        with self.catalog.transaction():
            run_id = int(self.catalog.get_meta("last_run_id", "0")) + 1
            self.catalog.set_meta("last_run_id", str(run_id))
            if (
                self.catalog.get_meta(MODEL_META_KEY["joint"]) != embedder.id
                or self.catalog.get_meta(MODEL_META_KEY["visual"]) != visual_id
            ):
                self.catalog.set_meta(MODEL_META_KEY["joint"], embedder.id)
                self.catalog.set_meta(DIM_META_KEY["joint"], str(embedder.dim))
                if visual_id:
                    self.catalog.set_meta(MODEL_META_KEY["visual"], visual_id)
                    self.catalog.set_meta(DIM_META_KEY["visual"], str(embedder.visual_dim))
                else:
                    self.catalog.conn.execute(
                        "DELETE FROM meta WHERE key IN (?, ?)", (MODEL_META_KEY["visual"], DIM_META_KEY["visual"])
                    )
                self.catalog.bump_vectors_generation()
            if self.catalog.get_meta(MODEL_META_KEY["layout"]) != LAYOUT_ID:
                self.catalog.set_meta(MODEL_META_KEY["layout"], LAYOUT_ID)
                self.catalog.set_meta(DIM_META_KEY["layout"], str(LAYOUT_DIM))
                self.catalog.bump_vectors_generation()
        return run_id

    def _load_known(self) -> dict[bytes, _Known]:
        embedder = self.embedder
        visual_check = (
            "AND EXISTS(SELECT 1 FROM embeddings v WHERE v.photo_id=p.id AND v.space='visual' AND v.model_id=?)"
            if embedder.visual_dim
            else ""
        )
        params: tuple = (embedder.id, embedder.visual_id) if embedder.visual_dim else (embedder.id,)
        rows = self.catalog.conn.execute(
            f"""SELECT p.id, p.path, p.size, p.mtime_ns, p.content_hash,
                   (EXISTS(SELECT 1 FROM embeddings j WHERE j.photo_id=p.id AND j.space='joint' AND j.model_id=?)
                    {visual_check}
                    AND EXISTS(SELECT 1 FROM embeddings l WHERE l.photo_id=p.id AND l.space='layout' AND l.model_id=?)
                   ) AS current,
                   p.metadata_id IS ? AS metadata_current, p.format, p.width, p.height
                FROM photos p""",
            params + (LAYOUT_ID, METADATA_READER_ID),
        ).fetchall()
        return {bytes(r[1]): _Known(r[0], bytes(r[1]), r[2], r[3], r[4], bool(r[5]), bool(r[6]), r[7], r[8], r[9])
                for r in rows}

    def _classify(self, found, known_by_path) -> tuple[list[_Task], list[_Known]]:
        """(tasks, unchanged photos). An unchanged photo read by an older metadata reader becomes a
        re-read task; a RAW file beside a JPEG/HEIF of its name becomes a pairing task, or is left
        alone when it was paired before and neither file changed."""
        tasks: list[_Task] = []
        unchanged: list[_Known] = []
        self._seen_paths = set()
        pairs = raw_pairs(found.files)
        companions = self._load_companions()
        files_by_path = {f.path: f for f in found.files}
        for file in found.files:
            self._seen_paths.add(file.path)
            known = known_by_path.get(file.path)
            primary = pairs.get(file.path)
            if primary is not None and not (known is not None and known.id in self._user_given):
                companion = companions.get(file.path)
                if companion is not None and companion == (file.size, file.mtime_ns, primary) and \
                        self._primary_unchanged(files_by_path[primary], known_by_path):
                    self._unchanged_companions += 1
                    continue
                tasks.append(_Task(file, known, pair_with=primary))
                continue
            if known and known.current and known.size == file.size and known.mtime_ns == file.mtime_ns:
                if known.metadata_current:
                    unchanged.append(known)
                else:
                    tasks.append(_Task(file, known, reread=True))
            else:
                tasks.append(_Task(file, known))
        # pairing tasks last: their JPEG is then committed first (and a RAW whose JPEG fails is decoded alone)
        tasks.sort(key=lambda task: task.pair_with is not None)
        return tasks, unchanged

    def _load_companions(self) -> dict[bytes, tuple[int, int, bytes]]:
        rows = self.catalog.conn.execute("SELECT path, size, mtime_ns, photo_path FROM raw_companions")
        return {bytes(r[0]): (r[1], r[2], bytes(r[3])) for r in rows}

    @staticmethod
    def _primary_unchanged(file: FoundFile, known_by_path) -> bool:
        known = known_by_path.get(file.path)
        return known is not None and known.size == file.size and known.mtime_ns == file.mtime_ns

    def _skip_unchanged_failures(self, tasks: list[_Task]) -> tuple[list[_Task], list[_Task]]:
        """(tasks to do, tasks skipped): a file that failed and has the same size and mtime as when it
        failed would fail again; it is not read unless `retry_failed`."""
        if self.retry_failed or not tasks:
            return tasks, []
        failed = {bytes(r[0]): (r[1], r[2]) for r in self.catalog.conn.execute(
            "SELECT path, size, mtime_ns FROM failures WHERE size IS NOT NULL AND mtime_ns IS NOT NULL")}
        if not failed:
            return tasks, []
        todo, skipped = [], []
        for task in tasks:
            same = failed.get(task.file.path) == (task.file.size, task.file.mtime_ns)
            (skipped if same else todo).append(task)
        return todo, skipped

    def _offline_elsewhere(self, found, known_by_path) -> list[_Known]:
        """Photos kept for an offline folder outside this run's folders whose files are still not
        there: candidates for moves, so a drive mounted under another path keeps its photos' ids."""
        from photoseek.ingest.offline import remembered_offline_paths, under

        folders = [f for f in remembered_offline_paths(self.catalog) if not found.in_scope(f)]
        if not folders:
            return []
        return [
            k for k in known_by_path.values()
            if k.path not in self._seen_paths and any(under(k.path, f) for f in folders) and not os.path.exists(k.path)
        ]  # fmt: skip

    def _protected_ids(self, found, known_by_path) -> set[int]:
        """Photos under a folder the scan could not read: kept as they are (a permission problem
        must not delete a photo and its annotations)."""
        prefixes = [f.path for f in found.failures if f.unreadable]
        if not prefixes:
            return set()
        return {
            k.id for k in known_by_path.values()
            if any(k.path == p or k.path.startswith(p.rstrip(b"/") + b"/") for p in prefixes)
        }  # fmt: skip

    def _stale_outside_scope(self, found, known_by_path) -> list[_Task]:
        tasks = []
        for known in known_by_path.values():
            if known.current or found.in_scope(known.path):
                continue
            try:
                st = os.stat(known.path)
            except OSError:
                continue
            if os.path.isfile(known.path):
                tasks.append(_Task(FoundFile(known.path, st.st_size, st.st_mtime_ns), known))
                self._seen_paths.add(known.path)
        return tasks

    def _mark_unchanged(self, unchanged: list[_Known], state: _RunState) -> None:
        state.report.unchanged = len(unchanged)
        state.kept_ids.update(k.id for k in unchanged)
        if not unchanged:
            return
        with self.catalog.transaction() as conn:
            conn.executemany("UPDATE photos SET seen_run=? WHERE id=?", ((state.run_id, k.id) for k in unchanged))

    # -- the pipeline: decode in threads, embed + commit in batches ----------------------------------------

    def _job(self) -> BatchJob:
        return BatchJob(os.fspath(self.library_dir), self.embedder.preferred_size, self._reusable_hashes,
                        self.annotators)

    def _executor(self) -> BatchExecutor:
        if self.executor is None:
            return LocalExecutor(self.embedder, self.batch_size, self.workers)
        return self.executor

    def _process(self, tasks: list[_Task], state: _RunState, scan_failures: list[ScanFailure]) -> None:
        failures: list[_Outcome] = [
            _Outcome(_Task(FoundFile(f.path, _unknown(f.size), _unknown(f.mtime_ns)), None), failure=f.reason)
            for f in scan_failures
        ]
        self._commit(failures, state)
        if not tasks:
            return
        executor = self._executor()
        for outcomes in executor.run(tasks, self._job()):
            self._commit(outcomes, state, executor)

    def _commit(self, outcomes: list[_Outcome], state: _RunState, executor: BatchExecutor | None = None) -> None:
        """Write a computed batch in one transaction (`executor` redoes the rare photo whose
        decoding was skipped but which turns out to be new)."""
        if not outcomes:
            return
        plans = [self._plan(outcome, state, executor) for outcome in outcomes]
        embedded = any(p.embed for p in plans)
        now = utc_now()
        commit_started = time.perf_counter()
        with self.catalog.transaction() as conn:
            for plan in plans:
                self._write(conn, plan, state, now)
            if embedded:
                self.catalog.bump_vectors_generation()
        seconds = state.report.work_seconds
        seconds["commit"] = seconds.get("commit", 0.0) + time.perf_counter() - commit_started
        photos = state.report.work_photos
        for outcome in outcomes:
            for step, spent in (outcome.work.seconds.items() if outcome.work else ()):
                seconds[step] = seconds.get(step, 0.0) + spent
                photos[step] = photos.get(step, 0) + 1
        for plan in plans:  # counted once committed: a failed transaction reports nothing
            if plan.kind:
                setattr(state.report, plan.kind, getattr(state.report, plan.kind) + 1)
        self.progress.advance(len(outcomes))

    def _plan(self, outcome: _Outcome, state: _RunState, executor: BatchExecutor | None) -> "_Plan":
        task, photo = outcome.task, outcome.photo
        if outcome.failure is not None:
            state.failed_paths.add(task.file.path)
            if task.known is not None and outcome.failure != DISAPPEARED:
                state.kept_ids.add(task.known.id)  # still on disk, unreadable now: keep what we had
            return _Plan(outcome, kind=None)
        if photo is None:
            return _Plan(outcome, kind="not_photos")  # not an image (and not named like one): counted only
        if outcome.paired_with is not None:
            return _Plan(outcome, kind="paired", photo_id=task.known.id if task.known is not None else None)
        if outcome.reread:
            return _Plan(outcome, kind="reread", photo_id=task.known.id)
        if task.known is not None:
            plan = _Plan(outcome, kind="updated", photo_id=task.known.id)
            if photo.content_hash != task.known.content_hash:
                plan.content_changed = True
                state.replaced_hashes.add(task.known.content_hash)
        else:
            sources = self._move_sources.get(photo.content_hash, [])
            source = next((k for k in sources if k.id not in state.claimed_move_ids), None)
            if source is not None:
                state.claimed_move_ids.add(source.id)
                plan = _Plan(outcome, kind="moved", photo_id=source.id)
            else:
                plan = _Plan(outcome, kind="added")
        if outcome.content_unchanged and plan.kind == "added":
            plan.copy_from = self._copy_sources.get(photo.content_hash) or next(
                (k.id for k in self._move_sources.get(photo.content_hash, []) if k.id in state.claimed_move_ids), None)
            if plan.copy_from is None:
                # decoding was skipped for the content of a moved photo, but another copy of it
                # claimed that photo first: this one is new and needs its pixels after all
                self._redecode(plan, state, executor or self._executor())
        plan.embed = plan.outcome.photo is not None and plan.outcome.embedded
        return plan

    def _redecode(self, plan: "_Plan", state: _RunState, executor: BatchExecutor) -> None:
        (outcome,) = executor.compute([_Task(plan.outcome.task.file, None)], self._job(), reuse=())
        plan.outcome = outcome
        if outcome.failure is not None or outcome.photo is None:
            plan.kind = None
            if outcome.failure is not None:
                state.failed_paths.add(plan.outcome.task.file.path)

    def _write(self, conn: sqlite3.Connection, plan: "_Plan", state: _RunState, now: str) -> None:
        outcome = plan.outcome
        path = outcome.task.file.path
        if outcome.failure is not None:
            file = outcome.task.file
            if outcome.transient:  # no size/mtime: an unchanged file is not skipped next run
                file = FoundFile(file.path, -1, -1)
            conn.execute(
                """INSERT INTO failures(path, display_path, reason, size, mtime_ns, failed_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(path) DO UPDATE SET reason=excluded.reason, size=excluded.size,
                       mtime_ns=excluded.mtime_ns, failed_at=excluded.failed_at""",
                (path, display_path(path), outcome.failure, _known_or_none(file.size),
                 _known_or_none(file.mtime_ns), now),
            )
            return
        if plan.kind in (None, "not_photos"):
            return
        photo = outcome.photo
        conn.execute("DELETE FROM failures WHERE path=?", (path,))
        if plan.kind == "paired":
            self._write_companion(conn, plan, state)
            return
        if plan.kind == "reread":
            self._write_reread(conn, plan, state)
            return
        conn.execute("DELETE FROM raw_companions WHERE path=?", (path,))  # a RAW now a photo of its own
        if plan.kind == "added" and plan.copy_from is not None:
            from photoseek.store.annotations import copy_photo

            plan.photo_id = copy_photo(conn, plan.copy_from, path, display_path(path), photo.size, photo.mtime_ns,
                                       now, state.run_id)
            state.changed_ids.add(plan.photo_id)  # its copied vectors join the FAISS caches
            self.catalog.bump_vectors_generation()
        elif plan.kind == "added":
            cursor = conn.execute(
                f"""INSERT INTO photos(path, display_path, size, mtime_ns, content_hash, {_METADATA_COLUMNS},
                       indexed_at, seen_run)
                   VALUES (?, ?, ?, ?, ?, {", ".join("?" * len(_METADATA_COLUMNS.split(",")))}, ?, ?)""",
                (path, display_path(path), photo.size, photo.mtime_ns, photo.content_hash, *_metadata(photo),
                 now, state.run_id),
            )  # fmt: skip
            plan.photo_id = cursor.lastrowid
        elif outcome.content_unchanged:
            # same bytes (touched, or moved here): the stored metadata and vectors still hold
            conn.execute(
                "UPDATE photos SET path=?, display_path=?, size=?, mtime_ns=?, seen_run=? WHERE id=?",
                (path, display_path(path), photo.size, photo.mtime_ns, state.run_id, plan.photo_id),
            )
        else:
            conn.execute(
                f"""UPDATE photos SET path=?, display_path=?, size=?, mtime_ns=?, content_hash=?,
                       {_METADATA_SET}, indexed_at=?, seen_run=? WHERE id=?""",
                (path, display_path(path), photo.size, photo.mtime_ns, photo.content_hash, *_metadata(photo),
                 now, state.run_id, plan.photo_id),
            )  # fmt: skip
            if plan.content_changed:
                # new content: stage-2 annotators (OCR, faces, captions...) must look at it again
                conn.execute("DELETE FROM annotations_done WHERE photo_id=?", (plan.photo_id,))
        if photo.color is not None:  # decoded just now (a copy or a move keeps what it had)
            from photoseek.store.annotations import write_color_profile

            write_color_profile(conn, plan.photo_id, photo.color)
        state.kept_ids.add(plan.photo_id)
        if plan.embed:
            write_vectors(conn, plan.photo_id, self.embedder, outcome.joint, outcome.visual, outcome.layout)
            state.changed_ids.add(plan.photo_id)
            if self.label_sink is not None and outcome.labels is not None:
                self.label_sink(conn, plan.photo_id, outcome.labels)
            work = outcome.work
            if work is not None and work.annotations:
                from photoseek.ingest.annotate import write_pixel_annotations

                write_pixel_annotations(conn, plan.photo_id, work.annotations)
        if plan.kind in ("added", "moved") or plan.embed:  # (pixel annotations changed with embed)
            self.catalog.refresh_fulltext(plan.photo_id)  # file name (moved) or tags (label sink) changed

    def _write_companion(self, conn: sqlite3.Connection, plan: "_Plan", state: _RunState) -> None:
        """A RAW file of the same shot as its JPEG/HEIF: listed with that photo, not a photo of its own
        (a photo row it had from an older index goes; one carrying the user's word never gets here)."""
        outcome = plan.outcome
        path, photo = outcome.task.file.path, outcome.photo
        conn.execute(
            """INSERT OR REPLACE INTO raw_companions(path, display_path, photo_path, size, mtime_ns, format)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (path, display_path(path), outcome.paired_with, photo.size, photo.mtime_ns, photo.format),
        )
        known = outcome.task.known
        if known is not None:
            conn.execute("DELETE FROM photos WHERE id=?", (known.id,))
            conn.execute("DELETE FROM photo_text WHERE rowid=?", (known.id,))
            state.replaced_hashes.add(known.content_hash)
            state.absorbed_ids.add(known.id)
            self.catalog.bump_vectors_generation()

    def _write_reread(self, conn: sqlite3.Connection, plan: "_Plan", state: _RunState) -> None:
        """Metadata read again by the current reader: only its columns change. A photo whose capture
        time or place changed has its time of day worked out again (stage 2 does it)."""
        photo = plan.outcome.photo
        old = conn.execute("SELECT taken_at, gps_lat, gps_lon FROM photos WHERE id=?", (plan.photo_id,)).fetchone()
        values = {
            "taken_at": photo.taken_at, "gps_lat": photo.gps_lat, "gps_lon": photo.gps_lon,
            "camera_make": photo.camera_make, "camera_model": photo.camera_model, "orientation": photo.orientation,
            "taken_at_source": photo.taken_at_source, "utc_offset_source": photo.utc_offset_source,
            "time_zone": photo.time_zone, "metadata_id": METADATA_READER_ID,
        }  # fmt: skip
        conn.execute(
            f"UPDATE photos SET {', '.join(f'{c}=?' for c in _REREAD_COLUMNS)}, seen_run=? WHERE id=?",
            (*(values[c] for c in _REREAD_COLUMNS), state.run_id, plan.photo_id),
        )
        if old is not None and tuple(old) != (photo.taken_at, photo.gps_lat, photo.gps_lon):
            conn.execute("DELETE FROM annotations_done WHERE photo_id=? AND annotator='time'", (plan.photo_id,))
        state.kept_ids.add(plan.photo_id)

    # -- after: sweep and bookkeeping ------------------------------------------------------------------------

    def _sweep(self, found, known_by_path, state: _RunState) -> list[int]:
        """Delete photos under the scanned folders that were not seen, and stale failures."""
        from photoseek.ingest.offline import offline_groups, remember_offline, under

        gone = [
            k for k in known_by_path.values()
            if k.id not in state.kept_ids and k.id not in state.absorbed_ids and found.in_scope(k.path)
        ]
        in_scope = [k.path for k in known_by_path.values() if found.in_scope(k.path)]
        offline = offline_groups(found.roots, in_scope, [k.path for k in gone])
        if offline and not self._prune_confirmed(offline):
            gone = [k for k in gone if not any(under(k.path, f.path) for f in offline)]
            state.report.offline = [f.to_dict() for f in offline]
        else:
            offline = []
        gone_ids = [k.id for k in gone]
        stale_failures = [
            bytes(r[0])
            for r in self.catalog.conn.execute("SELECT path FROM failures")
            if bytes(r[0]) not in state.failed_paths and found.in_scope(bytes(r[0]))
            and not any(under(bytes(r[0]), f.path) for f in offline)
        ]
        with self.catalog.transaction() as conn:
            remember_offline(self.catalog, found.in_scope, offline)
            for start in range(0, len(gone_ids), _SQL_CHUNK):
                chunk = gone_ids[start : start + _SQL_CHUNK]
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM photos WHERE id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM photo_text WHERE rowid IN ({marks})", chunk)  # FTS has no cascade
            conn.executemany("DELETE FROM failures WHERE path=?", ((p,) for p in stale_failures))
            # RAW companions whose file or photo went (a RAW whose JPEG went became a photo itself)
            stale_companions = [
                bytes(r[0]) for r in conn.execute("SELECT path, photo_path FROM raw_companions")
                if found.in_scope(bytes(r[0])) and (bytes(r[0]) not in self._seen_paths or bytes(r[1]) not in self._seen_paths)
            ]
            conn.executemany("DELETE FROM raw_companions WHERE path=?", ((p,) for p in stale_companions))
            # vectors of a previous model are never searched again; out-of-scope photos whose file
            # is gone could not be re-embedded and keep only their other data
            stale_vectors = conn.execute(
                """DELETE FROM embeddings WHERE (space='joint' AND model_id!=?) OR (space='visual' AND model_id!=?)
                   OR (space='layout' AND model_id!=?) OR (space='caption' AND model_id!=?)""",
                (self.embedder.id, self.embedder.visual_id if self.embedder.visual_dim else "", LAYOUT_ID,
                 self.embedder.id),
            ).rowcount
            if gone_ids or stale_vectors:
                self.catalog.bump_vectors_generation()
        state.report.removed = len(gone_ids)
        self._drop_orphan_thumbnails({k.content_hash for k in gone} | state.replaced_hashes)
        return gone_ids

    def _prune_confirmed(self, offline) -> bool:
        if callable(self.prune):
            self.progress.finish()  # a question under a live progress bar would be drawn over
            return bool(self.prune([f.to_dict()["path"] for f in offline]))
        return bool(self.prune)

    def _drop_orphan_thumbnails(self, hashes: set[str]) -> None:
        for content_hash in hashes:
            if self.catalog.conn.execute("SELECT 1 FROM photos WHERE content_hash=? LIMIT 1", (content_hash,)).fetchone():
                continue
            try:
                os.unlink(thumbnail_path(self.library_dir, content_hash))
            except OSError:
                pass

    def _finish_run(self, state: _RunState) -> None:
        with self.catalog.transaction():
            self.catalog.set_meta("last_index_at", utc_now())
            self.catalog.set_meta("last_run_report", _report_text(state.report))


@dataclass
class _Plan:
    outcome: _Outcome
    kind: str | None  # IndexReport field to count: 'added' | 'updated' | 'moved' | 'paired' | 'reread'; None: nothing
    photo_id: int | None = None
    embed: bool = False  # the outcome carries vectors to write
    content_changed: bool = False
    copy_from: int | None = None  # a photo with the same content whose data is copied

    @property
    def photo(self) -> DecodedPhoto:
        return self.outcome.photo


_METADATA_COLUMNS = ("format, width, height, taken_at, gps_lat, gps_lon, camera_make, camera_model, orientation, "
                     "brightness, taken_at_source, utc_offset_source, time_zone, metadata_id")
_METADATA_SET = ", ".join(f"{name.strip()}=?" for name in _METADATA_COLUMNS.split(","))
# what a metadata re-read rewrites (not the format, size or brightness: those come with the pixels)
_REREAD_COLUMNS = ("taken_at", "gps_lat", "gps_lon", "camera_make", "camera_model", "orientation", "taken_at_source",
                   "utc_offset_source", "time_zone", "metadata_id")


def _metadata(photo: DecodedPhoto) -> tuple:
    """The values of _METADATA_COLUMNS, in order."""
    return (
        photo.format, photo.width, photo.height, photo.taken_at, photo.gps_lat, photo.gps_lon,
        photo.camera_make, photo.camera_model, photo.orientation, photo.brightness, photo.taken_at_source,
        photo.utc_offset_source, photo.time_zone, METADATA_READER_ID,
    )  # fmt: skip


_PRIMARY_EXTENSIONS = (b".jpg", b".jpeg", b".jpe", b".heic", b".heif", b".hif")  # preferred in this order


def raw_pairs(files: Iterable[FoundFile]) -> dict[bytes, bytes]:
    """RAW file path -> the JPEG/HEIF beside it with the same name (case aside): candidates for one
    shot written twice by the camera. Which is the same shot is decided on their capture times."""
    by_stem: dict[tuple[bytes, bytes], list[bytes]] = {}
    for file in files:
        folder, name = os.path.split(file.path)
        stem, _ = os.path.splitext(name)
        by_stem.setdefault((folder, stem.lower()), []).append(file.path)
    pairs = {}
    for paths in by_stem.values():
        if len(paths) < 2:
            continue
        primaries = sorted((p for p in paths if os.path.splitext(p)[1].lower() in _PRIMARY_EXTENSIONS),
                           key=lambda p: _PRIMARY_EXTENSIONS.index(os.path.splitext(p)[1].lower()))
        if not primaries:
            continue
        for path in paths:
            if has_raw_extension(path):
                pairs[path] = primaries[0]
    return pairs


def _unknown(value: int | None) -> int:
    return -1 if value is None else value


def _known_or_none(value: int) -> int | None:
    return None if value < 0 else value


def write_vectors(conn: sqlite3.Connection, photo_id: int, embedder: "Embedder", joint, visual=None, layout=None) -> None:
    """A photo's vectors (joint; visual and layout when given), inside the caller's transaction."""
    conn.execute(
        "INSERT OR REPLACE INTO embeddings(photo_id, space, model_id, vector) VALUES (?, 'joint', ?, ?)",
        (photo_id, embedder.id, _blob(joint)),
    )
    if visual is not None:
        conn.execute(
            "INSERT OR REPLACE INTO embeddings(photo_id, space, model_id, vector) VALUES (?, 'visual', ?, ?)",
            (photo_id, embedder.visual_id, _blob(visual)),
        )
    if layout is not None:
        conn.execute(
            "INSERT OR REPLACE INTO embeddings(photo_id, space, model_id, vector) VALUES (?, 'layout', ?, ?)",
            (photo_id, LAYOUT_ID, _blob(layout)),
        )


def _blob(vector) -> bytes:
    import numpy as np

    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def _report_text(report: IndexReport) -> str:
    import json

    return json.dumps(report.to_dict(), sort_keys=True)
