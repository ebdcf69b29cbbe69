"""One sentence per result saying why it was returned, grounded only in its Evidence.

Every result first gets a sentence composed in code from its evidence (always correct, no model).
The top results are then explained by the LLM in ONE batched call whose output is constrained to
[{id, explanation}]; each model sentence is checked word by word against the evidence (plus the search
words and a list of generic explanation words) and, if it names anything else, the composed sentence
stays. Photo-derived text (captions, OCR, file names) reaches the model only inside <photo_text>
delimiters, with angle brackets removed so it cannot close them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Iterator, Mapping

from photoseek.llm.base import LLM, Message
from photoseek.errors import PhotoseekError
from photoseek.prompts import render
from photoseek.results import Evidence, SearchResult, standing_words
from photoseek.search.match import TIME_PHRASES, is_people_count_ask, stands_alone
from photoseek.vision.faces import people_found_phrase

EXPLANATION_MAX_CHARS = 80

_SIGNAL_WORDS = {
    "embedding": "its picture content is close to the search",
    "caption": "its caption is close to the search",
    "fulltext": "its tags or words match the search",
    "ocr": "the words written in it match",
    "visual": "it looks like the reference photo",
    "modifier": "it fits the requested change",
    "attributes": "its time of day or people match",
}
# The same, in the few words the model is shown (fewer prompt tokens, less to parrot).
_SIGNAL_NAMES = {"embedding": "picture", "caption": "caption", "fulltext": "words", "ocr": "written text",
                 "visual": "looks alike", "modifier": "requested change", "attributes": "time of day/people"}

# Words an explanation may use beyond the evidence: function words and the vocabulary of explaining.
_GENERIC = set(
    """
    a an the this that these those it its it's is are was were be been being has have had with without
    and or but not no nor of in on at by for from to into onto over under near as than then also both
    either neither each one two three four five six seven eight nine ten some any all many several most
    more less very quite rather just only even which who whom whose what where when why how there here
    i you he she we they them their his her our your my me us photo photos image images picture pictures
    shot shots snapshot shows show showing shown displays display displaying depicts depicting features
    featuring contains containing include includes including appears appear appearing seen visible
    found find returned matched match matches matching search searched query request requested asked
    result results tag tags tagged label labelled labeled caption captioned captions describes described
    describing description text texts written writing words word reads read reading says saying letters
    taken take captured date dated time times day daytime night nighttime twilight dusk dawn evening
    people person persons nobody anyone someone faces face nobody's empty
    looks look looking like alike similar similarity resembles resembling resemblance reference example
    close closely closest overall visually visual content appearance style scene composition
    because since so therefore likely probably strong strongly good well high highly relevant relevance
    fits fit fitting requested change changed changes filter filters passed meets met range year years
    month months signal signals score scored based according evidence mentions mentioned mention
    strong weak partial partly partially only though however nothing none missing absent lacks lacking best
    colours colors include includes somewhat loosely
    detected recognised recognized named names name average library rest far above below closer sd colour
    color about still unlike marked last before does answer especially
    january february march april may june july august september october november december
    """.split()
)


@dataclass
class ExplanationStats:
    """How the last batch went (for benches and tests)."""

    model_explained: int = 0
    rejected: list[str] = field(default_factory=list)  # model sentences that named unsupported words
    error: str | None = None
    seconds: float = 0.0


# -- composed (no model) ----------------------------------------------------------------------------


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def compose_explanation(evidence: Evidence, query: str | None = None, match: str | None = None,
                        names: Mapping[int, str] | None = None) -> str:
    """A sentence from the evidence alone. With a match level (results of a search): which words of
    the request met which evidence and, for partial and weak matches, what was not found; without
    one (e.g. duplicates): what matched, then when and who. `names`: how the reader knows the
    reference photos (chat: "#2", the page: the file name); "photo 9" (the catalog id) otherwise."""
    if match is not None:
        return compose_reason(evidence, query, match, names)
    parts: list[str] = []
    if evidence.similar_to:
        parts.append(f"looks like {photos_named(evidence.similar_to, names)}")
    if evidence.matched_tags:
        parts.append("tagged " + _join(evidence.matched_tags[:4]))
    if evidence.caption:
        parts.append(f'caption "{_short(evidence.caption, 90)}"')
    if evidence.ocr_snippet and ("ocr" in evidence.signals or "fulltext" in evidence.signals):
        parts.append(f'text in the photo "{_short(evidence.ocr_snippet, 60)}"')
    if not parts:
        strongest = max(evidence.signals, key=evidence.signals.get, default=None) if evidence.signals else None
        if strongest in _SIGNAL_WORDS:
            parts.append(_SIGNAL_WORDS[strongest] + (f' "{query}"' if query and strongest == "embedding" else ""))
    when: list[str] = []
    if evidence.time_of_day:
        when.append(TIME_PHRASES.get(evidence.time_of_day, evidence.time_of_day))
    if evidence.taken_at:
        when.append(f"on {evidence.taken_at[:10]}")
    if when:
        parts.append("taken " + " ".join(when))
    if evidence.people is not None and ("people" in evidence.filters_matched or "attributes" in evidence.signals):
        parts.append("no people" if evidence.people == 0 else f"{evidence.people} "
                     f"{'person' if evidence.people == 1 else 'people'}")
    if not parts:
        return "Returned by the search, though the library has little evidence about this photo."
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def _join(words: list[str], conjunction: str = "and") -> str:
    """'a', 'a and b', 'a, b and c' ("or" after a negation: 'no "dog" or "snow" found')."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {conjunction} " + words[-1]


LEVEL_OPENINGS = {"strong": "Strong match", "partial": "Partial match", "weak": "Weak match"}
_ATTRIBUTE_ASKS = {"at night", "in daytime", "at twilight", "people", "no people"}


def _asked(item: str) -> str:
    """A request word or attribute as the reason quotes it ("cat" -> '"cat"', "at night" stays)."""
    return item if item in _ATTRIBUTE_ASKS else f'"{item}"'


def _met_phrases(evidence: Evidence) -> list[str]:
    """'"cat" by its tag cat', 'taken at night' …: what of the request met which evidence."""
    by_evidence: dict[str, list[str]] = {}
    for asked, found in evidence.met.items():
        by_evidence.setdefault(found, []).append(asked)
    phrases = []
    for found, asked in by_evidence.items():
        if asked[0] in _ATTRIBUTE_ASKS or found.startswith("colour ") or stands_alone(asked[0], found):
            phrases.append(found if stands_alone(asked[0], found) else f"{_join(asked)}: {found}")
        elif found.startswith("tag ") and found[4:] in evidence.learned:
            phrases.append(f"{_join([_asked(a) for a in asked])}: {learned_phrase(found[4:], evidence)}")
        else:
            where = {"written text": "the text written in it", "caption": "its caption",
                     "file name": "its file name"}.get(found, f"its {found}")
            phrases.append(f"{_join([_asked(a) for a in asked])} by {where}")
    return phrases


def learned_phrase(word: str, evidence: Evidence) -> str:
    """How a learned tag met a word: 'learned from the 4 photos you marked (87% sure)'."""
    learned = evidence.learned.get(word, {})
    count = learned.get("examples", 0)
    sure = f" ({learned['confidence'] * 100:.0f}% sure)" if learned.get("confidence") is not None else ""
    return f"learned from the {count} photo{'s' if count != 1 else ''} you marked{sure}"


def photos_named(ids: list[int], names: Mapping[int, str] | None = None, conjunction: str = "and") -> str:
    """'photo 9', 'photos 9 and 12', or the names the reader knows them by ('#2', 'beach.jpg');
    `conjunction` "or" after a negation ('does not look like a.jpg or b.jpg')."""
    if names and all(i in names for i in ids):
        return _join([names[i] for i in ids], conjunction)
    return ("photo " if len(ids) == 1 else "photos ") + _join([str(i) for i in ids], conjunction)


def _standing_note(z: float | None) -> str:
    """' (closer than about 88% of the library's photos)' after a likeness; nothing in the top
    percent, where every near photo would read the same "99%" (a reason's words say "close" there)."""
    if z is None or z >= TOP_PERCENT_Z:
        return ""
    return f" ({standing_words(z)})"


TOP_PERCENT_Z = 2.33  # the normal spread's 99th percentile


def _content_phrase(evidence: Evidence, query: str | None) -> str:
    """'its picture content is close to "cat" (closer than about 93% of the library's photos)'."""
    # near the library's average it is not "close", only the least far among what is left
    z = evidence.standing
    near = ("close to" if z is None or z >= 1.0 else "not especially close to" if z >= 0
            else "no closer than most photos to")
    what = f"its picture content is {near} " + (f'"{query}"' if query else "the search")
    return what + (f" ({standing_words(z)})" if z is not None else "")  # the top 1% too: a row says how close


def _similarity_phrase(evidence: Evidence, query: str | None, names: Mapping[int, str] | None = None) -> str:
    if evidence.likeness is not None:
        return _likeness_phrase(evidence, names)
    if evidence.similar_to:
        what = "it looks like " + photos_named(evidence.similar_to, names)
        return what + _standing_note(evidence.standing)
    return _content_phrase(evidence, query)


# Relevance feedback: (least z-score, words) for how much a photo looks like the ones marked.
LIKENESS_WORDS = ((2.0, "looks much like"), (1.0, "looks like"), (0.5, "looks a little like"),
                  (-0.5, "looks no more like … than most photos do"))


def _likeness_phrase(evidence: Evidence, names: Mapping[int, str] | None = None) -> str:
    """Relevance feedback: how much the photo looks like the ones marked "more like this" (bands of
    its likeness z-score; near 0 it is said to look like them no more than most photos do)."""
    z = evidence.likeness or 0.0
    how = next((words for floor, words in LIKENESS_WORDS if z >= floor), "looks unlike")
    before, _, after = how.partition(" … ")
    named = f"{photos_named(evidence.similar_to, names, 'or' if how == 'looks unlike' else 'and')}, which you marked"
    return f"it {before} {named}{', ' + after if after else ''}"


# (least z-score, words) for how much a photo looks like the ones marked "less like this".
AVOIDED_WORDS = ((1.0, "looks like"), (0.5, "looks a little like"))


def _avoided_phrase(evidence: Evidence, names: Mapping[int, str] | None = None) -> str:
    """Relevance feedback: how much the photo looks like the ones marked "less like this"."""
    z = evidence.avoided_likeness or 0.0
    how = next((words for floor, words in AVOIDED_WORDS if z >= floor), "does not look like")
    named = photos_named(evidence.avoided, names, "or" if how.startswith("does not") else "and")
    return f'it {how} {named}, which you marked "less like this"'


def compose_reason(evidence: Evidence, query: str | None, match: str, names: Mapping[int, str] | None = None) -> str:
    """The reason for one result of a search, from its level and evidence (no model):

    strong   'Strong match: "cat" by its tag tabby; taken at night.'
             'Strong match: by resemblance alone, one of the closest photos to "kitchen", which look
             alike; among the closest 1% of the library's photos; photoseek cannot recognise "kitchen"
             by itself (no tag it gives names it); tagged microwave oven and appliance.'
    partial  'Partial match: "cat" by its tag tabby; taken in daytime, not at night.'
    weak     'Weak match: no "cat" found in its tags, text or caption; its picture content is close to
             "cat" (closer than about 88% of the library's photos).'
    """
    return _sentence(match, reason_parts(evidence, query, match, names))


def _sentence(match: str, parts: list[str]) -> str:
    opening = LEVEL_OPENINGS.get(match, "Match")
    return f"{opening}: {'; '.join(parts)}." if parts else f"{opening}."


def reason_parts(evidence: Evidence, query: str | None, match: str, names: Mapping[int, str] | None = None) -> list[str]:
    """The clauses of a result's reason (`compose_reason` joins them), so that the clauses every
    result of a group shares can be said once for the group (`group_reasons`)."""
    parts: list[str] = _met_phrases(evidence) + _filter_phrases(evidence)
    if evidence.marked:
        parts.insert(0, 'you marked it "more like this"')
    asked_people = set(evidence.filters_matched.get("person") or ())
    missing_words = [m for m in evidence.missing if m not in _ATTRIBUTE_ASKS and not m.startswith("a close likeness")
                     and not is_people_count_ask(m) and m not in asked_people]
    if match == "strong":
        # the reference photo it is like leads; the similarity that vouched for unmet words follows
        like = [_similarity_phrase(evidence, query, names)] if evidence.similar_to else []
        parts = like + parts + _vouched_parts(evidence, query, missing_words, first=not (like or parts))
    else:
        parts += _unmet_parts(evidence, query, match, names, missing_words, met=bool(evidence.met))
    if evidence.avoided_likeness is not None and evidence.avoided:
        parts.append(_avoided_phrase(evidence, names))
    return [p for p in parts if p]


def unnameable_phrase(words: list[str]) -> str:
    """'photoseek cannot recognise "giraffe" by itself (no tag it gives names it)': nothing that looks
    at every photo would name the word (search.nameable; places and people once registered are
    listed), whatever some photos carry (your own tag, text read in it)."""
    from photoseek.search.nameable import source_names

    kinds = _join(source_names(), "or")
    return (f"photoseek cannot recognise {_join([_asked(w) for w in words], 'or')} by itself "
            f"(no {kinds} it gives names {'it' if len(words) == 1 else 'them'})")


def _filter_phrases(evidence: Evidence) -> list[str]:
    """What the search's filters asked that the photo's annotations show, when the request's words
    did not ask it too: "a cat at night" planned as "cat" plus a night filter still says 'taken at
    night'."""
    asked, said = evidence.filters_matched or {}, set(evidence.met)
    phrases = []
    when = asked.get("time_of_day")
    if when and evidence.time_of_day == when and TIME_PHRASES.get(when) not in said:
        phrases.append(f"taken {TIME_PHRASES[when]}")
    people = asked.get("people")
    if people is not None and not said & {"people", "no people"}:
        phrases.append(people_found_phrase(evidence.people if people else 0, people))
    if (asked.get("not_place") or asked.get("trip")) and not asked.get("place"):
        # "not in Germany" keeps photos whose place is unknown: say which ones (and where the others are)
        if evidence.place:
            phrases.append(f"taken {'in ' if not evidence.place.startswith('near ') else ''}{evidence.place} "
                           f"({evidence.place_how})")
        elif asked.get("not_place"):
            phrases.append("its position is unknown, so it may have been taken in " + " or ".join(asked["not_place"]))
        else:
            phrases.append("its position is unknown: it was taken on a day of the trip")
    return phrases


def _vouched_parts(evidence: Evidence, query: str | None, missing_words: list[str], *, first: bool) -> list[str]:
    """What a strong match adds after its met phrases: for words nothing here would name, that it is
    one of the closest photos to the request, which look alike (a match by resemblance alone);
    `first`: nothing was said yet (then say why it is here at all)."""
    parts = []
    if evidence.stands_apart:
        what = f'"{query}"' if query else "the search"
        parts.append(f"by resemblance alone, one of the closest photos to {what}, which look alike")
        if evidence.standing is not None:  # its own (a group's heading says the rest once)
            parts.append(standing_words(evidence.standing))
        if missing_words:  # "standing", "smiling" are no things to recognise: not listed
            parts.append(unnameable_phrase(missing_words))
        shows = [t for t in evidence.tags if t not in evidence.matched_tags]
        if shows:  # what the tagger saw in it, to judge the resemblance by
            parts.append("tagged " + _join(shows))
    if first and not parts:
        parts.append("it passes every filter asked for" if evidence.filters_matched else "it meets the search")
    return parts


def _unmet_parts(evidence: Evidence, query: str | None, match: str, names: Mapping[int, str] | None,
                 missing_words: list[str], *, met: bool) -> list[str]:
    """What a partial or weak match did not meet, and what brought it back anyway."""
    parts: list[str] = []
    colours = {m for m in missing_words if m in _COLOUR_NAMES}
    unnamed = [m for m in missing_words if m in evidence.unnameable and m not in colours]
    named = [m for m in missing_words if m not in colours and m not in unnamed]
    if named:
        parts.append("no " + _join([_asked(m) for m in named], "or") + " found in its tags, text or caption")
    if unnamed:
        parts.append(unnameable_phrase(unnamed))
    if colours:
        parts.append("its colours do not include " + _join([_asked(c) for c in sorted(colours)], "or"))
    asked_people = set(evidence.filters_matched.get("person") or ())
    for asked in evidence.missing:
        if asked in asked_people:
            parts.append(f"{asked} not recognised in it")
        elif asked in ("at night", "in daytime", "at twilight"):
            taken = TIME_PHRASES.get(evidence.time_of_day or "", "")
            parts.append(f"taken {taken}, not {asked}" if taken else f"not known to be taken {asked}")
        elif asked == "people":
            parts.append("nobody found in it")  # neither by the people detector nor by a tag
        elif asked == "no people":
            parts.append("people in it")
        elif is_people_count_ask(asked):
            parts.append(f"not the {asked} asked for")  # what was found is among the met phrases
        elif asked.startswith("a close likeness") and evidence.similar_to:
            standing = _standing_note(evidence.standing)
            parts.append(f"only {'somewhat' if match == 'partial' else 'loosely'} like "
                         f"{photos_named(evidence.similar_to, names)}{standing}")
    if evidence.likeness is not None and evidence.similar_to:
        parts.append(_likeness_phrase(evidence, names))
    elif (match == "weak" or not met) and not evidence.similar_to and not evidence.marked:
        parts.append(f"{CLOSEST}: " + _similarity_phrase(evidence, query))
    shows = [t for t in evidence.tags if t not in evidence.matched_tags]
    if shows and not evidence.similar_to:  # what the tagger saw in it instead
        parts.append("tagged " + _join(shows))
    return parts


_COLOUR_NAMES = {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray"}


# -- words photoseek cannot see -------------------------------------------------------------------


def resemblance_note(results: list[SearchResult]) -> str:
    """What an answer adds when nothing in the library can name some words of the request: that it
    went by resemblance only, and how to fix it (teach the word by tagging a few photos). "" when every
    word could be named.

    'Photoseek cannot recognise "giraffe" by itself (no tag it gives names it), so these are the
    closest by resemblance only. Give "giraffe" to a few photos (`photoseek teach "giraffe" ID ID ID`, ✓
    on a photo's page, or "#1 is a giraffe" in chat) and I will learn it.'"""
    words = next((r.evidence.unnameable for r in results if r.evidence.unnameable), [])
    if not words:
        return ""
    said = unnameable_phrase(words)
    said = said[0].upper() + said[1:]
    by_look = sum(r.match == "strong" and bool(r.evidence.stands_apart) for r in results)
    named = sum(r.match == "strong" and not r.evidence.stands_apart for r in results)
    parts = []
    if named:  # your own tags, text read in the photo, a caption: they name the photos they are on
        parts.append(f"{_found(named)} {'are' if named > 1 else 'is'} the photo{'s' if named > 1 else ''} "
                     f"whose tag, text or caption names it")
    if by_look:
        # "a bus on the street": the bus is met by its tag, the street by resemblance
        partly = any(r.match == "strong" and r.evidence.stands_apart and r.evidence.met for r in results)
        which = f" for {_join([_asked(w) for w in words], 'and')}" if partly else ""
        parts.append(f"{_found(by_look, named)} rest{'s' if by_look == 1 else ''} on resemblance alone{which} "
                     "(the closest photos, which look alike)")
    if parts:
        text = f"{said}: {'; '.join(parts)}."
    else:
        text = f"{said}, so these are the closest by resemblance only."
    return f"{text} {teach_hint(words[0])}"


def _found(count: int, before: int = 0) -> str:
    """'the 3 found', 'the one found'; 'the 2 others' after some were said."""
    if before:
        return f"the {count} others" if count > 1 else "the other"
    return f"the {count} found" if count > 1 else "the one found"


def teach_hint(word: str) -> str:
    """How to teach photoseek a word it cannot see: tag a few photos with it (taught words learn from
    the photos you tag; until then the tagged photos themselves are its evidence)."""
    return (f'Give "{word}" to a few photos (`photoseek teach "{word}" ID ID ID`, ✓ on a photo\'s page, or '
            f'"#1 is {article(word)}" in chat) and I will learn it.')


def article(word: str) -> str:
    """'a giraffe', 'an owl', 'fireworks' (a plural or a phrase with its own determiner is said as is)."""
    first = word.split()[0].lower() if word.split() else word
    if first in ("my", "our", "your", "the", "a", "an") or (word.endswith("s") and not word.endswith("ss")):
        return word
    return f"{'an' if first[:1] in 'aeiou' else 'a'} {word}"


# -- reasons said once for a group ------------------------------------------------------------------


@dataclass
class ReasonGroup:
    """Results an answer shows together (the matches; then those only close), with the clauses of
    their reasons that every one of them shares (`shared`), said once in `heading`, and what is left
    of each one's reason (`reasons`: result id -> 'Weak match: its picture content is close to …')."""

    kind: str  # "matches" | "close"
    ids: list[int]
    shared: list[str] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)

    @property
    def heading(self) -> str:
        """'Close, not matches: photoseek cannot recognise "giraffe" by itself (no tag it gives names it);
        they are the closest by picture.'"""
        label = "Matches" if self.kind == "matches" else "Close, not matches"
        said = [_group_wording(clause) for clause in self.shared]
        if self.kind == "close" and not any("closest" in clause for clause in said):
            said.append("they are the closest by picture")
        return f"{label}: {'; '.join(said)}." if said else f"{label}."

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "heading": self.heading, "ids": list(self.ids),
                "reasons": {str(i): r for i, r in self.reasons.items()}}


CLOSEST = "returned as one of the closest"
_CLOSE_TO = re.compile(r"^returned as one of the closest: its picture content is (close to|.+?) .+?"
                       r"(?: \((closer than about \d+% of the library's photos|among the closest 1% of the library's photos)\))?$")


def _split_standing(parts: list[str]) -> list[str]:
    """'returned as one of the closest: its picture content is close to "cat" (closer than about 93% of
    the library's photos)' as two clauses, 'returned as one of the closest by picture' (what a group
    of such results shares) and the standing (which stays with its photo); a photo not especially
    close keeps the words that say so."""
    out: list[str] = []
    for part in parts:
        found = _CLOSE_TO.match(part)
        if found is None:
            out.append(part)
            continue
        out.append(f"{CLOSEST} by picture")
        if found.group(1) != "close to":
            out.append(part[len(CLOSEST) + 2:])
        elif found.group(2):
            out.append(found.group(2))
    return out


def _is_standing(clause: str) -> bool:
    return clause.endswith("of the library's photos") and clause.startswith(("closer than about", "among the closest"))


def _group_wording(clause: str) -> str:
    """A clause every result of a group shares, as said of the group: 'no "cat" found in its tags, text
    or caption' -> 'none of these has "cat" in its tags, text or caption'."""
    found = re.fullmatch(r"no (.+) found in its tags, text or caption", clause)
    if found:
        return f"none of these has {found.group(1)} in its tags, text or caption"
    if clause == f"{CLOSEST} by picture":
        return "they are the closest by picture"
    if clause.startswith("by resemblance alone, one of the closest photos to "):
        return "by resemblance alone: the closest photos to " + clause[len("by resemblance alone, one of the closest photos to "):]
    return clause


def group_reasons(results: list[SearchResult], query: str | None,
                  names: Mapping[int, str] | None = None) -> list[ReasonGroup]:
    """The results as groups, the matches then those only close (each in the order given), each
    group's shared clauses said once: the reason a 47-row answer repeated 47 times ("no tag, text or
    caption names "giraffe"") is its heading. The matches by resemblance alone are a group of their
    own after those whose evidence names what was asked (`match.matches_first` puts them there).
    Results without a level (duplicates) make no group."""
    kinds = {"named": ReasonGroup("matches", []), "alike": ReasonGroup("matches", []), "close": ReasonGroup("close", [])}
    for result in results:
        if result.match == "strong":
            kinds["alike" if result.evidence.stands_apart else "named"].ids.append(result.id)
        elif result.match is not None:
            kinds["close"].ids.append(result.id)
    groups = [group for group in kinds.values() if group.ids]
    by_id = {r.id: r for r in results}
    for group in groups:
        parts = {i: _split_standing(reason_parts(by_id[i].evidence, query, by_id[i].match or "weak", names))
                 for i in group.ids}
        first = parts[group.ids[0]]
        # how close each photo is stays with it, even where several read the same
        group.shared = [p for p in first if all(p in parts[i] for i in group.ids) and not _is_standing(p)
                        ] if len(group.ids) > 1 else []
        for i in group.ids:
            group.reasons[i] = _sentence(by_id[i].match or "weak", [p for p in parts[i] if p not in group.shared])
    return groups


# -- grounding check --------------------------------------------------------------------------------


def _variants(word: str) -> set[str]:
    out = {word}
    if len(word) > 3:
        if word.endswith("s") and not word.endswith("ss"):
            out.add(word[:-1])
        if word.endswith("es"):
            out.add(word[:-2])
        if word.endswith("ies"):
            out.add(word[:-3] + "y")
        if word.endswith("ing"):
            out.update({word[:-3], word[:-3] + "e"})
        if word.endswith("ed"):
            out.update({word[:-2], word[:-1]})
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def evidence_vocabulary(result: SearchResult) -> set[str]:
    """Every word (and its singular/stem guesses) of a photo's evidence and file name. Not the search
    words: that the user asked for a dog is no evidence that this photo shows one."""
    ev = result.evidence
    texts = [" ".join(ev.matched_tags + ev.tags), ev.caption or "", ev.ocr_snippet or "", ev.time_of_day or "",
             PurePath(result.path).stem.replace("_", " ").replace("-", " "), json.dumps(ev.filters_matched)]
    vocabulary: set[str] = set()
    for text in texts:
        for word in _words(text):
            vocabulary |= _variants(word)
    return vocabulary


def unsupported_words(explanation: str, result: SearchResult, query: str | None = None) -> list[str]:
    """Content words of `explanation` found neither in the evidence nor among generic explanation words.
    The search words may appear only quoted as the search ('close to the search "cat"'), and each
    request word only quoted ('no "cat" found')."""
    if query:
        explanation = explanation.replace(f'"{query}"', " ")
    for asked in [*result.evidence.met, *result.evidence.missing]:
        explanation = explanation.replace(f'"{asked}"', " ")
    allowed = evidence_vocabulary(result) | _GENERIC
    return [w for w in _words(explanation) if len(w) > 2 and not (_variants(w) & allowed)]


_NEGATIONS = {"no", "not", "without", "nothing", "none", "neither", "nor", "isn't", "lacks", "missing", "absent"}


def claims_missing(sentence: str, evidence: Evidence) -> list[str]:
    """Request words the evidence did NOT find that `sentence` names without a negation in the four
    words before ('no "cat" was detected' is fine; 'a cat on a sofa' is not)."""
    words = re.findall(r"[a-z']+", sentence.lower())
    claimed = []
    for asked in evidence.missing:
        target = _words(asked)
        if not target or asked == "no people":  # "no people" not met means people are there: saying so is true
            continue
        key = target[-1]  # the content word: "cat", "night" of "at night", "red"
        for i, word in enumerate(words):
            if _variants(word) & _variants(key):
                if not _NEGATIONS & set(words[max(0, i - 4):i]):
                    claimed.append(asked)
                break
    return claimed


def with_level(sentence: str, match: str | None) -> str:
    """A model sentence for a partial or weak match that does not say so gets the level in front."""
    if match in (None, "strong") or re.search(r"\b(weak|partial|partly|partially)\b", sentence, re.IGNORECASE):
        return sentence
    return f"{LEVEL_OPENINGS[match]}: {sentence[0].lower()}{sentence[1:]}"


# -- the model's batch ------------------------------------------------------------------------------


def _photo_text(text: str, limit: int) -> str:
    """Photo-derived text, fenced: angle brackets removed so it cannot close the fence."""
    cleaned = _short(text.replace("<", " ").replace(">", " "), limit)
    return f"<photo_text>{cleaned}</photo_text>"


def evidence_lines(result: SearchResult) -> list[str]:
    """The evidence as short lines for the prompt (photo-derived text fenced)."""
    return [f"{label}: {value}" for label, value in evidence_items(result)]


def evidence_items(result: SearchResult, *, fence: bool = True,
                   names: Mapping[int, str] | None = None) -> list[tuple[str, str]]:
    """The evidence as (what, value) pairs: for the model's prompt (`fence`: photo-derived text in
    <photo_text> fences, so it stays data; reference photos by id) or for people (chat's /why;
    `names`: the reference photos as the reader knows them, e.g. "#1 (#2 before)")."""
    ev = result.evidence
    shown = _photo_text if fence else _short
    items: list[tuple[str, str]] = []
    if ev.matched_tags:
        items.append(("tags", ", ".join(ev.matched_tags[:6])))
    if ev.caption:
        items.append(("caption", shown(ev.caption, 160)))
    if ev.ocr_snippet:
        items.append(("text in it", shown(ev.ocr_snippet, 80)))
    if not (ev.matched_tags or ev.caption or ev.ocr_snippet) or "fulltext" in ev.signals:
        items.append(("file", shown(PurePath(result.path).name, 60)))
    when = [TIME_PHRASES.get(ev.time_of_day or "", ev.time_of_day or ""), f"on {ev.taken_at[:10]}" if ev.taken_at else ""]
    if any(when):
        items.append(("taken", " ".join(w for w in when if w)))
    if ev.people is not None:
        items.append(("people", str(ev.people)))
    if ev.similar_to and fence:
        items.append(("looks like photo", ", ".join(str(i) for i in ev.similar_to)))
    elif ev.similar_to:
        items.append(("compared with", photos_named(ev.similar_to, names)))
    if ev.avoided and not fence:
        items.append(("you marked less like", photos_named(ev.avoided, names)))
    if ev.filters_matched:
        items.append(("filters", ", ".join(f"{k}={v}" for k, v in ev.filters_matched.items())))
    if ev.signals and not (ev.matched_tags or ev.caption or ev.similar_to):  # thin evidence: say what matched
        items.append(("matched by", ", ".join(_SIGNAL_NAMES.get(s, s) for s in ev.signals)))
    if result.match is not None:
        items.append(("match", result.match))
        if ev.met:
            items.append(("request met", ", ".join(
                f'"{a}" by {f}' + (f", {learned_phrase(f[4:], ev)}" if f.startswith("tag ") and f[4:] in ev.learned else "")
                for a, f in ev.met.items())))
        if ev.missing:
            items.append(("not found", ", ".join(f'"{m}"' for m in ev.missing)))
    return items


def score_items(evidence: Evidence) -> list[tuple[str, str]]:
    """Where the photo's score stands and what each signal gave, in words (chat's /why)."""
    items = []
    if evidence.standing is not None:
        items.append(("closeness", standing_words(evidence.standing)))
    if evidence.signals:  # the raw scores are in /json: they mean little without their scales
        items.append(("found by", ", ".join(_FOUND_BY.get(name, name) for name in evidence.signals)))
    return items


# what each signal is, for people (chat's /why)
_FOUND_BY = {"embedding": "its picture content", "caption": "its caption", "fulltext": "words in its tags, text or file name",
             "ocr": "the text written in it", "visual": "its likeness to the example", "modifier": "the change asked for",
             "attributes": "its time of day or people"}


def per_photo_schema(ids: list[int], array: str, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """JSON schema for `{array: [{"id": one of ids, **fields}, ...]}` with exactly one item per id:
    what constrained decoding holds a model to when it answers about each shown photo."""
    return {
        "type": "object",
        "properties": {
            array: {
                "type": "array",
                "minItems": len(ids),
                "maxItems": len(ids),
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "integer", "enum": ids}, **fields},
                    "required": ["id", *fields],
                    "additionalProperties": False,
                },
            }
        },
        "required": [array],
        "additionalProperties": False,
    }


def explanation_schema(ids: list[int]) -> dict[str, Any]:
    return per_photo_schema(
        ids, "explanations", {"explanation": {"type": "string", "minLength": 8, "maxLength": EXPLANATION_MAX_CHARS}})


class _ArrayObjects:
    """Complete objects of the "explanations" array, read from JSON text as it streams in."""

    def __init__(self) -> None:
        self.text = ""
        self.position: int | None = None
        self.decoder = json.JSONDecoder()

    def feed(self, piece: str) -> list[Any]:
        self.text += piece
        if self.position is None:
            key = self.text.find('"explanations"')
            start = self.text.find("[", key) if key >= 0 else -1
            if start < 0:
                return []
            self.position = start + 1
        found = []
        while True:
            while self.position < len(self.text) and self.text[self.position] in " \t\r\n,":
                self.position += 1
            if self.position >= len(self.text) or self.text[self.position] == "]":
                return found
            try:
                value, end = self.decoder.raw_decode(self.text, self.position)
            except json.JSONDecodeError:
                return found  # incomplete: wait for more
            found.append(value)
            self.position = end


class Explainer:
    def __init__(self, llm: LLM | None, *, top: int = 5, system_prompt: str | None = None):
        self.llm = llm
        self.top = top
        self._system_prompt = system_prompt or render("system")
        self.stats = ExplanationStats()

    def compose_all(self, results: list[SearchResult], query: str | None, names: Mapping[int, str] | None = None) -> None:
        for result in results:
            result.explanation = compose_explanation(result.evidence, query, result.match, names)

    def explain(self, results: list[SearchResult], query: str | None = None, request: str | None = None) -> None:
        """Fill `explanation` on every result (composed), then the model's for the top ones."""
        for _ in self.explain_stream(results, query, request):
            pass

    def explain_stream(
        self, results: list[SearchResult], query: str | None = None, request: str | None = None
    ) -> Iterator[tuple[int, str]]:
        """Compose all, then yield (index, sentence) as each model sentence arrives and passes the check."""
        import time

        started = time.perf_counter()
        self.stats = ExplanationStats()
        self.compose_all(results, query)
        # Only results with descriptive evidence go to the model: with nothing but scores, dates and a
        # file name it can only parrot them (measured), and every photo costs ~30 generated tokens.
        # the index yielded is the result's place in `results` (what a UI numbers), not among these
        by_id = {r.id: (i, r) for i, r in enumerate(results[: self.top]) if _descriptive(r.evidence)}
        top = [r for _, r in by_id.values()]
        if self.llm is None or not top:
            return
        photos = [{"id": r.id, "lines": evidence_lines(r)} for r in top]
        messages = [
            Message("system", self._system_prompt),
            Message("user", render("explain_user", request=request or query or "similar photos", photos=photos)),
        ]
        reader = _ArrayObjects()
        done: set[int] = set()
        said: set[str] = set()
        try:
            for piece in self.llm.stream_chat(
                messages, schema=explanation_schema(list(by_id)), max_tokens=36 * len(top) + 20
            ):
                for item in reader.feed(piece):
                    if not isinstance(item, dict) or item.get("id") not in by_id or item["id"] in done:
                        continue
                    done.add(item["id"])
                    index, result = by_id[item["id"]]
                    sentence = _tidy(str(item.get("explanation", "")))
                    if not sentence:
                        continue
                    bad = unsupported_words(sentence, result, query) + claims_missing(sentence, result.evidence)
                    broken = _unfinished(sentence)
                    if bad or broken or sentence.lower() in said:  # a sentence said of two photos explains neither
                        reason = f"unsupported: {', '.join(bad)}" if bad else ("unfinished" if broken else "repeated")
                        self.stats.rejected.append(f"{sentence} ({reason})")
                        continue
                    said.add(sentence.lower())
                    sentence = with_level(sentence, result.match)
                    result.explanation = sentence
                    self.stats.model_explained += 1
                    yield index, sentence
        except PhotoseekError as exc:  # the composed sentences stand
            self.stats.error = str(exc)
        finally:
            self.stats.seconds = time.perf_counter() - started


def _descriptive(evidence: Evidence) -> bool:
    """Evidence that says what is in the photo (not only scores, time and date)."""
    return bool(evidence.matched_tags or evidence.caption or evidence.similar_to
                or (evidence.ocr_snippet and ("ocr" in evidence.signals or "fulltext" in evidence.signals
                                              or evidence.filters_matched.get("has_text"))))


def _tidy(sentence: str) -> str:
    sentence = " ".join(sentence.split()).strip().strip('"').strip()
    if not sentence:
        return ""
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence[-1] in ".!?…" else sentence + "."


_DANGLING = {"a", "an", "the", "at", "in", "on", "of", "with", "by", "and", "or", "to", "from", "during", "for"}


def _unfinished(sentence: str) -> bool:
    """A sentence cut off mid-phrase ("photographed at.", "…, partial match:.") explains nothing."""
    words = re.findall(r"[^\W_]+", sentence.lower())
    return not words or words[-1] in _DANGLING or sentence.rstrip(".!?… ").endswith((":", ",", ";", "-"))


def result_dict(result: SearchResult, query: str | None = None, names: dict[int, str] | None = None) -> dict[str, Any]:
    """`SearchResult.to_dict()` with an explanation composed from its evidence when it has none
    (`names`: the reference photos as the reader knows them), and its match level when the search gave one."""
    out = result.to_dict()
    match = getattr(result, "match", None)
    if not out.get("explanation"):  # with its level: what met, and for partial and weak what was not found
        out["explanation"] = compose_explanation(result.evidence, query, match, names)
    if match is not None and "match" not in out:
        out["match"] = match
    return out
