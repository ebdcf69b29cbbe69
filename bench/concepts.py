"""What the concept benches share (bench/examples.py, bench/feedback.py): their command line, and
coco-captions/concepts.jsonl's queries with the catalog ids of their relevant and uncertain photos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

CONCEPTS = REPO_ROOT.parent / "shared" / "data" / "coco-captions" / "concepts.jsonl"


def concept_photos(lib, concepts: Path) -> list[tuple[str, set[int], set[int]]]:
    """(query, relevant ids, uncertain ids) for each line of `concepts`, photos matched by file name."""
    by_name = {path.rsplit("/", 1)[-1]: pid for pid, path in lib.catalog.conn.execute("SELECT id, display_path FROM photos")}

    def ids(files: list[str]) -> set[int]:
        return {by_name[f.rsplit("/", 1)[-1]] for f in files if f.rsplit("/", 1)[-1] in by_name}

    rows = [json.loads(line) for line in Path(concepts).read_text().splitlines() if line.strip()]
    return [(row["query"], ids(row["relevant"]), ids(row.get("uncertain", []))) for row in rows]


def run_bench(doc: str, measure: Callable, options: Callable | None = None) -> int:
    """Parse `LIBRARY [--concepts FILE]` (and what `options(parser)` adds), open the library without
    an LLM and call `measure(lib, concept_photos(...))`, or `measure(lib, concepts, args)` with `options`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("library", help="a library indexed from the coco-captions photos")
    parser.add_argument("--concepts", default=str(CONCEPTS))
    if options is not None:
        options(parser)
    args = parser.parse_args()
    from photoseek.library import Library

    with Library(args.library, llm=None) as lib:
        concepts = concept_photos(lib, Path(args.concepts))
        measure(lib, concepts, args) if options is not None else measure(lib, concepts)
    return 0
