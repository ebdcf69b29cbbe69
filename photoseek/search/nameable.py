"""Could any evidence name this word in this library? The question a match level asks first.

A photo is a strong match when its evidence names what was asked. For a word that some source of
evidence *could* name here ("cat": the tagger names cats; "giraffe" once you tagged a few), a photo
that lacks it does not show it as far as the library knows, and similarity alone never makes it a
match. Only for a word that nothing here could name ("giraffe" with the ImageNet tagger and no tag
of yours, "fireworks", "kitchen") may the few photos whose similarity stands apart count as matches
(`photoseek.search.match.similarity_leaders`), and the answer says it went by resemblance only.

Each source answers one word for one catalog (`NamingSource`); `naming_sources` asks them in order
and says which one could name each word of a request (None: nothing can):

  tagger    a term of the tag vocabulary (ImageNet classes and their broader WordNet terms), or a
            word such a term ends with ("sign": "street sign"), as tag filters match them
  tags      a tag some photo of this library carries, from any source: the classifier's, your own
            (`photoseek tag ID +giraffe`, ✓ on the page) and taught words (tags with source
            "learned"), so tagging a few photos "giraffe" makes "giraffe" nameable here
  text      a word read in some photo (OCR): where the library has it written, a photo without it is
            not the one that shows it written; words asked as text in the photo (`text_in_photo`)
            are always nameable (OCR read every photo)
  captions  a word of some photo's caption (a captioning model names what it sees)

Places and people (filters and met evidence of their own) add a source with `register`, e.g.
`register(NamingSource("place", lambda catalog, word: ...))`; the reasons then say "no tag, text,
caption, place or person", and what a source names is never met by resemblance alone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from photoseek.store.catalog import Catalog


@dataclass(frozen=True)
class NamingSource:
    """One kind of evidence: `name` as a reason lists it ("tag", "caption", "place"), and whether it
    could name a (lower-case) word in a catalog. `catalog` is None where no library is at hand (then
    only sources that need none answer: the tagger's vocabulary)."""

    name: str
    could_name: Callable[["Catalog | None", str], bool]
    needs_catalog: bool = True


def tagger_knows(words: Iterable[str]) -> bool:
    """Whether the tagger could have named these words: the phrase ("traffic light") or each word is a
    term of the tag vocabulary, or a word such terms end with ("sign": "street sign")."""
    return _tagger_knows(tuple(words))


@functools.lru_cache(maxsize=4096)
def _tagger_knows(words: tuple[str, ...]) -> bool:
    if not words:
        return False
    from photoseek.vision.taxonomy import expand, singular

    known = _vocabulary()
    phrase = " ".join(words)
    if phrase in known or " ".join(singular(w) for w in words) in known or expand(phrase) & known:
        return True
    return all(w in known or singular(w) in known or expand(w) & known for w in words)


@functools.lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    from photoseek.vision.taxonomy import vocabulary

    return frozenset(vocabulary())


def _tagger(catalog: "Catalog | None", word: str) -> bool:
    return tagger_knows([word])


def _library_tags(catalog: "Catalog | None", word: str) -> bool:
    """A photo of the library carries the word (or a narrower term) as a tag, from any source, or the
    user confirmed it on some photo."""
    if catalog is None:
        return False
    from photoseek.vision.taxonomy import expand

    terms = sorted(expand(word))
    marks = ",".join("?" * len(terms))
    row = catalog.conn.execute(
        f"""SELECT 1 FROM tags WHERE tag IN ({marks})
            UNION ALL SELECT 1 FROM tag_feedback WHERE verdict = 1 AND tag IN ({marks}) LIMIT 1""",
        terms + terms).fetchone()
    return row is not None


def _in_column(column: str) -> Callable[["Catalog | None", str], bool]:
    def written(catalog: "Catalog | None", word: str) -> bool:
        """Some photo's text in `column` has the word (the full-text index stems it: "giraffes" finds
        "giraffe")."""
        if catalog is None or not word.isalnum():
            return False
        row = catalog.conn.execute(
            "SELECT 1 FROM photo_text WHERE photo_text MATCH ? LIMIT 1", (f'{column} : "{word}"',)).fetchone()
        return row is not None

    return written


#: asked in order; the first that could name a word is the one a reason names
WRITTEN_TEXT = "text"  # what OCR names
SOURCES: list[NamingSource] = [
    NamingSource("tag", _tagger, needs_catalog=False),
    NamingSource("tag", _library_tags),
    NamingSource(WRITTEN_TEXT, _in_column("ocr")),
    NamingSource("caption", _in_column("caption")),
]


def register(source: NamingSource) -> None:
    """Add a source of evidence (places, people): words it could name stop being matched by
    resemblance alone. Registering a source of the same name and function twice is a no-op."""
    if source not in SOURCES:
        SOURCES.append(source)


def source_names() -> list[str]:
    """The kinds of evidence there are, as a reason lists them: ["tag", "text", "caption", …] (places
    and people once registered)."""
    names: list[str] = []
    for source in SOURCES:
        if source.name not in names:
            names.append(source.name)
    return names


def naming_sources(words: list[str], catalog: "Catalog | None" = None, *,
                   written: Iterable[str] = ()) -> dict[str, str | None]:
    """Word -> the kind of evidence that could name it in this library ("tag", "caption", "text"…), or
    None where nothing could. A phrase one source names whole ("traffic light", a tag "red panda")
    names each of its words. `written`: words asked as text in the photo (OCR names those)."""
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
    """`naming_sources` for one catalog, remembered until the catalog changes (a tag added on the page
    makes a word nameable for the next search). Several connections (a server's threads): asks every time."""

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
