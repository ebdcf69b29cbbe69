"""Typed tools over a `Library`: one definition shared by the agent's planner, LangChain and the CLI.

Each tool has a `name`, a `description`, an `Args` pydantic model (its JSON schema is what planners see)
and `run(library, args) -> ToolResult`. Every tool here is read-only: none changes the catalog, the
vectors or any file (the planner may reach only these). `feedback` re-ranks previous results with the
user's "more like these / less like that"; it too only reads.
"""

from __future__ import annotations

import json
import re
from calendar import monthrange
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from photoseek.errors import PhotoseekError
from photoseek.results import Filters, SearchResult

if TYPE_CHECKING:
    from photoseek.library import Library


class ToolArgumentsError(PhotoseekError):
    """A tool was called with arguments its schema does not allow."""


# -- argument models -------------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


def normalize_date(value: str | None, *, end: bool) -> str | None:
    """"2019" / "2019-06" / "2019-06-03T10:00" -> an ISO day; a bare year or month means its first day
    (end=False) or its last day (end=True), so date_from="2019", date_to="2019" covers all of 2019."""
    if value is None or str(value).strip() == "":
        return None
    match = _DATE.match(str(value).strip())
    if not match:
        raise ValueError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else (12 if end else 1)
    if not 1 <= month <= 12:
        raise ValueError(f"not a date: {value!r}")
    last_day = monthrange(year, month)[1]
    day = int(match.group(3)) if match.group(3) else (last_day if end else 1)
    if not 1 <= day <= last_day:
        raise ValueError(f"not a date: {value!r}")
    return f"{year:04d}-{month:02d}-{day:02d}"


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterArgs(_Args):
    """Restrictions every search tool accepts (see photoseek.results.Filters)."""

    tags: list[str] = Field(default_factory=list, description="tags every result must have, e.g. ['dog']")
    not_tags: list[str] = Field(default_factory=list, description="tags no result may have")
    date_from: str | None = Field(None, description="earliest date taken, YYYY-MM-DD (inclusive)")
    date_to: str | None = Field(None, description="latest date taken, YYYY-MM-DD (inclusive)")
    time_of_day: Literal["day", "twilight", "night"] | None = Field(None, description="when the photo was taken")
    people: bool | None = Field(None, description="true: only photos with people; false: only photos without")
    camera: str | None = Field(None, description="part of the camera make or model, e.g. 'iphone'")
    has_text: bool | None = Field(None, description="true: only photos with visible text; false: only without")
    not_time_of_day: Literal["day", "twilight", "night"] | None = Field(
        None, description="exclude photos taken at this time of day ('not at night')")
    not_dates: list[str] = Field(
        default_factory=list, description="exclude photos taken in these years/months/days: YYYY, YYYY-MM or YYYY-MM-DD")
    person: list[str] = Field(
        default_factory=list, description="people by the names the user gave them, all recognised in each result, "
        "e.g. ['Anna', 'Ben']")
    not_person: list[str] = Field(default_factory=list, description="people who must not be in the photo")
    person_only: bool = Field(False, description="with person: nobody else in the photo ('only Anna')")

    @field_validator("person", "not_person")
    @classmethod
    def _clean_names(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for name in value:
            name = " ".join(str(name).split())
            if name and name.casefold() not in {c.casefold() for c in cleaned}:
                cleaned.append(name)
        return cleaned
    place: list[str] = Field(
        default_factory=list, description="taken in any of these places: a city, region or country, e.g. ['Lisbon']")
    not_place: list[str] = Field(default_factory=list, description="not taken in these places, e.g. ['Germany']")
    trip: str | None = Field(
        None, description="on a trip away from home: 'last', 'first', its start date, or a place it went to ('Japan')")
    trip_day: int | None = Field(
        None, ge=-366, le=366, description="with trip: only its N-th day (1 = the first day, -1 = the last day)")

    @field_validator("tags", "not_tags")
    @classmethod
    def _clean_tags(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for tag in value:
            tag = str(tag).strip().lower()
            if tag and tag not in cleaned:
                cleaned.append(tag)
        return cleaned

    @field_validator("not_dates")
    @classmethod
    def _not_dates(cls, value: list[str]) -> list[str]:
        from photoseek.search.filters import check_date

        cleaned: list[str] = []
        for item in value:
            try:
                item = check_date(item, "not_dates")
            except PhotoseekError as exc:
                raise ValueError(str(exc)) from None
            if item not in cleaned:
                cleaned.append(item)
        return cleaned

    @field_validator("date_from")
    @classmethod
    def _date_from(cls, value: str | None) -> str | None:
        return normalize_date(value, end=False)

    @field_validator("date_to")
    @classmethod
    def _date_to(cls, value: str | None) -> str | None:
        return normalize_date(value, end=True)

    @field_validator("place", "not_place")
    @classmethod
    def _places(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for place in value:
            place = " ".join(str(place).split())
            if len(place) > 200:
                raise ValueError("a place name is at most 200 characters")
            if place and place not in cleaned:
                cleaned.append(place)
        return cleaned

    @field_validator("trip")
    @classmethod
    def _trip(cls, value: str | None) -> str | None:
        return " ".join(str(value).split())[:200] or None if value is not None else None

    @model_validator(mode="after")
    def _trip_day_needs_trip(self) -> "FilterArgs":
        if self.trip_day is not None and not self.trip:
            raise ValueError("trip_day needs trip (which trip's day)")
        if self.trip_day == 0:
            raise ValueError("trip_day counts from 1 (the first day) or from -1 (the last day)")
        return self

    @field_validator("camera")
    @classmethod
    def _camera(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None

    def filters(self) -> Filters:
        return Filters(**{name: getattr(self, name) for name in FILTER_FIELDS})


FILTER_FIELDS = tuple(FilterArgs.model_fields)


def _photo_ref(value: Any) -> int | str:
    """A photo id (int or digits) or a path, as Library.search(like=...) / show() accept."""
    if isinstance(value, bool):
        raise ValueError("a photo is an id or a path")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        raise ValueError("a photo is an id or a path")
    return int(text) if text.isdigit() else text


PhotoRef = Annotated[int | str, BeforeValidator(_photo_ref)]


class TextSearchArgs(FilterArgs):
    query: str = Field(..., min_length=1, description="what to look for, in English, e.g. 'dog on a beach'")
    k: int = Field(10, ge=1, le=200, description="how many results")


class SimilarArgs(FilterArgs):
    photo: PhotoRef = Field(..., description="a photo id or path to find look-alikes of")
    k: int = Field(10, ge=1, le=200)


class ComposedArgs(FilterArgs):
    photo: PhotoRef = Field(..., description="the reference photo (id or path)")
    but: str = Field(..., min_length=1, description="what should differ, e.g. 'at night', 'with snow'")
    k: int = Field(10, ge=1, le=200)


class FilterPhotosArgs(FilterArgs):
    k: int = Field(50, ge=1, le=500)

    @model_validator(mode="after")
    def _needs_a_filter(self) -> "FilterPhotosArgs":
        if self.filters().is_empty():
            raise ValueError("filter_photos needs at least one filter")
        return self


class TextInPhotoArgs(FilterArgs):
    text: str = Field(..., min_length=1, description="words written in the photo (signs, documents, screens)")
    k: int = Field(10, ge=1, le=200)


class PhotoArgs(_Args):
    photo: PhotoRef = Field(..., description="a photo id or path")


class PeopleArgs(_Args):
    hidden: bool = Field(False, description="list hidden people too")


class FeedbackArgs(FilterArgs):
    more_like: list[int] = Field(default_factory=list, description="ids of results the user liked")
    less_like: list[int] = Field(default_factory=list, description="ids of results the user did not want")
    query: str | None = Field(None, description="the previous search's text, if it had one")
    k: int = Field(10, ge=1, le=200)

    @model_validator(mode="after")
    def _needs_feedback(self) -> "FeedbackArgs":
        if not self.more_like and not self.less_like:
            raise ValueError("feedback needs more_like or less_like photo ids")
        return self


# -- results ---------------------------------------------------------------------------------------


@dataclass
class ToolResult:
    """What a tool returns: ranked photos (searches), one photo's record (show) or text (caption)."""

    tool: str
    args: dict[str, Any]
    results: list[SearchResult] = field(default_factory=list)
    photo: dict[str, Any] | None = None
    text: str | None = None
    people: list[dict[str, Any]] | None = None  # list_people
    places: dict[str, Any] | None = None  # list_places: {"places": Library.places(), "trips": Library.trips()}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tool": self.tool, "args": self.args}
        if self.people is not None:
            out["people"] = self.people
        elif self.places is not None:
            out.update(self.places)
        elif self.results or self.photo is None and self.text is None:
            out["results"] = [r.to_dict() for r in self.results]
        if self.photo is not None:
            out["photo"] = self.photo
        if self.text is not None:
            out["text"] = self.text
        return out

    def to_llm_json(self, limit: int = 10) -> str:
        """Compact JSON for a model reading the result (LangChain's ToolMessage content)."""
        if self.photo is not None:
            keep = ("id", "path", "taken_at", "time_of_day", "faces", "caption")
            body: dict[str, Any] = {k: self.photo.get(k) for k in keep if self.photo.get(k) is not None}
            body["tags"] = [t["tag"] for t in self.photo.get("tags", [])][:15]
            if self.photo.get("place"):
                body["place"] = f"{self.photo['place']['label']} ({self.photo['place']['how']})"
        elif self.text is not None:
            body = {"text": self.text}
        elif self.people is not None:
            body = {"people": [{"name": p["name"], "photos": p["photos"]} for p in self.people if p.get("name")]}
        elif self.places is not None:
            body = {"countries": [{"country": c["country"], "photos": c["photos"],
                                   "cities": [city["city"] for r in c["regions"] for city in r["cities"]][:limit]}
                                  for c in self.places["places"]["countries"]],
                    "trips": [{"name": t["name"], "start": t["start"], "end": t["end"]} for t in self.places["trips"]["trips"]]}
        else:
            body = {
                "results": [
                    {"id": r.id, "path": r.path, "score": round(float(r.score), 4), "tags": r.evidence.matched_tags}
                    for r in self.results[:limit]
                ]
            }
        return json.dumps(body, ensure_ascii=False)


# -- tools -----------------------------------------------------------------------------------------


class Tool:
    name: ClassVar[str]
    description: ClassVar[str]
    Args: ClassVar[type[_Args]]
    #: every registered tool must be read-only; the registry refuses others
    read_only: ClassVar[bool] = True

    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments (what function-calling APIs call `parameters`)."""
        return self.Args.model_json_schema()

    def parse_args(self, args: dict[str, Any] | BaseModel) -> _Args:
        if isinstance(args, self.Args):
            return args
        if isinstance(args, BaseModel):
            args = args.model_dump()
        try:
            return self.Args.model_validate(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise ToolArgumentsError(f"Bad arguments for {self.name}: {problems}") from None

    def run(self, library: "Library", args: dict[str, Any] | BaseModel) -> ToolResult:
        parsed = self.parse_args(args)
        return self._run(library, parsed)

    def _run(self, library: "Library", args: Any) -> ToolResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def _result(self, args: _Args, **fields: Any) -> ToolResult:
        return ToolResult(tool=self.name, args=args.model_dump(exclude_defaults=True), **fields)

    def __repr__(self) -> str:
        return f"<Tool {self.name}>"


class TextSearch(Tool):
    name = "text_search"
    description = "Find photos matching a description in English (objects, scenes, activities), optionally filtered."
    Args = TextSearchArgs

    def _run(self, library, args: TextSearchArgs) -> ToolResult:
        results = library.search(args.query, k=args.k, filters=args.filters())
        return self._result(args, results=results)


class SimilarToPhoto(Tool):
    name = "similar_to_photo"
    description = "Find photos that look like a given photo (query by example)."
    Args = SimilarArgs

    def _run(self, library, args: SimilarArgs) -> ToolResult:
        return self._result(args, results=library.search(like=args.photo, k=args.k, filters=args.filters()))


class ComposedSearch(Tool):
    name = "composed_search"
    description = "Find photos like a given photo but changed as described ('like this but at night')."
    Args = ComposedArgs

    def _run(self, library, args: ComposedArgs) -> ToolResult:
        results = library.search(like=args.photo, but=args.but, k=args.k, filters=args.filters())
        return self._result(args, results=results)


class FilterPhotos(Tool):
    name = "filter_photos"
    description = ("List photos by tags, date range, time of day, people, camera, visible text, place or trip, "
                   "with no description.")
    Args = FilterPhotosArgs

    def _run(self, library, args: FilterPhotosArgs) -> ToolResult:
        # Required tags double as the ranking text, so the most confident tag matches come first.
        text = " ".join(args.tags) or None
        return self._result(args, results=library.search(text, k=args.k, filters=args.filters()))


class TextInPhoto(Tool):
    name = "text_in_photo"
    description = "Find photos showing given words (signs, documents, screenshots) by their OCR text."
    Args = TextInPhotoArgs

    def _run(self, library, args: TextInPhotoArgs) -> ToolResult:
        results = library.search(text_in_photo=args.text, k=args.k, filters=args.filters())
        return self._result(args, results=results)


class ShowPhoto(Tool):
    name = "show_photo"
    description = "Everything the library knows about one photo: date, camera, tags, caption, text in it."
    Args = PhotoArgs

    def _run(self, library, args: PhotoArgs) -> ToolResult:
        return self._result(args, photo=library.show(args.photo))


class CaptionPhoto(Tool):
    name = "caption_photo"
    description = "Describe one photo in a sentence."
    Args = PhotoArgs

    def _run(self, library, args: PhotoArgs) -> ToolResult:
        # store=False: tools never write. A photo without a stored caption is described from its
        # annotations (the captioner's template).
        return self._result(args, text=library.caption(args.photo, store=False))


class Feedback(Tool):
    name = "feedback"
    description = "Re-rank a previous search: more like some of its results, less like others."
    Args = FeedbackArgs

    def _run(self, library, args: FeedbackArgs) -> ToolResult:
        results = library.search(
            args.query or None,
            k=args.k,
            filters=args.filters(),
            more_like=args.more_like,
            less_like=args.less_like,
        )
        return self._result(args, results=results)


class WordsArgs(_Args):
    word: str | None = Field(None, max_length=100, description="one taught word; all when left out")


class TaughtWords(Tool):
    name = "taught_words"
    description = ("The words the user taught (gave to a few photos; photoseek learned them and tagged the "
                   "rest of the library): examples, photos tagged, a precision estimate.")
    Args = WordsArgs

    def _run(self, library, args: WordsArgs) -> ToolResult:
        statuses = [library.word(args.word)] if args.word else library.words()
        text = "\n".join(s.sentence() for s in statuses) or "No taught words yet."
        return self._result(args, text=text)


class ListPeople(Tool):
    name = "list_people"
    description = ("The people the user has named in the library, with how many photos each is in; search for "
                   "them with the person filter (person=['Anna']).")
    Args = PeopleArgs

    def _run(self, library, args: PeopleArgs) -> ToolResult:
        people = [p.to_dict() for p in library.people().list(hidden=args.hidden)]
        return self._result(args, people=people)


class ListPlaces(Tool):
    name = "list_places"
    description = ("Where the photos were taken: countries, regions and cities with photo counts (GPS or estimated), "
                   "home and the trips away from it; search them with the place or trip filter (place=['Lisbon'], "
                   "trip='last').")
    Args = _Args

    def _run(self, library, args: _Args) -> ToolResult:
        return self._result(args, places={"places": library.places(), "trips": library.trips()})


def _registry(*tools: Tool) -> dict[str, Tool]:
    for tool in tools:
        if not tool.read_only:
            raise TypeError(f"{tool.name} is not read-only; the agent's tools must never change the library")
    return {tool.name: tool for tool in tools}


#: every tool, by name; all read-only
TOOLS: dict[str, Tool] = _registry(
    TextSearch(),
    SimilarToPhoto(),
    ComposedSearch(),
    FilterPhotos(),
    TextInPhoto(),
    ShowPhoto(),
    CaptionPhoto(),
    Feedback(),
    ListPeople(),
    ListPlaces(),
    TaughtWords(),
)

#: tools whose result is a ranked list of photos (a later turn can refine or give feedback on it)
SEARCH_TOOLS = frozenset({"text_search", "similar_to_photo", "composed_search", "filter_photos", "text_in_photo", "feedback"})


def get_tool(name: str) -> Tool:
    try:
        return TOOLS[name]
    except KeyError:
        raise ToolArgumentsError(f"No tool named {name!r}; tools: {', '.join(TOOLS)}") from None


def run_tool(library: "Library", name: str, args: dict[str, Any]) -> ToolResult:
    return get_tool(name).run(library, args)
