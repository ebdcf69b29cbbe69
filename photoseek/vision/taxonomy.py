"""Tags at the level people speak: ImageNet classes with their everyday broader terms.

A golden retriever is also a "dog", a "pet", a "mammal" and an "animal"; a sports car is a "car" and a
"vehicle". The hierarchy comes from WordNet 3.0 (ImageNet classes are WordNet noun synsets), filtered to
a curated set of words people use, and is committed as package data
(photoseek/vision/data/imagenet_taxonomy.json, built by scripts/build_imagenet_taxonomy.py), so run time
needs neither WordNet nor a download. Tag names are lower case.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

_DATA_FILE = "imagenet_taxonomy.json"


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    text = resources.files("photoseek.vision").joinpath("data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def _by_wnid() -> dict[str, tuple[str, tuple[str, ...]]]:
    return {wnid: (name, tuple(broader)) for wnid, name, broader in _data()["classes"]}


def normalize_tag(tag: str) -> str:
    """The stored form of a tag: lower case, single spaces ("Golden  Retriever" -> "golden retriever")."""
    return " ".join(tag.strip().lower().split())


_IRREGULAR_PLURALS = {"people": "person", "men": "man", "women": "woman", "children": "child", "mice": "mouse",
                      "geese": "goose", "teeth": "tooth", "feet": "foot"}


def singular_candidates(word: str) -> list[str]:
    """Possible English singulars of one word, likeliest first ("boxes" -> ["box", "boxe"])."""
    if word in _IRREGULAR_PLURALS:
        return [_IRREGULAR_PLURALS[word]]
    candidates = []
    if len(word) > 4 and word.endswith("ies"):
        candidates.append(word[:-3] + "y")
    if len(word) > 4 and word.endswith("ves"):
        candidates += [word[:-3] + "f", word[:-3] + "fe"]
    if len(word) > 3 and word.endswith(("ses", "xes", "zes", "ches", "shes")):
        candidates.append(word[:-2])
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        candidates.append(word[:-1])
    return candidates or [word]


def singular(word: str) -> str:
    """A rough English singular of one word ("puppies" -> "puppy", "boxes" -> "box", "dogs" -> "dog")."""
    return singular_candidates(word)[0]


def num_classes() -> int:
    return len(_data()["classes"])


def tag_name(class_index: int) -> str:
    """The friendly tag of a classifier class: 207 -> "golden retriever"."""
    return _data()["classes"][class_index][1]


def class_wnid(class_index: int) -> str:
    return _data()["classes"][class_index][0]


def broader_terms(wnid: str) -> list[str]:
    """Everyday broader terms of a class, most specific first: "n02099601" -> ["dog", "pet", "mammal", "animal"].

    Unknown wnids have none.
    """
    entry = _by_wnid().get(wnid)
    return list(entry[1]) if entry else []


def broader_terms_of_index(class_index: int) -> list[str]:
    return list(_data()["classes"][class_index][2])


def term_broader(term: str) -> list[str]:
    """Broader terms of a broader term itself ("dog" -> ["pet", "mammal", "animal"])."""
    return list(_data()["terms"].get(normalize_tag(term), []))


def is_broader_term(tag: str) -> bool:
    """Whether a tag is one of the everyday broader terms ("animal", "dog") rather than a class name."""
    return normalize_tag(tag) in _data()["terms"]


def vocabulary() -> list[str]:
    """Every tag the taxonomy knows: class names and broader terms (the zero-shot vocabulary)."""
    names = {name for _, name, _ in _data()["classes"]}
    return sorted(names | set(_data()["terms"]))


@functools.lru_cache(maxsize=1)
def _narrower_index() -> dict[str, frozenset[str]]:
    narrower: dict[str, set[str]] = {}
    for _, name, broader in _data()["classes"]:
        for term in broader:
            narrower.setdefault(term, set()).add(name)
    for term, broader in _data()["terms"].items():
        for above in broader:
            narrower.setdefault(above, set()).add(term)
    return {term: frozenset(names) for term, names in narrower.items()}


@functools.lru_cache(maxsize=1)
def _by_head_word() -> dict[str, frozenset[str]]:
    """Multi-word tag names by their last word: "sign" -> {"street sign"}."""
    heads: dict[str, set[str]] = {}
    for name in vocabulary():
        words = name.split()
        if len(words) > 1:
            heads.setdefault(words[-1], set()).add(name)
    return {head: frozenset(names) for head, names in heads.items()}


@functools.lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    return frozenset(vocabulary())


@functools.lru_cache(maxsize=4096)
def expand(tag: str) -> frozenset[str]:
    """The tag and every narrower tag name: "dog" -> {"dog", "golden retriever", "beagle", ...}.

    For filters: a photo tagged with any of these matches `tag`. A plural asks for its singular
    ("dogs"). A word that is no tag of its own matches the tags it ends ("sign" -> "street sign",
    "pepper" -> "bell pepper"); known names do not ("dog" never matches "hot dog"). Anything else
    expands to itself.
    """
    tag = normalize_tag(tag)
    found = narrower(tag)
    if len(found) > 1 or tag in _known_names():
        return found
    index = _narrower_index()
    for candidate in _candidates(tag):
        for name in _by_head_word().get(candidate, ()):
            found |= {name} | index.get(name, frozenset())
    return frozenset(found)


@functools.lru_cache(maxsize=4096)
def narrower(tag: str) -> frozenset[str]:
    """The tag and every tag name under it in the hierarchy: "dog" -> {"dog", "golden retriever",
    "beagle", ...}; a plural asks for its singular ("dogs"). Unlike `expand`, a word no tag of its own
    stays itself: "sign" is not "street sign" (the tagger names that kind of sign, not every sign)."""
    tag = normalize_tag(tag)
    known = _known_names()
    for candidate in _candidates(tag):
        if candidate in known:
            return frozenset({tag, candidate} | _narrower_index().get(candidate, frozenset()))
    return frozenset({tag})


def _candidates(tag: str) -> list[str]:
    return [tag] if tag in _known_names() or " " in tag else [tag, *singular_candidates(tag)]
