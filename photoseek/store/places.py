"""Places in the catalog: each photo's place and how it is known, the places' names, the user's
corrections, home and trips (tables from the "places" migration in store.schema).

Writes happen in `photoseek.ingest.places` (the places pass of `index`) and in `set_place_feedback`;
everything else here reads: the library's names as a `LibraryPlaces` (what filters and the planner
match words against), the photos in a place, one photo's place for its evidence, the country → region
→ city tree, home and trips.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from photoseek.errors import PhotoseekError
from photoseek.places.estimate import offset_words
from photoseek.places.gazetteer import place_label
from photoseek.places.names import NameIndex, PlaceName, fold, has_cjk

if TYPE_CHECKING:
    import sqlite3

    from photoseek.store.catalog import Catalog

#: photo_places column per place level (a city may also be a photo's metro)
LEVEL_COLUMNS = {"country": ("country_id",), "region": ("region_id",), "county": ("county_id",),
                 "city": ("city_id", "metro_id"), "district": ("district_id",)}
PLACES_GENERATION = "places_generation"  # meta key, bumped whenever places or trips change
HOME_KEY = "home"  # meta key: JSON of places.trips.Home, or absent
SOURCES = ("gps", "estimated", "user")
SOURCE_WORDS = {"gps": "GPS", "user": "set by you"}


# -- one photo's place -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoPlace:
    """Where one photo was taken, as a reason or a page shows it."""

    photo_id: int
    source: str  # 'gps' | 'estimated' | 'user'
    precision: str  # 'city' | 'near' | 'region'
    city: str | None
    district: str | None
    metro: str | None
    county: str | None
    region: str | None
    country: str | None
    country_code: str | None
    place_ids: frozenset[int]  # every level's place id (what a place filter matched)
    latitude: float | None = None
    longitude: float | None = None
    from_photo_id: int | None = None
    offset_seconds: int | None = None

    def label(self, *, with_region: bool = False) -> str:
        """'Lisbon, Portugal', 'near Revelstoke, British Columbia, Canada', 'Northeast, Iceland'."""
        return place_label(self.city, self.metro, self.region, self.country, self.precision, with_region=with_region)

    def how(self) -> str:
        """How the place is known: 'GPS', 'set by you', 'estimated from photos taken 20 min earlier in Lisbon'."""
        if self.source == "estimated":
            where = self.city or self.region or self.country or "there"
            when = offset_words(self.offset_seconds or 0)
            when = "in the same minute" if when == "the same minute" else when
            return f"estimated from photos taken {when} in {where}"
        return SOURCE_WORDS.get(self.source, self.source)

    def phrase(self) -> str:
        """'taken in Lisbon, Portugal (GPS)'; 'taken near Revelstoke, … (GPS)'."""
        label = self.label()
        return f"taken {label if label.startswith('near ') else 'in ' + label} ({self.how()})"

    def names(self) -> list[str]:
        return [n for n in (self.district, self.city, self.metro, self.county, self.region, self.country) if n]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label(), "source": self.source, "how": self.how(),
                               "precision": self.precision}
        for key in ("city", "district", "metro", "county", "region", "country", "country_code"):
            value = getattr(self, key)
            if value:
                out[key] = value
        if self.source == "estimated":
            out["from_photo"] = self.from_photo_id
            out["offset_seconds"] = self.offset_seconds
        return out


def photo_places(conn: "sqlite3.Connection", ids: Iterable[int]) -> dict[int, PhotoPlace]:
    """The places of these photos (photos with none are left out)."""
    id_list = ",".join(str(int(i)) for i in ids)
    if not id_list:
        return {}
    rows = conn.execute(
        f"""SELECT pp.photo_id, pp.source, pp.precision, pp.latitude, pp.longitude, pp.from_photo_id,
                   pp.offset_seconds, pp.city_id, pp.district_id, pp.metro_id, pp.county_id, pp.region_id,
                   pp.country_id, c.name, d.name, m.name, co.name, r.name, n.name, n.country_code
            FROM photo_places pp
            LEFT JOIN places c ON c.id = pp.city_id LEFT JOIN places d ON d.id = pp.district_id
            LEFT JOIN places m ON m.id = pp.metro_id LEFT JOIN places co ON co.id = pp.county_id
            LEFT JOIN places r ON r.id = pp.region_id LEFT JOIN places n ON n.id = pp.country_id
            WHERE pp.photo_id IN ({id_list})""").fetchall()
    out = {}
    for row in rows:
        (pid, source, precision, lat, lon, from_photo, offset, *level_ids) = row[:13]
        city, district, metro, county, region, country, code = row[13:]
        out[pid] = PhotoPlace(pid, source, precision, city, district, metro, county, region, country, code,
                              frozenset(i for i in level_ids if i is not None), lat, lon, from_photo, offset)
    return out


def photo_place(conn: "sqlite3.Connection", photo_id: int) -> PhotoPlace | None:
    return photo_places(conn, [photo_id]).get(int(photo_id))


# -- the library's place names ----------------------------------------------------------------------------


@dataclass
class LibraryPlaces:
    """The places the library's photos were taken in, with the names people type for them: what place
    filters and the planner match words against. `ids`: a place -> its rows' ids (one name may be
    several rows: two Springfields in one country)."""

    index: NameIndex
    ids: dict[PlaceName, list[int]] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> {level, name, country_code, region}

    def resolve(self, text: str) -> list[int]:
        """The place ids a place argument names: "Lisbon", "lisboa", "巴黎", "USA", "Paris, France",
        "Portland, Oregon" (the words after a comma must be the place's region or country)."""
        parts = [p.strip() for p in str(text).split(",") if p.strip()] if not has_cjk(text) else [str(text).strip()]
        if not parts:
            return []
        ids = [i for place in self.index.resolve(parts[0]) for i in self.ids.get(place, [])]
        for qualifier in parts[1:]:
            wanted = {i for place in self.index.resolve(qualifier) for i in self.ids.get(place, [])}
            names = {fold(self.rows[i]["name"]) for i in wanted} | {fold(qualifier)}
            codes = {self.rows[i]["country_code"] for i in wanted if self.rows[i]["level"] == "country"}
            ids = [i for i in ids if fold(self.rows[i]["region"]) in names or self.rows[i]["country_code"] in codes
                   or (self.rows[i]["level"] == "region" and self.rows[i]["country_code"] in codes)]
        return ids

    def names(self) -> list[str]:
        """Every place's name, countries first, for messages ("places: Portugal, Lisbon, ...")."""
        order = {level: n for n, level in enumerate(("country", "region", "city", "county", "district"))}
        rows = sorted(self.rows.values(), key=lambda r: (order.get(r["level"], 9), r["name"]))
        return list(dict.fromkeys(r["name"] for r in rows))


_CACHE: dict[tuple[str, str], LibraryPlaces] = {}
_CACHE_LOCK = threading.Lock()


def library_places(catalog: "Catalog") -> LibraryPlaces:
    """The library's places, read once per places generation (the places pass bumps it)."""
    key = (str(catalog.path), catalog.get_meta(PLACES_GENERATION, "0") or "0")
    with _CACHE_LOCK:
        found = _CACHE.get(key)
    if found is not None:
        return found
    built = _read_library_places(catalog.conn)
    with _CACHE_LOCK:
        for old in [k for k in _CACHE if k[0] == key[0]]:
            del _CACHE[old]
        _CACHE[key] = built
    return built


_NAMES_CACHE: dict[tuple[str, str], NameIndex] = {}


def place_names(catalog: "Catalog") -> NameIndex:
    """The names a request may name places by: the library's places, then the world's countries and big
    cities (places.names.world_index: ~1 s once a process), for the planner."""
    from photoseek.places.names import world_index

    key = (str(catalog.path), catalog.get_meta(PLACES_GENERATION, "0") or "0")
    with _CACHE_LOCK:
        found = _NAMES_CACHE.get(key)
    if found is not None:
        return found
    merged = library_places(catalog).index.merge(world_index())
    with _CACHE_LOCK:
        for old in [k for k in _NAMES_CACHE if k[0] == key[0]]:
            del _NAMES_CACHE[old]
        _NAMES_CACHE[key] = merged
    return merged


def _read_library_places(conn: "sqlite3.Connection") -> LibraryPlaces:
    index = NameIndex()
    out = LibraryPlaces(index)
    for row in conn.execute("SELECT id, level, name, country_code, region, names, also FROM places ORDER BY "
                            "coalesce(population, 0) DESC, id"):
        place = PlaceName(row[1], row[2], row[3])
        index.add(place, json.loads(row[5] or "[]"), json.loads(row[6] or "[]"))
        out.ids.setdefault(place, []).append(row[0])
        out.rows[row[0]] = {"level": row[1], "name": row[2], "country_code": row[3], "region": row[4]}
    return out


def bump_generation(catalog: "Catalog") -> None:
    """Call inside the transaction that changed places, photo places or trips."""
    catalog.set_meta(PLACES_GENERATION, str(int(catalog.get_meta(PLACES_GENERATION, "0") or "0") + 1))


# -- photos in places (the filters) -------------------------------------------------------------------------


def photos_in_places(catalog: "Catalog", names: Iterable[str]) -> tuple[set[int], list[str]]:
    """(ids of the photos taken in any of these places, the names no photo's place answers to)."""
    places = library_places(catalog)
    found: set[int] = set()
    unknown: list[str] = []
    for name in names:
        ids = places.resolve(name)
        if not ids:
            unknown.append(name)
            continue
        by_column: dict[str, list[int]] = {}
        for place_id in ids:
            for column in LEVEL_COLUMNS[places.rows[place_id]["level"]]:
                by_column.setdefault(column, []).append(place_id)
        for column, column_ids in by_column.items():
            marks = ",".join("?" * len(column_ids))
            found.update(r[0] for r in catalog.conn.execute(
                f"SELECT photo_id FROM photo_places WHERE {column} IN ({marks})", column_ids))
    return found, unknown


def located_count(conn: "sqlite3.Connection") -> int:
    """Photos with a known place (GPS, estimated or set by the user)."""
    return conn.execute("SELECT count(*) FROM photo_places").fetchone()[0]


def unlocated_count(conn: "sqlite3.Connection") -> int:
    return conn.execute("SELECT count(*) FROM photos WHERE id NOT IN (SELECT photo_id FROM photo_places)").fetchone()[0]


def met_places(place: PhotoPlace | None, asked: Iterable[str], places: LibraryPlaces) -> list[str]:
    """Which of the asked place names this photo's place answers to."""
    if place is None:
        return []
    return [name for name in asked if set(places.resolve(name)) & place.place_ids]


# -- what the library has: the tree of places, home, trips -------------------------------------------------


def place_tree(conn: "sqlite3.Connection") -> dict[str, Any]:
    """Countries -> regions -> cities with photo counts (and how many of them are estimated), most
    photos first; `unknown`: photos with no known place."""
    rows = conn.execute(
        """SELECT n.name, n.country_code, r.name, c.name, pp.precision, pp.source, count(*)
           FROM photo_places pp LEFT JOIN places n ON n.id = pp.country_id
           LEFT JOIN places r ON r.id = pp.region_id LEFT JOIN places c ON c.id = pp.city_id
           GROUP BY 1, 2, 3, 4, 5, 6""").fetchall()
    countries: dict[tuple, dict[str, Any]] = {}
    for country, code, region, city, precision, source, count in rows:
        c = countries.setdefault((country, code), {"country": country, "code": code, "photos": 0, "estimated": 0,
                                                   "regions": {}})
        r = c["regions"].setdefault(region or "", {"region": region or "", "photos": 0, "estimated": 0, "cities": {}})
        name = (f"near {city}" if precision == "near" else city) if city else "away from towns"
        t = r["cities"].setdefault(name, {"city": name, "photos": 0, "estimated": 0})
        estimated = count if source == "estimated" else 0
        for level in (c, r, t):
            level["photos"] += count
            level["estimated"] += estimated

    def ordered(items: Iterable[dict], child: str | None) -> list[dict]:
        out = sorted(items, key=lambda d: (-d["photos"], str(d.get("country") or d.get("region") or d.get("city"))))
        for item in out:
            if child:
                item[child] = ordered(item[child].values(), "cities" if child == "regions" else None)
        return out

    return {"countries": ordered(countries.values(), "regions"), "unknown": unlocated_count(conn),
            "located": located_count(conn)}


def read_home(catalog: "Catalog") -> dict[str, Any] | None:
    value = catalog.get_meta(HOME_KEY)
    return json.loads(value) if value else None


def read_trips(conn: "sqlite3.Connection") -> list[dict[str, Any]]:
    """The trips, oldest first: {id, name, start, end, days, photos, places}."""
    out = []
    for row in conn.execute("SELECT id, name, start_date, end_date, photos, places FROM trips ORDER BY start_date, id"):
        from datetime import date

        days = (date.fromisoformat(row[3]) - date.fromisoformat(row[2])).days + 1
        out.append({"id": row[0], "name": row[1], "start": row[2], "end": row[3], "days": days, "photos": row[4],
                    "places": json.loads(row[5])})
    return out


def trip_label(trip: dict[str, Any]) -> str:
    """'Portugal, 2019-06-02 → 2019-06-12, 214 photos'."""
    when = trip["start"] if trip["start"] == trip["end"] else f"{trip['start']} → {trip['end']}"
    return f"{trip['name']}, {when}, {trip['photos']} photo{'s' if trip['photos'] != 1 else ''}"


TRIP_WORDS = {"last": -1, "latest": -1, "most recent": -1, "recent": -1, "first": 0, "earliest": 0}


def matching_trips(catalog: "Catalog", trip: str) -> list[dict[str, Any]]:
    """The trips a trip argument names: "last" / "latest" / "first", a start date ("2019-06-02"), a
    year or month ("2019", "2019-06": the trips then), a trip number ("3"), or a place the trip went to
    ("Japan", "日本", "Lisbon")."""
    trips = read_trips(catalog.conn)
    text = " ".join(str(trip).split()).strip()
    if not trips or not text:
        return []
    key = fold(text)
    if key in TRIP_WORDS:
        return [trips[TRIP_WORDS[key]]]
    if text.isdigit() and len(text) < 4:
        number = int(text)
        return [trips[number - 1]] if 1 <= number <= len(trips) else []
    if text[:4].isdigit():
        return [t for t in trips if t["start"].startswith(text) or t["end"].startswith(text)
                or t["start"] <= text <= t["end"]]
    places = library_places(catalog)
    ids = set(places.resolve(text))
    if not ids:
        return [t for t in trips if fold(t["name"]) == key or key in fold(t["name"]).split(" and ")]
    found = []
    for t in trips:
        in_trip = catalog.conn.execute(
            f"""SELECT 1 FROM trip_photos tp JOIN photo_places pp ON pp.photo_id = tp.photo_id
                WHERE tp.trip_id = ? AND (pp.city_id IN ({','.join(map(str, ids))}) OR pp.metro_id IN
                ({','.join(map(str, ids))}) OR pp.region_id IN ({','.join(map(str, ids))}) OR pp.country_id IN
                ({','.join(map(str, ids))}) OR pp.district_id IN ({','.join(map(str, ids))}) OR pp.county_id IN
                ({','.join(map(str, ids))})) LIMIT 1""", (t["id"],)).fetchone()
        if in_trip:
            found.append(t)
    return found


def trip_photo_ids(catalog: "Catalog", trip: str, day: int | None = None) -> tuple[set[int], list[dict[str, Any]]]:
    """(the photos of the trips `trip` names — on their `day`-th day only when given, 1 = the first,
    -1 = the last —, those trips)."""
    trips = matching_trips(catalog, trip)
    ids: set[int] = set()
    for t in trips:
        if day is None:
            ids.update(r[0] for r in catalog.conn.execute("SELECT photo_id FROM trip_photos WHERE trip_id=?", (t["id"],)))
            continue
        wanted = day if day > 0 else t["days"] + 1 + day
        ids.update(r[0] for r in catalog.conn.execute(
            "SELECT photo_id FROM trip_photos WHERE trip_id=? AND day=?", (t["id"], wanted)))
    return ids, trips


# -- the user's word ---------------------------------------------------------------------------------------


def set_place_feedback(catalog: "Catalog", photo_id: int, place: str | None, latitude: float | None,
                       longitude: float | None) -> None:
    """The user's place for a photo (None: it has no known place); wins over its GPS and any estimate,
    and indexing never changes it. Call `ingest.places.update_places` after, to name it."""
    from photoseek.store.catalog import utc_now

    with catalog.transaction() as conn:
        conn.execute(
            """INSERT INTO place_feedback(photo_id, place, latitude, longitude, at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(photo_id) DO UPDATE SET place=excluded.place, latitude=excluded.latitude,
               longitude=excluded.longitude, at=excluded.at""",
            (int(photo_id), place, latitude, longitude, utc_now()))
        # named again by the next places pass
        conn.execute("DELETE FROM photo_places WHERE photo_id=?", (int(photo_id),))
        bump_generation(catalog)


def clear_place_feedback(catalog: "Catalog", photo_id: int) -> bool:
    """Forget the user's place for a photo (its GPS or an estimate names it again). False if there was none."""
    with catalog.transaction() as conn:
        gone = conn.execute("DELETE FROM place_feedback WHERE photo_id=?", (int(photo_id),)).rowcount
        if gone:
            conn.execute("DELETE FROM photo_places WHERE photo_id=?", (int(photo_id),))
            bump_generation(catalog)
    return bool(gone)


def place_feedback(conn: "sqlite3.Connection", photo_id: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT place, latitude, longitude, at FROM place_feedback WHERE photo_id=?",
                       (int(photo_id),)).fetchone()
    return {"place": row[0], "latitude": row[1], "longitude": row[2], "at": row[3]} if row else None
