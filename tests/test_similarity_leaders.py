"""Similarity leaders on real photos: a library of COCO photos (coco-captions) where a tenth are kitchens.

"kitchen" is a word photoseek cannot recognise (no ImageNet class or broader term names it), and no
kitchen's similarity stands apart from the rest by its z; what the kitchens have is that the best
photos for "kitchen" look like one another. "fireworks" (none here) gets the photos that happen to
be closest: a torch, a candle, umbrellas, alike to nothing. The real embedder, tagger and engine.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import shared_data

KITCHENS = 9
OTHERS = 72


@pytest.fixture(scope="module")
def kitchen_library(tmp_path_factory, model_cache):
    """KITCHENS photos concepts.jsonl labels kitchens and OTHERS whose captions name no kitchen, the
    first of each in the file's order (so every run indexes the same photos); tags only."""
    from photoseek import Library

    coco = shared_data("coco-captions")
    concepts = {c["query"]: c for c in map(json.loads, (coco / "concepts.jsonl").read_text().splitlines())}
    kitchen = concepts["kitchen"]
    rows = [json.loads(line) for line in (coco / "captions.jsonl").read_text().splitlines() if line.strip()]
    near = set(kitchen["relevant"]) | set(kitchen.get("uncertain", []))
    others = [r["file"] for r in rows
              if r["file"] not in near and not any("kitchen" in c.lower() for c in r["captions"])][:OTHERS]
    photos = tmp_path_factory.mktemp("kitchen-photos")
    for name in kitchen["relevant"][:KITCHENS] + others:
        shutil.copy2(coco / name, photos / Path(name).name)
    folder = tmp_path_factory.mktemp("kitchen-library")
    with Library(folder, llm=None) as library:
        library.index([photos], annotate=False)
        library.annotate(["tags"])
    kitchens = {Path(name).name for name in kitchen["relevant"][:KITCHENS]}
    with Library(folder, llm=None) as library:
        yield library, kitchens


@pytest.mark.slow
def test_a_kitchen_like_word_keeps_its_clear_leaders_on_real_photos(kitchen_library):
    """The best photos for "kitchen" are kitchens that look alike: they are the matches, by
    resemblance alone, and said to be; every match is a kitchen and they are most of them."""
    from photoseek.agent.session import Session

    library, kitchens = kitchen_library
    results = library.search("kitchen", k=20)
    strong = [r for r in results if r.match == "strong"]
    assert all(Path(r.path).name in kitchens for r in strong), [Path(r.path).name for r in strong]
    assert len(strong) >= KITCHENS // 2
    assert all(r.evidence.stands_apart and r.evidence.unnameable == ["kitchen"] for r in strong)
    assert not any(r.evidence.stands_apart for r in results if r.match != "strong")
    text = Session(library, None).ask("a kitchen").text
    assert text.startswith(f'Found {len(strong)} photos for "kitchen"')
    assert f"the {len(strong)} found rest on resemblance alone" in text


@pytest.mark.slow
def test_a_word_missing_from_the_library_gives_no_matches_on_real_photos(kitchen_library):
    """No fireworks here: the closest photos are shown as close, none as a match; a word the tagger
    looks for in every photo (violin) is never met by resemblance."""
    from photoseek.agent.session import Session

    library, _ = kitchen_library
    for query in ("fireworks", "a violin"):
        results = library.search(query, k=10)
        assert results and not [r for r in results if r.match == "strong"], query
    assert Session(library, None).ask("fireworks").text.startswith('No photo shows "fireworks"')
