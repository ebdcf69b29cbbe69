"""Places without a catalog: the reverse geocoding (what a person would say), names in the user's words
and languages, places found in requests, estimates from the same camera, home and trips.

The positions of the "people would say" cases are those of ../shared/data/gps-photos (its photos.csv),
written here as numbers: the test needs no photo.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest

from photoseek.places.estimate import Dated, device_of, estimate_places, offset_words
from photoseek.places.gazetteer import Gazetteer, place_label, valid_position
from photoseek.places.names import NameIndex, PlaceName, fold, names_of_city, names_of_country, names_of_region, spellings
from photoseek.places.trips import Sighting, find_home, find_trips


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


# -- what a person would say ----------------------------------------------------------------------------

@pytest.mark.parametrize("lat, lon, city, nearest_entry", [
    (48.857833, 2.297, "Paris", None),  # beside the Eiffel Tower; GeoNames' nearest is a suburb
    (48.8925, 2.236389, "Paris", "La Defense"),  # La Défense: Paris, the business district kept finer
    (51.562466, -0.077332, "London", "Stamford Hill"),
    (52.459606, 13.321842, "Berlin", "Steglitz"),
    (38.699539, -9.207747, "Lisbon", "Ajuda"),
    (53.359465, -6.258231, "Dublin", "Drumcondra"),
    (23.177917, 113.394317, "Guangzhou", None),
])
def test_the_city_people_name_not_the_nearest_suburb(gazetteer, lat, lon, city, nearest_entry):
    place = gazetteer.lookup(lat, lon)
    assert place.precision == "city" and place.city.name == city
    if nearest_entry:
        assert place.district.name == nearest_entry  # the finer level is kept (and searchable)


def test_a_big_city_around_a_town_is_its_metro(gazetteer):
    strip = gazetteer.lookup(36.124256, -115.169868)  # the Las Vegas Strip is in Paradise, Nevada
    assert strip.city.name == "Paradise" and strip.metro.name == "Las Vegas"
    assert strip.label() == "Paradise (Las Vegas), United States"


def test_towns_near_big_cities_keep_their_own_names(gazetteer):
    for (lat, lon), town in {(51.6565, -0.3903): "Watford", (48.8049, 2.1204): "Versailles",
                             (52.3906, 13.0645): "Potsdam", (40.9312, -73.8988): "Yonkers",
                             (51.7527, -0.3394): "St Albans"}.items():
        place = gazetteer.lookup(lat, lon)
        assert place.city.name == town and place.metro is None, (town, place)


def test_near_a_town_and_far_from_any(gazetteer):
    airport = gazetteer.lookup(50.047744, 8.572356)  # Frankfurt airport: no town's reach covers the runway
    assert airport.precision == "near" and airport.city.name == "Frankfurt am Main"
    revelstoke = gazetteer.lookup(50.956917, -118.107275)
    assert revelstoke.label() == "near Revelstoke, British Columbia, Canada"
    highlands = gazetteer.lookup(65.055578, -16.625703)  # Icelandic highlands, 82 km from the nearest village
    assert highlands.precision == "region" and highlands.city is None
    assert highlands.country == "Iceland" and highlands.label() == "Northeast, Iceland"


@pytest.mark.parametrize("lat, lon", [
    (0, 0), (0.0, 0.0), (91, 10), (-91, 10), (10, 181), (10, -180.5), ("x", 1), (None, None), (None, 3),
    (math.nan, 1), (1, math.inf), ("", ""), ([1], 2),
])
def test_invalid_positions_give_no_place_and_no_failure(gazetteer, lat, lon):
    assert not valid_position(lat, lon)
    assert gazetteer.lookup(lat, lon) is None


def test_open_sea_gives_no_place(gazetteer):
    assert gazetteer.lookup(38.5, -20.0) is None  # the Atlantic, 700 km off Lisbon
    assert gazetteer.lookup(0.0, -30.0) is None
    # a batch mixing good, bad and sea positions names each, in order
    places = gazetteer.lookup_many([(38.7167, -9.1333), (0, 0), (38.5, -20.0), ("bad", None), (35.6895, 139.6917)])
    assert [p.city.name if p else None for p in places] == ["Lisbon", None, None, None, "Tokyo"]


def test_names_a_person_types_find_the_place(gazetteer):
    assert gazetteer.named("Portland, Oregon").region == "Oregon"
    assert gazetteer.named("Portland, Maine").region == "Maine"
    assert gazetteer.named("Paris, Texas").country_code == "US"
    assert gazetteer.named("Paris").country_code == "FR"  # the biggest of the name
    assert gazetteer.named("Tuebingen").city.name == "Tübingen"
    assert gazetteer.named("München").city.name == "Munich"
    portugal = gazetteer.named("Portugal")
    assert portugal.city is None and portugal.country == "Portugal"
    assert gazetteer.named("USA").country_code == "US"
    assert gazetteer.named("38.72, -9.14").city.name == "Lisbon"
    assert gazetteer.named("Qwxyzville") is None and gazetteer.named("0, 0") is None


def test_labels_drop_what_says_nothing():
    assert place_label("Berlin", None, "State of Berlin", "Germany", with_region=True) == "Berlin, Germany"
    assert place_label("London", None, "England", "United Kingdom") == "London, United Kingdom"
    assert place_label("Paris", None, "Île-de-France", "France", with_region=True) == "Paris, Île-de-France, France"
    assert place_label("Singapore", None, "", "Singapore") == "Singapore"


# -- names in the user's words and languages ---------------------------------------------------------------

def test_spellings_with_and_without_accents():
    assert {"tubingen", "tuebingen"} <= spellings("Tübingen")
    assert spellings("Île-de-France") == {"ile de france"}
    assert {"st albans", "saint albans"} <= spellings("St. Albans")
    assert fold("Straße") == "strasse" and fold("東京") == "東京"


def test_country_region_and_city_names_in_other_languages():
    france = names_of_country("FR", "France")
    assert {"法国", "Frankreich", "Francia"} <= set(france)
    us = names_of_country("US", "United States")
    assert {"USA", "the States", "America", "美国"} <= set(us)
    assert {"UK", "Britain", "英国"} <= set(names_of_country("GB", "United Kingdom"))
    assert "法兰西岛" in names_of_region("FR", "Île-de-France")
    assert "Berlin" in names_of_region("DE", "State of Berlin")
    paris, paris_also = names_of_city("FR", "Paris", 48.85341, 2.3488)
    assert "巴黎" in paris and "Lutetia" in paris_also
    assert "东京" in names_of_city("JP", "Tokyo", 35.6895, 139.69171)[0]
    assert "里斯本" in names_of_city("PT", "Lisbon", 38.71667, -9.13333)[0]


def _index() -> NameIndex:
    index = NameIndex()
    for level, name, code in [("city", "Paris", "FR"), ("city", "Nice", "FR"), ("country", "Germany", "DE"),
                              ("country", "France", "FR"), ("city", "Lisbon", "PT"), ("city", "Tokyo", "JP"),
                              ("country", "United States", "US"), ("country", "China", "CN"),
                              ("city", "Sofia", "BG")]:
        if level == "country":
            names, also = names_of_country(code, name), []
        else:
            names, also = names_of_city(code, name, *{"Paris": (48.85341, 2.3488), "Nice": (43.70313, 7.26608),
                                                      "Lisbon": (38.71667, -9.13333), "Tokyo": (35.6895, 139.69171),
                                                      "Sofia": (42.69751, 23.32415)}[name])
        index.add(PlaceName(level, name, code), names, also)
    return index


@pytest.mark.parametrize("request_text, places", [
    ("photos from Paris", [("Paris", False)]),
    ("beach photos from Portugal or France", [("France", False)]),
    ("在巴黎拍的照片", [("Paris", False)]),
    ("法国的照片", [("France", False)]),
    ("东京的夜景", [("Tokyo", False)]),
    ("not in Germany", [("Germany", True)]),
    ("photos from Lisbon, except Germany", [("Lisbon", False), ("Germany", True)]),
    ("除了德国以外的照片", [("Germany", True)]),
    ("photos from the States", [("United States", False)]),
    ("photos from the US", [("United States", False)]),
    ("a paris-style café", []),
    ("a Paris style café", []),
    ("nice weather at the beach", []),
    ("photos from nice", [("Nice", False)]),
    ("sunset in Nice", [("Nice", False)]),
    ("photos of us at the beach", []),
    ("中国菜", []),
    ("photos of Sofia", []),  # a first name: a place only with a place word before it
    ("our week in Sofia", [("Sofia", False)]),
    ("Tuebingen", []),  # not in this index
])
def test_places_found_in_requests(request_text, places):
    found = [(m.name, m.negated) for m in _index().mentions(request_text)]
    assert found == places


def test_an_explicit_place_argument_also_matches_other_names():
    index = _index()
    assert [p.name for p in index.resolve("Lutetia")] == ["Paris"]  # GeoNames' other names: explicit only
    assert index.mentions("Lutetia by night") == []
    assert [p.name for p in index.resolve("paris")] == ["Paris"]
    assert [p.name for p in index.resolve("Deutschland")] == ["Germany"]
    assert index.resolve("Atlantis") == []


# -- estimates: the same camera, closest in time -------------------------------------------------------------

def test_estimates_come_from_the_same_camera_closest_in_time():
    t0 = datetime(2023, 4, 10, 12, 0)
    phone, camera = device_of("Apple", "iPhone 12"), device_of("Canon", "EOS 5D")
    known = [Dated(1, t0, phone), Dated(2, t0 + timedelta(hours=2), phone), Dated(3, t0, camera)]
    unknown = [Dated(10, t0 + timedelta(minutes=20), phone),  # 20 min after photo 1
               Dated(11, t0 + timedelta(hours=1, minutes=50), phone),  # 10 min before photo 2
               Dated(12, t0 + timedelta(days=2), phone),  # two days away: no estimate
               Dated(13, t0 + timedelta(minutes=5), device_of("Sony", "A7"))]  # no located photo of that camera
    estimates = {e.photo_id: e for e in estimate_places(unknown, known)}
    assert set(estimates) == {10, 11}
    assert (estimates[10].from_photo_id, estimates[10].offset_seconds) == (1, 1200)
    assert (estimates[11].from_photo_id, estimates[11].offset_seconds) == (2, -600)
    assert device_of(None, "") is None and device_of(" APPLE ", "iPhone 12") == phone


def test_offset_words():
    assert offset_words(1200) == "20 min earlier"
    assert offset_words(-7500) == "2 h 5 min later"
    assert offset_words(30) == "the same minute"


# -- home and trips ------------------------------------------------------------------------------------------

def _seen(pid, day, city, lat, lon, country, code):
    return Sighting(pid, day, lat, lon, city, "", country, code)


def test_home_is_where_most_days_are_and_trips_are_runs_of_days_away():
    lisbon, porto, paris = (38.72, -9.14), (41.15, -8.61), (48.85, 2.35)
    seen, pid = [], 0
    for d in range(1, 20, 2):  # home: ten days of photos
        pid += 1
        seen.append(_seen(pid, date(2023, 3, d), "Lisbon", *lisbon, "Portugal", "PT"))
    for d in range(10, 14):  # Paris, four days with many photos each (fewer days than home)
        for _ in range(5):
            pid += 1
            seen.append(_seen(pid, date(2023, 4, d), "Paris", *paris, "France", "FR"))
    seen.append(_seen(900, date(2023, 4, 10), "Lisbon", *lisbon, "Portugal", "PT"))  # leaving in the morning
    seen.append(Sighting(901, date(2023, 4, 12)))  # no position, on the trip's third day
    seen.append(_seen(902, date(2023, 5, 1), "Porto", *porto, "Portugal", "PT"))  # a day trip at home's country
    seen.append(_seen(903, date(2023, 5, 5), "Porto", *porto, "Portugal", "PT"))  # three quiet days later: a new trip
    home = find_home(seen)
    assert (home.name, home.country_code, home.days) == ("Lisbon", "PT", 11)  # the morning of leaving too
    trips = find_trips(seen, home)
    assert [(t.name, t.start, t.end) for t in trips] == [
        ("France", date(2023, 4, 10), date(2023, 4, 13)), ("Porto", date(2023, 5, 1), date(2023, 5, 1)),
        ("Porto", date(2023, 5, 5), date(2023, 5, 5))]
    france = trips[0]
    assert 900 not in france.days and france.days[901] == 3 and france.photos == 21
    assert france.label() == "France, 2023-04-10 → 2023-04-13, 21 photos"


def test_quiet_days_do_not_end_a_trip_but_a_day_at_home_does():
    home_pos, away = (38.72, -9.14), (48.85, 2.35)
    seen = [_seen(i, date(2023, 1, 1) + timedelta(days=i), "Lisbon", *home_pos, "Portugal", "PT") for i in range(30)]
    seen += [_seen(100, date(2023, 3, 1), "Paris", *away, "France", "FR"),
             _seen(101, date(2023, 3, 3), "Paris", *away, "France", "FR"),  # a quiet day between: one trip
             _seen(102, date(2023, 3, 4), "Lisbon", *home_pos, "Portugal", "PT"),
             _seen(103, date(2023, 3, 5), "Paris", *away, "France", "FR")]  # home in between: a new trip
    trips = find_trips(seen, find_home(seen))
    assert [(t.start.day, t.end.day) for t in trips] == [(1, 3), (5, 5)]


def test_no_position_no_home_no_trips():
    seen = [Sighting(i, date(2023, 1, i)) for i in range(1, 5)]
    assert find_home(seen) is None and find_trips(seen, None) == []
