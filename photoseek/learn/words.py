"""The taught words of one library: learn each from the user's tag feedback, tag the library with
it, list them, forget them.

A word the user gave to at least MIN_EXAMPLES photos (`photoseek tag ID +word`, `teach`, ✓ on the
page, "#3 is a giraffe too" in chat) is learned (photoseek.learn.model) from those photos, the photos
where they rejected it, and the rest of the library as background; every other photo where the
model's confidence reaches TAG_CONFIDENCE gets the word as a tag with source "learned". It is learned
again at once when an example or a rejection is added or removed, and for every taught word at the
end of each index run (new photos get their learned tags then; the model is trained again over the
new vectors). No photo is read: only the vectors the catalog stores.

The user's word always wins: their examples carry it as their own tag, their rejections never get
it, and forgetting a word removes only its learned tags.
"""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from photoseek.errors import NotFoundError, PhotoseekError
from photoseek.learn.features import WordFeatures, load_features
from photoseek.learn.model import MIN_EXAMPLES, MODEL_VERSION, TAG_CONFIDENCE, WordModel, fit
from photoseek.store.tags import LEARNED_SOURCE
from photoseek.store.words import (
    delete_word, feedback_photos, learned_counts, replace_learned_tags, save_word, user_words, word_record,
    word_records,
)
from photoseek.vision.faces import PEOPLE_TAGS
from photoseek.vision.tagging import CLASSIFIER_SOURCE, ZEROSHOT_SOURCE
from photoseek.vision.taxonomy import expand, normalize_tag, singular

if TYPE_CHECKING:
    import numpy as np

    from photoseek.store.catalog import Catalog
    from photoseek.store.vectors import VectorStore

__all__ = ["LEARNED_SOURCE", "MIN_EXAMPLES", "RESERVED", "TaughtWords", "WordStatus"]

# Words other annotators answer for (time of day, people, text read in the photo, colours): a ✓ or
# ✗ on them corrects that one photo, as before; they are not learned as words.
RESERVED = frozenset({"day", "night", "twilight", "text", *PEOPLE_TAGS,
                      "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
                      "gray", "grey"})
TAGGER_SOURCES = (CLASSIFIER_SOURCE, ZEROSHOT_SOURCE)

TextEncoder = Callable[[Sequence[str]], "np.ndarray"]
"""Query texts -> unit vectors in the joint space (the embedder's text side), for the word's own text."""


@dataclass
class WordStatus:
    """Where a taught word stands. `state`: "learned" (a model tags the library), "learning" (too few
    examples yet: `needs` more), "forgotten" (the user asked; their own tags stay), "reserved" (another
    annotator answers for it), "person" (a person the user named: face recognition finds them). `precision`: the mean confidence of the photos it tags (what the
    calibrated model expects of them); `recall`: the share of the examples tagged when each is held
    out of the training (from 3 examples a rough, low figure: each is then learned from 2); `added`/`removed`: photos that gained or lost the learned tag in this update."""

    word: str
    state: str
    examples: int = 0
    rejections: int = 0
    tagged: int = 0
    precision: float | None = None
    recall: float | None = None
    added: int = 0
    removed: int = 0
    without_vectors: int = 0  # examples not indexed yet (no vectors): not learned from

    @property
    def needs(self) -> int:
        return max(0, MIN_EXAMPLES - (self.examples - self.without_vectors)) if self.state == "learning" else 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"word": self.word, "state": self.state, "examples": self.examples,
                               "rejections": self.rejections, "tagged": self.tagged}
        if self.state == "learning":
            out["needs"] = self.needs
        if self.precision is not None:
            out["precision"] = round(self.precision, 3)
        if self.recall is not None:
            out["recall"] = round(self.recall, 3)
        if self.added or self.removed:
            out.update(added=self.added, removed=self.removed)
        if self.without_vectors:
            out["without_vectors"] = self.without_vectors
        out["summary"] = self.sentence()
        return out

    def source(self) -> str:
        """Where its tags come from, in words: 'learned from the 4 photos you marked'."""
        return f"learned from the {self.examples} photo{'s' if self.examples != 1 else ''} you marked"

    def sentence(self) -> str:
        """The status in one sentence, for the CLI, chat and the page."""
        word = f'"{self.word}"'
        if self.state == "reserved":
            return (f"{word} is answered by photoseek's own annotators (time of day, people, text, colours): "
                    "your ✓ and ✗ correct single photos; it is not learned as a word.")
        if self.state == "person":
            return (f"{word} is the name of a person you named: photoseek finds them by their face (search "
                    f"{word}, or --person {self.word}), not by whole photos that look like these; your own "
                    f"{self.examples} tag{'s' if self.examples != 1 else ''} stay.")
        if self.state == "forgotten":
            return (f"{word} is forgotten: its learned tags are gone, your own {self.examples} stay. "
                    f"Give it to a photo again to have it learned again.")
        if self.state == "learning":
            waiting = (f" ({self.without_vectors} of them not indexed yet)" if self.without_vectors else "")
            return (f"{word} is on {self.examples} photo{'s' if self.examples != 1 else ''}{waiting}; give it to "
                    f"{self.needs} more and photoseek will learn it and find the rest.")
        estimate = f" (precision ≈ {self.precision:.2f})" if self.precision is not None else ""
        change = ""
        if self.added or self.removed:
            change = f" (now {'+' if self.added >= self.removed else '−'}{abs(self.added - self.removed)})"
        tagged = (f"tags {self.tagged} other photo{'s' if self.tagged != 1 else ''}{change}{estimate}" if self.tagged
                  else f"no other photo looks enough like them to be tagged{change}{estimate}; give it to a few "
                       "more (different ones) if the library has more")
        return f"{word}: {self.source()}{f' and {self.rejections} rejected' if self.rejections else ''}; {tagged}."


class TaughtWords:
    """The taught words of one catalog. Reads need no model; learning embeds each new word once
    with `text_encoder` (kept with the word) and trains over the word features."""

    def __init__(self, catalog: "Catalog", vectors: "VectorStore", library_dir: str | Path | None = None,
                 text_encoder: TextEncoder | None = None, text_model: str | None = None,
                 min_examples: int = MIN_EXAMPLES):
        self.catalog = catalog
        self.vectors = vectors
        self.library_dir = Path(library_dir) if library_dir is not None else catalog.library_dir
        self.text_encoder = text_encoder
        self.text_model = text_model  # the id of the model behind text_encoder (a cached word vector must match)
        self.min_examples = min_examples  # the evaluation's learning curve lowers it; photoseek uses MIN_EXAMPLES
        self._features: WordFeatures | None = None
        self._models: dict[tuple[str, int, int, str], WordModel] = {}
        self._lock = threading.Lock()

    # -- reading --------------------------------------------------------------------------------------
    def features(self, *, write: bool = True) -> WordFeatures | None:
        """The word features of the current vectors (cached in memory per vectors generation)."""
        from photoseek.learn.features import features_key

        key = features_key(self.catalog)
        with self._lock:
            current = self._features
            if key is None:
                return None
            if current is None or current.key != f"g{key[0]}.{key[1]}":
                current = self._features = load_features(self.catalog, self.vectors, self.library_dir, write=write)
            return current

    def learned(self) -> set[str]:
        """The words a model tags the library with now (neither forgotten nor waiting for examples)."""
        return {w for w, r in word_records(self.catalog.conn).items() if r.model is not None and not r.forgotten}

    def statuses(self) -> list[WordStatus]:
        """Every word the user gave to a photo (reserved ones aside) and every forgotten one, by word."""
        conn = self.catalog.conn
        counts = user_words(conn)
        records = word_records(conn)
        tagged = learned_counts(conn)
        out = []
        for word in sorted(set(counts) | {w for w, r in records.items() if r.forgotten}):
            if word in RESERVED:
                continue
            if self._is_person(word):
                out.append(WordStatus(word, "person", *counts.get(word, (0, 0))))
                continue
            out.append(self._status(word, counts.get(word, (0, 0)), records.get(word), tagged.get(word, 0)))
        return out

    def status(self, word: str) -> WordStatus:
        word = _clean(word)
        conn = self.catalog.conn
        counts = user_words(conn).get(word, (0, 0))
        if word in RESERVED:
            return WordStatus(word, "reserved", *counts)
        if self._is_person(word):
            return WordStatus(word, "person", *counts)
        return self._status(word, counts, word_record(conn, word), learned_counts(conn).get(word, 0))

    def _status(self, word: str, counts: tuple[int, int], record, tagged: int) -> WordStatus:
        examples, rejections = counts
        details = record.details if record is not None else {}
        if record is not None and record.forgotten:
            return WordStatus(word, "forgotten", examples, rejections)
        if record is None or record.model is None:
            return WordStatus(word, "learning", examples, rejections,
                              without_vectors=int(details.get("without_vectors", 0)))
        return WordStatus(word, "learned", examples, rejections, tagged, details.get("precision"),
                          details.get("recall"))

    def model(self, word: str) -> tuple[WordModel, WordFeatures] | None:
        """The learned model of `word` over the current features, for a search (no write: a model
        stored for older features is trained again in memory); None when the word is not learned."""
        record = word_record(self.catalog.conn, _clean(word))
        if record is None or record.model is None or record.forgotten:
            return None
        features = self.features(write=False)
        if features is None:
            return None
        # the version restarts when a word is untaught and taught again: the weights themselves key it too
        key = (record.word, record.version, hash(record.model), features.key)
        cached = self._models.get(key)
        if cached is None:
            stored = WordModel.from_storage(record.model, record.details)
            current = stored.features_key == features.key and stored.version == MODEL_VERSION
            cached = stored if current else self._fit(record.word, features)  # older features or model: again
            if cached is None:
                return None
            self._models = {k: v for k, v in self._models.items() if k[0] != record.word}
            self._models[key] = cached
        return cached, features

    def scores(self, word: str) -> "tuple[np.ndarray, np.ndarray] | None":
        """(photo ids, standing) of every photo for a learned `word`, without the word's own text
        similarity (a search has its own): what the search's "learned" signal ranks by."""
        found = self.model(word)
        if found is None:
            return None
        model, features = found
        return features.ids, model.standings(features, self._tagger(_clean(word), features), text=False)

    # -- learning -------------------------------------------------------------------------------------
    def update(self, words: Iterable[str], *, taught: bool = False) -> list[WordStatus]:
        """Learn these words again from their feedback now (after a ✓ or ✗). `taught`: the user gave
        them to photos just now, which brings a forgotten word back."""
        return [self.learn(w, taught=taught) for w in dict.fromkeys(_clean(w) for w in words)]

    def learn(self, word: str, *, taught: bool = False) -> WordStatus:
        """Train `word` from the user's feedback and write its learned tags (or clear them when it
        has too few examples, or is forgotten, or reserved)."""
        word = _clean(word)
        conn = self.catalog.conn
        examples, rejections = feedback_photos(conn, word)
        record = word_record(conn, word)
        if word in RESERVED:
            return WordStatus(word, "reserved", len(examples), len(rejections))
        if self._is_person(word):  # a person you named: their face finds them, not whole-photo likeness
            with self.catalog.transaction() as tx:
                _, removed = replace_learned_tags(tx, word, {})
                if record is not None:
                    delete_word(tx, [word])
            return WordStatus(word, "person", len(examples), len(rejections), removed=removed)
        if record is not None and record.forgotten and not taught:
            return WordStatus(word, "forgotten", len(examples), len(rejections))
        if not examples:  # nobody gives it any more: nothing to learn or keep
            with self.catalog.transaction() as tx:
                _, removed = replace_learned_tags(tx, word, {})
                delete_word(tx, [word])
            return WordStatus(word, "learning", 0, len(rejections), removed=removed)
        features = self.features() if len(examples) >= self.min_examples else None
        rows = features.rows(examples) if features is not None else None
        without = len(examples) - (len(rows) if rows is not None else len(examples))
        details: dict[str, Any] = {"examples": len(examples), "rejections": len(rejections)}
        if record is not None and "text_vector" in record.details:
            details.update({k: record.details[k] for k in ("text_vector", "text_model") if k in record.details})
        if features is None or rows is None or len(rows) < self.min_examples:
            if features is not None:
                without = len(examples) - len(rows)
            details["without_vectors"] = without if features is not None else 0
            with self.catalog.transaction() as tx:
                _, removed = replace_learned_tags(tx, word, {})
                save_word(tx, word, None, details)
            return WordStatus(word, "learning", len(examples), len(rejections), removed=removed,
                              without_vectors=details["without_vectors"])
        text_vector = self._text_vector(word, details)
        tagger = self._tagger(word, features)
        model = self._fit(word, features, examples, rejections, text_vector, tagger)
        confidence = model.confidences(model.standings(features, tagger))
        keep = confidence >= TAG_CONFIDENCE
        keep[features.rows(examples)] = False  # the user's own tag covers them
        keep[features.rows(rejections)] = False  # the user's word wins
        tagged = {int(pid): float(c) for pid, c in zip(features.ids[keep], confidence[keep])}
        blob, model_details = model.to_storage()
        details.update(model_details)
        details["precision"] = round(float(confidence[keep].mean()), 4) if keep.any() else None
        details["recall"] = model.recall()
        if without:
            details["without_vectors"] = without
        with self.catalog.transaction() as tx:
            added, removed = replace_learned_tags(tx, word, tagged)
            save_word(tx, word, blob, details)
        return WordStatus(word, "learned", len(examples), len(rejections), len(tagged), details["precision"],
                          details["recall"], added, removed, without)

    def retag_all(self) -> list[WordStatus]:
        """Learn every taught word again over the current vectors (the end of an index run: new photos
        get their learned tags, changed ones lose or gain them). Forgotten and reserved words stay as
        they are; words nobody gives any more lose their learned tags."""
        conn = self.catalog.conn
        words = set(user_words(conn)) | set(word_records(conn)) | set(learned_counts(conn))
        return [self.learn(w) for w in sorted(words) if w not in RESERVED]

    def forget(self, word: str) -> WordStatus:
        """Remove the learned tags of `word` and stop learning it; the user's own tags stay.
        NotFoundError when it is no taught word."""
        word = _clean(word)
        conn = self.catalog.conn
        examples, rejections = feedback_photos(conn, word)
        record = word_record(conn, word)
        if not examples and record is None:
            known = ", ".join(s.word for s in self.statuses()) or "none yet"
            raise NotFoundError(f'No taught word "{word}" in this library (taught words: {known}).')
        with self.catalog.transaction() as tx:
            _, removed = replace_learned_tags(tx, word, {})
            details = {"examples": len(examples), "rejections": len(rejections)}
            if record is not None:
                details.update({k: record.details[k] for k in ("text_vector", "text_model") if k in record.details})
            save_word(tx, word, None, details, forgotten=True)
        return WordStatus(word, "forgotten", len(examples), len(rejections), removed=removed)

    def _is_person(self, word: str) -> bool:
        from photoseek.store.faces import person_names

        return word.casefold() in {name.casefold() for name in person_names(self.catalog.conn)}

    # -- the parts of a model -------------------------------------------------------------------------
    def _fit(self, word: str, features: WordFeatures, examples: list[int] | None = None,
             rejections: list[int] | None = None, text_vector: "np.ndarray | None" = None,
             tagger: "np.ndarray | None" = None) -> WordModel | None:
        if examples is None or rejections is None:
            examples, rejections = feedback_photos(self.catalog.conn, word)
        rows = features.rows(examples)
        if len(rows) == 0:
            return None
        if text_vector is None:
            record = word_record(self.catalog.conn, word)
            text_vector = _decode(record.details.get("text_vector")) if record is not None else None
        text = features.project_text(text_vector) if text_vector is not None else None
        if tagger is None:
            tagger = self._tagger(word, features)
        return fit(features, rows, features.rows(rejections), text, tagger)

    def _text_vector(self, word: str, details: dict[str, Any]) -> "np.ndarray | None":
        """The word's text in the joint space: embedded once with the embedder's text side and kept
        with the word (so training again needs no model); None without an encoder."""
        cached = _decode(details.get("text_vector"))
        if cached is not None and details.get("text_model") == self.text_model:
            return cached
        if self.text_encoder is None:
            return cached
        import numpy as np

        vector = np.asarray(self.text_encoder([word])[0], dtype=np.float32)
        details["text_vector"] = base64.b64encode(vector.tobytes()).decode("ascii")
        details["text_model"] = self.text_model
        return vector

    def _tagger(self, word: str, features: WordFeatures) -> "np.ndarray":
        """The tagger's confidence per photo (row order) in a class named `word` or a narrower one."""
        import numpy as np

        names = sorted(expand(word))
        out = np.zeros(len(features), dtype=np.float32)
        marks = ",".join("?" * len(names))
        rows = self.catalog.conn.execute(
            f"""SELECT photo_id, max(confidence) FROM tags WHERE tag IN ({marks})
                AND source IN ({','.join('?' * len(TAGGER_SOURCES))}) GROUP BY photo_id""",
            [*names, *TAGGER_SOURCES]).fetchall()
        if rows:
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            values = np.array([r[1] for r in rows], dtype=np.float32)
            at = np.searchsorted(features.ids, ids)
            at = np.minimum(at, max(len(features.ids) - 1, 0))
            found = features.ids[at] == ids
            out[at[found]] = values[found]
        return out


def named_words(text: str, words: Iterable[str]) -> list[str]:
    """The words of `words` that `text` names, as whole words in order, plurals aside: "giraffes at
    dusk" names "giraffe", "my bike in the snow" names "my bike" (not "bike" alone)."""
    tokens = [singular(t) for t in re.findall(r"[^\W_]+", text.lower())]
    named = []
    for word in words:
        parts = [singular(t) for t in re.findall(r"[^\W_]+", word.lower())]
        if parts and any(tokens[i:i + len(parts)] == parts for i in range(len(tokens) - len(parts) + 1)):
            named.append(word)
    return sorted(named)


def _clean(word: str) -> str:
    cleaned = normalize_tag(str(word))
    if not cleaned:
        raise PhotoseekError("A word cannot be empty.")
    return cleaned


def _decode(text: str | None) -> "np.ndarray | None":
    if not text:
        return None
    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype=np.float32)
