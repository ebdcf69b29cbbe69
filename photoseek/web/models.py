"""Pydantic request and response models of the HTTP API (`/api/...`, shown at `/docs`).

Requests reuse the tools' argument models (`photoseek.tools.base.FilterArgs`), so a filter means the
same in the agent, the API and MCP. Responses describe the JSON the CLI's `--json` prints
(`SearchResult.to_dict()`, `Library.show()`, `Answer.to_dict()`); they allow extra fields so shapes can
only grow, like the CLI's.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from photoseek.results import EXPLAIN_MODES
from photoseek.tools.base import FilterArgs

#: most results one request may ask for (a page of thumbnails; bounded so one request stays cheap)
MAX_K = 100
#: most photo ids in one relevance-feedback request
MAX_FEEDBACK_IDS = 50
MAX_TEXT = 500


class SearchRequest(FilterArgs):
    """Any search kind: text, by example (`like`), composed (`like` + `but`), text in the photo,
    relevance feedback (`more_like` / `less_like`), each with the filters. Photos are catalog ids."""

    text: str | None = Field(None, max_length=MAX_TEXT, description="what to look for, in words")
    like: int | None = Field(None, ge=1, description="a photo id: find photos that look like it")
    but: str | None = Field(None, max_length=MAX_TEXT, description="with like: the change, e.g. 'at night'")
    text_in_photo: str | None = Field(None, max_length=MAX_TEXT, description="words written in the photo (OCR)")
    more_like: list[int] = Field(default_factory=list, max_length=MAX_FEEDBACK_IDS, description="relevance feedback: ids liked")
    less_like: list[int] = Field(default_factory=list, max_length=MAX_FEEDBACK_IDS, description="relevance feedback: ids not wanted")
    k: int = Field(20, ge=1, le=MAX_K, description="how many results")

    @model_validator(mode="after")
    def _something_to_search(self) -> "SearchRequest":
        if not (self.text or self.like or self.text_in_photo or self.more_like or not self.filters().is_empty()):
            raise ValueError("give something to search for: text, like, text_in_photo, more_like or a filter")
        if self.but and not self.like:
            raise ValueError("but modifies a reference photo: give like too")
        return self

    def label(self) -> str:
        """The request in words, as `photoseek search --json` prints it in `query`."""
        if self.text or self.text_in_photo:
            return self.text or self.text_in_photo or ""
        if self.like:
            return f"like {self.like}" + (f" but {self.but}" if self.but else "")
        return "filter" if not self.more_like else "feedback"


class ResultModel(BaseModel):
    """One ranked photo (`SearchResult.to_dict()`), with a composed explanation when it had none."""

    model_config = ConfigDict(extra="allow")
    id: int
    path: str
    score: float
    evidence: dict[str, Any] = Field(default_factory=dict, description="why it was returned: signals, matched tags, ...")
    explanation: str | None = None
    match: Any = Field(None, description="how well it matches, when the search says (e.g. strong / partial)")


class GroupModel(BaseModel):
    """Results shown together (the matches, then those only close) with the reason they share, said once."""

    kind: Literal["matches", "close"]
    heading: str = Field(..., description='e.g. \'Close, not matches: photoseek cannot recognise "giraffe" by '
                         "itself (no tag it gives names it); they are the closest by picture.'")
    ids: list[int]
    reasons: dict[str, str] = Field(default_factory=dict, description="photo id -> what is left of its reason")


class SearchResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    query: str
    results: list[ResultModel]
    searched_as: str | None = Field(None, description="the English the text encoder saw, when it differs")
    summary: str | None = Field(None, description='the results counted by match level, e.g. \'Found 3 photos for "cat"; '
                                "the next 7 are only close.'; and, when nothing here can name a word, that "
                                "the results rest on resemblance only")
    groups: list[GroupModel] | None = Field(None, description="the results as shown: matches first")
    places_note: str | None = Field(None, description="with a place or trip filter: why no photo answers it ('No photo "
                                    "was taken in Lisbon; …'), and the photos with no known position left out or kept")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(..., min_length=1, max_length=2000, description="a request in words, any language")
    session: str | None = Field(None, max_length=64, description="continue this conversation (from a previous answer)")
    explain: Literal[EXPLAIN_MODES] = Field(
        "evidence", description="evidence: reasons composed from each photo's evidence (instant); "
        "model: the LLM rewords the top five (streamed as `explanation` events; tens of seconds on a CPU)")


class AskResponse(BaseModel):
    """`photoseek ask --json`, plus the session id for the next turn and the search the answer ran
    (as a SearchRequest, so a client can refine it with feedback)."""

    model_config = ConfigDict(extra="allow")
    plan: list[dict[str, Any]]
    results: list[ResultModel]
    answer: str
    photo: dict[str, Any] | None = None
    error: str | None = None
    reworded: int | None = Field(None, description='with "explain": "model": how many reasons the model reworded')
    matches: int | None = Field(None, description="how many results are matches (level strong)")
    page: int | None = Field(None, description="how many results the first page shows; the rest on demand")
    groups: list[GroupModel] | None = Field(None, description="the results as shown: matches first")
    session: str
    search: dict[str, Any] | None = None


class TagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add: list[str] = Field(default_factory=list, max_length=20, description="tags to confirm")
    remove: list[str] = Field(default_factory=list, max_length=20, description="tags to reject")


class WordStatusModel(BaseModel):
    """A taught word (`photoseek words --json`, `WordStatus.to_dict()`)."""

    model_config = ConfigDict(extra="allow")
    word: str
    state: str = Field(..., description="learned | learning (needs more examples) | forgotten | reserved")
    examples: int = Field(0, description="photos you gave the word to")
    rejections: int = Field(0, description="photos where you refused it")
    tagged: int = Field(0, description="other photos its model tags (source 'learned')")
    needs: int | None = Field(None, description="while learning: how many more photos it needs")
    precision: float | None = Field(None, description="the mean calibrated confidence of the photos it tags")
    summary: str = Field("", description="where the word stands, in one sentence")


class TeachRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    word: str = Field(..., min_length=1, max_length=100, description="the word or phrase, e.g. 'giraffe', 'our cabin'")
    photos: list[int] = Field(default_factory=list, max_length=MAX_FEEDBACK_IDS, description="photo ids that show it")
    not_photos: list[int] = Field(default_factory=list, max_length=MAX_FEEDBACK_IDS,
                                  description="photo ids that do not (rejections)")


class PlaceRequest(BaseModel):
    """The user's word on where a photo was taken (their word wins over its GPS and survives re-indexing)."""

    model_config = ConfigDict(extra="forbid")
    place: str | None = Field(None, max_length=200, description="a town ('Lisbon', 'Portland, Oregon'), region, "
                              "country, or a position ('38.72, -9.14'); null with clear false: no known place")
    clear: bool = Field(False, description="forget your correction: its GPS or an estimate names it again")


class PhotoModel(BaseModel):
    """`photoseek show --json`."""

    model_config = ConfigDict(extra="allow")
    id: int
    path: str
    taken_at: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    gps: list[float] | None = None
    time_of_day: str | None = None
    faces: int | None = None
    place: dict[str, Any] | None = Field(None, description="where it was taken: label, how it is known (GPS, "
                                         "estimated from the same camera's photos, set by you), city, region, country")
    tags: list[dict[str, Any]] = Field(default_factory=list)
    caption: str | None = None
    ocr_text: str | None = None


class FailureModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    path: str
    reason: str
    failed_at: str | None = None


class StatsModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    library: str
    photos: int
    failures: int = 0
    embedder: str | None = None
    schema_version: int | None = None


class IndexingModel(BaseModel):
    stage: str | None = None
    done: int = 0
    total: int | None = None
    paths: list[str] = Field(default_factory=list)
    error: str | None = None
    finished: bool = False


class StatusModel(BaseModel):
    photos: int
    indexing: IndexingModel | None = None
    llm: bool = Field(..., description="whether conversational requests (ask) are available")
    search_processes: int = Field(0, description="worker processes answering /api/search now (0: the server's own)")


# -- people -------------------------------------------------------------------------------------------


class PersonModel(BaseModel):
    """One person (`photoseek people --json`): faces and photos counted, the face shown for them."""

    model_config = ConfigDict(extra="allow")
    id: int
    name: str | None = None
    faces: int = 0
    photos: int = 0
    hidden: bool = False
    cover_face: int | None = Field(None, description="a face id: its crop is /api/faces/{id}/crop")
    sample_photo: str | None = None
    sample_photo_id: int | None = None


class FaceModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    photo_id: int
    path: str
    face: int = Field(..., description="1, 2, ... left to right in its photo")
    box: list[float] = Field(..., description="x, y, width, height as fractions of the photo")
    person_id: int | None = None
    person: str | None = None
    assigned: str | None = Field(None, description="user: you said so; auto: grouped; none: nobody yet")
    distance: float | None = None


class PersonPage(BaseModel):
    person: PersonModel
    faces: list[FaceModel]


class NameRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=100, description="what to call them")


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: int | str = Field(..., description="the person (id or name) who stays")


class HideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hidden: bool = True


class FaceMoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: int | str = Field(..., description="who this face is: a person's id or name (a new name makes that person)")


class FaceRejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: int | str | None = Field(None, description="who it is not (default: the person it is with)")
