"""Places: the figures of issue #25, each printed with what it measures.

    .venv/bin/python bench/places.py gps LIBRARY            # ../shared/data/gps-photos indexed in LIBRARY
    .venv/bin/python bench/places.py estimates LIBRARY ALBUM  # an album from places_album.py --hide-half
    .venv/bin/python bench/places.py trips LIBRARY ALBUM      # trips found vs built
    .venv/bin/python bench/places.py cost [--photos 100000]   # the places pass, per photo

gps        every photo of gps-photos gets a place; each `people_would_say` city answers a place
           search for it (`Filters(place=[city])` finds the photo), as a user would ask
estimates  on an album whose every other phone photo lost its GPS: of those photos, how many get an
           estimated place and how many of those are the right city, at each time limit (the one
           photoseek uses is ESTIMATE_WITHIN)
trips      the trips the album was built with vs the ones found (days and photos)
cost       the places pass of `index` over a synthetic catalog (positions around 300 cities, a tenth of
           the photos without GPS): seconds per photo, with the one-off data loading shown apart; then
           the same pass again with nothing changed
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GPS_PHOTOS = ROOT.parent / "shared" / "data" / "gps-photos"


def gps(library: Path) -> int:
    from photoseek.library import Library
    from photoseek.results import Filters

    rows = {r["file"]: r for r in csv.DictReader((GPS_PHOTOS / "photos.csv").open(encoding="utf-8"))}
    lib = Library(library, llm=None)
    ids = {Path(r[1]).name: r[0] for r in lib.catalog.conn.execute("SELECT id, display_path FROM photos")}
    named, said, asked = 0, 0, 0
    for name, row in sorted(rows.items()):
        if name not in ids:
            print(f"  not in the library: {name}")
            continue
        place = lib.show(ids[name])["place"]
        named += place is not None
        expected = row["people_would_say"].split(" (")[0]
        line = f"  {name[:58]:<58} {place['label'] if place else '—'}"
        if expected:
            asked += 1
            found = {r.id for r in lib.search(filters=Filters(place=[expected]), k=100)}
            ok = ids[name] in found
            said += ok
            line += f"   [{'ok' if ok else 'MISSED'}: \"photos from {expected}\"]"
        print(line)
    print(f"\n{named}/{len(rows)} photos have a place; {said}/{asked} people_would_say cities answer a place search "
          "for them")
    return 0


def estimates(library: Path, album: Path) -> int:
    from photoseek.library import Library
    from photoseek.places.estimate import ESTIMATE_WITHIN, Dated, device_of, estimate_places, parse_taken

    truth = {p["file"]: p for p in json.loads((album / "truth.json").read_text())}
    lib = Library(library, llm=None)
    conn = lib.catalog.conn
    rows = conn.execute(
        """SELECT p.id, p.display_path, p.taken_at, p.camera_make, p.camera_model, p.gps_lat, c.name, pp.source
           FROM photos p LEFT JOIN photo_places pp ON pp.photo_id = p.id LEFT JOIN places c ON c.id = pp.city_id""").fetchall()
    by_id = {}
    for pid, path, taken, make, model, lat, city, source in rows:
        name = "images/" + Path(path).name
        by_id[pid] = (truth.get(name), parse_taken(taken), device_of(make, model), lat, city, source)
    hidden = [pid for pid, (t, *_rest) in by_id.items() if t and t["gps_hidden"]]
    known = [Dated(pid, when, device, city) for pid, (t, when, device, lat, city, _source) in by_id.items()
             if lat is not None and when and device]
    unknown = [Dated(pid, by_id[pid][1], by_id[pid][2]) for pid in hidden]
    print(f"{len(hidden)} photos had their GPS removed; {len(known)} keep theirs (same phone).")
    print(f"{'limit':>8} {'estimated':>10} {'right city':>11} {'accuracy':>9} {'right of all hidden':>20}")
    for hours in (0.25, 0.5, 1, 2, 3, 6, 12, 24, 48):
        found = estimate_places(unknown, known, timedelta(hours=hours))
        right = sum(by_id[e.from_photo_id][0]["city"] == by_id[e.photo_id][0]["city"] for e in found)
        mark = "  <- ESTIMATE_WITHIN" if timedelta(hours=hours) == ESTIMATE_WITHIN else ""
        print(f"{hours:>7g}h {len(found):>10} {right:>11} {right / max(len(found), 1):>9.3f} "
              f"{right / max(len(hidden), 1):>20.3f}{mark}")
    stored = [(by_id[pid][4], by_id[pid][0]["city"], by_id[pid][5]) for pid in hidden]
    estimated = [s for s in stored if s[2] == "estimated"]
    right = sum(city == true for city, true, _ in estimated)
    print(f"\nIn the library (photoseek index, ESTIMATE_WITHIN = {ESTIMATE_WITHIN}): {len(estimated)}/{len(hidden)} "
          f"hidden-GPS photos have an estimated place, {right} of them the right city "
          f"(accuracy {right / max(len(estimated), 1):.3f}).")
    return 0


def trips(library: Path, album: Path) -> int:
    from photoseek.library import Library

    truth = json.loads((album / "truth.json").read_text())
    built: dict[str, list] = {}
    for p in truth:
        if p["trip"]:
            built.setdefault(p["trip"], []).append(p)
    lib = Library(library, llm=None)
    found = lib.trips()
    print(f"home: {found['home']['label'] if found['home'] else None}")
    rows = []
    for name, photos in built.items():
        days = sorted(p["taken"][:10] for p in photos)
        rows.append((days[0], days[-1], len(photos), name))
    matched = 0
    for start, end, count, name in sorted(rows):
        trip = next((t for t in found["trips"] if t["start"] == start and t["end"] == end), None)
        same = trip is not None and trip["photos"] == count
        matched += same
        print(f"  built {name:<10} {start} → {end} {count:>3} photos   found: "
              + (f"{trip['name']:<10} {trip['start']} → {trip['end']} {trip['photos']:>3} photos" if trip else "—")
              + ("" if same else "   <- differs"))
    extra = [t for t in found["trips"] if not any(t["start"] == r[0] and t["end"] == r[1] for r in rows)]
    for t in extra:
        print(f"  found, not built: {t['name']} {t['start']} → {t['end']} {t['photos']} photos")
    print(f"\ntrips built {len(rows)}, found {len(found['trips'])}, the same days and photos: {matched}")
    return 0


def cost(photos: int) -> int:
    from photoseek.ingest.places import update_places
    from photoseek.places.gazetteer import Gazetteer
    from photoseek.store.catalog import Catalog

    rng = random.Random(0)
    gazetteer = Gazetteer.load()
    cities = [i for i in range(len(gazetteer)) if gazetteer.population[i] >= 100_000]
    centres = [gazetteer.entry(i) for i in rng.sample(cities, 300)]
    folder = Path(tempfile.mkdtemp(prefix="photoseek-bench-places-"))
    try:
        catalog = Catalog(folder)
        start = datetime(2015, 1, 1)
        rows = []
        for pid in range(1, photos + 1):
            city = centres[min(int(rng.expovariate(1 / 30)), len(centres) - 1)]  # a few places hold most photos
            lat = city.latitude + rng.uniform(-0.03, 0.03)
            lon = city.longitude + rng.uniform(-0.03, 0.03)
            no_gps = rng.random() < 0.1
            taken = (start + timedelta(minutes=pid * 37)).isoformat()
            rows.append((pid, f"/bench/{pid}.jpg".encode(), f"/bench/{pid}.jpg", 1, 1, f"h{pid}", taken,
                         None if no_gps else lat, None if no_gps else lon, "Apple", "iPhone 12", "x", 0))
        with catalog.transaction() as conn:
            conn.executemany("""INSERT INTO photos(id, path, display_path, size, mtime_ns, content_hash, taken_at,
                                    gps_lat, gps_lon, camera_make, camera_model, indexed_at, seen_run)
                                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
        started = time.perf_counter()
        report = update_places(catalog)
        seconds = time.perf_counter() - started
        work = report.work_seconds
        print(f"{photos:,} photos ({report.named:,} with GPS named, {report.estimated:,} estimated, {report.trips} trips):")
        print(f"  first places pass {seconds:.2f} s = {seconds / photos * 1000:.3f} ms a photo "
              f"(naming {work.get('name', 0):.2f} s, estimates {work.get('estimate', 0):.2f} s, "
              f"trips {work.get('trips', 0):.2f} s; the gazetteer was loaded before: ~1 s once a process)")
        started = time.perf_counter()
        update_places(catalog, changed=False)
        print(f"  again, nothing changed: {time.perf_counter() - started:.3f} s")
        started = time.perf_counter()
        update_places(catalog, changed=True)
        print(f"  again after an index run that changed something (estimates and trips redone): "
              f"{time.perf_counter() - started:.2f} s")
        catalog.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("gps")
    p.add_argument("library", type=Path)
    for name in ("estimates", "trips"):
        p = sub.add_parser(name)
        p.add_argument("library", type=Path)
        p.add_argument("album", type=Path)
    p = sub.add_parser("cost")
    p.add_argument("--photos", type=int, default=100_000)
    args = parser.parse_args()
    if args.what == "gps":
        return gps(args.library)
    if args.what == "estimates":
        return estimates(args.library, args.album)
    if args.what == "trips":
        return trips(args.library, args.album)
    return cost(args.photos)


if __name__ == "__main__":
    raise SystemExit(main())
