"""Agent turn latency: cold start (first turn, model loading included) and warm turns (plan + search +
explanations of the top 5), with the default model unless --llm says otherwise.

    python bench/agent.py --library ~/.local/share/photoseek/library
    python bench/agent.py --photos ../shared/data/coco-captions/images --limit 40   # builds a temp library

Goal: warm turn p50 <= 8 s on a laptop-class CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TURNS = [  # a conversation: fresh searches, follow-ups, feedback, Chinese
    "dogs playing outside",
    "only from 2019",
    "without people",
    "猫的照片",
    "more like 1 and 3, not 2",
    "a red bus on a city street",
    "pizza on a table",
    "like #2 but at night",
    "火车",
    "food at night",
]


def build_library(photos: Path, limit: int, annotate: list[str]) -> Path:
    from photoseek import Library

    files = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:limit]
    if not files:
        raise SystemExit(f"no photos under {photos}")
    folder = Path(tempfile.mkdtemp(prefix="photoseek-bench-agent-"))
    started = time.perf_counter()
    with Library(folder / "library", llm=None) as library:
        library.index(files, annotate=False)
        if annotate:
            library.annotate(annotate)
    print(f"indexed {len(files)} photos into {folder} in {time.perf_counter() - started:.1f}s", flush=True)
    return folder / "library"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, help="an indexed library (else one is built from --photos)")
    parser.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "coco-captions" / "images")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--annotate", default="tags,time", help="annotators for a built library")
    parser.add_argument("--llm", default="llamacpp")
    parser.add_argument("--turns", type=int, default=len(TURNS))
    options = parser.parse_args()

    library_dir = options.library or build_library(options.photos, options.limit,
                                                   [a for a in options.annotate.split(",") if a])
    from photoseek import Library
    from photoseek.llm.base import get_llm
    from photoseek.agent.session import Session

    started = time.perf_counter()
    llm = get_llm(options.llm)
    library = Library(library_dir, llm=llm)
    session = Session(library, today=date.today())
    first = session.ask(TURNS[0])
    cold = time.perf_counter() - started
    load = getattr(llm, "load_seconds", None)
    print(f"cold start (library + model load + first turn): {cold:.2f}s"
          + (f"; model load {load:.2f}s" if load is not None else "") + f"; first turn phases {first.timings}")

    totals, phases, explained, rejected = [], {"results": [], "plan": [], "tools": [], "explain": []}, 0, 0
    for message in TURNS[1 : options.turns]:
        answer = session.ask(message)
        totals.append(answer.timings["total"])
        for phase in phases:
            if phase in answer.timings:
                phases[phase].append(answer.timings[phase])
        explained += session.explainer.stats.model_explained
        rejected += len(session.explainer.stats.rejected)
        calls = "; ".join(f"{c.tool} {c.args}" for c in answer.plan.calls) if answer.plan else answer.text
        print(f"{answer.timings['total']:6.2f}s  {message!r:34} -> {calls}  [{len(answer.results)} results]",
              flush=True)

    if totals:
        print(f"\nwarm turn: p50 {statistics.median(totals):.2f}s, mean {statistics.mean(totals):.2f}s, "
              f"max {max(totals):.2f}s over {len(totals)} turns")
        print("medians (results = plan + search, when the table appears): " + ", ".join(f"{k} {statistics.median(v):.2f}s" for k, v in phases.items() if v))
        print(f"model explanations kept {explained}, replaced by composed (unsupported or repeated) {rejected}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
