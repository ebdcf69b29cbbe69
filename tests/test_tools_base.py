"""The typed tools: schemas, argument checking, and every tool run on a small real library without
changing it."""

from __future__ import annotations

import pytest

from photoseek import Library
from photoseek.tools import TOOLS, ToolArgumentsError, run_tool
from photoseek.tools.base import Tool, ToolResult, _registry, normalize_date
from tests.agent_support import catalog_fingerprint, photos_of


def photo_id(agent_library: Library, subject: str) -> int:
    return min(photos_of(agent_library, subject))


def test_registry_holds_the_read_only_tools():
    assert set(TOOLS) == {"text_search", "similar_to_photo", "composed_search", "filter_photos", "text_in_photo",
                          "show_photo", "caption_photo", "feedback", "list_people", "list_places", "taught_words"}
    assert all(tool.read_only for tool in TOOLS.values())

    class Deleter(Tool):
        name, description, read_only = "delete_photos", "removes photos", False

    with pytest.raises(TypeError, match="not read-only"):
        _registry(Deleter())


def test_schemas_describe_the_arguments():
    schema = TOOLS["text_search"].parameters()
    assert schema["required"] == ["query"]
    assert {"query", "k", "date_from", "date_to", "time_of_day", "people", "tags"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert TOOLS["composed_search"].parameters()["required"] == ["photo", "but"]
    for tool in TOOLS.values():
        assert tool.description and tool.name


def test_arguments_are_checked_with_clear_messages():
    parsed = TOOLS["text_search"].parse_args({"query": "cat", "date_from": "2019", "date_to": "2019-02", "tags": [" Dog ", "dog"]})
    assert (parsed.date_from, parsed.date_to, parsed.tags) == ("2019-01-01", "2019-02-28", ["dog"])
    assert TOOLS["similar_to_photo"].parse_args({"photo": "12"}).photo == 12
    with pytest.raises(ToolArgumentsError, match="query: .*at least 1 character.*delete: Extra inputs"):
        TOOLS["text_search"].parse_args({"query": "", "delete": True})
    with pytest.raises(ToolArgumentsError, match="time_of_day"):
        TOOLS["text_search"].parse_args({"query": "x", "time_of_day": "noon"})
    with pytest.raises(ToolArgumentsError, match="at least one filter"):
        TOOLS["filter_photos"].parse_args({})
    with pytest.raises(ToolArgumentsError, match="more_like or less_like"):
        TOOLS["feedback"].parse_args({"query": "cat"})
    with pytest.raises(ToolArgumentsError, match="No tool named 'rm'"):
        run_tool(None, "rm", {})
    assert normalize_date("2020-02", end=True) == "2020-02-29"
    with pytest.raises(ValueError):
        normalize_date("last summer", end=False)


def test_every_tool_runs_and_changes_nothing(agent_library):
    before = catalog_fingerprint(agent_library)
    cat, pizza, notice = photo_id(agent_library, "cat"), photo_id(agent_library, "pizza"), photo_id(agent_library, "notice")

    found = run_tool(agent_library, "text_search", {"query": "cat", "date_from": "2019", "date_to": "2019"})
    assert found.results and all(r.evidence.taken_at.startswith("2019") for r in found.results)

    similar = run_tool(agent_library, "similar_to_photo", {"photo": cat, "k": 5})
    assert similar.results and cat not in [r.id for r in similar.results]
    assert all(r.evidence.similar_to == [cat] for r in similar.results)

    composed = run_tool(agent_library, "composed_search", {"photo": cat, "but": "at night", "k": 5})
    assert composed.results and cat not in [r.id for r in composed.results]

    night = run_tool(agent_library, "filter_photos", {"time_of_day": "night"})
    assert night.results and all(r.evidence.time_of_day == "night" for r in night.results)

    text = run_tool(agent_library, "text_in_photo", {"text": "delete"})
    assert [r.id for r in text.results] == [notice] and "DELETE" in text.results[0].evidence.ocr_snippet

    shown = run_tool(agent_library, "show_photo", {"photo": notice})
    assert shown.photo["id"] == notice and "DELETE" in shown.photo["ocr_text"]

    caption = run_tool(agent_library, "caption_photo", {"photo": notice})
    assert caption.text and caption.text.endswith(".")

    feedback = run_tool(agent_library, "feedback", {"query": "cat", "more_like": [cat], "less_like": [pizza]})
    assert feedback.results and pizza not in {r.id for r in feedback.results}

    assert catalog_fingerprint(agent_library) == before  # caption_photo did not store a caption either


def test_results_serialise(agent_library):
    result = run_tool(agent_library, "text_search", {"query": "dog", "k": 3})
    data = result.to_dict()
    assert data["tool"] == "text_search" and data["args"] == {"query": "dog", "k": 3}
    assert {"id", "path", "score", "evidence"} <= set(data["results"][0])
    assert isinstance(result, ToolResult) and '"results"' in result.to_llm_json()


def test_unknown_photo_is_a_clear_error(agent_library):
    from photoseek.errors import NotFoundError

    with pytest.raises(NotFoundError, match="No photo"):
        run_tool(agent_library, "show_photo", {"photo": "/no/such/photo.jpg"})
