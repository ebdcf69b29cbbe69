"""Tags from the classifier's labels (free at stage 1) and from zero-shot CLIP scores.

A photo's ImageNet labels [(class_index, probability), ...] become:
  - specific tags: the friendly class name ("golden retriever") when its probability is high enough;
  - broader tags: the everyday terms above the classes ("dog", "animal"), confident by the SUMMED
    probability of the photo's labels under them, so five uncertain dog breeds still make a sure "dog".
Broader tags are stored as their own rows with broader=1, so filters need no hierarchy walk
(`photoseek.store.annotations` writes them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from photoseek.vision import taxonomy

if TYPE_CHECKING:
    from PIL import Image

CLASSIFIER_SOURCE = "classifier"
ZEROSHOT_SOURCE = "zeroshot"
# Stored in annotations_done; change it when the rules below change, so `annotate` redoes tags.
# v2: broader terms sum over all classes, not the top 10; v3: labels include the classifier's windows
# (classifier.label_probabilities)
CLASSIFIER_TAGGER_ID = "imagenet-wordnet-v3"

# ImageNet probabilities of real photos are spread thin (1000 fine classes, many near-synonyms):
# a specific class at 0.25 is usually right; a broader term needs its classes to add up to 0.35.
MIN_TAG_CONFIDENCE = 0.25
MIN_BROADER_CONFIDENCE = 0.35
MAX_SPECIFIC_TAGS = 3
# Zero-shot scores are a softmax over the whole vocabulary: a term above this is a clear winner.
MIN_ZEROSHOT_CONFIDENCE = 0.15
MAX_ZEROSHOT_TAGS = 5


@dataclass(frozen=True)
class Tag:
    name: str
    confidence: float
    broader: bool = False


def tags_from_labels(
    labels: Sequence[tuple[int, float]],
    *,
    min_confidence: float = MIN_TAG_CONFIDENCE,
    min_broader: float = MIN_BROADER_CONFIDENCE,
) -> list[Tag]:
    """Classifier labels -> tags, most confident first (specific tags, then broader terms)."""
    specific: dict[str, float] = {}
    broader: dict[str, float] = defaultdict(float)
    for class_index, probability in sorted(labels, key=lambda label: -label[1]):
        probability = float(probability)
        name = taxonomy.tag_name(int(class_index))
        if probability >= min_confidence and len(specific) < MAX_SPECIFIC_TAGS:
            specific[name] = max(specific.get(name, 0.0), probability)
        for term in taxonomy.broader_terms_of_index(int(class_index)):
            broader[term] += probability
    tags = [Tag(name, round(p, 4)) for name, p in specific.items()]
    for term, total in sorted(broader.items(), key=lambda item: -item[1]):
        if total >= min_broader and term not in specific:
            tags.append(Tag(term, round(min(1.0, total), 4), broader=True))
    return tags


def tags_from_zero_shot(
    scores: Sequence[tuple[Any, float]],
    vocabulary: Sequence[str],
    *,
    min_confidence: float = MIN_ZEROSHOT_CONFIDENCE,
) -> list[Tag]:
    """Zero-shot (term, score) pairs -> tags, plus the broader terms of each confident term.

    `scores` items name the term either by text or by its index in `vocabulary`.
    """
    chosen: dict[str, float] = {}
    for term, score in sorted(scores, key=lambda item: -item[1]):
        name = taxonomy.normalize_tag(vocabulary[term] if isinstance(term, int) else str(term))
        if float(score) >= min_confidence and len(chosen) < MAX_ZEROSHOT_TAGS:
            chosen[name] = max(chosen.get(name, 0.0), float(score))
    tags = [Tag(name, round(score, 4)) for name, score in chosen.items()]
    implied: dict[str, float] = {}
    for name, score in chosen.items():
        for term in _broader_of_name(name):
            if term not in chosen:
                implied[term] = max(implied.get(term, 0.0), score)
    tags += [Tag(term, round(score, 4), broader=True) for term, score in implied.items()]
    return tags


def alternatives_dropped(names: Sequence[str]) -> list[str]:
    """Classifier tag names (most certain first) with the less certain of each group of kinds of one
    thing dropped: "egyptian mau, tiger cat" are two guesses at one cat (both directly under "cat"),
    and a caption that lists both says "two cats". Names with no broader term are all kept."""
    kept: list[str] = []
    seen: set[str] = set()
    for name in names:
        nearest = next(iter(_broader_of_name(name)), None)
        if nearest is None or nearest not in seen:
            kept.append(name)
        if nearest is not None:
            seen.add(nearest)
    return kept


def _broader_of_name(name: str) -> list[str]:
    """Broader terms of a tag given by name: a class name or a broader term itself."""
    found = taxonomy.term_broader(name)
    if found:
        return found
    return _class_broader_by_name().get(name, [])


_CLASS_BROADER: dict[str, list[str]] | None = None


def _class_broader_by_name() -> dict[str, list[str]]:
    global _CLASS_BROADER
    if _CLASS_BROADER is None:
        _CLASS_BROADER = {
            taxonomy.tag_name(i): taxonomy.broader_terms_of_index(i) for i in range(taxonomy.num_classes())
        }
    return _CLASS_BROADER


def zero_shot_vocabulary() -> list[str]:
    """The default zero-shot vocabulary: every class name and broader term of the taxonomy."""
    return taxonomy.vocabulary()


def zero_shot_tags(embedder: Any, images: "Sequence[Image.Image]", vocabulary: Sequence[str] | None = None) -> list[list[Tag]]:
    """Tags for each image from a CLIP-style embedder's `zero_shot_labels(images, vocabulary)`."""
    vocabulary = list(vocabulary or zero_shot_vocabulary())
    per_image = embedder.zero_shot_labels(images, vocabulary)
    return [tags_from_zero_shot(scores, vocabulary) for scores in per_image]


def supports_zero_shot(embedder: Any) -> bool:
    return callable(getattr(embedder, "zero_shot_labels", None))
