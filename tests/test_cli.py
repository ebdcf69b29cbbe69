"""The CLI as a user and a script use it: subprocesses, real models, the photos scikit-image ships."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def run_cli(*args: str, library: Path | None = None, check: bool = True, env_extra=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "photoseek"]
    if library is not None:
        cmd += ["--library", str(library)]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), COLUMNS="200", **(env_extra or {}))
    proc = subprocess.run(cmd + list(args), capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"photoseek {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    from photoseek.demo import demo_photos_dir

    folder = demo_photos_dir(tmp_path_factory.mktemp("demo"))
    (folder / "notes.jpg").write_text("this is not a photo")  # a text file named .jpg
    (folder / "empty.png").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def indexed(photos, tmp_path_factory) -> tuple[Path, dict]:
    library = tmp_path_factory.mktemp("lib")
    proc = run_cli("index", str(photos), "--json", "--no-annotate", library=library)
    return library, json.loads(proc.stdout)


def test_index_json_reports_counts(indexed, photos):
    _, report = indexed
    assert set(report) == {"added", "updated", "moved", "removed", "unchanged", "failed", "seconds",
                           "stages", "work_seconds", "work_photos", "annotated", "places"}
    assert report["places"]["unlocated"] == report["added"]  # the test photos have no GPS
    assert report["seconds"] >= report["stages"]["index"] > 0 and "annotate" not in report["stages"]
    n_images = len([p for p in photos.iterdir() if p.name not in ("notes.jpg", "empty.png")])
    assert report["added"] == n_images
    assert report["failed"] == 2


def test_second_index_is_all_unchanged(indexed, photos):
    library, first = indexed
    proc = run_cli("index", str(photos), "--json", "--no-annotate", library=library)
    again = json.loads(proc.stdout)
    assert again["added"] == 0 and again["updated"] == 0
    assert again["unchanged"] == first["added"]


def test_status_says_searchable_and_pending_then_caption_on_demand(indexed):
    library, first = indexed
    status = json.loads(run_cli("status", "--json", library=library).stdout)
    assert status["searchable"] == status["photos"] == first["added"]
    assert status["annotations_pending"]["faces"] == first["added"]  # indexed with --no-annotate
    assert "captions" in status
    text = run_cli("status", library=library).stdout
    assert all(f"{key}:" in text for key in status)  # every key printed
    shown = json.loads(run_cli("--llm", "none", "caption", "1", "--json", library=library).stdout)
    assert shown["id"] == 1 and shown["caption"].startswith("A photo") and shown["captioner"] == "template-v1"


def test_text_search_finds_the_cat(indexed):
    library, _ = indexed
    proc = run_cli("search", "a cat", "-k", "3", "--json", library=library)
    data = json.loads(proc.stdout)
    assert data["query"] == "a cat"
    assert [set(r) >= {"id", "path", "score"} for r in data["results"]] == [True] * len(data["results"])
    assert Path(data["results"][0]["path"]).name == "chelsea.png"
    # the reason in words, as /api/search and ask --json give it
    assert all(r["explanation"].startswith(("Strong match", "Partial match", "Weak match")) for r in data["results"])


def test_search_like_returns_other_photos(indexed, photos):
    library, _ = indexed
    proc = run_cli("search", "--like", str(photos / "coffee.png"), "-k", "3", "--json", library=library)
    names = [Path(r["path"]).name for r in json.loads(proc.stdout)["results"]]
    assert "coffee.png" not in names and len(names) == 3


def test_show_and_errors(indexed, photos):
    library, _ = indexed
    info = json.loads(run_cli("show", str(photos / "chelsea.png"), "--json", library=library).stdout)
    assert info["width"] == 451 and info["height"] == 300
    assert info["path"].endswith("chelsea.png")
    errors = json.loads(run_cli("errors", "--json", library=library).stdout)
    reasons = {Path(e["path"]).name: e["reason"] for e in errors}
    assert set(reasons) == {"notes.jpg", "empty.png"}
    assert "empty" in reasons["empty.png"].lower()
    assert "not an image" in reasons["notes.jpg"].lower()


def test_human_output_is_a_table(indexed):
    library, _ = indexed
    out = run_cli("search", "coffee", "-k", "2", library=library).stdout
    assert "coffee.png" in out and "score" in out


def test_clear_errors_for_bad_input(tmp_path):
    proc = run_cli("search", "a cat", library=tmp_path / "nowhere", check=False)
    assert proc.returncode == 1
    assert "Index some photos first" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("index", str(tmp_path / "missing-folder"), library=tmp_path / "lib", check=False)
    assert proc.returncode == 1 and "No such file or folder" in proc.stderr
    proc = run_cli("show", "999999", library=tmp_path / "lib", check=False)
    assert proc.returncode == 1 and "No photo" in proc.stderr


def test_cli_start_up_imports_nothing_heavy():
    code = (
        "import sys, photoseek.cli, photoseek.library, photoseek.vision, photoseek.search.engine;"
        "heavy = [m for m in ('torch', 'onnxruntime', 'faiss', 'cv2', 'transformers', 'llama_cpp', 'numpy') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_tag_feedback_from_the_command_line(indexed, photos):
    library, _ = indexed
    chelsea = str(photos / "chelsea.png")
    info = json.loads(run_cli("tag", chelsea, "+chelsea", "-cat", "--json", library=library).stdout)
    tags = {t["tag"]: t["source"] for t in info["tags"]}
    assert tags.get("chelsea") == "user" and "cat" not in tags and "tabby cat" not in tags
    # a tag of the user's own (the cat's name) filters; the rejected tag no longer matches
    found = json.loads(run_cli("search", "chelsea", "--tag", "chelsea", "--json", library=library).stdout)["results"]
    assert [Path(r["path"]).name for r in found] == ["chelsea.png"]
    assert run_cli("search", "a photo of a cat", "--tag", "cat", "--json", library=library).stdout.count("chelsea") == 0
    proc = run_cli("tag", chelsea, "dog", library=library, check=False)
    assert proc.returncode == 1 and "+TAG" in proc.stderr


def test_search_marks_match_levels_and_min_level_cuts(indexed):
    library, _ = indexed
    data = json.loads(run_cli("search", "coffee", "-k", "5", "--json", library=library).stdout)
    levels = {Path(r["path"]).name: r["match"] for r in data["results"]}
    assert len(levels) == 5 and set(levels.values()) <= {"strong", "partial", "weak"}
    assert levels["coffee.png"] == "strong"  # its file name names the request: evidence
    coffee = next(r for r in data["results"] if r["path"].endswith("coffee.png"))
    assert coffee["evidence"]["met"] == {"coffee": "file name"}
    cut = json.loads(run_cli("search", "coffee", "-k", "5", "--min-level", "strong", "--json", library=library).stdout)
    assert [r["id"] for r in cut["results"]] == [r["id"] for r in data["results"] if r["match"] == "strong"]
    table = run_cli("search", "coffee", "-k", "2", library=library).stdout
    assert "match" in table and "strong" in table


def test_eval_answers_on_a_small_labelled_folder(photos, tmp_path):
    folder = tmp_path / "answers"
    folder.mkdir()
    for name in ("coffee.png", "chelsea.png", "astronaut.png"):
        shutil.copy(photos / name, folder / name)
    (folder / "concepts.jsonl").write_text(json.dumps({"query": "coffee", "relevant": ["coffee.png"]}) + "\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"query": "a violin", "relevant": []}) + "\n")
    proc = run_cli("eval", "answers", str(folder), "--empty", str(empty), "--json", library=tmp_path / "lib")
    result = json.loads(proc.stdout)
    assert {"precision", "recall", "F1", "queries", "per_query", "baseline", "empty"} <= set(result)
    assert result["queries"] == 1 and result["empty"]["queries"] == 1
    coffee = result["per_query"][0]
    assert coffee["query"] == "coffee" and coffee["recall"] == 1.0 and result["recall"] == 1.0
    # wrong matches by their file name in the folder, never by catalog id
    assert coffee["wrong_count"] == len(coffee["wrong"])
    assert set(coffee["wrong"]) <= {"chelsea.png", "astronaut.png"}
    assert result["baseline"]["precision"] == pytest.approx(1 / 3, abs=1e-3)  # the top-10 holds all three photos
    assert result["per_query"][1]["said_so"] is (result["per_query"][1]["answered"] == 0)


def test_search_why_column_says_when_similarity_alone_made_the_level():
    from photoseek.cli import _evidence_summary
    from photoseek.results import Evidence, SearchResult

    by_similarity = SearchResult(1, "/p/a.jpg", 0.4, Evidence(missing=["dog"], standing=3.5), match="partial")
    assert _evidence_summary(by_similarity) == "not found: dog; picture close to the search (among the closest 1% of the library's photos)"
    by_tag = SearchResult(2, "/p/b.jpg", 0.5, Evidence(met={"dog": "tag dog"}, standing=3.5), match="strong")
    assert _evidence_summary(by_tag) == "dog: tag dog"
    weak = SearchResult(3, "/p/c.jpg", 0.1, Evidence(missing=["dog"], standing=0.2), match="weak")
    assert _evidence_summary(weak) == "not found: dog"
    # words met along with an attribute: the similarity that made the level is still said
    counted = SearchResult(4, "/p/d.jpg", 0.5, Evidence(met={"people": "2 people found", "at night": "taken at night"},
                                                          missing=["tennis"], standing=3.5), match="strong")
    assert _evidence_summary(counted) == ("2 people found, taken at night; not found: tennis; "
                                          "picture close to the search (among the closest 1% of the library's photos)")
    # a search by filters alone: every row passes them
    assert _evidence_summary(SearchResult(5, "/p/e.jpg", 1.0, Evidence(), match="strong")) == "passes every filter"


def test_index_summary_leaves_out_stages_that_took_no_time():
    from photoseek.results import IndexReport

    report = IndexReport(added=2, failed=1, stages={"index": 1.234, "annotate": 0.001})
    assert report.summary() == ("added 2, updated 0, moved 0, removed 0, unchanged 0, failed 1", "index 1.2 s")
    assert IndexReport(stages={"index": 0.0}).summary()[1] == ""


def test_filters_that_exclude_every_photo_are_named_not_the_words(indexed):
    """'No photos match "cat"' would blame the words when no photo passed the filters to be searched."""
    library, _ = indexed
    out = run_cli("search", "cat", "--from", "2090", library=library).stdout
    said = " ".join(out.split())  # a date no photo has: said so, with the dates the library has
    assert "No photo was taken on or after 2090; the photos with a date were taken from" in said, said
    assert "No photos match" not in out
    # with photos that pass, an empty answer still speaks of the words
    out = run_cli("search", "--text", "QZXWV", library=library).stdout
    assert "No photos match 'QZXWV'" in out


def test_a_request_ask_cannot_run_says_why_and_fails_like_search(indexed):
    library, _ = indexed
    asked = run_cli("--llm", "none", "ask", "   ", library=library, check=False)
    assert asked.returncode == 1 and "Ask for some photos" in asked.stdout
    as_json = run_cli("--llm", "none", "ask", "  ", "--json", library=library, check=False)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["error"]
    assert run_cli("search", "", library=library, check=False).returncode == 1
