"""Interfaces over one `Library` for people and programs: a local web app with an HTTP API
(`photoseek serve`, FastAPI + uvicorn) and an MCP server (`photoseek mcp`, the official SDK).

Both reach the library only through the same read-only tools as the CLI's agent (`photoseek.tools`),
plus the user's own tag confirmations in the web app. Nothing here loads a model at import time.
"""
