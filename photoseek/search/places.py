"""A place asked for, met: the evidence a place filter leaves on each result.

A search filtered by place (`--place Lisbon`, "photos from Lisbon") returns only photos taken there;
each says so in its evidence (`met["Lisbon"] = "taken in Lisbon, Portugal (GPS)"`), which the match
levels count as a part of the request met (a filters-only search is a strong match; "beach" in
Lisbon is at least partial when no beach was found) and the reasons quote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
