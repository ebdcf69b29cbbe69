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
    LEADER_ANCHORS,
    LEADER_DEPTH,
    MIN_GROUP,
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
    # the tagger looks for violins (an ImageNet class), dogs (a broader term over the breeds) and skis
    # (the class "ski") in every photo; nothing it knows names a kitchen or a giraffe, and it names one
    # kind of sign ("street sign") and of camel ("arabian camel"), not every one
    assert read_request("violin").unnameable == [] and read_request("a dog").unnameable == []
    assert read_request("skis").unnameable == [] and read_request("cats").unnameable == []
    assert read_request("kitchen").unnameable == ["kitchen"] and read_request("signs").unnameable == ["signs"]
    assert read_request("a camel").unnameable == ["camel"]
    assert read_request("a giraffe near a tree").unnameable == ["giraffe", "tree"]
    assert read_request("traffic light").unnameable == []  # the phrase is a tag, its words are not
    assert read_request(None, text_in_photo="EXIT").unnameable == []  # OCR read every photo for it
    # where a thing is is left to the ranking ("next to"); how it stands is no thing to see: only
    # resemblance can vouch for it, but no reason lists it as a word photoseek cannot recognise
    assert read_request(None, text_in_photo="NEXT EXIT").words == ["next", "exit"]  # asked as text
    giraffe = read_request("a giraffe standing next to a tree")
    assert giraffe.words == ["giraffe", "standing", "tree"] and giraffe.unnameable == giraffe.words
    ev = Evidence(standing=2.5)
    assert assess(giraffe, ev, PhotoFacts(tags=["ox"]), 3) == "partial"
    assert ev.unnameable == ["giraffe", "tree"] and ev.missing == ["giraffe", "tree"]
    giraffe.leaders = frozenset({3})
    assert assess(giraffe, ev, PhotoFacts(tags=["ox"]), 3) == "strong" and ev.stands_apart
    # "a woman smiling" is not every photo with someone in it: the smile needs resemblance too
    smiling = read_request("a woman smiling")
    assert smiling.words == ["smiling"] and smiling.attributes.people is True
    ev = Evidence(standing=1.0, people=1)
    assert assess(smiling, ev, PhotoFacts(), 5) == "partial" and ev.missing == [] and ev.unnameable == []


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


def test_a_word_some_source_names_everywhere_is_never_met_by_resemblance():
    """A word a source names wherever a photo shows it (a taught word: its model went over every
    photo; the tagger's own words) is never met by similarity alone."""
    def naming(words, written):
        return {w: ("tag" if w == "giraffe" else None) for w in words}

    request = read_request("a giraffe near a tree", naming=naming)
    assert request.unnameable == ["tree"]
    request.leaders = frozenset({1})
    assert assess(request, Evidence(standing=3.0), PhotoFacts(), 1) == "partial"  # not tagged giraffe
    assert assess(request, Evidence(standing=3.0), PhotoFacts(tags=["giraffe"]), 1) == "strong"
    assert assess(request, Evidence(standing=3.0), PhotoFacts(tags=["giraffe"]), 2) == "partial"  # "tree"?


def _alike(groups: list[list[int]], size: int) -> list[list[bool]]:
    """The "looks like" relation among a query's `size` best photos: photos in the same group look
    alike (each looks like itself), the rest look like nothing else."""
    member = {i: g for g, group in enumerate(groups) for i in group}
    return [[i == j or (i in member and member.get(j) == member[i]) for j in range(size)] for i in range(size)]


def test_a_word_with_no_evidence_gives_few_or_no_matches():
    """Best photos that are each something else (the torch, snowmobile, candle and umbrellas at the top
    for "fireworks") are no group: no leaders. A few alike at the top are no group either, nor a group
    the best photos are not all part of; a group is never more than LEADER_DEPTH photos."""
    anchors = list(range(LEADER_ANCHORS))
    assert similarity_leaders(_alike([], 30)) == []
    assert similarity_leaders(_alike([anchors + [LEADER_ANCHORS]], 30)) == []  # fewer than MIN_GROUP
    assert similarity_leaders(_alike([[0, 5, 6, 7, 8, 9], [1, 2, 3, 4, 10, 11]], 30)) == []  # the best differ
    assert similarity_leaders(_alike([list(range(1, 10))], 30)) == []  # alike, but not with the best one
    assert similarity_leaders([]) == []
    assert similarity_leaders(_alike([list(range(40))], 40)) == list(range(LEADER_DEPTH))


def test_a_kitchen_like_word_keeps_its_clear_leaders():
    """The best photos that look alike are the leaders (the matches by resemblance), wherever they sit
    in the library's z (none of a kitchen's stands apart): the best ones and those like each of them,
    when at least MIN_GROUP are; photos between them that look like something else stay close."""
    group = list(range(LEADER_ANCHORS)) + [4, 5, 8, 11]
    assert similarity_leaders(_alike([group, [3, 6, 7]], 30)) == group
    assert similarity_leaders(_alike([list(range(MIN_GROUP))], 30)) == list(range(MIN_GROUP))
    assert similarity_leaders(_alike([list(range(MIN_GROUP - 1))], 30)) == []


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
    and the answer says it went by resemblance, with the fix; tag two photos "giraffe" and both are
    matches, by their tag, and the answer says so, not resemblance. Your tags name the photos they are
    on and no others, so the word stays one photoseek cannot recognise by itself, until a third photo
    teaches it (photoseek.learn): then its model names it wherever it sees it."""
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
        assert 'Give "giraffe" to a few photos (`photoseek teach "giraffe" ID ID ID`' in text

        tagged = {before[1].id, before[4].id}
        for photo in tagged:
            library.tag(photo, add=["giraffe"])
        after = library.search("giraffe", k=20)
        assert {r.id for r in after if r.match == "strong"} == tagged  # a dozen photos: no group to lead
        assert all(r.evidence.met == {"giraffe": "tag giraffe"} for r in after if r.id in tagged)
        assert all(not r.evidence.stands_apart and r.evidence.unnameable == ["giraffe"] for r in after)
        text = Session(library, None).ask("a giraffe").text
        assert text.startswith('Found 2 photos for "giraffe"') and "resemblance" not in text
        assert "the 2 found are the photos whose tag, text or caption names it" in text
        # a third photo makes it a taught word (photoseek.learn): photos its model tags match too, and say so
        tagged.add(before[6].id)
        library.tag(before[6].id, add=["giraffe"])
        after = library.search("giraffe", k=20)
        strong = {r.id for r in after if r.match == "strong"}
        assert tagged <= strong
        assert all(r.evidence.unnameable == [] for r in after)
        assert all(r.evidence.learned["giraffe"]["examples"] == 3 for r in after if r.id in strong - tagged)


def test_what_names_a_word_everywhere_asks_every_source_and_takes_new_ones(agent_library):
    """The tagger's vocabulary and the tags models gave; text read in some photo (the notice reads
    "DELETE ALL PHOTOS") names it there and nowhere else, so it is no such source, unless the words
    are asked as text in the photo; a source registered later (places, people) is asked too and listed
    in the reasons."""
    from photoseek.agent.explain import unnameable_phrase
    from photoseek.search import nameable

    catalog = agent_library.catalog
    assert nameable.naming_sources(["cat", "delete", "giraffe"], catalog) == {
        "cat": "tag", "delete": None, "giraffe": None}
    assert nameable.naming_sources(["exit"], None, written=["exit"]) == {"exit": "text"}
    place = nameable.NamingSource("place", lambda catalog, word: word == "lisbon")
    nameable.register(place)
    try:
        assert nameable.naming_sources(["lisbon", "giraffe"], catalog) == {"lisbon": "place", "giraffe": None}
        assert unnameable_phrase(["giraffe"]) == 'photoseek cannot recognise "giraffe" by itself (no tag or place it gives names it)'
    finally:
        nameable.SOURCES.remove(place)
    assert unnameable_phrase(["giraffe"]) == 'photoseek cannot recognise "giraffe" by itself (no tag it gives names it)'
    assert unnameable_phrase(["giraffe", "tree"]).endswith("(no tag it gives names them)")


def test_your_own_tags_and_text_in_some_photos_name_no_word_everywhere(agent_library_dir, tmp_path):
    """A tag you gave a photo names that photo only: the word stays one resemblance may vouch for
    (the fourth giraffe is a giraffe whether you tagged it or not). A tag a model gave makes the word
    nameable (a taught word is stored as a tag with source "learned")."""
    import shutil

    from photoseek import Library
    from photoseek.search import nameable

    copy = tmp_path / "library"
    shutil.copytree(agent_library_dir, copy)
    with Library(copy, llm=None) as library:
        photo = library.search("cat", k=1)[0].id
        library.tag(photo, add=["giraffe"])
        assert nameable.naming_sources(["giraffe"], library.catalog) == {"giraffe": None}
        with library.catalog.conn:
            library.catalog.conn.execute(
                "INSERT INTO tags(photo_id, tag, confidence, source, broader) VALUES (?, 'giraffe', 0.9, 'learned', 0)",
                (photo,))
        assert nameable.naming_sources(["giraffe"], library.catalog) == {"giraffe": "tag"}
