"""Teaching a word in a conversation: read by rules from what the user typed, never by the model.

The planner may run only read-only tools, so that text read in a photo (a sign, a caption, a file
name) can never change the library. Teaching is a write, so a turn that teaches is recognised here,
in code, from the user's own message, before any planning:

    "#3 is a giraffe"  ·  "3 is a giraffe too"  ·  "#2 and #5 are my bike"  ·  "#4 is not a giraffe"
    "this one is a giraffe too"  ·  "this is our cabin"   (the photo the user last looked at: /show N,
                                                           a shown photo, or the only result)

and the session gives the word to those photos (or refuses it for them) with `Library.teach`, then
says what it did, where the word stands and how to undo it. Anything else goes to the planner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBERS = r"#?\d{1,3}(?:\s*(?:,|and|&)\s*#?\d{1,3})*"
_THIS = r"this(?:\s+(?:one|photo|picture|pic|image))?|that\s+one"
_TEACHING = re.compile(
    rf"^\s*(?:(?:photo|picture|number|result)s?\s+)?(?P<refs>{_NUMBERS}|{_THIS})\s+"
    r"(?:(?P<neg>isn't|aren't|is\s+not|are\s+not)|is|are|'s|shows?)\s+"
    r"(?:(?:a|an|the|some)\s+)?(?P<word>[^?!.#]+?)"
    r"(?:\s*,?\s*(?:too|also|as\s+well|again))?\s*[.!]*\s*$",
    re.IGNORECASE,
)
# What "#2 is the best" or "this is wrong" says: a judgement of the result, not a word for the photo.
_NOT_WORDS = {
    "wrong", "right", "good", "bad", "better", "best", "worse", "worst", "nice", "great", "fine", "ok", "okay",
    "correct", "incorrect", "perfect", "it", "one", "that", "this", "them", "what i want", "what i meant",
    "what i wanted", "not it", "closer", "close", "similar", "different", "same", "wanted", "relevant",
    "irrelevant", "cool", "lovely", "beautiful", "awesome", "terrible", "blurry", "mine",
}
# "#3 is at night", "this is from 2019", "#2 is like #4": a description or a refinement, not a name
_NOT_FIRST = {"not", "no", "at", "in", "on", "from", "with", "without", "like", "taken", "more", "less", "too",
              "very", "so", "also", "only", "just", "by", "near", "during", "before", "after"}
MAX_WORDS = 4  # a taught word is a name, not a sentence


@dataclass(frozen=True)
class Teaching:
    """A teaching turn as read: `word` for the photos numbered `numbers` (as the last answer showed
    them, 1-based) or the photo in focus (`this`); `rejected`: the user says they do not show it."""

    word: str
    numbers: tuple[int, ...] = ()
    this: bool = False
    rejected: bool = False


def read_teaching(message: str) -> Teaching | None:
    """The teaching `message` asks for, or None when it is something else (a search, a question)."""
    if "?" in message or "\n" in message.strip():
        return None
    match = _TEACHING.match(message)
    if match is None:
        return None
    word = " ".join(match.group("word").split()).strip(" ,;:\"'“”").lower()
    if (not word or word in _NOT_WORDS or len(word.split()) > MAX_WORDS or word.split()[0] in _NOT_FIRST
            or any(c.isdigit() for c in word)):
        return None
    refs = match.group("refs")
    numbers = tuple(dict.fromkeys(int(n) for n in re.findall(r"\d+", refs)))
    this = not numbers
    if len(numbers) > 1 and match.group("word") and word.endswith("s") and not word.endswith("ss"):
        from photoseek.vision.taxonomy import singular

        word = " ".join(word.split()[:-1] + [singular(word.split()[-1])])  # "#2 and #5 are giraffes"
    return Teaching(word, numbers, this, bool(match.group("neg")))
