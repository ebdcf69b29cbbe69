"""Match levels: does a result meet the request, part of it, or only rank near it?

A search ranks every photo, so its top k always holds k photos, cats or not. The level says which of
them the library has reasons to call a match:

  strong   every word of the request is met by evidence (a tag or its broader term, the text read in
           the photo, the caption, the file name) and every attribute asked in words (time of day,
           people, colour) by the annotations; or no evidence names some or all of the words but
           the photo's similarity stands out from the library's (z ≥ Z_STRONG) and is near the best
           photo's for this query (within Z_FROM_TOP): e.g. "kitchen", which no tag names, for a
           photo of a stove and a fridge, or a photo tagged bus for "bus on the street". When a word
           left unmet is one the tagger can name ("violin", "cat": terms of the tag vocabulary) and
           it did not name it here, that is evidence against, and the similarity must stand out
           further (z ≥ Z_STRONG_KNOWN): a stop sign is no "bus on the street" however close it
           stands. For query by example: similarity z ≥ Z_EXAMPLE_STRONG ("photos like this"), or
           z ≥ Z_COMPOSED_STRONG and the change asked for met ("like this but at night")
  partial  some of the request is met, or the similarity stands out (z ≥ Z_PARTIAL) without any
           evidence naming what was asked; also the best a request in another language that was not
           translated (no LLM) gets from similarity alone
  weak     nothing of the request was found: the photo is only among the closest

Filters (`--time night`, "only from 2019") restrict which photos are searched; every result passes
them, so they say nothing about which result is a match, and do not raise a level.

Standing is the z-score of the photo's similarity among ALL the library's photos for this query
(see `photoseek.search.calibration`). Thresholds were chosen on coco-captions/concepts.jsonl with the
offline ConSE embedder (`photoseek eval answers`; the figures are in the README).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Iterable

from photoseek.errors import PhotoseekError
from photoseek.results import Evidence, Filters, SearchResult, match_rank
from photoseek.search.query_attributes import (
    NO_PEOPLE_WORDS, NUMBER_WORDS, PERSON_WORDS, QueryAttributes, parse_attributes,
)
from photoseek.vision.faces import people_found_phrase, shows_people

# z-scores (standard deviations above the library's mean similarity for the query). Chosen on
# coco-captions/concepts.jsonl (47 queries, ConSE; grid over 1.5–5 / 0.5–3): a dev-set choice.
Z_STRONG = 1.5
Z_STRONG_KNOWN = 3.5
Z_FROM_TOP = 1.5
# z >= 2 is the closest ~2% of a library: at 1.0 (the closest 16%) a snowboarder, a crowd and polar
# bears were all "partial" for "cat" (54 of its top 100; 6 at 2.0) and partial stopped meaning anything
Z_PARTIAL = 2.0
# Query by example ("photos like this"): chosen on coco-captions/concepts.jsonl with each of 185
# relevant photos as the example (bench/examples.py): z ≥ 4.0 gives 2.1 strong matches a search,
# 77% of them showing the concept (2.5 gave 9.2 a search, 44% right).
Z_EXAMPLE_STRONG = 4.0
Z_EXAMPLE_PARTIAL = 2.5
# Composed search ("like this but at night") scores likeness with layout (the same place): not tuned
# on a labelled set.
Z_COMPOSED_STRONG = 2.5
Z_COMPOSED_PARTIAL = 1.0
# Words that carry no content of their own in a request ("photos of a cat on the sofa").
FUNCTION_WORDS = set(
    """a an the of in on at to for from with without and or but by near into onto over under some any my our
    your their his her its this that these those is are was were be been there here me us show find photo photos
    picture pictures pic pics image images shot shots taken one ones only just""".split()
)
CLOSE_LIKENESS = "a close likeness to the reference photo"  # what a not-so-similar result lacks
TIME_PHRASES = {"night": "at night", "day": "in daytime", "twilight": "at twilight"}  # time_of_day -> words


@functools.lru_cache(maxsize=16384)
def stems(text: str) -> frozenset[str]:
    """Lower-case word stems (plural 's' dropped), enough to see that "dogs" names the tag "dog".
    Cached: every search reads the same tags, captions and text of the photos it returns."""
    return frozenset(_stem(w) for w in re.findall(r"[^\W_]+", text.lower()))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@dataclass
class Request:
    """What a search asked for, as the levels judge it."""

    words: list[str] = field(default_factory=list)  # content words, as asked ("traffic", "light")
    attributes: QueryAttributes = field(default_factory=QueryAttributes)  # asked in words
    filters: Filters = field(default_factory=Filters)
    example: bool = False  # query by example (a reference photo)
    composed: bool = False  # ...with a change asked for ("but at night")
    phrase: str = ""  # the words searched, for phrases ("traffic light") and messages
    known: bool = False  # the tagger can name these words (all are terms of its vocabulary)
    # the words are in another language and were not translated: the English-only text encoder's
    # similarity to them means nothing, so similarity alone cannot make a strong match
    untranslated: bool = False
    top_standing: float | None = None  # the best photo's standing for this query (set by the engine)
    # request words that a taught word covers (photoseek.learn: "giraffe", "bike" of "my bike"): words with
    # possible evidence, the learned tags (which `words_met` reads like any tag)
    taught: frozenset[str] = frozenset()

    def is_empty(self) -> bool:
        return not (self.words or not self.attributes.is_empty() or self.example)


def read_request(text: str | None, filters: Filters | None = None, *, example: bool = False,
                 but: str | None = None, text_in_photo: str | None = None, untranslated: bool = False,
                 taught: Iterable[str] = ()) -> Request:
    """The content words and attributes of a search (English `text`, the `but` of composed search,
    words to find written in the photo); `untranslated`: `text` is in another language that nothing
    translated (see Request.untranslated); `taught`: the taught words the text names (Request.taught)."""
    phrase = " ".join(t for t in (text, but, text_in_photo) if t)
    attributes = parse_attributes(" ".join(t for t in (text, but) if t))
    # person words and counts ("two people") are asked of the face detector, not of tags
    person = set(PERSON_WORDS) | set(NUMBER_WORDS) if attributes.people is not None else set()
    if attributes.people is False:
        person |= NO_PEOPLE_WORDS  # "a street with nobody": "nobody" is the attribute, not a thing to find
    words: list[str] = []
    for word in re.findall(r"[^\W_]+", " ".join(t for t in (attributes.residual, text_in_photo) if t).lower()):
        if word not in FUNCTION_WORDS and word not in person and not word.isdigit() and word not in words:
            words.append(word)
    covered = {part for name in taught for part in re.findall(r"[^\W_]+", name.lower())}
    return Request(words, attributes, filters or Filters(), example, example and bool(but), phrase.lower(),
                   tagger_knows(words), untranslated=untranslated,
                   taught=frozenset(w for w in words if w in covered or _stem(w) in covered))


def tagger_knows(words: list[str]) -> bool:
    """Whether the tagger could have named these words: the phrase, or each word, is a term of the tag
    vocabulary (ImageNet classes and their WordNet broader terms, the zero-shot tagger's vocabulary too)."""
    return _tagger_knows(tuple(words))


@functools.lru_cache(maxsize=4096)
def _tagger_knows(words: tuple[str, ...]) -> bool:
    if not words:
        return False
    from photoseek.vision.taxonomy import singular

    known = _known_terms()
    phrase = " ".join(words)
    return phrase in known or " ".join(singular(w) for w in words) in known or all(
        w in known or singular(w) in known or _stem(w) in known for w in words)


@functools.lru_cache(maxsize=1)
def _known_terms() -> frozenset[str]:
    from photoseek.vision.taxonomy import vocabulary

    return frozenset(vocabulary())


@dataclass
class PhotoFacts:
    """The full annotations of one photo (Evidence keeps only snippets)."""

    tags: list[str] = field(default_factory=list)
    ocr: str = ""
    caption: str = ""
    path: str = ""


def words_met(request: Request, facts: PhotoFacts) -> dict[str, str]:
    """Request word -> the evidence that names it. A tag meets a word when it is that word (plural
    aside), a narrower term of it ("golden retriever" meets "dog", as tag filters do), or a tag phrase
    the request contains ("traffic light"); "teddy bear" does not meet "bear". Then the text read in
    the photo, its caption and its file name, word for word."""
    from photoseek.vision.taxonomy import expand

    met: dict[str, str] = {}
    tags = {t.lower(): t for t in facts.tags}
    phrase = " ".join(request.words)
    if len(request.words) > 1:
        found = next((tags[t] for t in expand(phrase) if t in tags), None)
        if found is not None:
            return {w: f"tag {found}" for w in request.words}
    tag_stems = [(tag, [_stem(w) for w in re.findall(r"[^\W_]+", tag.lower())]) for tag in facts.tags]
    # a tag of several words that the request says whole ("my bike" in "my bike in the snow") meets its words
    asked = [_stem(w) for w in re.findall(r"[^\W_]+", request.phrase)]
    for tag, parts in tag_stems:
        if len(parts) > 1 and any(asked[i:i + len(parts)] == parts for i in range(len(asked) - len(parts) + 1)):
            for word in request.words:
                if _stem(word) in parts:
                    met.setdefault(word, f"tag {tag}")
    sources = [("written text", stems(facts.ocr)), ("caption", stems(facts.caption)),
               ("file name", stems(PurePath(facts.path).stem.replace("_", " ").replace("-", " ")))]
    for word in request.words:
        if word in met:
            continue
        stem = _stem(word)
        narrower = expand(word)
        for tag, parts in tag_stems:
            if parts == [stem] or tag.lower() in narrower:
                met[word] = f"tag {tag}"
                break
        else:
            for name, found_in in sources:
                if stem in found_in:
                    met[word] = name
                    break
    return met


def attributes_met(attributes: QueryAttributes, evidence: Evidence, tags: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """(attribute -> the annotation that meets it, attributes not met) for those asked in words."""
    tags = list(tags)
    met: dict[str, str] = {}
    missing: list[str] = []
    if attributes.time_of_day:
        asked = TIME_PHRASES.get(attributes.time_of_day, attributes.time_of_day)
        if evidence.time_of_day == attributes.time_of_day:
            met[asked] = f"taken {asked}"
        else:
            missing.append(asked)
    if attributes.people is not None:
        asked = "people" if attributes.people else "no people"
        seen = shows_people(evidence.people, tags)  # as the people filter decides it
        if seen is not None and seen == attributes.people:
            met[asked] = people_found_phrase(evidence.people, seen)
            wanted = attributes.people_count if attributes.people else None
            if wanted and evidence.people and evidence.people != wanted:
                missing.append(people_count_ask(wanted))  # "two people": someone found, not that many
        else:
            missing.append(asked)
    tag_set = {t.lower() for t in tags}
    for colour in attributes.colors:
        if colour in tag_set:
            met[colour] = f"colour {colour}"
        else:
            missing.append(colour)
    return met, missing


def stands_alone(asked: str, found: str) -> bool:
    """Whether a met phrase says what it met without the asked words before it: attributes do
    ('taken at night', 'colour red', '2 people found'); words do not ('dog: tag dog')."""
    return found.startswith(("taken ", "colour ")) or asked in ("people", "no people")


def people_count_ask(count: int) -> str:
    """How a people count asked for ("two people") is named among the unmet asks: "2 people"."""
    return f"{count} {'person' if count == 1 else 'people'}"


def is_people_count_ask(asked: str) -> bool:
    return re.fullmatch(r"\d+ (person|people)", asked) is not None


def assess(request: Request, evidence: Evidence, facts: PhotoFacts) -> str:
    """The match level of one result; fills `evidence.met` and `evidence.missing`."""
    z = evidence.standing
    met = words_met(request, facts)
    attr_met, attr_missing = attributes_met(request.attributes, evidence, facts.tags)
    unmet = [w for w in request.words if w not in met]
    missing = unmet + attr_missing
    evidence.met = {**met, **attr_met}
    # a tag that met a word is a matched tag, whatever its spelling ("trolleybus" for "bus")
    for found in met.values():
        if found.startswith("tag ") and found[4:] not in evidence.matched_tags:
            evidence.matched_tags.append(found[4:])
    if request.example:
        close = z is not None and z >= (Z_COMPOSED_STRONG if request.composed else Z_EXAMPLE_STRONG)
        near = z is not None and z >= (Z_COMPOSED_PARTIAL if request.composed else Z_EXAMPLE_PARTIAL)
        evidence.missing = missing if close else [CLOSE_LIKENESS] + missing
        if close and not missing:
            return "strong"
        return "partial" if near or met or attr_met else "weak"
    evidence.missing = missing
    if request.is_empty():  # filters only: every result passes them
        return "strong"
    # a word the tagger could have named and did not is evidence against: similarity must stand out further
    known = (not met and request.known) or any(tagger_knows([w]) for w in unmet)
    least = Z_STRONG_KNOWN if known else Z_STRONG
    top = request.top_standing if request.top_standing is not None else z
    stands_out = (z is not None and z >= least and top is not None and z >= top - Z_FROM_TOP
                  and not request.untranslated)
    if not missing and (met or attr_met):
        return "strong"
    if unmet and stands_out and not attr_missing:
        # no evidence names these words ("street", "kitchen"), but its similarity stands out like the
        # best photo's: a bus tagged "bus" that stands out for "bus on the street", a stove for "kitchen"
        return "strong"
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
    try:
        limit = match_rank(min_level)
    except ValueError as exc:
        raise PhotoseekError(f"{exc}.") from None
    return [r for r in results if match_rank(r.match) <= limit]


def matches_first(results: list[SearchResult]) -> list[SearchResult]:
    """Strong matches, then partial, then weak; by score within each (a stable sort keeps the ranking)."""
    return sorted(results, key=lambda r: match_rank(r.match))


def presented(results: list[SearchResult], k: int) -> list[SearchResult]:
    """What an answer shows: every strong match (best first), then the closest others up to k in all."""
    ordered = matches_first(results)
    strong = sum(r.match == "strong" for r in ordered)
    return ordered[: max(k, strong)]
