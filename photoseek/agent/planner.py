"""Request + conversation state -> a Plan (tool calls).

The work is split by what is reliable:
  code   finds photo paths, result references ("#3", "the third one", "第三张"), feedback
         ("more like 2 and 5, not 4"), explicit dates ("2019", "last summer"), quoted text, and checks
         every filter the model proposes against the words of the request (a 1.5B model invents filters);
  model  picks the tool and rewrites the request into English search words ("猫的照片" -> "cat"),
         with its output constrained by a JSON schema (llama.cpp grammar / Ollama `format`).
A plan the model gets wrong is retried once with the problem named; then a plain text search runs
and the answer says so. The planner can reach only the read-only tools in photoseek.tools.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from photoseek.agent.dates import DateRange, has_temporal_cue, resolve_dates
from photoseek.agent.people_words import PeopleAsked, read_people
from photoseek.agent.place_words import PlaceRequest, read_places, without_place_names, without_spans
from photoseek.places.names import fold
from photoseek.llm.base import LLM, Message
from photoseek.llm.translate import detect_language, needs_translation, to_english
from photoseek.results import describe_filters
from photoseek.errors import PhotoseekError
from photoseek.search.query_attributes import NO_PEOPLE_PATTERNS, PERSON_WORDS
from photoseek.prompts import render
from photoseek.tools.base import FILTER_FIELDS, SEARCH_TOOLS, TOOLS, ToolArgumentsError

if TYPE_CHECKING:
    from photoseek.places.names import NameIndex

#: what a plan may call: the registry's tools, all read-only (feedback only re-ranks); the names of
#: people and places are read by code from the library (PlanContext.people, .places), so list_people
#: and list_places are for MCP hosts, as taught_words is (a conversation searches; `photoseek words`,
#: `places` and the page list them)
PLANNER_TOOLS: tuple[str, ...] = tuple(name for name in TOOLS
                                       if name not in ("list_people", "list_places", "taught_words"))
#: the model may also say "refine" (change the previous search); the planner turns it into a real call
MODEL_TOOLS: tuple[str, ...] = PLANNER_TOOLS + ("refine",)

_STRINGS = {"type": "array", "items": {"type": "string"}}
_NUMBERS = {"type": "array", "items": {"type": "integer"}}
_DAY = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}

#: the JSON the model must produce (one tool call, flat: small models fill flat objects best)
STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tool": {"type": "string", "enum": list(MODEL_TOOLS)},
        "query": {"type": "string"},
        "photo": {"type": "string"},
        "but": {"type": "string"},
        "text": {"type": "string"},
        "tags": _STRINGS,
        "not_tags": _STRINGS,
        "date_from": _DAY,
        "date_to": _DAY,
        "time_of_day": {"type": "string", "enum": ["day", "twilight", "night"]},
        "people": {"type": "boolean"},
        "camera": {"type": "string"},
        "has_text": {"type": "boolean"},
        "person": _STRINGS,
        "not_person": _STRINGS,
        "person_only": {"type": "boolean"},
        "place": _STRINGS,
        "more_like": _NUMBERS,
        "less_like": _NUMBERS,
    },
    "required": ["tool"],
    "additionalProperties": False,
}

PLAN_MAX_TOKENS = 160


class PlanError(PhotoseekError):
    """The request cannot be planned as asked (e.g. "#12" after 10 results); the message says why."""


class _PlanProblem(Exception):
    """The model's plan cannot run; told to the model on the retry."""


# -- values -----------------------------------------------------------------------------------------


@dataclass
class ToolCall:
    tool: str
    args: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "args": dict(self.args)}


@dataclass
class Plan:
    calls: list[ToolCall]
    source: str = "model"  # "model" | "rules" | "fallback"
    notes: list[str] = field(default_factory=list)  # said to the user (e.g. that a fallback ran)
    model_output: str | None = None
    seconds: float = 0.0

    @property
    def search_text(self) -> str | None:
        """The English words searched for, if any (explanations and answers cite them)."""
        for call in self.calls:
            for key in ("query", "but", "text"):
                if call.args.get(key):
                    return str(call.args[key])
        return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"calls": [c.to_dict() for c in self.calls], "source": self.source}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass
class PlanContext:
    """What the planner knows of the conversation: today's date, the last search and its results, and
    the names of places (the library's, and the world's countries and big cities: `Library.place_names`),
    so that "Paris" the city is a place filter and "a paris-style café" is not; None reads no places."""

    today: date = field(default_factory=date.today)
    previous_call: ToolCall | None = None
    previous_results: list[int] = field(default_factory=list)  # photo ids; "#1" is previous_results[0]
    people: tuple[str, ...] = ()  # the names the user gave the people in the library (photoseek people)
    places: "NameIndex | None" = None


# -- reading the request ---------------------------------------------------------------------------

_IMAGE_EXT = r"(?:jpe?g|png|heic|heif|webp|tiff?|bmp|gif|avif|dng|cr2|nef|arw)"
_PATH = re.compile(
    rf"""["'“‘]([^"'”’\n]+?\.{_IMAGE_EXT})["'”’]|((?:~|\.{{1,2}})?[^\s"'<>|,;]*\.{_IMAGE_EXT})(?![\w])""",
    re.IGNORECASE,
)
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}
_CHINESE_NUMBERS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_NOUN = r"(?:one|ones|photo|photos|picture|pictures|image|images|pic|pics|result|results|shot|shots)"
_NUMS = r"#?\d{1,3}(?!\d)(?:\s*(?:,|，|、|and|&|or|和|与|跟)\s*#?\d{1,3}(?!\d))*"  # not years: "except 2020"
_FEEDBACK_MORE = re.compile(
    rf"\b(?:more (?:like|of|similar to))\s+(?:photos?\s+|results?\s+|numbers?\s+)?({_NUMS})"
    rf"|(?:更像|多一些像|多点像|多来点像|再来点像)\s*({_NUMS})",
    re.IGNORECASE,
)
_FEEDBACK_LESS = re.compile(
    rf"\b(?:less (?:like|of)|fewer like|not like|not|no|except|but not|without|exclude|drop|remove|minus)\s+"
    rf"(?:photos?\s+|results?\s+|numbers?\s+)?({_NUMS})"
    rf"|(?:不要|不像|去掉|除了|排除)\s*({_NUMS})",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"""["“「『]([^"”」』]{1,200})["”」』]|(?<![\w])'([^']{1,200})'(?![\w])""")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_REFINEMENT_START = re.compile(
    r"^\s*(?:but|and|from|in|at|during|taken|with|without|no|not|exclude|except|same|again|narrow|filter)\b|"
    r"\b(?:only|just|the ones|those|these|them|also|too|as well)\b|^\s*(?:只|仅|不要|没有|去掉|再|那些|这些|其中)",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"\b(?:show me|show|find me|find|search for|search|look for|give me|get me|i want|can you|could you|please|"
    r"all|some|my|our|the|a|an|of|photos?|pictures?|pics?|images?|shots?|snapshots?|taken|any|everything|anything|"
    r"stuff|things)\b",
    re.IGNORECASE,
)
_NIGHT = re.compile(r"\b(?:at night|night|nighttime|night-time|after dark)\b|夜|晚上", re.IGNORECASE)
_DAY = re.compile(r"\b(?:daytime|day time|during the day|in daylight|by day)\b|白天|白日", re.IGNORECASE)
_TWILIGHT = re.compile(r"\b(?:twilight|dusk|at dawn)\b|黄昏|傍晚", re.IGNORECASE)
_TIME_CUE = re.compile(
    r"\b(?:night|day|daytime|daylight|twilight|dusk|dawn|sunset|sunrise|evening|morning|dark|golden hour)\b|"
    r"夜|晚|白天|黄昏|傍晚|日落|日出|早上",
    re.IGNORECASE,
)
_WITH_PEOPLE = re.compile(r"\bwith (?:people|persons|someone|somebody|friends|family|a person)\b|有人", re.IGNORECASE)
_NO_PEOPLE_ZH = re.compile(r"(?:没|不要|不带|无)有?人")
_TEXT_CUE = re.compile(
    r"\b(?:text|texts|sign|signs|written|writing|words?|letters|says|saying|reads|label|poster|document|screenshot)\b|"
    r"字|写|招牌|标志",
    re.IGNORECASE,
)
_HAS_TEXT = re.compile(r"\bwith (?:visible |any )?(?:text|writing|words)\b|\bcontaining text\b|有字|带字|有文字")
_ONLY_TIME_WORDS = re.compile(
    r"\s*(?:(?:at|by|during|the|in)\s+)*(?:night|nighttime|night-time|evening|day|daytime|daylight|twilight|dusk|dawn)"
    r"(?:\s+(?:scenes?|views?|shots?|photos?|pictures?|time))?\s*", re.IGNORECASE)
_NEW_TOPIC = re.compile(r"\b(?:instead|actually|new search|start over|forget (?:that|it))\b|换成|改成|重新", re.IGNORECASE)
# What a request asks for when it only says "with text": a filter, not a text search for the word "text".
_GENERIC_TEXT = {"text", "texts", "word", "words", "writing", "letters", "any text", "something", "some text"}
# Words left over when a request only states filters ("pictures taken in 2021 with people").
_STOP = set(
    "from in on at with without during since before after of the a an my our your taken shot and or to for by "
    "that them it this these those ones one only just some all any me show find photo photos picture pictures "
    "pic pics image images everything anything stuff things".split()
)
_CAMERA_BRAND = re.compile(
    r"\b(?:iphone|ipad|pixel|galaxy|samsung|huawei|xiaomi|oneplus|canon|nikon|sony|fuji\w*|olympus|panasonic|"
    r"lumix|leica|ricoh|pentax|hasselblad|gopro|dji|kodak|eos|alpha)\b",
    re.IGNORECASE,
)
_SIMILAR_CUE = re.compile(r"\b(?:like|similar|resembl\w*|alike)\b|像|相似|类似|差不多", re.IGNORECASE)
_REFERS_BACK = re.compile(r"\b(?:this|that|it|these|those)\b|这张|那张|这个|那个|它", re.IGNORECASE)
_CAMERA = re.compile(
    r"\b(?:taken|shot|photographed)\s+(?:with|on|by|using)\s+(?:my|a|an|the|our)?\s*([A-Za-z][\w-]*)", re.IGNORECASE
)


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d{1,3}", text)]


def _chinese_number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    if token == "十":
        return 10
    if token.startswith("十") and len(token) == 2:
        return 10 + _CHINESE_NUMBERS.get(token[1], 0)
    return _CHINESE_NUMBERS.get(token)


def normalize_references(text: str, result_count: int = 0) -> str:
    """"the third one", "photo 3", "number 3", "第三张" -> "#3" ("the last one" -> "#N" given the count)."""

    def ordinal(match: re.Match) -> str:
        word = match.group(1).lower()
        if word == "last":
            return f"#{result_count}" if result_count else match.group(0)
        number = _ORDINALS.get(word) or int(re.match(r"\d+", word).group(0))
        return f"#{number}"

    ordinal_words = "|".join(list(_ORDINALS) + ["last"])
    text = re.sub(
        rf"\b(?:the\s+)?({ordinal_words}|\d{{1,3}}(?:st|nd|rd|th))\s+{_NOUN}\b", ordinal, text, flags=re.IGNORECASE
    )
    text = re.sub(
        r"\b(?:photo|picture|image|pic|result|number|no\.|nr\.?)\s*#?\s*(\d{1,3})\b(?![.:/-]\d)",
        lambda m: f"#{m.group(1)}",
        text,
        flags=re.IGNORECASE,
    )
    text = re.sub(r"#\s+(\d)", r"#\1", text)

    def chinese(match: re.Match) -> str:
        number = _chinese_number(match.group(1))
        return f"#{number}" if number else match.group(0)

    return re.sub(r"第\s*([一二两三四五六七八九十]{1,2}|\d{1,3})\s*(?:张|個|个|幅|号|號)?(?:照片|图片|图)?", chinese, text)


@dataclass
class ParsedRequest:
    """The request as typed, plus everything code reads from it before (and to check) the model."""

    text: str
    model_text: str  # references normalised to "#N": what the model sees
    paths: list[str]
    references: list[int]  # "#N" result numbers, in order
    dates: DateRange | None
    quoted: list[str]
    but_text: str | None
    more_like: list[int]
    less_like: list[int]
    people: PeopleAsked = field(default_factory=PeopleAsked)  # who it asks for (agent.people_words)
    known_people: tuple[str, ...] = ()  # the library's names
    # places and trips the request names (agent.place_words), and the request without them: the
    # words that are left to search for ("beach photos from Portugal" -> "beach photos")
    places: PlaceRequest = field(default_factory=PlaceRequest)
    plain: str = ""

    @classmethod
    def parse(cls, message: str, context: PlanContext) -> "ParsedRequest":
        text = " ".join(message.split())
        # the people it names are filters read by code; the rest plans as a request without them
        people = read_people(text, context.people)
        if people.person or people.not_person:
            text = people.rest
        paths = [a or b for a, b in _PATH.findall(text)]
        without_paths = _PATH.sub(" ", text)
        model_text = normalize_references(text, len(context.previous_results))
        numbered = normalize_references(without_paths, len(context.previous_results))
        references = [int(n) for n in re.findall(r"#(\d{1,3})\b", numbered)]
        quoted = [a or b for a, b in _QUOTED.findall(without_paths) if (a or b).strip()]
        but = re.search(r"\bbut\s+(?!not\b|only\b|just\b)(.+)$", normalize_references(without_paths), re.IGNORECASE)
        but_text = but.group(1).strip(" .!?") if but and not re.fullmatch(_NUMS, but.group(1).strip(" .!?")) else None
        more = [n for m in _FEEDBACK_MORE.finditer(numbered) for n in _numbers(m.group(1) or m.group(2))]
        less = [n for m in _FEEDBACK_LESS.finditer(numbered) for n in _numbers(m.group(1) or m.group(2))]
        places = read_places(text, context.places)
        return cls(
            text=text,
            model_text=model_text,
            paths=paths,
            references=references,
            dates=resolve_dates(without_paths, context.today),
            quoted=quoted,
            but_text=but_text,
            more_like=more,
            less_like=[n for n in less if n not in more],
            people=people,
            known_people=tuple(context.people),
            places=places,
            plain=without_spans(text, places.spans),
        )

    @property
    def looks_like_refinement(self) -> bool:
        """Reads as narrowing the last search: narrowing words, or nothing but filters ("2019", "晚上的呢")
        or exclusions ("none with dogs please", "not at night")."""
        from photoseek.agent.negation import read_negations, without_negated

        if self.new_place_search:
            return False
        words = content_words(self.plain, self.dates)
        return bool(_REFINEMENT_START.search(self.text)) or not words or \
            not without_negated(words, read_negations(self.text))

    @property
    def new_place_search(self) -> bool:
        """Names a place or trip without a word of narrowing ("photos from Rome" after a search of Japan is
        a new search; "only from Lisbon", "in Porto", "not in Germany" narrow the last one)."""
        return bool(self.places.place or self.places.trip) and not _REFINEMENT_START.search(self.text) \
            and not _REFERS_BACK.search(self.text)


# Phrases that become filters, removed from the plain search words of a fallback search.
_FILTER_PHRASES = [
    re.compile(r"\b(?:at|during the|in the|by)?\s*(?:night|nighttime|night-time|daytime|day time|day|daylight|"
               r"twilight|dusk|dawn)\b", re.IGNORECASE),
    re.compile(r"\b(?:without|with no|no)\s+(?:any\s+)?(?:people|persons|one|humans?|anyone)\b|\b(?:with\s+)?nobody\b",
               re.IGNORECASE),
    re.compile(r"\bwith (?:people|persons|someone|somebody|a person)\b", re.IGNORECASE),
    re.compile(r"\b(?:taken|shot|photographed)?\s*(?:with|on|by|using)\s+(?:my|a|an|the|our)?\s*(?:iphone|android|"
               r"pixel|galaxy|canon|nikon|sony|fuji\w*|olympus|panasonic|leica|gopro|dji)\b[\w-]*", re.IGNORECASE),
    re.compile(r"\bwith (?:visible |any )?(?:text|writing|words)(?: on (?:it|them))?\b|\bcontaining text\b", re.IGNORECASE),
    re.compile(r"夜景|夜晚|夜里|晚上|白天|(?:没|不要|不带|无)有?人|有字|带字|有文字"),
]


def content_words(text: str, dates: DateRange | None) -> str:
    """What is left of a request once filler, dates and filter phrases are gone ("" if only filters)."""
    words = search_words(text, dates)
    words = re.sub(r"只要|只看|仅|只|拍摄|拍的|拍|我们|我|给|看看|看|找|这些|那些|一些|张|的|了|在|要|呢|吗|吧|啊|呀", " ", words)
    kept = [w for w in re.findall(r"[^\W_]+", words) if w.lower() not in _STOP]
    return " ".join(kept)


def search_words(text: str, dates: DateRange | None = None) -> str:
    """The request minus filler ("show me photos of"), dates and years: plain search words."""
    if dates and dates.phrase:
        text = re.sub(re.escape(dates.phrase), " ", text, flags=re.IGNORECASE)
    for phrase in _FILTER_PHRASES:
        text = phrase.sub(" ", text)
    text = re.sub(r"(?<!\d)(?:19|20)\d\d(?!\d)", " ", text)
    text = _FILLER.sub(" ", text)
    text = re.sub(r"的?(?:照片|图片|相片|图像)|给我看|我的|请|找", " ", text)
    return " ".join(text.replace("?", " ").replace("!", " ").split()).strip(" ,.;:")


# -- the planner ------------------------------------------------------------------------------------


class Planner:
    """Plans one turn. `llm=None` plans with rules and plain text search only."""

    def __init__(self, llm: LLM | None, *, retries: int = 1):
        self.llm = llm
        self.retries = retries
        self.system_prompt = render("system")  # shared by every agent call: llama.cpp keeps its KV prefix warm

    def plan(self, message: str, context: PlanContext | None = None) -> Plan:
        started = time.perf_counter()
        context = context or PlanContext()
        if not message or not message.strip():
            raise PlanError("Ask for some photos, e.g. 'beach photos from 2019' or '猫的照片'.")
        request = ParsedRequest.parse(message, context)
        if request.people.unknown:
            from photoseek.store.faces import unknown_person_message

            raise PlanError(" ".join(unknown_person_message(name, context.people) for name in request.people.unknown))
        plan = self._plan_by_rules(request, context)
        if plan is None:
            plan = self._plan_with_model(request, context)
        _correct_negations(plan, request, lambda text: self._english(text, request))
        plan.seconds = time.perf_counter() - started
        return plan

    # -- rules ------------------------------------------------------------------------------------
    def _plan_by_rules(self, request: ParsedRequest, context: PlanContext) -> Plan | None:
        """Relevance feedback on the previous results ("more like 2 and 5, not 4") needs no model, nor
        does a request for people and nothing else ("photos of Anna", "only Anna", "Anna without Ben")."""
        people = request.people.filters()
        if people and not (request.more_like or request.less_like or request.paths or request.references
                           or request.quoted) and not content_words(request.text, request.dates):
            filters = self._code_filters(request)
            previous = context.previous_call
            if previous is not None and previous.tool in SEARCH_TOOLS and previous.tool != "feedback" \
                    and (request.looks_like_refinement or _REFERS_BACK.search(request.text)) \
                    and not _NEW_TOPIC.search(request.text):
                return Plan([self._refine(previous, filters, "")], source="rules")
            return Plan([_validated("filter_photos", filters)], source="rules")
        if not (request.more_like or request.less_like) or request.but_text or request.paths:
            return None
        if not context.previous_results:
            raise PlanError("There are no previous results to give feedback on yet; search for something first.")
        call = self._feedback_call(request.more_like, request.less_like, context)
        return Plan([call], source="rules")

    def _feedback_call(self, more: list[int], less: list[int], context: PlanContext) -> ToolCall:
        previous = context.previous_call
        args: dict[str, Any] = {}
        more_ids = [self._result_id(n, context) for n in more]
        less_ids = [self._result_id(n, context) for n in less]
        if previous is not None:
            args = {k: v for k, v in previous.args.items() if k in FILTER_FIELDS}
            query = previous.args.get("query") or previous.args.get("but") or previous.args.get("text")
            if previous.tool == "composed_search":
                query = previous.args.get("but")
            if query:
                args["query"] = query
            if previous.tool == "feedback":  # feedback on feedback accumulates
                more_ids = _unique(list(previous.args.get("more_like", [])) + more_ids)
                less_ids = _unique(list(previous.args.get("less_like", [])) + less_ids)
            elif previous.tool in ("similar_to_photo", "composed_search") and isinstance(previous.args.get("photo"), int):
                more_ids = _unique([previous.args["photo"]] + more_ids)
        args["more_like"] = [i for i in more_ids if i not in less_ids]
        args["less_like"] = less_ids
        return _validated("feedback", args)

    @staticmethod
    def _result_id(number: int, context: PlanContext) -> int:
        count = len(context.previous_results)
        if count == 0:
            raise PlanError(f"There are no previous results, so there is no #{number}; search for something first.")
        if not 1 <= number <= count:
            raise PlanError(f"There is no result #{number}: the last search showed #1 to #{count}.")
        return context.previous_results[number - 1]

    # -- model ------------------------------------------------------------------------------------
    def _plan_with_model(self, request: ParsedRequest, context: PlanContext) -> Plan:
        if self.llm is None:
            return self._fallback(request, context, "no language model is configured")
        messages = [
            Message("system", self.system_prompt),
            Message("user", render("planner_user", today=context.today.isoformat(), people=", ".join(context.people),
                                   previous=_describe_previous(context), request=request.model_text)),
        ]
        output = None
        problem = "no answer"
        for _attempt in range(1 + self.retries):
            try:
                output = self.llm.chat(messages, schema=STEP_SCHEMA, max_tokens=PLAN_MAX_TOKENS)
            except PlanError:
                raise
            except PhotoseekError as exc:  # the model is unavailable: say so, search anyway
                return self._fallback(request, context, f"the language model is unavailable ({exc})")
            try:
                step = json.loads(output)
                if not isinstance(step, dict):
                    raise _PlanProblem("the answer must be a JSON object with a tool")
                call = self._finalize(step, request, context)
                return Plan([call], source="model", model_output=output)
            except (ValueError, _PlanProblem) as exc:
                problem = str(exc)
                messages += [Message("assistant", output), Message("user", render("planner_retry", problem=problem))]
        return self._fallback(request, context, f"the model's plan could not run ({problem})", output)

    def _fallback(self, request: ParsedRequest, context: PlanContext, reason: str, output: str | None = None) -> Plan:
        args: dict[str, Any] = self._code_filters(request)
        words = search_words(request.plain, request.dates)
        if not content_words(request.plain, request.dates):
            words = ""  # "only", "some", "taken": nothing to look for (content_words keeps what is)
        previous = context.previous_call
        if previous is not None and previous.tool in SEARCH_TOOLS and args and not request.paths \
                and request.looks_like_refinement and not words:
            # "only from 2019", "without people": nothing to search for but filters code reads, after a
            # search: they narrow it, as the model's "refine" would ("only" is no word to look for)
            call = self._refine(previous, args, "")
            note = (f"I could not plan that request ({reason}), so I narrowed the last search to photos "
                    f"{describe_filters(args)}.")
            return Plan([call], source="fallback", notes=[note], model_output=output)
        if request.paths:
            call = _validated("similar_to_photo", {**args, "photo": request.paths[0]})
            note = f"I could not plan that request ({reason}), so I searched for photos like {request.paths[0]}."
        elif words:
            call = _validated("text_search", {**args, "query": words})
            filters = describe_filters(args)  # the filters the rules read still apply: say so
            note = (f"I could not plan that request ({reason}), so I ran a plain text search for \"{words}\""
                    + (f" {filters}." if filters else "."))
            if needs_translation(words):
                note += " It was not translated to English, so the results may miss what you meant."
        elif args:
            call = _validated("filter_photos", args)
            note = f"I could not plan that request ({reason}), so I listed photos matching its filters."
        else:
            raise PlanError(f"I could not understand that request ({reason}). Try describing the photos you want.")
        return Plan([call], source="fallback", notes=[note], model_output=output)

    # -- checking and completing the model's step ------------------------------------------------
    def _code_filters(self, request: ParsedRequest) -> dict[str, Any]:
        """Filters code reads reliably from the request's words."""
        text = request.text
        args: dict[str, Any] = dict(request.dates.as_args()) if request.dates else {}
        if _NIGHT.search(text):
            args["time_of_day"] = "night"
        elif _TWILIGHT.search(text):
            args["time_of_day"] = "twilight"
        elif _DAY.search(text):
            args["time_of_day"] = "day"
        lowered = text.lower()
        if any(re.search(p, lowered) for p in NO_PEOPLE_PATTERNS) or _NO_PEOPLE_ZH.search(text):
            args["people"] = False
        elif _WITH_PEOPLE.search(text):
            args["people"] = True
        if _HAS_TEXT.search(text):
            args["has_text"] = True
        camera = _CAMERA.search(_PATH.sub(" ", text))
        if camera:
            args["camera"] = camera.group(1)
        args.update(request.people.filters())
        args.update(request.places.as_args())
        return args

    def _checked_filters(self, step: dict[str, Any], request: ParsedRequest) -> dict[str, Any]:
        """The model's filters, each kept only when the request's words support it; code's win."""
        text = request.text
        lowered = text.lower()
        english = not _CJK.search(text)
        args: dict[str, Any] = {}
        # a trip's "last" / "first day" is no date ("my last trip" is not today): dates come from code then
        trip_words = bool(request.places.trip) and request.dates is None
        if (step.get("date_from") or step.get("date_to")) and has_temporal_cue(text) and not trip_words:
            args.update({k: step[k] for k in ("date_from", "date_to") if step.get(k)})
        if step.get("time_of_day") and _TIME_CUE.search(text):
            args["time_of_day"] = step["time_of_day"]
        if step.get("people") is True and (any(re.search(rf"\b{w}\b", lowered) for w in PERSON_WORDS) or "人" in text):
            args["people"] = True
        if step.get("people") is False and (
            any(re.search(p, lowered) for p in NO_PEOPLE_PATTERNS) or _NO_PEOPLE_ZH.search(text)
        ):
            args["people"] = False
        if step.get("has_text") and _TEXT_CUE.search(text):
            args["has_text"] = True
        camera = str(step.get("camera") or "")
        if camera and camera.lower() in lowered and (_CAMERA.search(text) or _CAMERA_BRAND.search(camera)):
            args["camera"] = camera
        # people: the model may propose only the library's names, and only where code could not read
        # them (a name written in another script: "安娜" for Anna); code's reading wins
        known = {n.casefold(): n for n in request.known_people}
        if _CJK.search(text) and not (request.people.person or request.people.not_person):
            for key in ("person", "not_person"):
                proposed = [known[str(n).casefold()] for n in step.get(key) or [] if str(n).casefold() in known]
                if proposed:
                    args[key] = proposed
            if args.get("person") and step.get("person_only"):
                args["person_only"] = True
        places = {fold(n) for m in request.places.mentions for n in (m.text, m.name)}
        for key in ("tags", "not_tags"):
            # a place is a place filter, never a tag ("not in Germany" is no photo tagged "germany")
            tags = [t for t in step.get(key) or [] if t and not _CJK.search(t) and fold(t) not in places]
            if english:  # an English request must name the tag (stem match); a translated one cannot
                tags = [t for t in tags if _variants(t) & _stems(text)]
            if tags:
                args[key] = tags
        # places: the model's "place" is never taken on its word (it names places the request does not,
        # and misses the library's small towns); code reads them from the request (agent.place_words)
        args.update(self._code_filters(request))
        return args

    def _finalize(self, step: dict[str, Any], request: ParsedRequest, context: PlanContext) -> ToolCall:
        tool = step.get("tool")
        if tool not in MODEL_TOOLS:
            raise _PlanProblem(f"unknown tool {tool!r}; use one of {', '.join(MODEL_TOOLS)}")
        previous = context.previous_call
        filters = self._checked_filters(step, request)
        query = self._english(str(step.get("query") or "").strip(), request)
        query = self._without_places(query, request, context)
        photo = step.get("photo")

        # A request in refinement form ("only from 2019", "without people") narrows the last search,
        # whatever tool the model picked for it.
        if previous is not None and tool in ("text_search", "filter_photos") and request.looks_like_refinement \
                and not request.paths:
            tool = "refine"
        # "refine" needs a request that reads as one: narrowing words ("only", "without", "不要"), a
        # pointer back ("those"), or nothing but filters ("2019"). A new subject is a new search.
        if tool == "refine" and (_NEW_TOPIC.search(request.text) or not (
            request.looks_like_refinement or _REFERS_BACK.search(request.text)
            or (not content_words(request.plain, request.dates) and not request.new_place_search)
        )):
            tool = "text_search" if query or content_words(request.plain, request.dates) else "filter_photos"
        if tool == "refine":
            if previous is None:
                tool = "text_search" if query or not filters else "filter_photos"
                query = query or search_words(request.plain, request.dates)
            else:
                if not query and request.but_text and previous.tool in ("similar_to_photo", "composed_search"):
                    query = self._english(request.but_text, request)  # "but at night" after "like #3"
                return self._refine(previous, filters, query)

        if tool == "feedback":
            more = request.more_like or [int(n) for n in step.get("more_like") or []]
            less = request.less_like or [int(n) for n in step.get("less_like") or []]
            if not more and not less:
                raise _PlanProblem("feedback needs result numbers in more_like or less_like")
            if not context.previous_results:
                raise _PlanProblem("there are no previous results; plan a search instead")
            return self._feedback_call(more, less, context)

        # A photo search needs a photo the request points at (a path, "#3", "this", "but ..." after a
        # photo search); otherwise the model is continuing an old search the user has left.
        if tool in ("similar_to_photo", "composed_search") and not (
            request.paths or request.references or request.but_text or request.looks_like_refinement
            or _REFERS_BACK.search(request.text)
        ):
            tool = "text_search"

        # Filters alone cannot carry a subject the request names ("city streets at night"): search for it.
        if tool == "filter_photos":
            camera_words = set(str(filters.get("camera", "")).lower().split())
            leftover = " ".join(w for w in content_words(request.plain, request.dates).split()
                                if w.lower() not in camera_words)
            if leftover:
                tool, query = "text_search", query or self._english(leftover, request)
        if tool == "text_in_photo" and not request.quoted and \
                str(step.get("text") or "").strip().lower() in _GENERIC_TEXT:
            tool = "filter_photos"
            filters["has_text"] = True
        if tool == "similar_to_photo" and request.but_text:
            tool = "composed_search"
        # "but" must come from the request (small models copy the change from the prompt's examples)
        if tool == "composed_search" and not request.but_text and step.get("but") and _CJK.search(request.text) is None \
                and not _variants_overlap(str(step["but"]), request.text):
            tool = "similar_to_photo"
        # "similar to #3" / "和第三张相似": a photo the request points at, and a word for likeness
        if tool in ("text_search", "filter_photos") and (request.paths or request.references) \
                and _SIMILAR_CUE.search(request.text):
            tool = "composed_search" if request.but_text else "similar_to_photo"
        # Quoted words said to be written somewhere are a text-in-photo search.
        if request.quoted and _TEXT_CUE.search(_QUOTED.sub(" ", request.text)) and not request.paths \
                and tool in ("text_search", "filter_photos"):
            tool = "text_in_photo"

        # Photo paths typed in the request are used as typed (the model may garble them).
        if request.paths:
            photo = request.paths[0]
            if tool not in ("similar_to_photo", "composed_search", "show_photo", "caption_photo"):
                tool = "composed_search" if (step.get("but") or request.but_text) else "similar_to_photo"
        if tool in ("similar_to_photo", "composed_search", "show_photo", "caption_photo"):
            photo = self._photo(photo, request, context)

        args: dict[str, Any] = dict(filters)
        if tool == "text_search":
            query = self._english(query, request) if query else \
                search_words(self._english(request.plain, request), request.dates)
            query = self._without_places(query, request, context)
            if not query or _CJK.search(query):
                if filters:
                    tool = "filter_photos"
                else:
                    raise _PlanProblem("text_search needs English search words in query")
            else:
                args["query"] = _strip_dates(query, request.dates)
                if args.get("time_of_day") and _ONLY_TIME_WORDS.fullmatch(args["query"]):
                    args["query"] = ""  # "night scene" (东京的夜景) with a night filter: nothing else to look for
                # a fresh search ranks by its words; the same words as required tags would only drop
                # relevant photos the tagger missed
                if args.get("tags"):
                    args["tags"] = [t for t in args["tags"] if not _variants(t) & _stems(args["query"])]
                    if not args["tags"]:
                        del args["tags"]
                if not args["query"]:
                    del args["query"]
                    tool = "filter_photos"
        elif tool == "text_in_photo":
            text = request.quoted[0] if request.quoted else str(step.get("text") or step.get("query") or "").strip()
            if not text:
                raise _PlanProblem("text_in_photo needs the words to find in text")
            args["text"] = text
        elif tool == "composed_search":
            but = self._english(str(step.get("but") or request.but_text or step.get("query") or "").strip(), request)
            if not but:
                raise _PlanProblem("composed_search needs 'but': what should differ")
            args.update(photo=photo, but=but)
        elif tool == "similar_to_photo":
            args["photo"] = photo
        elif tool in ("show_photo", "caption_photo"):
            args = {"photo": photo}
        if tool == "filter_photos" and not any(k in args for k in FILTER_FIELDS):
            raise _PlanProblem("filter_photos needs at least one filter; use text_search with a query")
        return _validated(tool, args, problem=_PlanProblem)

    @staticmethod
    def _without_places(query: str, request: ParsedRequest, context: PlanContext) -> str:
        """The search words without the places the request named (they are filters); the model often
        keeps them ("beach Portugal") and as words they would be searched for by likeness."""
        return without_place_names(query, request.places, context.places)

    def _refine(self, previous: ToolCall, filters: dict[str, Any], query: str) -> ToolCall:
        """The previous call with the new filters added (tags accumulate; other filters replace)."""
        args = dict(previous.args)
        opposite = {"tags": "not_tags", "not_tags": "tags", "time_of_day": "not_time_of_day",
                    "not_time_of_day": "time_of_day", "person": "not_person", "not_person": "person",
                    "place": "not_place", "not_place": "place"}
        for key, value in filters.items():
            if key in ("tags", "not_tags", "not_dates", "person", "not_person"):
                args[key] = _unique(list(args.get(key, [])) + list(value))
            else:
                args[key] = value
            # the newer word wins: "no dogs" after "only dogs", "only at night" after "not at night"
            other = opposite.get(key)
            if other in args:
                if isinstance(args[other], list):
                    args[other] = [v for v in args[other] if v not in value] or None
                else:
                    args[other] = None
                if not args[other]:
                    del args[other]
        tool = previous.tool
        if query:
            old = str(args.get("query") or "")
            new_words = [w for w in query.split() if not _variants(w) & _stems(old)]
            if tool in ("text_search", "feedback"):
                args["query"] = " ".join([old] + new_words).strip() if old else query
            elif tool == "filter_photos":
                tool, args["query"] = "text_search", query
            elif tool == "similar_to_photo" and new_words:
                tool, args["but"] = "composed_search", " ".join(new_words)
            elif tool == "composed_search" and new_words:
                args["but"] = " ".join([args["but"]] + new_words)
        return _validated(tool, args, problem=_PlanProblem)

    def _photo(self, photo: Any, request: ParsedRequest, context: PlanContext) -> int | str:
        """The photo a request refers to: a path it names, a result number it names, or the previous
        search's reference photo ("but at night" after "like #3"). The model's own value is used only
        when it is a path found in the request (a small model invents references)."""
        if request.paths:
            return request.paths[0]
        if request.references:
            return self._result_id(request.references[0], context)
        previous = context.previous_call
        if previous is not None and previous.tool in ("similar_to_photo", "composed_search"):
            return previous.args["photo"]
        text = str(photo or "").strip()
        if text and not text.lstrip("#").strip().isdigit() and text in request.text:
            return text
        raise _PlanProblem("this tool needs 'photo': a photo path or a result number like #3 from the request")

    def _english(self, text: str, request: ParsedRequest) -> str:
        """Text in English: the model usually translates; if text in another language remains (any
        script: "Hund am Strand" too, see llm.translate.detect_language), ask for a translation."""
        if not text:
            return text
        # "Hund im Schnee" -> "hund in schnee": the model may copy the request's words instead of
        # translating them, and the copy no longer reads as German; a non-English request whose words
        # reappear in the query is translated again
        copied = detect_language(request.text) is not None and _variants_overlap(text, request.text)
        if not (copied or needs_translation(text)):
            return text
        english = to_english(self.llm, text, self.system_prompt, force=True)
        return search_words(english) if english else text


# -- helpers -----------------------------------------------------------------------------------------


def _correct_negations(plan: Plan, request: ParsedRequest, english=lambda text: text) -> None:
    """The deterministic negation pass (photoseek.agent.negation) over the planned call: "not at
    night" excludes night whatever the model wrote, "without any text" is has_text false, and what no
    filter can carry is said in the plan's notes, never dropped."""
    from photoseek.agent.negation import apply_negations, read_negations, without_negated

    if not plan.calls:
        return
    negations = read_negations(request.text)
    if not negations:
        return
    call = plan.calls[0]
    def words() -> str:  # the request's subject in English ("没有文字的海报" -> "poster"), only if needed
        found = without_negated(content_words(request.plain or request.text, request.dates), negations)
        english_words = english(found) if found and needs_translation(found) else found
        return "" if needs_translation(english_words) else english_words

    tool, args, notes = apply_negations(call.tool, call.args, negations, words)
    try:
        plan.calls[0] = _validated(tool, args)
    except PlanError as exc:  # keep the plan that runs, and say what could not be applied
        notes = notes + [f"I could not apply the exclusion in your request ({exc})."]
    plan.notes += [n for n in notes if n not in plan.notes]


def _validated(tool: str, args: dict[str, Any], problem: type[Exception] = PlanError) -> ToolCall:
    """The call with its arguments checked by the tool's own schema (defaults left out)."""
    try:
        parsed = TOOLS[tool].parse_args(args)
    except ToolArgumentsError as exc:
        raise problem(str(exc)) from None
    return ToolCall(tool, parsed.model_dump(exclude_defaults=True))


def _describe_previous(context: PlanContext) -> str:
    call = context.previous_call
    if call is None or call.tool not in SEARCH_TOOLS:
        return "none"
    shown = {k: v for k, v in call.args.items() if k in ("query", "but", "text") or k in FILTER_FIELDS}
    count = len(context.previous_results)
    results = f"{count} results #1 to #{count}" if count else "no results"
    return f"{call.tool} {json.dumps(shown, ensure_ascii=False)}, {results}"


def _strip_dates(query: str, dates: DateRange | None) -> str:
    """The query without the date words (they became filters): "dog 2019" -> "dog"."""
    if dates and dates.phrase:
        query = re.sub(re.escape(dates.phrase), " ", query, flags=re.IGNORECASE)
    query = re.sub(r"(?:\b(?:from|in|of|during|since|taken in)\s+)?(?<!\d)(?:19|20)\d\d(?!\d)", " ", query)
    query = " ".join(query.split())
    return re.sub(r"\s+\b(?:from|in|of|during|since|taken)$", "", query, flags=re.IGNORECASE)


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _variants(word: str) -> set[str]:
    """A word and its singular guesses ("horses" -> horses, horse, hors), enough to match tags to words."""
    word = word.lower().strip()
    out = {word}
    if len(word) > 3 and not word.endswith("ss"):
        if word.endswith("s"):
            out.add(word[:-1])
        if word.endswith("es"):
            out.add(word[:-2])
        if word.endswith("ies"):
            out.add(word[:-3] + "y")
    return out


def _variants_overlap(words: str, text: str) -> bool:
    """Whether any content word of `words` (or its singular) is in `text`."""
    content = [w for w in re.findall(r"[^\W_]+", words.lower()) if w not in _STOP and len(w) > 2]
    return bool(set().union(*(_variants(w) for w in content)) & _stems(text)) if content else False


def _stems(text: str) -> set[str]:
    return set().union(*(_variants(w) for w in re.findall(r"[^\W_]+", text.lower()))) if text else set()
