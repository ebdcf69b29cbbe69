"""Shared fixtures. Add fixtures; do not rewrite others'."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
TEST_MODEL_CACHE = REPO_ROOT / ".cache" / "test-models"


@pytest.fixture(scope="session", autouse=True)
def model_cache() -> Path:
    """Models exported/assembled once into <repo>/.cache/test-models and reused between runs."""
    TEST_MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    os.environ["PHOTOSEEK_MODEL_CACHE"] = str(TEST_MODEL_CACHE)
    return TEST_MODEL_CACHE


def shared_data(name: str) -> Path:
    """A folder of ../shared/data, or skip the test saying why."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"evaluation data {path} is not present on this machine")
    return path


@pytest.fixture(scope="session")
def agent_library_dir(tmp_path_factory, model_cache) -> Path:
    """A small indexed library (COCO photos with EXIF dates + a prompt-injection notice) shared by the
    agent and tool tests; see tests/agent_support.build_agent_library. Tests open it read-only in spirit:
    a Library over it must not be changed by any agent turn."""
    from tests.agent_support import build_agent_library

    return build_agent_library(tmp_path_factory.mktemp("agent-library"), shared_data("coco-captions"))


@pytest.fixture(scope="module")
def agent_library(agent_library_dir):
    """A Library over the shared agent library, with no LLM (tests bring their scripted one)."""
    from photoseek import Library

    with Library(agent_library_dir, llm=None) as lib:
        yield lib


@pytest.fixture(scope="session")
def places_library_dir(tmp_path_factory, model_cache) -> Path:
    """A small library with GPS photos, a trip and photos without position (tests/places_support.py).
    Tests that change it (place corrections) work on a copy."""
    from tests.places_support import build_places_library

    return build_places_library(tmp_path_factory.mktemp("places-library"))
