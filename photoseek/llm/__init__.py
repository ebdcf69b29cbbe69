"""LLM backends by name (`llamacpp` embedded, `ollama` over HTTP), below everything that uses an LLM.

    get_llm("llamacpp")            # Qwen2.5-Coder-1.5B GGUF assembled from packaged chunks
    get_llm("ollama:qwen2.5vl")    # a model served by Ollama

Also the one LLM task shared by several layers: `translate.to_english` (query understanding).
Imports: core only (errors, prompts, inference).
"""

from photoseek.llm.base import LLM, ChatRequest, ChatResponse, Message, available_backends, get_llm, register_backend

__all__ = ["LLM", "ChatRequest", "ChatResponse", "Message", "available_backends", "get_llm", "register_backend"]
