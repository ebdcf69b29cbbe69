"""The vision interfaces every model in photoseek sits behind.

Borrowed from Immich's machine-learning service: one `InferenceModel` base that loads lazily on
first `predict`-style call (never at import), and from rclip: every embedder has a stable `id`
that is stored with the index, so vectors from two models never mix.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from photoseek.inference import InferenceModel

if TYPE_CHECKING:  # keep numpy/PIL out of import time for the CLI's start-up path
    import numpy as np
    from PIL import Image


@dataclass
class ImageEncoding:
    """What one forward pass over a batch of images yields.

    joint:   (n, dim) float32, L2-normalised, in the same space as `embed_texts` (text→image search).
    visual:  (n, visual_dim) float32, L2-normalised, for image→image similarity, or None when the
             joint vector already serves (CLIP). Stored as a second vector space when present.
    labels:  per image, the top classifier labels as (class_index, probability), or None when the
             model is not a classifier. Tags are derived from these without a second pass.
    """

    joint: "np.ndarray"
    visual: "np.ndarray | None" = None
    labels: "list[list[tuple[int, float]]] | None" = None


class Embedder(InferenceModel):
    """A model that puts images and texts into one vector space.

    `id` names the model and every setting that changes its vectors (e.g. "conse:effnet-lite0+minilm-l6:top5");
    the catalog stores it, and a different id means re-embedding.
    `dim` is the joint space's dimension; `visual_dim` is the visual space's (0 when there is none).
`multilingual` says whether `embed_texts` understands queries in other languages than English.
    Inputs to `encode_images` are RGB PIL images already oriented (EXIF applied) and reasonably
    small (the decoder hands out at most `preferred_size` on the short side when it can).
    """

    id: str
    dim: int
    visual_dim: int = 0
    preferred_size: int = 256  # the decoder's target short side; lets JPEG draft mode skip work
    #: True when the text encoder was trained on many languages (XLM-R CLIP, SigLIP 2, ...): a query
    #: in any language is embedded as it is, with no LLM translation step first.
    multilingual: bool = False

    @abstractmethod
    def encode_images(self, images: "Sequence[Image.Image]") -> ImageEncoding: ...

    @abstractmethod
    def embed_texts(self, texts: Sequence[str]) -> "np.ndarray":
        """(n, dim) float32, L2-normalised."""

    def embed_queries(self, texts: Sequence[str]) -> "np.ndarray":
        """`embed_texts` for search queries, where an embedder may trade a little accuracy for speed
        (ConSE: an int8 text encoder). Same shape and space; `embed_texts` by default."""
        return self.embed_texts(texts)

    def embed_images(self, images: "Sequence[Image.Image]") -> "np.ndarray":
        return self.encode_images(images).joint

    @property
    def visual_id(self) -> str:
        """Id of the visual space (stored alongside `id`)."""
        return f"{self.id}#visual"


def limit_aspect(image: "Image.Image", max_aspect: float = 2.0) -> "Image.Image":
    """The image's centre cropped to at most `max_aspect`:1, so that models which scale the short
    side up (CLIP processors, OCR detectors) stay bounded in memory for strips and long screenshots.
    Returned unchanged when already within it."""
    width, height = image.size
    if width > height * max_aspect:
        keep = max(1, round(height * max_aspect))
        left = (width - keep) // 2
        return image.crop((left, 0, left + keep, height))
    if height > width * max_aspect:
        keep = max(1, round(width * max_aspect))
        top = (height - keep) // 2
        return image.crop((0, top, width, top + keep))
    return image


@dataclass
class ModelInfo:
    """For `photoseek models` and `show`: what a registered name resolves to."""

    name: str
    description: str
    extras: list[str] = field(default_factory=list)
