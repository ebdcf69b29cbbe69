"""The agent, above the `Library` façade and the tools: planner (request → tool call, JSON-schema
constrained), explanations grounded in each result's evidence, multi-turn sessions, the chat REPL.
LLM backends themselves live below, in `photoseek.llm`.
"""
