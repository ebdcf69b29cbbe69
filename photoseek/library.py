"""`Library`: the one API that the CLI, the tools, the agent and Python users share.

    from photoseek import Library
    lib = Library("~/Pictures/.photoseek")
    lib.index(["~/Pictures"])
    for r in lib.search("two people playing tennis", k=5):
        print(r.score, r.path, r.evidence.matched_tags)

Everything heavy (models, FAISS, the LLM) is created on first use, never at construction.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from photoseek.config import default_library_dir
from photoseek.errors import PhotoseekError
from photoseek.progress import Progress, SilentProgress
from photoseek.results import Filters, IndexReport, SearchResult

FACE_RECOGNITION_KEY = "face_recognition"  # meta: "on" | "off"

if TYPE_CHECKING:
    from photoseek.agent.session import Answer, Session
    from photoseek.people.directory import PeopleDirectory
    from photoseek.places.names import NameIndex
    from photoseek.ingest.ray_executor import RayExecutor
    from photoseek.learn.words import TaughtWords, WordStatus
    from photoseek.store.catalog import Catalog
    from photoseek.search.engine import SearchEngine
    from photoseek.store.vectors import VectorStore
    from photoseek.vision.base import Embedder


class Library:
    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        embedder: "str | Embedder" = "conse",
        llm: str | Any | None = "llamacpp",
        captioner: str = "local",
    ):
        self.path = Path(path).expanduser() if path else default_library_dir()
        self._embedder_spec = embedder
        self._llm_spec = llm
        self.captioner = captioner
        self._creating = False  # only indexing may create a new library; searching one that is not there is an error
        self._per_thread = False

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r})"

    # -- components (lazy) ----------------------------------------------------------------------
    @cached_property
    def catalog(self) -> "Catalog":
        from photoseek.store.catalog import Catalog

        catalog = Catalog(self.path, readonly=not self._creating)
        if self._per_thread:
            catalog.per_thread_connections()
        return catalog

    def per_thread_connections(self) -> None:
        """Serve requests from many threads: each thread reads the catalog through a connection of its
        own, so concurrent searches run in parallel (`Catalog.per_thread_connections`). `photoseek
        serve` turns this on; a Library used from one thread has no need of it."""
        self._per_thread = True
        if "catalog" in self.__dict__:
            self.catalog.per_thread_connections()

    @cached_property
    def embedder(self) -> "Embedder":
        if not isinstance(self._embedder_spec, str):
            return self._embedder_spec
        from photoseek.vision import get_embedder

        return get_embedder(self._embedder_spec)

    @cached_property
    def vectors(self) -> "VectorStore":
        from photoseek.store.vectors import VectorStore

        return VectorStore(self.catalog, self.path)

    @cached_property
    def engine(self) -> "SearchEngine":
        from photoseek.search.engine import SearchEngine

        return SearchEngine.from_providers(
            lambda: self.catalog, lambda: self.vectors, lambda: self.embedder, translate=self.to_english,
            taught=lambda: self.taught)

    @cached_property
    def taught(self) -> "TaughtWords":
        """The library's taught words (photoseek.learn.words); the embedder's text side embeds each
        new word once, on first use."""
        from photoseek.learn.words import TaughtWords

        library_model = self.catalog.get_meta("embedder_id")
        encoder = None
        if library_model is not None and library_model == self.embedder.id:  # a word's text only in its own space
            encoder = lambda texts: self.embedder.embed_queries(list(texts))  # noqa: E731
        return TaughtWords(self.catalog, self.vectors, self.path, text_encoder=encoder, text_model=library_model)

    def to_english(self, text: str) -> str | None:
        """English search words for a query in another script, from the library's LLM; None when
        the query needs none, there is no LLM, or the embedder is multilingual (it reads the query as
        it is, e.g. an XLM-R CLIP or SigLIP 2). Handed to the search layer as its translate step."""
        from photoseek.llm.translate import needs_translation, to_english

        if not needs_translation(text) or getattr(self.embedder, "multilingual", False):
            return None
        return to_english(self.llm, text)

    @cached_property
    def llm(self) -> Any:
        """The LLM backend, or None when the library was made with llm=None."""
        if self._llm_spec is None or not isinstance(self._llm_spec, str):
            return self._llm_spec
        from photoseek.llm import get_llm

        return get_llm(self._llm_spec)

    def close(self) -> None:
        if "catalog" in self.__dict__:
            self.catalog.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- indexing -------------------------------------------------------------------------------
    def index(
        self,
        paths: Iterable[str | os.PathLike],
        *,
        annotate: bool = True,
        captions: bool = False,
        progress: Progress | None = None,
        ray: "str | RayExecutor | None" = None,
        retry_failed: bool = False,
        prune: "bool | Callable[[list[str]], bool]" = False,
        face_recognition: bool | None = None,
    ) -> IndexReport:
        """Index `paths`: every new photo is decoded once for its embeddings, classifier tags,
        thumbnail and — unless annotate=False — time of day, colours, faces and OCR (text-gated),
        all committed together batch by batch; then any photo still lacking an annotation (indexed
        with annotate=False, or by an older annotator version) is annotated. No captions are
        written unless captions=True: then the library's captioner (`ollama:MODEL`, `local`)
        captions every photo in a last, resumable pass; otherwise `caption()` writes them on demand.
        report.seconds is the whole run; report.stages the wall seconds of each stage.

        ray:          None computes here; a Ray address ("" for ray.init()'s default: RAY_ADDRESS or
                      a new local Ray) runs the same per-batch work (decode, pixel annotators, embed)
                      on that cluster's workers (photoseek.ingest.ray_executor) while this process
                      scans and commits; or a configured RayExecutor (batch size, pool size).
        retry_failed: decode files that failed before although unchanged (same size and mtime), and
                      give annotators another try on photos they failed on.
        prune:        what to do with a root or folder that lost all (or most) of its photos since
                      the last run (an unmounted drive, an emptied sync folder): False keeps them and
                      reports the folder in `report.offline` and `stats()["offline_roots"]`; True
                      removes them; a callable is asked with the folders' paths (the CLI's prompt).
        face_recognition: None follows the library's setting (on unless turned off); False turns
                      it off for this library from now on (faces already stored stay until
                      `people().forget()`), True turns it back on (every photo is recognised again).
                      New faces are grouped into people at the end of the run (report.people).
        """
        import time

        from photoseek.ingest.indexer import Indexer
        from photoseek.ingest.pipeline import PIXEL_ANNOTATORS
        from photoseek.store.lock import IndexLock
        from photoseek.store.annotations import label_sink

        started = time.perf_counter()
        paths = [Path(p).expanduser() for p in paths]
        missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
        if missing:
            raise PhotoseekError(f"No such file or folder: {', '.join(missing)}")
        progress = progress or SilentProgress()
        self._creating = True
        executor = None
        if isinstance(ray, str):
            from photoseek.ingest.ray_executor import RayExecutor

            executor = RayExecutor(self._embedder_spec, ray)
        elif ray is not None:
            executor = ray
        with IndexLock(self.path):
            if face_recognition is not None:
                self._set_face_recognition(face_recognition)
            pixel_annotators = tuple(a for a in PIXEL_ANNOTATORS if a != "recognition" or self.face_recognition)
            indexer = Indexer(self.catalog, self.embedder, self.path, progress=progress, executor=executor,
                              annotators=pixel_annotators if annotate else ())
            indexer.label_sink = label_sink
            indexer.retry_failed, indexer.prune = retry_failed, prune
            try:
                report = indexer.run(paths)
            finally:
                if executor is not None:
                    executor.shutdown()
            for stale in ("vectors", "engine", "taught"):  # reload FAISS caches written by the run
                self.__dict__.pop(stale, None)
            self._catch_up_colors(progress, report)
            # What match levels are calibrated against (the spread of text-search scores over the
            # library), stored now so that searches need not compute it.
            self.engine.joint_moments(store=True)
            # Where photos were taken, from the GPS already in the catalog (no photo is read again)
            stage_started = time.perf_counter()
            changed = bool(report.added or report.updated or report.moved or report.removed)
            placed = self._update_places(progress, changed=changed)
            report.places = placed.to_dict()
            if placed.named or placed.corrected or placed.estimated:  # a stage only when it named photos
                report.stages["places"] = time.perf_counter() - stage_started
            if annotate:
                stage_started = time.perf_counter()
                report.annotated.update(self._annotator(None, progress, retry_failed=retry_failed).run())
                report.stages["annotate"] = time.perf_counter() - stage_started
            if annotate and self.face_recognition:
                stage_started = time.perf_counter()
                grouped = self.people().cluster(progress=progress)
                if grouped.faces:  # a stage only when new faces were grouped
                    report.people = grouped.to_dict()
                    report.stages["people"] = time.perf_counter() - stage_started
            if captions:
                stage_started = time.perf_counter()
                report.annotated.update(self._annotator(["captions"], progress, retry_failed=retry_failed).run())
                report.stages["captions"] = time.perf_counter() - stage_started
            # taught words learned again over the vectors committed by this run: new photos get their
            # learned tags (after the classifier's, which a word combines with)
            stage_started = time.perf_counter()
            if self.taught.retag_all():
                report.stages["words"] = time.perf_counter() - stage_started
        for stale in ("vectors", "engine", "taught"):  # reload FAISS caches written by the run
            self.__dict__.pop(stale, None)
        report.seconds = time.perf_counter() - started
        return report

    def annotate(
        self, only: Sequence[str] | None = None, *, progress: Progress | None = None, retry_failed: bool = False
    ) -> dict[str, int]:
        """Run stage-2 annotators over photos that still need them; `only` picks some of tags,
        time, colors, faces, ocr, captions (default: all but captions, see `caption`). Photos an
        annotator failed on are skipped until their file changes, unless `retry_failed`."""
        from photoseek.store.lock import IndexLock

        progress = progress or SilentProgress()
        with IndexLock(self.path):
            converted = self._catch_up_colors(progress)
            counts = self._annotator(only, progress, retry_failed=retry_failed).run()
            if counts.get("recognition"):
                self.people().cluster(progress=progress)
        if converted:
            counts["color_profiles"] = converted
        return counts

    def _catch_up_colors(self, progress: Progress, report: IndexReport | None = None) -> int:
        """Photos indexed before colour management: their headers are read once, and those whose
        pixels needed converting to sRGB get a new thumbnail, colour annotations and vectors
        (photoseek.ingest.color_catchup). Returns how many were converted."""
        from photoseek.ingest.color_catchup import catch_up_color_profiles, pending_color_checks

        if not pending_color_checks(self.catalog):
            return 0
        done = catch_up_color_profiles(self.catalog, self.path, self.embedder, progress)
        if done.embedded:
            for stale in ("vectors", "engine"):  # reload the FAISS caches it refreshed
                self.__dict__.pop(stale, None)
        if report is not None and done.checked:
            report.stages["color profiles"] = done.seconds
            report.annotated["color_profiles"] = done.converted
        return done.converted

    def _annotator(self, only: Sequence[str] | None, progress: Progress, *, retry_failed: bool = False):
        from photoseek.ingest.annotate import DEFAULT_ANNOTATORS, Annotator

        if not only:  # the defaults, less face recognition where the library has it off
            only = [a for a in DEFAULT_ANNOTATORS if a != "recognition" or self.face_recognition]
        return Annotator(
            self.catalog,
            self.path,
            only=set(only) if only else None,
            captioner=self.captioner,
            progress=progress,
            llm_spec=self._llm_spec,
            embedder=self.embedder,
            retry_failed=retry_failed,
        )

    def _update_places(self, progress: Progress | None = None, *, changed: bool = True):
        from photoseek.ingest.places import update_places

        return update_places(self.catalog, progress, changed=changed)

    # -- searching ------------------------------------------------------------------------------
    def search(
        self,
        text: str | None = None,
        *,
        like: int | str | None = None,
        but: str | None = None,
        k: int = 10,
        filters: Filters | None = None,
        more_like: Sequence[int] = (),
        less_like: Sequence[int] = (),
        text_in_photo: str | None = None,
        min_level: str | None = None,
    ) -> list[SearchResult]:
        """Hybrid text search, query by example (`like`), composed search (`like` + `but`),
        OCR full-text search (`text_in_photo`), relevance feedback (`more_like`/`less_like`);
        `filters` restrict any of them. Results carry `evidence` (why each was returned) and a
        `match` level: "strong" (meets the whole request), "partial" (some of it), "weak" (only among
        the closest); see `photoseek.search.match`. `min_level` keeps only results at that level or
        better, so fewer than k may come back; an unknown level raises PhotoseekError."""
        return self.engine.search(
            min_level=min_level,
            text=text,
            like=like,
            but=but,
            k=k,
            filters=filters or Filters(),
            more_like=list(more_like),
            less_like=list(less_like),
            text_in_photo=text_in_photo,
        )

    def duplicates(self, *, threshold: float | None = None) -> list[list[SearchResult]]:
        """Groups of near-identical photos (resized, re-encoded, slightly cropped)."""
        return self.engine.duplicates(threshold=threshold)

    # -- what the catalog knows ---------------------------------------------------------------------
    def show(self, path_or_id: int | str) -> dict[str, Any]:
        """What the catalog knows of a photo. Its tags are as everyone reads them (your ✓ and ✗
        applied); a learned tag says how many photos you taught it from (`learned_from`)."""
        from photoseek.store.feedback import photo_tags
        from photoseek.store.tags import LEARNED_SOURCE
        from photoseek.store.words import user_words
        from photoseek.store.places import photo_place

        row = self.catalog.resolve_photo(path_or_id)
        pid = row["id"]
        place = photo_place(self.catalog.conn, pid)
        ocr = self.catalog.conn.execute("SELECT text FROM ocr WHERE photo_id=?", (pid,)).fetchone()
        caption = self.catalog.conn.execute(
            "SELECT caption, captioner_id FROM captions WHERE photo_id=?", (pid,)
        ).fetchone()
        tags = photo_tags(self.catalog, pid)
        if any(t["source"] == LEARNED_SOURCE for t in tags):
            examples = user_words(self.catalog.conn)
            for t in tags:
                if t["source"] == LEARNED_SOURCE:
                    t["learned_from"] = examples.get(t["tag"], (0, 0))[0]
        shown = {
            "id": pid,
            "path": row["display_path"],
            "size": row["size"],
            "format": row["format"],
            "width": row["width"],
            "height": row["height"],
            "content_hash": row["content_hash"],
            "taken_at": row["taken_at"],
            # where the capture time and its UTC offset came from; 'position' is a guess (the zone there)
            "taken_at_source": row["taken_at_source"],
            "utc_offset_source": row["utc_offset_source"],
            "time_zone": row["time_zone"],
            "gps": [row["gps_lat"], row["gps_lon"]] if row["gps_lat"] is not None else None,
            "camera_make": row["camera_make"],
            "camera_model": row["camera_model"],
            "orientation": row["orientation"],  # as the file stores it; the stored pixels are upright
            "raw_files": [r[0] for r in self.catalog.conn.execute(
                "SELECT display_path FROM raw_companions WHERE photo_path=? ORDER BY display_path", (row["path"],))],
            "faces": row["faces"],
            "time_of_day": row["time_of_day"],
            "place": place.to_dict() if place is not None else None,
            "tags": tags,
            "caption": caption["caption"] if caption else None,
            "captioner": caption["captioner_id"] if caption else None,
            "ocr_text": ocr["text"] if ocr else None,
            "indexed_at": row["indexed_at"],
            # the recognised faces, left to right: who each is (person None: nobody yet)
            "people": [{"face_id": f.id, "face": f.index, "person_id": f.person_id, "person": f.person,
                        "assigned": f.assigned, "distance": f.distance}
                       for f in self.people().faces_in_photo(pid)],
        }
        shown.update(_color_fields(row))
        return shown

    def errors(self) -> list[dict[str, Any]]:
        """Files that could not be indexed (stage 1), photos an annotator failed on (stage 2:
        `annotator` names it; not retried until the file changes or `index --retry-failed`), and
        photos indexed with a note (`"kind": "note"`: a colour profile that could not be used, so
        its colours were read as sRGB); notes do not count as failures."""
        rows = self.catalog.conn.execute(
            "SELECT display_path, reason, failed_at FROM failures ORDER BY display_path"
        ).fetchall()
        out = [{"path": r["display_path"], "reason": r["reason"], "failed_at": r["failed_at"]} for r in rows]
        annotated = self.catalog.conn.execute(
            """SELECT p.display_path, p.id, f.annotator, f.reason, f.failed_at FROM annotation_failures f
               JOIN photos p ON p.id = f.photo_id AND p.content_hash = f.content_hash
               ORDER BY p.display_path, f.annotator"""
        ).fetchall()
        out += [{"path": r["display_path"], "reason": f"{r['annotator']}: {r['reason']}", "failed_at": r["failed_at"],
                 "photo_id": r["id"], "annotator": r["annotator"]} for r in annotated]
        out += _photo_notes(self.catalog.conn)
        return out

    def stats(self) -> dict[str, Any]:
        """Library summary. Besides counts: `searchable` (photos with vectors of the library's
        embedder: text and example search find them now), `annotations_pending` (photos each
        default annotator has still to do: filters and explanations miss them until then),
        `captions` (sentences stored, by captioner; the rest are made on demand) and
        `offline_roots` (folders whose photos were missing at the last index run and were kept,
        not removed — [{"path", "photos", "since"}]; empty when all were found)."""
        from photoseek.ingest.offline import offline_folders

        conn = self.catalog.conn
        embedder_id = self.catalog.get_meta("embedder_id")
        stats = {
            "library": str(self.path),
            "photos": self.catalog.photo_count(),
            "failures": conn.execute("SELECT count(*) FROM failures").fetchone()[0],
            "annotation_failures": conn.execute(
                """SELECT count(*) FROM annotation_failures f JOIN photos p
                   ON p.id = f.photo_id AND p.content_hash = f.content_hash""").fetchone()[0],
            "embedder": embedder_id,
            "schema_version": self.catalog.schema_version,
            "offline_roots": offline_folders(self.catalog),
        }
        # photos indexed with a note (a colour profile that could not be used): see errors()
        stats["notes"] = conn.execute("SELECT count(*) FROM photos WHERE color_note IS NOT NULL").fetchone()[0]
        stats["searchable"] = conn.execute(
            "SELECT count(DISTINCT photo_id) FROM embeddings WHERE space='joint' AND model_id=?", (embedder_id,)
        ).fetchone()[0]
        stats["annotations_pending"] = self._annotator(None, SilentProgress()).pending()
        stats["captions"] = {
            row[0]: row[1]
            for row in conn.execute("SELECT captioner_id, count(*) FROM captions GROUP BY captioner_id")
        }
        stats["people"] = {
            "named": conn.execute("SELECT count(*) FROM people WHERE name IS NOT NULL").fetchone()[0],
            "unnamed": conn.execute("SELECT count(*) FROM people WHERE name IS NULL").fetchone()[0],
            "faces": conn.execute("SELECT count(*) FROM faces").fetchone()[0],
            "face_recognition": "on" if self.face_recognition else "off",
        }
        return stats

    def thumbnail_path(self, photo_id: int) -> Path | None:
        from photoseek.ingest.decode import thumbnail_path

        row = self.catalog.resolve_photo(photo_id)
        path = thumbnail_path(self.path, row["content_hash"])
        return path if path.exists() else None

    # -- annotations the user controls ----------------------------------------------------------------
    def tag(self, path_or_id: int | str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> dict[str, Any]:
        """Confirm (`add`) or reject (`remove`) tags; the user's word wins over the models. Each word is
        learned again at once (a ✓ is an example, a ✗ a rejection): `taught` in the returned record
        says where each stands (`WordStatus.to_dict`), e.g. how many more photos it needs."""
        from photoseek.learn.words import RESERVED
        from photoseek.store.feedback import set_tag_feedback

        pid = self.catalog.resolve_photo(path_or_id)["id"]
        set_tag_feedback(self.catalog, pid, add=list(add), remove=list(remove))
        added = [w for w in _normalized(add) if w not in RESERVED]
        removed = [w for w in _normalized(remove) if w not in RESERVED and w not in added]
        # a ✗ on a word nobody gave to any photo is a correction of the models, not a word being taught
        statuses = self.taught.update(added, taught=True) + [
            s for s in self.taught.update(removed) if s.examples or s.state != "learning"]
        shown = self.show(pid)
        shown["taught"] = [s.to_dict() for s in statuses]
        return shown

    # -- taught words -----------------------------------------------------------------------------------
    def teach(self, word: str, photos: Sequence[int | str] = (), *, not_photos: Sequence[int | str] = ()) -> "WordStatus":
        """Give `word` to `photos` (examples) and refuse it for `not_photos` (rejections), then learn
        it: from MIN_EXAMPLES (3) photos on, a model tags the rest of the library with it (source
        "learned"); with fewer, the status says how many more it needs. Teaching a forgotten word
        brings it back. PhotoseekError for a word other annotators answer for (night, people, red…)."""
        from photoseek.learn.words import RESERVED
        from photoseek.store.feedback import set_tag_feedback

        name = _normalized([word])[0] if word and word.strip() else ""
        if not name:
            raise PhotoseekError("Give the word to teach, e.g. photoseek teach giraffe 12 15 31.")
        if name in RESERVED:
            raise PhotoseekError(f'"{name}" is answered by photoseek\'s own annotators (time of day, people, text, '
                                 "colours); tag single photos with +/- to correct them (photoseek tag ID -night).")
        ids = [self.catalog.resolve_photo(p)["id"] for p in photos]
        rejected = [self.catalog.resolve_photo(p)["id"] for p in not_photos]
        both = set(ids) & set(rejected)
        if both:
            raise PhotoseekError(f"Photo {min(both)} cannot both be and not be {name!r}.")
        for pid in ids:
            set_tag_feedback(self.catalog, pid, add=[name])
        for pid in rejected:
            set_tag_feedback(self.catalog, pid, remove=[name])
        return self.taught.learn(name, taught=True)

    def words(self) -> "list[WordStatus]":
        """Every word you gave to photos: learned ones with the photos they tag and a precision
        estimate, the others with how many more photos they need (`WordStatus`)."""
        return self.taught.statuses()

    def word(self, word: str) -> "WordStatus":
        """Where one taught word stands."""
        return self.taught.status(word)

    def forget(self, word: str) -> "WordStatus":
        """Remove the learned tags of `word` and stop learning it; your own tags of it stay (remove
        them with `tag ID -word`). Giving it to a photo again brings it back."""
        return self.taught.forget(word)

    def caption(self, path_or_id: int | str, *, store: bool = True) -> str:
        """One sentence about a photo, made on demand and cached.

        The stored caption when there is one written by a captioner other than the template (an
        LLM from the evidence, a vision model), or when the library's captioner is the template;
        otherwise the library's captioner writes it now (the local LLM: a few seconds) and it is
        stored for next time. `store=False` never writes and never waits for a model: the stored
        caption, else the instant template from the annotations.
        Raises NotFoundError for an unknown photo."""
        from photoseek.vision.captions import TEMPLATE_CAPTIONER_ID

        pid = self.catalog.resolve_photo(path_or_id)["id"]
        row = self.catalog.conn.execute(
            "SELECT caption, captioner_id FROM captions WHERE photo_id=?", (pid,)).fetchone()
        if row and (not store or row["captioner_id"] != TEMPLATE_CAPTIONER_ID or self.captioner == "template"):
            return row["caption"]
        if not store:
            from photoseek.store.annotations import caption_evidence
            from photoseek.vision.captions import template_caption

            return template_caption(caption_evidence(self.catalog.conn, pid))
        from photoseek.ingest.annotate import Annotator

        annotator = Annotator(self.catalog, self.path, only={"captions"}, captioner=self.captioner,
                              llm_spec=self.llm)
        return annotator.caption_one(int(pid))

    # -- people ----------------------------------------------------------------------------------------------
    def people(self) -> "PeopleDirectory":
        """The people in the library's photos: list, name, merge, reject or move faces, hide, forget
        (photoseek.people.directory)."""
        from photoseek.people.directory import PeopleDirectory

        return PeopleDirectory(self.catalog, self.path)

    def person_names(self) -> list[str]:
        """The names the user gave people in this library (longest first); [] before any."""
        from photoseek.store.catalog import CATALOG_FILE
        from photoseek.store.faces import person_names

        if not (self.path / CATALOG_FILE).exists():
            return []
        return person_names(self.catalog.conn)

    @property
    def face_recognition(self) -> bool:
        """Whether indexing recognises faces in this library (on unless turned off; remembered)."""
        from photoseek.store.catalog import CATALOG_FILE

        if not (self.path / CATALOG_FILE).exists():
            return True
        return self.catalog.get_meta(FACE_RECOGNITION_KEY, "on") != "off"

    def set_face_recognition(self, on: bool) -> None:
        """Turn face recognition on or off for this library (remembered); see `index`."""
        from photoseek.store.lock import IndexLock

        with IndexLock(self.path):
            self._set_face_recognition(on)

    def _set_face_recognition(self, on: bool) -> None:
        was = self.face_recognition
        with self.catalog.transaction() as conn:
            self.catalog.set_meta(FACE_RECOGNITION_KEY, "on" if on else "off")
            if on and not was:  # turned back on: every photo is recognised again, decoded once each
                conn.execute("DELETE FROM annotations_done WHERE annotator = 'recognition'")
    # -- places ---------------------------------------------------------------------------------------
    def places(self) -> dict[str, Any]:
        """Where the photos were taken: {"countries": [{country, code, photos, estimated, regions: [{region,
        photos, estimated, cities: [{city, photos, estimated}]}]}], "located": photos with a place,
        "unknown": photos without one}, most photos first."""
        from photoseek.store.places import place_tree

        return place_tree(self.catalog.conn)

    def trips(self) -> dict[str, Any]:
        """Home and the trips away from it: {"home": {name, country, days, label...} or None, "trips":
        [{id, name, start, end, days, photos, places}] oldest first, "located": photos with a place}."""
        from photoseek.store.places import located_count, read_home, read_trips

        return {"home": read_home(self.catalog), "trips": read_trips(self.catalog.conn),
                "located": located_count(self.catalog.conn)}

    def place_names(self) -> "NameIndex":
        """The names a request can name places by (the library's places and the world's countries and big
        cities, in the names people use): what the agent's planner reads places with."""
        from photoseek.store.places import place_names

        return place_names(self.catalog)

    def set_place(self, path_or_id: int | str, place: str | None) -> dict[str, Any]:
        """The user's word on where a photo was taken: a place name ("Lisbon", "Portland, Oregon",
        "Portugal") or a position ("38.72, -9.14"); None says the photo has no known place (its GPS is
        wrong). It wins over the GPS and any estimate, and survives re-indexing. Returns `show()`."""
        from photoseek.places.gazetteer import Gazetteer
        from photoseek.store.places import set_place_feedback

        pid = self.catalog.resolve_photo(path_or_id)["id"]
        if place is None:
            set_place_feedback(self.catalog, pid, None, None, None)
        else:
            text = " ".join(str(place).split())
            if not text or len(text) > 200:
                raise PhotoseekError("Give a place name (e.g. 'Lisbon' or 'Portland, Oregon') or a position "
                                     "('38.72, -9.14').")
            named = Gazetteer.load().named(text)
            if named is None:
                raise PhotoseekError(f"No place called {text!r} is known. Try the town's name with its country "
                                     "('Paris, France'), a region or country, or a position ('38.72, -9.14').")
            entry = named.city
            lat, lon = (entry.latitude, entry.longitude) if entry is not None else (None, None)
            numbers = [p.strip() for p in text.split(",")]
            if len(numbers) == 2 and all(_is_number(n) for n in numbers):
                lat, lon = float(numbers[0]), float(numbers[1])
            # a region or a country alone has no position: nothing is estimated or found from it
            set_place_feedback(self.catalog, pid, text, lat, lon)
        self._update_places()
        return self.show(pid)

    def clear_place(self, path_or_id: int | str) -> dict[str, Any]:
        """Forget the user's place for a photo: its GPS (or an estimate) names it again."""
        from photoseek.store.places import clear_place_feedback

        pid = self.catalog.resolve_photo(path_or_id)["id"]
        clear_place_feedback(self.catalog, pid)
        self._update_places()
        return self.show(pid)

    def why_empty(self, filters: Filters | None) -> str | None:
        """Why a search with these filters can have no result, in words, when a place or trip explains
        it: "No photo was taken in Lisbon; 49 photos have a position (places: ...).", "No trip went to
        Japan; the trips: ...", "No photo in this library has a known position, so there are no trips."
        None when the place or trip is there (then the other filters or the words found nothing)."""
        from photoseek.store.places import located_count, photos_in_places, read_trips, trip_photo_ids

        if filters is None:
            return None
        conn = self.catalog.conn
        located = located_count(conn)
        if filters.place:
            _found, unknown = photos_in_places(self.catalog, filters.place)
            if len(unknown) == len(filters.place):
                if not located:
                    return f"No photo was taken in {' or '.join(filters.place)} that this library knows of: no photo " \
                           "in it has a known position (GPS)."
                where = _places_list(self)
                return (f"No photo was taken in {' or '.join(unknown)}; {located} photo{'s' if located != 1 else ''} "
                        f"{'have' if located != 1 else 'has'} a position{', ' + where if where else ''}.")
        if filters.trip:
            trips = read_trips(conn)
            if not trips:
                return ("No trips: no photo in this library has a known position (GPS), so there is no way to tell "
                        "home from away." if not located else
                        "No trips: every photo with a position was taken at or near home.")
            found, matching = trip_photo_ids(self.catalog, filters.trip, filters.trip_day)
            if not matching:
                listed = "; ".join(f"{t['name']} ({t['start']})" for t in trips[-5:])
                return f"No trip matches {filters.trip!r}; the trips: {listed}."
            if not found and filters.trip_day:
                return f"The trip has no photos on that day ({', '.join(t['name'] for t in matching)})."
        if filters.date_from or filters.date_to:
            return _dates_missing(self, Filters(date_from=filters.date_from, date_to=filters.date_to))
        return None

    def place_note(self, filters: Filters | None) -> str | None:
        """What a place filter could not check: photos with no known position are left out by `place`
        and `trip` and kept by `not_place`; said, not silently done. None when every photo has a place
        or no place filter is asked."""
        from photoseek.store.places import unlocated_count

        if filters is None or not (filters.place or filters.not_place or filters.trip):
            return None
        unknown = unlocated_count(self.catalog.conn)
        if not unknown:
            return None
        photos = f"{unknown} photo{'s' if unknown != 1 else ''} with no known position"
        if filters.place and not filters.not_place:
            return f"{photos} could not be checked and {'are' if unknown != 1 else 'is'} left out."
        if filters.not_place and not filters.place:
            return f"{photos} {'are' if unknown != 1 else 'is'} kept: where {'they were' if unknown != 1 else 'it was'} " \
                   "taken is unknown."
        return f"{photos} could not be checked."

    # -- conversation ---------------------------------------------------------------------------------
    # The agent sits above the façade; these two are one-line conveniences (lazy, no circle: the
    # agent only names Library as a type).
    def session(self) -> "Session":
        from photoseek.agent.session import Session

        return Session(self)

    def ask(self, message: str, *, explain: str = "evidence") -> "Answer":
        """One conversational turn (plan, search, explain). For several turns use `session()`.
        explain="evidence" (default): reasons composed from each photo's evidence, instant;
        "model": the LLM rewords the top five (tens of seconds on a CPU)."""
        return self.session().ask(message, explain=explain)


def _normalized(words: Sequence[str]) -> list[str]:
    from photoseek.vision.taxonomy import normalize_tag

    return [w for w in dict.fromkeys(normalize_tag(str(t)) for t in words) if w]


def _dates_missing(library: "Library", dates: Filters) -> str | None:
    """"No photo was taken in 2019; the photos with a date were taken from 2012-03 to 2018-08 (3 have no
    date)." when no photo at all has a date in the range asked (None when some has: then the other
    filters or the words found nothing)."""
    from photoseek.search.filters import filter_photo_ids

    if filter_photo_ids(library.catalog, dates):
        return None
    first, last, dated, total = library.catalog.conn.execute(
        "SELECT MIN(taken_at), MAX(taken_at), COUNT(taken_at), COUNT(*) FROM photos").fetchone()
    asked = _date_range_words(dates.date_from, dates.date_to)
    if not dated:
        return f"No photo was taken {asked} that this library knows of: none of its photos has a date."
    undated = total - dated
    span = f"in {first[:7]}" if first[:7] == last[:7] else f"from {first[:7]} to {last[:7]}"
    return (f"No photo was taken {asked}; the photos with a date were taken {span}"
            + (f" ({undated} {'have' if undated != 1 else 'has'} no date)." if undated else "."))


def _date_range_words(date_from: str | None, date_to: str | None) -> str:
    """'in 2019' (a whole year), 'from 2019-03-01 to 2019-06-30', 'on or after 2019-03-01', …"""
    if date_from and date_to:
        if date_from[:4] == date_to[:4] and date_from[4:] in ("", "-01-01") and date_to[4:] in ("", "-12-31"):
            return f"in {date_from[:4]}"
        return f"from {date_from} to {date_to}"
    return f"on or after {date_from}" if date_from else f"on or before {date_to}"


def _places_list(library: "Library", limit: int = 6) -> str:
    """'in Germany, United Kingdom and 4 more countries' for messages, most photos first."""
    names = [c["country"] for c in library.places()["countries"] if c["country"]]
    if not names:
        return ""
    if len(names) > limit:
        return "in " + ", ".join(names[:limit]) + f" and {len(names) - limit} more countr{'ies' if len(names) - limit > 1 else 'y'}"
    return "in " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _color_fields(row) -> dict[str, Any]:
    """`show`'s colour profile fields: the profile's name ("" none; None not looked at yet) and
    whether the pixels were converted to sRGB for every model and the thumbnail."""
    return {"color_profile": row["color_profile"],
            "color_converted": None if row["color_converted"] is None else bool(row["color_converted"])}


def _photo_notes(conn) -> list[dict[str, Any]]:
    """Photos that were indexed, with something to say about them (see `Library.errors`)."""
    rows = conn.execute(
        "SELECT id, display_path, color_note, indexed_at FROM photos WHERE color_note IS NOT NULL ORDER BY display_path"
    ).fetchall()
    return [{"path": r["display_path"], "reason": r["color_note"], "failed_at": None, "noted_at": r["indexed_at"],
             "photo_id": r["id"], "kind": "note"} for r in rows]
