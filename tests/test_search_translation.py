"""Non-English queries are translated by the library's LLM before the English-only text encoder.

The LLM is a scripted stand-in here (the real model's Chinese handling is covered by the slow
planner tests); the encoder, index and search are real."""

from __future__ import annotations

from pathlib import Path

from photoseek import Library
from tests.agent_support import ScriptedLLM


def test_chinese_query_is_translated_then_searched(tmp_path):
    from photoseek.demo import demo_photos_dir

    photos = demo_photos_dir(tmp_path / "demo")
    llm = ScriptedLLM([{"english": "cat"}])
    lib = Library(tmp_path / "lib", llm=llm, captioner="template")
    lib.index([photos], annotate=False)
    results = lib.search("猫的照片", k=3)
    assert Path(results[0].path).name == "chelsea.png"
    assert "猫的照片" in llm.requests[0].messages[-1].content
    assert lib.engine.english("猫的照片") == "cat"
    assert len(llm.requests) == 1  # cached: asking again does not call the model


def test_latin_queries_and_missing_llm_leave_the_text_alone(tmp_path):
    lib = Library(tmp_path / "lib", llm=None)
    assert lib.engine.english("a red bus") == "a red bus"
    assert lib.engine.english("猫") == "猫"  # no LLM: searched as typed


def test_an_untranslated_query_gets_no_strong_match_from_similarity_alone(tmp_path):
    from photoseek.demo import demo_photos_dir

    photos = demo_photos_dir(tmp_path / "demo")
    lib = Library(tmp_path / "lib", llm=None, captioner="template")
    lib.index([photos], annotate=False)
    untranslated = lib.search("Katzen auf dem Sofa", k=10)  # German, and no LLM to translate it
    assert untranslated and not any(r.match == "strong" for r in untranslated)
    assert all(r.evidence.missing for r in untranslated)
