"""Query attributes (time of day, people, colours) read from plain words, and the fusion maths."""

from __future__ import annotations

import numpy as np

from photoseek.search.query_attributes import parse_attributes
from photoseek.search.engine import RRF_K, SearchEngine, SearchPlan, Signal, _rocchio


def test_time_of_day_words():
    assert parse_attributes("the harbour at night").time_of_day == "night"
    assert parse_attributes("beach at sunset").time_of_day == "twilight"
    assert parse_attributes("a sunny street").time_of_day == "day"
    assert parse_attributes("a red bus").time_of_day is None


def test_people_words_and_counts():
    a = parse_attributes("two men playing tennis")
    assert a.people is True and a.people_count == 2
    assert parse_attributes("a beach without people").people is False
    assert parse_attributes("a bowl of fruit").people is None


def test_colours_are_basic_terms():
    assert parse_attributes("a red double decker bus on a grey street").colors == ["gray", "red"]
    assert parse_attributes("reddish things").colors == []


def test_rrf_prefers_agreement_between_signals():
    engine = SearchEngine(plan=SearchPlan(fusion="rrf", weights={"embedding": 1.0, "fulltext": 0.6}))
    a = Signal("embedding", {1: 0.9, 2: 0.8, 3: 0.1})
    b = Signal("fulltext", {2: 5.0, 3: 4.0})
    fused = engine._fuse([a, b], exclude=set(), allowed=None)
    # 3 is found by both signals, so it beats 1, which only the embedding ranks higher
    assert [pid for pid, _ in fused] == [2, 3, 1]
    assert fused[0][1] == 1.0 / (RRF_K + 2) + 0.6 / (RRF_K + 1)


def test_score_fusion_keeps_cosines_and_scales_keywords():
    engine = SearchEngine(plan=SearchPlan())
    emb = Signal("embedding", {1: 0.50, 2: 0.49})
    keywords = Signal("fulltext", {2: 8.0, 3: 4.0})
    fused = dict(engine._fuse([emb, keywords], exclude=set(), allowed=None))
    # the keyword hit nudges 2 past 1, but a keyword-only photo stays far below
    assert fused[2] == 0.49 + 0.02 * 1.0 and fused[3] == 0.02 * 0.5
    assert [p for p, _ in sorted(fused.items(), key=lambda kv: -kv[1])] == [2, 1, 3]


def test_fusion_respects_exclusions_and_filters():
    engine = SearchEngine(plan=SearchPlan())
    a = Signal("visual", {1: 0.9, 2: 0.8, 3: 0.7})
    assert [p for p, _ in engine._fuse([a], exclude={1}, allowed={1, 3})] == [3]


def test_rocchio_moves_towards_positives_and_away_from_negatives():
    q = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    pos = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    neg = np.array([[0.0, 0.0, 1.0]], dtype=np.float32)
    moved = _rocchio(q, pos, neg)
    assert abs(np.linalg.norm(moved) - 1) < 1e-5
    assert moved[1] > 0 and moved[2] < 0 and moved[0] > moved[1]
