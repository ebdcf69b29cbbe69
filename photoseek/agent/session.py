"""A multi-turn conversation over a Library: plan -> run read-only tools -> explain -> answer.

Memory is a list of typed steps (smolagents style): UserStep, PlanStep, ToolStep, AnswerStep. The
planner sees only what it needs from it (today's date, the last search call and its result ids), so
"only from 2019", "without people", "#3" and "more like 2 and 5, not 4" refer to the last search.
Photo content (captions, OCR text, file names) never reaches the planner, and the answer text is
written by code from the plan and the results, so text inside a photo cannot steer what runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Iterator, Union

from photoseek.agent.explain import Explainer, ReasonGroup, group_reasons, resemblance_note
from photoseek.agent.look import Looker, explain_or_look
from photoseek.llm.base import LLM
from photoseek.agent.planner import PLANNER_TOOLS, Plan, PlanContext, Planner, ToolCall
from photoseek.agent.teaching import Teaching, read_teaching
from photoseek.errors import PhotoseekError
from photoseek.results import EXPLAIN_MODES, SearchResult, describe_filters, levels_summary, search_subject
from photoseek.search.match import matches_first, presented
from photoseek.tools.base import FILTER_FIELDS, SEARCH_TOOLS, TOOLS, ToolResult

if TYPE_CHECKING:
    from photoseek.library import Library

_DEFAULT = object()
# A turn searches this many photos deep (unless the request says how many) so that every strong match
# is found and counted, not only those in the first k. The answer keeps every photo found, matches
# first; a UI shows the first page (k: the matches' count and the closest after them) and the rest on
# demand ("N more").
MATCH_POOL = 50
# ...and a search by filters alone ("photos from Germany", "my last trip") this deep: every photo that
# passes is a match, and the answer counts and shows them all (up to this many), not only the first 50.
FILTER_POOL = 500
# The longest first page, even when a request (or a follow-up that carries the last search's depth)
# asks for more photos: the rest are a "/more" away rather than a screen of rows.
MAX_PAGE = 20
# How a turn explains its results (EXPLAIN_MODES). "evidence": the sentences composed from each
# photo's evidence (which words met which tag, text, caption, time, date; what was not found),
# instant and grounded by construction. "model": the LLM rewords the top results' evidence (checked
# against it; ~40 s for five on a 2-core CPU, measured with bench/agent.py), streamed after the
# results are shown.


# -- answer and memory ---------------------------------------------------------------------------


@dataclass
class Answer:
    message: str
    text: str
    plan: Plan | None = None
    results: list[SearchResult] = field(default_factory=list)  # searches: every photo found, matches first
    photo: dict[str, Any] | None = None  # show_photo
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    reworded: int | None = None  # with explain="model": how many reasons the model's wording replaced
    # the photos of the previous answer as this one names them ("#1 (#2 before)"), for chat's /why
    reference_names: dict[int, str] = field(default_factory=dict)
    page: int = 10  # how many results the first page shows (the rest on demand: "N more")
    # the results as the answer shows them: the matches, then those only close, each group's shared
    # reasons said once (agent.explain.group_reasons)
    groups: list[ReasonGroup] = field(default_factory=list)

    @property
    def answer(self) -> str:
        """The answer text (the name `to_dict` and `photoseek ask` use)."""
        return self.text

    @property
    def matches(self) -> list[SearchResult]:
        """The results the answer presents as matches (level "strong"); the rest are the closest."""
        return [r for r in self.results if r.match == "strong"]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "plan": [c.to_dict() for c in self.plan.calls] if self.plan else [],
            "results": [r.to_dict() for r in self.results],
            "answer": self.text,
        }
        if any(r.match is not None for r in self.results):
            out["matches"] = len(self.matches)
            out["page"] = self.page
        if self.groups:
            out["groups"] = [g.to_dict() for g in self.groups]
        if self.photo is not None:
            out["photo"] = self.photo
        if self.error is not None:
            out["error"] = self.error
        if self.reworded is not None:
            out["reworded"] = self.reworded
        return out


@dataclass
class UserStep:
    message: str
    at: float = field(default_factory=time.time)


@dataclass
class PlanStep:
    plan: Plan


@dataclass
class ToolStep:
    call: ToolCall
    result: ToolResult | None  # for searches: the results as shown (matches first)
    error: str | None = None
    seconds: float = 0.0
    ranked: list[SearchResult] = field(default_factory=list)  # searches: all results found, best score first


@dataclass
class AnswerStep:
    answer: Answer


Step = Union[UserStep, PlanStep, ToolStep, AnswerStep]


# -- events (for streaming UIs) ---------------------------------------------------------------------


@dataclass
class PlanReady:
    plan: Plan


@dataclass
class ResultsReady:
    """Results with composed explanations (and as grouped, each group's shared reasons said once);
    model explanations may follow."""

    results: list[SearchResult]
    groups: list[ReasonGroup] = field(default_factory=list)


@dataclass
class ExplanationReady:
    index: int
    text: str


@dataclass
class AnswerReady:
    answer: Answer


Event = Union[PlanReady, ResultsReady, ExplanationReady, AnswerReady]


# -- the session ----------------------------------------------------------------------------------


class Session:
    def __init__(
        self,
        library: "Library",
        llm: LLM | None | Any = _DEFAULT,
        *,
        k: int = 10,
        explain_top: int = 5,
        today: date | None = None,
    ):
        self.library = library
        self.llm = library.llm if llm is _DEFAULT else llm
        self.k = k
        self.today = today
        self.planner = Planner(self.llm)
        self.explainer = Explainer(self.llm, top=explain_top)
        # a vision LLM looks at the top results' thumbnails (agent/look.py)
        self.looker = Looker(self.llm, getattr(library, "thumbnail_path", lambda photo_id: None))
        self.memory: list[Step] = []
        # the photo "this one" means in a teaching turn: the one the user last looked at (the REPL's
        # /show N, a shown photo) or the only result of the last answer
        self.focus: int | None = None

    def reset(self) -> None:
        self.memory.clear()

    def warm_up(self) -> None:
        """Load the model and compute the shared system prompt now (the REPL does it while you type)."""
        if self.llm is not None:
            from photoseek.llm.base import Message

            self.llm.warm_up([Message("system", self.planner.system_prompt)])

    # -- what the planner sees --------------------------------------------------------------------
    def context(self) -> PlanContext:
        today = self.today or date.today()
        names = getattr(self.library, "person_names", None)
        people = tuple(names()) if callable(names) else ()  # the planner reads these names in requests
        places = self._place_names()
        for step in reversed(self.memory):
            if isinstance(step, ToolStep) and step.result is not None and step.call.tool in SEARCH_TOOLS:
                return PlanContext(today, step.call, [r.id for r in step.result.results], people, places=places)
        return PlanContext(today, people=people, places=places)

    def _place_names(self):
        """The place names the planner reads requests with (None when the library cannot say: no catalog)."""
        names = getattr(self.library, "place_names", None)
        if names is None:
            return None
        try:
            return names()
        except PhotoseekError:
            return None

    @property
    def last_ranking(self) -> list[SearchResult]:
        """All results of the last search, best score first (what is shown is `last_answer.results`)."""
        for step in reversed(self.memory):
            if isinstance(step, ToolStep) and step.result is not None and step.call.tool in SEARCH_TOOLS:
                return step.ranked
        return []

    @property
    def last_answer(self) -> Answer | None:
        for step in reversed(self.memory):
            if isinstance(step, AnswerStep):
                return step.answer
        return None

    # -- a turn -----------------------------------------------------------------------------------
    def ask(self, message: str, *, explain: str = "evidence") -> Answer:
        """One turn; `explain` is one of EXPLAIN_MODES (PhotoseekError otherwise)."""
        answer = None
        for event in self.ask_stream(message, explain=explain):
            if isinstance(event, AnswerReady):
                answer = event.answer
        assert answer is not None
        return answer

    def ask_stream(self, message: str, *, explain: str = "evidence") -> Iterator[Event]:
        """The turn as events: PlanReady, ResultsReady (composed explanations), ExplanationReady
        (each model sentence, only with explain="model"), AnswerReady."""
        if explain not in EXPLAIN_MODES:
            raise PhotoseekError(f"Unknown explain mode {explain!r}; use one of: {', '.join(EXPLAIN_MODES)}.")
        started = time.perf_counter()
        timings: dict[str, float] = {}
        teaching = read_teaching(message)  # the user's own words, read by rules: the model never teaches
        self.memory.append(UserStep(message))
        context = self.context()
        if teaching is not None:
            yield AnswerReady(self._finish(self._teach(message, teaching, context), started, timings))
            return
        try:
            plan = self.planner.plan(message, context)
        except PhotoseekError as exc:
            yield AnswerReady(self._finish(Answer(message, str(exc), error=str(exc)), started, timings))
            return
        timings["plan"] = plan.seconds
        self.memory.append(PlanStep(plan))
        yield PlanReady(plan)

        outcome: ToolResult | None = None
        for call in plan.calls:
            if call.tool not in PLANNER_TOOLS:  # the planner only emits these; refuse anything else
                error = f"Refused to run {call.tool!r}: not one of the read-only search tools."
                yield AnswerReady(self._finish(Answer(message, error, plan=plan, error=error), started, timings))
                return
            tool_started = time.perf_counter()
            shown, searched = self.k, None
            if call.tool in SEARCH_TOOLS:
                asked_k = call.args.get("k")
                shown = min(asked_k or self.k, max(self.k, MAX_PAGE))
                searched = asked_k or max(self.k, FILTER_POOL if call.tool == "filter_photos" else MATCH_POOL)
                call = ToolCall(call.tool, {**call.args, "k": searched})
            try:
                outcome = TOOLS[call.tool].run(self.library, call.args)
            except PhotoseekError as exc:
                self.memory.append(ToolStep(call, None, str(exc), time.perf_counter() - tool_started))
                answer = Answer(message, str(exc), plan=plan, error=str(exc))
                yield AnswerReady(self._finish(answer, started, timings))
                return
            ranked = outcome.results
            if call.tool in SEARCH_TOOLS:  # "#3" in the next turn means the third photo shown
                outcome = replace(outcome, results=matches_first(outcome.results))
            self.memory.append(ToolStep(call, outcome, None, time.perf_counter() - tool_started, ranked))
            timings["tools"] = timings.get("tools", 0.0) + time.perf_counter() - tool_started

        results = outcome.results if outcome is not None else []
        if outcome is not None and outcome.photo is not None:
            self.focus = outcome.photo.get("id")  # "this one is …" after "show me photo 12"
        elif results:
            self.focus = None
        # the reader knows the photos of the previous answer as "#2", not by catalog id
        names = reference_names(context.previous_results, [r.id for r in results], self.library.catalog.photo_name)
        groups: list[ReasonGroup] = []
        if results:
            explain_started = time.perf_counter()
            query = plan.search_text
            self.explainer.compose_all(results, query, names)
            composed_reasons = [r.explanation for r in results]
            groups = group_reasons(results, query, names)
            timings["results"] = time.perf_counter() - started  # what a UI can show before the model explains
            yield ResultsReady(results, groups)
            if explain == "model":
                for index, text in explain_or_look(self.explainer, self.looker, results, query, message):
                    yield ExplanationReady(index, text)
            timings["explain"] = time.perf_counter() - explain_started
        answer = Answer(
            message,
            answer_text(plan, outcome, searched, names, page=shown, filter_words=self._filter_words(outcome)),
            plan=plan,
            results=results,
            photo=outcome.photo if outcome is not None else None,
            reworded=sum(r.explanation != composed for r, composed in zip(results, composed_reasons))
            if explain == "model" and results else None,
            reference_names=names if results else {},
            page=shown,
            groups=groups,
        )
        yield AnswerReady(self._finish(answer, started, timings))

    def _teach(self, message: str, teaching: Teaching, context: PlanContext) -> Answer:
        """Give the word to the photos the user named (or refuse it for them) and say what happened.
        The previous answer's photos stay the answer's, so "#4 is one too" and /why keep working."""
        previous = self.last_answer
        shown = previous.results if previous is not None else []
        numbers = {pid: n for n, pid in enumerate(context.previous_results, 1)}
        if teaching.this:
            photo = self.focus if self.focus is not None else (shown[0].id if len(shown) == 1 else None)
            if photo is None:
                text = (f'Which photo is "{teaching.word}"? Say it by its number in the last answer, e.g. '
                        f'"#3 is {teaching.word}", or open one with /show N first.')
                return Answer(message, text, results=shown, error=text)
            photos = [photo]
        else:
            missing = [n for n in teaching.numbers if not 1 <= n <= len(context.previous_results)]
            if missing:
                text = (f"There is no #{missing[0]} in the last answer"
                        + (f" (it showed #1 to #{len(context.previous_results)})." if context.previous_results
                           else "; search first, then say which photos are the word."))
                return Answer(message, text, results=shown, error=text)
            photos = [context.previous_results[n - 1] for n in teaching.numbers]
        name = ", ".join(f"#{numbers[p]}" if p in numbers else self.library.catalog.photo_name(p) for p in photos)
        try:
            if teaching.rejected:
                status = self.library.teach(teaching.word, not_photos=photos)
                done = f'Noted: {name} {"is" if len(photos) == 1 else "are"} not "{status.word}".'
                undo = f'(Undo: photoseek tag {photos[0]} +"{status.word}" to give it back, or the ✓ on the page.)'
            else:
                status = self.library.teach(teaching.word, photos)
                done = f'Taught "{status.word}" with {name}.'
                undo = f'(Undo: "{name.split(",")[0]} is not {status.word}", or photoseek forget "{status.word}".)'
        except PhotoseekError as exc:
            return Answer(message, str(exc), results=shown, error=str(exc))
        return Answer(message, f"{done} {status.sentence()} {undo}", results=shown,
                      reference_names=previous.reference_names if previous is not None else {})

    def _filter_words(self, outcome: ToolResult | None) -> tuple[str | None, str | None]:
        """(why no photo answers the places, trip or dates asked, what the place filter could not check),
        from the library (Library.why_empty / place_note); (None, None) when none of them was asked."""
        if outcome is None or outcome.tool not in SEARCH_TOOLS:
            return None, None
        from photoseek.results import Filters

        # the search tools' arguments hold the filters under their Filters names (tools.base.FilterArgs)
        filters = Filters(**{name: outcome.args[name] for name in FILTER_FIELDS if name in outcome.args})
        if not (filters.place or filters.not_place or filters.trip or filters.date_from or filters.date_to):
            return None, None
        why, note = getattr(self.library, "why_empty", None), getattr(self.library, "place_note", None)
        try:
            return (why(filters) if why is not None and not outcome.results else None,
                    note(filters) if note is not None else None)
        except PhotoseekError:
            return None, None

    def _finish(self, answer: Answer, started: float, timings: dict[str, float]) -> Answer:
        timings["total"] = time.perf_counter() - started
        answer.timings = {k: round(v, 3) for k, v in timings.items()}
        self.memory.append(AnswerStep(answer))
        return answer


# -- answer text (code, not the model: grounded in the plan and results by construction) ----------------


def _photo_name(photo: Any) -> str:
    return f"photo {photo}" if isinstance(photo, int) else str(photo)


def reference_names(shown_before: list[int] | None, shown_now: list[int],
                    file_name: Callable[[int], str] | None = None) -> dict[int, str]:
    """How an answer names the photos of the previous one (those the user points at as "#2"): by
    their number in this answer when it shows them too ('#1 (#2 before)' when that changed), else
    by file, 'dog.jpg (#2 of the last answer)' (`file_name`: a photo id's file name; without it
    '#2 of the last answer') — so a row never seems to point at itself."""
    now = {pid: n for n, pid in enumerate(shown_now, 1)}
    names = {}
    for n, pid in enumerate(shown_before or [], 1):
        if pid not in now:
            names[pid] = (f"{file_name(pid)} (#{n} of the last answer)" if file_name is not None
                          else f"#{n} of the last answer")
        else:
            names[pid] = f"#{now[pid]}" + (f" (#{n} before)" if now[pid] != n else "")
    return names


def answer_text(plan: Plan, outcome: ToolResult | None, searched: int | None = None,
                names: dict[int, str] | None = None, page: int | None = None, *,
                filter_words: tuple[str | None, str | None] = (None, None)) -> str:
    """The answer in words; `searched`: how many results the search was asked for (so that a search
    whose every result matches says "at least"); `names`: how the reader knows the previous
    answer's photos (`reference_names`), so that feedback names them as the user did ("#2", or
    "dog.jpg (#5 of the last answer)"), not by catalog id; `page`: how many results the first page
    shows (the matches are counted whole, what follows them only on that page); `filter_words`: (why
    no photo answers the place, trip or dates asked, what a place filter could not check), from
    Session._filter_words."""
    empty_reason, place_note = filter_words
    numbers = names or {}

    def named(ids: list[int]) -> str:
        return ", ".join(numbers.get(i, f"photo {i}") for i in ids) or "-"

    notes = " ".join(plan.notes)
    if outcome is None:
        return notes or "Nothing to do."
    args = outcome.args
    if outcome.tool == "show_photo" and outcome.photo is not None:
        p = outcome.photo
        tags = ", ".join(t["tag"] for t in p.get("tags", [])[:8]) or "none"
        bits = [f"Photo {p['id']}: {p['path']}"]
        if p.get("taken_at"):
            bits.append(f"taken {p['taken_at']}")
        if p.get("camera_model"):
            bits.append(f"with {p.get('camera_make') or ''} {p['camera_model']}".replace("  ", " "))
        place = p.get("place")
        bits.append(f"{'' if place['label'].startswith('near ') else 'in '}{place['label']} ({place['how']})"
                    if place else "place unknown")
        text = ", ".join(bits) + f". Tags: {tags}."
        if p.get("caption"):
            text += f" Caption: {p['caption']}"
        return (text + " " + notes).strip()
    if outcome.tool == "caption_photo":
        return (f"{_photo_name(args.get('photo')).capitalize()}: {outcome.text}" + " " + notes).strip()

    filters = describe_filters(args)
    reranked = ""
    if outcome.tool == "feedback":
        reranked = ("Re-ranked toward " + named(args.get("more_like", []))
                    + (" and away from " + named(args["less_like"]) if args.get("less_like") else "") + ".")
        subject = search_subject("text_search" if args.get("query") else "filter_photos", args)
    else:
        subject = search_subject(outcome.tool, args)
    count = len(outcome.results)
    if count and any(r.match is not None for r in outcome.results):
        text = levels_summary(subject, presented(outcome.results, page) if page else outcome.results, searched)
        text = " ".join(t for t in (text, resemblance_note(outcome.results)) if t)
    elif count:
        text = f"Found {count} photo{'s' if count != 1 else ''} {subject.found()}".rstrip() + "."
    elif empty_reason:  # the place, trip or dates have no photo: said so, never answered by likeness
        text = empty_reason
    else:
        text = f"No photos matched {subject}." + (" Try fewer filters." if filters else "")
    return " ".join(part for part in (reranked, text, _exclusion_caveat(args) if count else "", place_note or "",
                                      notes) if part)


def reworded_note(reworded: int | None) -> str | None:
    """With explain="model": how many reasons the model's wording replaced (it keeps only sentences the
    evidence supports, for results whose evidence describes the photo); None otherwise."""
    if reworded is None:
        return None
    if reworded:
        return f"The model reworded {reworded} of the reasons; the others are composed from the evidence."
    return "The model's wording added nothing the evidence supports; the reasons are composed from the evidence."


def _exclusion_caveat(args: dict[str, Any]) -> str:
    """What an exclusion can and cannot do: it leaves out only what the annotations found, so a dog
    the tagger missed stays in "animals, no dogs" (users read the exclusion as a promise)."""
    said = []
    if args.get("not_tags"):
        said.append("photos tagged " + " or ".join(args["not_tags"]))
    if args.get("people") is False:
        said.append("photos where the people detector or a tag found someone")
    if not said:
        return ""
    return f"Left out only {' and '.join(said)}; ones the annotations missed may remain."
