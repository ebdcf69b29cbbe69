"""Home and trips, from where and when photos were taken.

  home   the city (or, far from towns, the region) with the most *days* of photos: a fortnight abroad
         makes many photos but few days, home makes some photos on many days
  away   a located photo more than HOME_RADIUS_KM from home, in another city
  trip   consecutive days with photos away from home; a day with photos at home ends a trip, a day
         with no photos at all does not (MAX_QUIET_DAYS of them in a row at most). A day that starts
         at home and ends away (or back) belongs to the trip, but its home photos do not. Photos with
         no known position taken on a trip's days belong to it, except on its first (last) day before
         the first (after the last) photo away.
  name   abroad, the countries visited ("Portugal", "Japan and South Korea"); in the home country, the
         cities most photographed ("Sintra", "Porto and Braga")
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable

from photoseek.places.gazetteer import distance_km

HOME_RADIUS_KM = 25.0
MAX_QUIET_DAYS = 2
NAMED_PLACES = 2  # a trip's name lists at most this many countries or cities


@dataclass(frozen=True)
class Sighting:
    """One photo as trips see it: its day, and its place when known (`city` None far from towns)."""

    photo_id: int
    day: date
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    country_code: str | None = None
    taken: datetime | None = None  # when, for photos with no position on the days a trip starts or ends

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class Home:
    name: str  # the city (or region)
    country: str
    country_code: str
    latitude: float
    longitude: float
    days: int  # days with photos there

    def label(self) -> str:
        return f"{self.name}, {self.country}" if self.country and self.country != self.name else self.name


@dataclass
class Trip:
    name: str
    start: date
    end: date
    days: dict[int, int] = field(default_factory=dict)  # photo id -> day of the trip (1 = first)
    places: list[dict] = field(default_factory=list)  # [{"name", "country", "photos"}], most photos first

    @property
    def photos(self) -> int:
        return len(self.days)

    def label(self) -> str:
        """'Portugal, 2019-06-02 → 2019-06-12, 214 photos'."""
        when = self.start.isoformat() if self.start == self.end else f"{self.start.isoformat()} → {self.end.isoformat()}"
        return f"{self.name}, {when}, {self.photos} photo{'s' if self.photos != 1 else ''}"


def find_home(sightings: Iterable[Sighting]) -> Home | None:
    """Where most days of photos were taken (None when no photo has a position)."""
    days: dict[tuple[str, str], set[date]] = {}
    where: dict[tuple[str, str], list[Sighting]] = {}
    for s in sightings:
        if not s.located:
            continue
        key = (s.city or s.region or s.country or "", s.country_code or "")
        days.setdefault(key, set()).add(s.day)
        where.setdefault(key, []).append(s)
    if not days:
        return None
    key = max(days, key=lambda k: (len(days[k]), len(where[k]), k))
    seen = where[key]
    lat = sorted(s.latitude for s in seen)[len(seen) // 2]  # the median: one stray position moves nothing
    lon = sorted(s.longitude for s in seen)[len(seen) // 2]
    return Home(key[0], seen[0].country or "", key[1], float(lat), float(lon), len(days[key]))


def is_away(sighting: Sighting, home: Home) -> bool:
    if not sighting.located:
        return False
    if sighting.city and sighting.city == home.name and sighting.country_code == home.country_code:
        return False
    return distance_km(sighting.latitude, sighting.longitude, home.latitude, home.longitude) > HOME_RADIUS_KM


def _outside_the_trip(sighting: Sighting, day: date, start: date, end: date, away_times: list[datetime]) -> bool:
    """A photo with no position on the day a trip starts (ends) but before the first (after the last) photo
    away from home that day: taken at home before leaving (after coming back), as far as anyone knows."""
    if sighting.taken is None or not away_times:
        return False
    return (day == start and sighting.taken < min(away_times)) or (day == end and sighting.taken > max(away_times))


def find_trips(sightings: Iterable[Sighting], home: Home | None) -> list[Trip]:
    """The trips, oldest first (see the module docstring)."""
    if home is None:
        return []
    by_day: dict[date, list[Sighting]] = {}
    for s in sightings:
        by_day.setdefault(s.day, []).append(s)
    away_days = sorted(d for d, seen in by_day.items() if any(is_away(s, home) for s in seen))
    runs: list[list[date]] = []
    for day in away_days:
        if runs:
            last = runs[-1][-1]
            quiet = (day - last).days - 1
            between_home = any(
                any(s.located and not is_away(s, home) for s in by_day.get(last + timedelta(days=i), []))
                for i in range(1, (day - last).days))
            if quiet <= MAX_QUIET_DAYS and not between_home:
                runs[-1].append(day)
                continue
        runs.append([day])
    trips = []
    for run in runs:
        start, end = run[0], run[-1]
        trip_days: dict[int, int] = {}
        counted: Counter = Counter()
        countries: Counter = Counter()
        abroad = False
        day = start
        while day <= end:
            seen = by_day.get(day, [])
            away_times = [s.taken for s in seen if is_away(s, home) and s.taken is not None]
            for s in seen:
                if s.located and not is_away(s, home):
                    continue  # the morning at home before leaving, the evening back
                if not s.located and _outside_the_trip(s, day, start, end, away_times):
                    continue
                trip_days[s.photo_id] = (day - start).days + 1
                if s.located:
                    counted[(s.city or s.region or s.country or "", s.country or "")] += 1
                    if s.country_code != home.country_code:
                        countries[s.country or ""] += 1
                        abroad = True
            day += timedelta(days=1)
        places = [{"name": name, "country": country, "photos": n} for (name, country), n in counted.most_common()]
        if abroad:
            named = [c for c, _ in countries.most_common() if c][:NAMED_PLACES]
        else:
            named = [p["name"] for p in places if p["name"]][:NAMED_PLACES]
        trips.append(Trip(" and ".join(named) or "a trip", start, end, trip_days, places))
    return trips
