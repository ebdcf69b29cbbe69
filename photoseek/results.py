"""Typed values that cross photoseek's layers: filters in, results and reports out.

All are plain dataclasses with `to_dict()` so the CLI's `--json`, the tools and the Python API
return the same data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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

    def is_empty(self) -> bool:
        return self == Filters()

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")}


@dataclass
class Evidence:
    """Why a photo was returned: the agent's explanations are grounded only in this."""

    signals: dict[str, float] = field(default_factory=dict)  # score per signal, e.g. {"embedding": .31, "tags": .8}
    matched_tags: list[str] = field(default_factory=list)
    ocr_snippet: str | None = None
    caption: str | None = None
    time_of_day: str | None = None
    taken_at: str | None = None
    people: int | None = None
    filters_matched: dict[str, Any] = field(default_factory=dict)
    similar_to: list[int] = field(default_factory=list)  # reference photo ids (query by example)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {}, "")}


@dataclass
class SearchResult:
    id: int
    path: str
    score: float
    evidence: Evidence = field(default_factory=Evidence)
    explanation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "path": self.path, "score": round(float(self.score), 6)}
        out["evidence"] = self.evidence.to_dict()
        if self.explanation is not None:
            out["explanation"] = self.explanation
        return out


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0
    # folders whose photos went missing and were kept, not removed (an unmounted drive; see
    # photoseek.ingest.offline): [{"path", "missing", "photos"}]. In to_dict only when not empty.
    offline: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        if not self.offline:
            del d["offline"]
        return d
