"""A vision LLM looks at the top results (task LOOK): what it sees that matches, and a verification.

With an LLM that can see (`llm.can_see()`: an Ollama model whose /api/show capabilities include
"vision", e.g. qwen2.5vl, gemma3, llava), the agent sends the top results' thumbnails (the library's
256-px JPEGs) with their evidence lines (photo-derived text fenced, as for EXPLAIN) in ONE request
whose output is constrained to {"photos": [{id, sees, matches}]}:

  sees     one sentence saying what the model sees that matches the request; it becomes the
           result's explanation when it passes the grounding check below;
  matches  "yes" | "partly" | "no", the verification step: "no" demotes the result (its `match`
           level becomes "weak" and it moves below the results that were not demoted); "partly"
           lowers a "strong" match to "partial"; "yes" changes nothing. `match` is read and written
           with getattr/setattr, so this works whether or not SearchResult has the field yet.

Grounding: the sentence is checked against what the model was given. Its content words must come
from the photo's evidence, the request, the generic explanation words (agent.explain), or the
things a photo can show: the tagger's visual vocabulary (vision.tagging.zero_shot_vocabulary),
basic colour terms and a short list of words for poses, places in a frame and light. A sentence
naming anything else (a place, a name, an instruction written in the photo) is not believed: it is
dropped and the composed explanation stays. A model error leaves the results as they were.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from photoseek.agent.explain import _tidy, _unfinished, _variants, _words, evidence_lines, per_photo_schema, unsupported_words
from photoseek.errors import PhotoseekError
from photoseek.llm.base import LLM, Message
from photoseek.prompts import render
from photoseek.results import SearchResult

LOOK_TOP = 3  # thumbnails per request: each costs a vision model a few hundred prompt tokens
SEES_MAX_CHARS = 100
VERDICTS = ("yes", "partly", "no")

# The eleven basic colour terms (Berlin & Kay) and common shades.
_COLOURS = set("black white red green yellow blue brown purple pink orange grey gray golden silver dark light "
               "bright pale colourful colorful".split())
# What a sentence about a photo's content says beyond naming things: poses, actions, where in the
# frame, light and weather, size and number, and the commonest scenery.
_SEEING = set(
    """
    standing sitting lying running walking playing holding riding eating drinking wearing flying swimming
    jumping sleeping looking smiling parked moving driving crossing carrying waiting resting lit covered
    run walk sit stand lie play hold ride eat drink wear fly swim jump sleep smile park move drive carry wait
    filled full open closed large small big little tiny huge tall long short young old new wet dry
    sunny cloudy snowy sandy grassy rocky rainy foggy bright indoors outdoors indoor outdoor inside outside
    background foreground front behind beside next top bottom left right middle center centre across along
    around between above below against among street road field sky water ground floor wall table room
    clearly partly mostly only several group pair grass sand snow sea sky tree trees water mountain mountains
    hill river lake beach building buildings cloud clouds sun sunset sunrise light shadow night day
    """.split()
)


@lru_cache(maxsize=1)
def visual_vocabulary() -> frozenset[str]:
    """Words a description of what is visible may use beyond the evidence (see the module doc)."""
    from photoseek.vision.tagging import zero_shot_vocabulary

    words: set[str] = set(_COLOURS | _SEEING)
    for term in zero_shot_vocabulary():
        words.update(_words(term))
    return frozenset(words)


def look_schema(ids: list[int]) -> dict[str, Any]:
    return per_photo_schema(ids, "photos", {
        "sees": {"type": "string", "minLength": 8, "maxLength": SEES_MAX_CHARS},
        "matches": {"type": "string", "enum": list(VERDICTS)},
    })


@dataclass
class LookStats:
    """How the last look went (for benches and tests)."""

    looked: list[int] = field(default_factory=list)  # photo ids whose thumbnails were sent
    explained: int = 0
    demoted: list[int] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def unseen_words(sentence: str, result: SearchResult, request: str) -> list[str]:
    """Content words of a LOOK sentence that nothing the model was given supports."""
    extra = visual_vocabulary() | {v for w in _words(request) for v in _variants(w)}
    return [w for w in unsupported_words(sentence, result) if not (_variants(w) & extra)]


def demote(result: SearchResult, verdict: str) -> bool:
    """Apply a LOOK verdict to the result's match level; True when the result is demoted."""
    level = getattr(result, "match", None)
    if verdict == "no":
        setattr(result, "match", "weak")
        return True
    if verdict == "partly" and level in (None, "strong"):
        setattr(result, "match", "partial")
    return False


class Looker:
    """Shows the top results to a vision LLM. `thumbnail(photo_id)` gives the JPEG's path or None."""

    def __init__(self, llm: LLM | None, thumbnail: Callable[[int], Path | None], *, top: int = LOOK_TOP):
        self.llm = llm
        self.thumbnail = thumbnail
        self.top = top
        self.stats = LookStats()

    def can_look(self) -> bool:
        can_see = getattr(self.llm, "can_see", None)  # any chat object may stand in for an LLM
        if not callable(can_see):
            return False
        try:
            return bool(can_see())
        except PhotoseekError:
            return False

    def look_stream(self, results: list[SearchResult], request: str) -> Iterator[tuple[int, str]]:
        """Yield (index, sentence) for each result whose LOOK sentence passes the check; afterwards
        the demoted results are moved, in place, below the others."""
        started = time.perf_counter()
        self.stats = LookStats()
        shown: list[tuple[int, SearchResult, bytes]] = []
        for index, result in enumerate(results[: self.top]):
            try:
                path = self.thumbnail(result.id)
            except PhotoseekError:  # a photo removed since the search: nothing to show
                path = None
            if path is not None and path.is_file():
                shown.append((index, result, path.read_bytes()))
        if not shown:
            return
        self.stats.looked = [r.id for _, r, _ in shown]
        by_id = {r.id: (i, r) for i, r, _ in shown}
        photos = [{"id": r.id, "lines": evidence_lines(r)} for _, r, _ in shown]
        messages = [
            Message("system", render("look_system")),
            Message("user", render("look_user", request=request, photos=photos), images=[b for _, _, b in shown]),
        ]
        demoted: set[int] = set()
        try:
            reply = self.llm.chat(messages, schema=look_schema(list(by_id)), max_tokens=40 * len(shown) + 30)
            items = json.loads(reply).get("photos", [])
        except (PhotoseekError, ValueError, AttributeError) as exc:  # the composed sentences stand
            self.stats.error = str(exc)
            items = []
        done: set[int] = set()
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or item.get("id") not in by_id or item["id"] in done:
                continue
            done.add(item["id"])
            index, result = by_id[item["id"]]
            if str(item.get("matches")) in VERDICTS and demote(result, str(item["matches"])):
                demoted.add(result.id)
            sentence = _tidy(str(item.get("sees", "")))[:SEES_MAX_CHARS]
            bad = unseen_words(sentence, result, request) if sentence else ["(empty)"]
            if bad or _unfinished(sentence):
                self.stats.rejected.append(f"{sentence} ({'unsupported: ' + ', '.join(bad) if bad else 'unfinished'})")
                continue
            result.explanation = sentence
            self.stats.explained += 1
            yield index, sentence
        if demoted:  # stable: the others keep their order, the demoted follow in theirs
            results[:] = [r for r in results if r.id not in demoted] + [r for r in results if r.id in demoted]
        self.stats.demoted = [r.id for r in results if r.id in demoted]
        self.stats.seconds = time.perf_counter() - started


def explain_or_look(explainer, looker: Looker, results: list[SearchResult], query: str | None,
                    request: str) -> Iterator[tuple[int, str]]:
    """The session's explanation step: LOOK when the LLM can see (one request with the top
    thumbnails), else the text-only EXPLAIN of agent.explain. Yields (index, sentence)."""
    if looker.can_look():
        yield from looker.look_stream(results, request)
    else:
        yield from explainer.explain_stream(results, query, request)
