"""`photoseek eval teach DIR`: does a word taught from a few photos find the rest?

Format: DIR holds `concepts.jsonl` as `photoseek eval answers` reads it (`query`, `relevant`,
optional `uncertain`; see photoseek.evaluate.answers).

Protocol
--------
Every concept with at least MIN_RELEVANT relevant photos is taught from n of them: the first n of its
`relevant` list as the file gives it (a fixed pick; coco-captions lists them by file name), with
`photoseek teach WORD ID…` semantics (the word given to those photos, the model trained at once;
photoseek itself needs MIN_EXAMPLES = 3, the learning curve's n = 1 and 2 lower that for the
evaluation only). Then, over the remaining photos (the examples and the uncertain ones left out of
every figure):

  mAP@200, P@10   of the ranking a search for the word gives (AP over its first 200, divided by
                  min(relevant, 200))
  precision, recall, F1   of what `ask` presents as matches (the answering function handed in; the
                  CLI hands the agent's turn with the default planner and no LLM), macro-averaged

beside the same figures for (a) the word as text alone, before it is taught, and (b) relevance
feedback with the same n photos (`search --more-like A B C`: its ranking, and its strong matches as
the answer). The word is then untaught (the examples' tags and the learned tags removed) before the
next concept. `calibration` pools the learned tags' confidences over the remaining photos of every
concept (n = 3): in bins, their mean and the share that show the word (with no labels for photos
the captions do not name, a lower bound).

With `--library`, a copy of the library is taught (yours is never changed); without, DIR is indexed
into a temporary library, as `eval answers` does.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from photoseek.evaluate.answers import Answerer, load_queries, scores, search_answerer
from photoseek.evaluate.retrieval import FAST_ANNOTATORS, labelled_library
from photoseek.learn.model import MIN_EXAMPLES
from photoseek.progress import Progress, SilentProgress

if TYPE_CHECKING:
    from photoseek.library import Library

MIN_RELEVANT = 6
MAP_DEPTH = 200
CURVE = (1, 3, 5)
CALIBRATION_BINS = ((0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01))


def average_precision(ranked: Sequence[int], relevant: set[int], excluded: set[int], depth: int = MAP_DEPTH) -> float:
    """AP of the first `depth` of `ranked` (ids in `excluded` taken out first), over min(|relevant|, depth)."""
    hits, total, rank = 0, 0.0, 0
    for pid in ranked:
        if pid in excluded:
            continue
        rank += 1
        if rank > depth:
            break
        if pid in relevant:
            hits += 1
            total += hits / rank
    denominator = min(len(relevant), depth)
    return total / denominator if denominator else 0.0


def precision_at(ranked: Sequence[int], relevant: set[int], excluded: set[int], k: int = 10) -> float:
    kept = [pid for pid in ranked if pid not in excluded][:k]
    return sum(pid in relevant for pid in kept) / k


def eval_teach(folder, *, library: "Library | None" = None, embedder: str = "conse",
               progress: Progress | None = None, answerer: Answerer | None = None,
               examples: Iterable[int] = CURVE, min_relevant: int = MIN_RELEVANT,
               annotators: Iterable[str] = FAST_ANNOTATORS) -> dict[str, Any]:
    """Score taught words on DIR/concepts.jsonl for each number of examples in `examples` (the
    curve). Returns {"curve": {n: {"taught", "text", "feedback": figures, "concepts"}}, "per_concept"
    (rows for n = 3, or the first n), "calibration", "seconds"}; figures are macro averages."""
    folder = Path(folder)
    items = load_queries(folder / "concepts.jsonl")
    progress = progress or SilentProgress()
    answerer = answerer or search_answerer
    counts = sorted({int(n) for n in examples if int(n) >= 1})
    started = time.perf_counter()
    copy_dir = None
    if library is not None:
        copy_dir = Path(tempfile.mkdtemp(prefix="photoseek-eval-teach-"))
        library = _copy_library(library, copy_dir)
    try:
        lib, photo_id = labelled_library(folder, library, embedder, progress, annotators=annotators)
        concepts = []
        for item in items:
            relevant = [pid for pid in (photo_id(name) for name in item.get("relevant", [])) if pid is not None]
            uncertain = {pid for pid in (photo_id(name) for name in item.get("uncertain", [])) if pid is not None}
            if len(relevant) >= min_relevant:
                concepts.append((item["query"], relevant, uncertain))
        shown = 3 if 3 in counts else counts[0]
        curve: dict[int, dict[str, Any]] = {}
        per_concept: list[dict[str, Any]] = []
        pooled: list[tuple[float, bool]] = []
        n_photos = lib.catalog.photo_count()
        progress.start("Evaluating taught words", len(concepts) * len(counts))
        for n in counts:
            lib.taught.min_examples = min(n, MIN_EXAMPLES)
            rows = {"taught": [], "text": [], "feedback": []}
            for query, relevant, uncertain in concepts:
                taught_from = relevant[:n]
                remaining = set(relevant) - set(taught_from)
                excluded = set(taught_from) | uncertain
                figures = {
                    "text": _figures(_ranked(lib, n_photos, text=query), answerer(lib, query).matches,
                                     remaining, excluded, uncertain),
                    "feedback": _figures(_ranked(lib, n_photos, more_like=taught_from),
                                         [r for r in lib.search(more_like=taught_from, k=50) if r.match == "strong"],
                                         remaining, excluded, uncertain),
                }
                status = lib.teach(query, taught_from)
                try:
                    figures["taught"] = _figures(_ranked(lib, n_photos, text=query), answerer(lib, query).matches,
                                                 remaining, excluded, uncertain)
                    if n == shown:
                        learned = _learned(lib, status.word)
                        pooled += [(c, pid in remaining) for pid, c in learned.items() if pid not in excluded]
                finally:
                    _untaught(lib, status.word, taught_from)
                for kind, values in figures.items():
                    rows[kind].append(values)
                if n == shown:
                    per_concept.append({"query": query, "relevant": len(remaining), "examples": len(taught_from),
                                        **{f"{kind}_{key}": round(value, 4) for kind, values in figures.items()
                                           for key, value in values.items() if key != "answered"},
                                        "answered": figures["taught"]["answered"]})
                progress.advance()
            curve[n] = {kind: _macro(values) for kind, values in rows.items()}
            curve[n]["concepts"] = len(concepts)
        progress.finish()
        return {"curve": curve, "per_concept": per_concept, "examples_shown": shown,
                "calibration": _calibration(pooled), "seconds": round(time.perf_counter() - started, 2)}
    finally:
        if copy_dir is not None:
            if library is not None:
                library.close()
            shutil.rmtree(copy_dir, ignore_errors=True)


def _ranked(lib: "Library", k: int, **query) -> list[int]:
    return [pid for pid, _ in lib.engine.rank(k=k, **query).fused]


def _figures(ranked: list[int], matches, remaining: set[int], excluded: set[int], uncertain: set[int]) -> dict[str, float]:
    answered = {r.id for r in matches} - excluded
    out = {"mAP@200": average_precision(ranked, remaining, excluded), "P@10": precision_at(ranked, remaining, excluded)}
    out.update(scores(answered, remaining, uncertain))
    out["answered"] = len(answered)
    return out


def _macro(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = ("mAP@200", "P@10", "precision", "recall", "F1")
    return {key: round(sum(r[key] for r in rows) / len(rows), 4) if rows else 0.0 for key in keys}


def _learned(lib: "Library", word: str) -> dict[int, float]:
    from photoseek.store.words import learned_tags

    return learned_tags(lib.catalog.conn, word)


def _untaught(lib: "Library", word: str, photos: list[int]) -> None:
    """Take the word back: the examples' tags, then learning again removes the learned ones and the record."""
    from photoseek.store.feedback import clear_tag_feedback

    for pid in photos:
        clear_tag_feedback(lib.catalog, pid, [word])
    lib.taught.learn(word)


def _calibration(pooled: list[tuple[float, bool]]) -> list[dict[str, Any]]:
    out = []
    for low, high in CALIBRATION_BINS:
        inside = [(c, right) for c, right in pooled if low <= c < high]
        if inside:
            out.append({"confidence": f"{low:.1f}–{min(high, 1.0):.1f}", "tags": len(inside),
                        "mean_confidence": round(sum(c for c, _ in inside) / len(inside), 3),
                        "share_right": round(sum(r for _, r in inside) / len(inside), 3)})
    return out


def _copy_library(library: "Library", target: Path) -> "Library":
    """A copy of `library` (catalog by SQLite's backup, the vector caches) to teach without changing it."""
    from photoseek.library import Library

    source = library.path
    target.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source / "catalog.sqlite3") as src, sqlite3.connect(target / "catalog.sqlite3") as dst:
        src.backup(dst)
    if (source / "vectors").is_dir():
        shutil.copytree(source / "vectors", target / "vectors")
    if (source / "thumbs").is_dir():
        (target / "thumbs").symlink_to((source / "thumbs").resolve())
    return Library(target, embedder=library._embedder_spec, llm=None, captioner="template")

