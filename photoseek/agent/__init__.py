"""The agent: LLM backends, planner, explanations, multi-turn sessions, the chat REPL."""
