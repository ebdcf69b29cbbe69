"""Queries in other scripts into English search words, with the local LLM.

The offline text encoder (MiniLM) is English-only: "猫的照片" must become "cat" before it is
embedded. Used by the planner and by `Library.search` alike.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from photoseek.errors import PhotoseekError

if TYPE_CHECKING:
    from photoseek.llm.base import LLM

# Letters of scripts other than Latin: CJK, kana, Hangul, Cyrillic, Greek, Arabic, Hebrew, Thai, Devanagari.
NON_LATIN = re.compile(
    r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f"
    r"\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"
)
_SCHEMA = {"type": "object", "properties": {"english": {"type": "string"}}, "required": ["english"]}


def needs_translation(text: str) -> bool:
    return bool(text and NON_LATIN.search(text))


def to_english(llm: "LLM | None", text: str, system_prompt: str | None = None) -> str | None:
    """English search words for `text`, or None when there is no LLM or it gave no usable answer."""
    if llm is None or not needs_translation(text):
        return None
    from photoseek.llm.base import Message
    from photoseek.prompts import render

    try:
        reply = llm.chat(
            [Message("system", system_prompt or render("system")), Message("user", render("translate_user", text=text))],
            schema=_SCHEMA,
            max_tokens=40,
        )
        english = str(json.loads(reply).get("english", "")).strip()
    except (ValueError, PhotoseekError):
        return None
    return english if english and not NON_LATIN.search(english) else None
