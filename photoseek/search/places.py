"""Places in a search: the words that name a place, and the evidence a place filter leaves.

A search's words that name a place of the library ("beach Lisbon", "巴黎" once translated, "photos from
Tübingen") are a place filter, not words to find by likeness: the photo of a beach in Nice is no match
for "beach Lisbon" however much it looks like one. The names are read as the planner reads them
(places.names.NameIndex.mentions: "a paris-style café" and "nice weather" are no places).

A search filtered by place (`--place Lisbon`, "photos from Lisbon") returns only photos taken there;
each says so in its evidence (`met["Lisbon"] = "taken in Lisbon, Portugal (GPS)"`), which the match
levels count as a part of the request met (a filters-only search is a strong match; "beach" in
Lisbon is at least partial when no beach was found) and the reasons quote.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from photoseek.results import Filters, SearchResult
    from photoseek.store.catalog import Catalog
    from photoseek.store.places import PhotoPlace


def places_met(catalog: "Catalog", filters: "Filters", results: "list[SearchResult]",
               places: "dict[int, PhotoPlace | None]") -> None:
    """Add to each result's `evidence.met` the asked places its place answers to."""
    from photoseek.store.places import library_places, met_places

    known = library_places(catalog)
    for result in results:
        place = places.get(result.id)
        for asked in met_places(place, filters.place, known):
            result.evidence.met[asked] = place.phrase()


def places_in_words(catalog: "Catalog", query: dict[str, Any], english: str | None) -> dict[str, Any]:
    """The search's arguments with the library's places named in its words (`english`: the text as
    searched) moved to the place filters ("not in Germany" to not_place); unchanged when none is named."""
    from photoseek.places.names import without_spans
    from photoseek.results import Filters
    from photoseek.store.places import library_places

    if not english:
        return query
    places = library_places(catalog)
    if not places.rows:
        return query
    mentions = places.index.mentions(english)
    if not mentions:
        return query
    filters = query.get("filters") or Filters()
    place, not_place = list(filters.place), list(filters.not_place)
    for mention in mentions:
        target = not_place if mention.negated else place
        if mention.name not in target:
            target.append(mention.name)
    rest = without_spans(english, [(m.start, m.end) for m in mentions], lead_in=True)
    return {**query, "text": rest or None, "filters": replace(filters, place=place, not_place=not_place)}
