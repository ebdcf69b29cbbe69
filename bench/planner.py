"""Planner accuracy and seconds per plan on bench/planner_cases.jsonl, with a real LLM.

    python bench/planner.py                      # default model (llamacpp), all cases
    python bench/planner.py --llm ollama:qwen2.5:1.5b --only zh- --verbose
    python bench/planner.py --cases bench/planner_holdout.jsonl   # held-out cases
    python bench/planner.py --llm none --no-negation-pass         # rules only, without the negation pass

A case passes when the plan's first call has the expected tool and every expected argument:
  "query"/"but" given as a list of words: each word (or its plural) is among the plan's words;
  "mentions": each word is in the query or the tags;  "query_lacks": words the query must not have;
  "absent": these arguments are not set;
  "places": the towns the library's photos were taken in (the planner also knows the world's countries and
  big cities, as a session does: Library.place_names);
  anything else: equal. Previous results are ids 101, 102, ... (so "#3" must become 103).
The first plan includes the cold prompt evaluation; it is reported apart from the warm ones.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from photoseek.llm.base import get_llm  # noqa: E402
from photoseek.agent.planner import Plan, PlanContext, Planner, PlanError, ToolCall  # noqa: E402

CASES = Path(__file__).with_name("planner_cases.jsonl")


def _words(text: str) -> set[str]:
    words = set()
    for w in re.findall(r"[^\W_]+", str(text).lower()):
        words |= {w, w[:-1] if w.endswith("s") else w, w[:-2] if w.endswith("es") else w}
    return words


def check(plan: Plan, expect: dict) -> list[str]:
    """Problems with the plan (empty: pass)."""
    if not plan.calls:
        return ["no call"]
    call = plan.calls[0]
    problems = []
    if call.tool != expect["tool"]:
        problems.append(f"tool {call.tool} != {expect['tool']}")
    for key, want in expect.get("args", {}).items():
        if key == "absent":
            problems += [f"{k} should be absent" for k in want if k in call.args]
        elif key == "query_lacks":
            have = _words(call.args.get("query", ""))
            problems += [f"query should not say {w!r}" for w in want if w in have]
        elif key == "mentions":
            have = _words(call.args.get("query", "")) | _words(" ".join(call.args.get("tags", [])))
            problems += [f"{w!r} not mentioned" for w in want if w not in have]
        elif key in ("query", "but") and isinstance(want, list):
            have = _words(call.args.get(key, ""))
            problems += [f"{key} lacks {w!r}" for w in want if w not in have]
        elif call.args.get(key) != want:
            problems.append(f"{key}={call.args.get(key)!r} != {want!r}")
    return problems


def context_for(case: dict) -> PlanContext:
    today = date.fromisoformat(case.get("today", date.today().isoformat()))
    previous = case.get("previous")
    places = place_names(tuple(case["places"])) if case.get("places") else None
    if not previous:
        return PlanContext(today, places=places)
    return PlanContext(today, ToolCall(previous["tool"], previous["args"]),
                       list(range(101, 101 + previous.get("results", 10))), places=places)


_PLACE_NAMES: dict = {}


def place_names(library_places: tuple[str, ...]):
    """What a session knows of places (Library.place_names) for a library whose photos were taken in
    `library_places` (a case's "places": town names), with the world's countries and big cities."""
    if library_places not in _PLACE_NAMES:
        from photoseek.places.gazetteer import Gazetteer
        from photoseek.places.names import (NameIndex, PlaceName, names_of_city, names_of_country,
                                            names_of_region, world_index)

        gazetteer, index = Gazetteer.load(), NameIndex()
        for text in library_places:
            place = gazetteer.named(text)
            code = place.country_code
            if place.city is not None:
                index.add(PlaceName("city", place.city.name, code),
                          *names_of_city(code, place.city.name, place.city.latitude, place.city.longitude))
            if place.region:
                index.add(PlaceName("region", place.region, code), names_of_region(code, place.region))
            index.add(PlaceName("country", place.country, code), names_of_country(code, place.country))
        _PLACE_NAMES[library_places] = index.merge(world_index())
    return _PLACE_NAMES[library_places]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", default="llamacpp")
    parser.add_argument("--cases", type=Path, default=CASES,
                        help="a .jsonl case file (default planner_cases.jsonl; planner_holdout.jsonl was written "
                             "after the planner was tuned and is not tuned on)")
    parser.add_argument("--only", default="", help="run cases whose id starts with this")
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.add_argument("--no-negation-pass", action="store_true",
                        help="plan without the deterministic negation pass (to measure what it adds)")
    options = parser.parse_args()
    if options.no_negation_pass:
        import photoseek.agent.planner as planner_module

        planner_module._correct_negations = lambda *args, **kwargs: None

    cases = [json.loads(line) for line in options.cases.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = [c for c in cases if c["id"].startswith(options.only)]
    llm = None if options.llm == "none" else get_llm(options.llm)  # none: rules and the fallback only
    started = time.perf_counter()
    if llm is not None:
        llm.warm_up()
    load_seconds = time.perf_counter() - started
    planner = Planner(llm)

    passed, seconds, sources = 0, [], {}
    for case in cases:
        t0 = time.perf_counter()
        try:
            plan = planner.plan(case["request"], context_for(case))
            problems = check(plan, case["expect"])
            source = plan.source
        except PlanError as exc:
            plan, problems, source = None, [f"PlanError: {exc}"], "error"
        seconds.append(time.perf_counter() - t0)
        sources[source] = sources.get(source, 0) + 1
        passed += not problems
        if options.verbose or problems:
            calls = [c.to_dict() for c in plan.calls] if plan else []
            mark = "ok  " if not problems else "FAIL"
            print(f"{mark} {case['id']:<26} {seconds[-1]:5.2f}s {source:<8} {json.dumps(calls, ensure_ascii=False)}"
                  + (f"  <- {'; '.join(problems)}" if problems else ""), flush=True)

    warm = seconds[1:] or seconds
    print(f"\nmodel {llm.id if llm else 'none (rules + fallback)'}: load {load_seconds:.2f}s")
    print(f"accuracy {passed}/{len(cases)} = {passed / max(1, len(cases)):.1%}  (plans by source: {sources})")
    print(f"seconds per plan: first {seconds[0]:.2f}; warm mean {statistics.mean(warm):.2f}, "
          f"p50 {statistics.median(warm):.2f}, max {max(warm):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
