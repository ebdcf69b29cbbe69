"""`InferenceModel`: the base of every model photoseek runs (vision models and LLMs alike).

Borrowed from Immich's machine-learning service: a model loads its weights lazily on first use
(never at import or construction), once, thread-safely; subclasses implement `_load`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Callable, Sequence, TypeVar

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


class BatchedCalls:
    """Calls of `run(items) -> outputs` (one output per item, in order) made from several threads at
    once, merged into one call: dynamic batching, as model servers do it (Triton, Ray Serve's
    `@serve.batch`), without a timer. A caller that finds no call running runs its own at once; one
    that arrives while a call runs waits, and the next call takes every waiting caller's items. One
    caller at a time therefore pays nothing; eight concurrent float32 encodings share a call
    (MiniLM on one core: 9.2 ms for one caption, 4.7 ms each in a batch of eight; bench/serve.py).
    Search queries go through MiniLM's int8 copy one at a time instead: its dynamic quantisation
    scales activations per batch, so merging would make a query's vector depend on its neighbours.
    An exception in a merged call is raised in every caller whose items it held."""

    def __init__(self, run: Callable[[list], "Sequence"]):
        self._run = run
        self._lock = threading.Lock()
        self._waiting: list[_Pending] = []
        self._busy = False

    def __call__(self, items: list) -> list:
        mine = _Pending(list(items))
        with self._lock:
            self._waiting.append(mine)
            mine.leads = not self._busy
            self._busy = True
        if not mine.leads:
            mine.ready.wait()
        if not mine.done:  # this caller runs the next call, for everyone waiting
            self._run_waiting()
        if mine.error is not None:
            raise mine.error
        return mine.output

    def _run_waiting(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting, []
        try:
            outputs = list(self._run([item for pending in batch for item in pending.items]))
        except BaseException as exc:  # noqa: BLE001 - handed to each caller, raised there
            outputs, error = [], exc
        else:
            error = None
        start = 0
        for pending in batch:
            pending.output, pending.error = outputs[start:start + len(pending.items)], error
            start += len(pending.items)
            pending.done = True
            pending.ready.set()
        with self._lock:
            if self._waiting:  # the first who came meanwhile runs the next call
                self._waiting[0].ready.set()
            else:
                self._busy = False


class _Pending:
    def __init__(self, items: list):
        self.items = items
        self.output: list = []
        self.error: BaseException | None = None
        self.leads = False
        self.done = False
        self.ready = threading.Event()
