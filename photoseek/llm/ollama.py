"""An LLM served by Ollama, over its HTTP API (POST /api/chat), with the standard library only.

    --llm ollama:qwen2.5:1.5b            planner/explanations from an Ollama model
    --captioner ollama:llava             captions from a vision model (images sent base64)

The host comes from OLLAMA_HOST (same forms as ollama-python: "host", "host:port", "http://host:port"),
default http://127.0.0.1:11434. Structured output uses the API's `format` field with a JSON schema;
`keep_alive` keeps the model loaded between turns. Errors say what to do: start the server, or pull
the model.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator

from photoseek.llm.base import LLM, ChatRequest, ChatResponse, Message
from photoseek.errors import BackendConnectionError, ModelUnavailableError, PhotoseekError

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434
DEFAULT_KEEP_ALIVE = "10m"
DEFAULT_TIMEOUT_S = 300.0


def parse_host(host: str | None) -> str:
    """"1.2.3.4" -> "http://1.2.3.4:11434"; "https://h" -> "https://h:443"; "" -> the default."""
    host = (host or "").strip()
    if not host:
        return DEFAULT_HOST
    scheme, _, rest = host.rpartition("://")
    scheme = scheme or "http"
    default_port = DEFAULT_PORT if "://" not in host else (443 if scheme == "https" else 80)
    split = urllib.parse.urlsplit(f"{scheme}://{rest}")
    hostname = split.hostname or "127.0.0.1"
    if ":" in hostname:  # IPv6 literal
        hostname = f"[{hostname}]"
    port = split.port or default_port
    path = split.path.rstrip("/")
    return f"{scheme}://{hostname}:{port}{path}"


def _error_text(body: bytes) -> str:
    try:
        return str(json.loads(body.decode("utf-8", "replace")).get("error") or "")
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace").strip()


class OllamaLLM(LLM):
    """A chat model on an Ollama server. Nothing is contacted until the first call."""

    def __init__(
        self,
        model: str,
        *,
        host: str | None = None,
        keep_alive: str | int = DEFAULT_KEEP_ALIVE,
        timeout: float = DEFAULT_TIMEOUT_S,
        vision: bool = True,
    ):
        if not model:
            raise PhotoseekError("Name an Ollama model, e.g. --llm ollama:qwen2.5:1.5b")
        self.model = model
        self.host = parse_host(host if host is not None else os.environ.get("OLLAMA_HOST"))
        self.keep_alive = keep_alive
        self.timeout = timeout
        # Whether images are sent is up to the caller; Ollama itself refuses them for text-only models.
        self.supports_images = vision
        self._capabilities: list[str] | None = None

    @classmethod
    def from_spec_argument(cls, argument: str | None) -> "OllamaLLM":
        if not argument:
            raise PhotoseekError("Name an Ollama model after the colon, e.g. --llm ollama:qwen2.5:1.5b")
        return cls(argument)

    @property
    def id(self) -> str:
        return f"ollama:{self.model}"

    # -- HTTP -------------------------------------------------------------------------------------
    def _body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [self._message(m) for m in request.messages],
            "stream": stream,
            "keep_alive": self.keep_alive,
            "options": {"temperature": request.temperature, "num_predict": request.max_tokens, "seed": 0},
        }
        if request.schema is not None:
            body["format"] = request.schema
        return body

    @staticmethod
    def _message(message: Message) -> dict[str, Any]:
        out: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.images:
            out["images"] = [base64.b64encode(image).decode("ascii") for image in message.images]
        return out

    def _open(self, path: str, body: dict[str, Any]):
        url = f"{self.host}{path}"
        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            message = _error_text(exc.read())
            if exc.code == 404:
                raise ModelUnavailableError(
                    f"Model {self.model} is not available on the Ollama server at {self.host}; "
                    f"run `ollama pull {self.model}`" + (f" ({message})" if message else "")
                ) from None
            raise PhotoseekError(
                f"The Ollama server at {self.host} refused the request (HTTP {exc.code}): {message or exc.reason}"
            ) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BackendConnectionError(
                f"Could not reach Ollama at {self.host}. Start it with `ollama serve` (or set OLLAMA_HOST). ({reason})"
            ) from None

    def complete(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        with self._open("/api/chat", self._body(request, stream=False)) as response:
            payload = json.loads(response.read().decode("utf-8"))
        if payload.get("error"):
            raise PhotoseekError(f"Ollama ({self.host}) reported an error: {payload['error']}")
        return ChatResponse(
            content=(payload.get("message") or {}).get("content", ""),
            model=self.id,
            prompt_tokens=payload.get("prompt_eval_count"),
            completion_tokens=payload.get("eval_count"),
            seconds=time.perf_counter() - started,
        )

    def stream(self, request: ChatRequest) -> Iterator[str]:
        with self._open("/api/chat", self._body(request, stream=True)) as response:
            for line in response:  # newline-delimited JSON objects
                if not line.strip():
                    continue
                chunk = json.loads(line.decode("utf-8"))
                if chunk.get("error"):
                    raise PhotoseekError(f"Ollama ({self.host}) reported an error: {chunk['error']}")
                piece = (chunk.get("message") or {}).get("content")
                if piece:
                    yield piece
                if chunk.get("done"):
                    return

    def warm_up(self, prefix: list[Message] | None = None) -> None:
        """Ask the server to load the model (a chat request with no messages loads it; errors surface on
        the first real call instead)."""
        try:
            with self._open("/api/chat", {"model": self.model, "messages": [], "keep_alive": self.keep_alive}):
                pass
        except PhotoseekError:
            pass

    # -- capabilities ------------------------------------------------------------------------------
    def capabilities(self) -> list[str]:
        """What the model can do, from POST /api/show: Ollama lists e.g. ["completion", "vision"]
        (servers older than its `capabilities` field: "vision" when the model has a `projector_info`).
        Asked once and cached; [] (not cached) when the server cannot be asked."""
        if self._capabilities is None:
            try:
                with self._open("/api/show", {"model": self.model}) as response:
                    info = json.loads(response.read().decode("utf-8"))
            except PhotoseekError:
                return []
            found = [str(c) for c in info.get("capabilities") or []]
            if not found and info.get("projector_info"):
                found = ["completion", "vision"]
            self._capabilities = found
        return self._capabilities

    def can_see(self) -> bool:
        return self.supports_images and "vision" in self.capabilities()

    # -- captioning --------------------------------------------------------------------------------
    def caption_image(self, image_bytes: bytes, prompt: str | None = None, *, max_tokens: int = 80) -> str:
        """One sentence describing an encoded image (JPEG/PNG bytes), from a vision model."""
        from photoseek.prompts import render

        messages = [
            Message("system", render("caption_system")),
            Message("user", prompt or "Describe this photo.", images=[image_bytes]),
        ]
        return " ".join(self.chat(messages, max_tokens=max_tokens).split())


def caption_image(image_bytes: bytes, prompt: str | None = None, *, model: str, host: str | None = None) -> str:
    """Caption one image with an Ollama vision model (`--captioner ollama:MODEL`)."""
    from photoseek.llm.base import get_llm

    llm = get_llm(f"ollama:{model}") if host is None else OllamaLLM(model, host=host)
    assert isinstance(llm, OllamaLLM)
    return llm.caption_image(image_bytes, prompt)
