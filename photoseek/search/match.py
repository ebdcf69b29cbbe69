"""Match levels: does a result meet the request, part of it, or only rank near it?

A search ranks every photo, so its top k always holds k photos, giraffes or not. The level says which
of them the library has reasons to call a match, and "Found N photos" counts only those:

  strong   every word of the request is met by evidence that names it (a tag or a narrower one, a
           taught word, the text read in the photo, its caption, its file name; places and people
           as their filters and evidence meet them) and every attribute asked in words (time of
           day, people, colour) by the annotations. Where nothing that looks at every photo would
           name a word ("giraffe", "kitchen" with the ImageNet tagger: `photoseek.search.nameable`),
           the photos at the top of *this query's* scores that look alike count too
           (`similarity_leaders`: a group, at most LEADER_DEPTH photos), and their reasons say it
           rests on resemblance alone. A word the tagger looks for ("violin", "cat") is never met by
           similarity. Query by example: similarity z ≥ Z_EXAMPLE_STRONG ("photos like this"), or
           z ≥ Z_COMPOSED_STRONG and the change asked for met ("like this but at night")
  partial  some of the request is met, or the similarity stands out (z ≥ Z_PARTIAL) without any
           evidence naming what was asked: close, not a match
  weak     nothing of the request was found: the photo is only among the closest

Filters (`--time night`, "only from 2019") restrict which photos are searched; every result passes
them, so they say nothing about which result is a match, and do not raise a level.

Standing is the z-score of the photo's similarity among ALL the library's photos for this query
(see `photoseek.search.calibration`); it words how close a photo is ("closer than about 97% of the
library's photos"), but no fixed z decides a strong match: on coco-captions a z ≥ 1.5 rule called
42 photos giraffes in a library with four, and "kitchen" (top z 2.4, its first 12 right) stands lower
than "fireworks" (top z 3.3, none in the library). What sets the kitchens apart is that the best
photos for "kitchen" look like one another (`similarity_leaders`).
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

# Similarity leaders (`similarity_leaders`): among the query's LEADER_DEPTH best photos over the whole
# library, those that look like each of its LEADER_ANCHORS best ones, when at least MIN_GROUP do. Two
# photos look alike when the cosine of their library-centred vectors is ALIKE_Z standard deviations
# above its mean over the library's pairs of photos (0.70 on coco-captions with ConSE: the closest
# ~1.6% of pairs). Chosen on half A of concepts.jsonl (the best F1 with no answer overcounting and at
# most 15% of 69 words absent from the photos given more than 3 leaders), checked on half B, 45
# caption-derived words and the empty answers (bench/answer_levels.py --sweep; docs/design.md).
LEADER_DEPTH = 20
LEADER_ANCHORS = 3
MIN_GROUP = 5
ALIKE_Z = 3.0
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
# Where things are ("next to", "in front of", "behind"): no evidence or resemblance judges a relation,
# so like function words they are left to the similarity's ranking and not judged.
RELATION_WORDS = set(
    """next front behind beside besides inside outside around across along between among toward towards above
    below beneath top bottom side together alone through up down out off while during against close far
    nearby very each other another many several few lots lot""".split()
)
# How a thing is or looks ("standing", "smiling", "large"): no tagger names them, so only resemblance
# (or a caption that says it) meets them, and "a woman smiling" is not every photo with a woman in it;
# but reasons and answers never list them as things photoseek cannot recognise or did not find.
NOT_THINGS = set(
    """standing stand stands sitting sit sits lying laying lies walking walks running jumping playing holding
    eating drinking riding flying swimming looking smiling sleeping parked waiting posing wearing carrying
    using talking watching resting grazing hanging leaning crossing driving moving going coming doing
    large small big little tall short old new young full empty""".split()
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
    # the words nothing that looks at every photo would name (`photoseek.search.nameable`): only these
    # may be met by similarity alone. read_request asks the tagger's vocabulary; the engine the library.
    unnameable: list[str] = field(default_factory=list)
    # the words are in another language and were not translated: the English-only text encoder's
    # similarity to them means nothing, so similarity alone cannot make a strong match
    untranslated: bool = False
    # the photos at the top of this query that look alike (`similarity_leaders`, set by the engine)
    leaders: frozenset[int] = frozenset()

    def is_empty(self) -> bool:
        return not (self.words or not self.attributes.is_empty() or self.example)


Naming = Callable[[list[str], Iterable[str]], "dict[str, str | None]"]
"""(words, words asked as text in the photo) -> word: the evidence that would name it wherever a photo
shows it, or None (`nameable.naming_sources`)."""


def read_request(text: str | None, filters: Filters | None = None, *, example: bool = False,
                 but: str | None = None, text_in_photo: str | None = None, untranslated: bool = False,
                 naming: Naming | None = None) -> Request:
    """The content words and attributes of a search (English `text`, the `but` of composed search,
    words to find written in the photo); `untranslated`: `text` is in another language that nothing
    translated (see Request.untranslated). `naming`: which evidence would name each word wherever a
    photo of the library shows it (`nameable.NamingCache`); by default only the tagger's vocabulary."""
    phrase = " ".join(t for t in (text, but, text_in_photo) if t)
    attributes = parse_attributes(" ".join(t for t in (text, but) if t))
    # person words and counts ("two people") are asked of the face detector, not of tags
    person = set(PERSON_WORDS) | set(NUMBER_WORDS) if attributes.people is not None else set()
    if attributes.people is False:
        person |= NO_PEOPLE_WORDS  # "a street with nobody": "nobody" is the attribute, not a thing to find
    written = re.findall(r"[^\W_]+", (text_in_photo or "").lower())
    words: list[str] = []
    for word in re.findall(r"[^\W_]+", " ".join(t for t in (attributes.residual, text_in_photo) if t).lower()):
        if (word not in FUNCTION_WORDS and word not in person and not word.isdigit() and word not in words
                and (word not in RELATION_WORDS or word in written)):
            words.append(word)
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
    evidence.missing = [m for m in missing if m not in NOT_THINGS]  # what the reasons list
    if request.is_empty():  # filters only: every result passes them
        return "strong"
    unnamed = [w for w in unmet if w in request.unnameable]
    evidence.unnameable = [w for w in request.words if w in request.unnameable and w not in NOT_THINGS]
    if not missing and (met or attr_met):
        return "strong"
    # nothing that looks at every photo would name these words, and it is one of the best photos for
    # this query, which look alike: a match by resemblance alone (the reason says so); a word such a
    # source names never is
    if unmet and unnamed == unmet and not attr_missing and not request.untranslated:
        evidence.stands_apart = evidence_id in request.leaders if evidence_id is not None else False
        if evidence.stands_apart:
            return "strong"
    if met or attr_met or (z is not None and z >= Z_PARTIAL):
        return "partial"
    return "weak"


def similarity_leaders(alike: Sequence[Sequence[bool]]) -> list[int]:
    """Which of a query's best photos stand apart together: positions in `alike`, the "looks like"
    relation among the query's best photos over the whole library (best first; `alike[i][j]`: photos
    i and j look alike). [] when no group leads.

    The leaders are the photos among the first LEADER_DEPTH that look like each of the
    LEADER_ANCHORS best ones (the anchors too, when they look like each other), and only when at
    least MIN_GROUP do. A query's top always holds photos, giraffes or not; what a kitchen-like word
    has that a word missing from the library lacks is that its best photos are one kind of photo:
    the best twelve for "kitchen" are kitchens, alike in what the tagger sees in them (microwave,
    refrigerator, dishwasher), though no score stands apart (z 2.43 … 2.20, smoothly falling); the
    best for "fireworks" are a torch, a snowmobile, a candle, umbrellas, alike to nothing. A group
    that is not what was asked (the tennis players at the top for "chess") is the cost; the answer
    says these rest on resemblance alone, and they are at most LEADER_DEPTH."""
    count = min(len(alike), LEADER_DEPTH)
    anchors = range(min(LEADER_ANCHORS, count))
    group = [i for i in range(count) if all(i == a or alike[i][a] for a in anchors)]
    return group if len(group) >= MIN_GROUP else []


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
    """Strong matches, then partial, then weak; by score within each (a stable sort keeps the ranking).
    The matches whose evidence names what was asked come before those by resemblance alone."""
    return sorted(results, key=lambda r: (match_rank(r.match), r.match == "strong" and bool(r.evidence.stands_apart)))


def presented(results: list[SearchResult], k: int) -> list[SearchResult]:
    """What an answer shows: every strong match (best first), then the closest others up to k in all."""
    ordered = matches_first(results)
    strong = sum(r.match == "strong" for r in ordered)
    return ordered[: max(k, strong)]
