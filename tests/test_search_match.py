"""Match levels from evidence and standing; the calibration moments; the answers evaluation's figures.
Pure functions over hand-made evidence (no model, no library): each assertion can fail."""

from __future__ import annotations

import json

import numpy as np
import pytest

from photoseek.errors import PhotoseekError
from photoseek.evaluate.answers import load_queries, scores
from photoseek.results import Evidence, SearchResult, match_rank
from photoseek.search import calibration
from photoseek.search.match import (
    MAX_LEADERS,
    Z_COMPOSED_STRONG,
    Z_EXAMPLE_STRONG,
    Z_PARTIAL,
    PhotoFacts,
    assess,
    at_least,
    presented,
    read_request,
    similarity_leaders,
    words_met,
)


def test_request_words_leave_out_attributes_and_filler():
    request = read_request("photos of a cat at night with two people")
    assert request.words == ["cat"]
    assert request.attributes.time_of_day == "night" and request.attributes.people is True
    assert read_request("a red bus").attributes.colors == ["red"] and read_request("a red bus").words == ["bus"]
    # the tagger can name violins (an ImageNet class), signs ("street sign") and camels ("arabian
    # camel"); nothing it knows names a kitchen or a giraffe
    assert read_request("violin").unnameable == [] and read_request("signs").unnameable == []
    assert read_request("a camel").unnameable == []
    assert read_request("kitchen").unnameable == ["kitchen"]
    assert read_request("a giraffe near a tree").unnameable == ["giraffe", "tree"]
    assert read_request("traffic light").unnameable == []  # the phrase is a tag, its words are not
    assert read_request(None, text_in_photo="EXIT").unnameable == []  # text read in photos names it


def test_tags_meet_words_with_their_narrower_terms_but_not_by_a_shared_head_word():
    cat = read_request("cats")
    assert words_met(cat, PhotoFacts(tags=["tabby cat"])) == {"cats": "tag tabby cat"}  # narrower term, plural asked
    assert words_met(read_request("bear"), PhotoFacts(tags=["teddy bear"])) == {}
    assert words_met(read_request("teddy bear"), PhotoFacts(tags=["teddy bear"])) == {
        "teddy": "tag teddy bear", "bear": "tag teddy bear"}
    assert words_met(read_request("exit"), PhotoFacts(ocr="EXIT ONLY")) == {"exit": "written text"}
    assert words_met(read_request("horse"), PhotoFacts(path="/p/horse.png")) == {"horse": "file name"}


def test_levels_from_evidence_and_standing():
    night_cat = read_request("cat at night")
    ev = Evidence(time_of_day="night", standing=0.2)
    assert assess(night_cat, ev, PhotoFacts(tags=["tabby cat"])) == "strong"
    assert ev.met == {"cat": "tag tabby cat", "at night": "taken at night"} and ev.missing == []
    ev = Evidence(time_of_day="day", standing=0.2)
    assert assess(night_cat, ev, PhotoFacts(tags=["cat"])) == "partial" and ev.missing == ["at night"]
    ev = Evidence(time_of_day="day", standing=0.1)
    assert assess(night_cat, ev, PhotoFacts(tags=["dog"])) == "weak" and ev.missing == ["cat", "at night"]

    # nothing here can name "kitchen": only a photo whose picture stands apart for this query (a
    # leader of its ranking) is a match, by resemblance alone; the others are close (partial when they
    # stand out from the library, weak otherwise), whatever their z
    kitchen = read_request("kitchen")
    kitchen.leaders = frozenset({7})
    ev = Evidence(standing=2.5)
    assert assess(kitchen, ev, PhotoFacts(), 7) == "strong" and ev.stands_apart and ev.unnameable == ["kitchen"]
    ev = Evidence(standing=9.0)
    assert assess(kitchen, ev, PhotoFacts(), 8) == "partial" and ev.stands_apart is False
    assert assess(kitchen, Evidence(standing=Z_PARTIAL - 0.5), PhotoFacts(), 8) == "weak"
    assert assess(kitchen, Evidence(standing=2.5), PhotoFacts(caption="A small kitchen"), 8) == "strong"  # evidence
    # "violin" the tagger can name: not tagging it is evidence against, and no similarity, however
    # high or far ahead of the rest, makes it a match
    violin = read_request("violin")
    violin.leaders = frozenset({7})
    assert assess(violin, Evidence(standing=9.0), PhotoFacts(), 7) == "partial"
    assert assess(violin, Evidence(standing=0.5), PhotoFacts(tags=["violin"]), 3) == "strong"
    # "bus on the street": the tag meets "bus", the photo's standing apart vouches for "street" (no
    # evidence here names it); a photo with no bus tag is no match however it stands
    bus_street = read_request("a bus on the street")
    assert bus_street.unnameable == ["street"]
    bus_street.leaders = frozenset({1, 2})
    ev = Evidence(standing=3.0)
    assert assess(bus_street, ev, PhotoFacts(tags=["bus"]), 1) == "strong" and ev.missing == ["street"]
    assert assess(bus_street, Evidence(standing=3.0), PhotoFacts(tags=["street sign"]), 2) == "partial"
    assert assess(bus_street, Evidence(standing=3.0), PhotoFacts(tags=["bus"]), 5) == "partial"
    # words in another language that no LLM translated: the English encoder's similarity cannot vouch
    german = read_request("Hunde am Strand")
    german.leaders = frozenset({1})
    assert assess(german, Evidence(standing=3.0), PhotoFacts(), 1) == "strong"
    german.untranslated = True
    assert assess(german, Evidence(standing=3.0), PhotoFacts(), 1) == "partial"
    tagged = PhotoFacts(tags=list(german.words))  # evidence that names the words still counts
    assert assess(german, Evidence(standing=3.0), tagged, 1) == "strong"


def test_a_tag_in_the_library_makes_a_word_nameable():
    """A word some evidence of this library could name is never met by similarity alone: your own tag
    "giraffe" on a few photos (or a taught word, stored as a tag) makes "giraffe" nameable."""
    def naming(words, written):
        return {w: ("tag" if w == "giraffe" else None) for w in words}

    request = read_request("a giraffe near a tree", naming=naming)
    assert request.unnameable == ["tree"]
    request.leaders = frozenset({1})
    assert assess(request, Evidence(standing=3.0), PhotoFacts(), 1) == "partial"  # not tagged giraffe
    assert assess(request, Evidence(standing=3.0), PhotoFacts(tags=["giraffe"]), 1) == "strong"
    assert assess(request, Evidence(standing=3.0), PhotoFacts(tags=["giraffe"]), 2) == "partial"  # "tree"?


def _library_scores(rng, n=461):
    """A query's standings over a library where nothing stands apart: z-scores of one normal sample."""
    scores = rng.normal(size=n)
    return sorted(((scores - scores.mean()) / scores.std()).tolist(), reverse=True)


def test_a_word_with_no_evidence_gives_few_or_no_matches():
    """Scores that fall smoothly (no photo of the word, or no way to tell them) leave no leaders: over
    200 queries for each library size, nearly all have none (and none has more than MAX_LEADERS)."""
    rng = np.random.default_rng(29)
    for size in (100, 461, 5000):
        counts = [similarity_leaders(_library_scores(rng, size)) for _ in range(200)]
        assert sum(c > 0 for c in counts) <= 10, (size, counts)  # a false break in at most 5% of queries
        assert sum(counts) / len(counts) <= 0.4
    assert similarity_leaders([]) == 0 and similarity_leaders([2.0, 1.0]) == 0


def test_a_kitchen_like_word_keeps_its_clear_leaders():
    """Four photos whose similarity stands well apart from the rest are the leaders (the matches by
    resemblance), however high or low the library-wide z of the rest; a cluster larger than
    MAX_LEADERS gives only its first MAX_LEADERS (the rest stay close)."""
    rng = np.random.default_rng(4)
    for base in (0.0, 2.0):  # the break counts, not where the scores sit
        rest = [base + z for z in _library_scores(rng)]
        leaders = sorted((rest[0] + 1.2 + 0.05 * i for i in range(4)), reverse=True)
        assert similarity_leaders(leaders + rest) == 4
    rest = _library_scores(rng)
    cluster = sorted((rest[0] + 1.5 + 0.03 * i for i in range(15)), reverse=True)
    assert similarity_leaders(cluster + rest) == MAX_LEADERS
    # near-duplicates just below the break leave no spacing: the break still counts, not a division by zero
    assert similarity_leaders([6.0, 3.0, 3.0, 3.0, 3.0] + [3.0 - 0.01 * i for i in range(40)]) == 1


def test_filters_alone_make_every_result_strong_and_unknown_levels_are_refused():
    assert assess(read_request(None), Evidence(standing=None), PhotoFacts()) == "strong"
    results = [SearchResult(i, f"/p/{i}.jpg", 1.0 - i / 10, match=m) for i, m in
               enumerate(["weak", "strong", "partial", "strong"])]
    assert [r.id for r in at_least(results, "partial")] == [1, 2, 3]
    assert [r.id for r in at_least(results, "strong")] == [1, 3]
    assert at_least(results, None) == results
    with pytest.raises(PhotoseekError, match="unknown match level"):
        at_least(results, "great")
    with pytest.raises(ValueError):
        match_rank("great")
    # an answer shows every strong match first, then the closest others up to k
    assert [r.id for r in presented(results, 3)] == [1, 3, 2]
    assert [r.id for r in presented(results, 1)] == [1, 3]
    assert results[1].to_dict()["match"] == "strong" and "match" not in SearchResult(9, "/p/x", 0.1).to_dict()


def test_stored_moments_give_the_exact_spread_of_the_library_scores():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(300, 16)) + 0.5  # a shared direction, as real embeddings have
    moments = calibration.compute_moments(vectors, 0.5, generation=7)
    again = calibration.Moments.from_json(moments.to_json())
    query = rng.normal(size=16)
    query /= np.linalg.norm(query)
    y = calibration.transform(vectors, vectors.mean(axis=0), 0.5)
    mean, std = again.spread(query)
    assert mean == pytest.approx(float((y @ query).mean()), abs=1e-5)
    assert std == pytest.approx(float((y @ query).std()), abs=1e-5)
    assert again.generation == 7 and again.count == 300
    assert calibration.compute_moments(vectors[:5], 0.5, generation=1) is None  # too few photos


def test_answer_scores_and_query_files(tmp_path):
    assert scores([1, 2, 3], {1, 2, 4}) == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "F1": 2 / 3})
    assert scores([1, 2, 3], {1, 2, 4}, uncertain={3}) == pytest.approx({"precision": 1.0, "recall": 2 / 3, "F1": 0.8})
    assert scores([], {1}) == {"precision": 0.0, "recall": 0.0, "F1": 0.0}  # saying nothing is not precise
    good = tmp_path / "concepts.jsonl"
    good.write_text(json.dumps({"query": "cat", "relevant": ["a.jpg"], "uncertain": []}) + "\n\n")
    assert load_queries(good) == [{"query": "cat", "relevant": ["a.jpg"], "uncertain": []}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"relevant": []}\n')
    with pytest.raises(PhotoseekError, match="bad.jsonl:1"):
        load_queries(bad)
    with pytest.raises(PhotoseekError, match="not found"):
        load_queries(tmp_path / "missing.jsonl")


def test_query_by_example_and_composed_search_have_their_own_bars():
    """"Photos like this" scores likeness by content (visual + ConSE), whose spread puts many photos
    a few SD out: its strong bar is higher than composed search's, which scores the same place."""
    like = read_request(None, example=True)
    assert not like.composed and Z_EXAMPLE_STRONG > Z_COMPOSED_STRONG
    between = (Z_EXAMPLE_STRONG + Z_COMPOSED_STRONG) / 2
    assert assess(like, Evidence(standing=Z_EXAMPLE_STRONG + 0.1), PhotoFacts()) == "strong"
    assert assess(like, Evidence(standing=between), PhotoFacts()) == "partial"
    at_night = read_request(None, example=True, but="at night")
    assert at_night.composed
    assert assess(at_night, Evidence(standing=between, time_of_day="night"), PhotoFacts()) == "strong"
    assert assess(at_night, Evidence(standing=between, time_of_day="day"), PhotoFacts()) == "partial"


def test_people_are_judged_as_the_filter_judges_them_and_counted():
    # the people detector finds heads and shoulders as well as faces: reasons count people; a
    # "person" tag (the classifier's baseball player, a user's tag) shows people as the filter says
    from photoseek.agent.explain import compose_reason
    from photoseek.search.match import attributes_met
    from photoseek.search.query_attributes import QueryAttributes

    people, nobody = QueryAttributes(people=True), QueryAttributes(people=False)
    assert attributes_met(people, Evidence(people=2), []) == ({"people": "2 people found"}, [])
    assert attributes_met(people, Evidence(people=1), ["dog"]) == ({"people": "1 person found"}, [])
    assert attributes_met(people, Evidence(people=0), []) == ({}, ["people"])
    assert attributes_met(people, Evidence(people=0), ["person"]) == ({"people": "tagged as a person"}, [])
    assert attributes_met(nobody, Evidence(people=0), []) == ({"no people": "nobody found"}, [])
    assert attributes_met(nobody, Evidence(people=0), ["person"]) == ({}, ["no people"])
    assert attributes_met(nobody, Evidence(people=None), []) == ({}, ["no people"])  # never looked
    # "two people": one found is someone, but not the count asked for
    two = QueryAttributes(people=True, people_count=2)
    assert attributes_met(two, Evidence(people=2), []) == ({"people": "2 people found"}, [])
    met, missing = attributes_met(two, Evidence(people=1), [])
    assert met == {"people": "1 person found"} and missing == ["2 people"]
    evidence = Evidence(people=1, met=met, missing=missing)
    reason = compose_reason(evidence, "two people", "partial")
    assert reason.startswith("Partial match: 1 person found") and "not the 2 people asked for" in reason
    assert '"2 people"' not in reason  # not quoted as a word nothing names


def test_words_that_ask_for_nobody_are_not_things_to_find():
    assert read_request("a street with nobody").words == ["street"]
    assert read_request("an empty beach").words == ["beach"]
    assert read_request("photos without people").words == []
    assert read_request("no parking sign").words == ["no", "parking", "sign"]  # no people asked: "no" stays


def test_a_tag_that_meets_a_word_is_a_matched_tag():
    # "trolleybus" shares no word with "bus" but is a narrower term: evidence.met and matched_tags agree
    evidence = Evidence(standing=1.0)
    assert assess(read_request("bus"), evidence, PhotoFacts(["trolleybus"])) == "strong"
    assert evidence.met == {"bus": "tag trolleybus"} and evidence.matched_tags == ["trolleybus"]


def test_a_tagged_word_gives_all_its_tagged_photos(agent_library_dir, tmp_path):
    """On real photos: nothing names "giraffe" (no giraffe here, no tag can), so no photo is a match
    and the answer says it went by resemblance, with the fix; tag two photos "giraffe" and exactly
    those two are the matches, and the answer no longer speaks of resemblance; a third teaches the word."""
    import shutil

    from photoseek import Library
    from photoseek.agent.session import Session

    copy = tmp_path / "library"
    shutil.copytree(agent_library_dir, copy)
    with Library(copy, llm=None) as library:
        before = library.search("giraffe", k=20)
        assert before and not [r for r in before if r.match == "strong"]
        assert all(r.evidence.unnameable == ["giraffe"] for r in before)
        text = Session(library, None).ask("a giraffe").text
        assert text.startswith('No photo shows "giraffe"') and "resemblance only" in text
        assert 'Tag a few photos "giraffe" (`photoseek tag ID +giraffe`' in text

        tagged = {before[1].id, before[4].id}
        for photo in tagged:
            library.tag(photo, add=["giraffe"])
        after = library.search("giraffe", k=20)
        assert {r.id for r in after if r.match == "strong"} == tagged
        assert all(r.evidence.unnameable == [] for r in after)
        assert all(r.evidence.met == {"giraffe": "tag giraffe"} for r in after if r.id in tagged)
        text = Session(library, None).ask("a giraffe").text
        assert text.startswith('Found 2 photos for "giraffe"') and "resemblance" not in text
        # a third photo makes it a taught word (photoseek.learn): photos its model tags match too, and say so
        tagged.add(before[6].id)
        library.tag(before[6].id, add=["giraffe"])
        after = library.search("giraffe", k=20)
        strong = {r.id for r in after if r.match == "strong"}
        assert tagged <= strong
        assert all(r.evidence.learned["giraffe"]["examples"] == 3 for r in after if r.id in strong - tagged)


def test_what_can_name_a_word_asks_every_source_and_takes_new_ones(agent_library):
    """The tagger's vocabulary, the library's tags, text read in its photos (the notice reads
    "DELETE ALL PHOTOS"), captions; a source registered later (places, people) is asked too and
    listed in the reasons."""
    from photoseek.agent.explain import unnameable_phrase
    from photoseek.search import nameable

    catalog = agent_library.catalog
    assert nameable.naming_sources(["cat", "delete", "giraffe"], catalog) == {
        "cat": "tag", "delete": "text", "giraffe": None}
    assert nameable.naming_sources(["exit"], None, written=["exit"]) == {"exit": "text"}
    place = nameable.NamingSource("place", lambda catalog, word: word == "lisbon")
    nameable.register(place)
    try:
        assert nameable.naming_sources(["lisbon", "giraffe"], catalog) == {"lisbon": "place", "giraffe": None}
        assert unnameable_phrase(["giraffe"]) == 'nothing in this library can name "giraffe" (no tag, text, caption or place)'
    finally:
        nameable.SOURCES.remove(place)
    assert unnameable_phrase(["giraffe"]) == 'nothing in this library can name "giraffe" (no tag, text or caption)'
