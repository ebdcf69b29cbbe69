"""`photoseek eval answers DIR`: are the photos an answer presents as matches the right ones?

Format
------
DIR holds `concepts.jsonl`, one JSON object a line: `query` (e.g. "cat"), `relevant` (files, relative
to DIR or DIR/images, that show it) and optionally `uncertain` (files counted neither right nor
wrong). `--concepts FILE` reads the queries from another file (same format, files relative to DIR),
e.g. a second labelled set over the same photos. `--empty FILE` adds queries in the same format whose
right answer is empty (`relevant: []`, e.g. "a giraffe at night" on coco-captions); a query with an
empty `relevant` in any file is one.

Protocol
--------
The answer set of a query is what `photoseek ask` would present as matches (results of level
"strong"), found by the answering function handed in (the CLI hands the agent's turn with the
default planner and no LLM). Uncertain files are taken out of it. Per query with relevant photos:
precision = |answer ∩ relevant| / |answer|, recall = |answer ∩ relevant| / |relevant|, F1 their
harmonic mean; an empty answer has precision 0 (scikit-learn's zero_division=0), so precision is not
flattered by saying nothing. `precision`, `recall` and `F1` are macro averages (means of the
per-query figures) over those queries. Queries whose right answer is empty are scored apart: an
answer is right when it presents no match (`empty.said_so`).

`baseline` scores the same searches as `ask` answered before match levels: its first k results
(by score, k = the agent's default 10), every one counted as an answer.

`per_query` rows: `query`, `relevant` (how many), `answered` (strong matches presented: the "Found N"
of the answer), `by_resemblance` (how many of them are matches by resemblance alone: nothing in the
library could name a word), `over` (answered > 2 × relevant + 3: an answer that overcounts; for an
empty right answer, more than 3), `partial` (partial matches presented after them),
`precision`/`recall`/`F1`, `baseline_F1`, `wrong_count` and `wrong` (the first WRONG_LISTED wrong
matches, by path relative to DIR); for a query whose right answer is empty, `said_so`. The top level
counts the overcounting answers (`overcounted`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from photoseek.errors import PhotoseekError
from photoseek.evaluate.retrieval import FAST_ANNOTATORS, labelled_library
from photoseek.progress import Progress, SilentProgress
from photoseek.results import SearchResult

if TYPE_CHECKING:
    from photoseek.library import Library

BASELINE_K = 10
WRONG_LISTED = 10  # per query, the first wrong matches by name (`wrong_count` counts them all)


def _relative(path: str, folder) -> str:
    """A photo's path as the labels name it (relative to the evaluated folder), else as it is."""
    try:
        return str(Path(path).resolve().relative_to(Path(folder).resolve()))
    except ValueError:
        return path


@dataclass
class AnswerSet:
    """One answered query: the results presented (matches first) and the search's full ranking."""

    presented: list[SearchResult]
    ranked: list[SearchResult] = field(default_factory=list)

    @property
    def matches(self) -> list[SearchResult]:
        return [r for r in self.presented if r.match == "strong"]


Answerer = Callable[["Library", str], AnswerSet]


def search_answerer(library: "Library", query: str) -> AnswerSet:
    """Plain `Library.search` (no planner), presented as an answer shows it: for callers without the agent."""
    from photoseek.search.match import presented

    ranked = library.search(query, k=50)
    return AnswerSet(presented(ranked, BASELINE_K), ranked)


def load_queries(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of `path`, each checked to have a `query` and a `relevant` list."""
    if not path.exists():
        raise PhotoseekError(f"{path} not found: an answers folder needs concepts.jsonl (query, relevant, uncertain).")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PhotoseekError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("query"), str) or not item["query"].strip():
            raise PhotoseekError(f"{path}:{number}: each line needs a non-empty \"query\"")
        if not isinstance(item.get("relevant", []), list) or not isinstance(item.get("uncertain", []), list):
            raise PhotoseekError(f"{path}:{number}: \"relevant\" and \"uncertain\" must be lists of files")
        items.append(item)
    return items


def scores(answer: Iterable[str], relevant: set[str], uncertain: set[str] = frozenset()) -> dict[str, float]:
    """Precision, recall and F1 of an answer set (uncertain files removed; empty answer: precision 0)."""
    answered = set(answer) - set(uncertain)
    hits = len(answered & relevant)
    precision = hits / len(answered) if answered else 0.0
    recall = hits / len(relevant) if relevant else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "F1": f1}


def _macro(rows: list[dict[str, float]]) -> dict[str, float]:
    n = len(rows)
    return {key: round(sum(r[key] for r in rows) / n, 4) if n else 0.0 for key in ("precision", "recall", "F1")}


def overcounts(answered: int, relevant: int) -> bool:
    """An answer that counts more matches than a person could believe: more than twice the photos that
    show it, plus 3 (giraffe with 4 in the library: more than 11; fireworks with none: more than 3)."""
    return answered > 2 * relevant + 3


def eval_answers(folder, *, library: "Library | None" = None, embedder: str = "conse",
                 progress: Progress | None = None, answerer: Answerer | None = None,
                 empty: str | Path | None = None, annotators: Iterable[str] = FAST_ANNOTATORS,
                 concepts: str | Path | None = None) -> dict[str, Any]:
    """Score the answers to DIR/concepts.jsonl (or `concepts`, files relative to DIR; and `empty`
    queries). Returns {"precision", "recall", "F1", "queries", "overcounted", "per_query": [...],
    "baseline": {...}, "empty": {...}, "seconds"}: macro averages over the queries with relevant
    photos (fractions)."""
    folder = Path(folder)
    items = load_queries(Path(concepts) if concepts is not None else folder / "concepts.jsonl")
    if empty is not None:
        extra = load_queries(Path(empty))
        bad = [i["query"] for i in extra if i.get("relevant")]
        if bad:
            raise PhotoseekError(f"{empty}: queries whose right answer is empty must have no relevant files ({bad[0]!r})")
        items += extra
    progress = progress or SilentProgress()
    answerer = answerer or search_answerer
    lib, photo_id = labelled_library(folder, library, embedder, progress, annotators=annotators)
    names: dict[int, str] = {}

    def ids(files: Iterable[str]) -> set[int]:
        found = set()
        for name in files:
            pid = photo_id(name)
            if pid is not None:  # failed to index: counted out, `photoseek errors` says why
                found.add(pid)
                names[pid] = name
        return found

    per_query, baseline_rows, scored = [], [], []
    said_so = 0
    started = time.perf_counter()
    progress.start("Evaluating answers", len(items))
    for item in items:
        relevant, uncertain = ids(item.get("relevant", [])), ids(item.get("uncertain", []))
        answer = answerer(lib, item["query"])
        matched = [r.id for r in answer.matches]
        row: dict[str, Any] = {"query": item["query"], "relevant": len(relevant), "answered": len(matched),
                               "by_resemblance": sum(bool(r.evidence.stands_apart) for r in answer.matches),
                               "over": overcounts(len(matched), len(relevant)),
                               "partial": sum(r.match == "partial" for r in answer.presented)}
        if relevant:
            figures = scores(matched, relevant, uncertain)
            baseline = scores([r.id for r in answer.ranked[:BASELINE_K]], relevant, uncertain)
            row.update({k: round(v, 4) for k, v in figures.items()})
            row["baseline_F1"] = round(baseline["F1"], 4)
            wrong = set(matched) - relevant - uncertain
            shown = {r.id: _relative(r.path, folder) for r in answer.presented}
            row["wrong_count"] = len(wrong)
            row["wrong"] = sorted(names.get(pid) or shown.get(pid, str(pid)) for pid in wrong)[:WRONG_LISTED]
            scored.append(figures)
            baseline_rows.append(baseline)
        else:
            row["said_so"] = not matched
            said_so += not matched
        per_query.append(row)
        progress.advance()
    progress.finish()
    empty_count = len(items) - len(scored)
    out: dict[str, Any] = _macro(scored)
    out.update({
        "queries": len(scored),
        "overcounted": sum(row["over"] for row in per_query),
        "per_query": per_query,
        "baseline": {**_macro(baseline_rows), "k": BASELINE_K},
        "empty": {"queries": empty_count, "said_so": said_so,
                  "rate": round(said_so / empty_count, 4) if empty_count else None},
        "seconds": round(time.perf_counter() - started, 2),
    })
    return out
