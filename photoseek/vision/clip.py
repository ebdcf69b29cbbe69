"""CLIP-family embedders for people who already have the weights: one `ClipEmbedder` over two loaders.

  hf:REPO_OR_FOLDER           transformers: CLIPModel/CLIPProcessor for model_type "clip", and
                              AutoModel/AutoProcessor for SigLIP ("siglip", "siglip2"); read from a
                              local folder or the user's Hugging Face cache, never downloaded.
  open_clip:ARCH:PRETRAINED   open_clip_torch (optional extra `photoseek[openclip]`); PRETRAINED is a
                              tag already in the cache or a local checkpoint file.

Both run with torch on the CPU and load lazily on first use. CLIP's joint vector serves
image→image similarity too, so `visual` and `labels` are None; `zero_shot_labels` tags images
against any vocabulary instead of a fixed label set.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from photoseek.errors import ModelUnavailableError
from photoseek.vision.base import Embedder, ImageEncoding, limit_aspect
from photoseek.vision.classifier import l2_normalise
from photoseek.vision.model_cache import quiet_transformers

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

ZERO_SHOT_TEMPLATE = "a photo of a {}."
#: Text vocabularies this large are multilingual SentencePiece ones (XLM-R 250,002; mT5/SigLIP i18n
#: 250,000; Gemma, SigLIP 2's tokenizer, 256,000); English CLIP BPE has 49,408 and SigLIP 32,000.
MULTILINGUAL_VOCABULARY = 250_000
#: HF text towers of open_clip's multilingual models (their config names no vocabulary size).
MULTILINGUAL_TEXT_TOWERS = ("xlm-roberta", "mt5", "nllb", "multilingual")


def is_multilingual_text(vocab_size: int | None, tower: str | None = None) -> bool:
    """Whether a CLIP-family text encoder reads many languages, from its vocabulary size or its HF
    text tower's name (see MULTILINGUAL_VOCABULARY)."""
    return bool((vocab_size or 0) >= MULTILINGUAL_VOCABULARY
                or (tower and any(name in tower.lower() for name in MULTILINGUAL_TEXT_TOWERS)))
_BATCH = 32


def _import_torch():
    try:
        import torch
    except ImportError:
        raise ModelUnavailableError(
            "CLIP models run with PyTorch, which is not installed: `pip install torch` (the CPU build is enough)"
        ) from None
    from photoseek.config import cpu_threads

    torch.set_num_threads(cpu_threads())
    return torch


def _as_tensor(output):
    """transformers ≥5 returns a model output whose pooler_output holds the projected features."""
    return output if hasattr(output, "shape") else output.pooler_output


class ClipBackend(ABC):
    """What a loader provides. Features are returned unnormalised; `ClipEmbedder` normalises."""

    id: str
    model_type: str = "clip"  # "clip" → softmax zero-shot scores; "siglip*" → sigmoid
    multilingual: bool = False

    def check_available(self) -> None:  # noqa: B027 - optional hook, most loaders check in __init__
        """Cheap check at construction so a missing model fails early with advice (no weights read)."""

    @abstractmethod
    def load(self) -> None: ...

    @abstractmethod
    def image_features(self, images: "Sequence[Image.Image]") -> "np.ndarray": ...

    @abstractmethod
    def text_features(self, texts: Sequence[str]) -> "np.ndarray": ...

    @abstractmethod
    def logit_scale_and_bias(self) -> tuple[float, float]:
        """The model's learned temperature (already exponentiated) and bias (0 for CLIP)."""

    @property
    @abstractmethod
    def dim(self) -> int: ...

    preferred_size: int = 224


class HFClipBackend(ClipBackend):
    """transformers loader: a local folder, or a repo id already in the Hugging Face cache."""

    def __init__(self, source: str) -> None:
        if not source:
            raise ModelUnavailableError("`hf:` needs a model: hf:REPO_ID (already downloaded) or hf:/path/to/folder")
        self.source = source
        local = Path(source).expanduser()
        self.folder = self._local_folder(local) if local.is_dir() else self._cached_repo_folder(source)
        # a folder is named by its absolute path, a cached repo by its id
        self.id = f"hf:{self.folder}" if local.is_dir() else f"hf:{source}"
        config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        self.model_type = config.get("model_type", "")
        self.multilingual = is_multilingual_text((config.get("text_config") or {}).get("vocab_size"))
        if self.model_type == "clip":
            self._dim = int(config.get("projection_dim", 512))
        elif self.model_type.startswith("siglip"):
            text_config = config.get("text_config", {})
            self._dim = int(text_config.get("projection_size") or text_config.get("hidden_size", 768))
        else:
            raise ModelUnavailableError(
                f"{source}: model_type {self.model_type!r} is not supported; use a CLIP or SigLIP model"
            )
        self.preferred_size = _image_size(self.folder)
        # truncate to the position table even when the saved tokenizer does not say its length
        self._max_tokens = int(
            config.get("text_config", {}).get("max_position_embeddings", 77 if self.model_type == "clip" else 64)
        )
        self._model = None
        self._processor = None

    @staticmethod
    def _local_folder(folder: Path) -> Path:
        if not (folder / "config.json").exists():
            raise ModelUnavailableError(
                f"{folder} has no config.json; point hf: at a folder saved with "
                "`model.save_pretrained(folder)` and `processor.save_pretrained(folder)`"
            )
        return folder.resolve()

    @staticmethod
    def _cached_repo_folder(source: str) -> Path:
        if source.startswith((".", "/", "~", "\\")) or source.count("/") != 1 or ":" in source:
            raise ModelUnavailableError(
                f"model folder {Path(source).expanduser()} does not exist; pass hf:/path/to/folder of a saved "
                "CLIP/SigLIP model, or hf:ORG/NAME for a model on the Hugging Face Hub"
            )
        from photoseek.vision.downloads import hf_model_folder

        # from the cache with no network request; downloaded once on first use unless offline
        return hf_model_folder(source)

    @property
    def dim(self) -> int:
        return self._dim

    def load(self) -> None:
        torch = _import_torch()
        try:
            import transformers
        except ImportError:
            raise ModelUnavailableError("hf: models need transformers: `pip install transformers`") from None
        if self.model_type == "clip":
            model_class, processor_class = transformers.CLIPModel, transformers.CLIPProcessor
        else:
            model_class, processor_class = transformers.AutoModel, transformers.AutoProcessor
        try:
            with quiet_transformers():
                self._model = model_class.from_pretrained(str(self.folder), local_files_only=True)
                self._processor = processor_class.from_pretrained(str(self.folder), local_files_only=True)
        except (OSError, ValueError) as error:
            raise ModelUnavailableError(f"could not load {self.source} from {self.folder}: {error}") from None
        # float32 whatever the checkpoint's dtype: half precision is slow or unsupported on many CPUs
        self._model.float().eval()
        self._torch = torch

    def image_features(self, images):
        import numpy as np

        chunks = []
        for start in range(0, len(images), _BATCH):
            batch = [im if im.mode == "RGB" else im.convert("RGB") for im in images[start : start + _BATCH]]
            inputs = self._processor(images=batch, return_tensors="pt")
            with self._torch.inference_mode():
                chunks.append(
                    _as_tensor(self._model.get_image_features(pixel_values=inputs["pixel_values"])).float().numpy()
                )
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)

    def text_features(self, texts):
        import numpy as np

        # SigLIP was trained on texts padded to the full length; CLIP masks padding either way
        padding = "max_length" if self.model_type.startswith("siglip") else True
        chunks = []
        for start in range(0, len(texts), _BATCH):
            inputs = self._processor(
                text=list(texts[start : start + _BATCH]),
                padding=padding,
                truncation=True,
                max_length=self._max_tokens,
                return_tensors="pt",
            )
            with self._torch.inference_mode():
                features = self._model.get_text_features(
                    input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask")
                )
            chunks.append(_as_tensor(features).float().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)

    def logit_scale_and_bias(self):
        scale = float(self._model.logit_scale.detach().exp())
        bias = getattr(self._model, "logit_bias", None)
        return scale, float(bias.detach()) if bias is not None else 0.0


def _image_size(folder: Path) -> int:
    """The processor's input size from its saved config, so the decoder can stop at that size."""
    for name, section in (("preprocessor_config.json", None), ("processor_config.json", "image_processor")):
        path = folder / name
        if not path.exists():
            continue
        config = json.loads(path.read_text(encoding="utf-8"))
        config = config.get(section, {}) if section else config
        size = config.get("size") or config.get("crop_size") or {}
        if isinstance(size, int):
            return size
        for key in ("shortest_edge", "height"):
            if key in size:
                return int(size[key])
    return 224


class OpenClipBackend(ClipBackend):
    """open_clip loader; PRETRAINED is one of open_clip's tags for ARCH (downloaded on first use into
    the caches open_clip itself uses: the Hugging Face cache, or ~/.cache/clip for URL-only tags) or
    the path of a local checkpoint."""

    def __init__(self, arch: str, pretrained: str) -> None:
        if not arch or not pretrained:
            raise ModelUnavailableError("use open_clip:ARCH:PRETRAINED, e.g. open_clip:ViT-B-32:laion2b_s34b_b79k")
        self.arch, self.pretrained = arch, pretrained
        self.id = f"open_clip:{arch}:{pretrained}"
        self.model_type = "siglip" if "siglip" in arch.lower() else "clip"
        self._model = None

    def check_available(self) -> None:
        text = ((_import_open_clip().get_model_config(self.arch) or {}).get("text_cfg") or {})
        self.multilingual = is_multilingual_text(text.get("vocab_size"),
                                                 text.get("hf_model_name") or text.get("hf_tokenizer_name"))

    def fetch(self) -> None:
        """Make sure the weights (and an HF text tower's files) are cached: a no-op when they are,
        a download with a progress bar on first use, an error naming what to fetch when offline."""
        from photoseek.vision.downloads import open_clip_weights

        open_clip_weights(_import_open_clip(), self.arch, self.pretrained)

    def load(self) -> None:
        from photoseek.vision.downloads import hub_offline

        torch = _import_torch()
        open_clip = _import_open_clip()
        self.fetch()
        try:
            # everything is cached now: open_clip/transformers read it with no network request
            with hub_offline():
                model, _, preprocess = open_clip.create_model_and_transforms(self.arch, pretrained=self.pretrained)
                self._tokenizer = open_clip.get_tokenizer(self.arch)
        except Exception as error:  # open_clip raises RuntimeError/OSError for unreadable checkpoints
            raise ModelUnavailableError(
                f"{self.id}: open_clip could not load it ({type(error).__name__}: {error})"
            ) from None
        model.eval()
        self._model, self._preprocess = model, preprocess
        self._torch = torch
        size = getattr(model.visual, "image_size", 224)
        self.preferred_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self._dim = int(self.text_features(["a photo"]).shape[1])  # open_clip has no uniform dim attribute

    @property
    def dim(self) -> int:
        if self._model is None:
            self.load()
        return self._dim

    def image_features(self, images):
        import numpy as np

        chunks = []
        for start in range(0, len(images), _BATCH):
            pixels = self._torch.stack([self._preprocess(im.convert("RGB")) for im in images[start : start + _BATCH]])
            with self._torch.inference_mode():
                chunks.append(self._model.encode_image(pixels).float().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)

    def text_features(self, texts):
        import numpy as np

        chunks = []
        for start in range(0, len(texts), _BATCH):
            with self._torch.inference_mode():
                tokens = self._tokenizer(list(texts[start : start + _BATCH]))
                chunks.append(self._model.encode_text(tokens).float().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)

    def logit_scale_and_bias(self):
        scale = float(self._model.logit_scale.detach().exp())
        bias = getattr(self._model, "logit_bias", None)
        return scale, float(bias.detach()) if bias is not None else 0.0


def _import_open_clip():
    try:
        import open_clip
    except Exception as error:  # ImportError, or e.g. a torchvision built for another torch
        raise ModelUnavailableError(
            f"open_clip is not usable here ({type(error).__name__}: {error}); "
            "install the optional extra with `pip install 'photoseek[openclip]'`"
        ) from None
    return open_clip


class ClipEmbedder(Embedder):
    """An `Embedder` over a CLIP-family backend: joint space only, plus zero-shot tagging."""

    visual_dim = 0

    def __init__(self, backend: ClipBackend) -> None:
        super().__init__()
        backend.check_available()
        self.backend = backend
        self.id = backend.id
        self._vocabulary_cache: dict[tuple, "np.ndarray"] = {}
        self._vocabulary_lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.backend.dim

    @property
    def multilingual(self) -> bool:  # type: ignore[override]
        return self.backend.multilingual

    @property
    def preferred_size(self) -> int:
        return self.backend.preferred_size

    def _load(self) -> None:
        self.backend.load()

    def encode_images(self, images: "Sequence[Image.Image]") -> ImageEncoding:
        self.ensure_loaded()
        # CLIP processors scale the short side to ~224 before their centre crop: a 12800×10 strip
        # would become 286720×224 first. Cropping the centre to 2:1 gives the same crop, bounded.
        images = [limit_aspect(image) for image in images]
        return ImageEncoding(joint=l2_normalise(self.backend.image_features(images)), visual=None, labels=None)

    def embed_texts(self, texts: Sequence[str]) -> "np.ndarray":
        if isinstance(texts, str):
            raise TypeError("embed_texts() takes a sequence of texts, not one string")
        self.ensure_loaded()
        return l2_normalise(self.backend.text_features(list(texts)))

    def zero_shot_labels(
        self,
        images: "Sequence[Image.Image]",
        vocabulary: list[str],
        top: int = 5,
        template: str = ZERO_SHOT_TEMPLATE,
    ) -> list[list[tuple[str, float]]]:
        """Per image, the `top` vocabulary entries with their probabilities, best first."""
        return self.zero_shot_labels_from_vectors(self.encode_images(images).joint, vocabulary, top, template)

    def zero_shot_labels_from_vectors(
        self,
        image_vectors: "np.ndarray",
        vocabulary: list[str],
        top: int = 5,
        template: str = ZERO_SHOT_TEMPLATE,
    ) -> list[list[tuple[str, float]]]:
        """Like `zero_shot_labels` for already-stored joint vectors (no second pass over the photos).

        Probabilities follow the model's training objective: a softmax over the vocabulary for CLIP,
        an independent sigmoid per entry for SigLIP (so several tags can all be likely)."""
        import numpy as np

        from photoseek.vision.classifier import softmax, top_labels

        if not vocabulary:
            return [[] for _ in range(len(image_vectors))]
        self.ensure_loaded()
        prompts = self._vocabulary_vectors(tuple(vocabulary), template)
        scale, bias = self.backend.logit_scale_and_bias()
        logits = scale * (np.asarray(image_vectors, dtype=np.float32) @ prompts.T) + bias
        if self.backend.model_type.startswith("siglip"):
            probabilities = 1.0 / (1.0 + np.exp(-logits))
        else:
            probabilities = softmax(logits)
        return [[(vocabulary[i], p) for i, p in row] for row in top_labels(probabilities, top)]

    def _vocabulary_vectors(self, vocabulary: tuple[str, ...], template: str) -> "np.ndarray":
        # the tagger asks with the same vocabulary for every batch: embed it once
        key = (vocabulary, template)
        with self._vocabulary_lock:
            if key not in self._vocabulary_cache:
                if len(self._vocabulary_cache) >= 8:
                    self._vocabulary_cache.pop(next(iter(self._vocabulary_cache)))
                self._vocabulary_cache[key] = self.embed_texts([template.format(word) for word in vocabulary])
            return self._vocabulary_cache[key]


def hf_embedder(source: str) -> ClipEmbedder:
    """`hf:REPO_OR_FOLDER`."""
    return ClipEmbedder(HFClipBackend(source))


def open_clip_embedder(argument: str) -> ClipEmbedder:
    """`open_clip:ARCH:PRETRAINED` (the part after "open_clip:")."""
    arch, _, pretrained = argument.partition(":")
    return ClipEmbedder(OpenClipBackend(arch, pretrained))
