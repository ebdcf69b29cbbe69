#!/usr/bin/env python3
"""Do the answers' matches ("Found N photos") hold on queries they were not tuned on? Four sets.

    .venv/bin/python bench/answer_levels.py --library L          # L: a library of coco-captions/images
    .venv/bin/python bench/answer_levels.py --library L --sweep  # + the leaders' knobs, chosen on half A

Scores what `photoseek ask` presents as matches (the agent's turn, no LLM), as `photoseek eval answers`
does, on:
  A, B      the even and odd lines of coco-captions/concepts.jsonl (47 queries: cat, giraffe, kitchen…)
  captions  a second labelled set over the same photos with other words (table, sink, road, tree,
            stove…): a word's relevant photos are those at least 2 of their 5 COCO captions name, the
            uncertain ones those exactly 1 names (concepts.jsonl's protocol). Derived at run time from
            captions.jsonl into a temporary file: nothing of the data set is copied into the repository
  empty     bench/answers_empty_coco.jsonl (20 queries whose right answer is no photo)
  absent    words no caption of any photo names (submarine, glacier, snowman… ABSENT_WORDS, checked at
            run time), asked two ways: as `ask` answers them (most are words the tagger looks for, so
            no resemblance counts), and "as if nothing could name them": the similarity leaders the
            engine finds for each (`SearchEngine._similarity_leaders` with the word unnameable), which
            is how often the rule calls a group of photos something the library does not hold
and prints, per set, macro precision / recall / F1, the answers that overcount (more matches than
2 × relevant + 3; 3 where none is right), the empty answers said, the absent words with any leader and
with more than 3, and per query the matches against the relevant photos (how many by resemblance).

--sweep varies the similarity leaders' knobs (photoseek.search.match: LEADER_DEPTH, LEADER_ANCHORS,
MIN_GROUP, ALIKE_Z), keeps the settings with no overcounting answer on half A and at most
ABSENT_LIMIT of the absent words (as if unnameable) given more than 3 leaders, ranks them by F1 on
half A, and prints each one's figures on B, the captions set and the empty set (held out).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
COCO = REPO.parent / "shared" / "data" / "coco-captions"
EMPTY = REPO / "bench" / "answers_empty_coco.jsonl"
# words none of concepts.jsonl's 47 queries use, each with the forms a caption may write it in
CAPTION_WORDS = {
    "table": ["table", "tables"], "sink": ["sink", "sinks"], "road": ["road", "roads"], "field": ["field", "fields"],
    "water": ["water"], "grass": ["grass", "grassy"], "computer": ["computer", "computers"], "desk": ["desk", "desks"],
    "tree": ["tree", "trees"], "sign": ["sign", "signs"], "sidewalk": ["sidewalk", "sidewalks"],
    "building": ["building", "buildings"], "counter": ["counter", "counters", "countertop"], "bowl": ["bowl", "bowls"],
    "mirror": ["mirror", "mirrors"], "park": ["park"], "shower": ["shower"], "stove": ["stove", "stovetop"],
    "sky": ["sky"], "window": ["window", "windows"], "oven": ["oven", "ovens"], "phone": ["phone", "phones", "cellphone"],
    "keyboard": ["keyboard", "keyboards"], "refrigerator": ["refrigerator", "fridge", "refrigerators"],
    "cabinets": ["cabinet", "cabinets"], "chair": ["chair", "chairs"], "vegetables": ["vegetable", "vegetables", "veggies"],
    "mountain": ["mountain", "mountains"], "fruit": ["fruit", "fruits"], "monitor": ["monitor", "monitors"],
    "bedroom": ["bedroom"], "river": ["river"], "ocean": ["ocean", "sea"], "luggage": ["luggage", "suitcase", "suitcases"],
    "tracks": ["track", "tracks"], "airport": ["airport"], "bench": ["bench", "benches"], "fence": ["fence", "fences"],
    "zoo": ["zoo"], "knife": ["knife", "knives"], "cup": ["cup", "cups", "mug"], "hill": ["hill", "hills", "hillside"],
    "station": ["station"], "stop sign": ["stop sign"], "living room": ["living room"], "parking lot": ["parking lot"],
    "city": ["city"], "dirt": ["dirt"], "sand": ["sand", "sandy"], "wave": ["wave", "waves"],
}
# things people photograph, none in the empty set; those a caption names (with a plural) are dropped
ABSENT_WORDS = """submarine cathedral kangaroo saxophone waterfall dolphin rocket cactus lion snowman fireplace
aquarium butterfly spider tractor helicopter windmill pumpkin rainbow jellyfish octopus crab lobster strawberry
pineapple watermelon drum trumpet canoe kayak tent hammock ladder chess scarecrow monkey gorilla wolf rabbit
squirrel turtle frog shark whale eagle parrot flamingo swan duck pig donkey llama skyscraper mosque pyramid stadium
library museum glacier iceberg cave canyon swamp vineyard orchard gym escalator elevator staircase""".split()
ABSENT_LIMIT = 0.15  # the share of absent words a setting may give more than 3 leaders (as if unnameable)
SWEEP = {"LEADER_DEPTH": [15, 20], "LEADER_ANCHORS": [1, 2, 3], "MIN_GROUP": [4, 5, 6], "ALIKE_Z": [2.5, 3.0, 3.5]}


def caption_concepts(coco: Path, out: Path) -> Path:
    """The second labelled set (see the module docstring), as concepts.jsonl lines in `out`."""
    rows = _captions(coco)
    lines = []
    for query, forms in CAPTION_WORDS.items():
        pattern = re.compile(r"\b(" + "|".join(re.escape(f) for f in forms) + r")\b")
        relevant, uncertain = [], []
        for row in rows:
            naming = sum(bool(pattern.search(c.lower())) for c in row["captions"])
            (relevant if naming >= 2 else uncertain if naming == 1 else []).append(row["file"])
        if len(relevant) >= 3:
            lines.append(json.dumps({"query": query, "relevant": relevant, "uncertain": uncertain}))
    out.write_text("\n".join(lines) + "\n")
    return out


def absent_words(coco: Path) -> list[str]:
    """ABSENT_WORDS that no caption of any photo names, singular or plural."""
    text = " ".join(c.lower() for row in _captions(coco) for c in row["captions"])
    return [w for w in ABSENT_WORDS if not re.search(rf"\b{re.escape(w)}(s|es)?\b", text)]


def _captions(coco: Path) -> list[dict]:
    return [json.loads(line) for line in (coco / "captions.jsonl").read_text().splitlines() if line.strip()]


def agent_answerer(library, query: str):
    """What `photoseek ask` presents (the agent's turn with the default planner, no LLM)."""
    from photoseek.agent.session import Session
    from photoseek.evaluate.answers import AnswerSet

    session = Session(library, llm=None)
    answer = session.ask(query)
    return AnswerSet(answer.results, session.last_ranking)


def leaders_as_if_unnameable(library, word: str) -> int:
    """How many similarity leaders the engine finds for `word` were nothing to name it (the rule's
    false alarms on a word the library does not hold). Reads the engine's own step."""
    from photoseek.search.match import read_request

    engine = library.engine
    if not hasattr(engine, "_similarity_leaders"):
        return -1  # a version before the leaders (the z rule): not measured
    ranking = engine.rank(text=word, k=10)
    request = read_request(word, naming=lambda words, written: {w: None for w in words})
    return len(engine._similarity_leaders(ranking, request))


def macro(rows: list[dict]) -> dict[str, float]:
    scored = [r for r in rows if "F1" in r]
    n = len(scored) or 1
    return {key: round(sum(r[key] for r in scored) / n, 4) for key in ("precision", "recall", "F1")}


def run(library, concepts_file: Path, absent_file: Path, absent: list[str]) -> dict[str, list[dict]]:
    """Per-query rows of the sets (A and B split from concepts.jsonl)."""
    from photoseek.evaluate.answers import eval_answers

    concepts = eval_answers(COCO, library=library, answerer=agent_answerer, empty=EMPTY)["per_query"]
    captions = eval_answers(COCO, library=library, answerer=agent_answerer, concepts=concepts_file)["per_query"]
    asked = eval_answers(COCO, library=library, answerer=agent_answerer, concepts=absent_file)["per_query"]
    for row in asked:
        row["as_if_unnameable"] = leaders_as_if_unnameable(library, row["query"])
    labelled = [r for r in concepts if "F1" in r]
    return {"A": labelled[0::2], "B": labelled[1::2], "captions": captions,
            "empty": [r for r in concepts if "said_so" in r], "absent": asked}


def summary(sets: dict[str, list[dict]]) -> dict[str, dict]:
    out = {}
    for name, rows in sets.items():
        figures = {"queries": len(rows), "overcounted": sum(r["over"] for r in rows)}
        if name in ("empty", "absent"):
            figures["said_so"] = sum(r["said_so"] for r in rows)
        else:
            figures.update(macro(rows))
        if name == "absent":
            figures["any_leader"] = sum(r["as_if_unnameable"] > 0 for r in rows)  # -1: not measured
            figures["over_3_leaders"] = sum(r["as_if_unnameable"] > 3 for r in rows)
        out[name] = figures
    return out


def print_sets(figures: dict[str, dict], sets: dict[str, list[dict]] | None = None) -> None:
    for name, f in figures.items():
        if name == "empty":
            print(f"  {name:8s} {f['said_so']} of {f['queries']} said no photo shows it; overcounted {f['overcounted']}")
        elif name == "absent":
            print(f"  {name:8s} {f['said_so']} of {f['queries']} said no photo shows it, overcounted {f['overcounted']}; "
                  f"as if unnameable: {f['any_leader']} with a leader, {f['over_3_leaders']} with more than 3")
        else:
            print(f"  {name:8s} P {f['precision']:.3f}  R {f['recall']:.3f}  F1 {f['F1']:.3f}  "
                  f"overcounted {f['overcounted']} of {f['queries']}")
    if sets:
        print("\n  query                 relevant  matches  by resemblance")
        for name, rows in sets.items():
            for r in rows:
                mark = "  OVER" if r["over"] else ""
                extra = f"   (as if unnameable: {r['as_if_unnameable']})" if name == "absent" else ""
                print(f"  {name:8s} {r['query']:22s} {r['relevant']:4d} {r['answered']:8d} {r['by_resemblance']:8d}{mark}{extra}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True, help="an indexed library of coco-captions/images")
    parser.add_argument("--sweep", action="store_true", help="vary the similarity leaders' knobs (see above)")
    parser.add_argument("--json", action="store_true", help="print the figures and per-query rows as JSON")
    args = parser.parse_args()
    if not COCO.exists():
        print(f"{COCO} not found: the bench needs the shared COCO photos", file=sys.stderr)
        return 2

    import photoseek.search.match as match
    from photoseek import Library

    with tempfile.TemporaryDirectory(prefix="photoseek-bench-levels-") as scratch, \
            Library(args.library, llm=None) as library:
        concepts_file = caption_concepts(COCO, Path(scratch) / "caption-concepts.jsonl")
        absent = absent_words(COCO)
        absent_file = Path(scratch) / "absent.jsonl"
        absent_file.write_text("".join(json.dumps({"query": w, "relevant": []}) + "\n" for w in absent))
        sets = run(library, concepts_file, absent_file, absent)
        shipped = summary(sets)
        if args.json and not args.sweep:
            print(json.dumps({"figures": shipped, "per_query": sets}, indent=1))
            return 0
        print(f"shipped setting ({', '.join(f'{k}={getattr(match, k)}' for k in SWEEP)}):")
        print_sets(shipped, None if args.sweep else sets)
        if not args.sweep:
            return 0
        defaults = {name: getattr(match, name) for name in SWEEP}
        rows = []
        try:
            for values in itertools.product(*SWEEP.values()):
                for name, value in zip(SWEEP, values):
                    setattr(match, name, value)
                rows.append((values, summary(run(library, concepts_file, absent_file, absent))))
        finally:
            for name, value in defaults.items():
                setattr(match, name, value)
        limit = ABSENT_LIMIT * len(absent)
        fair = [r for r in rows if r[1]["A"]["overcounted"] == 0 and r[1]["absent"]["over_3_leaders"] <= limit]
        fair.sort(key=lambda r: -r[1]["A"]["F1"])
        print(f"\nsettings ranked on half A (no overcounting answer on A; at most {limit:.0f} absent words with "
              "more than 3 leaders), held out on B, captions and the empty set:")
        for values, f in fair[:3]:
            print("  " + ", ".join(f"{k}={v}" for k, v in zip(SWEEP, values)))
            print_sets(f)
        print("\nevery setting: " + " ".join(SWEEP) + "  |  F1 A, B, captions  |  overcounted A, B, captions  |  "
              "empty said  |  absent words with a leader, more than 3")
        for values, f in sorted(rows, key=lambda r: -r[1]["A"]["F1"]):
            mark = "" if (values, f) in fair else "  (outside the limits)"
            print(f"  {' '.join(str(v) for v in values):14s} | {f['A']['F1']:.3f} {f['B']['F1']:.3f} {f['captions']['F1']:.3f} | "
                  f"{f['A']['overcounted']} {f['B']['overcounted']} {f['captions']['overcounted']} | {f['empty']['said_so']} | "
                  f"{f['absent']['any_leader']} {f['absent']['over_3_leaders']}{mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
