"""photoseek's tools as LangChain tools, built from the same definitions (name, description, args model).

    from photoseek.tools.langchain_tools import as_langchain_tools
    tools = as_langchain_tools(library)
    model_with_tools = chat_model.bind_tools(tools)

Each tool returns (content, artifact): compact JSON for the model, and the ToolResult itself.

photoseek's own agent does not go through LangChain: langchain-community's ChatLlamaCpp cannot let the
model choose its tool (bind_tools(tool_choice="auto") raises, only a forced tool is supported), so
the agent calls llama-cpp-python directly with a JSON schema for the whole plan (agent/planner.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from photoseek.tools.base import TOOLS, Tool, ToolResult

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from photoseek.library import Library


def _make(tool: Tool, library: "Library") -> "BaseTool":
    from langchain_core.tools import StructuredTool

    def run(**kwargs: Any) -> tuple[str, ToolResult]:
        result = tool.run(library, kwargs)
        return result.to_llm_json(), result

    return StructuredTool.from_function(
        func=run,
        name=tool.name,
        description=tool.description,
        args_schema=tool.Args,
        response_format="content_and_artifact",
    )


def as_langchain_tools(library: "Library", names: list[str] | None = None) -> list["BaseTool"]:
    """LangChain StructuredTools over `library` (all read-only), optionally only those `names`."""
    return [_make(TOOLS[name], library) for name in (names or list(TOOLS))]
