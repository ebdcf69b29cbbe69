"""BatchedCalls: concurrent calls merged into one (dynamic batching for the server's query encoder)."""

from __future__ import annotations

import threading
import time

import pytest

from photoseek.inference import BatchedCalls


class SlowDouble:
    """Doubles numbers; the first call waits until released, so others can queue behind it."""

    def __init__(self):
        self.calls: list[list[int]] = []
        self.release = threading.Event()
        self.fail_on: int | None = None

    def __call__(self, items: list[int]) -> list[int]:
        self.calls.append(list(items))
        if len(self.calls) == 1:
            assert self.release.wait(10)
        if self.fail_on in items:
            raise ValueError(f"cannot double {self.fail_on}")
        return [2 * i for i in items]


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def run_concurrently(batched, inputs):
    out, errors = {}, {}

    def call(key, items):
        try:
            out[key] = batched(items)
        except Exception as exc:  # noqa: BLE001 - recorded for the test
            errors[key] = exc

    threads = [threading.Thread(target=call, args=(k, v)) for k, v in inputs.items()]
    return threads, out, errors


def test_one_caller_is_a_plain_call():
    run = SlowDouble()
    run.release.set()
    batched = BatchedCalls(run)
    assert batched([1, 2]) == [2, 4] and batched([3]) == [6]
    assert run.calls == [[1, 2], [3]]


def test_callers_that_arrive_during_a_call_share_the_next_one():
    run = SlowDouble()
    batched = BatchedCalls(run)
    inputs = {"first": [1], **{f"q{i}": [10 + i, 20 + i] for i in range(5)}}
    threads, out, errors = run_concurrently(batched, inputs)
    threads[0].start()
    wait_until(lambda: len(run.calls) == 1)  # the first call runs (and blocks)
    for t in threads[1:]:
        t.start()
    wait_until(lambda: len(batched._waiting) == 5)
    run.release.set()
    for t in threads:
        t.join(10)
    assert not errors
    assert out == {k: [2 * i for i in v] for k, v in inputs.items()}  # each caller gets its own outputs
    assert len(run.calls) == 2 and sorted(run.calls[1]) == sorted(i for k, v in inputs.items() if k != "first" for i in v)


def test_an_error_reaches_every_caller_of_the_merged_call_and_the_next_calls_work():
    run = SlowDouble()
    run.fail_on = 13
    batched = BatchedCalls(run)
    threads, out, errors = run_concurrently(batched, {"first": [1], "bad": [13], "good": [4]})
    threads[0].start()
    wait_until(lambda: len(run.calls) == 1)
    threads[1].start()
    threads[2].start()
    wait_until(lambda: len(batched._waiting) == 2)
    run.release.set()
    for t in threads:
        t.join(10)
    assert out == {"first": [2]}
    assert set(errors) == {"bad", "good"} and all(isinstance(e, ValueError) for e in errors.values())
    assert batched([5]) == [10]  # not left busy


def test_the_text_encoder_gives_the_same_vectors_merged_or_alone():
    np = pytest.importorskip("numpy")
    from photoseek.vision.text_encoder import MiniLMTextEncoder

    encoder = MiniLMTextEncoder()
    texts = [f"a photo of {n} dogs on a beach" for n in range(12)]
    alone = encoder.embed(texts)  # more than SHARED_CALL_TEXTS: one direct call
    out = {}
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, encoder.embed([texts[i]]))) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    merged = np.concatenate([out[i] for i in range(12)])
    assert np.abs(merged - alone).max() < 1e-5
