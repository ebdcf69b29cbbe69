"""The Ollama backend against a FAKE Ollama server.

Ollama itself cannot be installed here (no internet beyond package registries, and it needs model
downloads), so these tests run a small http.server on 127.0.0.1 (random port, in a thread) that speaks
the part of /api/chat photoseek uses: JSON or newline-delimited streaming replies, `format`, images,
and Ollama's 404 {"error": "model ... not found"} for unpulled models. It records each request so the
tests can check what the backend sent.
"""

from __future__ import annotations

import base64
import json
import socket

import pytest

from tests.agent_support import FakeOllamaHandler, serving

from photoseek.llm.base import Message, clear_llm_cache, get_llm
from photoseek.llm.ollama import OllamaLLM, caption_image, parse_host
from photoseek.errors import BackendConnectionError, ModelUnavailableError

PULLED = {"qwen2.5:1.5b", "llava:7b"}


class FakeOllama(FakeOllamaHandler):
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self._read_request()
        if self.path != "/api/chat":
            return self._json(404, {"error": "404 page not found"})
        if body["model"] not in PULLED:
            return self._json(404, {"error": f"model \"{body['model']}\" not found, try pulling it first"})
        last = body["messages"][-1]
        if last.get("images"):
            content = f"A photo of {len(base64.b64decode(last['images'][0]))} bytes."
        elif body.get("format"):
            content = json.dumps({"tool": "text_search", "query": "cat"})
        else:
            content = "Hello there, friend."
        if not body.get("stream", True):
            return self._json(200, {"model": body["model"], "message": {"role": "assistant", "content": content},
                                    "done": True, "prompt_eval_count": 12, "eval_count": 5})
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        words = content.split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            self.wfile.write((json.dumps({"message": {"role": "assistant", "content": piece}, "done": False}) + "\n").encode())
            self.wfile.flush()
        self.wfile.write((json.dumps({"message": {"role": "assistant", "content": ""}, "done": True}) + "\n").encode())


@pytest.fixture
def fake_ollama():
    with serving(FakeOllama) as url:
        yield url


def test_chat_sends_schema_keep_alive_and_options(fake_ollama):
    llm = OllamaLLM("qwen2.5:1.5b", host=fake_ollama, keep_alive="30m")
    schema = {"type": "object", "properties": {"tool": {"type": "string"}}}
    reply = llm.chat([Message("system", "plan"), Message("user", "cats")], schema=schema, max_tokens=50)
    assert json.loads(reply) == {"tool": "text_search", "query": "cat"}
    sent = FakeOllama.requests[-1]["body"]
    assert sent["format"] == schema and sent["stream"] is False and sent["keep_alive"] == "30m"
    assert sent["options"]["num_predict"] == 50 and sent["options"]["temperature"] == 0.0
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]


def test_stream_yields_pieces_in_order(fake_ollama):
    llm = OllamaLLM("qwen2.5:1.5b", host=fake_ollama)
    pieces = list(llm.stream_chat([Message("user", "hi")]))
    assert pieces == ["Hello ", "there, ", "friend."] and "".join(pieces) == "Hello there, friend."
    assert FakeOllama.requests[-1]["body"]["stream"] is True


def test_caption_image_sends_base64_image(fake_ollama):
    image = b"\xff\xd8\xff" + b"x" * 97
    text = caption_image(image, "Describe it.", model="llava:7b", host=fake_ollama)
    assert text == "A photo of 100 bytes."
    sent = FakeOllama.requests[-1]["body"]["messages"]
    assert sent[0]["role"] == "system" and "one factual English sentence" in sent[0]["content"]
    assert base64.b64decode(sent[-1]["images"][0]) == image


def test_model_not_pulled_says_how_to_pull(fake_ollama):
    llm = OllamaLLM("llama9:70b", host=fake_ollama)
    with pytest.raises(ModelUnavailableError) as info:
        llm.chat([Message("user", "hi")])
    message = str(info.value)
    assert f"Model llama9:70b is not available on the Ollama server at {fake_ollama}" in message
    assert "run `ollama pull llama9:70b`" in message


def test_server_not_running_says_how_to_start_it():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    llm = OllamaLLM("qwen2.5:1.5b", host=f"127.0.0.1:{port}")
    with pytest.raises(BackendConnectionError) as info:
        llm.chat([Message("user", "hi")])
    assert str(info.value).startswith(
        f"Could not reach Ollama at http://127.0.0.1:{port}. Start it with `ollama serve` (or set OLLAMA_HOST)")


def test_host_from_environment(monkeypatch, fake_ollama):
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.removeprefix("http://"))
    clear_llm_cache()
    try:
        llm = get_llm("ollama:qwen2.5:1.5b")
        assert llm.host == fake_ollama and llm.chat([Message("user", "hi")]) == "Hello there, friend."
    finally:
        clear_llm_cache()


@pytest.mark.parametrize("host, expected", [
    (None, "http://127.0.0.1:11434"), ("", "http://127.0.0.1:11434"), ("1.2.3.4", "http://1.2.3.4:11434"),
    (":56789", "http://127.0.0.1:56789"), ("1.2.3.4:56789", "http://1.2.3.4:56789"),
    ("http://1.2.3.4", "http://1.2.3.4:80"), ("https://example.com", "https://example.com:443"),
    ("example.com:56789/path/", "http://example.com:56789/path"),
    ("[0001:002:003:0004::1]:56789", "http://[0001:002:003:0004::1]:56789"),
])
def test_host_forms_match_ollama_python(host, expected):
    assert parse_host(host) == expected
