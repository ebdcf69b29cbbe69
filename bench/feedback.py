"""Relevance feedback on concept queries, by the residual-collection method (Salton & Buckley 1990):
for each query of coco-captions/concepts.jsonl, search (k=40), mark the first relevant photo of the
top 10 "more like this" (and, in the second row, the first wrong one "less like this"), search again,
and compare precision@10 of both rankings with the marked photos taken out of each (so a marked photo
moving up counts for nothing).

    .venv/bin/python bench/feedback.py LIBRARY        # a library indexed from ../shared/data/coco-captions

Measured (stop 20, 461 photos, offline ConSE): more only 0.542 -> 0.553; more + less 0.551 -> 0.570.
Adding the marked photos' visual likeness as a fused signal lowered it (0.553 -> 0.47 at weight 1),
so feedback moves the text query (Rocchio) and the reasons report the visual likeness apart.
"""

from __future__ import annotations

import sys

from concepts import run_bench


def residual_precision(lib, concepts, *, use_less: bool) -> tuple[float, float, int]:
    """(P@10 before, P@10 after feedback, queries with a relevant photo in the top 10)."""
    before = after = 0.0
    counted = 0
    for query, relevant, uncertain in concepts:
        first = [r.id for r in lib.search(query, k=40)]
        more = [i for i in first[:10] if i in relevant][:1]
        if not relevant or not more:
            continue
        less = [i for i in first[:10] if i not in relevant and i not in uncertain][:1] if use_less else []
        again = [r.id for r in lib.search(query, k=40, more_like=more, less_like=less)]
        marked = set(more) | set(less)
        before += sum(i in relevant for i in [i for i in first if i not in marked][:10]) / 10
        after += sum(i in relevant for i in [i for i in again if i not in marked][:10]) / 10
        counted += 1
    return before / counted, after / counted, counted


def measure(lib, concepts) -> None:
    for use_less, label in ((False, "more like 1"), (True, "more like 1, less like 1")):
        before, after, n = residual_precision(lib, concepts, use_less=use_less)
        print(f"{label:26s} residual P@10 {before:.3f} -> {after:.3f}  (x{after / before:.2f}, {n} queries)")


if __name__ == "__main__":
    sys.exit(run_bench(__doc__, measure))
