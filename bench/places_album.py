"""A controlled album for places, estimates and trips: copies of COCO photos with EXIF dates, camera and
GPS written in (piexif), as a simulated life — home in Munich (2021–2023), two day trips (Augsburg,
Salzburg), a weekend in Berlin, and three trips abroad (Portugal: Lisbon and Porto; Japan: Tokyo and
Kyoto; France: Paris and Nice) — with the queries whose answers are known by construction, in
`photoseek eval answers` form (concepts.jsonl, English and Chinese; empty.jsonl: places with no photo).

    .venv/bin/python bench/places_album.py /tmp/album                # every phone photo has its GPS
    .venv/bin/python bench/places_album.py /tmp/album-half --hide-half  # GPS removed from every other one
    .venv/bin/photoseek eval answers /tmp/album --empty /tmp/album/empty.jsonl

truth.json lists each photo's true place, day and trip, for bench/places.py (estimated places, trips).
Nothing here is committed but this script: the photos are COCO's (../shared/data/coco-captions).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
COCO = ROOT.parent / "shared" / "data" / "coco-captions"
PHONE = ("Apple", "iPhone 12")

# (name, latitude, longitude, how far photos stray from the centre in km, country, region)
CITIES = {
    "Munich": (48.13743, 11.57549, 4.0, "Germany"),
    "Augsburg": (48.37154, 10.89851, 1.5, "Germany"),
    "Salzburg": (47.79941, 13.04399, 1.2, "Austria"),
    "Berlin": (52.52437, 13.41053, 4.0, "Germany"),
    "Lisbon": (38.71667, -9.13333, 2.5, "Portugal"),
    "Porto": (41.14961, -8.61099, 1.5, "Portugal"),
    "Tokyo": (35.6895, 139.69171, 4.0, "Japan"),
    "Kyoto": (35.02107, 135.75385, 2.5, "Japan"),
    "Paris": (48.85341, 2.3488, 3.0, "France"),
    "Nice": (43.70313, 7.26608, 1.5, "France"),
}
# trips away from home: (name, [(city, first day, days)]) — each day gets PHOTOS_A_DAY photos
TRIPS = [
    ("Augsburg", [("Augsburg", date(2021, 9, 12), 1)]),
    ("Portugal", [("Lisbon", date(2021, 6, 2), 6), ("Porto", date(2021, 6, 8), 4)]),
    ("Japan", [("Tokyo", date(2022, 4, 1), 6), ("Kyoto", date(2022, 4, 7), 4)]),
    ("Salzburg", [("Salzburg", date(2022, 8, 20), 1)]),
    ("Berlin", [("Berlin", date(2022, 11, 11), 3)]),
    ("France", [("Paris", date(2023, 9, 15), 4), ("Nice", date(2023, 9, 19), 3)]),
]
PHOTOS_A_DAY = 4
NIGHT_DAYS = {("Lisbon", 1), ("Lisbon", 3), ("Tokyo", 2), ("Tokyo", 4)}  # (city, day of the stay): one photo at 22:40
HOME_DAYS = 100
SCANS = 8  # old prints scanned: no date, no camera, no position


@dataclass
class Photo:
    file: str
    source: str  # the COCO file copied
    city: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    taken: str | None
    trip: str | None  # the trip's name, None at home
    trip_day: int | None
    night: bool
    gps_hidden: bool = False


def _jitter(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    import math

    distance, bearing = km * math.sqrt(rng.random()), rng.random() * 2 * math.pi
    return (round(lat + distance * math.cos(bearing) / 111.0, 6),
            round(lon + distance * math.sin(bearing) / (111.0 * math.cos(math.radians(lat))), 6))


def plan_life(rng: random.Random) -> list[dict]:
    """Every photo's city, time and trip (files assigned later)."""
    shots: list[dict] = []
    trip_dates: set[date] = set()
    for name, stays in TRIPS:
        first = stays[0][1]
        last = stays[-1][1] + timedelta(days=stays[-1][2] - 1)
        # leaving in the morning and coming back at night: a photo at home on the first and last day
        if last > first:
            shots.append({"city": "Munich", "when": datetime.combine(first, datetime.min.time()).replace(hour=7, minute=40),
                          "trip": None, "trip_day": None, "night": False})
            shots.append({"city": "Munich", "when": datetime.combine(last, datetime.min.time()).replace(hour=22, minute=50),
                          "trip": None, "trip_day": None, "night": True})
        for city, start, days in stays:
            for d in range(days):
                day = start + timedelta(days=d)
                trip_dates.add(day)
                for n in range(PHOTOS_A_DAY):
                    night = (city, d + 1) in NIGHT_DAYS and n == PHOTOS_A_DAY - 1
                    hour, minute = (22, 40) if night else (9 + 2 * n, rng.randrange(60))  # 9:00-15:59: day
                    shots.append({"city": city, "when": datetime.combine(day, datetime.min.time()).replace(
                        hour=hour, minute=minute), "trip": name, "trip_day": (day - first).days + 1, "night": night})
    # home: days that are not trip days nor next to one
    near_trips = {d + timedelta(days=k) for d in trip_dates for k in (-1, 0, 1)}
    days = [date(2021, 1, 1) + timedelta(days=i) for i in range((date(2023, 12, 31) - date(2021, 1, 1)).days + 1)]
    home_days = sorted(rng.sample([d for d in days if d not in near_trips], HOME_DAYS))
    for i, day in enumerate(home_days):
        for n in range(1 + (i % 3 == 0)):
            night = i % 10 == 5 and n == 0
            hour = 22 if night else 10 + 4 * n
            shots.append({"city": "Munich", "when": datetime.combine(day, datetime.min.time()).replace(
                hour=hour, minute=rng.randrange(60)), "trip": None, "trip_day": None, "night": night})
    shots.sort(key=lambda s: s["when"])
    return shots


def _exif(photo: Photo) -> bytes:
    from tests.places_support import gps_exif

    position = None if photo.latitude is None or photo.gps_hidden else (photo.latitude, photo.longitude)
    return gps_exif(position, photo.taken, PHONE)


def build(out: Path, *, hide_half: bool = False, seed: int = 25) -> list[Photo]:
    import piexif

    rng = random.Random(seed)
    shots = plan_life(rng)
    sources = sorted((COCO / "images").glob("*.jpg"))
    concepts = {json.loads(line)["query"]: json.loads(line) for line in (COCO / "concepts.jsonl").read_text().splitlines()
                if line.strip()}
    beaches = [COCO / f for f in concepts["beach"]["relevant"]]
    others = [s for s in sources if s not in set(beaches)]
    rng.shuffle(others)
    if len(shots) + SCANS > len(sources):
        raise SystemExit(f"the album needs {len(shots) + SCANS} photos; COCO has {len(sources)}")
    # the beach photos go to the seaside (Lisbon, Porto, Nice): "beach photos from Portugal" has answers
    seaside = [i for i, s in enumerate(shots) if s["city"] in ("Lisbon", "Porto", "Nice") and not s["night"]]
    beach_slots = dict(zip(rng.sample(seaside, len(beaches)), beaches))
    if out.exists():
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True)
    photos: list[Photo] = []
    phone_index = 0
    for i, shot in enumerate(shots):
        source = beach_slots.get(i) or others.pop()
        lat, lon, km, country = CITIES[shot["city"]]
        lat, lon = _jitter(rng, lat, lon, km)
        hidden = hide_half and phone_index % 2 == 1
        phone_index += 1
        photo = Photo(f"images/IMG_{i + 1:04d}.jpg", source.name, shot["city"], country, lat, lon,
                      shot["when"].isoformat(timespec="seconds"), shot["trip"], shot["trip_day"], shot["night"], hidden)
        target = out / photo.file
        shutil.copyfile(source, target)
        piexif.insert(_exif(photo), str(target))
        photos.append(photo)
    for n in range(SCANS):  # scans: no EXIF at all
        source = others.pop()
        photo = Photo(f"images/SCAN_{n + 1:04d}.jpg", source.name, None, None, None, None, None, None, None, False)
        shutil.copyfile(source, out / photo.file)
        photos.append(photo)
    (out / "truth.json").write_text(json.dumps([asdict(p) for p in photos], indent=1, ensure_ascii=False))
    queries, empty = _queries(photos, concepts)
    (out / "concepts.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries))
    (out / "empty.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in empty))
    return photos


def _queries(photos: list[Photo], concepts: dict) -> tuple[list[dict], list[dict]]:
    def files(test) -> list[str]:
        return [p.file for p in photos if test(p)]

    scans = files(lambda p: p.city is None)
    beach = {f for f in concepts["beach"]["relevant"]}
    last_trip = TRIPS[-1][0]
    in_city = {city: (lambda p, c=city: p.city == c) for city in CITIES}
    in_country = lambda country: (lambda p: p.country == country)  # noqa: E731
    lisbon_first = TRIPS[1][1][0][1]
    q = [
        ("photos from Lisbon", in_city["Lisbon"]),
        ("photos from Portugal", in_country("Portugal")),
        ("pictures taken in Porto", in_city["Porto"]),
        ("photos from Tokyo", in_city["Tokyo"]),
        ("photos from Japan", in_country("Japan")),
        ("Kyoto", in_city["Kyoto"]),
        ("photos from Paris", in_city["Paris"]),
        ("photos from France", in_country("France")),
        ("photos from Nice", in_city["Nice"]),
        ("photos from Munich", in_city["Munich"]),
        ("photos from München", in_city["Munich"]),
        ("photos from Berlin", in_city["Berlin"]),
        ("photos from Salzburg", in_city["Salzburg"]),
        ("photos from Austria", in_country("Austria")),
        ("photos from Augsburg", in_city["Augsburg"]),
        ("photos from Germany", in_country("Germany")),
        ("photos not in Germany", lambda p: p.country not in (None, "Germany")),
        ("photos from Lisbon at night", lambda p: p.city == "Lisbon" and p.night),
        ("beach photos from Portugal", lambda p: p.country == "Portugal" and p.source in {Path(b).name for b in beach}),
        ("photos from our trip to Japan", lambda p: p.trip == "Japan"),
        ("my last trip", lambda p: p.trip == last_trip),
        ("the first day of the Lisbon trip", lambda p: p.trip == "Portugal" and p.trip_day == 1),
        ("photos from the Berlin trip", lambda p: p.trip == "Berlin"),
        ("在巴黎拍的照片", in_city["Paris"]),
        ("法国的照片", in_country("France")),
        ("东京的夜景", lambda p: p.city == "Tokyo" and p.night),
        ("在里斯本拍的照片", in_city["Lisbon"]),
        ("日本的照片", in_country("Japan")),
        ("上次旅行的照片", lambda p: p.trip == last_trip),
        ("慕尼黑的照片", in_city["Munich"]),
        ("去日本旅行的照片", lambda p: p.trip == "Japan"),
    ]
    queries = []
    for query, test in q:
        item = {"query": query, "relevant": files(test)}
        if query == "photos not in Germany":
            item["uncertain"] = scans  # no one knows where the scans were taken
        queries.append(item)
    assert all(item["relevant"] for item in queries), [i["query"] for i in queries if not i["relevant"]]
    assert lisbon_first
    empty = [{"query": "photos from Rome", "relevant": []}, {"query": "在纽约拍的照片", "relevant": []},
             {"query": "photos from Lisbon in 2023", "relevant": []}, {"query": "pictures from Brazil", "relevant": []}]
    return queries, empty


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--hide-half", action="store_true", help="remove the GPS from every other phone photo")
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args()
    photos = build(args.out, hide_half=args.hide_half, seed=args.seed)
    hidden = sum(p.gps_hidden for p in photos)
    print(f"{len(photos)} photos in {args.out} ({hidden} with their GPS removed, {SCANS} scans without EXIF); "
          f"{len(TRIPS)} trips; queries in concepts.jsonl, empty.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
