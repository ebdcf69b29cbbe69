"""`photoseek mcp` driven by the official SDK's own client over stdio (a real subprocess), on the
shared agent library: the read-only tools with their schemas, results with explanations and
thumbnails as image content, errors as tool errors, and nothing written."""

from __future__ import annotations

import base64
import json
import os
import sys

import anyio
import pytest

from photoseek.tools.base import TOOLS
from photoseek.web.mcp_server import MCP_TOOLS
from tests.agent_support import catalog_fingerprint, photos_of
from tests.conftest import REPO_ROOT


def server_parameters(library_dir):
    from mcp import StdioServerParameters

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return StdioServerParameters(command=sys.executable, args=["-m", "photoseek", "--library", str(library_dir),
                                                                "--llm", "none", "mcp"], env=env)


def call(library_dir, steps):
    """Run `steps(client)` (an async function) against a fresh stdio server; returns what it returns."""
    from mcp import Client

    async def main():
        async with Client(server_parameters(library_dir), read_timeout_seconds=120) as client:
            return await steps(client)

    return anyio.run(main)


def test_tools_listed_with_their_schemas_and_read_only(agent_library_dir):
    async def steps(client):
        return (await client.list_tools()).tools

    tools = call(agent_library_dir, steps)
    assert [t.name for t in tools] == list(MCP_TOOLS)
    for tool in tools:
        assert tool.input_schema == TOOLS[tool.name].parameters()
        assert tool.annotations.read_only_hint is True and tool.annotations.destructive_hint is False
    assert not {"feedback", "tag", "index", "delete"} & {t.name for t in tools}


def test_searches_carry_explanations_and_thumbnails(agent_library, agent_library_dir):
    before = catalog_fingerprint(agent_library)
    cats = photos_of(agent_library, "cat")

    async def steps(client):
        text = await client.call_tool("text_search", {"query": "a cat", "k": 4})
        like = await client.call_tool("similar_to_photo", {"photo": min(cats), "k": 3})
        composed = await client.call_tool("composed_search", {"photo": min(cats), "but": "at night", "k": 3})
        words = await client.call_tool("text_in_photo", {"text": "DELETE", "k": 2})
        filtered = await client.call_tool("filter_photos", {"date_from": "2019", "date_to": "2019"})
        show = await client.call_tool("show_photo", {"photo": min(cats)})
        caption = await client.call_tool("caption_photo", {"photo": min(cats)})
        bad = await client.call_tool("text_search", {"query": "", "k": 1000})
        missing = await client.call_tool("show_photo", {"photo": 99999})
        unknown = await client.call_tool("delete_photos", {"photo": 1})
        return text, like, composed, words, filtered, show, caption, bad, missing, unknown

    text, like, composed, words, filtered, show, caption, bad, missing, unknown = call(agent_library_dir, steps)
    payload = json.loads(text.content[0].text)
    assert payload == text.structured_content and payload["tool"] == "text_search"
    assert len(payload["results"]) == 4 and payload["results"][0]["id"] in cats
    assert all(r["explanation"] and "evidence" in r and "score" in r for r in payload["results"])
    images = [c for c in text.content if c.type == "image"]
    assert len(images) == 4 and all(base64.b64decode(i.data)[:2] == b"\xff\xd8" and i.mime_type == "image/jpeg" for i in images)
    labels = [c.text for c in text.content[1:] if c.type == "text"]
    assert labels[0].startswith(f"#1 photo {payload['results'][0]['id']}: ")
    for result in (like, composed, words, filtered):
        assert not result.is_error and result.structured_content["results"]
    assert words.structured_content["results"][0]["id"] in photos_of(agent_library, "notice")
    assert {r["id"] for r in filtered.structured_content["results"]} <= cats
    assert show.structured_content["photo"]["id"] == min(cats) and not [c for c in show.content if c.type == "image"]
    assert caption.structured_content["text"]
    assert bad.is_error and "Bad arguments for text_search" in bad.content[0].text
    assert missing.is_error and "No photo" in missing.content[0].text
    assert unknown.is_error and "No tool named 'delete_photos'" in unknown.content[0].text
    assert catalog_fingerprint(agent_library) == before


def test_streamable_http_transport(agent_library):
    """`photoseek mcp --http`: the same server over streamable HTTP (the SDK's client by URL)."""
    from mcp import Client

    from photoseek.web.mcp_server import build_server
    from tests.web_support import serving

    app = build_server(agent_library).streamable_http_app(host="127.0.0.1")

    async def main(url):
        async with Client(url + "/mcp") as client:
            names = [t.name for t in (await client.list_tools()).tools]
            found = await client.call_tool("text_search", {"query": "a cat", "k": 2})
            return names, found

    with serving(app) as url:
        names, found = anyio.run(main, url)
    assert names == list(MCP_TOOLS)
    assert not found.is_error and found.structured_content["results"][0]["id"] in photos_of(agent_library, "cat")
    assert [c.type for c in found.content].count("image") == 2
