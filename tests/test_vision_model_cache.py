"""The model cache: atomic writes, one builder at a time across processes, stamps that trigger rebuilds."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from photoseek.vision import model_cache
from photoseek.vision.model_cache import atomic_output, cache_path, ensure_artifact, read_stamp


@pytest.fixture()
def isolated_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PHOTOSEEK_MODEL_CACHE", str(tmp_path / "models"))
    return tmp_path / "models"


def test_builds_once_then_reuses_and_rebuilds_on_new_stamp(isolated_cache):
    builds = []

    def build(target: Path):
        builds.append(target)
        target.write_text(f"build {len(builds)}")
        return {"tool": "test"}

    first = ensure_artifact("thing.bin", {"version": "1"}, build)
    again = ensure_artifact("thing.bin", {"version": "1"}, build)
    assert first == again == isolated_cache / "thing.bin"
    assert len(builds) == 1 and first.read_text() == "build 1"
    assert read_stamp(first) == {"version": "1"}

    rebuilt = ensure_artifact("thing.bin", {"version": "2"}, build)
    assert len(builds) == 2 and rebuilt.read_text() == "build 2"
    assert read_stamp(rebuilt) == {"version": "2"}
    # the builder wrote to a temporary sibling with the same suffix, never to the final name
    assert builds[0].parent == isolated_cache and builds[0].suffix == ".bin" and builds[0].name != "thing.bin"


def test_failed_build_leaves_nothing_behind(isolated_cache):
    def broken(target: Path):
        target.write_text("half")
        raise RuntimeError("export crashed")

    with pytest.raises(RuntimeError, match="export crashed"):
        ensure_artifact("graph.onnx", {"v": "1"}, broken)
    leftovers = [p.name for p in isolated_cache.iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_atomic_output_replaces_in_one_step(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with atomic_output(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # readers still see the old file until the end
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_artifact_names_are_plain_file_names(isolated_cache):
    for bad in ("../escape", "a/b", ".hidden", ""):
        with pytest.raises(ValueError):
            cache_path(bad)


def _slow_build_in_child(cache_dir: str, counter: str) -> None:
    os.environ["PHOTOSEEK_MODEL_CACHE"] = cache_dir

    def build(target: Path):
        with open(counter, "a") as handle:
            handle.write("built\n")
        time.sleep(0.5)  # long enough for the other process to arrive while this one holds the lock
        target.write_text("graph")

    ensure_artifact("shared.onnx", {"v": "1"}, build)


def test_two_processes_export_once(tmp_path):
    counter = tmp_path / "builds.txt"
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_slow_build_in_child, args=(str(tmp_path / "models"), str(counter))) for _ in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    assert counter.read_text().count("built") == 1
    assert (tmp_path / "models" / "shared.onnx").read_text() == "graph"


def test_missing_package_is_a_clear_error():
    with pytest.raises(model_cache.ModelUnavailableError, match="pip install no-such-photoseek-package"):
        model_cache.package_version("no-such-photoseek-package")
