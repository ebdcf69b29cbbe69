"""Match levels: does a result meet the request, part of it, or only rank near it?

A search ranks every photo, so its top k always holds k photos, cats or not. The level says which of
them the library has reasons to call a match:

  strong   every word of the request is met by evidence (a tag or its broader term, the text read in
           the photo, the caption, the file name) and every attribute asked in words (time of day,
           people, colour) by the annotations; or the photo's similarity stands far above the
           library's (z ≥ Z_STRONG: e.g. "kitchen", which no tag names, for a photo of a stove and
           a fridge); for query by example, similarity z ≥ Z_EXAMPLE_STRONG and the change asked met
  partial  some of the request is met, or the similarity stands out (z ≥ Z_PARTIAL) without any
           evidence naming what was asked
  weak     nothing of the request was found: the photo is only among the closest

Filters (`--time night`, "only from 2019") restrict which photos are searched; every result passes
them, so they say nothing about which result is a match, and do not raise a level.

Standing is the z-score of the photo's similarity among ALL the library's photos for this query
(see `photoseek.search.calibration`). Thresholds were chosen on coco-captions/concepts.jsonl with the
offline ConSE embedder (`photoseek eval answers`; the figures are in the README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Iterable

from photoseek.results import Evidence, Filters, SearchResult, match_rank
from photoseek.search.query_attributes import PERSON_WORDS, QueryAttributes, parse_attributes

# z-scores (standard deviations above the library's mean similarity for the query).
Z_STRONG = 3.0
Z_PARTIAL = 1.5
Z_EXAMPLE_STRONG = 2.5
Z_EXAMPLE_PARTIAL = 1.0
# Words that carry no content of their own in a request ("photos of a cat on the sofa").
FUNCTION_WORDS = set(
    """a an the of in on at to for from with without and or but by near into onto over under some any my our
    your their his her its this that these those is are was were be been there here me us show find photo photos
    picture pictures pic pics image images shot shots taken one ones only just""".split()
)
_TIME_PHRASES = {"night": "at night", "day": "in daytime", "twilight": "at twilight"}


def stems(text: str) -> set[str]:
    """Lower-case word stems (plural 's' dropped), enough to see that "dogs" names the tag "dog"."""
    return {_stem(w) for w in re.findall(r"[^\W_]+", text.lower())}


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@dataclass
class Request:
    """What a search asked for, as the levels judge it."""

    words: list[str] = field(default_factory=list)  # content words, as asked ("traffic", "light")
    attributes: QueryAttributes = field(default_factory=QueryAttributes)  # asked in words
    filters: Filters = field(default_factory=Filters)
    example: bool = False  # query by example (a reference photo)
    phrase: str = ""  # the words searched, for phrases ("traffic light") and messages

    def is_empty(self) -> bool:
        return not (self.words or not self.attributes.is_empty() or self.example)


def read_request(text: str | None, filters: Filters | None = None, *, example: bool = False,
                 but: str | None = None, text_in_photo: str | None = None) -> Request:
    """The content words and attributes of a search (English `text`, the `but` of composed search,
    words to find written in the photo)."""
    phrase = " ".join(t for t in (text, but, text_in_photo) if t)
    attributes = parse_attributes(" ".join(t for t in (text, but) if t))
    person = set(PERSON_WORDS) if attributes.people is not None else set()
    words: list[str] = []
    for word in re.findall(r"[^\W_]+", " ".join(t for t in (attributes.residual, text_in_photo) if t).lower()):
        if word not in FUNCTION_WORDS and word not in person and not word.isdigit() and word not in words:
            words.append(word)
    return Request(words, attributes, filters or Filters(), example, phrase.lower())


@dataclass
class PhotoFacts:
    """The full annotations of one photo (Evidence keeps only snippets)."""

    tags: list[str] = field(default_factory=list)
    ocr: str = ""
    caption: str = ""
    path: str = ""


def words_met(request: Request, facts: PhotoFacts) -> dict[str, str]:
    """Request word -> the evidence that names it. A tag meets a word when it is that word (plural
    aside) or a tag phrase the request contains ("traffic light"); "teddy bear" does not meet "bear"."""
    met: dict[str, str] = {}
    phrase = " ".join(_stem(w) for w in re.findall(r"[^\W_]+", request.phrase))
    tag_stems = [(tag, [_stem(w) for w in re.findall(r"[^\W_]+", tag.lower())]) for tag in facts.tags]
    sources = [("written text", stems(facts.ocr)), ("caption", stems(facts.caption)),
               ("file name", stems(PurePath(facts.path).stem.replace("_", " ").replace("-", " ")))]
    for word in request.words:
        stem = _stem(word)
        for tag, parts in tag_stems:
            if parts == [stem] or (len(parts) > 1 and stem in parts and re.search(rf"\b{re.escape(' '.join(parts))}\b", phrase)):
                met[word] = f"tag {tag}"
                break
        else:
            for name, found in sources:
                if stem in found:
                    met[word] = name
                    break
    return met


def attributes_met(attributes: QueryAttributes, evidence: Evidence, tags: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """(attribute -> the annotation that meets it, attributes not met) for those asked in words."""
    met: dict[str, str] = {}
    missing: list[str] = []
    if attributes.time_of_day:
        asked = _TIME_PHRASES.get(attributes.time_of_day, attributes.time_of_day)
        if evidence.time_of_day == attributes.time_of_day:
            met[asked] = f"taken {asked}"
        else:
            missing.append(asked)
    if attributes.people is not None:
        asked = "people" if attributes.people else "no people"
        faces = evidence.people
        if faces is not None and (faces > 0) == attributes.people:
            met[asked] = "no faces" if faces == 0 else f"{faces} face{'s' if faces != 1 else ''}"
        else:
            missing.append(asked)
    tag_set = {t.lower() for t in tags}
    for colour in attributes.colors:
        if colour in tag_set:
            met[colour] = f"colour {colour}"
        else:
            missing.append(colour)
    return met, missing


def assess(request: Request, evidence: Evidence, facts: PhotoFacts) -> str:
    """The match level of one result; fills `evidence.met` and `evidence.missing`."""
    z = evidence.standing
    met = words_met(request, facts)
    attr_met, attr_missing = attributes_met(request.attributes, evidence, facts.tags)
    missing = [w for w in request.words if w not in met] + attr_missing
    evidence.met = {**met, **attr_met}
    if request.example:
        close = z is not None and z >= Z_EXAMPLE_STRONG
        near = z is not None and z >= Z_EXAMPLE_PARTIAL
        if not close and not near:
            evidence.missing = ["a close likeness to the reference photo"] + missing
        else:
            evidence.missing = missing
        if close and not missing:
            return "strong"
        return "partial" if near or met or attr_met else "weak"
    evidence.missing = missing
    if request.is_empty():  # filters only: every result passes them
        return "strong"
    stands_out = z is not None and z >= Z_STRONG
    if not missing and (met or attr_met):
        return "strong"
    if request.words and not met and stands_out and not attr_missing:
        return "strong"  # no evidence names it, but nothing in the library is closer by far
    if met or attr_met or (z is not None and z >= Z_PARTIAL):
        return "partial"
    return "weak"


def assess_all(results: list[SearchResult], request: Request, facts: dict[int, PhotoFacts]) -> None:
    """Set `match` (and evidence.met / missing) on every result."""
    for result in results:
        result.match = assess(request, result.evidence, facts.get(result.id, PhotoFacts(path=result.path)))


def at_least(results: list[SearchResult], min_level: str | None) -> list[SearchResult]:
    """The results whose level is `min_level` or better (all when None). PhotoseekError for an unknown level."""
    if min_level is None:
        return results
    limit = match_rank(min_level)
    return [r for r in results if match_rank(r.match) <= limit]


def matches_first(results: list[SearchResult]) -> list[SearchResult]:
    """Strong matches, then partial, then weak; by score within each (a stable sort keeps the ranking)."""
    return sorted(results, key=lambda r: match_rank(r.match))
