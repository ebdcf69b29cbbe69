"""The planner reads people's names by code over the library's names (the model only proposes, and
only names the library has): "Anna and Ben at the beach", "安娜在海边的照片", "Anna without Ben",
"only Anna"; a name the library lacks is said to be unknown, never answered by picture similarity.
The model is a ScriptedLLM; what it is asked is checked too."""

from __future__ import annotations

from datetime import date

import pytest

from photoseek.agent.people_words import read_people
from photoseek.agent.planner import PlanContext, Planner, PlanError, ToolCall
from tests.agent_support import ScriptedLLM

TODAY = date(2025, 11, 23)
NAMES = ("Anna", "Ben", "安娜", "Carl Smith")


def plan(request: str, reply: dict | None = None, context: PlanContext | None = None):
    llm = ScriptedLLM(default=reply) if reply is not None else None
    made = Planner(llm).plan(request, context or PlanContext(TODAY, people=NAMES))
    return made.calls[0].tool, made.calls[0].args, llm


def test_names_and_the_beach():
    tool, args, llm = plan("photos of Anna and Ben at the beach", {"tool": "text_search", "query": "beach"})
    assert tool == "text_search" and args["query"] == "beach" and args["person"] == ["Anna", "Ben"]
    asked = llm.requests[0].messages[-1].content
    assert "people named in this library: Anna, Ben, 安娜, Carl Smith" in asked
    assert "Anna" not in asked.split("Request:")[1]  # the names are filters already: the model plans the rest


def test_a_chinese_name_and_a_name_in_another_script():
    tool, args, _ = plan("安娜在海边的照片", {"tool": "text_search", "query": "beach"})
    assert (tool, args) == ("text_search", {"query": "beach", "person": ["安娜"]})
    # a library name the model recognised in another script (安娜 for "Anna" when only "Anna" exists)
    context = PlanContext(TODAY, people=("Anna",))
    _, args, _ = plan("安娜在海边的照片", {"tool": "text_search", "query": "beach", "person": ["Anna", "Zoe"]}, context)
    assert args["person"] == ["Anna"]  # Zoe is not in the library: a model's invention is dropped


def test_without_and_only_need_no_model():
    assert plan("Anna without Ben")[:2] == ("filter_photos", {"person": ["Anna"], "not_person": ["Ben"]})
    assert plan("only Anna")[:2] == ("filter_photos", {"person": ["Anna"], "person_only": True})
    assert plan("photos of anna")[:2] == ("filter_photos", {"person": ["Anna"]})
    assert plan("只有安娜的照片")[:2] == ("filter_photos", {"person": ["安娜"], "person_only": True})
    assert plan("pictures of Carl")[:2] == ("filter_photos", {"person": ["Carl Smith"]})


def test_names_with_other_filters_and_a_refinement():
    tool, args, _ = plan("Anna at night", {"tool": "filter_photos", "time_of_day": "night"})
    assert tool == "filter_photos" and args == {"time_of_day": "night", "person": ["Anna"]}
    previous = PlanContext(TODAY, ToolCall("text_search", {"query": "beach"}), [1, 2, 3], people=NAMES)
    tool, args, _ = plan("only the ones with Ben", context=previous)
    assert tool == "text_search" and args == {"query": "beach", "person": ["Ben"]}


@pytest.mark.parametrize("request_text, unknown", [
    ("photos of Jennifer Aniston", "Jennifer Aniston"),
    ("Anna and Jennifer at the beach", "Jennifer"),
    ("Zoe's birthday", "Zoe"),
])
def test_an_unknown_name_is_said_to_be_unknown(request_text, unknown):
    with pytest.raises(PlanError, match=f'No one is named "{unknown}" in this library yet; name someone with'):
        plan(request_text, {"tool": "text_search", "query": "woman"})


@pytest.mark.parametrize("request_text", ["photos of Paris", "dogs in New York", "Christmas at home",
                                          "beach photos from 2019", "Bilder von Hunden im Schnee", "rose garden"])
def test_places_holidays_and_other_languages_are_not_people(request_text):
    assert read_people(request_text, NAMES).unknown == []
    assert read_people(request_text, ("Rose",)).person == []  # a name that is a word needs its capital
