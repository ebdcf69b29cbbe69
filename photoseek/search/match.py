"""Match levels: does a result meet the request, part of it, or only rank near it?

A search ranks every photo, so its top k always holds k photos, giraffes or not. The level says which
of them the library has reasons to call a match, and "Found N photos" counts only those:

  strong   every word of the request is met by evidence that names it (a tag or a narrower one, a
           taught word, the text read in the photo, its caption, its file name; places and people
           as their filters and evidence meet them) and every attribute asked in words (time of
           day, people, colour) by the annotations. Where nothing in this library could name a word
           ("giraffe" with the ImageNet tagger and no tag of yours: `photoseek.search.nameable`),
           the few photos whose similarity clearly stands apart from the rest *for this query* count
           too (`similarity_leaders`: a gap in the query's own scores, at most MAX_LEADERS photos),
           and their reasons say it rests on resemblance alone. A word the tagger could have named
           and did not ("violin", "cat") is never met by similarity. Query by example: similarity
           z ≥ Z_EXAMPLE_STRONG ("photos like this"), or z ≥ Z_COMPOSED_STRONG and the change asked
           for met ("like this but at night")
  partial  some of the request is met, or the similarity stands out (z ≥ Z_PARTIAL) without any
           evidence naming what was asked: close, not a match
  weak     nothing of the request was found: the photo is only among the closest

Filters (`--time night`, "only from 2019") restrict which photos are searched; every result passes
them, so they say nothing about which result is a match, and do not raise a level.

Standing is the z-score of the photo's similarity among ALL the library's photos for this query
(see `photoseek.search.calibration`); it words how close a photo is ("closer than about 97% of the
library's photos"), but no fixed z decides a strong match: on coco-captions a z ≥ 1.5 rule called
42 photos giraffes in a library with four (the tails of the scores differ from query to query).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Callable, Iterable, Sequence

from photoseek.errors import PhotoseekError
from photoseek.results import Evidence, Filters, SearchResult, match_rank
from photoseek.search.nameable import naming_sources, tagger_knows  # noqa: F401 (tagger_knows: re-exported)
from photoseek.search.query_attributes import (
    NO_PEOPLE_WORDS, NUMBER_WORDS, PERSON_WORDS, QueryAttributes, parse_attributes,
)
from photoseek.vision.faces import people_found_phrase, shows_people

# Similarity leaders (`similarity_leaders`): the photos above the clearest break among the first
# LEADER_DEPTH of a query's scores, a break LEADER_GAP times the spacing expected there (measured on
# the LEADER_REFERENCE spacings below it); at most MAX_LEADERS of them are matches. LEADER_GAP is set
# so that scores with no break (a normal sample of 100 to 5,000 photos) show one in 1-3% of queries;
# checked on both halves of coco-captions/concepts.jsonl and on 45 caption-derived concepts with
# other words (bench/answer_levels.py; the figures are in docs/match-levels.md).
LEADER_DEPTH = 30
LEADER_REFERENCE = 20
LEADER_GAP = 8.0
MAX_LEADERS = 8
MIN_SPACING = 0.05  # z units: near-duplicates below a break leave no spacing to measure it against
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
    # the words no evidence in this library could name (`photoseek.search.nameable`): only these may
    # be met by similarity alone. read_request asks the tagger's vocabulary; the engine asks the library.
    unnameable: list[str] = field(default_factory=list)
    # the words are in another language and were not translated: the English-only text encoder's
    # similarity to them means nothing, so similarity alone cannot make a strong match
    untranslated: bool = False
    # the photos whose similarity stands apart for this query (`similarity_leaders`, set by the engine)
    leaders: frozenset[int] = frozenset()

    def is_empty(self) -> bool:
        return not (self.words or not self.attributes.is_empty() or self.example)


Naming = Callable[[list[str], Iterable[str]], "dict[str, str | None]"]
"""(words, words asked as text in the photo) -> word: the evidence that could name it, or None."""


def read_request(text: str | None, filters: Filters | None = None, *, example: bool = False,
                 but: str | None = None, text_in_photo: str | None = None, untranslated: bool = False,
                 naming: Naming | None = None) -> Request:
    """The content words and attributes of a search (English `text`, the `but` of composed search,
    words to find written in the photo); `untranslated`: `text` is in another language that nothing
    translated (see Request.untranslated). `naming`: which evidence could name each word in the
    library (`nameable.NamingCache`); by default only the tagger's vocabulary is asked."""
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
    written = re.findall(r"[^\W_]+", (text_in_photo or "").lower())
    sources = (naming or (lambda asked, text: naming_sources(asked, written=text)))(words, written)
    return Request(words, attributes, filters or Filters(), example, example and bool(but), phrase.lower(),
                   unnameable=[w for w in words if sources.get(w) is None], untranslated=untranslated)


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
    ('taken at night', 'colour red', '2 people found', 'Anna recognised …'); words do not ('dog: tag dog')."""
    return found.startswith(("taken ", "colour ", f"{asked} recognised")) or asked in ("people", "no people")


def person_phrase(name: str, distance: float | None, confirmed: bool = False) -> str:
    """How a recognised person is said: 'Anna recognised (face distance 0.41)', or '(named by you)'
    where the user said this face is Anna."""
    if confirmed:
        return f"{name} recognised (named by you)"
    return f"{name} recognised" + (f" (face distance {distance:.2f})" if distance is not None else "")


def people_met(names: Iterable[str], evidence: Evidence) -> tuple[dict[str, str], list[str]]:
    """(name -> how it was recognised, names not recognised) for the people a search asked for."""
    recognised = {n.casefold(): (n, how) for n, how in evidence.recognised.items()}
    met: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        found = recognised.get(name.casefold())
        if found is None:
            missing.append(name)
        else:
            how = found[1] or {}
            met[found[0]] = person_phrase(found[0], how.get("distance"), confirmed=bool(how.get("confirmed")))
    return met, missing


def people_count_ask(count: int) -> str:
    """How a people count asked for ("two people") is named among the unmet asks: "2 people"."""
    return f"{count} {'person' if count == 1 else 'people'}"


def is_people_count_ask(asked: str) -> bool:
    return re.fullmatch(r"\d+ (person|people)", asked) is not None


def assess(request: Request, evidence: Evidence, facts: PhotoFacts, evidence_id: int | None = None) -> str:
    """The match level of one result (photo `evidence_id`, for `request.leaders`); fills
    `evidence.met`, `evidence.missing`, `evidence.unnameable` and `evidence.stands_apart`."""
    z = evidence.standing
    met = words_met(request, facts)
    attr_met, attr_missing = attributes_met(request.attributes, evidence, facts.tags)
    # people asked for by name: recognised is met evidence, like an attribute the annotations show
    person_met, person_missing = people_met(request.filters.person, evidence)
    attr_met.update(person_met)
    attr_missing += person_missing
    # met before the words were read: a place asked for and met (search.places)
    attr_met = {**evidence.met, **attr_met}
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
    unnamed = [w for w in unmet if w in request.unnameable]
    evidence.unnameable = [w for w in request.words if w in request.unnameable]
    if not missing and (met or attr_met):
        return "strong"
    # nothing here could name these words, and its picture stands apart from the rest for this query:
    # a match by resemblance alone (the reason says so); a word that could be named never is
    if unmet and unnamed == unmet and not attr_missing and not request.untranslated:
        evidence.stands_apart = evidence_id in request.leaders if evidence_id is not None else False
        if evidence.stands_apart:
            return "strong"
    if met or attr_met or (z is not None and z >= Z_PARTIAL):
        return "partial"
    return "weak"


def similarity_leaders(scores: Sequence[float]) -> int:
    """How many of a query's best photos stand apart from the rest: `scores` are the standings (z)
    of the library's photos for the query, best first (only the first LEADER_DEPTH + LEADER_REFERENCE
    are read). 0 when no break is clear; at most MAX_LEADERS.

    At the top of a ranking, the spacing between the k-th and (k+1)-th scores times k is about the
    same random amount at every rank when no group stands apart (the Rényi representation of order
    statistics from an exponential-like tail, which the upper tail of these scores is). So the ratio
    of a rank's normalised spacing k·(s_k − s_{k+1}) to the mean normalised spacing of the
    LEADER_REFERENCE ranks below it follows an F(2, 2·LEADER_REFERENCE) law by chance, which exceeds
    LEADER_GAP = 8 about once in 800 ranks. The clearest such break among the first LEADER_DEPTH
    ranks divides the leaders from the rest; a query whose scores fall smoothly (most) has none."""
    s = [float(x) for x in scores[: LEADER_DEPTH + LEADER_REFERENCE + 1]]
    best_rank, best_ratio = 0, 0.0
    for k in range(1, min(LEADER_DEPTH, len(s) - 2) + 1):
        below = range(k + 1, min(len(s) - 1, k + LEADER_REFERENCE) + 1)
        expected = max(sum(j * (s[j - 1] - s[j]) for j in below) / len(below), MIN_SPACING)
        ratio = k * (s[k - 1] - s[k]) / expected
        if ratio >= LEADER_GAP and ratio > best_ratio:
            best_rank, best_ratio = k, ratio
    return min(best_rank, MAX_LEADERS)


def assess_all(results: list[SearchResult], request: Request, facts: dict[int, PhotoFacts]) -> None:
    """Set `match` (and evidence.met / missing) on every result."""
    for result in results:
        result.match = assess(request, result.evidence, facts.get(result.id, PhotoFacts(path=result.path)), result.id)


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
