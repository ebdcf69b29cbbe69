"""`photoseek serve --search-processes N`: /api/search answered by worker processes gives the same
JSON as the server's own process, sees what the server writes, survives a worker that dies, and
leaves no worker behind a server killed outright."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from photoseek import Library
from photoseek.web.app import create_app
from photoseek.web.search_processes import SearchProcesses
from photoseek.web.state import AppState
from tests.agent_support import photos_of
from tests.web_support import copy_library, free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE = "http://127.0.0.1:8765"
SEARCHES = [{"text": "a cat", "k": 5}, {"text": "dogs at night", "k": 8}, {"text_in_photo": "notice"},
            {"text": "a dog", "more_like": [1], "k": 4}]


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def library(agent_library_dir, tmp_path):
    shutil.copy(agent_library_dir.parent / "subjects.json", tmp_path)  # photos_of reads it beside the library
    with Library(copy_library(agent_library_dir, tmp_path / "lib"), llm=None) as lib:
        yield lib


def test_workers_answer_as_the_server_does_and_see_its_writes(library):
    own = TestClient(create_app(AppState(library)), base_url=BASE)
    expected = [own.get("/api/search", params=s).json() for s in SEARCHES]

    state = AppState(library)
    workers = SearchProcesses(library, 1)
    state.search_processes = workers
    workers.start()
    try:
        assert workers.wait_ready(180), "the search process did not start"
        client = TestClient(create_app(state), base_url=BASE)
        assert client.get("/api/status").json()["search_processes"] == 1
        served = [client.get("/api/search", params=s).json() for s in SEARCHES]
        assert served == expected
        assert client.post("/api/search", json=SEARCHES[0]).json() == expected[0]

        # the server process writes (the page's tag confirmation); the worker's next search sees it
        dog = min(photos_of(library, "dog"))
        client.post(f"/api/photos/{dog}/tags", json={"add": ["Rex"]})
        found = client.get("/api/search", params={"tags": ["rex"], "k": 5}).json()["results"]
        assert [r["id"] for r in found] == [dog]
        rex = {"text": "rex the dog", "k": 5}
        assert client.get("/api/search", params=rex).json() == own.get("/api/search", params=rex).json()
        assert any("rex" in r["explanation"].lower() for r in client.get("/api/search", params=rex).json()["results"])

        # a worker that dies: the server answers the next search itself, and says so
        for pid in list(workers._pool._processes):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        assert client.get("/api/search", params=SEARCHES[1]).json() == own.get("/api/search", params=SEARCHES[1]).json()
        assert client.get("/api/status").json()["search_processes"] == 0
    finally:
        workers.close()


def test_a_server_killed_outright_leaves_no_worker(library):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "photoseek", "--library", str(library.path), "--llm", "none",
                               "serve", "--port", str(port), "--search-processes", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2).json().get("search_processes") == 1:
                    break
            except (httpx.TransportError, json.JSONDecodeError):
                pass
            time.sleep(0.3)
        else:
            pytest.fail("the server's search process did not start")
        assert httpx.get(f"http://127.0.0.1:{port}/api/search", params=SEARCHES[0], timeout=30).status_code == 200
        workers = [pid for pid in children_of(server.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 1
    finally:
        server.kill()  # kill -9: no shutdown code runs in the server
        server.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
                   for pid in workers), "a search process outlived its server"
