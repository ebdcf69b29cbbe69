"""First call vs warm calls of the embedded LLM: the shared system prompt is computed once, then each
call evaluates only its own turn (llama.cpp's KV-cache prefix reuse).

    python bench/llm_prefix.py            # default model, PHOTOSEEK_THREADS threads
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from photoseek.llm.base import ChatRequest, Message, get_llm  # noqa: E402
from photoseek.agent.planner import STEP_SCHEMA, PlanContext, _describe_previous  # noqa: E402
from photoseek.prompts import render  # noqa: E402

REQUESTS = ["cat photos", "dogs on a beach", "red car", "photos from 2018", "猫的照片", "sunset over the sea"]


def main() -> int:
    llm = get_llm(sys.argv[1] if len(sys.argv) > 1 else "llamacpp")
    started = time.perf_counter()
    llm.warm_up()
    print(f"{llm.id}: load {time.perf_counter() - started:.2f}s")
    system = Message("system", render("system"))
    previous = _describe_previous(PlanContext())
    for i, text in enumerate(REQUESTS):
        user = Message("user", render("planner_user", today=date.today().isoformat(), previous=previous, request=text))
        reply = llm.complete(ChatRequest([system, user], schema=STEP_SCHEMA, max_tokens=160))
        print(f"{'first' if i == 0 else 'warm ':5} {reply.seconds:6.2f}s  prompt {reply.prompt_tokens} tokens, "
              f"evaluated {reply.evaluated_prompt_tokens}, generated {reply.completion_tokens}  {reply.content}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
