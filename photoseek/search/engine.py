"""Hybrid search: every signal the library has, fused, with the evidence kept for explanations.

Signals (each a ranking of photo ids with a raw score):
  embedding  cosine of the query text and the photo's joint vector (ConSE / CLIP), with half the
             library's mean vector taken from the photo's first: what every photo shares says
             little about which one is meant
  caption    cosine of the query text and the photo's caption embedding (captions by a vision model)
  fulltext   BM25 over tags (with broader terms), OCR text, caption and file name
  attributes time of day, people, colours asked for in words, met by the annotations
  visual     image→image similarity to a reference photo (query by example): classifier features and
             scene layout, centred on the library mean; kept apart from the text signals
  modifier   for "like this but …": the modifier's words that are not an attribute ("with snow")
  ocr        BM25 over the text read in the photos (`text_in_photo`)
  learned    a word the user taught (photoseek.learn) named in the query: its model's standing for
             each photo (the examples' likeness and the tagger's class of that name; the query's own
             text similarity is the embedding signal), in the embedding's units

Fusion (default "score"): similarity signals keep their raw cosine (comparable across queries and
photos), keyword signals are scaled by the query's best match, attributes are 0..1; each is
weighted and summed, so the embedding orders photos and the annotations nudge them. Measured on
coco-captions, this beats reciprocal-rank fusion (`fusion="rrf"`), which lets a weak keyword hit
jump many places (see the issue notes for the table). Weights are per signal and generic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

from photoseek.errors import PhotoseekError
from photoseek.llm.translate import needs_translation
from photoseek.search.facts import FactsCache
from photoseek.search import match as levels  # its knobs read when used: bench/answer_levels.py --sweep varies them
from photoseek.search.match import (
    PhotoFacts, Request, assess_all, at_least, read_request, similarity_leaders,
    stems as _stems, words_met,
)
from photoseek.search.nameable import NamingCache
from photoseek.search.query_attributes import COLOR_WORDS, QueryAttributes, parse_attributes
from photoseek.results import Evidence, Filters, SearchResult
from photoseek.vision.faces import shows_people

if TYPE_CHECKING:
    import numpy as np

    from photoseek.learn.words import TaughtWords
    from photoseek.store.catalog import Catalog
    from photoseek.store.vectors import VectorStore
    from photoseek.vision.base import Embedder

Translate = Callable[[str], "str | None"]
"""Query understanding handed in from above: English search words for a query, or None."""

# what is left of "photos of Anna" once her name is taken out: no words to rank by
_FILLER_WORDS = frozenset("a an the of photo photos picture pictures pic pics image images shot shots show me find "
                          "all my our some".split())
RRF_K = 60
# Query by example: how much each space counts. "Photos like this" asks for the same kind of
# subject: what the photo's features show (visual) and what the classifier sees in it (joint,
# ConSE). Measured on coco-captions/concepts.jsonl (bench/examples.py, 185 example photos):
# precision@10 0.142 with the composed weights below, 0.408 with these. Composed search ("this scene
# but at night") asks for the same place under other light, where layout counts most
# (webcam-daynight R@1 0.90).
EXAMPLE_WEIGHTS = {"visual": 1.0, "joint": 1.0}
COMPOSED_EXAMPLE_WEIGHTS = {"visual": 0.5, "layout": 1.0}
# Text→photo: the share of the library mean taken from each joint vector before the cosine.
# coco-captions R@1/R@10 (ConSE, one-off experiment on cached classifier outputs): none
# 0.190/0.651, half 0.200/0.669, all 0.196/0.668.
JOINT_CENTRING = 0.5
CENTRING_CANDIDATES = 1000
LEADER_POOL = 200  # photos of the whole library the similarity leaders are looked for among (filtered searches)
ALIKE_SAMPLE = 1000  # photos whose pairs set how alike two photos of the library must be to look alike
MEAN_SAMPLE = 5000
NORM_CHUNK = 65_536  # vectors per step when computing the centred norms of a whole space
MIN_PHOTOS_TO_CENTRE = 50
LIKENESS_MIN_PHOTOS = 5  # other photos needed to say how much a result looks like the marked ones
SURE_ATTRIBUTE_CONFIDENCE = 0.6  # probability; within 0.1 of a two-way decision is "unsure"
# Above any similarity's range (cosines in -1..1, and 1 / (RRF_K + 1) for a rank): in composed
# search a met attribute outranks similarity.
COMPOSED_ATTRIBUTE_WEIGHT = 4.0
DEFAULT_WEIGHTS = {
    "embedding": 1.0,
    "caption": 0.3,
    "fulltext": 0.02,
    "ocr": 1.0,
    "attributes": 0.04,
    "visual": 1.0,
    "modifier": 0.3,
    "learned": 1.0,
}
KEYWORD_SIGNALS = {"fulltext", "ocr"}
SHOWN_TAGS = 3  # a result's most confident content tags, kept in its evidence (what a close result shows)
# tags that say when, who or what colour, not what is in the photo
_NOT_CONTENT_TAGS = {"day", "night", "twilight", "text", "person", "people", *COLOR_WORDS.values()}  # BM25, scaled by the best match; the others are raw cosines or 0..1


@dataclass
class Signal:
    name: str
    scores: dict[int, float]  # photo id -> raw score (higher is better)
    # (mean, std) of this signal's score over ALL the library's photos for the query, when known
    # (search.calibration): what a score's standing (z-score) is measured against.
    spread: tuple[float, float] | None = None
    query: "np.ndarray | None" = None  # the text signal's query vector (to score the whole library again)

    def standing(self, pid: int) -> float | None:
        if self.spread is None or pid not in self.scores or self.spread[1] <= 0:
            return None
        return (self.scores[pid] - self.spread[0]) / self.spread[1]

    def ranks(self) -> dict[int, int]:
        ordered = sorted(self.scores.items(), key=lambda kv: -kv[1])
        return {pid: rank for rank, (pid, _) in enumerate(ordered, 1)}


@dataclass
class Ranking:
    fused: list[tuple[int, float]]  # (photo id, fused score), best first
    signals: list[Signal]
    reference_ids: list[int]
    filtered: bool = False  # filters restricted the photos the signals scored


@dataclass
class SearchPlan:
    """What a search will combine; kept so `eval` can switch signals on and off."""

    signals: set[str] = field(default_factory=lambda: set(DEFAULT_WEIGHTS))
    fusion: str = "score"
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))


class SearchEngine:
    """Ranks the photos of one catalog for a query; given its parts (rclip-style), not the Library.

    catalog:   the SQLite catalog (photos, annotations, FTS)
    vectors:   the FAISS vector store over the catalog's embeddings
    embedder:  the model that wrote those vectors (embeds query texts; its id is checked)
    translate: non-English query -> English search words (the LLM's query understanding), or None
    """

    def __init__(
        self,
        catalog: "Catalog | None" = None,
        vectors: "VectorStore | None" = None,
        embedder: "Embedder | None" = None,
        *,
        translate: Translate | None = None,
        plan: SearchPlan | None = None,
        taught: "Callable[[], TaughtWords] | None" = None,
    ):
        self._providers: dict[str, Callable[[], object]] = {
            "catalog": lambda: catalog, "vectors": lambda: vectors, "embedder": lambda: embedder}
        self._taught_provider = taught
        self._own_taught: "TaughtWords | None" = None
        self._named: dict[tuple, list[str]] = {}
        self.translate = translate
        self.plan = plan or SearchPlan()
        self._means: dict = {}
        self._translations: dict[str, str] = {}
        self._facts_cache: FactsCache | None = None
        self._naming: NamingCache | None = None

    @classmethod
    def from_providers(
        cls,
        catalog: "Callable[[], Catalog]",
        vectors: "Callable[[], VectorStore]",
        embedder: "Callable[[], Embedder]",
        **options,
    ) -> "SearchEngine":
        """An engine whose parts are made on first use (opening a catalog, loading a model), so
        that e.g. translating a query needs neither."""
        engine = cls(**options)
        engine._providers = {"catalog": catalog, "vectors": vectors, "embedder": embedder}
        return engine

    @property
    def taught(self) -> "TaughtWords":
        """The library's taught words (the Library hands in its own; else one over this catalog)."""
        if self._taught_provider is not None:
            return self._taught_provider()
        from photoseek.learn.words import TaughtWords

        own = self._own_taught
        if own is None or own.catalog is not self.catalog or own.vectors is not self.vectors:
            own = self._own_taught = TaughtWords(self.catalog, self.vectors)
        return own

    @property
    def catalog(self) -> "Catalog":
        return self._providers["catalog"]()  # type: ignore[return-value]

    @property
    def vectors(self) -> "VectorStore":
        return self._providers["vectors"]()  # type: ignore[return-value]

    @property
    def facts(self) -> FactsCache:
        """What searches read of each photo, kept while the catalog does not change (search.facts)."""
        catalog = self.catalog
        cache = self._facts_cache
        if cache is None or cache.catalog is not catalog:
            cache = self._facts_cache = FactsCache(catalog)
        return cache

    @property
    def naming(self) -> NamingCache:
        """Which evidence could name a word in this library (search.nameable), kept while the catalog
        does not change."""
        catalog = self.catalog
        if self._naming is None or self._naming.catalog is not catalog:
            self._naming = NamingCache(catalog)
        return self._naming

    @property
    def embedder(self) -> "Embedder":
        return self._providers["embedder"]()  # type: ignore[return-value]

    # -- entry point ------------------------------------------------------------------------------
    def search(self, *, min_level: str | None = None, **query) -> list[SearchResult]:
        """`rank` (same arguments), then the top `k` as results with their evidence and match level
        (`photoseek.search.match`); `min_level` ("strong", "partial", "weak") drops results below it,
        so fewer than k may come back. PhotoseekError for an unknown level."""
        at_least([], min_level)  # an unknown level fails before any work
        with self.catalog.snapshot():
            query["text"], query["filters"] = self.people_in_query(query.get("text"), query.get("filters"))
            return self._search(min_level, query)

    def people_in_query(self, text: str | None, filters: Filters | None) -> tuple[str | None, Filters]:
        """Names of the library's people typed in the search text become the `person` filter ("Anna
        at the beach" is "at the beach" with Anna recognised; "Anna" alone lists her photos), and
        the names in every person filter take the library's spelling ("anna" -> "Anna")."""
        from dataclasses import replace

        from photoseek.search.names import find_names, without_names
        from photoseek.store.faces import find_person, person_names

        filters = filters or Filters()
        conn = self.catalog.conn
        names = person_names(conn) if (text or filters.person or filters.not_person) else []
        if not names:
            return text, filters
        person, not_person = list(filters.person), list(filters.not_person)
        if text:
            mentions = find_names(text, names)
            if mentions:
                person += [m.name for m in mentions if m.name.casefold() not in {p.casefold() for p in person}]
                text = without_names(text, mentions) or None
                if text and not _stems(text) - _FILLER_WORDS:
                    text = None  # "photos of Anna": nothing left to rank by but the filter

        def spelled(found: list[str]) -> list[str]:
            out = []
            for name in found:
                row = find_person(conn, name)
                out.append(row["name"] if row is not None else name)
            return out

        return text, replace(filters, person=spelled(person), not_person=spelled(not_person))

    def _search(self, min_level: str | None, query: dict) -> list[SearchResult]:
        if query.get("text"):  # "beach Lisbon": the library's place names in the words are a place filter
            from photoseek.search.places import places_in_words

            query = places_in_words(self.catalog, query, self.english(query["text"]))
        ranking = self.rank(**query)
        text, but, text_in_photo = (query.get(key) for key in ("text", "but", "text_in_photo"))
        english = text and self.english(text)
        query_text = " ".join(t for t in (english, but, text_in_photo) if t)
        filters = query.get("filters") or Filters()
        request = read_request(english, filters, example=bool(ranking.reference_ids) and not text,
                               but=but, text_in_photo=text_in_photo,
                               untranslated=bool(text) and english == text and needs_translation(text),
                               naming=self.naming)
        if request.unnameable and not request.example and not request.untranslated:
            request.leaders = self._similarity_leaders(ranking, request)
        results = self._results(ranking.fused[: query.get("k", 10)], ranking.signals, query_text,
                                filters, ranking.reference_ids, request)
        less_like = [int(i) for i in query.get("less_like") or ()]
        if text and (ranking.reference_ids or less_like):
            self._add_likeness(results, ranking.reference_ids, less_like)
        return at_least(results, min_level)

    def _similarity_leaders(self, ranking: Ranking, request: Request) -> frozenset[int]:
        """The photos at the top of this query that look alike (match.similarity_leaders): its best
        photos over the whole library whatever the filters ("a giraffe at night" asks for a photo
        that stands apart as a giraffe and was taken at night, not for the most giraffe-like night
        photo). With words some evidence names ("a bus on the street": "bus"), among the photos whose
        evidence meets those words."""
        text = next((s for s in ranking.signals if s.name == "embedding"), None)
        if text is None or text.query is None or text.spread is None or text.spread[1] <= 0:
            return frozenset()  # too few photos for a spread: levels rest on evidence alone
        cutoff = self._alike_cutoff()
        if cutoff is None:
            return frozenset()
        if ranking.filtered:
            text = self._joint_text_signal(text.query, LEADER_POOL, None)
        ranked = sorted(text.scores, key=text.scores.get, reverse=True)
        named = [w for w in request.words if w not in request.unnameable]
        if named:
            stored = self.facts.facts(ranked, time=False, colors=False)
            part = Request(named)
            ranked = [pid for pid in ranked if pid in stored and len(words_met(part, _photo_facts(stored[pid]))) == len(named)]
        top = ranked[:levels.LEADER_DEPTH]
        if not top:
            return frozenset()
        vectors = self._centred("joint", top)
        alike = (vectors @ vectors.T) >= cutoff
        return frozenset(top[i] for i in similarity_leaders(alike.tolist()))

    def _centred(self, space: str, ids: Sequence[int]) -> "np.ndarray":
        """The vectors of `ids` less the library's mean, normalised: what they share with every photo
        taken out, so that their cosines say how much they look like each other."""
        import numpy as np

        vectors = self.vectors.get(space, list(ids)) - self._library_mean(space)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _alike_cutoff(self) -> float | None:
        """The centred cosine above which two photos of this library look alike: ALIKE_Z standard
        deviations above its mean over the pairs of (an even sample of) the library's photos, so it
        means the same for every embedder (the mean and deviation are kept per vectors generation).
        None below calibration.MIN_PHOTOS photos."""
        import numpy as np

        from photoseek.search import calibration

        key = ("alike", self.catalog.vectors_generation)
        if key not in self._means:
            ids = [r[0] for r in self.catalog.conn.execute(
                "SELECT photo_id FROM embeddings WHERE space='joint' ORDER BY photo_id")]
            ids = ids[:: max(1, len(ids) // ALIKE_SAMPLE)][:ALIKE_SAMPLE]  # even, so every process agrees
            spread = None
            if len(ids) >= calibration.MIN_PHOTOS:
                vectors = self._centred("joint", ids)
                pairs = (vectors @ vectors.T)[np.triu_indices(len(ids), 1)]
                spread = (float(pairs.mean()), float(pairs.std()))
            self._means[key] = spread
        spread = self._means[key]
        return None if spread is None else spread[0] + levels.ALIKE_Z * spread[1]

    def _add_likeness(self, results: list[SearchResult], marked: list[int], less_like: list[int]) -> None:
        """Relevance feedback on a text search: each result's likeness to the photos marked "more
        like this" and, apart, to those marked "less like this" (the likeness "photos like this" scores,
        as a z-score over a sample of the library), so its reason can say how much it looks like
        each; the marked photos say they are marked."""
        if not self._on("visual"):
            return
        marked_ids = set(marked)
        for result in results:
            result.evidence.avoided = list(less_like)
            if result.id in marked_ids:
                result.evidence.marked = True
                result.evidence.similar_to = [i for i in result.evidence.similar_to if i != result.id]
        others = [r for r in results if r.id not in marked_ids]
        if marked:
            for result, z in zip(others, self._likeness_z(others, marked)):
                result.evidence.likeness = z
        if less_like:
            for result, z in zip(others, self._likeness_z(others, less_like)):
                result.evidence.avoided_likeness = z

    def _likeness_z(self, results: list[SearchResult], reference_ids: list[int]) -> list[float | None]:
        """Each result's likeness to `reference_ids` (`_centred_similarity`) as a z-score over a sample of
        the library (None for all when there is no spread: only words in a reason rest on it, not the
        levels, so a small library's spread will do)."""
        from photoseek.search import calibration

        spread = self._example_spread(reference_ids, [], minimum=LIKENESS_MIN_PHOTOS)
        if spread is None or spread[1] <= calibration.MIN_STD or not results:
            return [None] * len(results)
        scores = self._centred_similarity([r.id for r in results], reference_ids, [])
        return [round((score - spread[0]) / spread[1], 2) for score in scores]

    def rank(
        self,
        *,
        text: str | None = None,
        like: int | str | None = None,
        but: str | None = None,
        k: int = 10,
        filters: Filters | None = None,
        more_like: Sequence[int] = (),
        less_like: Sequence[int] = (),
        text_in_photo: str | None = None,
    ) -> "Ranking":
        """The fused ranking without building results (evaluation ranks every photo)."""
        from photoseek.search.filters import filter_photo_ids

        if text is not None and text and not text.strip():
            raise PhotoseekError("The search text is blank: give words to search for, or only filters.")
        catalog = self.catalog
        text, filters = self.people_in_query(text, filters)
        self._check_model()
        allowed = filter_photo_ids(catalog, filters)
        reference_ids: list[int] = []
        if like is not None:
            reference_ids.append(catalog.resolve_photo(like)["id"])
        reference_ids += [int(i) for i in more_like]
        if allowed is not None and not allowed:
            return Ranking([], [], reference_ids)
        pool = max(k * 20, 200)
        signals: list[Signal] = []
        attributes = QueryAttributes()

        if text:
            attributes = parse_attributes(self.english(text))
            signals += self._text_signals(text, pool, allowed, more_like, less_like)
        if text_in_photo:
            signals.append(self._fulltext_signal(text_in_photo, pool, allowed, column="ocr", name="ocr"))
        modifier = parse_attributes(but) if but else None
        if like is not None or (reference_ids and not text):
            signals += self._example_signals(reference_ids, list(less_like), pool, allowed, modifier)
        attribute_weight = self.plan.weights.get("attributes", 0.5)
        if but:
            signals += self._modifier_signals(but, modifier, pool, allowed)
            attributes = _merge(attributes, modifier)
            if not modifier.is_empty():
                # "like this but at night": the change is a requirement, so photos that meet it come
                # first (ordered by similarity), the others after.
                attribute_weight = COMPOSED_ATTRIBUTE_WEIGHT
        if not attributes.is_empty():
            candidates = set().union(*(s.scores for s in signals)) if signals else None
            attr = self._attribute_signal(attributes, candidates, allowed)
            if attr.scores:
                signals.append(attr)
        if not signals:
            if allowed is not None:  # filters alone ("photos from 2019"): the photos that pass them
                return Ranking(self._newest_first(allowed, k), [], [])
            raise PhotoseekError("Nothing to search for: give text, a reference photo or words in the photo.")

        # The reference photo is what the user has; photos marked "more like" stay (they are relevant).
        exclude = set(reference_ids[:1] if like is not None else []) | {int(i) for i in less_like}
        fused = self._fuse([s for s in signals if s.scores], exclude, allowed, attribute_weight)
        return Ranking(fused, signals, reference_ids, filtered=allowed is not None)

    def _newest_first(self, allowed: set[int], k: int) -> list[tuple[int, float]]:
        """Filtered photos when nothing ranks them: newest first, undated last (score 1.0 each)."""
        id_list = ",".join(str(int(i)) for i in allowed)
        rows = self.catalog.conn.execute(
            f"SELECT id FROM photos WHERE id IN ({id_list}) ORDER BY taken_at IS NULL, taken_at DESC, id LIMIT ?", (k,)
        )
        return [(row[0], 1.0) for row in rows]

    # -- signals ---------------------------------------------------------------------------------
    def _text_signals(self, text, pool, allowed, more_like, less_like) -> list[Signal]:
        store = self.vectors
        text = self.english(text)
        query = self.embedder.embed_queries([text])[0]
        if more_like or less_like:
            query = _rocchio(query, store.get("joint", list(more_like)), store.get("joint", list(less_like)))
        signals = []
        if self._on("embedding"):
            signals.append(self._joint_text_signal(query, pool, allowed))
        learned = self._learned_signal(text, pool, allowed, signals[0] if signals else None)
        if learned is not None:
            signals.append(learned)
        if self._on("caption") and store.count("caption") and self._has_seeing_captions():
            signals.append(self._vector_signal("caption", "caption", query, pool, allowed))
        if self._on("fulltext"):
            signals.append(self._fulltext_signal(text, pool, allowed))
        return signals

    def _learned_signal(self, text: str, pool: int, allowed, embedding: Signal | None) -> Signal | None:
        """The taught words the query names ("giraffe", "my bike"): each one's model standing per photo
        (photoseek.learn), summed, scaled by the embedding's spread over the library so that one
        standard deviation counts alike in both; the best `pool` photos."""
        import numpy as np

        words = self._named_words(text) if self._on("learned") else []
        total, ids = None, None
        for word in words:
            found = self.taught.scores(word)
            if found is not None:
                ids, standing = found
                total = standing if total is None else total + standing
        if total is None or ids is None:
            return None
        if allowed is not None:
            keep = np.isin(ids, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            ids, total = ids[keep], total[keep]
        scale = 1.0
        if embedding is not None and embedding.spread is not None and embedding.spread[1] > 0:
            scale = embedding.spread[1]
        elif embedding is not None and len(embedding.scores) > 1:
            scale = float(np.std(list(embedding.scores.values()))) or 1.0
        best = np.argpartition(-total, pool - 1)[:pool] if len(total) > pool else np.arange(len(total))
        best = best[np.argsort(-total[best], kind="stable")]
        return Signal("learned", dict(zip(ids[best].tolist(), (scale * total[best]).tolist())))

    def _named_words(self, text: str) -> list[str]:
        """The learned words `text` names (photoseek.learn.words.named_words), read once per query."""
        from photoseek.learn.words import named_words

        key = (text, self.catalog.change_key())
        if key[1] is None:  # several connections: no change counter to keep it by
            return named_words(text, self.taught.learned())
        if key not in self._named:
            self._named = {key: named_words(text, self.taught.learned())}
        return self._named[key]

    def _example_signals(self, reference_ids, less_like, pool, allowed, required: QueryAttributes | None = None
                         ) -> list[Signal]:
        """Similarity to reference photo(s): what is in them (visual) and how the scene is laid out
        (layout), each centred on the library's mean so that what all photos share does not count."""
        if not self._on("visual"):
            return []
        store = self.vectors
        weights = COMPOSED_EXAMPLE_WEIGHTS if required is not None else EXAMPLE_WEIGHTS
        space = "visual" if store.count("visual") else "joint"
        candidates: set[int] = set()
        for searched in {space, *(["joint"] if weights.get("joint") else [])}:
            refs = store.get(searched, reference_ids)
            if len(refs) == 0:
                raise PhotoseekError(f"Photo(s) {reference_ids} have no vectors yet; run `photoseek index` first.")
            negatives = store.get(searched, less_like) if less_like else None
            query = _rocchio(refs.mean(axis=0), refs, negatives, alpha=0.0)
            candidates |= set(self._vector_signal("visual", searched, query, pool, allowed).scores)
        if required is not None and not required.is_empty():
            # "like this but at night": every photo that meets the change is a candidate, however
            # unlike the reference it looks overall (night photos look unlike day ones).
            candidates |= self._photos_meeting(required, allowed)
        candidates -= set(reference_ids)
        if not candidates:
            return []
        ids = sorted(candidates)
        scores = self._centred_similarity(ids, reference_ids, less_like, weights)
        return [Signal("visual", dict(zip(ids, scores)), self._example_spread(reference_ids, less_like, weights=weights))]

    def _centred_similarity(self, ids: list[int], reference_ids: list[int], less_like: list[int],
                            weights: dict[str, float] = EXAMPLE_WEIGHTS) -> list[float]:
        """Each photo's likeness to the reference photos (less those marked `less_like`): the cosine
        of library-centred vectors per space, combined by `weights` (the spaces this library has);
        a library with neither visual nor layout vectors (CLIP) compares raw joint vectors."""
        import numpy as np

        store = self.vectors
        parts = []
        if not (store.count("visual") or store.count("layout")):
            weights = {}
        for space, weight in weights.items():
            if not weight or not store.count(space):
                continue
            parts.append((weight, self._centred(space, ids), self._centred(space, reference_ids),
                          self._centred(space, less_like) if less_like else None))
        if not parts:  # a CLIP library: the joint space is the visual one
            refs = store.get("joint", reference_ids)
            return list((store.get("joint", ids) @ refs.mean(axis=0)).astype(float))
        total_weight = sum(w * w for w, *_ in parts)
        scores = np.zeros(len(ids), dtype=np.float32)
        for weight, cand, refs, negs in parts:
            query = _rocchio(refs.mean(axis=0), refs, negs, alpha=0.0)
            scores += (weight * weight / total_weight) * (cand @ query)
        return [float(x) for x in scores]

    def english(self, text: str) -> str:
        """The query in English for the English-only text encoder ("猫的照片" -> "cat"), via the
        `translate` step handed in; unchanged when there is none or it has no answer."""
        if self.translate is None:
            return text
        if text not in self._translations:
            self._translations[text] = self.translate(text) or text
        return self._translations[text]

    def _has_seeing_captions(self) -> bool:
        """Captions written from the annotations (template, local LLM) only restate the tags, and
        measured on coco-captions they lower recall; captions by a vision model (Ollama) add what
        the classifier cannot see. Only those are compared with the query."""
        return self.catalog.conn.execute(
            "SELECT 1 FROM captions WHERE captioner_id LIKE 'ollama:%' LIMIT 1").fetchone() is not None

    def _library_mean(self, space: str):
        """Mean vector of a space over (a sample of) the library, cached per vectors generation."""
        generation = self.catalog.vectors_generation
        key = (space, generation)
        cached = self._means.get(key)
        if cached is None:
            ids = [r[0] for r in self.catalog.conn.execute(
                "SELECT photo_id FROM embeddings WHERE space=? ORDER BY random() LIMIT ?", (space, MEAN_SAMPLE))]
            # A handful of photos gives no stable mean: centring would then mostly subtract the photos themselves.
            cached = self.vectors.get(space, ids).mean(axis=0) if len(ids) >= MIN_PHOTOS_TO_CENTRE else 0.0
            self._means = {key: cached, **{k: v for k, v in self._means.items() if k[0] != space and k[-1] == generation}}
        return cached

    def _photos_meeting(self, attrs: QueryAttributes, allowed) -> set[int]:
        attr = self._attribute_signal(attrs, None, allowed)
        return {pid for pid, met in attr.scores.items() if met >= 1.0}

    def _modifier_signals(self, but, modifier: QueryAttributes, pool, allowed) -> list[Signal]:
        if not self._on("modifier"):
            return []
        # The modifier's attributes (night, people, colours) are met by the attribute signal; what
        # words remain ("with snow") go against the joint space.
        text = modifier.residual if not modifier.is_empty() else but
        if not text.strip():
            return []
        query = self.embedder.embed_queries([text])[0]
        signal = self._vector_signal("modifier", "joint", query, pool, allowed)
        return [signal]

    def _vector_signal(self, name: str, space: str, query: "np.ndarray", pool: int, allowed) -> Signal:
        hits = self.vectors.search(space, query, pool, allowed_ids=allowed)
        ids, scores = hits[0]
        return Signal(name, {int(i): float(s) for i, s in zip(ids, scores) if i >= 0})

    def _joint_text_signal(self, query: "np.ndarray", pool: int, allowed) -> Signal:
        """Cosine of the query with each joint vector less JOINT_CENTRING × the library mean:
        (v·q − c·m·q) / ‖v − c·m‖, with the norms computed once per vectors generation.

        An exact index is scored whole in one matrix product over its own memory (a tenth of a
        FAISS top-1000 search and re-score at 10k photos). A filtered search or an approximate (IVF)
        index takes FAISS's CENTRING_CANDIDATES best raw cosines and re-scores those centred."""
        import numpy as np

        mean = self._library_mean("joint")
        moments = self.joint_moments(centred=np.ndim(mean) != 0)
        spread = moments.spread(query) if moments is not None else None
        if np.ndim(mean) == 0:  # too few photos for a mean: raw cosines
            ids, raw = self.vectors.search("joint", query, max(pool, CENTRING_CANDIDATES), allowed_ids=allowed)[0]
            return Signal("embedding", dict(zip(ids.tolist(), raw.tolist())), spread, query)
        query = np.asarray(query, dtype=np.float32)
        shift = JOINT_CENTRING * float(mean @ query)
        whole = self.vectors.exact_matrix("joint") if allowed is None else None
        if whole is not None:
            ids, vectors = whole
            scores = (vectors @ query - shift) / self._centred_norms(mean, ids, vectors)
        else:
            ids, raw = self.vectors.search("joint", query, max(pool, CENTRING_CANDIDATES), allowed_ids=allowed)[0]
            scores = (raw * float(np.linalg.norm(query)) - shift) / self._centred_norms(mean, ids)
        if len(scores) > pool:
            part = np.argpartition(-scores, pool - 1)[:pool]
            best = part[np.argsort(-scores[part], kind="stable")]
        else:
            best = np.argsort(-scores, kind="stable")
        return Signal("embedding", dict(zip(ids[best].tolist(), scores[best].tolist())), spread, query)

    def _centred_norms(self, mean: "np.ndarray", ids: "np.ndarray", vectors: "np.ndarray | None" = None) -> "np.ndarray":
        """‖v − JOINT_CENTRING·mean‖ of the joint vectors of `ids` (`vectors`: theirs, when at hand),
        from norms computed once per vectors generation over the whole space (in chunks, so a large
        library never holds a second copy of its vectors); ids not among them (a store that caught
        up with an index run) are computed here."""
        import numpy as np

        key = ("centred-norms", self.catalog.vectors_generation)
        if key not in self._means:
            whole = self.vectors.exact_matrix("joint")
            known = self.vectors.ids("joint") if whole is None else whole[0]
            norms = np.empty(len(known), dtype=np.float32)
            for start in range(0, len(known), NORM_CHUNK):
                chunk = (self.vectors.get("joint", known[start:start + NORM_CHUNK]) if whole is None
                         else whole[1][start:start + NORM_CHUNK])
                norms[start:start + len(chunk)] = np.linalg.norm(chunk - JOINT_CENTRING * mean, axis=1)
            order = np.argsort(known, kind="stable")
            self._means = {k: v for k, v in self._means.items() if k[0] != "centred-norms"}
            self._means[key] = (known[order], np.maximum(norms[order], 1e-12))
        known, norms = self._means[key]
        if vectors is not None and np.array_equal(ids, known):
            return norms  # the whole index, in id order (an index built from the catalog)
        at = np.minimum(np.searchsorted(known, ids), max(len(known) - 1, 0))
        found = known[at] == ids if len(known) else np.zeros(len(ids), dtype=bool)
        result = norms[at] if len(known) else np.zeros(len(ids), dtype=np.float32)
        if not found.all():
            result = result.copy()
            missing = vectors[~found] if vectors is not None else self.vectors.get("joint", ids[~found])
            result[~found] = np.maximum(np.linalg.norm(missing - JOINT_CENTRING * mean, axis=1), 1e-12)
        return result

    def joint_moments(self, *, centred: bool | None = None, store: bool = False):
        """Moments of the library's joint vectors as the text search scores them (search.calibration):
        stored ones when current, else computed (and cached per vectors generation). `store=True`
        (indexing, catalog writable) computes and stores them. None for a library too small."""
        from photoseek.search import calibration

        if centred is None:
            centred = self.catalog.photo_count() >= MIN_PHOTOS_TO_CENTRE
        centring = JOINT_CENTRING if centred else 0.0
        if store:
            return calibration.store_moments(self.catalog, self.vectors, "joint", centring)
        key = ("moments", centring, self.catalog.vectors_generation)
        if key not in self._means:
            self._means[key] = calibration.library_moments(self.catalog, self.vectors, "joint", centring)
        return self._means[key]

    def _example_spread(self, reference_ids: list[int], less_like: list[int],
                        minimum: int | None = None, weights: dict[str, float] = EXAMPLE_WEIGHTS
                        ) -> tuple[float, float] | None:
        """(mean, std) of the similarity to the reference photo(s) over a sample of the library;
        None with fewer than `minimum` other photos (default calibration.MIN_PHOTOS)."""
        from photoseek.search import calibration

        key = ("sample", self.catalog.vectors_generation)
        if key not in self._means:
            space = "visual" if self.vectors.count("visual") else "joint"
            self._means[key] = calibration.sample_ids(self.catalog, space)
        references = set(reference_ids)
        ids = [i for i in self._means[key] if i not in references]
        minimum = calibration.MIN_PHOTOS if minimum is None else minimum
        if len(ids) < minimum:
            return None
        return calibration.sample_spread(self._centred_similarity(ids, reference_ids, less_like, weights), minimum)

    def _fulltext_signal(self, text, pool, allowed, column=None, name="fulltext") -> Signal:
        from photoseek.search.filters import fulltext_search

        hits = fulltext_search(self.catalog, text, column=column, limit=pool, snippets=False)
        scores = {}
        for pid, score, _snippet in hits:
            if allowed is None or pid in allowed:
                scores[int(pid)] = float(score)
        return Signal(name, scores)

    def _attribute_signal(self, attrs: QueryAttributes, candidates, allowed) -> Signal:
        """Photos whose annotations meet the asked attributes score the fraction they meet."""
        if not self._on("attributes"):
            return Signal("attributes", {})
        ids = candidates if candidates is not None else allowed
        if ids is None:
            ids = [r[0] for r in self.catalog.conn.execute("SELECT id FROM photos")]
        if not ids:
            return Signal("attributes", {})
        scores = {}
        # people are judged as the filter judges them, tags included: the tags come with `evidence`
        read = self.facts.facts(ids, evidence=attrs.people is not None, time=bool(attrs.time_of_day),
                                colors=bool(attrs.colors))
        for pid, facts in read.items():
            row = facts.row
            asked = met = 0.0
            if attrs.time_of_day:
                asked += 1
                if row["time_of_day"] == attrs.time_of_day:
                    # A call near the classifier's boundary is unsure: it counts half, so a dusky
                    # day photo does not pass for night ahead of photos surely taken at night.
                    confidence = facts.time_confidence
                    sure = (1.0 if confidence is None else confidence) >= SURE_ATTRIBUTE_CONFIDENCE
                    met += 1.0 if sure else 0.5
            seen = shows_people(row["faces"], facts.tags) if attrs.people is not None else None
            if seen is not None:
                asked += 1
                if attrs.people:
                    met += seen
                    if attrs.people_count and row["faces"]:
                        met += 0.5 * (row["faces"] == attrs.people_count) - 0.25
                else:
                    met += not seen
            if attrs.colors:
                asked += 1
                met += len(facts.colors & set(attrs.colors)) / len(attrs.colors)
            if asked and met > 0:
                scores[pid] = met / asked
        return Signal("attributes", scores)

    # -- fusion ----------------------------------------------------------------------------------
    def _fuse(self, signals: list[Signal], exclude: set[int], allowed,
              attribute_weight: float | None = None) -> list[tuple[int, float]]:
        weights = dict(self.plan.weights)
        if attribute_weight is not None:
            weights["attributes"] = attribute_weight
        total: dict[int, float] = {}
        if self.plan.fusion == "score":
            for s in signals:
                w = weights.get(s.name, 1.0)
                scale = 1.0
                if s.name in KEYWORD_SIGNALS:
                    scale = 1.0 / (max(s.scores.values()) or 1.0)
                for pid, v in s.scores.items():
                    total[pid] = total.get(pid, 0.0) + w * v * scale
        else:
            for s in signals:
                w = weights.get(s.name, 1.0)
                if s.name == "attributes":
                    # An attribute is met or not: a bonus proportional to how much, not a rank.
                    for pid, v in s.scores.items():
                        total[pid] = total.get(pid, 0.0) + w * v / (RRF_K + 1)
                    continue
                for pid, rank in s.ranks().items():
                    total[pid] = total.get(pid, 0.0) + w / (RRF_K + rank)
        ranked = sorted(
            ((pid, score) for pid, score in total.items() if pid not in exclude and (allowed is None or pid in allowed)),
            key=lambda kv: -kv[1],
        )
        return ranked

    # -- results + evidence ---------------------------------------------------------------------------
    def _results(self, top, signals, query_text, filters, reference_ids, request=None) -> list[SearchResult]:
        if not top:
            return []
        stored = self.facts.facts([pid for pid, _ in top] + list(reference_ids), time=False, colors=False)
        query_words = _stems(query_text)
        reference_tags = {t for r in reference_ids if r in stored for t in stored[r].tags}
        # The standing (z-score among all photos) comes from the similarity that ordered the photos:
        # the text embedding, else the likeness to the reference photo.
        by_name = {s.name: s for s in signals}
        standing_signal = by_name.get("embedding") or by_name.get("visual")
        results = []
        facts: dict[int, PhotoFacts] = {}
        for pid, score in top:
            photo = stored.get(pid)
            if photo is None:
                continue
            row, photo_tags = photo.row, list(photo.tags)
            # A tag "matches" when the query names it, or when the reference photo shares it.
            matched = [t for t in photo_tags if _stems(t) & query_words or t in reference_tags]
            evidence = Evidence(
                signals={s.name: round(s.scores[pid], 4) for s in signals if pid in s.scores},
                matched_tags=matched,
                tags=_shown_tags(photo_tags),
                ocr_snippet=(photo.ocr or "")[:120] or None,
                caption=photo.caption,
                time_of_day=row["time_of_day"],
                taken_at=row["taken_at"],
                people=row["faces"],
                recognised={name: {"confirmed": True} if how == "user" else {"distance": distance}
                            for name, distance, how in photo.recognised},
                filters_matched=filters.to_dict(),
                similar_to=list(reference_ids),
            )
            if photo.place is not None:
                evidence.place, evidence.place_source = photo.place.label(), photo.place.source
                evidence.place_how = photo.place.how()
            z = standing_signal.standing(pid) if standing_signal is not None else None
            evidence.standing = round(z, 2) if z is not None else None
            facts[pid] = _photo_facts(photo)
            results.append(SearchResult(id=pid, path=row["display_path"], score=score, evidence=evidence))
        if request is not None:
            if filters.place:  # a place asked for and met is met evidence (search.places)
                from photoseek.search.places import places_met

                places_met(self.catalog, filters, results, {pid: stored[pid].place for pid, _ in top if pid in stored})
            assess_all(results, request, facts)
            self._add_learned(results, stored)
        return results

    def _add_learned(self, results: list[SearchResult], stored) -> None:
        """Evidence of the taught words: a request word met by a learned tag says so, with the tag's
        confidence and how many photos the user taught it from (the reasons say it)."""
        from photoseek.store.words import user_words

        examples: dict[str, tuple[int, int]] | None = None
        for result in results:
            learned = stored[result.id].learned if result.id in stored else {}
            for found in result.evidence.met.values():
                tag = found[4:] if found.startswith("tag ") else None
                if tag in learned:
                    if examples is None:
                        examples = user_words(self.catalog.conn)
                    result.evidence.learned[tag] = {"confidence": round(learned[tag], 3),
                                                    "examples": examples.get(tag, (0, 0))[0]}

    def duplicates(self, *, threshold: float | None = None) -> list[list[SearchResult]]:
        from photoseek.search.duplicates import find_duplicates

        return find_duplicates(self.catalog, self.vectors, threshold=threshold)

    # -- helpers -----------------------------------------------------------------------------------
    def _on(self, name: str) -> bool:
        return name in self.plan.signals

    def _check_model(self) -> None:
        self.vectors.check_model(self.embedder.id)


def _photo_facts(stored) -> PhotoFacts:
    """What the match levels read of a photo (search.facts.StoredFacts -> match.PhotoFacts)."""
    return PhotoFacts(list(stored.tags), stored.ocr or "", stored.caption or "", stored.row["display_path"])


def _shown_tags(tags: Sequence[str]) -> list[str]:
    """A photo's most confident content tags, the most specific first ("microwave oven" before its
    broader "appliance"), for a reason to say what it shows."""
    from photoseek.vision.taxonomy import is_broader_term

    content = [t for t in tags if t not in _NOT_CONTENT_TAGS]
    return sorted(content, key=is_broader_term)[:SHOWN_TAGS]  # a stable sort keeps the confidence order


def _rocchio(query, positives, negatives, alpha: float = 1.0, beta: float = 0.75, gamma: float = 0.25):
    """Rocchio relevance feedback on normalised vectors."""
    import numpy as np

    vec = alpha * np.asarray(query, dtype=np.float32)
    if positives is not None and len(positives):
        vec = vec + beta * np.asarray(positives).mean(axis=0) if alpha else np.asarray(positives).mean(axis=0)
    if negatives is not None and len(negatives):
        vec = vec - gamma * np.asarray(negatives).mean(axis=0)
    norm = float(np.linalg.norm(vec)) or 1.0
    return (vec / norm).astype(np.float32)


def _merge(a: QueryAttributes, b: QueryAttributes) -> QueryAttributes:
    return QueryAttributes(
        time_of_day=b.time_of_day or a.time_of_day,
        people=b.people if b.people is not None else a.people,
        residual=" ".join(t for t in (a.residual, b.residual) if t),
        people_count=b.people_count or a.people_count,
        colors=sorted(set(a.colors) | set(b.colors)),
    )
