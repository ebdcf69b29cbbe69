"""One sentence per photo, three ways (`--captioner`):

  ollama:MODEL  a vision model on an Ollama server looks at the photo (sent base64; keep_alive is
                the backend's, so the model stays loaded between photos);
  local         (default) the local LLM writes the sentence from the EVIDENCE only — tags, people
                count, OCR text, time of day, date, camera — with the prompt in
                photoseek/prompts/caption_from_evidence*.md. It cannot see the photo, so its sentence
                is checked: naming an object the evidence does not contain, empty or garbled output,
                or a timeout all fall back to the template;
  template      a sentence composed from the evidence ("A photo of a tabby cat, taken at night in
                2019, with the text 'EXIT'."); also what `local` falls back to and what runs when no
                LLM is configured.

A captioner that cannot run (Ollama not reachable, model missing) is reported once, with what to do,
and the next one down takes over for the rest of the run: ollama -> local -> template.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from photoseek.errors import BackendConnectionError, ModelUnavailableError, PhotoseekError
from photoseek.vision.taxonomy import singular_candidates

if TYPE_CHECKING:

    from PIL import Image

log = logging.getLogger("photoseek.captions")

TEMPLATE_CAPTIONER_ID = "template-v1"
LOCAL_CAPTIONER_PREFIX = "evidence-llm"
LOCAL_TIMEOUT_S = 60.0
OLLAMA_TIMEOUT_S = 180.0
MAX_CONSECUTIVE_TIMEOUTS = 3  # then the captioner is given up for the rest of the run
MAX_WORDS = 40
CAPTION_SCHEMA = {
    "type": "object",
    "properties": {"caption": {"type": "string", "maxLength": 300}},
    "required": ["caption"],
}

_NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_PEOPLE_WORDS = {"person", "people", "persons", "someone", "somebody", "individual", "group", "crowd", "face", "faces"}
_TEXT_WORDS = {"text", "sign", "signs", "word", "words", "writing", "letters", "label", "lettering", "caption"}
_META_WORDS = {"evidence", "tag", "tags", "json", "ocr", "confidence", "detector", "detectors", "detected"}
# Nouns an LLM likes to add that no ImageNet class name covers; naming one that the evidence does
# not hold makes the sentence unsupported. People words stand in for the faces count.
_EXTRA_OBJECT_WORDS = {
    "man", "men", "woman", "women", "boy", "boys", "girl", "girls", "child", "children", "kid", "kids",
    "baby", "babies", "lady", "ladies", "guy", "guys", "player", "players", "family", "couple", "friends",
    "tree", "trees", "grass", "field", "street", "road", "sky", "water", "ocean", "river", "forest",
    "garden", "park", "city", "town", "house", "room", "kitchen", "bathroom", "bedroom", "office", "wall",
    "floor", "window", "door", "snow", "sand", "hill", "hills", "sun", "moon", "cloud", "clouds", "flowers",
    "food", "plate", "cake", "sandwich", "donut", "carrot", "apple", "hotdog", "fork", "knife", "spoon",
    "bench", "umbrella", "handbag", "suitcase", "frisbee", "skis", "snowboard", "skateboard", "surfboard",
    "racket", "bat", "glove", "tie", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "phone",
    "oven", "sink", "refrigerator", "book", "books", "vase", "scissors", "toothbrush", "hydrant",
    "giraffe", "zebra", "cow", "horse", "sheep", "elephant", "bear", "bird", "cat", "dog", "car", "bus",
    "train", "truck", "boat", "airplane", "plane", "bicycle", "bike", "motorcycle", "kite", "bottle",
    "cup", "bowl", "chair", "couch", "bed", "table", "clock", "pizza", "banana", "orange", "broccoli",
}  # fmt: skip
# Class-name words that mostly appear in sentences as verbs or adjectives, not as objects.
_NOT_OBJECT_WORDS = {"fly", "safe", "lighter", "switch", "space", "bow", "tick", "ram", "punch", "stage", "suit",
                     "spiral", "maze", "knot", "drake", "jay", "iron", "hook", "muzzle", "screen", "stole"}


# -- evidence ---------------------------------------------------------------------------------------


@dataclass
class CaptionEvidence:
    """What the annotators found in one photo: the only facts a caption may state."""

    subjects: list[str] = field(default_factory=list)  # specific tags, most certain first
    broader: list[str] = field(default_factory=list)  # broader terms ("dog", "animal")
    colours: list[str] = field(default_factory=list)
    people: int | None = None
    ocr_text: str | None = None
    time_of_day: str | None = None
    taken_at: str | None = None
    camera: str | None = None

    @property
    def year(self) -> str | None:
        if self.taken_at and re.match(r"^\d{4}", self.taken_at):
            year = self.taken_at[:4]
            return year if 1826 <= int(year) <= 2200 else None
        return None

    @property
    def date_words(self) -> str | None:
        """"June 2019" (month and year of taken_at), or None."""
        match = re.match(r"^(\d{4})-(\d{2})", self.taken_at or "")
        if not match or not self.year:
            return None
        months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December"]  # fmt: skip
        month = int(match.group(2))
        return f"{months[month - 1]} {match.group(1)}" if 1 <= month <= 12 else match.group(1)

    def short_text(self, limit: int = 60) -> str | None:
        """The OCR text as one short quotable line."""
        if not self.ocr_text:
            return None
        text = " ".join(self.ocr_text.split()).replace("'", "’")
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

    def allowed_words(self) -> set[str]:
        """Words a caption may use to name things: evidence words and their singular forms."""
        words: set[str] = set()
        for phrase in [*self.subjects, *self.broader, *self.colours, self.camera or "", self.ocr_text or ""]:
            words |= set(_words(phrase))
        if self.people:
            words |= _PEOPLE_WORDS
        if self.ocr_text:
            words |= _TEXT_WORDS
        return words | {form for w in words for form in singular_candidates(w)}

    def prompt_variables(self) -> dict[str, Any]:
        return {
            "subjects": self.subjects[:5],
            "broader": [b for b in self.broader if b not in self.subjects][:6],
            "colours": self.colours[:3],
            "people": self.people or 0,
            "ocr_text": self.short_text(120),
            "time_of_day": self.time_of_day,
            "date": self.date_words,
            "camera": self.camera,
            "nothing": not (self.subjects or self.broader or self.people or self.ocr_text),
            "allowed_nouns": self.allowed_nouns(),
        }

    def allowed_nouns(self) -> list[str]:
        """The things a caption may name, for the prompt (the post-check is `unsupported_objects`)."""
        nouns = [*self.subjects[:5], *[b for b in self.broader if b not in self.subjects][:6]]
        if self.people:
            nouns += ["person"] if self.people == 1 else ["people"]
        if self.ocr_text:
            nouns += ["text", "sign"]
        return nouns


def camera_name(make: str | None, model: str | None) -> str | None:
    make, model = (make or "").strip(), (model or "").strip()
    if model and make and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(p for p in (make, model) if p) or None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())


_OBJECT_WORDS: set[str] | None = None


def object_words() -> set[str]:
    """Words that name things: single words of the tag vocabulary, last words of multi-word tags
    ("retriever"), and common nouns no class covers (people, places, furniture...)."""
    global _OBJECT_WORDS
    if _OBJECT_WORDS is None:
        from photoseek.vision import taxonomy

        found = set(_EXTRA_OBJECT_WORDS)
        for name in taxonomy.vocabulary():
            parts = _words(name)
            if parts:
                found.add(parts[-1])
        _OBJECT_WORDS = {w for w in found if len(w) > 2} - _NOT_OBJECT_WORDS
    return _OBJECT_WORDS


def unsupported_objects(sentence: str, evidence: CaptionEvidence) -> list[str]:
    """Object words in `sentence` that the evidence does not support (empty: the sentence is grounded)."""
    allowed = evidence.allowed_words()
    objects = object_words()
    unsupported = []
    for word in _words(sentence):
        forms = {word, *singular_candidates(word)}
        if forms & objects and not forms & allowed and word not in unsupported:
            unsupported.append(word)
    return unsupported


# -- sentences ------------------------------------------------------------------------------------------


def _with_article(phrase: str) -> str:
    return f"an {phrase}" if phrase[:1].lower() in "aeiou" else f"a {phrase}"


def template_caption(evidence: CaptionEvidence) -> str:
    """A sentence composed from the evidence alone; states nothing else."""
    things: list[str] = []
    if evidence.people:
        things.append("a person" if evidence.people == 1 else
                      f"{_NUMBER_WORDS[evidence.people] if evidence.people <= 10 else evidence.people} people")
    subjects = evidence.subjects[:2] or evidence.broader[:1]
    things += [_with_article(s) for s in subjects]
    if not things:
        sentence = "A photo"
    elif len(things) == 1:
        sentence = f"A photo of {things[0]}"
    else:
        sentence = f"A photo of {', '.join(things[:-1])} and {things[-1]}"
    when = {"night": "at night", "twilight": "at twilight", "day": "during the day"}.get(evidence.time_of_day or "")
    year = evidence.year
    if when or year:
        sentence += ", taken" + (f" {when}" if when else "") + (f" in {year}" if year else "")
    text = evidence.short_text(40)
    if text:
        sentence += f", with the text '{text}'"
    return sentence + "."


def clean_caption(text: str | None) -> str | None:
    """One tidy sentence, or None when the output is empty or garbled."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("caption", ""))
        except (ValueError, AttributeError):
            return None
    text = " ".join(text.replace("\n", " ").split()).strip().strip('"“”`*').strip()
    text = re.sub(r"^(caption|sentence)\s*:\s*", "", text, flags=re.IGNORECASE)
    if not text or "{" in text or "}" in text or "http" in text.lower():
        return None
    words = _words(text)
    letters = sum(ch.isalpha() for ch in text)
    if len(words) < 3 or len(words) > MAX_WORDS or letters < 0.6 * len(text.replace(" ", "")):
        return None
    if len(set(words)) < 0.5 * len(words):  # "cat cat cat cat"
        return None
    if set(words) & _META_WORDS:
        return None
    first_end = re.search(r"[.!?](\s|$)", text)
    if first_end:
        text = text[: first_end.start() + 1]
    text = text[0].upper() + text[1:]
    if text[-1] not in ".!?":
        text += "."
    return text


# -- captioners ---------------------------------------------------------------------------------------------


@dataclass
class CaptionResult:
    caption: str
    captioner_id: str  # who wrote it (stored with the caption)
    done_id: str  # what annotations_done records: the requested captioner's id unless it could not run
    note: str | None = None  # why a fallback was used


class _Unavailable(Exception):
    """The captioner cannot run now (server down, model missing, too slow): use the next one."""


class _Rejected(Exception):
    """The captioner ran but its sentence is unusable (empty, garbled, ungrounded)."""


def _call_with_timeout(function: Callable[[], Any], timeout_s: float, state: dict) -> Any:
    """Run `function` in a daemon thread; give up waiting after `timeout_s` (the call is left to
    finish on its own, and the next call first waits for it so calls never pile up)."""
    previous = state.get("thread")
    if previous is not None and previous.is_alive():
        previous.join(timeout_s)
        if previous.is_alive():
            raise _Unavailable(f"still busy with the previous caption after {timeout_s:.0f} s")
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = function()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = error

    thread = threading.Thread(target=run, name="photoseek-caption", daemon=True)
    state["thread"] = thread
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"no caption after {timeout_s:.0f} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


class CaptionService:
    """Captions photos with the requested captioner, falling back as described in the module doc.

    spec:  'local' | 'template' | 'ollama:MODEL'
    llm:   the local LLM (an LLM instance or a spec for get_llm), None when none is configured.
    """

    def __init__(
        self,
        spec: str = "local",
        *,
        llm: Any = None,
        ollama_host: str | None = None,
        local_timeout_s: float = LOCAL_TIMEOUT_S,
        ollama_timeout_s: float = OLLAMA_TIMEOUT_S,
    ) -> None:
        spec = (spec or "local").strip()
        self.spec = spec
        self.messages: list[str] = []
        self.local_timeout_s = local_timeout_s
        self.ollama_timeout_s = ollama_timeout_s
        self._llm_spec = llm
        self._llm = None
        self._ollama = None
        self._states: dict[str, dict] = {"local": {}, "ollama": {}}
        self._timeouts = {"local": 0, "ollama": 0}
        self._disabled: set[str] = set()
        self._warm = False
        if spec == "template":
            self.chain = ["template"]
        elif spec == "local":
            self.chain = ["local", "template"] if llm is not None else ["template"]
        elif spec.startswith("ollama:") and spec.split(":", 1)[1].strip():
            from photoseek.llm.ollama import OllamaLLM

            self._ollama = OllamaLLM(spec.split(":", 1)[1].strip(), host=ollama_host, timeout=ollama_timeout_s)
            self.chain = ["ollama", "local", "template"] if llm is not None else ["ollama", "template"]
        else:
            raise PhotoseekError(
                f"Unknown captioner {spec!r}: use local (the LLM writes from the evidence), template, or ollama:MODEL."
            )
        if "local" in self.chain:
            try:
                self._local_llm()  # creating a backend loads nothing; a bad spec or missing package shows here
            except PhotoseekError as error:
                self._disable("local", f"The local LLM is not available ({error}); captions use the template.")
                self.chain.remove("local")

    # -- ids ---------------------------------------------------------------------------------------
    def _local_llm(self):
        if self._llm is None:
            from photoseek.llm.base import get_llm

            self._llm = get_llm(self._llm_spec)
        return self._llm

    def captioner_id(self, kind: str) -> str:
        if kind == "template":
            return TEMPLATE_CAPTIONER_ID
        if kind == "ollama":
            return self._ollama.id
        return f"{LOCAL_CAPTIONER_PREFIX}:{self._local_llm().id}"

    @property
    def requested_id(self) -> str:
        """The id a photo's caption must have been done with to count as done for this captioner."""
        return self.captioner_id(self.chain[0])

    # -- captioning ----------------------------------------------------------------------------------
    def caption(self, evidence: CaptionEvidence, load_image: Callable[[], "Image.Image | None"] | None = None) -> CaptionResult:
        requested = self.requested_id
        final = True  # False once a captioner was skipped for being unavailable (retry on a later run)
        note = None
        for kind in self.chain:
            if kind in self._disabled:
                final = False
                continue
            try:
                if kind == "template":
                    text = template_caption(evidence)
                elif kind == "local":
                    text = self._caption_local(evidence)
                else:
                    text = self._caption_ollama(load_image)
            except _Rejected as why:
                note = f"{kind}: {why}"
                continue
            except _Unavailable as why:
                note = f"{kind}: {why}"
                final = False
                continue
            used = self.captioner_id(kind)
            return CaptionResult(text, used, requested if final else used, note if kind != self.chain[0] else None)
        raise AssertionError("the template captioner always answers")  # pragma: no cover

    def _guarded(self, kind: str, timeout_s: float, call: Callable[[], Any]) -> Any:
        try:
            value = _call_with_timeout(call, timeout_s, self._states[kind])
        except (TimeoutError, _Unavailable) as error:
            self._timeouts[kind] += 1
            if self._timeouts[kind] >= MAX_CONSECUTIVE_TIMEOUTS:
                self._disable(kind, f"The {kind} captioner timed out {self._timeouts[kind]} times in a row "
                                    f"(limit {timeout_s:.0f} s a caption); the next captioner takes over for "
                                    f"the rest of this run.")
            raise _Unavailable(str(error)) from None
        except (BackendConnectionError, ModelUnavailableError) as error:
            fallback = "the local LLM" if kind == "ollama" and "local" in self.chain else "the template"
            self._disable(kind, f"{error} Captions fall back to {fallback}.")
            raise _Unavailable(str(error)) from None
        except PhotoseekError as error:
            raise _Rejected(str(error)) from None
        self._timeouts[kind] = 0
        return value

    def _disable(self, kind: str, message: str) -> None:
        if kind in self._disabled:
            return
        self._disabled.add(kind)
        self.messages.append(message)
        log.warning(message)

    def _caption_local(self, evidence: CaptionEvidence) -> str:
        from photoseek.llm.base import Message
        from photoseek.prompts import render

        try:
            llm = self._local_llm()
        except PhotoseekError as error:
            self._disable("local", f"The local LLM is not available ({error}); captions use the template.")
            raise _Unavailable(str(error)) from None
        if not self._warm:
            # loading the weights (the first time: assembling them) is not a caption's time budget
            try:
                llm.warm_up()
            except PhotoseekError as error:
                self._disable("local", f"The local LLM could not be loaded ({error}); captions use the template.")
                raise _Unavailable(str(error)) from None
            self._warm = True
        messages = [
            Message("system", render("caption_from_evidence")),
            Message("user", render("caption_from_evidence_user", **evidence.prompt_variables())),
        ]
        reply = self._guarded(
            "local", self.local_timeout_s, lambda: llm.chat(messages, schema=CAPTION_SCHEMA, max_tokens=60)
        )
        sentence = clean_caption(reply)
        if sentence is None:
            raise _Rejected(f"empty or garbled output {str(reply)[:80]!r}")
        unsupported = unsupported_objects(sentence, evidence)
        if unsupported:
            raise _Rejected(f"names {', '.join(unsupported)}, which the evidence does not show: {sentence!r}")
        return sentence

    def _caption_ollama(self, load_image: Callable[[], "Image.Image | None"] | None) -> str:
        try:
            image = load_image() if load_image is not None else None
        except (PhotoseekError, OSError) as error:
            raise _Unavailable(f"the photo could not be read ({error})") from None  # retried next run
        if image is None:
            raise _Unavailable("the photo could not be read")
        data = jpeg_bytes(image)
        reply = self._guarded("ollama", self.ollama_timeout_s, lambda: self._ollama.caption_image(data))
        sentence = clean_caption(reply)
        if sentence is None:
            raise _Rejected(f"empty or garbled output {str(reply)[:80]!r}")
        return sentence


def jpeg_bytes(image: "Image.Image", long_side: int = 768, quality: int = 85) -> bytes:
    """The photo as a JPEG for a vision model, at most `long_side` pixels on its long side."""
    import io

    small = image.convert("RGB")
    if max(small.size) > long_side:
        small = small.copy()
        small.thumbnail((long_side, long_side))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
