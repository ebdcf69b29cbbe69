"""Would photoseek have named this word wherever a photo shows it? The question a match level asks first.

A photo is a strong match when its evidence names what was asked. When a source of evidence looked
at every photo and names the word wherever it is shown ("cat": the tagger looked for cats in every
photo; a taught word: its model went over every photo; a place: every photo with a position was
placed), a photo it did not name does not show the word as far as the library knows, and similarity
alone never makes it a match. Only for a word no such source covers ("giraffe", "kitchen",
"fireworks" with the ImageNet tagger) may the best photos for the query that look alike count as
matches (`photoseek.search.match.similarity_leaders`), and the answer says it went by resemblance.

What some photos happen to carry says nothing about the others, so it makes no word nameable here:
text read in *some* photo ("street" on a sign: a street scene is a street whether or not a sign says
so), a caption, your own tag on a few photos ("giraffe" on three: the fourth giraffe is still a
giraffe), or a tag name a word is only part of ("sign" in "street sign": the tagger names one kind of
sign, not every sign). Those still meet the word in the photos that carry them (`match.words_met`).

Each source answers one word for one catalog (`NamingSource`); `naming_sources` asks them in order
and says which one would name each word of a request (None: none would):

  tagger  a term of the tag vocabulary (ImageNet class names and their broader WordNet terms, plural
          or singular)
  tag     a tag that a model gave some photo of this library (the classifier's, zero-shot tags,
          taught words: tags with source "learned"), never only your own; and a word you taught
          (photoseek.learn), whether or not its model tagged any photo
  text    words asked as text in the photo (`text_in_photo`): OCR read every photo

Places and people (filters and met evidence of their own) add a source with `register`, e.g.
`register(NamingSource("place", lambda catalog, word: ...))`; what a registered source names is never
met by resemblance alone. A source must answer for every photo: one that only some photos carry
belongs in `match.words_met`, not here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from photoseek.store.catalog import Catalog


@dataclass(frozen=True)
class NamingSource:
    """One kind of evidence that answers for every photo: `name` as a reason lists it ("tag",
    "place"), and whether it would name a (lower-case) word wherever a photo of the catalog shows
    it. `catalog` is None where no library is at hand (then only sources that need none answer: the
    tagger's vocabulary)."""

    name: str
    could_name: Callable[["Catalog | None", str], bool]
    needs_catalog: bool = True


def tagger_knows(words: Iterable[str]) -> bool:
    """Whether the tagger looks for these words in every photo: the phrase ("traffic light") or each
    word is a term of the tag vocabulary, singular or plural ("skis": "ski"). A word a term only ends
    with ("sign": "street sign") is not: the tagger names one kind of sign, not every sign."""
    return _tagger_knows(tuple(words))


@functools.lru_cache(maxsize=4096)
def _tagger_knows(words: tuple[str, ...]) -> bool:
    if not words:
        return False
    return _known_term(" ".join(words)) or all(_known_term(w) for w in words)


def _known_term(term: str) -> bool:
    from photoseek.vision.taxonomy import singular_candidates

    known = _vocabulary()
    # "skis": singular_candidates keeps words ending in "is" whole ("tennis", "axis")
    plain = [term[:-1]] if term.endswith("s") and " " not in term else []
    return any(t in known for t in (term, *singular_candidates(term), *plain))


@functools.lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    from photoseek.vision.taxonomy import vocabulary

    return frozenset(vocabulary())


def _tagger(catalog: "Catalog | None", word: str) -> bool:
    return tagger_knows([word])


def _model_tags(catalog: "Catalog | None", word: str) -> bool:
    """A model gave the word (or a narrower term) as a tag to some photo of the library: the
    classifier, zero-shot tags, a taught word (source "learned"). Your own tags, and tags you
    confirmed, name the photos they are on and no others, so they make no word nameable."""
    if catalog is None:
        return False
    from photoseek.store.tags import USER_SOURCE
    from photoseek.vision.taxonomy import narrower

    terms = sorted(narrower(word))
    marks = ",".join("?" * len(terms))
    row = catalog.conn.execute(f"SELECT 1 FROM tags WHERE tag IN ({marks}) AND source != ? LIMIT 1",
                               [*terms, USER_SOURCE]).fetchone()
    return row is not None


def _taught(catalog: "Catalog | None", word: str) -> bool:
    """A word you taught (photoseek.learn: a model learned from the photos you gave it), not forgotten:
    its model went over every photo, whether or not it tagged any."""
    if catalog is None:
        return False
    from photoseek.vision.taxonomy import normalize_tag, singular_candidates

    forms = sorted({normalize_tag(word), *singular_candidates(normalize_tag(word))})
    marks = ",".join("?" * len(forms))
    row = catalog.conn.execute(
        f"SELECT 1 FROM learned_words WHERE word IN ({marks}) AND forgotten = 0 AND model IS NOT NULL LIMIT 1",
        forms).fetchone()
    return row is not None


#: asked in order; the first that would name a word is the one a reason names
WRITTEN_TEXT = "text"  # what OCR names, for words asked as text in the photo
SOURCES: list[NamingSource] = [
    NamingSource("tag", _tagger, needs_catalog=False),
    NamingSource("tag", _model_tags),
    NamingSource("tag", _taught),  # taught words are tags (source "learned")
]


def register(source: NamingSource) -> None:
    """Add a source of evidence that answers for every photo (places, people): words it would name
    stop being matched by resemblance alone. Registering a source of the same name and function
    twice is a no-op."""
    if source not in SOURCES:
        SOURCES.append(source)


def source_names() -> list[str]:
    """The kinds of evidence that answer for every photo, as a reason lists them: ["tag", …] (places
    and people once registered)."""
    names: list[str] = []
    for source in SOURCES:
        if source.name not in names:
            names.append(source.name)
    return names


def naming_sources(words: list[str], catalog: "Catalog | None" = None, *,
                   written: Iterable[str] = ()) -> dict[str, str | None]:
    """Word -> the kind of evidence that would name it wherever a photo of this library shows it
    ("tag", "place", "text"…), or None where none would (then resemblance may vouch for it). A
    phrase one source names whole ("traffic light", a tag "red panda") names each of its words.
    `written`: words asked as text in the photo (OCR names those)."""
    written = set(written)
    result: dict[str, str | None] = {w: WRITTEN_TEXT for w in words if w in written}
    rest = [w for w in words if w not in result]
    if len(rest) > 1:
        whole = _first_source(" ".join(rest), catalog)
        if whole is not None:
            return {**result, **{w: whole for w in rest}}
    for word in rest:
        result[word] = _first_source(word, catalog)
    return {w: result[w] for w in words}


def _first_source(word: str, catalog: "Catalog | None") -> str | None:
    for source in SOURCES:
        if (catalog is not None or not source.needs_catalog) and source.could_name(catalog, word):
            return source.name
    return None


class NamingCache:
    """`naming_sources` for one catalog, remembered until the catalog changes (a taught word makes a
    word nameable for the next search). Several connections (a server's threads): asks every time."""

    def __init__(self, catalog: "Catalog"):
        self.catalog = catalog
        self._key: object = None
        self._known: dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, str | None]] = {}

    def __call__(self, words: list[str], written: Iterable[str] = ()) -> dict[str, str | None]:
        key = self.catalog.change_key()
        asked = (tuple(words), tuple(sorted(set(written))))
        if key is None:
            return naming_sources(words, self.catalog, written=written)
        if key != self._key or len(self._known) > 4096:
            self._known, self._key = {}, key
        if asked not in self._known:
            self._known[asked] = naming_sources(words, self.catalog, written=written)
        return self._known[asked]
