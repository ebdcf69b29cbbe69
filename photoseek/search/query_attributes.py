"""Attributes a query asks for that the embedding cannot see but the annotations can.

ImageNet classes say nothing about time of day, people or colour; the annotators do (time of day,
faces, dominant colours). This module reads those asks from plain English words. The lexicon is
general English (basic colour terms, time-of-day words, person nouns), not drawn from any
evaluation set. Non-English queries are translated upstream (the agent's rewrite step).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field

TIME_WORDS = {
    "night": ("night", "nighttime", "night-time", "midnight", "dark", "nocturnal", "stars", "starry", "moonlit"),
    "twilight": ("dusk", "dawn", "twilight", "sunset", "sunrise", "evening", "golden hour"),
    "day": ("day", "daytime", "daylight", "sunny", "noon", "midday", "morning", "afternoon"),
}

# Nouns that denote people; ImageNet has no person class, so these route to the face detector.
PERSON_WORDS = (
    "person", "people", "man", "men", "woman", "women", "boy", "boys", "girl", "girls", "child", "children",
    "kid", "kids", "baby", "babies", "guy", "guys", "lady", "ladies", "player", "players", "someone", "crowd",
    "family", "friends", "couple", "persons", "adult", "adults", "teenager", "toddler", "selfie", "portrait",
    "face", "faces", "me", "us", "mom", "dad", "mother", "father", "grandma", "grandpa", "bride", "groom",
)
NO_PEOPLE_PATTERNS = (r"\bwithout (any )?(people|persons|anyone|humans?)\b", r"\bno (people|persons|one|humans?)\b",
                      r"\bnobody\b", r"\bempty\b", r"\bunpeopled\b")

# the words of NO_PEOPLE_PATTERNS: no content word of a request once it asked for no people
NO_PEOPLE_WORDS = frozenset({"without", "any", "anyone", "no", "one", "human", "humans", "nobody", "empty", "unpeopled"})

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "a pair of": 2, "several": 3}

# Berlin & Kay's basic colour terms (+ common variants).
COLOR_WORDS = {
    "red": "red", "orange": "orange", "yellow": "yellow", "green": "green", "blue": "blue", "purple": "purple",
    "violet": "purple", "pink": "pink", "brown": "brown", "black": "black", "white": "white", "gray": "gray",
    "grey": "gray",
}


@dataclass
class QueryAttributes:
    time_of_day: str | None = None
    people: bool | None = None  # True: asks for people; False: asks for none
    people_count: int | None = None
    colors: list[str] = field(default_factory=list)
    residual: str = ""  # the words left once the attribute words (and glue words) are taken out

    def is_empty(self) -> bool:
        return self.asked() == 0

    def asked(self) -> int:
        """How many attributes the query asks for."""
        return sum([self.time_of_day is not None, self.people is not None, bool(self.colors)])


def _has_word(text: str, word: str) -> bool:
    return _word_pattern(word).search(text) is not None


@functools.lru_cache(maxsize=1024)
def _word_pattern(word: str) -> "re.Pattern[str]":
    return re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")


def parse_attributes(text: str | None) -> QueryAttributes:
    """The time of day, people (and how many) and colours a query asks for in words, and the words
    left. A fresh object each call (callers merge into it); parsed once per distinct text."""
    if not text:
        return QueryAttributes()
    parsed = _parse_attributes(text)
    return dataclasses.replace(parsed, colors=list(parsed.colors))


@functools.lru_cache(maxsize=512)
def _parse_attributes(text: str) -> QueryAttributes:
    attrs = QueryAttributes()
    lowered = text.lower()
    for tod, words in TIME_WORDS.items():
        if any(_has_word(lowered, w) for w in words):
            attrs.time_of_day = tod
            break
    if any(re.search(p, lowered) for p in NO_PEOPLE_PATTERNS):
        attrs.people = False
    elif any(_has_word(lowered, w) for w in PERSON_WORDS):
        attrs.people = True
        for word, n in NUMBER_WORDS.items():
            if re.search(rf"\b{word} (\w+ )?(people|persons|men|women|boys|girls|kids|children|guys|players|ladies|friends)\b",
                         lowered):
                attrs.people_count = n
                break
        else:
            m = re.search(r"\b(\d+) (people|persons|men|women|kids|children|players)\b", lowered)
            if m:
                attrs.people_count = int(m.group(1))
    attrs.colors = sorted({COLOR_WORDS[w] for w in COLOR_WORDS if _has_word(lowered, w)})
    attrs.residual = _residual(lowered, attrs)
    return attrs


GLUE_WORDS = {"a", "an", "the", "at", "in", "on", "during", "by", "of", "with", "but", "and", "time", "photo",
              "photos", "picture", "pictures", "shot", "taken", "same", "this", "that", "scene", "one", "like"}


def _residual(lowered: str, attrs: QueryAttributes) -> str:
    """The query without the words that asked for attributes, e.g. "at night" -> ""."""
    drop = set(GLUE_WORDS)
    if attrs.time_of_day:
        drop |= {w for words in TIME_WORDS.values() for w in words}
    if attrs.colors:
        drop |= set(COLOR_WORDS)
    words = re.findall(r"[\w'-]+", lowered)
    kept = [w for w in words if w not in drop]
    return " ".join(kept)
