"""Negation and exclusion in requests, read by rules and applied to the planned call.

A 1.5B model often turns "not at night" into `time_of_day: night` and drops "without any text"
(issue 11). Negation is closed-class — a few cue words per language and what follows them — so code
reads it reliably: `read_negations(request)` finds what the request excludes, and `apply_negations`
corrects the model's (or the fallback's) call with it:

  "not (taken) at night", "anything but night", "不是晚上"  -> not_time_of_day (a time it asked for is dropped)
  "without (any) text", "no writing", "没有字"               -> has_text: false
  "no people", "nobody", "没有人"                             -> people: false
  "no dogs", "without cars", "except cats", "不要狗"           -> not_tags (and the word leaves the query and tags)
  "not from 2020", "except 2019", "不是2020年"                 -> not_dates (a date range that came only from it is dropped)

What follows a cue but is no tag the photos can carry ("not blurry") cannot be expressed as a filter:
it is returned in `unexpressed`, and the planner says so in its answer instead of dropping it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from photoseek.search.query_attributes import COLOR_WORDS, NO_PEOPLE_PATTERNS, PERSON_WORDS
from photoseek.vision.taxonomy import expand, normalize_tag, singular, vocabulary

_CUE_EN = (r"(?:\w*n't|not|never|no|without|except(?:\s+for)?|excluding|exclude|but\s+not|anything\s+but|"
           r"other\s+than|none\s+(?:with|of)|nothing\s+with|minus|free\s+of|lacking)")
_CUE_ZH = r"(?:不要|没有|不是|除了|不带|不含|无|别|不在)"
_TIMES = {
    "night": "night", "nighttime": "night", "night-time": "night", "dark": "night", "evening": "night",
    "day": "day", "daytime": "day", "daylight": "day", "daylights": "day", "day-time": "day",
    "twilight": "twilight", "dusk": "twilight", "dawn": "twilight", "sunset": "twilight", "sunrise": "twilight",
}
_TIMES_ZH = {"晚上": "night", "夜里": "night", "夜晚": "night", "夜间": "night", "夜": "night", "白天": "day",
             "白日": "day", "黄昏": "twilight", "傍晚": "twilight"}
_TIME_NEG = re.compile(
    rf"\b{_CUE_EN}\s+(?:(?:taken|shot|photographed|captured|from|during|in|at|by|the|a|an|any|of)\s+){{0,4}}"
    rf"({'|'.join(sorted(map(re.escape, _TIMES), key=len, reverse=True))})\b",
    re.IGNORECASE,
)
_TIME_NEG_ZH = re.compile(rf"{_CUE_ZH}(?:在)?({'|'.join(sorted(_TIMES_ZH, key=len, reverse=True))})")
_TEXT_WORDS = r"(?:text|texts|writing|words?|letters|lettering|captions?|signs? of text)"
_TEXT_NEG = re.compile(
    rf"\b(?:without|no|with\s+no|not\s+any|free\s+of|nothing\s+written|lacking)\s+(?:any\s+|visible\s+|readable\s+)*"
    rf"{_TEXT_WORDS}\b|\b(?:does\s*n[o']t|do\s*n[o']t|doesn't|don't|not)\s+(?:have|contain|show)\s+(?:any\s+)?"
    rf"{_TEXT_WORDS}\b",
    re.IGNORECASE,
)
_TEXT_NEG_ZH = re.compile(rf"{_CUE_ZH}(?:任何)?(?:文字|字)")
_YEAR_NEG = re.compile(
    rf"\b{_CUE_EN}\s+(?:(?:taken|shot|from|during|in|of|the|year)\s+){{0,3}}((?:19|20)\d\d(?:-\d\d)?)\b",
    re.IGNORECASE,
)
_YEAR_NEG_ZH = re.compile(rf"{_CUE_ZH}((?:19|20)\d\d)年?")
_THE_ONES = r"(?:(?:the\s+)?ones?\s+|those\s+|photos?\s+|pictures?\s+)?(?:with\s+|that\s+(?:have|show)\s+|showing\s+)?"
_TAG_NEG = re.compile(
    rf"\b{_CUE_EN}\s+{_THE_ONES}(?:any\s+|the\s+|a\s+|an\s+|more\s+)?([a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)",
    re.IGNORECASE,
)
_PEOPLE_NEG = re.compile(
    rf"\b(?:except|excluding|but\s+not|anything\s+but|other\s+than|none\s+with|nothing\s+with|not)\s+{_THE_ONES}"
    r"(?:any\s+|a\s+)?(?:people|persons?|anyone|someone|humans?|faces?)\b",
    re.IGNORECASE,
)
_TAG_NEG_ZH = re.compile(rf"{_CUE_ZH}(?:有)?([\u4e00-\u9fff]{{1,3}}?)(?:的|了|，|,|。|$|\s)")
# the Chinese nouns most asked about, for exclusions the model did not translate
_ZH_NOUNS = {"狗": "dog", "猫": "cat", "车": "car", "汽车": "car", "树": "tree", "花": "flower", "鸟": "bird",
             "船": "boat", "水": "water", "雪": "snow", "海": "sea", "山": "mountain", "食物": "food", "建筑": "building"}
# words after a cue that are not things to exclude: grammar, feedback references, what other rules read
_NOT_NOUNS = set(
    "a an the any more only just one ones photo photos picture pictures image images shot shots taken shot "
    "from in at on of by with too very so that this these those it them me my our your really".split()
) | set(_TIMES) | {"text", "texts", "writing", "words", "word", "letters", "lettering", "caption", "captions"}
_PEOPLE_WORDS = set(PERSON_WORDS) | {"one", "anyone", "nobody", "humans", "human"}


@dataclass
class Negations:
    """What a request excludes. `unexpressed`: negated phrases no filter can carry (said to the user)."""

    not_times: list[str] = field(default_factory=list)
    no_text: bool = False
    no_people: bool = False
    not_tags: list[str] = field(default_factory=list)
    not_dates: list[str] = field(default_factory=list)
    unexpressed: list[str] = field(default_factory=list)
    words: set[str] = field(default_factory=set)  # words of the negated phrases: not search words
    phrases: list[str] = field(default_factory=list)  # the negated phrases as written ("不要狗", "not at night")

    def __bool__(self) -> bool:
        return bool(self.not_times or self.no_text or self.no_people or self.not_tags or self.not_dates
                    or self.unexpressed)


def _known_tag(word: str) -> str | None:
    """The tag a word names, when photos can carry it (taxonomy class or broader term, or a colour)."""
    word = normalize_tag(word)
    if word in COLOR_WORDS:
        return COLOR_WORDS[word]
    vocab = _vocabulary()
    for candidate in (word, singular(word)):
        if candidate in vocab:
            return candidate
    for candidate in (singular(word), word):  # "signs" -> "sign" (which matches "street sign")
        if len(expand(candidate)) > 1:
            return candidate
    return None


_VOCAB: frozenset[str] | None = None


def _vocabulary() -> frozenset[str]:
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = frozenset(vocabulary())
    return _VOCAB


def read_negations(text: str) -> Negations:
    """The exclusions a request states (see the module docstring)."""
    found = Negations()
    lowered = text.lower()
    for match in _TIME_NEG.finditer(text):
        _add(found.not_times, _TIMES[match.group(1).lower()])
        found.words.add(match.group(1).lower())
        found.phrases.append(match.group(0))
    for match in _TIME_NEG_ZH.finditer(text):
        _add(found.not_times, _TIMES_ZH[match.group(1)])
        found.phrases.append(match.group(0))
    for match in list(_TEXT_NEG.finditer(text)) + list(_TEXT_NEG_ZH.finditer(text)):
        found.phrases.append(match.group(0))
    if _TEXT_NEG.search(text) or _TEXT_NEG_ZH.search(text):
        found.no_text = True
        found.words |= {"text", "texts", "writing", "words", "word", "letters", "lettering"}
    if any(re.search(p, lowered) for p in NO_PEOPLE_PATTERNS) or _PEOPLE_NEG.search(text) or re.search(
            r"(?:没|不要|不带|无)有?人", text):
        found.phrases += [m.group(0) for m in _PEOPLE_NEG.finditer(text)]
        found.no_people = True
        found.words |= {"people", "persons", "person", "anyone", "humans", "human", "nobody"}
    for match in list(_YEAR_NEG.finditer(text)) + list(_YEAR_NEG_ZH.finditer(text)):
        _add(found.not_dates, match.group(1))
        found.words.add(match.group(1))
        found.phrases.append(match.group(0))
    for match in _TAG_NEG.finditer(text):
        _negated_thing(found, match.group(1).lower())
    for match in _TAG_NEG_ZH.finditer(text):
        noun = match.group(1)
        if noun in _ZH_NOUNS:
            _add(found.not_tags, _ZH_NOUNS[noun])
            found.phrases.append(match.group(0).rstrip("的了，,。 "))
        elif noun not in _TIMES_ZH and noun not in ("人", "字", "文字", "任何") and not noun.startswith(("人", "字")):
            found.unexpressed.append(f"{match.group(0).rstrip('的了，,。 ')}")
    return found


def _negated_thing(found: Negations, phrase: str) -> None:
    words = phrase.split()
    if not words or words[0] in _NOT_NOUNS or words[0] in _PEOPLE_WORDS or words[0].isdigit():
        return
    # "no dogs on the beach": the thing is the first word, or a known two-word tag ("street sign")
    two = " ".join(words[:2])
    tag = _known_tag(two) if len(words) > 1 and " " in two and two in _vocabulary() else None
    tag = tag or _known_tag(words[0])
    if tag:
        _add(found.not_tags, tag)
        found.words |= {words[0], tag} | (set(words[:2]) if tag == two else set())
    elif words[0] not in _TIMES:
        found.unexpressed.append(f"not {words[0]}")
        found.words.add(words[0])


def _add(items: list, value) -> None:
    if value not in items:
        items.append(value)


# -- applying them to a planned call -------------------------------------------------------------------

_YEAR_RANGE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)$")


def apply_negations(
    tool: str, args: dict[str, Any], negations: Negations, request_words: "str | Callable[[], str]" = ""
) -> tuple[str, dict[str, Any], list[str]]:
    """(tool, args, notes): the call with what the request excludes made into excluding filters,
    contradicting positives removed, and the negated words out of the search words.
    request_words: the request's plain search words in English (or a function giving them, called
    only when needed: it may ask the LLM to translate), used when the call had none left to search
    for (a text-in-photo search for "text" that was really "without any text")."""
    if callable(request_words):
        words_of = request_words
    else:
        def words_of() -> str:
            return request_words
    args = dict(args)
    notes: list[str] = []
    if not negations or tool in ("show_photo", "caption_photo", "feedback") and not args.get("query"):
        return tool, args, notes
    if negations.not_times:
        if args.get("time_of_day") in negations.not_times:
            del args["time_of_day"]
        remaining = [t for t in ("day", "twilight", "night") if t not in negations.not_times]
        if len(remaining) == 1:
            args["time_of_day"] = remaining[0]
            args.pop("not_time_of_day", None)
        elif not args.get("time_of_day"):
            args["not_time_of_day"] = negations.not_times[0]
    if negations.no_text:
        args["has_text"] = False
        if tool == "text_in_photo":  # "the board without any text" is no search for the word "text"
            args.pop("text", None)
            args.setdefault("query", words_of())
            tool = "text_search"
    if negations.no_people:
        args["people"] = False
    if negations.not_tags:
        args["not_tags"] = list(dict.fromkeys([*args.get("not_tags", []), *negations.not_tags]))
        excluded = {t for tag in negations.not_tags for t in (tag, singular(tag))}
        if args.get("tags"):
            args["tags"] = [t for t in args["tags"] if t not in excluded and singular(t) not in excluded]
            if not args["tags"]:
                del args["tags"]
    if negations.not_dates:
        args["not_dates"] = list(dict.fromkeys([*args.get("not_dates", []), *negations.not_dates]))
        # a range the model or the date rules read from the negated year itself ("not from 2020")
        frm, to = args.get("date_from", ""), args.get("date_to", "")
        for year in negations.not_dates:
            if frm.startswith(year[:4]) and to.startswith(year[:4]):
                args.pop("date_from", None)
                args.pop("date_to", None)
    has_filter = any(k not in ("query", "but", "text", "photo", "more_like", "less_like") for k in args)
    for key in ("query", "but"):
        if args.get(key):
            kept = without_negated(str(args[key]), negations)
            if kept:
                args[key] = kept
            elif has_filter or key == "but":
                del args[key]
            # else: nothing else to search by ("photos that are not blurry"); the words stay, the note says why
    if tool == "filter_photos" and (words := words_of()):
        # what was left for a filter ("text" of "without any text") was the subject's company:
        # the subject itself ("green board") is searched for
        subject = without_negated(words, negations)
        if subject:
            tool, args["query"] = "text_search", subject
    if tool == "text_search" and not args.get("query"):
        tool = "filter_photos"
    if negations.unexpressed:
        listed = ", ".join(f'"{p}"' for p in negations.unexpressed)
        notes.append(f"I could not turn {listed} into a filter (photos carry no such tag), so the results may "
                     "still include it.")
    return tool, args, notes


def without_negated(text: str, negations: Negations) -> str:
    """Search words minus the negated things and the cue words ("beach no dogs" -> "beach")."""
    for phrase in sorted(negations.phrases, key=len, reverse=True):
        text = re.sub(re.escape(phrase), " ", text, flags=re.IGNORECASE)
    text = re.sub(rf"{_CUE_ZH}|没|[的了]$|[，,。]", " ", text)
    drop = negations.words | {w for tag in negations.not_tags for w in tag.split()}
    drop |= {singular(w) for w in list(drop)}
    cues = {"not", "no", "without", "except", "excluding", "but", "anything", "never", "none", "nothing", "minus",
            "any", "taken", "at"}
    words = text.split()
    kept = [w for w in words if w.lower().strip(",.") not in drop and singular(w.lower().strip(",.")) not in drop]
    # grammar left behind ("green signs that weren't", "on beach")
    grammar = cues | {"with", "in", "on", "of", "from", "that", "which", "were", "was", "are", "is", "and", "photos",
                      "pictures", "the", "a", "an"}
    while kept and (kept[-1].lower() in grammar or kept[-1].lower().endswith("n't")):
        kept.pop()
    while kept and kept[0].lower() in grammar:
        kept.pop(0)
    return " ".join(w for w in kept if w.lower() not in {"not", "no", "without", "except"})
