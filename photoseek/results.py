"""Typed values that cross photoseek's layers: filters in, results and reports out.

All are plain dataclasses with `to_dict()` so the CLI's `--json`, the tools and the Python API
return the same data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Filters:
    """Restrictions any search kind accepts. Tags match with their broader terms
    (filtering on "dog" keeps a golden retriever)."""

    tags: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None  # ISO date, inclusive
    time_of_day: str | None = None  # 'day' | 'twilight' | 'night'
    has_text: bool | None = None  # True: readable text in the photo; False: none
    people: bool | None = None  # True: at least one face; False: none
    camera: str | None = None  # substring of make or model, case-insensitive
    # exclusions ("not at night", "not from 2020"); photos whose time or date is unknown pass them
    not_time_of_day: str | None = None  # 'day' | 'twilight' | 'night'
    not_dates: list[str] = field(default_factory=list)  # "2020", "2020-06" or "2020-06-30" each
    # people by the names the user gave them (photoseek people): all of `person` recognised in the
    # photo; none of `not_person`; with person_only, nobody else recognisable in it
    person: list[str] = field(default_factory=list)
    not_person: list[str] = field(default_factory=list)
    person_only: bool = False
    # places (#25): taken in any of these places (a city, region, county or country, in any name people
    # use: "Lisbon", "Lisboa", "里斯本", "Paris, France"); not taken in any of these (photos whose place
    # is unknown pass, and answers say so); on a trip ("last", "first", a start date, a place the trip
    # went to), on its `trip_day`-th day (1 = the first, -1 = the last)
    place: list[str] = field(default_factory=list)
    not_place: list[str] = field(default_factory=list)
    trip: str | None = None
    trip_day: int | None = None

    def is_empty(self) -> bool:
        return self == Filters()

    def to_dict(self) -> dict[str, Any]:
        out = _plain_fields(self, (None, [], ""))
        if not self.person_only:
            out.pop("person_only", None)
        return out


@dataclass
class Evidence:
    """Why a photo was returned: the agent's explanations are grounded only in this."""

    signals: dict[str, float] = field(default_factory=dict)  # score per signal, e.g. {"embedding": .31, "tags": .8}
    matched_tags: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # its most confident content tags (what it shows, as tagged)
    ocr_snippet: str | None = None
    caption: str | None = None
    time_of_day: str | None = None
    taken_at: str | None = None
    people: int | None = None
    # the named people recognised in the photo: name -> {"distance": the face distance that put the
    # face with them (lower is surer)} or {"confirmed": True} where the user said so themselves
    recognised: dict[str, dict[str, Any]] = field(default_factory=dict)
    filters_matched: dict[str, Any] = field(default_factory=dict)
    similar_to: list[int] = field(default_factory=list)  # reference photo ids (query by example)
    # What of the request this photo meets (set by search.match): request word or attribute -> the
    # evidence that met it, e.g. {"cat": "tag cat", "night": "taken at night"}; and what it does not.
    met: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    # Where the photo's similarity stands among ALL the library's photos for this query: a z-score
    # (standard deviations above the library's mean score), so that it means the same for every embedder.
    standing: float | None = None
    # Words of the request nothing that looks at every photo would name (search.nameable: no tag a
    # model gives, no taught word), and whether the photo is one of the best for this query that look
    # alike (search.match.similarity_leaders): a match by resemblance alone, when it is.
    unnameable: list[str] = field(default_factory=list)
    stands_apart: bool | None = None
    # Relevance feedback on a text search: how much the photo looks like the photos marked "more
    # like this" (`similar_to`), as a z-score among the library's photos; and whether it is one of them.
    likeness: float | None = None
    marked: bool | None = None
    # ...and to the photos marked "less like this" (they are left out of the results): their ids and
    # the photo's likeness to them, the same z-score.
    avoided: list[int] = field(default_factory=list)
    avoided_likeness: float | None = None
    # Taught words (photoseek.learn) that met a request word here: word -> {"confidence": the learned
    # tag's calibrated confidence, "examples": how many photos the user taught it from}
    learned: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Where the photo was taken (#25): its place as people name it ("Lisbon, Portugal"), how that is
    # known ("gps" | "estimated" | "user") and in words ("GPS", "estimated from photos taken 20 min
    # earlier in Lisbon", "set by you"); all None when its position is unknown.
    place: str | None = None
    place_source: str | None = None
    place_how: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain_fields(self, (None, [], {}, ""))


def _plain_fields(value: Any, empty: tuple) -> dict[str, Any]:
    """A flat dataclass's fields as a dict, leaving out `empty` values; lists and dicts are copied one
    level deep (what `dataclasses.asdict` gives these classes, at a tenth of its cost: it runs for
    every result of every search)."""
    out: dict[str, Any] = {}
    for f in fields(value):
        v = getattr(value, f.name)
        if v in empty:
            continue
        if isinstance(v, dict):
            v = {key: list(x) if isinstance(x, list) else x for key, x in v.items()}
        elif isinstance(v, list):
            v = list(v)
        out[f.name] = v
    return out


MATCH_LEVELS = ("strong", "partial", "weak")
# Who words the reason beside each result of an agent turn (photoseek.agent.session explains them).
EXPLAIN_MODES = ("evidence", "model")
"""Match levels, most confident first (see `photoseek.search.match` for how one is decided):
strong: the photo meets the whole request; partial: some of it, or its similarity stands out but no
evidence names what was asked; weak: nothing of the request was found, it is only among the closest."""


def match_rank(level: str | None) -> int:
    """0 for "strong" … 2 for "weak"; 3 for no level. Raises ValueError for an unknown level."""
    if level is None:
        return len(MATCH_LEVELS)
    if level not in MATCH_LEVELS:
        raise ValueError(f"unknown match level {level!r}: use one of {', '.join(MATCH_LEVELS)}")
    return MATCH_LEVELS.index(level)


_MATCH_STYLES = {"strong": "bold green", "partial": "yellow", "weak": "dim"}


def match_markup(level: str | None) -> str:
    """A match level as rich console markup (strong green, partial yellow, weak dim), for the CLI and
    chat tables; "" for no level."""
    if level is None:
        return ""
    return f"[{_MATCH_STYLES.get(level, '')}]{level}[/]"


def short_path(path: str, width: int = 48) -> str:
    """A path for a table cell: the file name whole, the folders shortened from the left (the name
    is what people scan for)."""
    import os

    if len(path) <= width:
        return path
    name = os.path.basename(path)
    room = max(width - len(name) - 2, 0)
    return "…" + path[len(path) - len(name) - room - 1:] if room else name


@dataclass
class SearchResult:
    id: int
    path: str
    score: float
    evidence: Evidence = field(default_factory=Evidence)
    explanation: str | None = None
    match: str | None = None  # "strong" | "partial" | "weak" (MATCH_LEVELS); None before it is assessed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "path": self.path, "score": round(float(self.score), 6)}
        out["evidence"] = self.evidence.to_dict()
        if self.explanation is not None:
            out["explanation"] = self.explanation
        if self.match is not None:
            out["match"] = self.match
        return out


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: int = 0
    # RAW files of the same shot as a JPEG/HEIF beside them: listed with that photo, not photos of
    # their own (photoseek.ingest.indexer.raw_pairs); and unchanged photos whose metadata was read
    # again by newer rules (photoseek.ingest.metadata.METADATA_READER_ID), without decoding. These
    # three are in to_dict only when not zero
    paired: int = 0
    reread: int = 0
    not_photos: int = 0  # files whose content is no image and whose name claims none (videos, documents)
    seconds: float = 0.0  # the whole run: indexing, then any annotation and caption passes
    # wall seconds per stage: "index" (decode, embed, pixel annotators, commit), "annotate"
    # (stage-2 catch-up for photos that still lack annotations), "captions" (the opt-in pass)
    stages: dict[str, float] = field(default_factory=dict)
    # seconds per step summed over photos and worker threads (they overlap: these add up to more
    # than the wall time): scan, decode, embed, time, colors, faces, ocr_gate, ocr, commit
    work_seconds: dict[str, float] = field(default_factory=dict)
    work_photos: dict[str, int] = field(default_factory=dict)  # photos that went through each step
    annotated: dict[str, int] = field(default_factory=dict)  # stage-2 pass: photos per annotator
    # faces grouped into people at the end of the run (photoseek.people.clustering.ClusteringReport)
    people: dict[str, Any] = field(default_factory=dict)
    # folders whose photos went missing and were kept, not removed (an unmounted drive; see
    # photoseek.ingest.offline): [{"path", "missing", "photos"}]. In to_dict only when not empty.
    offline: list[dict[str, Any]] = field(default_factory=list)
    # the places pass (photoseek.ingest.places): photos named, estimated, trips found
    places: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        d["stages"] = {k: round(v, 3) for k, v in self.stages.items()}
        d["work_seconds"] = {k: round(v, 3) for k, v in self.work_seconds.items()}
        if not self.offline:
            del d["offline"]
        for name in ("paired", "reread", "not_photos", "people", "places"):  # only when there are any, as offline
            if not d[name]:
                del d[name]
        return d

    def summary(self) -> tuple[str, str]:
        """For people: the counts ('added 10, updated 0, …, failed 0') and the stages that took any
        time ('index 4.7 s'; "" when none). Annotation runs inside indexing for new photos, and an
        "annotate 0.0 s" beside it only puzzles."""
        counts = ", ".join(f"{name} {getattr(self, name)}" for name in
                           ("added", "updated", "moved", "removed", "unchanged", "failed"))
        if self.paired:
            counts += f"; {self.paired} RAW file(s) shown with the JPEG/HEIF of the same shot"
        if self.reread:
            counts += f"; metadata read again for {self.reread}"
        if self.not_photos:
            counts += f"; {self.not_photos} other file(s) are not photos"
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.stages.items() if v >= 0.05)
        return counts, stages


def standing_words(z: float) -> str:
    """A standing (z-score among the library's photos) as a reader takes it: 'closer than about 88%
    of the library's photos', the share a normal spread puts below z (the calibration's own model,
    photoseek.search.calibration); the top percent is said as such, since the tails are not normal."""
    share = 100 * 0.5 * (1 + math.erf(z / math.sqrt(2)))
    if share >= 99:
        return "among the closest 1% of the library's photos"
    return f"closer than about {max(round(share), 1)}% of the library's photos"


@dataclass(frozen=True)
class SearchSubject:
    """What a search looked for, in words, as `search_subject` builds it. `form` says how a sentence
    names it: "query" (a text search: '"cat" at night'), "like" (query by example or composed
    search: 'beach.jpg but "at night"'), "showing" (text in photos: 'the text "EXIT"') or "photos"
    (filters alone: 'at night with people'); `phrase` holds those words, filters included.
    `str()` gives the whole phrase ('photos like beach.jpg', '"cat" at night')."""

    form: str
    phrase: str

    def __str__(self) -> str:
        prefix = {"query": "", "like": "photos like ", "showing": "photos showing ", "photos": "photos "}[self.form]
        return f"{prefix}{self.phrase}".strip()

    def found(self) -> str:
        """What follows 'Found 3 photos': 'for "cat"', 'like beach.jpg', 'showing the text "EXIT"'."""
        return {"query": f"for {self.phrase}", "like": f"like {self.phrase}",
                "showing": f"showing {self.phrase}", "photos": self.phrase}[self.form]

    def none(self) -> str:
        """What follows 'No': 'photo shows "cat"', 'photo looks closely like beach.jpg', 'photo at night'."""
        return {"query": f"photo shows {self.phrase}", "like": f"photo looks closely like {self.phrase}",
                "showing": f"photo shows {self.phrase}", "photos": f"photo {self.phrase}"}[self.form].strip()


def levels_summary(subject: SearchSubject, results: "list[SearchResult]", searched: int | None = None) -> str:
    """The results counted by match level, for answers (the agent) and the web page's banner:
    'Found 3 photos for "cat"; the next 7 are only close (2 partly match).' or, when none is a strong
    match, 'No photo shows "cat" at night; the closest are shown (2 of them partly match).'
    `searched`: how many results were asked for, so that a search whose every result is strong says
    "at least"."""
    # the photos the user marked "more like this" are theirs, not a finding: counted apart
    marked = sum(bool(r.evidence.marked) for r in results)
    results = [r for r in results if not r.evidence.marked]
    strong = sum(r.match == "strong" for r in results)
    # partly: some of the request met by evidence; a photo only close by picture is said to be close
    partial = sum(r.match == "partial" and bool(r.evidence.met) for r in results)
    rest = len(results) - strong
    besides = f" besides the {marked if marked != 1 else 'one'} you marked" if marked else ""
    if strong:
        at_least = "at least " if searched and strong + marked >= searched else ""
        counted = f"{at_least}{strong} photo{'s' if strong != 1 else ''}"
        text = f"Found {counted} {subject.found()}".rstrip() + besides
        if rest:
            text += f"; the next {rest} {'are' if rest != 1 else 'is'} only close"
            if partial:
                text += " (all partly match)" if partial == rest and rest > 1 else f" ({partial} partly match{'es' if partial == 1 else ''})"
        return text + "."
    none = subject.none()
    if not results:
        return f"No {none}{besides}."
    text = f"No {'other ' if marked else ''}{none}; the closest {'are' if len(results) != 1 else 'is'} shown"
    if partial == len(results):
        text += f" ({'it partly matches' if partial == 1 else 'all partly match'})"
    elif partial:
        text += f" ({partial} of them partly match{'es' if partial == 1 else ''})"
    return text + "."


def search_subject(tool: str, args: dict[str, Any]) -> SearchSubject:
    """What a search looked for, from its tool name and arguments: '"dog" at night', 'photos like
    beach.jpg but "at night"', 'photos showing the text "EXIT" from 2019' (see SearchSubject). One
    subject for the agent's answers and the web page's banner (`photo` may be a catalog id or a name)."""
    def photo(value: Any) -> str:
        return f"photo {value}" if isinstance(value, int) else str(value)

    form, what = {
        "text_search": ("query", f'"{args.get("query", "")}"'),
        "similar_to_photo": ("like", photo(args.get("photo"))),
        "composed_search": ("like", f'{photo(args.get("photo"))} but "{args.get("but", "")}"'),
        "text_in_photo": ("showing", f'the text "{args.get("text", "")}"'),
    }.get(tool, ("photos", ""))
    return SearchSubject(form, f"{what} {describe_filters(args)}".strip())


def trip_phrase(trip: str, day: int | None = None) -> str:
    """'on your last trip', 'on the trip to Japan', 'on the first day of the trip to Lisbon'."""
    word = str(trip).strip()
    named = {"last": "your last trip", "latest": "your last trip", "most recent": "your last trip",
             "first": "your first trip", "earliest": "your first trip"}.get(word.lower())
    if named is None:
        named = f"the trip starting {word}" if word[:4].isdigit() else f"the trip to {word}"
    if day is None:
        return f"on {named}"
    which = {1: "the first day", -1: "the last day"}.get(day) or (f"day {day}" if day > 0 else f"day {day} from the end")
    return f"on {which} of {named}"


def describe_filters(args: dict[str, Any]) -> str:
    """Filters in words ("from 2019 at night with people"), from `Filters.to_dict()` or a tool's
    arguments; the same phrase in the CLI's titles and the agent's answers."""
    parts = []
    if args.get("date_from") and args.get("date_to"):
        start, end = args["date_from"], args["date_to"]
        if start[:4] == end[:4] and start[5:] == "01-01" and end[5:] == "12-31":
            parts.append(f"from {start[:4]}")
        else:
            parts.append(f"taken {start} to {end}")
    elif args.get("date_from"):
        parts.append(f"taken since {args['date_from']}")
    elif args.get("date_to"):
        parts.append(f"taken until {args['date_to']}")
    if args.get("time_of_day"):
        parts.append({"night": "at night", "day": "in daytime", "twilight": "at twilight"}[args["time_of_day"]])
    if args.get("not_time_of_day"):
        parts.append({"night": "not at night", "day": "not in daytime", "twilight": "not at twilight"}[
            args["not_time_of_day"]])
    if args.get("not_dates"):
        parts.append("not taken in " + ", ".join(args["not_dates"]))
    if args.get("people") is True:
        parts.append("with people")
    elif args.get("people") is False:
        parts.append("without people")
    if args.get("person"):
        names = list(args["person"])
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        parts.append(("with only " if args.get("person_only") else "with ") + joined)
    if args.get("not_person"):
        parts.append("without " + " or ".join(args["not_person"]))
    if args.get("tags"):
        parts.append("tagged " + ", ".join(args["tags"]))
    if args.get("not_tags"):
        parts.append("not tagged " + ", ".join(args["not_tags"]))
    if args.get("place"):
        parts.append("taken in " + " or ".join(args["place"]))
    if args.get("not_place"):
        parts.append("not taken in " + " or ".join(args["not_place"]))
    if args.get("trip"):
        parts.append(trip_phrase(args["trip"], args.get("trip_day")))
    if args.get("camera"):
        parts.append(f"taken with a {args['camera']}")
    if args.get("has_text"):
        parts.append("with visible text")
    elif args.get("has_text") is False:
        parts.append("without visible text")
    return " ".join(parts)
