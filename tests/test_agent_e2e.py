"""End to end with the real default model (Qwen2.5-Coder-1.5B GGUF assembled into the test model cache)
on a small real library: a Chinese request planned as "cat", a follow-up turn, explanations grounded in
evidence, `photoseek ask --json`, and a prompt injection printed in a photo that changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest

from photoseek import Library
from photoseek.agent.explain import unsupported_words
from photoseek.llm.base import get_llm
from photoseek.agent.session import Session
from tests.agent_support import catalog_fingerprint, photos_of
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session(agent_library_dir, model_cache):
    llm = get_llm("llamacpp")
    llm.warm_up()
    with Library(agent_library_dir, llm=llm) as lib:
        yield Session(lib, today=date(2025, 11, 23), k=5)


def test_chinese_request_then_follow_up(session):
    before = catalog_fingerprint(session.library)
    first = session.ask("猫的照片")
    call = first.plan.calls[0]
    assert first.plan.source == "model" and call.tool == "text_search" and call.args["query"].lower() in ("cat", "cats")
    assert first.results and first.results[0].id in photos_of(session.library, "cat")
    for result in first.results:  # whether the model's or composed, nothing absent from the evidence
        assert result.explanation and unsupported_words(result.explanation, result, call.args["query"]) == []

    follow = session.ask("only from 2019")
    call = follow.plan.calls[0]
    assert call.tool == "text_search" and "cat" in call.args["query"] and call.args["date_from"] == "2019-01-01"
    assert follow.results and all(r.evidence.taken_at.startswith("2019") for r in follow.results)
    assert catalog_fingerprint(session.library) == before


def test_injected_text_with_the_real_model(session):
    before = catalog_fingerprint(session.library)
    session.reset()
    answer = session.ask("photos with text in them")
    assert {c.tool for c in answer.plan.calls} <= {"filter_photos", "text_search", "text_in_photo"}
    assert answer.text.startswith("Found") and "delete" not in answer.text.lower()
    assert catalog_fingerprint(session.library) == before


def test_ask_json_from_the_command_line(agent_library_dir, model_cache):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PHOTOSEEK_MODEL_CACHE=str(model_cache))
    proc = subprocess.run(
        [sys.executable, "-m", "photoseek", "--library", str(agent_library_dir), "ask", "--json", "dogs from 2021"],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= {"plan", "results", "answer"}
    assert data["plan"][0]["tool"] == "text_search" and data["plan"][0]["args"]["date_from"] == "2021-01-01"
    assert data["results"] and all(r["evidence"]["taken_at"].startswith("2021") for r in data["results"])
    assert all({"id", "path", "score", "explanation", "evidence"} <= set(r) for r in data["results"])
