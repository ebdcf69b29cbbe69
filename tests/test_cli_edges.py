"""Command-line edges (issue 11, part 6): filters alone, impossible dates, blank queries, and queries
in Latin-script languages other than English. Real models; the LLM is absent (--llm none) or, for
the translation itself, a scripted stand-in (tests/agent_support.py) because no server runs here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from photoseek.errors import PhotoseekError
from photoseek.llm.translate import detect_language, needs_translation
from photoseek.search.filters import check_date
from tests.test_cli import run_cli


def _dated(path: Path, when: str, brightness: int) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = when  # DateTimeOriginal
    pixels = Image.new("RGB", (320, 240), (brightness, brightness, min(255, brightness + 20)))
    pixels.save(path, "JPEG", exif=exif, quality=90)


@pytest.fixture(scope="module")
def night_library(tmp_path_factory):
    photos = tmp_path_factory.mktemp("photos")
    _dated(photos / "night_2020.jpg", "2020:03:01 23:10:00", 8)
    _dated(photos / "night_2021.jpg", "2021:07:04 22:30:00", 10)
    _dated(photos / "day_2022.jpg", "2022:05:05 12:00:00", 200)
    _dated(photos / "day_2019.jpg", "2019:05:05 12:00:00", 190)
    library = tmp_path_factory.mktemp("lib")
    run_cli("--llm", "none", "index", str(photos), "--no-annotate", "--json", library=library)
    run_cli("--llm", "none", "annotate", "--only", "time", "--json", library=library)
    return library


def test_filters_alone_list_photos_newest_first(night_library):
    proc = run_cli("--llm", "none", "search", "--time", "night", "--json", library=night_library)
    out = json.loads(proc.stdout)
    assert [Path(r["path"]).name for r in out["results"]] == ["night_2021.jpg", "night_2020.jpg"]
    assert "night" in out["query"]
    text = run_cli("--llm", "none", "search", "--time", "day", library=night_library).stdout
    assert text.index("day_2022.jpg") < text.index("day_2019.jpg")


@pytest.mark.parametrize("bad", ["2021-02-30", "2019-13", "2019-00-10", "12345-01-01", "2021-2-3"])
def test_impossible_dates_are_refused(night_library, bad):
    proc = run_cli("--llm", "none", "search", "cat", "--from", bad, library=night_library, check=False)
    assert proc.returncode == 1 and "--from" in proc.stderr and bad in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("--llm", "none", "search", "--to", bad, library=night_library, check=False)
    assert proc.returncode == 1 and "--to" in proc.stderr


def test_real_dates_pass():
    assert check_date(" 2020-02-29 ", "date_from") == "2020-02-29"  # a leap day
    assert check_date("2019-06", "x") == "2019-06" and check_date("2019", "x") == "2019"
    with pytest.raises(PhotoseekError, match="not a real date"):
        check_date("2019-02-29", "date_from")


@pytest.mark.parametrize("blank", ["   ", "", "\t"])
def test_blank_query_is_an_error_with_a_hint(night_library, blank):
    proc = run_cli("--llm", "none", "search", blank, library=night_library, check=False)
    assert proc.returncode == 1
    assert "--time night" in proc.stderr or "Give something to search for" in proc.stderr


def test_blank_text_is_refused_by_the_library_too(tmp_path):
    from photoseek import Library

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(photos / "green.png")
    lib = Library(tmp_path / "lib", llm=None)
    lib.index([photos], annotate=False)
    with pytest.raises(PhotoseekError, match="blank"):
        lib.search("   ")


@pytest.mark.parametrize(
    "query,language",
    [("Hund am Strand", "German"), ("Katze auf dem Sofa", "German"), ("chien sur la plage", "French"),
     ("perro en la playa", "Spanish"), ("gatto sul divano", "Italian"), ("cão na praia", "Portuguese"),
     ("hond op het strand", "Dutch"), ("猫的照片", "non-Latin script")],
)
def test_languages_other_than_english_are_detected(query, language):
    assert detect_language(query) == language and needs_translation(query)


@pytest.mark.parametrize(
    "query",
    ["dog on the beach", "a red bus", "two people playing tennis", "sunset", "the eiffel tower at night",
     "beach photos with dogs from 2019", "green signs with text that were not taken at night", "EXIT sign",
     "a photo of de la soul in concert", "kids at the zoo without people"],
)
def test_english_is_left_alone(query):
    assert detect_language(query) is None and not needs_translation(query)


def test_german_query_without_a_model_says_it_was_not_translated(night_library):
    out = json.loads(run_cli("--llm", "none", "search", "Hund am Strand", "--json", library=night_library).stdout)
    assert "German" in out["note"] and "not translated" in out["note"] and "searched_as" not in out
    text = run_cli("--llm", "none", "search", "Hund am Strand", library=night_library).stdout
    assert "not translated" in text
    english = json.loads(run_cli("--llm", "none", "search", "a dark photo", "--json", library=night_library).stdout)
    assert "note" not in english


def test_german_query_is_translated_by_the_library_llm(tmp_path):
    """The translate step runs for Latin-script languages too (before: only for other scripts)."""
    from photoseek import Library
    from tests.agent_support import ScriptedLLM

    llm = ScriptedLLM([{"english": "dog on the beach"}])
    lib = Library(tmp_path / "lib", llm=llm)
    assert lib.engine.english("Hund am Strand") == "dog on the beach"
    assert "Hund am Strand" in llm.requests[0].messages[-1].content
    assert lib.engine.english("a dog on the beach") == "a dog on the beach" and len(llm.requests) == 1


def test_planner_translates_a_german_query_the_model_left_german():
    from datetime import date

    from photoseek.agent.planner import PlanContext, Planner
    from tests.agent_support import ScriptedLLM

    llm = ScriptedLLM([{"tool": "text_search", "query": "Hund am Strand"}, {"english": "dog on the beach"}])
    plan = Planner(llm).plan("Hund am Strand", PlanContext(date(2025, 11, 23)))
    assert "dog" in plan.calls[0].args["query"] and "Hund" not in plan.calls[0].args["query"]
    assert llm.tasks() == ["PLAN", "TRANSLATE"]


def test_without_a_model_the_answer_says_it_was_not_translated():
    from photoseek.agent.planner import Planner

    plan = Planner(None).plan("Katze auf dem Sofa")
    assert any("not translated" in note for note in plan.notes)
    assert not any("not translated" in note for note in Planner(None).plan("a cat on the sofa").notes)
