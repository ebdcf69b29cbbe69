"""The places pass of `index`: name where photos were taken, estimate where the others were, find trips.

Runs after every index run, from what the catalog already holds (photos.gps_lat/gps_lon, taken_at,
camera make and model): an existing library gets its places on its next `index` without any photo
being read again. Only what changed is named again: photos whose position changed or was never
named, the user's corrections, and every photo after a new gazetteer (GAZETTEER_ID). Estimates and
trips are recomputed from the named places whenever anything changed (a few hundred ms at 100k
photos). The gazetteer (~1 s) loads only when there is something to name.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from photoseek.places.estimate import Dated, device_of, estimate_places, parse_taken
from photoseek.places.gazetteer import GAZETTEER_ID, Gazetteer, Place
from photoseek.places.names import names_of_city, names_of_country, names_of_region
from photoseek.places.trips import Sighting, find_home, find_trips
from photoseek.progress import Progress, SilentProgress
from photoseek.store.places import HOME_KEY, bump_generation

if TYPE_CHECKING:
    import sqlite3

    from photoseek.store.catalog import Catalog

BATCH = 2000


@dataclass
class PlacesReport:
    named: int = 0  # photos whose GPS position was named (new, moved or re-named)
    corrected: int = 0  # photos named from the user's word
    estimated: int = 0  # photos without GPS that have an estimated place now
    located: int = 0  # photos with any place now
    unlocated: int = 0  # photos with none
    trips: int = 0
    home: str | None = None
    seconds: float = 0.0
    work_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


class _Writer:
    """Place rows by (level, name, country, region), inserted once with the names people type."""

    def __init__(self, conn: "sqlite3.Connection"):
        self.conn = conn
        self.ids = {(r[1], r[2], r[3], r[4]): r[0] for r in
                    conn.execute("SELECT id, level, name, country_code, region FROM places")}
        self.added = 0

    def place_id(self, level: str, name: str, code: str, region: str = "", lat: float | None = None,
                 lon: float | None = None, population: int | None = None) -> int:
        key = (level, name, code, region)
        found = self.ids.get(key)
        if found is not None:
            return found
        also: list[str] = []
        if level == "country":
            names = names_of_country(code, name)
        elif level == "region":
            names = names_of_region(code, name)
        elif level in ("city", "district") and lat is not None:
            names, also = names_of_city(code, name, lat, lon)
        else:
            names = []
        cursor = self.conn.execute(
            """INSERT INTO places(level, name, country_code, region, latitude, longitude, population, names, also)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (level, name, code, region, lat, lon, population, json.dumps(names, ensure_ascii=False),
             json.dumps(also, ensure_ascii=False)))
        self.ids[key] = cursor.lastrowid
        self.added += 1
        return cursor.lastrowid

    def write(self, photo_id: int, place: Place, source: str, lat: float | None, lon: float | None) -> None:
        code = place.country_code
        ids: dict[str, int | None] = {"city_id": None, "district_id": None, "metro_id": None, "county_id": None,
                                      "region_id": None, "country_id": None}
        for column, entry, level in (("city_id", place.city, "city"), ("district_id", place.district, "district"),
                                     ("metro_id", place.metro, "city")):
            if entry is not None:
                ids[column] = self.place_id(level, entry.name, entry.country_code, entry.region, entry.latitude,
                                            entry.longitude, entry.population)
        if place.county:
            ids["county_id"] = self.place_id("county", place.county, code, place.region)
        if place.region:
            ids["region_id"] = self.place_id("region", place.region, code)
        if place.country:
            ids["country_id"] = self.place_id("country", place.country, code)
        self.conn.execute(
            """INSERT OR REPLACE INTO photo_places(photo_id, source, precision, city_id, district_id, metro_id,
                   county_id, region_id, country_id, distance_km, latitude, longitude, from_photo_id, offset_seconds,
                   gazetteer)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)""",
            (photo_id, source, place.precision, *ids.values(), place.distance_km, lat, lon, GAZETTEER_ID))


def update_places(catalog: "Catalog", progress: Progress | None = None, *, changed: bool = True) -> PlacesReport:
    """Name what needs naming, then (when anything changed) estimate places and find trips again."""
    started = time.perf_counter()
    progress = progress or SilentProgress()
    report = PlacesReport()
    conn = catalog.conn
    work = report.work_seconds

    stale = conn.execute(
        """SELECT p.id, p.gps_lat, p.gps_lon FROM photos p
           LEFT JOIN photo_places pp ON pp.photo_id = p.id
           WHERE p.gps_lat IS NOT NULL AND p.id NOT IN (SELECT photo_id FROM place_feedback)
             AND (pp.photo_id IS NULL OR pp.source != 'gps' OR pp.latitude IS NOT p.gps_lat
                  OR pp.longitude IS NOT p.gps_lon OR pp.gazetteer != ?)""", (GAZETTEER_ID,)).fetchall()
    corrections = conn.execute(
        """SELECT f.photo_id, f.place, f.latitude, f.longitude FROM place_feedback f
           LEFT JOIN photo_places pp ON pp.photo_id = f.photo_id
           WHERE f.place IS NOT NULL AND (pp.photo_id IS NULL OR pp.source != 'user' OR pp.gazetteer != ?)""",
        (GAZETTEER_ID,)).fetchall()
    lost_gps = conn.execute(
        """SELECT count(*) FROM photo_places WHERE (source = 'gps' AND photo_id IN
               (SELECT id FROM photos WHERE gps_lat IS NULL))
           OR photo_id IN (SELECT photo_id FROM place_feedback WHERE place IS NULL)""").fetchone()[0]
    changed = changed or bool(stale or corrections or lost_gps) or catalog.get_meta("places_done") != GAZETTEER_ID
    if not changed:
        report.seconds = time.perf_counter() - started
        return report

    gazetteer = None
    if stale or corrections:
        step = time.perf_counter()
        gazetteer = Gazetteer.load()
        work["load"] = time.perf_counter() - step
    step = time.perf_counter()
    if stale:
        progress.start("Naming places", len(stale))
    for start in range(0, len(stale), BATCH):
        batch = stale[start:start + BATCH]
        named = gazetteer.lookup_many([(r[1], r[2]) for r in batch])
        with catalog.transaction():
            writer = _Writer(conn)
            for (pid, lat, lon), place in zip(batch, named):
                if place is None:  # (0, 0), out of range, or far out at sea: no place, no failure
                    conn.execute("DELETE FROM photo_places WHERE photo_id=?", (pid,))
                    continue
                writer.write(pid, place, "gps", lat, lon)
                report.named += 1
            bump_generation(catalog)
        progress.advance(len(batch))
    if stale:
        progress.finish()
    work["name"] = time.perf_counter() - step

    if corrections or lost_gps:
        with catalog.transaction():
            writer = _Writer(conn)
            for pid, text, lat, lon in corrections:
                place = gazetteer.named(text) if gazetteer is not None else None
                if place is None and lat is not None and gazetteer is not None:
                    place = gazetteer.lookup(lat, lon)
                if place is not None:
                    writer.write(pid, place, "user", lat, lon)
                    report.corrected += 1
            conn.execute("""DELETE FROM photo_places WHERE (source = 'gps' AND photo_id IN
                                (SELECT id FROM photos WHERE gps_lat IS NULL))
                            OR photo_id IN (SELECT photo_id FROM place_feedback WHERE place IS NULL)""")
            bump_generation(catalog)

    step = time.perf_counter()
    report.estimated = _estimate(catalog)
    work["estimate"] = time.perf_counter() - step
    step = time.perf_counter()
    home, trips = _trips(catalog)
    report.home, report.trips = home, trips
    work["trips"] = time.perf_counter() - step
    with catalog.transaction():
        conn.execute("""DELETE FROM places WHERE id NOT IN (
                            SELECT city_id FROM photo_places WHERE city_id IS NOT NULL
                            UNION SELECT district_id FROM photo_places WHERE district_id IS NOT NULL
                            UNION SELECT metro_id FROM photo_places WHERE metro_id IS NOT NULL
                            UNION SELECT county_id FROM photo_places WHERE county_id IS NOT NULL
                            UNION SELECT region_id FROM photo_places WHERE region_id IS NOT NULL
                            UNION SELECT country_id FROM photo_places WHERE country_id IS NOT NULL)""")
        catalog.set_meta("places_done", GAZETTEER_ID)
        bump_generation(catalog)
    report.located = conn.execute("SELECT count(*) FROM photo_places").fetchone()[0]
    report.unlocated = catalog.photo_count() - report.located
    report.seconds = time.perf_counter() - started
    return report


def _estimate(catalog: "Catalog") -> int:
    """Estimated places for photos without GPS or the user's word; old estimates that no longer hold
    are removed. Returns how many photos have an estimated place."""
    conn = catalog.conn
    rows = conn.execute(
        """SELECT p.id, p.taken_at, p.camera_make, p.camera_model, pp.source, pp.latitude, p.gps_lat,
                  p.id IN (SELECT photo_id FROM place_feedback) AS corrected, pp.city_id, pp.region_id
           FROM photos p LEFT JOIN photo_places pp ON pp.photo_id = p.id""").fetchall()
    known, unknown = [], []
    for pid, taken, make, model, source, lat, gps_lat, corrected, city, region in rows:
        when, device = parse_taken(taken), device_of(make, model)
        if when is None or device is None:
            continue
        if source in ("gps", "user") and lat is not None:
            known.append(Dated(pid, when, device, city or region))
        elif source in (None, "estimated") and not corrected and gps_lat is None:
            # (a photo whose own GPS named no place, far out at sea, is not moved ashore by an estimate)
            unknown.append(Dated(pid, when, device))
    estimates = {e.photo_id: e for e in estimate_places(unknown, known)}
    current = {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT photo_id, from_photo_id, offset_seconds FROM photo_places WHERE source = 'estimated'")}
    gone = [pid for pid in current if pid not in estimates]
    fresh = [e for e in estimates.values() if current.get(e.photo_id) != (e.from_photo_id, e.offset_seconds)]
    if gone or fresh:
        with catalog.transaction():
            conn.executemany("DELETE FROM photo_places WHERE photo_id=? AND source='estimated'", [(p,) for p in gone])
            conn.executemany(
                """INSERT OR REPLACE INTO photo_places(photo_id, source, precision, city_id, district_id, metro_id,
                       county_id, region_id, country_id, distance_km, latitude, longitude, from_photo_id,
                       offset_seconds, gazetteer)
                   SELECT ?, 'estimated', precision, city_id, district_id, metro_id, county_id, region_id,
                          country_id, distance_km, latitude, longitude, photo_id, ?, gazetteer
                   FROM photo_places WHERE photo_id = ?""",
                [(e.photo_id, e.offset_seconds, e.from_photo_id) for e in fresh])
            bump_generation(catalog)
    return len(estimates)


def _trips(catalog: "Catalog") -> tuple[str | None, int]:
    """Home and trips from the photos' places and days, stored (trips, trip_photos, meta home)."""
    conn = catalog.conn
    rows = conn.execute(
        """SELECT p.id, p.taken_at, pp.latitude, pp.longitude, c.name, r.name, n.name, n.country_code
           FROM photos p LEFT JOIN photo_places pp ON pp.photo_id = p.id
           LEFT JOIN places c ON c.id = pp.city_id LEFT JOIN places r ON r.id = pp.region_id
           LEFT JOIN places n ON n.id = pp.country_id
           WHERE p.taken_at IS NOT NULL""").fetchall()
    sightings = []
    for pid, taken, lat, lon, city, region, country, code in rows:
        when = parse_taken(taken)
        if when is None:
            continue
        sightings.append(Sighting(pid, when.date(), lat, lon, city, region, country, code, when))
    home = find_home(sightings)
    trips = find_trips(sightings, home)
    with catalog.transaction():
        conn.execute("DELETE FROM trip_photos")
        conn.execute("DELETE FROM trips")
        for trip in trips:
            cursor = conn.execute("INSERT INTO trips(name, start_date, end_date, photos, places) VALUES (?, ?, ?, ?, ?)",
                                  (trip.name, trip.start.isoformat(), trip.end.isoformat(), trip.photos,
                                   json.dumps(trip.places, ensure_ascii=False)))
            conn.executemany("INSERT INTO trip_photos(trip_id, photo_id, day) VALUES (?, ?, ?)",
                             [(cursor.lastrowid, pid, day) for pid, day in trip.days.items()])
        if home is None:
            conn.execute("DELETE FROM meta WHERE key=?", (HOME_KEY,))
        else:
            catalog.set_meta(HOME_KEY, json.dumps({"name": home.name, "country": home.country,
                                                   "country_code": home.country_code, "latitude": home.latitude,
                                                   "longitude": home.longitude, "days": home.days,
                                                   "label": home.label()}, ensure_ascii=False))
        bump_generation(catalog)
    return (home.label() if home else None), len(trips)

