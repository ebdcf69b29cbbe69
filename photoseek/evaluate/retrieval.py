"""Built-in evaluation of search quality, for our dev sets and for users' own labelled folders.

Formats
-------
Retrieval (`photoseek eval retrieval DIR`): DIR holds `captions.jsonl`, one JSON object a line with
`file` (a path relative to DIR or to DIR/images) and `captions` (a list of strings). Every caption
is a query; its own photo is the one relevant result. Prints R@1, R@5, R@10, median rank, queries/s.

Composed (`photoseek eval composed DIR`): DIR holds `labels.csv` with columns `file`, `label`
(`day`/`night`) and `scene` (a camera or place id). Each day photo of a scene that also has night
photos is a reference; the modifier is "at night"; that scene's night photos are relevant.
Prints R@1, R@5, R@10 and mAP.

Both index DIR into a temporary library (or reuse `--library`), stage 1 plus the fast annotators.
"""

from __future__ import annotations

import csv
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from photoseek.errors import PhotoseekError
from photoseek.progress import Progress, SilentProgress

if TYPE_CHECKING:
    from photoseek.library import Library

FAST_ANNOTATORS = ["tags", "faces", "time", "colors"]


def _image_path(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / "images" / name):
        if candidate.exists():
            return candidate
    raise PhotoseekError(f"{name} is listed but not found in {folder} or {folder / 'images'}")


def labelled_library(folder: Path, library: "Library | None", embedder: str, progress: Progress,
                     signals: str | None = None, annotators: Iterable[str] = FAST_ANNOTATORS):
    """The folder indexed (and annotated), and a function from a listed file name to its photo id
    (None when the file could not be indexed: `photoseek errors` says why)."""
    lib = _prepared_library(folder, library, embedder, progress, annotators)
    _apply_signals(lib, signals)
    ids = _ids_by_path(lib)

    def photo_id(name: str) -> int | None:
        return ids.get(_image_path(folder, name).resolve().as_posix())

    return lib, photo_id


def _prepared_library(folder: Path, library: "Library | None", embedder: str, progress: Progress,
                      annotators: Iterable[str] = FAST_ANNOTATORS) -> "Library":
    from photoseek.library import Library

    lib = library or Library(Path(tempfile.mkdtemp(prefix="photoseek-eval-")), embedder=embedder, llm=None,
                             captioner="template")
    lib.index([folder], annotate=False, progress=progress)
    lib.annotate(list(annotators), progress=progress)
    return lib


def _apply_signals(lib: "Library", signals: str | None) -> None:
    if signals:
        chosen = {s.strip() for s in signals.split(",") if s.strip()}
        lib.engine.plan.signals = chosen


def _ids_by_path(lib: "Library") -> dict[str, int]:
    return {Path(r["display_path"]).resolve().as_posix(): r["id"]
            for r in lib.catalog.conn.execute("SELECT id, display_path FROM photos")}


def _recalls(ranks: list[int]) -> dict[str, float]:
    n = len(ranks)
    return {f"R@{k}": sum(r <= k for r in ranks) / n for k in (1, 5, 10)}


def eval_retrieval(folder, *, library: "Library | None" = None, embedder: str = "conse",
                   progress: Progress | None = None, signals: str | None = None,
                   feedback: bool = False) -> dict[str, Any]:
    """With `feedback`, one round of relevance feedback is simulated: when the true photo is in the
    top 10, the user marks it (`more_like`) and the query runs again; R@k after it is reported."""
    folder = Path(folder)
    manifest = folder / "captions.jsonl"
    if not manifest.exists():
        raise PhotoseekError(f"{manifest} not found: a retrieval folder needs captions.jsonl (see `photoseek eval --help`).")
    items = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    progress = progress or SilentProgress()
    lib, photo_id = labelled_library(folder, library, embedder, progress, signals)
    queries = []
    for item in items:
        pid = photo_id(item["file"])
        if pid is None:
            continue  # failed to index: counted out, reported by `photoseek errors`
        queries += [(caption, pid) for caption in item["captions"]]
    n_photos = lib.catalog.photo_count()
    ranks, ranks_after = [], []
    start = time.perf_counter()
    progress.start("Evaluating retrieval", len(queries))

    def rank_of(pid: int, **query) -> int:
        ranked = [p for p, _ in lib.engine.rank(k=n_photos, **query).fused]
        return ranked.index(pid) + 1 if pid in ranked else n_photos + 1

    for caption, pid in queries:
        ranks.append(rank_of(pid, text=caption))
        if feedback:
            ranks_after.append(rank_of(pid, text=caption, more_like=[pid]) if ranks[-1] <= 10 else ranks[-1])
        progress.advance()
    progress.finish()
    seconds = time.perf_counter() - start
    out: dict[str, Any] = _recalls(ranks)
    out.update({"medR": float(statistics.median(ranks)), "n": len(ranks), "seconds": round(seconds, 2),
                "queries_per_second": round(len(ranks) / seconds, 1) if seconds else None})
    if feedback:
        out.update({f"{key}_after_feedback": value for key, value in _recalls(ranks_after).items()})
        out["feedback_rounds"] = sum(r <= 10 for r in ranks)
    return out


def eval_composed(folder, *, library: "Library | None" = None, embedder: str = "conse",
                  progress: Progress | None = None, signals: str | None = None,
                  modifier: str = "at night", method: str = "fused", llm: Any = None) -> dict[str, Any]:
    """method "fused": `search(like=ref, but=modifier)`; "cirevl" (Karthik et al. 2024, CIReVL):
    describe the reference (its caption), let the LLM rewrite the description with the change, and
    search by that text alone."""
    folder = Path(folder)
    labels_file = folder / "labels.csv"
    if not labels_file.exists():
        raise PhotoseekError(f"{labels_file} not found: a composed folder needs labels.csv (file,label,scene).")
    with labels_file.open(newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"file", "label", "scene"} - set(rows[0] if rows else {})
    if missing:
        raise PhotoseekError(f"{labels_file} lacks column(s) {', '.join(sorted(missing))}.")
    progress = progress or SilentProgress()
    lib, photo_id = labelled_library(folder, library, embedder, progress, signals)
    photos = []
    for row in rows:
        pid = photo_id(row["file"])
        if pid is not None:
            photos.append((pid, row["label"].strip().lower(), row["scene"].strip()))
    night_by_scene: dict[str, set[int]] = {}
    for pid, label, scene in photos:
        if label == "night":
            night_by_scene.setdefault(scene, set()).add(pid)
    references = [(pid, scene) for pid, label, scene in photos if label == "day" and scene in night_by_scene]
    if not references:
        raise PhotoseekError("No day photo has a scene with night photos: nothing to evaluate.")
    n_photos = lib.catalog.photo_count()
    first_ranks, aps = [], []
    start = time.perf_counter()
    progress.start("Evaluating composed search", len(references))
    rewrite = _Rewriter(lib, llm) if method == "cirevl" else None
    for ref, scene in references:
        relevant = night_by_scene[scene]
        if rewrite is not None:
            query = dict(text=rewrite(ref, modifier))
        else:
            query = dict(like=ref, but=modifier)
        ranked = [pid for pid, _ in lib.engine.rank(k=n_photos, **query).fused if pid != ref]
        hits, precisions = 0, []
        first = n_photos + 1
        for rank, pid in enumerate(ranked, 1):
            if pid in relevant:
                hits += 1
                precisions.append(hits / rank)
                first = min(first, rank)
        first_ranks.append(first)
        aps.append(sum(precisions) / len(relevant))
        progress.advance()
    progress.finish()
    seconds = time.perf_counter() - start
    out: dict[str, Any] = _recalls(first_ranks)
    if rewrite is not None:
        out["rewrites"] = rewrite.examples[:3]
    out.update({"mAP": sum(aps) / len(aps), "medR": float(statistics.median(first_ranks)), "n": len(references),
                "seconds": round(seconds, 2)})
    return out


class _Rewriter:
    """CIReVL's text step: the reference's description rewritten with the change (cached per text)."""

    def __init__(self, lib: "Library", llm: Any = None):
        from photoseek.llm.base import get_llm

        self.lib = lib
        self.llm = llm or lib.llm or get_llm("llamacpp")
        self.cache: dict[tuple[str, str], str] = {}
        self.examples: list[dict[str, str]] = []

    def description(self, photo_id: int) -> str:
        from photoseek.store.annotations import caption_evidence
        from photoseek.vision.captions import template_caption

        row = self.lib.catalog.conn.execute("SELECT caption FROM captions WHERE photo_id=?", (photo_id,)).fetchone()
        return row[0] if row else template_caption(caption_evidence(self.lib.catalog.conn, photo_id))

    def __call__(self, photo_id: int, change: str) -> str:
        from photoseek.llm.base import Message
        from photoseek.prompts import render

        description = self.description(photo_id)
        key = (description, change)
        if key not in self.cache:
            try:
                reply = self.llm.chat(
                    [Message("system", render("system")),
                     Message("user", render("rewrite_description_user", description=description, change=change))],
                    schema={"type": "object", "properties": {"description": {"type": "string"}},
                            "required": ["description"]},
                    max_tokens=60,
                )
                rewritten = str(json.loads(reply).get("description", "")).strip()
            except (ValueError, PhotoseekError):
                rewritten = ""
            self.cache[key] = rewritten or f"{description} {change}"
            if len(self.examples) < 3:
                self.examples.append({"description": description, "rewritten": self.cache[key]})
        return self.cache[key]
