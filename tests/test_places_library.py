"""Places in a library, as a user meets them: `index` names them (and fills them in for an existing
library without reading photos again), `show`, `search --place/--not-place/--trip`, `places`, `trips`,
corrections that survive re-indexing, the agent's answers, the HTTP API and MCP. The library is
tests/places_support.py's: rendered photos with EXIF GPS written by piexif (home in Lisbon, a trip to
Paris with one photo whose place is estimated, a day in Tokyo, photos with no position).
"""

from __future__ import annotations

import json
import shutil

import pytest

from photoseek import Library
from photoseek.results import Filters
from tests.places_support import photo_id


@pytest.fixture(scope="module")
def lib(places_library_dir):
    with Library(places_library_dir, llm=None) as library:
        yield library


@pytest.fixture
def own_lib(places_library_dir, tmp_path):
    """A copy the test may change (place corrections, re-indexing)."""
    folder = tmp_path / "library"
    shutil.copytree(places_library_dir, folder)
    with Library(folder, llm=None) as library:
        yield library


def _names(lib, results) -> set[str]:
    return {r.path.rsplit("/", 1)[-1] for r in results}


def test_index_names_places_estimates_the_rest_and_finds_the_trip(lib):
    eiffel = lib.show(photo_id(lib, "b01.jpg"))["place"]
    assert eiffel["label"] == "Paris, France" and eiffel["source"] == "gps" and eiffel["how"] == "GPS"
    estimated = lib.show(photo_id(lib, "b02.jpg"))["place"]
    assert estimated["label"] == "Paris, France" and estimated["source"] == "estimated"
    assert estimated["how"] == "estimated from photos taken 20 min earlier in Paris"
    assert estimated["from_photo"] == photo_id(lib, "b01.jpg") and estimated["offset_seconds"] == 1200
    for nowhere in ("d01.jpg", "d02.jpg", "d03.jpg"):  # (0, 0) GPS, another camera without GPS, a scan
        assert lib.show(photo_id(lib, nowhere))["place"] is None
    trips = lib.trips()
    assert trips["home"]["label"] == "Lisbon, Portugal"
    assert [(t["name"], t["start"], t["end"], t["photos"]) for t in trips["trips"]] == [
        ("France", "2023-04-10", "2023-04-11", 3), ("Japan", "2023-05-02", "2023-05-02", 1)]


def test_places_tree_counts_countries_regions_cities(lib):
    tree = lib.places()
    assert [(c["country"], c["photos"]) for c in tree["countries"]] == [("Portugal", 6), ("France", 3), ("Japan", 1)]
    paris = tree["countries"][1]["regions"][0]["cities"][0]
    assert (paris["city"], paris["photos"], paris["estimated"]) == ("Paris", 3, 1)
    assert tree["unknown"] == 3 and tree["located"] == 10


@pytest.mark.parametrize("asked, expected", [
    (["Paris"], {"b01.jpg", "b02.jpg", "b03.jpg"}),
    (["巴黎"], {"b01.jpg", "b02.jpg", "b03.jpg"}),
    (["france"], {"b01.jpg", "b02.jpg", "b03.jpg"}),
    (["Île-de-France"], {"b01.jpg", "b02.jpg", "b03.jpg"}),
    (["Paris, France"], {"b01.jpg", "b02.jpg", "b03.jpg"}),
    (["Lisboa"], {"a01.jpg", "a02.jpg", "a03.jpg", "a04.jpg", "a05.jpg", "a06.jpg"}),
    (["东京", "Paris"], {"c01.jpg", "b01.jpg", "b02.jpg", "b03.jpg"}),
    (["Japan"], {"c01.jpg"}),
    (["Paris, Texas"], set()),
    (["Rome"], set()),
])
def test_search_by_place(lib, asked, expected):
    assert _names(lib, lib.search(filters=Filters(place=asked), k=50)) == expected


def test_place_combines_with_text_dates_and_exclusions(lib):
    night = lib.search(filters=Filters(place=["Lisbon"], date_from="2023-03-06", date_to="2023-03-31"), k=50)
    assert _names(lib, night) == {"a04.jpg", "a05.jpg"}
    outside = lib.search(filters=Filters(not_place=["Portugal"]), k=50)
    # photos with no known position pass an exclusion (and the answer says so)
    assert _names(lib, outside) == {"b01.jpg", "b02.jpg", "b03.jpg", "c01.jpg", "d01.jpg", "d02.jpg", "d03.jpg"}
    assert lib.place_note(Filters(not_place=["Portugal"])) == (
        "3 photos with no known position are kept: where they were taken is unknown.")
    assert lib.place_note(Filters(place=["Paris"])) == "3 photos with no known position could not be checked and are left out."
    text = lib.search("photo", filters=Filters(place=["Paris"]), k=50)
    assert _names(lib, text) == {"b01.jpg", "b02.jpg", "b03.jpg"}


def test_place_names_in_the_search_words_are_a_place_filter(lib):
    """`photoseek search "Paris"` and the page's Search box: a place of the library named in the words
    is a place filter, not a word to find by likeness ("a paris-style café" stays words)."""
    paris = lib.search("Paris", k=50)
    assert _names(lib, paris) == {"b01.jpg", "b02.jpg", "b03.jpg"} and all(r.match == "strong" for r in paris)
    assert paris[0].evidence.filters_matched["place"] == ["Paris"]
    assert _names(lib, lib.search("photo taken in Tokyo", k=50)) == {"c01.jpg"}
    assert "c01.jpg" in _names(lib, lib.search("photo not in Portugal", k=50))
    assert "a01.jpg" not in _names(lib, lib.search("photo not in Portugal", k=50))
    styled = lib.search("a paris-style café", k=50)
    assert "place" not in styled[0].evidence.filters_matched and len(styled) > 3


def test_a_place_asked_for_and_met_is_evidence(lib):
    results = lib.search(filters=Filters(place=["Paris"]), k=10)
    by_name = {r.path.rsplit("/", 1)[-1]: r for r in results}
    assert all(r.match == "strong" for r in results)
    assert by_name["b01.jpg"].evidence.met == {"Paris": "taken in Paris, France (GPS)"}
    estimated = by_name["b02.jpg"].evidence
    assert estimated.place == "Paris, France" and estimated.place_source == "estimated"
    assert estimated.met["Paris"] == "taken in Paris, France (estimated from photos taken 20 min earlier in Paris)"
    from photoseek.agent.explain import compose_reason

    assert compose_reason(by_name["b01.jpg"].evidence, None, "strong") == "Strong match: taken in Paris, France (GPS)."


def test_a_place_with_no_photo_is_said_so(lib):
    assert lib.why_empty(Filters(place=["Rome"])) == (
        "No photo was taken in Rome; 10 photos have a position, in Portugal, France and Japan.")
    assert lib.why_empty(Filters(place=["Paris"])) is None  # Paris has photos: other filters emptied it
    assert lib.why_empty(Filters(trip="Brazil")).startswith("No trip matches 'Brazil'; the trips: France (2023-04-10)")


def test_trip_filters(lib):
    assert _names(lib, lib.search(filters=Filters(trip="last"), k=50)) == {"c01.jpg"}
    france = {"b01.jpg", "b02.jpg", "b03.jpg"}
    assert _names(lib, lib.search(filters=Filters(trip="France"), k=50)) == france  # not a06, home that morning
    assert _names(lib, lib.search(filters=Filters(trip="Paris"), k=50)) == france
    assert _names(lib, lib.search(filters=Filters(trip="first", trip_day=2), k=50)) == {"b03.jpg"}
    assert _names(lib, lib.search(filters=Filters(trip="2023-04-10", trip_day=-1), k=50)) == {"b03.jpg"}


def test_the_users_place_wins_and_survives_reindexing(own_lib, places_library_dir):
    tokyo = photo_id(own_lib, "c01.jpg")
    shown = own_lib.set_place(tokyo, "Kyoto")
    assert shown["place"]["label"] == "Kyoto, Japan" and shown["place"]["how"] == "set by you"
    scan = photo_id(own_lib, "d03.jpg")
    assert own_lib.set_place(scan, "Portland, Oregon")["place"]["label"] == "Portland, United States"
    assert own_lib.set_place(photo_id(own_lib, "d02.jpg"), "Portugal")["place"]["label"] == "Portugal"
    with pytest.raises(Exception, match="No place called 'Qwxyzville'"):
        own_lib.set_place(scan, "Qwxyzville")
    eiffel = photo_id(own_lib, "b01.jpg")
    own_lib.set_place(eiffel, None)  # "its GPS is wrong": no place
    report = own_lib.index([places_library_dir.parent / "photos"])
    assert report.unchanged == 13
    assert own_lib.show(tokyo)["place"]["label"] == "Kyoto, Japan"
    assert own_lib.show(scan)["place"]["source"] == "user"
    assert own_lib.show(eiffel)["place"] is None
    # the estimate that came from the Eiffel photo now has nothing to come from within the limit... but b03
    # (the next morning) is too far in time: the photo's place is unknown again
    assert own_lib.show(photo_id(own_lib, "b02.jpg"))["place"] is None
    assert own_lib.clear_place(eiffel)["place"]["source"] == "gps"
    assert own_lib.show(photo_id(own_lib, "b02.jpg"))["place"]["source"] == "estimated"


def test_an_existing_library_gets_its_places_on_the_next_index_without_reading_photos(own_lib, places_library_dir):
    conn = own_lib.catalog.conn
    with own_lib.catalog.transaction():  # as a library indexed before places existed
        for table in ("trip_photos", "trips", "photo_places", "places"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM meta WHERE key IN ('places_done', 'home')")
    report = own_lib.index([places_library_dir.parent / "photos"])
    assert report.unchanged == 13 and not report.work_photos.get("decode")
    assert report.places["named"] == 9 and report.places["estimated"] == 1 and report.places["trips"] == 2
    assert own_lib.show(photo_id(own_lib, "b01.jpg"))["place"]["label"] == "Paris, France"
    again = own_lib.index([places_library_dir.parent / "photos"])
    assert again.places["named"] == 0  # nothing to name twice


def test_a_library_without_gps_says_it_has_no_places_or_trips(tmp_path):
    from tests.places_support import SHOTS, Shot, make_places_photos

    make_places_photos(tmp_path / "photos", [Shot(s.name, s.taken, None, s.camera) for s in SHOTS[:4]])
    with Library(tmp_path / "library", llm=None) as library:
        library.index([tmp_path / "photos"], annotate=False)
        assert library.trips() == {"home": None, "trips": [], "located": 0}
        assert library.why_empty(Filters(trip="last")).startswith("No trips: no photo in this library has a known position")
        assert library.why_empty(Filters(place=["Paris"])).startswith("No photo was taken in Paris that this library knows of")


def test_cli_places_trips_search_and_correct(own_lib, capsys):
    from photoseek.cli import main

    base = ["--library", str(own_lib.path), "--llm", "none"]
    assert main([*base, "places", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["countries"][0]["country"] == "Portugal"
    assert main([*base, "trips"]) == 0
    out = capsys.readouterr().out
    assert "Home: Lisbon, Portugal" in out and "2023-04-10" in out and "France" in out
    assert main([*base, "search", "--place", "Paris", "--place", "Tokyo", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found["results"]) == 4 and found["results"][0]["evidence"]["met"]
    assert main([*base, "search", "--place", "Rome"]) == 0
    assert "No photo was taken in Rome; 10 photos have a position" in capsys.readouterr().out
    assert main([*base, "search", "--trip", "last", "--json"]) == 0
    assert [r["evidence"]["place"] for r in json.loads(capsys.readouterr().out)["results"]] == ["Tokyo, Japan"]
    scan = str(photo_id(own_lib, "d03.jpg"))
    assert main([*base, "place", scan, "Lisbon"]) == 0
    assert "Lisbon, Portugal (set by you)" in capsys.readouterr().out
    assert main([*base, "show", scan]) == 0
    assert "Lisbon, Portugal (set by you)" in " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert main([*base, "place", scan, "--clear"]) == 0
    assert "no known place" in capsys.readouterr().out


def test_the_agent_answers_places_in_english_and_chinese(lib):
    session = lib.session()
    session.llm = session.planner.llm = None  # rules and the fallback: the places are read by code
    answer = session.ask("在巴黎拍的照片")
    assert answer.plan.calls[0].args.get("place") == ["Paris"]
    assert {r.path.rsplit("/", 1)[-1] for r in answer.matches} == {"b01.jpg", "b02.jpg", "b03.jpg"}
    assert answer.text.startswith("Found 3 photos taken in Paris")
    session.reset()
    answer = session.ask("photos from Rome")
    assert answer.results == [] and answer.text.startswith("No photo was taken in Rome; 10 photos have a position")
    session.reset()
    answer = session.ask("my last trip")
    assert answer.plan.calls[0].args.get("trip") == "last"
    assert [r.path.rsplit("/", 1)[-1] for r in answer.matches] == ["c01.jpg"]
    session.reset()
    answer = session.ask("photos not in Portugal")
    assert "3 photos with no known position are kept" in answer.text
    # a new place is a new search; "only ..." narrows the last one
    session.reset()
    session.ask("photos from Paris taken in 2023")
    answer = session.ask("photos from Tokyo")
    assert answer.plan.calls[0].args.get("place") == ["Tokyo"] and "date_from" not in answer.plan.calls[0].args
    answer = session.ask("only the ones from Lisbon")
    assert answer.plan.calls[0].args.get("place") == ["Lisbon"]


def test_http_api_and_mcp_carry_places(own_lib):
    from fastapi.testclient import TestClient

    from photoseek.web.app import create_app
    from photoseek.web.mcp_server import tool_payload
    from photoseek.web.state import AppState

    client = TestClient(create_app(AppState(own_lib)), base_url="http://127.0.0.1")
    assert client.get("/api/places").json()["countries"][0]["country"] == "Portugal"
    assert client.get("/api/trips").json()["home"]["label"] == "Lisbon, Portugal"
    found = client.post("/api/search", json={"place": ["Paris"], "k": 10}).json()
    assert len(found["results"]) == 3 and "3 photos with no known position" in found["places_note"]
    assert client.get("/api/search", params={"place": "Tokyo"}).json()["results"][0]["evidence"]["place"] == "Tokyo, Japan"
    empty = client.post("/api/search", json={"place": ["Rome"]}).json()
    assert empty["results"] == [] and empty["places_note"].startswith("No photo was taken in Rome")
    scan = photo_id(own_lib, "d03.jpg")
    assert client.post(f"/api/photos/{scan}/place", json={"place": "Paris"}).json()["place"]["how"] == "set by you"
    assert client.post(f"/api/photos/{scan}/place", json={"clear": True}).json()["place"] is None
    assert client.post(f"/api/photos/{scan}/place", json={"place": "Qwxyzville"}).status_code == 400
    payload, _thumbs = tool_payload(own_lib, "filter_photos", {"place": ["Japan"]})
    assert [r["evidence"]["place"] for r in payload["results"]] == ["Tokyo, Japan"]
    payload, _thumbs = tool_payload(own_lib, "filter_photos", {"trip": "France", "trip_day": 1})
    assert len(payload["results"]) == 2
    # an MCP host learns where the photos were taken, then filters by it
    payload, thumbs = tool_payload(own_lib, "list_places", {})
    assert payload["places"]["countries"][0]["country"] == "Portugal" and not thumbs
    assert payload["trips"]["home"]["label"] == "Lisbon, Portugal"
    assert {t["name"] for t in payload["trips"]["trips"]} == {t["name"] for t in own_lib.trips()["trips"]}
    from photoseek.tools.base import TOOLS

    compact = json.loads(TOOLS["list_places"].run(own_lib, {}).to_llm_json())
    assert "Portugal" in [c["country"] for c in compact["countries"]] and compact["trips"]
