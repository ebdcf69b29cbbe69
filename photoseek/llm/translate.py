"""Queries in other languages into English search words, with the local LLM.

The offline text encoder (MiniLM) is English-only: "猫的照片" must become "cat" and "Hund am Strand"
"dog on the beach" before they are embedded. `detect_language` tells which queries need it (any
non-Latin script; Latin-script languages by their function words). Used by the planner and by
`Library.search` alike.
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

# Latin-script languages told apart from English by their function words: words that are frequent in
# that language's photo requests ("Hund am Strand", "chien sur la plage") and are not English words
# people type into a photo search. Lexicon-based because queries are a few words long: n-gram
# identifiers (langid, langdetect) call "sunset" German and "cat" Italian. One such word, or a letter
# English does not use (ä, ß, ñ, ç...), marks a query as not English.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "German": frozenset("der die das dem den des ein eine einem einen einer im am zum zur vom beim mit und "
                        "oder ohne nicht kein keine auf unter über bei nach von vor hinter neben zwischen ist "
                        "sind mein meine meinem unser unsere bilder bild fotos nachts abends".split()),
    "French": frozenset("le la les des du au aux avec sans et une sur dans chez pas mon ma mes nos sous "
                        "entre près la nuit est sont photos".split()) - {"photos"},
    "Spanish": frozenset("el los las en con sin del una por para al sobre entre mis nuestro nuestra fotos noche "
                         "playa perro gato".split()),
    "Italian": frozenset("il lo gli della delle dello degli con senza sul sulla sui nel nella nei al alla "
                         "di una foto notte spiaggia cane gatto".split()) - {"foto"},
    "Portuguese": frozenset("os com sem na no em da do das dos uma um à ao fotos noite praia cão gato".split()),
    "Dutch": frozenset("het een met zonder op bij van en niet geen onder naast mijn foto's nacht strand hond "
                       "kat".split()) - {"strand"},
}
# words of several of those languages that English also uses in photo requests: never evidence
_ENGLISH = frozenset("a an the in on at to of and or with without no not by for from my our photo photos "
                     "picture pictures image images foto de la strand".split())
_NON_ENGLISH_LETTERS = re.compile(r"[äöüßàâæçèéêëîïôœùûÿñáíóúãõåøìò]", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def detect_language(text: str) -> str | None:
    """The language of a query when it is evidently not English, else None (English, or too little
    to tell). Non-Latin scripts give "non-Latin script"; Latin-script languages are named from their
    function words and letters (see FUNCTION_WORDS). Pure Python, no model: runs on every search."""
    if not text:
        return None
    if NON_LATIN.search(text):
        return "non-Latin script"
    words = [w.lower() for w in _WORD.findall(text)]
    scores = {
        language: sum(w in vocabulary and w not in _ENGLISH for w in words)
        for language, vocabulary in FUNCTION_WORDS.items()
    }
    language, score = max(scores.items(), key=lambda item: item[1])
    if score > 0:
        return language
    if _NON_ENGLISH_LETTERS.search(text):
        return "a language other than English"
    return None


def needs_translation(text: str) -> bool:
    """Whether the English-only text encoder needs `text` in English first (see detect_language)."""
    return detect_language(text) is not None


def to_english(llm: "LLM | None", text: str, system_prompt: str | None = None, *, force: bool = False
               ) -> str | None:
    """English search words for `text`, or None when there is no LLM or it gave no usable answer.
    Text that reads as English is left alone unless `force` (a caller that knows better)."""
    if llm is None or not (force or needs_translation(text)):
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
