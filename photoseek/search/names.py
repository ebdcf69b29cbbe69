"""People's names in a request: which of the library's names a text mentions ("photos of Anna and Ben
at the beach", "安娜在海边的照片", "Anna's birthday"), where, and what is left once they are taken out.

A name is found as a whole word, in any case ("anna" finds Anna), with a possessive ('s) allowed; a
name in a script without spaces (安娜) as it is written. A name that is also a common word ("Rose",
"Hope", "Bill", a tag such as "rose") is found only as written with its capital, so "rose garden" stays
a search for roses. A person named "Anna Smith" is also found as "Anna" when nobody else's name has
that word.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_POSSESSIVE = r"(?:['’]s)?"
# words that are names too often to be searched for by meaning when lower-case
_COMMON = set(
    """a an the of in on at to for from with without and or but not no only just me my our his her their we you
    he she it they them this that these those all some any photo photos picture pictures rose hope joy faith grace
    will bill may june april august art mark sky sunny dawn summer autumn winter spring ruby amber pearl jade
    holly ivy daisy lily violet iris heather crystal star angel rock stone bay brook river forest glen dale
    wood page chase hunter""".split()
)


@dataclass(frozen=True)
class Mention:
    name: str  # the library's spelling
    start: int
    end: int
    said: str  # as written in the text


def _is_common_word(word: str) -> bool:
    word = word.casefold()
    if word in _COMMON:
        return True
    from photoseek.search.match import tagger_knows

    return tagger_knows([word])


@functools.lru_cache(maxsize=64)
def _patterns(names: tuple[str, ...]) -> tuple[tuple[str, "re.Pattern[str]"], ...]:
    """(library name, pattern) pairs, longest name first; first-word aliases of several-word names
    last, where the word is nobody else's."""
    out = []
    for name in sorted(names, key=lambda n: (-len(n), n.casefold())):
        out.append((name, _pattern(name)))
    first_words: dict[str, list[str]] = {}
    for name in names:
        words = name.split()
        if len(words) > 1 and not _CJK.search(name):
            first_words.setdefault(words[0].casefold(), []).append(name)
    taken = {n.casefold() for n in names}
    for word, owners in sorted(first_words.items()):
        if len(owners) == 1 and word not in taken and len(word) > 1:
            out.append((owners[0], _pattern(owners[0].split()[0])))
    return tuple(out)


def _pattern(written: str) -> "re.Pattern[str]":
    if _CJK.search(written):
        return re.compile(re.escape(written))
    body = r"\s+".join(re.escape(w) for w in written.split())
    if all(_is_common_word(w) for w in written.split()):  # "Rose": only with its capital
        first = written[0]
        body = f"(?-i:{re.escape(first)})" + body[len(re.escape(first)):] if first.isalpha() else body
    return re.compile(rf"(?<![^\W_]){body}{_POSSESSIVE}(?![^\W_])", re.IGNORECASE)


def find_names(text: str, names: Iterable[str]) -> list[Mention]:
    """The library's `names` mentioned in `text`, in order of appearance, not overlapping."""
    if not text:
        return []
    found: list[Mention] = []
    for name, pattern in _patterns(tuple(sorted(set(names)))):
        for match in pattern.finditer(text):
            if any(match.start() < m.end and m.start < match.end() for m in found):
                continue
            if any(m.name == name for m in found):
                continue  # said twice: once is enough
            found.append(Mention(name, match.start(), match.end(), match.group(0)))
    return sorted(found, key=lambda m: m.start)


def without_names(text: str, mentions: Sequence[Mention]) -> str:
    """The text with the mentions taken out (and the "and"/"with" that joined them)."""
    for mention in sorted(mentions, key=lambda m: -m.start):
        text = text[:mention.start] + " " + text[mention.end:]
    text = re.sub(r"\b(?:and|&|with|of|和|与|跟)\s+(?=(?:and|&|with|,|$))", " ", " ".join(text.split()), flags=re.IGNORECASE)
    text = re.sub(r"^\s*(?:and|&|,)\s+|\s+(?:and|&|,)\s*$", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())
