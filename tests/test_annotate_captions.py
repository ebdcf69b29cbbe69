"""Captions: template, LLM from evidence (grounding post-check), Ollama, and their fallbacks.

ScriptedLLM stands in for an LLM only where a test needs the LLM to misbehave on purpose (name an
absent object, return garbage, hang); the real local LLM is exercised in the slow test at the end.
No Ollama server can run here: the Ollama test points at a port where nothing listens, which is
exactly the "Ollama not running" case.
"""

from __future__ import annotations

import socket
import time

import pytest
from PIL import Image

from photoseek.llm.base import LLM, ChatRequest, ChatResponse
from photoseek.vision.captions import (
    TEMPLATE_CAPTIONER_ID,
    CaptionEvidence,
    CaptionService,
    clean_caption,
    template_caption,
    unsupported_objects,
)

CAT_AT_NIGHT = CaptionEvidence(
    subjects=["tabby cat"], broader=["cat", "pet", "mammal", "animal"], ocr_text="EXIT",
    time_of_day="night", taken_at="2019-06-21T23:10:00",
)  # fmt: skip


class ScriptedLLM(LLM):
    """Answers with the scripted replies in turn (optionally slowly)."""

    def __init__(self, *replies: str, delay_s: float = 0.0):
        self.replies = list(replies)
        self.delay_s = delay_s
        self.calls = 0

    @property
    def id(self) -> str:
        return "scripted:test"

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.calls += 1
        time.sleep(self.delay_s)
        reply = self.replies[min(self.calls - 1, len(self.replies) - 1)]
        return ChatResponse(content=reply, model=self.id)

    def stream(self, request):
        yield self.complete(request).content


def test_template_sentence_from_evidence():
    assert template_caption(CAT_AT_NIGHT) == "A photo of a tabby cat, taken at night in 2019, with the text 'EXIT'."
    people = CaptionEvidence(people=2, subjects=["bicycle"], time_of_day="day")
    assert template_caption(people) == "A photo of two people and a bicycle, taken during the day."
    assert template_caption(CaptionEvidence()) == "A photo."
    assert unsupported_objects(template_caption(CAT_AT_NIGHT), CAT_AT_NIGHT) == []


def test_llm_naming_an_absent_object_falls_back_to_the_template():
    llm = ScriptedLLM('{"caption": "A dog sleeping next to a tabby cat at night."}')
    result = CaptionService("local", llm=llm).caption(CAT_AT_NIGHT)
    assert llm.calls == 1
    assert result.caption == template_caption(CAT_AT_NIGHT)
    assert "dog" not in result.caption.lower()
    assert result.captioner_id == TEMPLATE_CAPTIONER_ID
    assert "dog" in result.note
    # deterministic output: done for this captioner, not retried on every run
    assert result.done_id == "evidence-llm:scripted:test"


def test_grounded_llm_sentence_is_kept():
    llm = ScriptedLLM('{"caption": "A tabby cat near an EXIT sign at night in 2019."}')
    result = CaptionService("local", llm=llm).caption(CAT_AT_NIGHT)
    assert result.caption == "A tabby cat near an EXIT sign at night in 2019."
    assert result.captioner_id == "evidence-llm:scripted:test"
    assert result.note is None


@pytest.mark.parametrize("reply", ["", "   ", '{"caption": ""}', "{{{{", "cat cat cat cat cat cat", "ok",
                                   "Based on the evidence and tags, a cat."])
def test_empty_or_garbled_output_falls_back(reply):
    result = CaptionService("local", llm=ScriptedLLM(reply)).caption(CAT_AT_NIGHT)
    assert result.captioner_id == TEMPLATE_CAPTIONER_ID


def test_clean_caption_keeps_one_sentence():
    assert clean_caption('"a tabby cat at night. Second sentence."') == "A tabby cat at night."
    assert clean_caption("Caption: A tabby cat") == "A tabby cat."


def test_timeouts_fall_back_then_give_up_on_the_llm():
    llm = ScriptedLLM('{"caption": "A tabby cat at night."}', delay_s=0.5)
    service = CaptionService("local", llm=llm, local_timeout_s=0.1)
    for _ in range(3):
        result = service.caption(CAT_AT_NIGHT)
        assert result.captioner_id == TEMPLATE_CAPTIONER_ID
        assert result.done_id == TEMPLATE_CAPTIONER_ID  # not done for the LLM: retried next run
    assert any("timed out" in m for m in service.messages)
    calls = llm.calls
    service.caption(CAT_AT_NIGHT)
    assert llm.calls == calls  # given up for the rest of the run


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ollama_not_running_says_so_and_falls_back(caplog):
    port = _closed_port()
    llm = ScriptedLLM('{"caption": "A tabby cat at night."}')
    service = CaptionService("ollama:llava", llm=llm, ollama_host=f"127.0.0.1:{port}", ollama_timeout_s=5)
    image = Image.new("RGB", (64, 48), (10, 10, 10))
    with caplog.at_level("WARNING"):
        first = service.caption(CAT_AT_NIGHT, lambda: image)
        second = service.caption(CAT_AT_NIGHT, lambda: image)
    assert first.caption == "A tabby cat at night." and first.captioner_id == "evidence-llm:scripted:test"
    assert second.captioner_id == first.captioner_id
    # the local LLM stood in: the photo is not done for Ollama, a later run with the server retries
    assert first.done_id == "evidence-llm:scripted:test" != service.requested_id == "ollama:llava"
    assert len(service.messages) == 1  # said once, not once per photo
    message = service.messages[0]
    assert f"127.0.0.1:{port}" in message and "ollama serve" in message
    assert message in caplog.text


def test_ollama_not_running_without_llm_uses_template():
    service = CaptionService("ollama:llava", llm=None, ollama_host=f"127.0.0.1:{_closed_port()}")
    result = service.caption(CAT_AT_NIGHT, lambda: Image.new("RGB", (8, 8)))
    assert result.caption == template_caption(CAT_AT_NIGHT)


def test_unknown_captioner_is_an_error():
    from photoseek.errors import PhotoseekError

    with pytest.raises(PhotoseekError, match="captioner"):
        CaptionService("gpt-9")


@pytest.mark.slow
def test_real_local_llm_caption_is_grounded():
    pytest.importorskip("llama_cpp")
    from photoseek.llm.base import get_llm
    from photoseek.errors import ModelUnavailableError

    try:
        llm = get_llm("llamacpp")
        llm.warm_up()
    except ModelUnavailableError as error:
        pytest.skip(f"default LLM not installed: {error}")
    evidence = CaptionEvidence(subjects=["golden retriever", "frisbee"], broader=["dog", "pet", "animal"],
                               people=1, time_of_day="day", taken_at="2016-05-02T10:00:00")
    result = CaptionService("local", llm=llm).caption(evidence)
    assert result.caption and unsupported_objects(result.caption, evidence) == []


def test_kinds_of_one_thing_are_one_thing_in_captions(tmp_path):
    # the classifier's "egyptian mau" and "tiger cat" are two guesses at one cat: a caption that
    # listed both said "two cats" (the demo's chelsea.png); a user's own tag is a fact and stays
    from photoseek.store.annotations import caption_evidence, replace_tags
    from photoseek.store.catalog import Catalog
    from photoseek.vision.tagging import Tag, alternatives_dropped

    assert alternatives_dropped(["egyptian mau", "tiger cat", "laptop computer", "desktop computer", "espresso"]) == [
        "egyptian mau", "laptop computer", "espresso"]
    catalog = Catalog(tmp_path / "lib")
    with catalog.transaction() as conn:
        conn.execute("INSERT INTO photos(id, path, display_path, size, mtime_ns, content_hash, indexed_at) "
                     "VALUES (1, ?, '/p/cat.jpg', 1, 1, 'h1', '2020-01-01T00:00:00')", (b"/p/cat.jpg",))
        replace_tags(conn, 1, "classifier", [Tag("egyptian mau", 0.6), Tag("tiger cat", 0.3), Tag("cat", 0.9, True)])
        replace_tags(conn, 1, "user", [Tag("tabby cat", 1.0)])
        evidence = caption_evidence(conn, 1)
    catalog.close()
    assert sorted(evidence.subjects) == ["egyptian mau", "tabby cat"] and "cat" in evidence.broader
