"""`InferenceModel`: the base of every model photoseek runs (vision models and LLMs alike).

Borrowed from Immich's machine-learning service: a model loads its weights lazily on first use
(never at import or construction), once, thread-safely; subclasses implement `_load`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Callable, TypeVar

T = TypeVar("T")


class InferenceModel(ABC):
    """Loads its weights on first use, once, thread-safely. Subclasses implement `_load`."""

    def __init__(self) -> None:
        self._loaded = False
        self._load_lock = threading.Lock()

    def ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    @property
    def loaded(self) -> bool:
        return self._loaded

    @abstractmethod
    def _load(self) -> None:
        """Load weights / create inference sessions. Raise ModelUnavailableError with advice."""


def process_wide(factory: Callable[[], T]) -> Callable[[], T]:
    """`factory` as a process-wide instance made on first call, once, under a lock (models whose
    ONNX Runtime sessions are safe to call from several threads: one per process is enough)."""
    lock = threading.Lock()
    made: list[T] = []

    def instance() -> T:
        with lock:
            if not made:
                made.append(factory())
            return made[0]

    instance.__doc__ = factory.__doc__
    return instance
