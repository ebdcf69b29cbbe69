"""People on the page and over HTTP and MCP: the People view, naming a person in place (a real
browser: Playwright driving /usr/bin/chromium), a person's page with "not this person", merge and
hide over the API, every result saying who is in it, and the person filters in /api/search and MCP.
Photos: tests/people_support.py (public-domain faces); screenshots stay under pytest's temp folder."""

from __future__ import annotations

import os
import shutil

import pytest
from fastapi.testclient import TestClient

from photoseek.web.app import create_app
from photoseek.web.state import AppState
from tests.people_support import copy_library, people_library, write_people_photos
from tests.test_web_browser import browser  # noqa: F401 - the fixture: Chromium driven by Playwright
from tests.web_support import running_server


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("people-web")
    write_people_photos(root / "photos")
    people_library(root / "lib", root / "photos").close()
    return root


@pytest.fixture
def library(base, tmp_path):
    lib = copy_library(base / "lib", tmp_path / "lib")
    yield lib
    lib.close()


def test_people_over_http(library):
    client = TestClient(create_app(AppState(library)), base_url="http://127.0.0.1")
    people = client.get("/api/people").json()
    assert sorted(p["photos"] for p in people) == [4, 5] and all(p["name"] is None for p in people)
    eileen = max(people, key=lambda p: p["photos"])
    crop = client.get(f"/api/faces/{eileen['cover_face']}/crop")
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    named = client.post(f"/api/people/{eileen['id']}/name", json={"name": "Eileen"}).json()
    assert named["name"] == "Eileen" and named["photos"] == 5
    assert client.post(f"/api/people/{eileen['id']}/name", json={"name": ""}).status_code == 422
    # search by person: the filters every search kind takes, and each result says who is in it
    found = client.get("/api/search", params={"person": "Eileen", "k": 20}).json()
    assert len(found["results"]) == 5 and found["summary"].startswith("Found 5 photos with Eileen")
    assert all(r["evidence"]["recognised"].keys() == {"Eileen"} or "together" in r["path"] for r in found["results"])
    assert "Eileen recognised" in found["results"][0]["explanation"]
    unknown = client.post("/api/search", json={"person": ["Jennifer"]})
    assert unknown.status_code == 400 and 'No one is named "Jennifer"' in unknown.json()["detail"]
    # "not this person", then hide
    page = client.get(f"/api/people/{eileen['id']}").json()
    face = page["faces"][-1]
    moved = client.post(f"/api/faces/{face['id']}/reject", json={}).json()
    assert moved["person_id"] != eileen["id"]
    assert client.get(f"/api/people/{eileen['id']}").json()["person"]["photos"] == 4
    hidden = client.post(f"/api/people/{eileen['id']}/hide", json={"hidden": True}).json()
    assert hidden["hidden"] and eileen["id"] not in [p["id"] for p in client.get("/api/people").json()]
    # merge, then forget
    grace = min(people, key=lambda p: p["photos"])
    merged = client.post(f"/api/people/{grace['id']}/merge", json={"into": "Eileen"}).json()
    assert merged["id"] == eileen["id"] and merged["photos"] == 7
    assert client.delete(f"/api/people/{eileen['id']}").json()["faces"] >= 7
    assert client.get("/api/people?hidden=true").json() == []


def test_list_people_and_the_person_filter_over_mcp(library):
    from photoseek.web.mcp_server import tool_payload

    library.people().name(max(library.people().list(), key=lambda p: p.photos).id, "Eileen")
    payload, _ = tool_payload(library, "list_people", {})
    assert [(p["name"], p["photos"]) for p in payload["people"] if p["name"]] == [("Eileen", 5)]
    payload, thumbs = tool_payload(library, "filter_photos", {"person": ["Eileen"], "person_only": True})
    assert len(payload["results"]) == 4 and len(thumbs) == 4


def test_naming_a_person_on_the_page(browser, library, tmp_path):
    with running_server(AppState(library)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/people")
        cards = page.locator(".person-card")
        assert cards.count() == 2
        page.wait_for_function("[...document.querySelectorAll('.person-card img')].every(i => i.complete && i.naturalWidth > 0)")
        first = cards.first
        first.locator("input[name=name]").fill("Eileen Collins")
        first.locator("button[type=submit]").click()
        first.locator(".note", has_text="Saved.").wait_for()
        page.screenshot(path=str(tmp_path / "people.png"), full_page=True)
        person_id = int(first.get_attribute("data-person"))
        assert library.people().get(person_id).name == "Eileen Collins"
        # search by the name from the one box: every result says who is in it
        page.goto(url + "/?q=Eileen%20Collins&mode=search")
        page.wait_for_selector(".card .who")
        assert page.locator(".card").count() == library.people().get(person_id).photos
        assert "Eileen Collins" in page.locator(".card .who").first.inner_text()
        # the person's page: "not this person" takes a face away
        page.goto(f"{url}/people/{person_id}")
        before = page.locator(".face-card").count()
        page.locator("button.not-person").last.click()
        page.wait_for_function(f"document.querySelectorAll('.face-card').length === {before - 1}")
        page.screenshot(path=str(tmp_path / "person.png"), full_page=True)
        assert library.people().get(person_id).faces == before - 1
        page.close()
