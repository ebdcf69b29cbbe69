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

if TYPE_CHECKING:
    from photoseek.agent.session import Answer, Session
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
            indexer = Indexer(self.catalog, self.embedder, self.path, progress=progress, executor=executor,
                              annotators=PIXEL_ANNOTATORS if annotate else ())
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
            if annotate:
                stage_started = time.perf_counter()
                report.annotated.update(self._annotator(None, progress, retry_failed=retry_failed).run())
                report.stages["annotate"] = time.perf_counter() - stage_started
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
        from photoseek.ingest.annotate import Annotator

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

        row = self.catalog.resolve_photo(path_or_id)
        pid = row["id"]
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
            "tags": tags,
            "caption": caption["caption"] if caption else None,
            "captioner": caption["captioner_id"] if caption else None,
            "ocr_text": ocr["text"] if ocr else None,
            "indexed_at": row["indexed_at"],
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
        statuses = self.taught.update(added, taught=True) + self.taught.update(removed)
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
