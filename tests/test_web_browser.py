"""The web app in a real browser: Playwright driving Debian's Chromium (`/usr/bin/chromium`; browsers
cannot be downloaded here, `.ci/run` installs the package) against `photoseek serve`'s app on a
loopback port, over the shared agent library. The conversation's model is a ScriptedLLM.

One screenshot per page is kept under pytest's temporary folder (printed with -s), not in the repo.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from photoseek.web.state import AppState
from tests.agent_support import ScriptedLLM, photos_of, plans_by_request
from tests.web_support import running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots: {folder}")
    return folder


def card_ids(page) -> list[int]:
    return [int(i) for i in page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.id)")]


def test_ask_see_results_refine_and_open_details(browser, agent_library, screenshots):
    llm = ScriptedLLM(default=plans_by_request({
        "animals": {"tool": "text_search", "query": "animal"},
        "only from 2019": {"tool": "refine", "date_from": "2019-01-01", "date_to": "2019-12-31"}}))
    with running_server(AppState(agent_library, llm=llm)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        missing: list[str] = []
        page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
        page.goto(url + "/")
        page.fill("#q", "animals")
        page.click("#ask-button")
        page.wait_for_selector(".card img")
        page.wait_for_function("document.querySelector('#answer').textContent.startsWith('Found')")
        first = card_ids(page)
        assert len(first) >= 8
        assert page.locator(".card .explanation").first.inner_text().strip()
        # a library with no GPS at all: no place filter, and no "place unknown" under every photo
        assert page.locator("#filters").is_hidden()
        assert page.locator(".card .place").count() == 0
        # thumbnails load after the cards appear: wait for them (a broken thumbnail never loads: timeout)
        page.wait_for_function("Array.from(document.querySelectorAll('.card img')).slice(0, 4)"
                               ".every(i => i.complete && i.naturalWidth > 0)")
        page.screenshot(path=str(screenshots / "results.png"), full_page=True)

        dogs = photos_of(agent_library, "dog")
        liked = next(i for i in first if i in dogs)
        page.locator(f'.card[data-id="{liked}"] button.more').click()
        page.wait_for_selector("#refine:not([hidden])")
        page.wait_for_function("ids => JSON.stringify([...document.querySelectorAll('.card')].map(c => +c.dataset.id))"
                               " !== JSON.stringify(ids)", arg=first)
        again = card_ids(page)
        assert again != first and again.index(liked) <= first.index(liked)
        # the banner describes the re-ranked grid, not the answer before it
        # (the photo marked "more like this" is the user's, counted apart from the matches)
        counted = page.inner_text("#answer")
        strong = page.locator(f'.card:not([data-id="{liked}"]) .match-strong').count()
        assert (re.search(rf"Found (at least )?{strong} photos? for .* besides the one you marked", counted) if strong
                else counted.startswith("No other photo shows")), counted
        assert sum(again.index(i) for i in dogs if i in again) <= sum(first.index(i) for i in dogs if i in first)
        page.screenshot(path=str(screenshots / "more-like-this.png"), full_page=True)

        page.fill("#q", "only from 2019")  # a follow-up: Enter asks, and the conversation keeps its search
        page.press("#q", "Enter")
        page.wait_for_function("document.querySelector('#answer').textContent.includes('from 2019')")
        narrowed = card_ids(page)
        assert narrowed and set(narrowed) <= photos_of(agent_library, "cat")
        again = narrowed

        page.locator(f'.card[data-id="{again[0]}"] a.thumb').click()
        page.wait_for_url(f"**/photo/{again[0]}")
        page.wait_for_function("document.querySelector('#large').naturalWidth > 0")
        assert page.locator("#tags li.tag").count() > 0
        assert "Time of day" in page.inner_text(".facts")
        # opened from the results: why it was returned, and feedback on those results
        assert page.inner_text("#why").startswith("Why it was returned:")
        assert page.locator("#more-like").is_visible() and page.locator("#less-like").is_visible()
        page.screenshot(path=str(screenshots / "details.png"), full_page=True)

        asked = len(llm.requests)
        page.go_back()  # the results come back as they were, without asking the model again
        page.wait_for_selector(".card img")
        assert card_ids(page) == narrowed and "from 2019" in page.inner_text("#answer")
        assert len(llm.requests) == asked

        # "Less like this" on a photo's page refines the results it was opened from
        page.locator(f'.card[data-id="{again[0]}"] a.thumb').click()
        page.wait_for_url(f"**/photo/{again[0]}")
        name = page.inner_text("h1").strip()
        page.click("#less-like")
        page.wait_for_function("document.querySelector('#refine') && !document.querySelector('#refine').hidden")
        assert f"less like {name}" in page.inner_text("#refine")  # by file name, not "photo 13"
        page.wait_for_function(f"!document.querySelector('.card[data-id=\"{again[0]}\"]')")
        assert missing == []  # no 404 on the way (the page's icon included)


def test_empty_library_and_search_without_a_model(browser, tmp_path, screenshots):
    from photoseek import Library

    with running_server(AppState(Library(tmp_path / "empty", llm=None))) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 700})
        page.goto(url + "/")
        assert "no photos yet" in page.inner_text("#empty")
        assert page.locator("#ask-button").is_disabled()
        page.screenshot(path=str(screenshots / "empty.png"), full_page=True)


def test_a_long_answer_shows_a_first_page_and_says_shared_reasons_once(browser, agent_library, screenshots, monkeypatch):
    """A search whose words nothing here can name: the banner says it went by resemblance and how to
    teach the word; the reason every photo shares is one heading, not repeated on each card; a first
    page of results (4 here), then "Show 4 more" numbers the next ones on from 5."""
    import photoseek.web.app as web_app

    monkeypatch.setattr(web_app, "FIRST_PAGE", 4)
    with running_server(AppState(agent_library, llm=None)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/?q=a%20giraffe&mode=search")
        page.wait_for_selector(".card img")
        banner = page.inner_text("#answer")
        assert banner.startswith('No photo shows "a giraffe"') and "resemblance only" in banner
        assert 'Give "giraffe" to a few photos' in banner
        headings = page.locator(".grid h2.group")
        assert headings.count() == 1
        assert headings.first.inner_text().startswith('Close, not matches: photoseek cannot recognise "giraffe"')
        reasons = page.locator(".card .explanation").all_inner_texts()
        assert len(reasons) == 4 and not any("cannot recognise" in r for r in reasons)
        ranks = lambda: page.locator(".card .rank").all_inner_texts()
        assert ranks() == ["1.", "2.", "3.", "4."]
        more = page.locator("button.show-more")
        assert more.inner_text() == "Show 4 more"
        page.screenshot(path=str(screenshots / "first-page.png"), full_page=True)
        more.click()
        page.wait_for_function("document.querySelectorAll('.card').length === 8")
        assert ranks()[4:] == ["5.", "6.", "7.", "8."] and page.locator(".grid h2.group").count() == 1


def test_place_and_trip_filters_and_a_click_on_a_place(browser, places_library_dir, screenshots):
    """The page's place and trip filters over a library with GPS photos (tests/places_support.py): choose
    a country, see the place under each photo (an estimated one marked), click a place, pick a trip,
    and a place with no photo is said to have none."""
    from photoseek import Library

    with Library(places_library_dir, llm=None) as library, running_server(AppState(library)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/")
        page.wait_for_selector("#filters:not([hidden])")
        options = page.locator("#place-filter option").all_inner_texts()
        assert "France (3)" in options and any("Paris (3, 1 estimated)" in o for o in options)
        assert "3 photos have no known position" in page.inner_text("#filter-note")
        assert "home: Lisbon, Portugal" in page.inner_text("#filter-note")

        page.select_option("#place-filter", "France")
        page.wait_for_function("document.querySelector('#answer').textContent.startsWith('Found 3 photos taken in France')")
        names = page.locator(".card .name").all_inner_texts()
        assert sorted(names) == ["b01.jpg", "b02.jpg", "b03.jpg"]
        assert set(page.locator(".card .place").all_inner_texts()) == {"Paris, France"}
        assert page.locator(".card .place.estimated").count() == 1  # b02: no GPS, estimated from b01
        assert "photos with no known position could not be checked" in page.inner_text("#answer")
        page.wait_for_function("Array.from(document.querySelectorAll('.card img')).every(i => i.complete)")
        page.screenshot(path=str(screenshots / "place-filter.png"), full_page=True)

        # a trip from the trip filter, then a click on the place under a photo
        page.select_option("#place-filter", "")
        page.select_option("#trip-filter", "2023-05-02")
        page.wait_for_function("document.querySelectorAll('.card').length === 1")
        assert page.locator(".card .name").inner_text() == "c01.jpg"
        page.select_option("#trip-filter", "")
        page.fill("#q", "photo")
        page.click("#search-button")
        page.wait_for_function("document.querySelectorAll('.card').length > 3")
        page.locator(".card .place", has_text="Tokyo, Japan").first.click()
        page.wait_for_function("document.querySelectorAll('.card').length === 1")
        assert page.locator("#place-filter").input_value() == "Tokyo, Japan"
        assert page.locator(".card .name").inner_text() == "c01.jpg"
        assert page.locator(".place.unknown").count() == 0

        # a photo's page shows its place and how it is known
        page.locator(".card a.thumb").first.click()
        page.wait_for_url("**/photo/*")
        assert "Tokyo, Japan (GPS)" in " ".join(page.inner_text("#place").split())

        # a place with no photo: said so, never answered by likeness
        page.goto(url + "/?place=Rome")
        page.wait_for_function("document.querySelector('#answer').textContent.startsWith('No photo was taken in Rome')")
        assert page.locator(".card").count() == 0
