"""Multi-turn sessions on a small real library; the model is a ScriptedLLM (slow e2e tests with the
real default model are in test_agent_e2e.py)."""

from __future__ import annotations

import json
import os
from datetime import date

from photoseek import Library
from photoseek.agent.session import AnswerStep, PlanStep, Session, ToolStep, UserStep
from tests.agent_support import ScriptedLLM, catalog_fingerprint, photos_of, plans_by_request

TODAY = date(2025, 11, 23)


def test_turns_keep_context(agent_library):
    before = catalog_fingerprint(agent_library)
    llm = ScriptedLLM(default=plans_by_request({
        "猫的照片": {"tool": "text_search", "query": "cat"},
        "only from 2019": {"tool": "refine", "date_from": "2019-01-01", "date_to": "2019-12-31"},
        "show #1": {"tool": "show_photo", "photo": "#1"},
    }))
    session = Session(agent_library, llm, today=TODAY)

    first = session.ask("猫的照片")
    assert first.plan.calls[0].to_dict() == {"tool": "text_search", "args": {"query": "cat"}}
    assert first.results and first.error is None
    strong = len(first.matches)  # the answer counts only strong matches, and shows them first
    assert '"cat"' in first.text
    assert first.text.startswith(f"Found {strong} photo" if strong else 'No photo shows "cat"')
    assert [r.match for r in first.results[:strong]] == ["strong"] * strong

    narrowed = session.ask("only from 2019")
    call = narrowed.plan.calls[0]
    assert call.tool == "text_search" and call.args["query"] == "cat" and call.args["date_from"] == "2019-01-01"
    assert narrowed.results and {r.id for r in narrowed.results} <= photos_of(agent_library, "cat")
    assert "from 2019" in narrowed.text

    feedback = session.ask("more like 1, not 2")  # rules: no model call for the plan
    plans_asked = [t for t in llm.tasks() if t == "PLAN"]
    assert len(plans_asked) == 2
    more, less = narrowed.results[0].id, narrowed.results[1].id
    args = feedback.plan.calls[0].args
    assert feedback.plan.calls[0].tool == "feedback" and args["more_like"] == [more] and args["less_like"] == [less]
    assert args["date_from"] == "2019-01-01" and args["query"] == "cat"
    assert less not in {r.id for r in feedback.results}
    # as the user named them, not by catalog id; the one marked "less like" is no longer shown, so by its file
    less_name = os.path.basename(narrowed.results[1].path)
    assert f"Re-ranked toward #1 and away from {less_name} (#2 of the last answer)" in feedback.text
    assert '"cat"' in feedback.text
    others = [r for r in feedback.results if r.id != more]
    assert others and all("#1, which you marked" in r.explanation for r in others)  # the reasons name it so too

    shown = session.ask("show #1")
    assert shown.photo is not None and shown.photo["id"] == feedback.results[0].id and not shown.results
    assert shown.text.startswith(f"Photo {shown.photo['id']}:")

    kinds = [type(step) for step in session.memory]
    assert kinds[:5] == [UserStep, PlanStep, ToolStep, AnswerStep, UserStep]
    assert sum(k is AnswerStep for k in kinds) == 4
    assert catalog_fingerprint(agent_library) == before


def test_answer_json_shape(agent_library):
    llm = ScriptedLLM(default=plans_by_request({"dogs": {"tool": "text_search", "query": "dog"}}))
    answer = Session(agent_library, llm, today=TODAY, k=4).ask("dogs")
    data = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert set(data) == {"plan", "results", "answer", "matches", "page", "groups"}
    assert data["plan"] == [{"tool": "text_search", "args": {"query": "dog"}}]
    # every photo found, matches first; a UI shows the first page (4) and the rest on demand
    assert data["page"] == 4 and len(data["results"]) > 4
    levels = [row["match"] for row in data["results"]]
    assert levels == sorted(levels, key=("strong", "partial", "weak").index)
    grouped = [i for group in data["groups"] for i in group["ids"]]
    assert grouped == [row["id"] for row in data["results"]]
    assert [g["kind"] for g in data["groups"]] == (["matches"] if data["matches"] else []) + (
        ["close"] if data["matches"] < len(data["results"]) else [])
    for row in data["results"]:
        assert set(row) == {"id", "path", "score", "explanation", "evidence", "match"}
        assert row["explanation"] and row["match"] in ("strong", "partial", "weak")
    assert data["matches"] == sum(row["match"] == "strong" for row in data["results"])
    assert answer.answer == data["answer"] == answer.text
    assert {"plan", "tools", "explain", "total"} <= set(answer.timings)


def test_model_explanations_reach_the_top_results_only(agent_library):
    llm = ScriptedLLM(default=plans_by_request({"dogs": {"tool": "text_search", "query": "dog"}}))
    session = Session(agent_library, llm, today=TODAY, k=6, explain_top=2)
    answer = session.ask("dogs", explain="model")
    explain_requests = [r for r in llm.requests if r.messages[-1].content.startswith("Task EXPLAIN")]
    described = [r for r in answer.results[:2] if r.evidence.matched_tags or r.evidence.caption]
    if not described:
        assert explain_requests == []  # nothing but scores to explain: no model call
        return
    assert len(explain_requests) == 1
    asked = explain_requests[0].schema["properties"]["explanations"]["items"]["properties"]["id"]["enum"]
    assert asked == [r.id for r in described]
    for result in answer.results:
        model_said = result.explanation == f"Its picture content is close to the search, photo {result.id}."
        assert model_said == (result in described)
    assert answer.reworded == len(described) and answer.to_dict()["reworded"] == len(described)


def test_evidence_explanations_by_default_need_no_model_call(agent_library):
    import pytest

    from photoseek.errors import PhotoseekError

    llm = ScriptedLLM(default=plans_by_request({"dogs": {"tool": "text_search", "query": "dog"}}))
    session = Session(agent_library, llm, today=TODAY, k=6)
    answer = session.ask("dogs")
    assert llm.tasks() == ["PLAN"]  # the plan is the model's; the reasons are composed from the evidence
    from photoseek.agent.explain import LEVEL_OPENINGS

    assert answer.results and all(r.explanation.startswith(LEVEL_OPENINGS[r.match]) for r in answer.results)
    with pytest.raises(PhotoseekError, match="explain mode"):
        session.ask("dogs", explain="poetry")


def test_errors_become_answers_and_the_session_goes_on(agent_library):
    llm = ScriptedLLM(default=plans_by_request({
        "photos like /nowhere/x.jpg": {"tool": "similar_to_photo", "photo": "/nowhere/x.jpg"},
        "cats": {"tool": "text_search", "query": "cat"},
    }))
    session = Session(agent_library, llm, today=TODAY)
    missing = session.ask("photos like /nowhere/x.jpg")
    assert missing.error and "No photo '/nowhere/x.jpg'" in missing.text and not missing.results
    early = session.ask("more like 2")
    assert early.error and "search for something first" in early.text
    assert session.ask("cats").results
    session.reset()
    assert session.memory == [] and session.context().previous_call is None


def test_library_ask_and_session(agent_library_dir):
    llm = ScriptedLLM(default=plans_by_request({"trains": {"tool": "text_search", "query": "train"}}))
    with Library(agent_library_dir, llm=llm) as lib:
        answer = lib.ask("trains")
        assert answer.results and answer.plan.calls[0].args == {"query": "train"}
        assert isinstance(lib.session(), Session)


def test_without_a_model_plain_search_runs(agent_library):
    answer = Session(agent_library, None, today=TODAY).ask("pizza from 2023")
    call = answer.plan.calls[0]
    assert answer.plan.source == "fallback" and call.args == {"query": "pizza", "date_from": "2023-01-01",
                                                              "date_to": "2023-12-31"}
    assert answer.results and all(r.explanation for r in answer.results)


def test_an_exclusion_says_it_only_leaves_out_what_was_found(agent_library):
    llm = ScriptedLLM(default=plans_by_request({
        "animals, no dogs": {"tool": "text_search", "query": "animal", "not_tags": ["dog"]},
        "animals": {"tool": "text_search", "query": "animal"}}))
    session = Session(agent_library, llm, today=TODAY)
    answer = session.ask("animals, no dogs")
    assert answer.results and "Left out only photos tagged dog; ones the annotations missed may remain." in answer.text
    assert "Left out" not in session.ask("animals").text


def test_feedback_reasons_name_photos_by_their_number_in_the_new_answer():
    """After "more like 2", the marked photo may be #1 now: named "#1 (#2 before)", never by a
    number that now points at another row; one the answer no longer shows is "#3 of the last answer"."""
    from photoseek.agent.session import reference_names

    names = reference_names([10, 20, 30], [20, 10, 40])
    assert names == {10: "#2 (#1 before)", 20: "#1 (#2 before)", 30: "#3 of the last answer"}
    assert reference_names([10], [10, 20]) == {10: "#1"} and reference_names(None, [1]) == {}
    # one no longer shown goes by its file, so "#7" never names the photo now in row 7
    assert reference_names([10, 30], [10], lambda pid: f"p{pid}.jpg") == {10: "#1", 30: "p30.jpg (#2 of the last answer)"}



def test_a_follow_up_still_shows_one_page_at_a_time(agent_library):
    # a follow-up carries the last search's depth (k 50): chat and the page show MAX_PAGE, the rest on demand
    from photoseek.agent.session import MAX_PAGE

    llm = ScriptedLLM(default=plans_by_request({
        "cats": {"tool": "text_search", "query": "cat"},
        "only from 2019": {"tool": "refine", "date_from": "2019-01-01", "date_to": "2019-12-31"},
    }))
    session = Session(agent_library, llm, today=TODAY, k=10)
    assert session.ask("cats").page == 10
    narrowed = session.ask("only from 2019")
    assert narrowed.plan.calls[0].args.get("k", 0) > MAX_PAGE  # what made the old first page 50 rows
    assert narrowed.page == MAX_PAGE == 20


def test_a_date_with_no_photo_says_which_dates_the_library_has(agent_library):
    llm = ScriptedLLM(default=plans_by_request({
        "cats from 1990": {"tool": "text_search", "query": "cat", "date_from": "1990-01-01", "date_to": "1990-12-31"},
    }))
    answer = Session(agent_library, llm, today=TODAY).ask("cats from 1990")
    assert not answer.results
    dated = agent_library.catalog.conn.execute("SELECT MIN(taken_at) FROM photos").fetchone()[0]
    said = ("; the photos with a date were taken from " + dated[:7]) if dated else ": none of its photos has a date"
    assert answer.text.startswith("No photo was taken in 1990" + said), answer.text
