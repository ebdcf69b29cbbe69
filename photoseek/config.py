"""Where photoseek keeps things: the library (catalog + vectors + thumbnails) and the model cache.

Nothing here imports heavy modules; the CLI reads these on every start.
"""

from __future__ import annotations

import os
from pathlib import Path


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_library_dir() -> Path:
    """`PHOTOSEEK_LIBRARY`, else `$XDG_DATA_HOME/photoseek/library`."""
    explicit = os.environ.get("PHOTOSEEK_LIBRARY")
    if explicit:
        return Path(explicit).expanduser()
    return _xdg("XDG_DATA_HOME", ".local/share") / "photoseek" / "library"


def model_cache_dir() -> Path:
    """`PHOTOSEEK_MODEL_CACHE`, else `$XDG_CACHE_HOME/photoseek/models`.

    Exported ONNX graphs, the assembled GGUF and cached label embeddings live here; they are
    derived from installed packages on first use, never downloaded.
    """
    explicit = os.environ.get("PHOTOSEEK_MODEL_CACHE")
    path = Path(explicit).expanduser() if explicit else _xdg("XDG_CACHE_HOME", ".cache") / "photoseek" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def offline() -> bool:
    """`PHOTOSEEK_OFFLINE=1` (or the CLI's `--offline`, which sets it), or Hugging Face's own
    `HF_HUB_OFFLINE=1`: photoseek downloads nothing and models must already be in their caches."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
               for name in ("PHOTOSEEK_OFFLINE", "HF_HUB_OFFLINE"))


def cpu_threads() -> int:
    """Threads for inference: `PHOTOSEEK_THREADS`, else all cores."""
    explicit = os.environ.get("PHOTOSEEK_THREADS")
    if explicit:
        return max(1, int(explicit))
    return max(1, os.cpu_count() or 1)


_onnx_threads: int | None = None


def onnx_threads() -> int:
    """Threads each ONNX Runtime session made from now on uses: `serve_from_threads()`'s 1, else
    `cpu_threads()`."""
    return _onnx_threads or cpu_threads()


def serve_from_threads() -> None:
    """Set this process up to answer requests on many threads at once (`photoseek serve`): ONNX
    Runtime sessions made from now on and numpy's BLAS use one thread per call, as concurrent
    requests already fill the cores. Idle BLAS and intra-op threads otherwise spin or hand work
    around: measured on 2 cores at 10k photos, one API search took 34.5 ms of CPU with them and
    15.7 ms without, at the same latency (bench/serve.py). An explicit PHOTOSEEK_THREADS is kept
    for ONNX Runtime; the LLM keeps `cpu_threads()` (one conversation turn at a time)."""
    global _onnx_threads
    import numpy  # noqa: F401  (threadpoolctl limits the BLAS libraries loaded when it is called)
    import threadpoolctl

    threadpoolctl.threadpool_limits(limits=1, user_api="blas")
    if not os.environ.get("PHOTOSEEK_THREADS"):
        _onnx_threads = 1
