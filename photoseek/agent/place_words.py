"""Places and trips in a request, read by rules (a 1.5B model invents places; names are closed-class).

  "beach photos from Portugal"          -> place ["Portugal"], the words left: "beach photos"
  "在巴黎拍的照片", "东京的夜景"             -> place ["Paris"], ["Tokyo"] (Chinese names from the index)
  "not in Germany", "除了德国"              -> not_place ["Germany"]
  "a paris-style café", "nice weather"  -> nothing (a style; a word, not said as a place)
  "photos from our trip to Japan"       -> trip "Japan"
  "my last trip", "上次旅行"               -> trip "last"
  "the first day of the Lisbon trip"    -> trip "Lisbon", trip_day 1

Names come from a `NameIndex` (photoseek.places.names): the library's places with every name people
type for them, and the world's countries and big cities, so that a place the library has no photo of
is still a place ("no photo was taken in Lisbon") and never a picture-similarity search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from photoseek.places.names import LEAD_IN, Mention, NameIndex, without_spans

_TRIP_WORDS = r"trip|trips|holiday|holidays|vacation|journey|travels?|getaway"
_TRIP = rf"(?:{_TRIP_WORDS})"
_LAST_TRIP = re.compile(rf"\b(?:my|our|the|that)\s+(last|latest|most\s+recent|recent|previous|first|earliest)\s+{_TRIP}\b",
                        re.IGNORECASE)
_LAST_TRIP_ZH = re.compile(r"(上次|上一次|最近一次|最近的|最后一次|第一次|首次)(?:的)?(?:旅行|旅游|出行|度假)")
_TRIP_BEFORE_PLACE = re.compile(rf"(?:\b(?:from|on|of|during)\s+)?(?:\b(?:our|my|the|that|a)\s+)?\b{_TRIP}\s+"
                                rf"(?:to|in|through|around|across)\s+(?:the\s+)?$", re.IGNORECASE)
_TRIP_AFTER_PLACE = re.compile(rf"^\s*{_TRIP}\b", re.IGNORECASE)
_BEFORE_TRIP_PLACE = re.compile(r"(?:\b(?:from|on|of|during)\s+)?(?:\b(?:our|my|the|that|a)\s+)?$", re.IGNORECASE)
_TRIP_BEFORE_PLACE_ZH = re.compile(r"(?:去|到|在)$")
_TRIP_AFTER_PLACE_ZH = re.compile(r"^(?:之旅|旅行|旅游|度假|玩)的?")
# Chinese that only ties a place to the request: "在巴黎拍的照片", "东京的夜景"
_AFTER_PLACE_ZH = re.compile(r"^(?:拍摄的|拍的|照的|拍|的)")
# the trip's own words, once a trip is read ("our trip", "旅行的")
_TRIP_LEFTOVER = re.compile(rf"(?:\b(?:from|on|of|during)\s+)?(?:\b(?:our|my|the|that)\s+)?\b(?:{_TRIP_WORDS})\b|"
                            r"(?:旅行|旅游|之旅|出行|度假)的?", re.IGNORECASE)
_ORDINAL_DAYS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1, "final": -1}
_DAY = re.compile(r"\b(?:the\s+|our\s+|my\s+)?(first|second|third|fourth|fifth|last|final|\d{1,2}(?:st|nd|rd|th))\s+day\s+"
                  r"(?:of|on)\b|\bday\s+(\d{1,2})\s+(?:of|on)\b", re.IGNORECASE)
_DAY_ZH = re.compile(r"第\s*([一二三四五六七八九十]|\d{1,2})\s*天|(最后一天)")
_ZH_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
@dataclass
class PlaceRequest:
    """What a request says about where: places asked for, places excluded, a trip and its day, and the
    spans of text that said it (not search words)."""

    place: list[str] = field(default_factory=list)
    not_place: list[str] = field(default_factory=list)
    trip: str | None = None
    trip_day: int | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)

    def as_args(self) -> dict:
        out: dict = {}
        if self.place:
            out["place"] = list(self.place)
        if self.not_place:
            out["not_place"] = list(self.not_place)
        if self.trip:
            out["trip"] = self.trip
            if self.trip_day is not None:
                out["trip_day"] = self.trip_day
        return out


def read_places(text: str, index: NameIndex | None) -> PlaceRequest:
    """Places, exclusions and trips in a request (see the module docstring)."""
    found = PlaceRequest()
    trip = _LAST_TRIP.search(text)
    trip_zh = _LAST_TRIP_ZH.search(text)
    if trip:
        word = re.sub(r"\s+", " ", trip.group(1).lower())
        found.trip = "first" if word in ("first", "earliest") else "last"
        found.spans.append(trip.span())
    elif trip_zh:
        found.trip = "first" if trip_zh.group(1) in ("第一次", "首次") else "last"
        found.spans.append(trip_zh.span())
    mentions = index.mentions(text) if index is not None else []
    found.mentions = mentions
    for mention in mentions:
        before, after = text[:mention.start], text[mention.end:]
        trip_place = (_TRIP_BEFORE_PLACE.search(before) or _TRIP_AFTER_PLACE.match(after)
                      or (_TRIP_BEFORE_PLACE_ZH.search(before) and _TRIP_AFTER_PLACE_ZH.match(after))
                      or _TRIP_AFTER_PLACE_ZH.match(after))
        if trip_place and not mention.negated and found.trip is None:
            found.trip = mention.name
            lead = _TRIP_BEFORE_PLACE.search(before) or _TRIP_BEFORE_PLACE_ZH.search(before) \
                or _BEFORE_TRIP_PLACE.search(before)
            tail = _TRIP_AFTER_PLACE.match(after) or _TRIP_AFTER_PLACE_ZH.match(after)
            found.spans.append((lead.start() if lead else mention.start, mention.end + (tail.end() if tail else 0)))
            continue
        if mention.negated:
            if mention.name not in found.not_place:
                found.not_place.append(mention.name)
        elif mention.name not in found.place:
            found.place.append(mention.name)
        lead = LEAD_IN.search(before)
        tail = _AFTER_PLACE_ZH.match(after)
        found.spans.append((lead.start() if lead else mention.start, mention.end + (tail.end() if tail else 0)))
    if found.trip is not None:
        day = _DAY.search(text)
        day_zh = _DAY_ZH.search(text)
        if day:
            word = (day.group(1) or day.group(2)).lower()
            found.trip_day = _ORDINAL_DAYS.get(word) or int(re.match(r"\d+", word).group(0))
            found.spans.append(day.span())
        elif day_zh:
            found.trip_day = -1 if day_zh.group(2) else (_ZH_NUMBERS.get(day_zh.group(1)) or int(day_zh.group(1)))
            found.spans.append(day_zh.span())
        # the trip's place is the trip's, not a second filter
        found.place = [p for p in found.place if p != found.trip]
        found.spans += [m.span() for m in _TRIP_LEFTOVER.finditer(text)]
    return found


def without_place_names(query: str, places: PlaceRequest, index: NameIndex | None) -> str:
    """A search query (the model's English words) without the places the request named: "beach Portugal"
    -> "beach" (the place is a filter; as words it would be searched for by picture similarity)."""
    if not query or index is None or not (places.place or places.not_place or places.trip):
        return query
    named = set(places.place) | set(places.not_place) | ({places.trip} if places.trip else set())
    spans = [(m.start, m.end) for m in index.mentions(query) if m.name in named]
    kept = without_spans(query, spans)
    kept = re.sub(rf"\b(?:{_TRIP_WORDS})\b", " ", kept, flags=re.IGNORECASE) if places.trip else kept
    kept = re.sub(r"\b(?:in|from|at|near|to|of|the|our|my|last|first)\s*$", "", " ".join(kept.split()), flags=re.IGNORECASE)
    return " ".join(kept.split())
