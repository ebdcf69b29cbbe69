"""The embedded model's saved system-prompt state (photoseek/llm/llamacpp.py): a fresh model (as in a
new `photoseek ask` process) loads it and evaluates only its own turn. Real default model."""

from __future__ import annotations

import json

import pytest

from photoseek.llm import llamacpp as backend
from photoseek.llm.base import ChatRequest, Message
from photoseek.prompts import render

SCHEMA = {"type": "object", "properties": {"english": {"type": "string"}}, "required": ["english"],
          "additionalProperties": False}


def request(text: str) -> ChatRequest:
    return ChatRequest([Message("system", render("system")), Message("user", render("translate_user", text=text))],
                       schema=SCHEMA, max_tokens=30)


def fresh(state_dir) -> backend.LlamaCppLLM:
    llm = backend.LlamaCppLLM()
    llm.state_dir = state_dir
    return llm


@pytest.mark.slow
def test_a_fresh_model_reuses_the_saved_system_prompt_state(tmp_path, model_cache):
    first = fresh(tmp_path)
    cold = first.complete(request("猫的照片"))
    assert cold.evaluated_prompt_tokens > 900 and not first.prefix_state_loaded
    assert len(list(tmp_path.glob("*.npz"))) == 1
    del first

    second = fresh(tmp_path)  # a new context, as in a new process
    warm = second.complete(request("红色的汽车"))
    assert second.prefix_state_loaded and warm.evaluated_prompt_tokens < 60 < warm.prompt_tokens
    assert "car" in json.loads(warm.content)["english"].lower()
    del second

    saved = next(tmp_path.glob("*.npz"))
    saved.write_bytes(b"damaged")
    third = fresh(tmp_path)
    again = third.complete(request("猫的照片"))  # a damaged file is ignored, then written again
    assert not third.prefix_state_loaded and "cat" in json.loads(again.content)["english"].lower()
    assert saved.stat().st_size > 1_000_000


def test_no_state_dir_saves_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("PHOTOSEEK_LLM_STATES", "")
    assert backend.LlamaCppLLM().state_dir is None
    monkeypatch.setenv("PHOTOSEEK_LLM_STATES", str(tmp_path))
    assert backend.LlamaCppLLM().state_dir == tmp_path
