"""photoseek's tools through LangChain's machinery: a chat model with the tools bound emits a tool
call, and LangChain runs the tool on a real agent_library.

The chat model is LangChain's own GenericFakeChatModel (it replays the AIMessage we give it): what is
tested is the tool side (schemas LangChain derives from our definitions, argument validation, the
ToolMessage it builds), not a model's choice."""

from __future__ import annotations

import json

import pytest

from photoseek.tools import TOOLS, ToolResult
from photoseek.tools.langchain_tools import as_langchain_tools

langchain_core = pytest.importorskip("langchain_core")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage  # noqa: E402
from langchain_core.utils.function_calling import convert_to_openai_tool  # noqa: E402


class ToolCallingFake(GenericFakeChatModel):
    """GenericFakeChatModel plus bind_tools (as real chat models have), recording what was bound."""

    bound: list = []

    def bind_tools(self, tools, **kwargs):
        self.bound = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=self.bound, **kwargs)


def test_langchain_tools_mirror_the_definitions(agent_library):
    tools = as_langchain_tools(agent_library)
    assert [t.name for t in tools] == list(TOOLS)
    for tool in tools:
        openai = convert_to_openai_tool(tool)["function"]
        assert openai["description"] == TOOLS[tool.name].description
        assert set(openai["parameters"]["properties"]) == set(TOOLS[tool.name].parameters()["properties"])


def test_a_tool_call_runs_through_langchain(agent_library):
    tools = {t.name: t for t in as_langchain_tools(agent_library)}
    call = {"name": "text_search", "args": {"query": "cat", "k": 3}, "id": "call_1", "type": "tool_call"}
    model = ToolCallingFake(messages=iter([AIMessage(content="", tool_calls=[call])]))
    bound = model.bind_tools(list(tools.values()))
    assert [t["function"]["name"] for t in model.bound] == list(TOOLS)

    reply = bound.invoke([HumanMessage("show me cats")])
    assert reply.tool_calls and reply.tool_calls[0]["name"] == "text_search"
    message = tools[reply.tool_calls[0]["name"]].invoke(reply.tool_calls[0])
    assert isinstance(message, ToolMessage) and message.tool_call_id == "call_1"
    content = json.loads(message.content)
    assert 1 <= len(content["results"]) <= 3
    assert isinstance(message.artifact, ToolResult) and message.artifact.results[0].id == content["results"][0]["id"]


def test_langchain_validates_arguments_with_our_schema(agent_library):
    tool = as_langchain_tools(agent_library, ["text_search"])[0]
    with pytest.raises(Exception, match="query"):
        tool.invoke({"k": 3})


def test_chat_llama_cpp_cannot_let_the_model_choose():
    """Why the agent calls llama-cpp-python directly: ChatLlamaCpp refuses tool_choice='auto'."""
    community = pytest.importorskip("langchain_community.chat_models.llamacpp")
    chat = community.ChatLlamaCpp.model_construct()  # no model is loaded to bind tools
    with pytest.raises(ValueError, match="Tool choice"):
        chat.bind_tools([convert_to_openai_tool(t) for t in as_langchain_tools(None)], tool_choice="auto")
