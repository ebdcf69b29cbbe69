"""Typed, read-only tools over a Library, shared by the agent, LangChain and the CLI."""

from photoseek.tools.base import SEARCH_TOOLS, TOOLS, Tool, ToolArgumentsError, ToolResult, get_tool, run_tool

__all__ = ["SEARCH_TOOLS", "TOOLS", "Tool", "ToolArgumentsError", "ToolResult", "get_tool", "run_tool"]
