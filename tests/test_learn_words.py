"""Taught words (photoseek.learn): a word given to a few photos is learned and tags the rest; the
user's word always wins; forgetting removes only what was learned; libraries keep their own words.

The bookkeeping tests use tests/index_support.TinyEmbedder (8-number vectors from each photo's
colours, no model): what they check is which rows are written and kept, and a library of red photos
among others of many colours gives the learner a subject to find. The end-to-end test at the bottom
indexes real photos with the real embedder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from photoseek.errors import NotFoundError, PhotoseekError
from photoseek.library import Library
from photoseek.results import Filters
from photoseek.search.filters import filter_photo_ids, fulltext_search
from photoseek.store.schema import SCHEMA_VERSION
from photoseek.store.words import learned_tags
from tests.index_support import TinyEmbedder, colors, make_photo

WORD = "my bike"


def _subject(path: Path, shade: int) -> Path:
    """A photo of "the subject": red in the upper left, dark elsewhere (a layout no other photo has)."""
    from PIL import Image, ImageDraw

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (96, 64), (20, 20, 30 + shade))
    ImageDraw.Draw(image).rectangle((0, 0, 47, 31), fill=(210 + shade, 30, 30))
    image.save(path, quality=92)
    return path


def _photos(folder: Path, reds: int = 6, others: int = 24, start: int = 0, prefix: str = "") -> tuple[list[Path], list[Path]]:
    """`reds` photos of one subject and `others` of other colours (gradients, tests.index_support)."""
    red = [_subject(folder / f"{prefix}red_{start + i:02d}.jpg", 4 * ((start + i) % 8)) for i in range(reds)]
    other = [make_photo(folder / f"{prefix}other_{start + i:02d}.jpg", color=c)
             for i, c in enumerate(colors(start + others)[start:])]
    return red, [Path(p.decode()) for p in other]


def _library(path: Path, photos: Path) -> Library:
    library = Library(path, embedder=TinyEmbedder(), llm=None, captioner="template")
    library.index([photos], annotate=False)
    return library


def _ids(library: Library, paths) -> list[int]:
    return [library.catalog.resolve_photo(str(p))["id"] for p in paths]


@pytest.fixture
def taught(tmp_path):
    """A library of 6 red photos among 24 others, "my bike" taught from 3 of the reds."""
    reds, others = _photos(tmp_path / "photos")
    library = _library(tmp_path / "lib", tmp_path / "photos")
    status = library.teach(WORD, _ids(library, reds[:3]))
    yield library, _ids(library, reds), _ids(library, others), status
    library.close()


def test_fewer_than_three_examples_say_how_many_more(tmp_path):
    reds, _ = _photos(tmp_path / "photos")
    with _library(tmp_path / "lib", tmp_path / "photos") as library:
        first, second = _ids(library, reds[:2])
        status = library.teach(WORD, [first])
        assert (status.state, status.needs) == ("learning", 2)
        assert "give it to 2 more" in status.sentence()
        shown = library.tag(second, add=[WORD])
        assert shown["taught"][0]["needs"] == 1 and "give it to 1 more" in shown["taught"][0]["summary"]
        assert learned_tags(library.catalog.conn, WORD) == {}  # nothing learned yet: the word stays on its photos
        assert {t["tag"]: t["source"] for t in shown["tags"]}[WORD] == "user"
        assert [w.to_dict()["needs"] for w in library.words()] == [1]
        # a ✗ of a word no one gave to a photo corrects the models; it is not a word being taught
        assert library.tag(second, remove=["sawmill"])["taught"] == []


def test_a_taught_word_tags_the_photos_like_its_examples(taught):
    library, reds, others, status = taught
    assert status.state == "learned" and status.examples == 3
    tagged = learned_tags(library.catalog.conn, WORD)
    assert set(tagged) and set(tagged) <= set(reds[3:]), "only the other red photos get the learned tag"
    assert all(0.7 <= c <= 1.0 for c in tagged.values())
    assert status.tagged == len(tagged) and status.precision == pytest.approx(sum(tagged.values()) / len(tagged), abs=1e-3)
    # visible as any tag is, with its source
    some = next(iter(tagged))
    shown = {t["tag"]: t for t in library.show(some)["tags"]}
    assert shown[WORD]["source"] == "learned" and shown[WORD]["learned_from"] == 3
    # the tag filter, full text and a search see it; the search says where it comes from
    assert set(tagged) | set(reds[:3]) == filter_photo_ids(library.catalog, Filters(tags=[WORD]))
    assert set(tagged) <= {pid for pid, _, _ in fulltext_search(library.catalog, "bike", column="tags")}
    results = {r.id: r for r in library.search(WORD, k=12)}
    learned = [r for pid, r in results.items() if pid in tagged]
    assert learned and all(r.match == "strong" and r.evidence.learned[WORD]["examples"] == 3 for r in learned)
    from photoseek.agent.explain import compose_explanation

    reason = compose_explanation(learned[0].evidence, WORD, learned[0].match)
    assert '"bike": learned from the 3 photos you marked' in reason


def test_each_new_example_or_rejection_updates_the_word_at_once(taught):
    library, reds, others, status = taught
    version = library.catalog.conn.execute("SELECT version FROM learned_words WHERE word=?", (WORD,)).fetchone()[0]
    shown = library.tag(reds[3], add=[WORD])
    assert shown["taught"][0]["examples"] == 4
    assert reds[3] not in learned_tags(library.catalog.conn, WORD)  # the user's own tag covers it now
    shown = library.tag(others[0], remove=[WORD])
    assert shown["taught"][0]["rejections"] == 1
    after = library.catalog.conn.execute("SELECT version FROM learned_words WHERE word=?", (WORD,)).fetchone()[0]
    assert after == version + 2


def test_a_rejection_is_never_overridden(taught, tmp_path):
    library, reds, others, status = taught
    tagged = learned_tags(library.catalog.conn, WORD)
    refused = next(iter(tagged))
    library.tag(refused, remove=[WORD])
    assert refused not in learned_tags(library.catalog.conn, WORD)
    assert WORD not in {t["tag"] for t in library.show(refused)["tags"]}
    assert refused not in filter_photo_ids(library.catalog, Filters(tags=[WORD]))
    # more examples, a full re-learning and a re-index do not bring it back
    library.tag(reds[4], add=[WORD])
    library.taught.retag_all()
    shutil.copy(tmp_path / "photos" / "red_05.jpg", tmp_path / "photos" / "red_copy.jpg")
    library.index([tmp_path / "photos"], annotate=False)
    assert refused not in learned_tags(library.catalog.conn, WORD)
    assert library.word(WORD).rejections == 1


def test_forgetting_removes_only_the_learned_tags(taught, tmp_path):
    library, reds, others, status = taught
    assert learned_tags(library.catalog.conn, WORD)
    forgotten = library.forget(WORD)
    assert forgotten.state == "forgotten" and forgotten.removed == status.tagged
    assert learned_tags(library.catalog.conn, WORD) == {}
    for pid in reds[:3]:  # the user's own tags stay
        assert {t["tag"]: t["source"] for t in library.show(pid)["tags"]}[WORD] == "user"
    # a re-index does not learn it again; giving it to a photo again does
    library.index([tmp_path / "photos"], annotate=False)
    assert learned_tags(library.catalog.conn, WORD) == {} and library.word(WORD).state == "forgotten"
    assert library.tag(reds[3], add=[WORD])["taught"][0]["state"] == "learned"
    assert learned_tags(library.catalog.conn, WORD)
    with pytest.raises(NotFoundError, match="No taught word"):
        library.forget("never taught")


def test_a_taught_word_tags_new_photos_at_the_next_index(taught, tmp_path):
    library, reds, others, status = taught
    new_reds, new_others = _photos(tmp_path / "photos", reds=2, others=3, start=24, prefix="new_")
    report = library.index([tmp_path / "photos"], annotate=False)
    assert report.added == 5 and "words" in report.stages
    tagged = learned_tags(library.catalog.conn, WORD)
    assert set(_ids(library, new_reds)) <= set(tagged)
    assert not set(_ids(library, new_others)) & set(tagged)


def test_two_libraries_keep_their_words_apart(tmp_path):
    reds, others = _photos(tmp_path / "photos")
    with _library(tmp_path / "a", tmp_path / "photos") as first, _library(tmp_path / "b", tmp_path / "photos") as second:
        first.teach(WORD, _ids(first, reds[:3]))
        assert [w.word for w in first.words()] == [WORD] and second.words() == []
        assert learned_tags(second.catalog.conn, WORD) == {}
        second.teach("sunset", _ids(second, others[:3]))
        second.forget("sunset")
        assert [w.word for w in first.words()] == [WORD] and first.word(WORD).state == "learned"
        assert learned_tags(first.catalog.conn, WORD)
        with pytest.raises(NotFoundError):
            first.forget("sunset")


def test_words_other_annotators_answer_for_are_not_learned(tmp_path):
    reds, _ = _photos(tmp_path / "photos")
    with _library(tmp_path / "lib", tmp_path / "photos") as library:
        with pytest.raises(PhotoseekError, match="own annotators"):
            library.teach("night", _ids(library, reds[:3]))
        for pid in _ids(library, reds[:3]):
            assert library.tag(pid, add=["night"])["taught"] == []  # the ✓ corrects that photo, as before
        assert library.words() == [] and library.word("night").state == "reserved"
        assert not library.catalog.conn.execute("SELECT 1 FROM tags WHERE source='learned'").fetchone()


def test_the_schema_migrates_and_an_empty_word_is_refused(tmp_path):
    reds, _ = _photos(tmp_path / "photos", reds=1, others=1)
    with _library(tmp_path / "lib", tmp_path / "photos") as library:
        assert library.catalog.schema_version == SCHEMA_VERSION
        with pytest.raises(PhotoseekError, match="word"):
            library.teach("  ", [1])
        with pytest.raises(NotFoundError):
            library.teach(WORD, [999])


# -- chat: the user's own words teach, by rules; the model never does ------------------------------------


def test_chat_teaches_from_the_users_words(taught):
    from photoseek.agent.session import Session

    library, reds, others, status = taught
    library.forget(WORD)
    session = Session(library, llm=None)
    answer = session.ask("red photos")
    shown = [r.id for r in answer.results]
    numbers = [shown.index(pid) + 1 for pid in reds[3:5] if pid in shown]
    assert len(numbers) == 2, "the search shows two of the other red photos"
    answer = session.ask(f"#{numbers[0]} and #{numbers[1]} are my bikes")
    assert answer.error is None and 'Taught "my bike"' in answer.text
    assert answer.results == [r for r in session.last_answer.results]  # the grid stays for the next "#N"
    assert library.word(WORD).examples == 5
    wrong = [i + 1 for i, pid in enumerate(shown) if pid in others][0]
    answer = session.ask(f"#{wrong} is not my bike")
    assert answer.error is None and library.word(WORD).rejections == 1
    session.focus = others[1]
    assert "Taught" in session.ask("this one is my bike too").text
    assert library.word(WORD).examples == 6
    assert "no #99" in session.ask("#99 is my bike").text


def test_the_model_cannot_teach(taught):
    """A planner's output (a model, possibly steered by text read in a photo) only searches."""
    from photoseek.agent.session import Session
    from tests.agent_support import ScriptedLLM

    library, reds, others, status = taught
    before = library.word(WORD).examples
    llm = ScriptedLLM(default={"tool": "text_search", "query": "#1 is my bike"})
    answer = Session(library, llm=llm).ask("bikes")
    assert answer.plan is not None and [c.tool for c in answer.plan.calls] == ["text_search"]
    assert library.word(WORD).examples == before


def test_reading_a_teaching_message():
    from photoseek.agent.teaching import read_teaching

    assert read_teaching("#3 is a giraffe too") == read_teaching("3 is a giraffe")
    taught = read_teaching("#2 and #5 are giraffes")
    assert (taught.word, taught.numbers, taught.rejected) == ("giraffe", (2, 5), False)
    assert read_teaching("#4 isn't our cabin").rejected and read_teaching("#4 isn't our cabin").word == "our cabin"
    assert read_teaching("this one is grandma").this
    for other in ("is #3 a giraffe?", "#2 is the best", "more like 2 and 5", "#3 is at night", "this is wrong",
                  "giraffes in 2019", "#1 is from 2019"):
        assert read_teaching(other) is None, other


# -- CLI, API, MCP -------------------------------------------------------------------------------------------


def test_cli_teach_words_forget(taught, capsys, monkeypatch):
    import photoseek.cli as cli

    library, reds, others, status = taught
    monkeypatch.setattr(cli, "_library", lambda args: library)
    assert cli.main(["words", "--json"]) == 0
    words = json.loads(capsys.readouterr().out)
    assert words[0]["word"] == WORD and words[0]["state"] == "learned" and words[0]["examples"] == 3
    assert cli.main(["teach", "sunset", str(others[0])]) == 0
    assert "give it to 2 more" in capsys.readouterr().out
    assert cli.main(["teach", WORD, str(reds[3]), "--not", str(others[1]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["examples"] == 4
    assert cli.main(["words"]) == 0
    table = capsys.readouterr().out
    assert WORD in table and "needs 2 more" in table
    assert cli.main(["forget", WORD]) == 0
    assert "your own 4 stay" in capsys.readouterr().out
    assert cli.main(["forget", "nothing"]) == 1
    assert "No taught word" in capsys.readouterr().err


def test_api_and_page_show_and_change_taught_words(taught):
    from fastapi.testclient import TestClient

    from photoseek.web.app import create_app
    from photoseek.web.state import AppState

    library, reds, others, status = taught
    client = TestClient(create_app(AppState(library)), base_url="http://127.0.0.1")
    words = client.get("/api/words").json()
    assert words[0]["word"] == WORD and words[0]["tagged"] == status.tagged
    assert "learned from the 3 photos you marked" in words[0]["summary"]
    page = client.get("/words").text
    assert WORD in page and "Forget" in page
    photo = client.get(f"/photo/{next(iter(learned_tags(library.catalog.conn, WORD)))}").text
    assert "learned from the 3 photos you marked" in photo
    changed = client.post("/api/words", json={"word": WORD, "photos": [reds[3]], "not_photos": [others[0]]}).json()
    assert (changed["examples"], changed["rejections"]) == (4, 1)
    tagged = client.post(f"/api/photos/{reds[4]}/tags", json={"add": [WORD]}).json()
    assert tagged["taught"][0]["examples"] == 5
    assert client.post("/api/words", json={"word": WORD, "photos": [999999]}).status_code == 404
    gone = client.delete(f"/api/words/{WORD}").json()
    assert gone["state"] == "forgotten" and learned_tags(library.catalog.conn, WORD) == {}


def test_mcp_lists_taught_words(taught):
    from photoseek.web.mcp_server import MCP_TOOLS, tool_payload

    library, *_ = taught
    assert "taught_words" in MCP_TOOLS
    payload, thumbs = tool_payload(library, "taught_words", {})
    assert 'learned from the 3 photos you marked' in payload["text"] and thumbs == []


# -- end to end: real photos, the real embedder --------------------------------------------------------------


def _coco_files(coco: Path, word: str, subjects: int, others: int,
                unlike: tuple[str, ...] = ("train", "tram", "truck", "trolley", "car", "van")) -> tuple[list[str], list[str]]:
    """COCO photos at least 3 of whose captions name `word`, and photos whose captions name neither it
    nor anything `unlike` (things a bus is easily taken for)."""
    rows = [json.loads(line) for line in (coco / "captions.jsonl").read_text().splitlines() if line.strip()]
    named = [r["file"] for r in rows if sum(word in c.lower() for c in r["captions"]) >= 3][:subjects]
    unnamed = [r["file"] for r in rows
               if not any(w in c.lower().split() or word in c.lower() for c in r["captions"] for w in unlike)][:others]
    return named, unnamed


@pytest.fixture
def bus_library(tmp_path):
    """64 COCO photos (7 buses), indexed with the default embedder; 3 buses and 3 others held back."""
    from tests.conftest import shared_data

    coco = shared_data("coco-captions")
    root = tmp_path / "bus"
    buses, others = _coco_files(coco, "bus", 10, 60)
    (root / "photos").mkdir(parents=True)
    for name in buses[:7] + others[:57]:
        shutil.copy(coco / name, root / "photos" / Path(name).name)
    with Library(root / "lib", llm=None, captioner="template") as library:
        library.index([root / "photos"], annotate=False)
    return root, coco, buses, others


def test_a_word_taught_from_real_photos_tags_new_ones_at_the_next_index(bus_library):
    root, coco, buses, others = bus_library
    with Library(root / "lib", llm=None, captioner="template") as library:
        ids = {Path(r["display_path"]).name: r["id"] for r in library.catalog.conn.execute("SELECT id, display_path FROM photos")}
        status = library.teach("my commute", [ids[Path(n).name] for n in buses[:3]])  # a word no model knows
        assert status.state == "learned"
        assert set(learned_tags(library.catalog.conn, "my commute")) <= {ids[Path(n).name] for n in buses[3:7]}
        # new photos: the same buses taken again (cropped: other pixels, another file) and 3 other photos
        from PIL import Image

        again = []
        for name in buses[:3]:
            with Image.open(coco / name) as image:
                width, height = image.size
                image.crop((width // 12, height // 12, width - width // 12, height - height // 12)).save(
                    root / "photos" / f"again_{Path(name).name}", quality=88)
            again.append(f"again_{Path(name).name}")
        for name in others[57:60]:
            shutil.copy(coco / name, root / "photos" / Path(name).name)
        assert library.index([root / "photos"], annotate=False).added == 6
        ids = {Path(r["display_path"]).name: r["id"] for r in library.catalog.conn.execute("SELECT id, display_path FROM photos")}
        tagged = learned_tags(library.catalog.conn, "my commute")
        assert {ids[n] for n in again} <= set(tagged), "the new photos of the subject get the learned word"
        assert not set(tagged) & {ids[Path(n).name] for n in others[57:60]}


def test_eval_teach_scores_a_labelled_folder_without_changing_the_library(bus_library, tmp_path):
    from photoseek.evaluate.teach import eval_teach

    root, coco, buses, others = bus_library
    folder = tmp_path / "labelled"
    shutil.copytree(root / "photos", folder)
    (folder / "concepts.jsonl").write_text(json.dumps({"query": "bus", "relevant": [Path(n).name for n in buses[:7]]}) + "\n")
    with Library(root / "lib", llm=None, captioner="template") as library:
        result = eval_teach(folder, library=library, examples=[3])
        assert library.words() == []  # taught in a copy
    figures = result["curve"][3]
    assert figures["concepts"] == 1 and result["per_concept"][0]["relevant"] == 4
    for kind in ("taught", "text", "feedback"):
        assert 0.0 <= figures[kind]["mAP@200"] <= 1.0 and 0.0 <= figures[kind]["F1"] <= 1.0
    assert figures["taught"]["mAP@200"] >= figures["feedback"]["mAP@200"] - 0.05


def test_a_word_taught_again_after_it_was_dropped_is_learned_anew(taught):
    """A word nobody gives any more is dropped (its record too); taught again from other photos in the
    same process, the search must use the new model, not one remembered from before."""
    from photoseek.store.feedback import clear_tag_feedback

    library, reds, others, status = taught
    before = library.taught.scores(WORD)[1].copy()
    for pid in reds[:3]:
        clear_tag_feedback(library.catalog, pid, [WORD])
    assert library.taught.learn(WORD).state == "learning" and library.taught.scores(WORD) is None
    library.teach(WORD, others[:3])
    after = library.taught.scores(WORD)[1]
    assert not (abs(after - before) < 1e-6).all()


def test_the_page_teaches_a_word_says_where_it_stands_and_forgets_it(taught):
    """In a real browser: "add a tag" on a photo's page says how the word stands, the results opened
    afterwards are searched again (not restored from before), Your words lists it, Forget forgets it."""
    from tests.test_web_browser import CHROMIUM, CHROMIUM_ARGS
    from tests.web_support import running_server

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    from photoseek.web.state import AppState

    library, reds, others, status = taught
    with running_server(AppState(library)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/photo/{reds[3]}")
        page.fill("#add-tag input", WORD)
        page.click("#add-tag button")
        page.wait_for_selector("#taught:not([hidden])")
        assert "learned from the 4 photos you marked" in page.inner_text("#taught")
        page.goto(f"{url}/words")
        assert WORD in page.inner_text("#words") and "learned" in page.inner_text("#words")
        page.on("dialog", lambda dialog: dialog.accept())
        page.click(f'button.forget[data-word="{WORD}"]')
        page.wait_for_function("(document.querySelector('#words tbody') || {textContent: ''}).textContent"
                               ".includes('forgotten')")
        browser.close()
    assert library.word(WORD).state == "forgotten" and learned_tags(library.catalog.conn, WORD) == {}


def test_chat_repl_teaches_and_lists_words(taught):
    from io import StringIO

    from rich.console import Console

    from photoseek.agent.repl import run_repl
    from photoseek.agent.session import Session

    library, reds, others, status = taught
    out = StringIO()
    run_repl(library, Console(file=out, width=160, force_terminal=False), session=Session(library, llm=None),
             lines=["red photos", "#1 is our cabin", "/words", "/forget our cabin", "/forget"])
    text = out.getvalue()
    assert 'Taught "our cabin" with #1.' in text and "give it to 2 more" in text
    assert text.split('Taught "our cabin"')[1].split("you>")[0].count("more:") == 0  # no "N more" page note
    assert '"my bike": learned from the 3 photos you marked' in text
    assert 'Forgot "our cabin"' in text and "Say which word" in text


def test_a_word_that_names_a_person_is_left_to_face_recognition(taught):
    """A person the user named (photoseek.people) is found by their face; the same word is not also
    learned from whole photos, and naming someone after a word was learned takes its learned tags back."""
    from photoseek.store.catalog import utc_now

    library, reds, others, status = taught
    with library.catalog.transaction() as conn:
        conn.execute("INSERT INTO people(name, hidden, created_at, named_at) VALUES (?, 0, ?, ?)",
                     ("My Bike", utc_now(), utc_now()))
    assert library.word(WORD).state == "person"
    again = library.tag(reds[3], add=[WORD])["taught"][0]
    assert again["state"] == "person" and "finds them by their face" in again["summary"]
    assert learned_tags(library.catalog.conn, WORD) == {}
    assert {t["tag"]: t["source"] for t in library.show(reds[0])["tags"]}[WORD] == "user"


def _features(n: int = 200, dims: int = 8, seed: int = 0):
    """Random word features (no library): what photoseek.learn.model trains over."""
    import numpy as np

    from photoseek.learn.features import WordFeatures

    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(n, dims)).astype(np.float32)
    return WordFeatures(ids=np.arange(1, n + 1, dtype=np.int64), matrix=matrix, variances=matrix.var(axis=0),
                        joint_basis=None, key="test")


def test_the_taggers_class_counts_as_far_as_your_rejections_leave_it():
    """A taught word named like a tagger class ("dog") is helped by the tagger's confidence; but when
    the user rejects photos the tagger calls a dog as surely as their examples, their word is not
    "any dog", and the class stops counting for it (a photo the tagger is sure of no longer stands out)."""
    import numpy as np

    from photoseek.learn.model import TAGGER_WEIGHT, WordModel, fit, tagger_weight

    features = _features()
    tagger = np.zeros(len(features), np.float32)
    examples, rejections, other = np.array([0, 1, 2]), np.array([3, 4]), 150
    tagger[[0, 1, 2, other]] = 0.9
    assert tagger_weight(tagger, examples, np.array([], np.int64)) == TAGGER_WEIGHT
    assert tagger_weight(tagger, examples, np.array([10, 11])) == TAGGER_WEIGHT  # rejected photos the tagger does not call it
    tagger[[3, 4]] = 0.9
    assert tagger_weight(tagger, examples, rejections) == 0.0
    tagger[4] = 0.0
    assert tagger_weight(tagger, examples, rejections) == pytest.approx(TAGGER_WEIGHT / 2)
    tagger[4] = 0.9

    helped = fit(features, examples, np.array([], np.int64), tagger=tagger)
    alone = fit(features, examples, rejections, tagger=tagger)
    assert helped.standings(features, tagger)[other] - helped.standings(features)[other] == pytest.approx(
        0.9 * TAGGER_WEIGHT, abs=1e-4)
    assert alone.tagger_weight == 0.0 and alone.standings(features, tagger)[other] == pytest.approx(
        alone.standings(features)[other], abs=1e-5)
    stored = WordModel.from_storage(*alone.to_storage())  # what is kept is what scored
    assert stored.tagger_weight == 0.0 and stored.version == alone.version


def test_a_model_stored_by_an_older_version_is_trained_again_before_a_search_uses_it(taught):
    """When photoseek's learner changes (MODEL_VERSION), a word stored by the older one is not used as
    it was stored: the search trains it again over the same examples (the next index run rewrites it)."""
    from photoseek.learn.model import MODEL_VERSION
    from photoseek.store.words import save_word, word_record

    library, reds, others, status = taught
    record = word_record(library.catalog.conn, WORD)
    assert record.details["version"] == MODEL_VERSION
    stale = dict(record.details, version=MODEL_VERSION - 1, learned_spread=[0.0, 1e6])  # standings all ~0
    with library.catalog.transaction() as tx:
        save_word(tx, WORD, record.model, stale)
    library.taught._models.clear()
    model, _ = library.taught.model(WORD)
    assert model.version == MODEL_VERSION and model.learned_spread[1] < 1e6
    assert library.search(WORD, k=3)[0].id in reds


def test_photos_standing_above_where_the_examples_stand_are_tagged_less_so_in_a_larger_library():
    """The confidence's part from the examples: a photo standing well above the examples' held-out
    standing shows the word (a kitchen among rooms, which the library-wide part would not tag); the
    same standing among 100 times more photos that are not the word is no longer enough."""
    import numpy as np

    from photoseek.learn.model import TAG_CONFIDENCE, mixture_confidence

    rng = np.random.default_rng(0)
    held_out = np.array([3.0, 3.5, 4.0])
    word = np.full(20, 8.0)  # 20 photos standing 4.5 above the examples' mean held-out standing
    small = np.concatenate([word, rng.normal(size=440)])
    large = np.concatenate([word, rng.normal(size=44_000)])
    in_small = mixture_confidence(small, 3.5, 3, held_out)[0][:20]
    in_large = mixture_confidence(large, 3.5, 3, held_out)[0][:20]
    without = mixture_confidence(small, 3.5, 1, held_out[:1])[0][:20]  # one example: nothing held out
    assert (in_small >= TAG_CONFIDENCE).all()
    assert (in_large < in_small).all() and (without < in_small).all()


def test_a_word_learned_that_tags_nothing_says_what_to_do():
    from photoseek.learn.words import WordStatus

    said = WordStatus("giraffe", "learned", examples=3, tagged=0).sentence()
    assert "no other photo looks enough like them" in said and "give it to a few more" in said
    assert "tags 5 other photos" in WordStatus("giraffe", "learned", examples=3, tagged=5).sentence()
