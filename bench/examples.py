"""Query by example ("photos like this") on concept photos: for each query of
coco-captions/concepts.jsonl with at least 3 relevant photos, each of its first 4 relevant photos
(by catalog id) is the example; the other relevant photos are what should come back. Prints
precision@10 of `Library.search(like=…)`, and how many results were called strong matches and how
many of those show the concept (the example itself is never a result).

    .venv/bin/python bench/examples.py LIBRARY        # a library indexed from ../shared/data/coco-captions

Measured (stop 20, 461 photos, offline defaults): the layout-heavy weights composed search uses
(visual 0.5, layout 1.0) gave P@10 0.142; visual 1.0 alone 0.366; visual 1.0 + joint (ConSE) 1.0,
today's `photoseek.search.engine.EXAMPLE_WEIGHTS`, 0.408.
"""

from __future__ import annotations

import sys

from concepts import run_bench

EXAMPLES_PER_QUERY = 4


def measure(lib, concepts) -> None:
    precision = strong = strong_right = examples = 0.0
    for _query, relevant, _uncertain in concepts:
        if len(relevant) < 3:
            continue
        for example in sorted(relevant)[:EXAMPLES_PER_QUERY]:
            results = lib.search(like=example, k=10)
            precision += sum(r.id in relevant for r in results) / 10
            strong += sum(r.match == "strong" for r in results)
            strong_right += sum(r.match == "strong" and r.id in relevant for r in results)
            examples += 1
    print(f"query by example: P@10 {precision / examples:.3f} over {examples:.0f} example photos; "
          f"strong matches {strong / examples:.1f} a search, {strong_right / max(strong, 1):.2f} of them right")


if __name__ == "__main__":
    sys.exit(run_bench(__doc__, measure))
