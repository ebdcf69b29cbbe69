"""The planner: deterministic reading of the request (dates, references, feedback, paths), the model's
step checked and completed, one retry, then a plain-text fallback. The model is a ScriptedLLM here;
tests marked slow use the real default model."""

from __future__ import annotations

import json
from datetime import date

import pytest

from photoseek.agent.dates import resolve_dates
from photoseek.agent.planner import (
    MODEL_TOOLS,
    PLANNER_TOOLS,
    STEP_SCHEMA,
    ParsedRequest,
    PlanContext,
    Planner,
    PlanError,
    ToolCall,
    normalize_references,
)
from photoseek.tools.base import TOOLS
from tests.agent_support import ScriptedLLM

TODAY = date(2025, 11, 23)


def beach_context(n: int = 10) -> PlanContext:
    return PlanContext(TODAY, ToolCall("text_search", {"query": "beach"}), list(range(101, 101 + n)))


# -- dates --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("beach photos from 2019", ("2019-01-01", "2019-12-31")),
        ("in 2019", ("2019-01-01", "2019-12-31")),
        ("2019年的照片", ("2019-01-01", "2019-12-31")),
        ("2019年3月", ("2019-03-01", "2019-03-31")),
        ("March 2020", ("2020-03-01", "2020-03-31")),
        ("since 2019", ("2019-01-01", None)),
        ("before 2018", (None, "2017-12-31")),
        ("between 2015 and 2017", ("2015-01-01", "2017-12-31")),
        ("last summer", ("2025-06-01", "2025-08-31")),  # today is in November: this year's summer is over
        ("去年夏天", ("2024-06-01", "2024-08-31")),
        ("last winter", ("2024-12-01", "2025-02-28")),
        ("last year", ("2024-01-01", "2024-12-31")),
        ("yesterday", ("2025-11-22", "2025-11-22")),
        ("two years ago", ("2023-01-01", "2023-12-31")),
    ],
)
def test_dates_people_say(text, expected):
    found = resolve_dates(text, TODAY)
    assert found is not None and (found.date_from, found.date_to) == expected


def test_last_summer_during_summer_is_the_year_before():
    found = resolve_dates("photos from last summer", date(2025, 7, 10))
    assert (found.date_from, found.date_to) == ("2024-06-01", "2024-08-31")


@pytest.mark.parametrize("text", ["cats", "you may like these", "/photos/2019/a.jpg", "IMG_2019.jpg", "#12"])
def test_no_dates_where_none_are_said(text):
    assert resolve_dates(text, TODAY) is None


# -- references, paths, feedback --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("show me the third one", "show me #3"),
        ("what about photo 4", "what about #4"),
        ("number 2 please", "#2 please"),
        ("第三张", "#3"),
        ("第10张照片", "#10"),
        ("the last one", "#10"),
        ("photos from 2019", "photos from 2019"),
    ],
)
def test_references_normalised(text, expected):
    assert normalize_references(text, 10) == expected


def test_request_parsing_finds_paths_feedback_and_but():
    ctx = beach_context()
    r = ParsedRequest.parse('like "/tmp/my pics/x.JPG" but at night', ctx)
    assert r.paths == ["/tmp/my pics/x.JPG"] and r.but_text == "at night"
    r = ParsedRequest.parse("more like 2 and 5, not 4", ctx)
    assert (r.more_like, r.less_like) == ([2, 5], [4])
    r = ParsedRequest.parse("更像第2张和第5张，不要第4张", ctx)
    assert (r.more_like, r.less_like) == ([2, 5], [4])
    assert ParsedRequest.parse("photos similar to the first one", ctx).more_like == []


def test_feedback_is_planned_by_rules_against_previous_results():
    llm = ScriptedLLM()  # no reply queued: the model must not be asked
    plan = Planner(llm).plan("more like 2 and 5, not 4", beach_context())
    assert plan.source == "rules" and not llm.requests
    call = plan.calls[0]
    assert call.tool == "feedback"
    assert call.args == {"more_like": [102, 105], "less_like": [104], "query": "beach"}


def test_feedback_on_feedback_accumulates():
    ctx = PlanContext(TODAY, ToolCall("feedback", {"query": "beach", "more_like": [102], "less_like": [104]}),
                      [201, 202, 203])
    call = Planner(None).plan("more like 3", ctx).calls[0]
    assert call.args["more_like"] == [102, 203] and call.args["less_like"] == [104]


def test_reference_out_of_range_is_a_clear_error():
    with pytest.raises(PlanError, match=r"no result #12.*#1 to #10"):
        Planner(None).plan("more like 12", beach_context())
    with pytest.raises(PlanError, match="search for something first"):
        Planner(None).plan("more like 2", PlanContext(TODAY))


# -- the model's step, checked and completed ----------------------------------------------------------------


def test_chinese_query_is_planned_in_english_by_the_model():
    llm = ScriptedLLM([{"tool": "text_search", "query": "cat"}])
    plan = Planner(llm).plan("猫的照片", PlanContext(TODAY))
    assert plan.calls[0].to_dict() == {"tool": "text_search", "args": {"query": "cat"}}
    request = llm.requests[0]
    assert request.schema == STEP_SCHEMA
    assert request.messages[0].role == "system" and "Task PLAN" in request.messages[1].content
    assert "Today: 2025-11-23" in request.messages[1].content and "猫的照片" in request.messages[1].content


def test_untranslated_query_gets_a_translation_call():
    llm = ScriptedLLM([{"tool": "text_search", "query": "猫"}, {"english": "cat"}])
    plan = Planner(llm).plan("猫的照片", PlanContext(TODAY))
    assert plan.calls[0].args["query"] == "cat"
    assert llm.tasks() == ["PLAN", "TRANSLATE"]


def test_a_request_copied_instead_of_translated_gets_a_translation_call():
    # "Hund im Schnee" planned as "hund in schnee" (seen with the default model): no longer reads as German
    llm = ScriptedLLM([{"tool": "text_search", "query": "hund in schnee"}, {"english": "dog in snow"}])
    plan = Planner(llm).plan("Hund im Schnee", PlanContext(TODAY))
    assert plan.calls[0].args["query"] == "dog in snow" and llm.tasks() == ["PLAN", "TRANSLATE"]
    translated = ScriptedLLM([{"tool": "text_search", "query": "red buses"}])
    assert Planner(translated).plan("Bilder von roten Bussen", PlanContext(TODAY)).calls[0].args["query"] == "red buses"
    assert translated.tasks() == ["PLAN"]  # the model translated it: no second call


def test_system_prompt_is_the_same_for_every_call():
    """llama.cpp reuses the KV cache of an identical prefix: nothing per-call may be in the system prompt."""
    llm = ScriptedLLM([{"tool": "text_search", "query": "cat"}, {"tool": "text_search", "query": "dog"}])
    planner = Planner(llm)
    planner.plan("cat photos", PlanContext(date(2020, 1, 1)))
    planner.plan("dog photos", beach_context())
    first, second = (r.messages[0].content for r in llm.requests)
    assert first == second


def test_code_dates_override_the_model_and_invented_filters_are_dropped():
    llm = ScriptedLLM([
        {"tool": "text_search", "query": "dog on a beach", "date_from": "2018-01-01", "date_to": "2018-12-31",
         "time_of_day": "night", "camera": "Canon", "tags": ["surfboard"]},
    ])
    call = Planner(llm).plan("beach photos with dogs from 2019", PlanContext(TODAY)).calls[0]
    assert call.args == {"query": "dog on a beach", "date_from": "2019-01-01", "date_to": "2019-12-31"}


def test_model_dates_without_any_time_words_are_dropped():
    llm = ScriptedLLM([{"tool": "text_search", "query": "cat", "date_from": "2024-01-01"}])
    assert "date_from" not in Planner(llm).plan("a cat on a sofa", PlanContext(TODAY)).calls[0].args


def test_refinement_narrows_the_previous_search():
    llm = ScriptedLLM([{"tool": "refine", "people": False}])
    call = Planner(llm).plan("without people", beach_context()).calls[0]
    assert call.to_dict() == {"tool": "text_search", "args": {"query": "beach", "people": False}}


def test_refinement_wording_beats_a_new_search_the_model_chose():
    # The model forgot the subject; the request's form ("only ...") says it narrows the last search.
    llm = ScriptedLLM([{"tool": "filter_photos", "date_from": "2019-01-01", "date_to": "2019-12-31"}])
    call = Planner(llm).plan("only from 2019", beach_context()).calls[0]
    assert call.tool == "text_search" and call.args["query"] == "beach" and call.args["date_from"] == "2019-01-01"


def test_but_after_a_similar_search_composes():
    ctx = PlanContext(TODAY, ToolCall("similar_to_photo", {"photo": 55}), list(range(101, 111)))
    llm = ScriptedLLM([{"tool": "refine", "time_of_day": "night"}])
    call = Planner(llm).plan("but at night", ctx).calls[0]
    assert call.tool == "composed_search" and call.args["photo"] == 55 and call.args["but"] == "at night"


def test_result_numbers_become_photo_ids():
    llm = ScriptedLLM([{"tool": "composed_search", "photo": "#3", "but": "at sunset"}])
    call = Planner(llm).plan("like the third one but at sunset", beach_context()).calls[0]
    assert call.to_dict() == {"tool": "composed_search", "args": {"photo": 103, "but": "at sunset"}}


def test_typed_paths_win_over_the_models_copy():
    llm = ScriptedLLM([{"tool": "text_search", "query": "lake", "photo": "/home/ann/Pictures/lak.jpg"}])
    call = Planner(llm).plan("photos like /home/ann/Pictures/lake.jpg", PlanContext(TODAY)).calls[0]
    assert call.to_dict() == {"tool": "similar_to_photo", "args": {"photo": "/home/ann/Pictures/lake.jpg"}}


def test_a_new_subject_leaves_the_old_photo_search():
    ctx = PlanContext(TODAY, ToolCall("composed_search", {"photo": 8, "but": "at night"}), list(range(101, 111)))
    llm = ScriptedLLM([{"tool": "composed_search", "photo": "8", "but": "at night"}, {"english": "train"}])
    call = Planner(llm).plan("火车", ctx).calls[0]
    assert call.to_dict() == {"tool": "text_search", "args": {"query": "train"}}


def test_camera_needs_a_camera_phrase_or_brand():
    llm = ScriptedLLM([{"tool": "text_search", "query": "red bus", "camera": "bus"}])
    assert "camera" not in Planner(llm).plan("a red bus on a city street", PlanContext(TODAY)).calls[0].args
    llm = ScriptedLLM([{"tool": "filter_photos", "camera": "Pixel"}])
    assert Planner(llm).plan("my Pixel photos", PlanContext(TODAY)).calls[0].args == {"camera": "Pixel"}


def test_filters_alone_cannot_drop_the_subject():
    llm = ScriptedLLM([{"tool": "filter_photos", "time_of_day": "night", "people": False}])
    call = Planner(llm).plan("city streets at night without people", PlanContext(TODAY)).calls[0]
    assert call.tool == "text_search" and "street" in call.args["query"]
    assert call.args["time_of_day"] == "night" and call.args["people"] is False


# -- failure handling ----------------------------------------------------------------------------------


def test_bad_plan_is_retried_once_with_the_problem_named():
    llm = ScriptedLLM([{"tool": "text_in_photo"}, {"tool": "text_search", "query": "cat"}])
    plan = Planner(llm).plan("cat photos", PlanContext(TODAY))
    assert plan.source == "model" and plan.calls[0].args == {"query": "cat"}
    retry = llm.requests[1].messages
    assert retry[-2].role == "assistant" and "needs the words" in retry[-1].content


def test_unparseable_plans_fall_back_to_plain_text_search_and_say_so():
    llm = ScriptedLLM(["not json", '{"tool": "delete_photos"}'])
    plan = Planner(llm).plan("show me photos of red cars from 2019", PlanContext(TODAY))
    assert plan.source == "fallback" and len(llm.requests) == 2
    call = plan.calls[0]
    assert call.tool == "text_search" and call.args["query"] == "red cars" and call.args["date_from"] == "2019-01-01"
    assert "plain text search" in plan.notes[0]
    assert plan.notes[0].endswith('plain text search for "red cars" from 2019.')  # the filters still applied


def test_model_unavailable_falls_back():
    from photoseek.errors import ModelUnavailableError

    class Broken(ScriptedLLM):
        def complete(self, request):
            raise ModelUnavailableError("no weights")

    plan = Planner(Broken()).plan("cats", PlanContext(TODAY))
    assert plan.source == "fallback" and "no weights" in plan.notes[0]


def test_planner_reaches_only_read_only_tools():
    # list_people and taught_words are for MCP hosts: the planner gets the names from the library
    # (PlanContext.people), and a conversation searches for a taught word as for any other
    assert set(PLANNER_TOOLS) == set(TOOLS) - {"list_people", "list_places", "taught_words"}
    assert all(TOOLS[name].read_only for name in PLANNER_TOOLS)
    assert set(STEP_SCHEMA["properties"]["tool"]["enum"]) == set(MODEL_TOOLS) == set(PLANNER_TOOLS) | {"refine"}


def test_plan_serialises():
    llm = ScriptedLLM([{"tool": "text_search", "query": "cat"}])
    plan = Planner(llm).plan("cats", PlanContext(TODAY))
    assert json.loads(json.dumps(plan.to_dict())) == {
        "calls": [{"tool": "text_search", "args": {"query": "cat"}}], "source": "model"}


# -- the real default model ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_llm(model_cache):
    from photoseek.llm.base import get_llm

    llm = get_llm("llamacpp")
    llm.warm_up()
    return llm


@pytest.mark.slow
def test_real_model_plans_chinese_query_as_cat(default_llm):
    plan = Planner(default_llm).plan("猫的照片", PlanContext(TODAY))
    assert plan.source == "model"
    assert plan.calls[0].tool == "text_search" and plan.calls[0].args["query"].lower() in ("cat", "cats")


@pytest.mark.slow
def test_real_model_follow_up_turn(default_llm):
    planner = Planner(default_llm)
    first = planner.plan("beach photos", PlanContext(TODAY)).calls[0]
    assert first.tool == "text_search" and "beach" in first.args["query"]
    follow = planner.plan("only from 2019 and without people", PlanContext(TODAY, first, list(range(1, 11)))).calls[0]
    assert follow.tool == "text_search" and "beach" in follow.args["query"]
    assert (follow.args["date_from"], follow.args["date_to"], follow.args["people"]) == ("2019-01-01", "2019-12-31", False)


def test_a_refine_for_a_new_subject_is_a_new_search():
    ctx = PlanContext(TODAY, ToolCall("text_search", {"query": "red bus"}), list(range(101, 111)))
    llm = ScriptedLLM([{"tool": "refine", "tags": ["pizza"], "query": "pizza on a table"}])
    call = Planner(llm).plan("pizza on a table", ctx).calls[0]
    assert call.tool == "text_search" and call.args["query"] == "pizza on a table"
    llm = ScriptedLLM([{"tool": "refine", "date_from": "2019-01-01", "date_to": "2019-12-31"}])
    assert Planner(llm).plan("2019", ctx).calls[0].args == {
        "query": "red bus", "date_from": "2019-01-01", "date_to": "2019-12-31"}


def test_search_words_leave_out_the_words_that_asked_for_nobody():
    from photoseek.agent.planner import search_words

    assert search_words("a street with nobody") == "street"
    assert search_words("a beach with no people") == "beach"


def test_without_a_model_a_request_of_filters_alone_narrows_the_last_search():
    """'only from 2019' after a search for beaches: the fallback used to search for the word "only"."""
    plan = Planner(None).plan("only from 2019", beach_context())
    assert plan.source == "fallback"
    assert plan.calls[0].tool == "text_search"
    assert plan.calls[0].args["query"] == "beach"
    assert (plan.calls[0].args["date_from"], plan.calls[0].args["date_to"]) == ("2019-01-01", "2019-12-31")
    assert "narrowed the last search" in plan.notes[0]
    call = Planner(None).plan("without people", beach_context()).calls[0]
    assert call.args == {"query": "beach", "people": False}
    # a new subject is a new search, with or without a model
    assert Planner(None).plan("dogs", beach_context()).calls[0].args == {"query": "dogs"}
    # nothing to narrow: the filters alone list photos
    assert Planner(None).plan("only from 2019", PlanContext(TODAY)).calls[0].tool == "filter_photos"
