"""The HTTP API of `photoseek serve` (FastAPI's TestClient, no socket) over the shared agent
library: the same JSON as the CLI's --json, every search kind, feedback, the detail routes, the
bounds and the safety rules. The agent's model is a ScriptedLLM (see tests/agent_support.py)."""

from __future__ import annotations

import io
import json
import os
import shutil
from contextlib import redirect_stdout

import pytest
from fastapi.testclient import TestClient

from photoseek import Library
from photoseek.cli import main as cli_main
from photoseek.web.app import create_app
from photoseek.web.state import AppState
from tests.agent_support import ScriptedLLM, catalog_fingerprint, photos_of, plans_by_request
from tests.web_support import copy_library

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def client(agent_library):
    return TestClient(create_app(AppState(agent_library)), base_url=BASE)


def cli_json(library_dir, *argv) -> object:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli_main(["--library", str(library_dir), "--llm", "none", *argv, "--json"]) == 0
    return json.loads(out.getvalue())


def without_explanations(results: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "explanation"} for r in results]


def test_search_answers_with_the_cli_json_shape_and_explanations(client, agent_library):
    api = client.get("/api/search", params={"text": "a cat", "k": 5}).json()
    cli = cli_json(agent_library.path, "search", "a cat", "-k", "5")
    assert api["query"] == cli["query"] == "a cat"
    assert without_explanations(api["results"]) == without_explanations(cli["results"])
    assert all(r["explanation"] for r in api["results"])  # composed from the evidence
    strong = sum(r["match"] == "strong" for r in api["results"])  # the banner's words, counted by the server
    assert api["summary"].startswith(f'Found {strong} photo' if strong else 'No photo shows "a cat"')
    assert api["results"][0]["id"] in photos_of(agent_library, "cat")
    posted = client.post("/api/search", json={"text": "a cat", "k": 5}).json()
    assert posted == api
    # the route renders its JSON itself (off the event loop); it must be what the documented
    # response model gives, None-valued keys left out at every depth
    from photoseek.web.app import run_search
    from photoseek.web.models import SearchRequest, SearchResponse

    state = client.app.state.photoseek
    for request in (SearchRequest(text="a cat", k=5), SearchRequest(text="snow", k=3, people=False)):
        served = client.post("/api/search", json=request.model_dump(exclude_none=True)).json()
        modelled = SearchResponse.model_validate(run_search(state, request)).model_dump(mode="json", exclude_none=True)
        assert served == modelled


def test_every_search_kind_and_filters(client, agent_library):
    cats = photos_of(agent_library, "cat")
    reference = min(cats)
    like = client.post("/api/search", json={"like": reference, "k": 4}).json()
    assert like["query"] == f"like {reference}" and reference not in {r["id"] for r in like["results"]}
    composed = client.post("/api/search", json={"like": reference, "but": "at night", "k": 4}).json()
    assert composed["results"] and composed["query"] == f"like {reference} but at night"
    text = client.post("/api/search", json={"text_in_photo": "DELETE", "k": 3}).json()
    assert text["results"] and text["results"][0]["id"] in photos_of(agent_library, "notice")
    dated = client.get("/api/search", params={"text": "animal", "date_from": "2019", "date_to": "2019"}).json()
    assert dated["results"] and {r["id"] for r in dated["results"]} <= cats
    only_filter = client.post("/api/search", json={"tags": ["pizza"], "k": 5}).json()
    assert only_filter["results"]


def test_relevance_feedback_changes_the_ranking(client, agent_library):
    first = client.post("/api/search", json={"text": "animal", "k": 13}).json()["results"]
    dogs = photos_of(agent_library, "dog")
    liked = next(r["id"] for r in first if r["id"] in dogs)
    unwanted = next(r["id"] for r in first if r["id"] in photos_of(agent_library, "cat"))
    again = client.get("/api/search", params={"text": "animal", "k": 13, "more_like": [liked],
                                              "less_like": [unwanted]}).json()["results"]
    assert [r["id"] for r in again] != [r["id"] for r in first]
    rank = lambda results, ids: sum(i for i, r in enumerate(results) if r["id"] in ids)  # noqa: E731
    assert rank(again, dogs) < rank(first, dogs)
    again_ids = [r["id"] for r in again]
    assert unwanted not in again_ids or again_ids.index(unwanted) > [r["id"] for r in first].index(unwanted)
    # the reasons say how much each photo looks like the one marked, and which one was marked
    by_id = {r["id"]: r for r in again}
    assert by_id[liked]["evidence"]["marked"] is True and 'you marked it "more like this"' in by_id[liked]["explanation"]
    others = [r for r in again if r["id"] != liked]
    marked_name = os.path.basename(by_id[liked]["path"])  # named as the page shows it, not by catalog id
    assert all(f"{marked_name}, which you marked" in r["explanation"] for r in others)
    likeness = {r["id"]: r["evidence"]["likeness"] for r in others}
    other_dogs = [likeness[i] for i in likeness if i in dogs]
    assert other_dogs and max(other_dogs) > min(likeness[i] for i in likeness if i not in dogs)
    # ...and how much each looks like the one marked "less like this" (it has left the results)
    unwanted_name = client.get(f"/api/photos/{unwanted}").json()["path"].rsplit("/", 1)[-1]
    assert all(f'{unwanted_name}, which you marked "less like this"' in r["explanation"] for r in others)
    cats = photos_of(agent_library, "cat")
    avoided = {r["id"]: r["evidence"]["avoided_likeness"] for r in others}
    assert all(r["evidence"]["avoided"] == [unwanted] for r in others)
    other_cats = [avoided[i] for i in avoided if i in cats]
    if other_cats:  # another cat looks more like the unwanted cat than some non-cat does
        assert max(other_cats) > min(avoided[i] for i in avoided if i not in cats)
    summary = client.get("/api/search", params={"text": "animal", "k": 13, "more_like": [liked]}).json()["summary"]
    assert "besides the one you marked" in summary  # the marked photo is the user's, not a finding


def test_show_errors_stats_match_the_cli(client, agent_library):
    photo = min(photos_of(agent_library, "dog"))
    assert client.get(f"/api/photos/{photo}").json() == cli_json(agent_library.path, "show", str(photo))
    assert client.get("/api/errors").json() == cli_json(agent_library.path, "errors")
    assert client.get("/api/stats").json() == cli_json(agent_library.path, "stats")
    thumb = client.get(f"/api/photos/{photo}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"
    image = client.get(f"/api/photos/{photo}/image")
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
    page = client.get(f"/photo/{photo}")
    assert page.status_code == 200 and "Tags" in page.text and "More like this" in page.text


@pytest.mark.parametrize("url", [
    "/api/photos/..%2F..%2F..%2Fetc%2Fpasswd/image",
    "/api/photos/%2Fetc%2Fpasswd",
    "/api/photos/1%2F..%2F..%2Fcatalog.sqlite3/thumbnail",
    "/api/photos/-1/image",
    "/api/photos/999999/image",
    "/api/photos/999999/thumbnail",
    "/photo/..%2F..%2Fetc%2Fpasswd",
    "/static/..%2F..%2Fweb%2Fapp.py",
    "/static/%2E%2E/%2E%2E/cli.py",
    "/catalog.sqlite3",
    "/thumbs/",
])
def test_files_only_by_catalog_id(client, url):
    response = client.get(url)
    assert response.status_code == 404, (url, response.status_code, response.text[:200])
    assert b"root:" not in response.content and b"SQLite format" not in response.content


def test_requests_are_bounded(client):
    assert client.post("/api/search", json={"text": "cat", "k": 101}).status_code == 422
    assert client.post("/api/search", json={"more_like": list(range(1, 60))}).status_code == 422
    assert client.post("/api/search", json={"text": "x" * 501}).status_code == 422
    assert client.post("/api/ask", json={"message": "x" * 2001}).status_code == 422
    assert client.post("/api/ask", json={"message": "cats", "explain": "poetry"}).status_code == 422
    huge = json.dumps({"text": "cat", "pad": "x" * 70_000})
    assert client.post("/api/search", content=huge, headers={"content-type": "application/json"}).status_code == 413
    chunks = (b"x" * 8192 for _ in range(10))  # no Content-Length: counted as it arrives
    assert client.post("/api/search", content=chunks, headers={"content-type": "application/json"}).status_code == 413
    bad = client.post("/api/search", json={"but": "at night"})
    assert bad.status_code == 422 and "like" in bad.text
    assert client.post("/api/search", json={"k": 3}).status_code == 422  # nothing to search for


def test_token_and_host_checks(agent_library):
    state = AppState(agent_library, token="s3cret-token")
    guarded = TestClient(create_app(state), base_url=BASE)
    assert guarded.get("/api/stats").status_code == 401
    assert guarded.get("/api/stats", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/api/stats", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert guarded.get("/?token=s3cret-token").status_code == 200  # sets the cookie the page's requests carry
    assert guarded.get("/api/stats").status_code == 200
    rebinding = TestClient(create_app(AppState(agent_library)), base_url="http://photos.evil.example")
    assert rebinding.get("/api/stats").status_code == 400


def test_remote_binding_needs_allow_remote():
    from photoseek.errors import PhotoseekError
    from photoseek.web.serve import serve

    with pytest.raises(PhotoseekError, match="--allow-remote"):
        serve(Library("/nonexistent-library", llm=None), host="0.0.0.0", port=1)


def test_confirm_and_reject_a_tag(agent_library_dir, tmp_path):
    shutil.copy(agent_library_dir.parent / "subjects.json", tmp_path)  # photos_of reads it beside the library
    with Library(copy_library(agent_library_dir, tmp_path / "lib"), llm=None) as library:
        client = TestClient(create_app(AppState(library)), base_url=BASE)
        photo = min(photos_of(library, "dog"))
        before = client.get(f"/api/photos/{photo}").json()
        model_tag = next(t["tag"] for t in before["tags"] if t["source"] != "user")
        after = client.post(f"/api/photos/{photo}/tags", json={"add": ["Rex"], "remove": [model_tag]}).json()
        tags = {t["tag"]: t for t in after["tags"]}
        assert tags["rex"]["source"] == "user" and model_tag not in tags
        assert client.post(f"/api/photos/{photo}/tags", json={"add": ["a"] * 21}).status_code == 422
        found = client.post("/api/search", json={"tags": ["rex"], "k": 5}).json()["results"]
        assert [r["id"] for r in found] == [photo]
        client.post(f"/api/photos/{photo}/tags", json={"add": ["<img src=x onerror=alert(1)>"]})
        page = client.get(f"/photo/{photo}").text  # the user's (or a photo's) text is escaped, never markup
        assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page


def test_ask_one_turn_then_a_refinement_in_the_same_session(agent_library):
    before = catalog_fingerprint(agent_library)
    llm = ScriptedLLM(default=plans_by_request({
        "猫的照片": {"tool": "text_search", "query": "cat"},
        "only from 2019": {"tool": "refine", "date_from": "2019-01-01", "date_to": "2019-12-31"},
    }))
    client = TestClient(create_app(AppState(agent_library, llm=llm)), base_url=BASE)
    first = client.post("/api/ask", json={"message": "猫的照片"}).json()
    assert first["plan"] == [{"tool": "text_search", "args": {"query": "cat"}}]
    assert first["search"] == {"text": "cat"} and first["session"] and first["results"]
    assert all(r["explanation"] and r["match"] in ("strong", "partial", "weak") for r in first["results"])
    assert all(r["explanation"].startswith("Weak match") for r in first["results"] if r["match"] == "weak")
    second = client.post("/api/ask", json={"message": "only from 2019", "session": first["session"]}).json()
    assert second["session"] == first["session"]
    assert second["plan"][0]["args"]["query"] == "cat" and second["plan"][0]["args"]["date_from"] == "2019-01-01"
    assert {r["id"] for r in second["results"]} <= photos_of(agent_library, "cat")
    other = client.post("/api/ask", json={"message": "only from 2019"})  # a new session has no search to refine
    assert other.json()["session"] != first["session"]
    assert catalog_fingerprint(agent_library) == before


def test_ask_stream_sends_events_as_they_come(agent_library):
    llm = ScriptedLLM(default=plans_by_request({"cats": {"tool": "text_search", "query": "cat"}}))
    client = TestClient(create_app(AppState(agent_library, llm=llm)), base_url=BASE)
    with client.stream("POST", "/api/ask/stream", json={"message": "cats", "explain": "model"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = [(b.split("\n")[0][len("event: "):], json.loads(b.split("\n")[1][len("data: "):]))
              for b in body.strip().split("\n\n")]
    names = [e for e, _ in events]
    assert names[:3] == ["session", "plan", "results"] and names[-1] == "answer"
    assert "explanation" in names and names.index("explanation") > names.index("results")
    answer = events[-1][1]
    assert answer["answer"].startswith("Found") and answer["session"] == events[0][1]["session"]
    explained = {d["id"]: d["text"] for e, d in events if e == "explanation"}
    assert all(r["explanation"] == explained[r["id"]] for r in answer["results"] if r["id"] in explained)


def test_empty_library_page_says_how_to_add_photos(tmp_path):
    client = TestClient(create_app(AppState(Library(tmp_path / "new", llm=None))), base_url=BASE)
    page = client.get("/")
    assert page.status_code == 200 and "no photos yet" in page.text and "index ~/Pictures" in page.text
    assert client.get("/api/status").json() == {"photos": 0, "indexing": None, "llm": False, "search_processes": 0}
    assert client.get("/api/stats").json()["photos"] == 0


def test_openapi_lists_the_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/ask", "/api/ask/stream", "/api/photos/{photo_id}", "/api/photos/{photo_id}/thumbnail",
            "/api/errors", "/api/stats"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_cli_ask_uses_a_running_server_and_falls_back_when_stale(agent_library, tmp_path):
    import os

    from photoseek.web.serve import ask_running_server
    from photoseek.web.state import read_server_file, write_server_file
    from tests.web_support import free_port, running_server

    llm = ScriptedLLM(default=plans_by_request({"cats": {"tool": "text_search", "query": "cat"}}))
    with running_server(AppState(agent_library, llm=llm)):
        assert read_server_file(agent_library.path)["pid"] == os.getpid()
        out = io.StringIO()
        with redirect_stdout(out):  # the CLI's default --llm is the embedded model: the server's scripted one answers
            assert cli_main(["--library", str(agent_library.path), "ask", "cats", "--json"]) == 0
        answer = json.loads(out.getvalue())
        assert set(answer) == {"plan", "results", "answer", "matches", "page", "groups"} and answer["plan"][0]["args"] == {"query": "cat"}
        assert llm.tasks() == ["PLAN"]  # reasons from the evidence unless --explain model
        with redirect_stdout(io.StringIO()):
            assert cli_main(["--library", str(agent_library.path), "ask", "cats", "--explain", "model", "--json"]) == 0
        assert llm.tasks()[-1] == "EXPLAIN"
    assert read_server_file(agent_library.path) is None  # removed when the server stopped

    write_server_file(tmp_path, "127.0.0.1", free_port(), None)  # our pid, but nothing listens: ignored
    assert ask_running_server(tmp_path, "cats") is None
    (tmp_path / "serve.json").write_text(json.dumps({"host": "127.0.0.1", "port": 1, "pid": 2 ** 22 + 12345}))
    assert read_server_file(tmp_path) is None  # a dead server's file


def test_a_served_answer_rebuilds_results_with_their_levels():
    from photoseek.results import Evidence, SearchResult
    from photoseek.web.serve import results_from_dicts

    sent = SearchResult(7, "/p/a.jpg", 0.5, Evidence(met={"dog": "tag dog"}, standing=2.0), "Strong match: dog.", "strong")
    assert results_from_dicts([json.loads(json.dumps(sent.to_dict()))]) == [sent]  # the CLI prints the level column
