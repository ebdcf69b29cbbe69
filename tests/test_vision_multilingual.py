"""Multilingual CLIP-family embedders are recognised, and their queries skip the LLM translation."""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from photoseek import Library
from photoseek.llm.base import LLM, ChatRequest, ChatResponse
from photoseek.vision.clip import HFClipBackend, is_multilingual_text


@pytest.mark.parametrize("vocab_size, tower, expected", [
    (49408, None, False),  # OpenAI/open_clip CLIP BPE
    (32000, None, False),  # SigLIP (English)
    (250000, None, True),  # SigLIP i18n / mT5
    (256000, None, True),  # SigLIP 2 (Gemma tokenizer)
    (None, "xlm-roberta-base", True),  # open_clip's xlm-roberta-base-ViT-B-32
    (None, "roberta-base", False),  # open_clip's roberta-ViT-B-32 is English
])
def test_multilingual_rule(vocab_size, tower, expected):
    assert is_multilingual_text(vocab_size, tower) is expected


@pytest.mark.parametrize("vocab_size, expected", [(49408, False), (250002, True)])
def test_hf_backend_reads_it_from_the_config(tmp_path, vocab_size, expected):
    # only config.json is read at construction: no weights are needed to know it
    (tmp_path / "config.json").write_text(json.dumps(
        {"model_type": "clip", "projection_dim": 16, "text_config": {"vocab_size": vocab_size}}))
    assert HFClipBackend(str(tmp_path)).multilingual is expected


class RecordingLLM(LLM):
    """Answers every translation request with "cat" and counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    @property
    def id(self) -> str:
        return "recording"

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.calls += 1
        return ChatResponse(content=json.dumps({"english": "cat"}), model=self.id)

    def stream(self, request: ChatRequest) -> Iterator[str]:
        yield self.complete(request).content


class StubEmbedder:
    """Only what Library.to_english looks at; nothing here embeds."""

    def __init__(self, multilingual: bool) -> None:
        self.multilingual = multilingual
        self.id = "stub"


@pytest.mark.parametrize("multilingual, expected, calls", [(False, "cat", 1), (True, None, 0)])
def test_translation_is_skipped_for_a_multilingual_embedder(tmp_path, multilingual, expected, calls):
    llm = RecordingLLM()
    library = Library(tmp_path / "lib", embedder=StubEmbedder(multilingual), llm=llm)
    assert library.to_english("猫的照片") == expected
    assert llm.calls == calls
    assert library.to_english("a photo of a cat") is None  # English never goes to the LLM
