"""People: faces recognised while indexing (dlib, real), grouped into people, named by the user, whose
word survives re-indexing, re-clustering, moves and renames; search by person; forgetting.

Photos: tests/people_support.py (Eileen Collins and Grace Hopper, public domain). The embedder is the
tiny stand-in of tests/index_support.py: nothing here depends on photo vectors, everything on faces.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3

import pytest
from PIL import Image

from photoseek.errors import NotFoundError, PhotoseekError
from photoseek.results import Filters
from photoseek.store.faces import UnknownPersonError
from tests.people_support import copy_library, eileen, people_library, write_people_photos


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("people")
    photos = write_people_photos(root / "photos")
    people_library(root / "lib", root / "photos").close()
    return root, photos


@pytest.fixture
def lib(base, tmp_path):
    root, photos = base
    shutil.copytree(root / "photos", tmp_path / "photos")
    library = copy_library(root / "lib", tmp_path / "lib")
    # the copied catalog names the module's photo folder: point it at this test's copy
    conn = library.catalog.conn
    old, new = str(root / "photos"), str(tmp_path / "photos")
    with library.catalog.transaction():
        for pid, path in conn.execute("SELECT id, display_path FROM photos").fetchall():
            moved = path.replace(old, new)
            conn.execute("UPDATE photos SET path=?, display_path=? WHERE id=?", (os.fsencode(moved), moved, pid))
    yield library
    library.close()


def photo(lib, name: str) -> int:
    return lib.catalog.resolve_photo(str(lib.path.parent / "photos" / f"{name}.jpg"))["id"]


def person_of(lib, name: str, face: int = 1):
    return lib.people().face_in_photo(photo(lib, name), face).person_id


def test_faces_are_recognised_and_grouped_into_two_people(lib):
    people = lib.people().list()
    assert sorted((p.faces, p.photos) for p in people) == [(4, 4), (5, 5)]  # Grace: 3 looks + group; Eileen: 4 + group
    eileen_id, grace_id = person_of(lib, "eileen-orig"), person_of(lib, "grace-orig")
    assert eileen_id != grace_id
    assert {person_of(lib, f"eileen-{look}") for look in ("wide", "narrow", "blur")} == {eileen_id}
    left, right = lib.people().faces_in_photo(photo(lib, "together"))
    assert (left.person_id, right.person_id) == (eileen_id, grace_id) and left.box[0] < right.box[0]
    assert lib.people().faces_in_photo(photo(lib, "coffee")) == []
    crop = Image.open(io.BytesIO(lib.people().crop(left.id)))
    assert crop.format == "JPEG" and crop.size == (128, 128)
    assert all(p.name is None for p in people)


def test_naming_then_searching_by_person(lib):
    people = lib.people()
    named = people.name_face(people.face_in_photo(photo(lib, "eileen-orig"), None).id, "Eileen Collins")
    assert named.name == "Eileen Collins" and named.photos == 5
    people.name(person_of(lib, "grace-wide"), "Grace")

    def found(**filters):
        return {os.path.basename(r.path) for r in lib.search(filters=Filters(**filters), k=50)}

    assert found(person=["eileen collins"]) == {"eileen-orig.jpg", "eileen-wide.jpg", "eileen-narrow.jpg",
                                                  "eileen-blur.jpg", "together.jpg"}
    assert found(person=["Eileen"]) == found(person=["Eileen Collins"])  # one word of a unique name
    assert found(person=["Eileen Collins", "Grace"]) == {"together.jpg"}
    assert "together.jpg" not in found(person=["Eileen Collins"], person_only=True)
    assert found(not_person=["Grace"]) == {"eileen-orig.jpg", "eileen-wide.jpg", "eileen-narrow.jpg", "eileen-blur.jpg",
                                           "coffee.jpg"}
    with pytest.raises(UnknownPersonError, match='No one is named "Eilen Colins".*did you mean "Eileen Collins"'):
        found(person=["Eilen Colins"])  # a typo of a name given: the name, not how to name someone new
    with pytest.raises(UnknownPersonError, match='No one is named "Jennifer Aniston".*people name'):
        lib.search(filters=Filters(person=["Jennifer Aniston"]))
    result = lib.search(filters=Filters(person=["grace"]), k=1)[0]
    assert result.evidence.recognised.keys() == {"Grace"} and result.match == "strong"
    # a name typed in the search text is the person filter, in the library's spelling ("eileen" finds
    # Eileen Collins); a name that is also a word ("grace") only with its capital
    typed = lib.search("eileen", k=10)
    assert {os.path.basename(r.path) for r in typed} == found(person=["Eileen Collins"])
    assert typed[0].evidence.filters_matched["person"] == ["Eileen Collins"]
    assert {os.path.basename(r.path) for r in lib.search("Grace", k=10)} == found(person=["Grace"])
    assert len(lib.search("grace", k=10)) == 9  # a plain search: every photo ranked


def test_the_user_word_survives_recluster_reindex_rename_and_edits(lib):
    people = lib.people()
    face = people.face_in_photo(photo(lib, "eileen-orig"), None)
    people.name_face(face.id, "Eileen")
    grace = people.name(person_of(lib, "grace-orig"), "Grace")
    people.hide(grace.id)
    people.cluster(full=True)
    assert {p.name for p in people.list(hidden=True)} == {"Eileen", "Grace"}
    assert people.get("Grace").hidden and people.get("Eileen").photos == 5
    # renamed and edited files, then the recognition model "changes" (every face computed again)
    folder = lib.path.parent / "photos"
    os.rename(folder / "eileen-orig.jpg", folder / "renamed.jpg")
    with Image.open(folder / "eileen-wide.jpg") as image:
        image.save(folder / "eileen-wide.jpg", quality=70)  # new content, same path
    lib.index([folder], annotate=False)
    with lib.catalog.transaction() as conn:
        conn.execute("DELETE FROM annotations_done WHERE annotator='recognition'")
    lib.annotate(["faces", "recognition"])
    assert {p.name for p in people.list(hidden=True)} == {"Eileen", "Grace"}
    assert people.get("Eileen").photos == 5 and people.get("Grace").photos == 4 and people.get("Grace").hidden
    renamed = people.face_in_photo(lib.catalog.resolve_photo(str(folder / "renamed.jpg"))["id"], None)
    assert renamed.person == "Eileen" and renamed.assigned == "user"  # the face the user named


def test_a_face_said_not_to_be_someone_never_comes_back(lib):
    people = lib.people()
    eileen_id = people.name(person_of(lib, "eileen-orig"), "Eileen").id
    blurred = people.face_in_photo(photo(lib, "eileen-blur"), None)
    after = people.reject(blurred.id, "Eileen")
    assert after.person_id != eileen_id
    people.cluster(full=True)
    assert people.face(blurred.id).person_id != eileen_id
    with lib.catalog.transaction() as conn:  # recognised again (a new model): a new face row
        conn.execute("DELETE FROM annotations_done WHERE annotator='recognition'")
    lib.annotate(["faces", "recognition"])
    again = people.face_in_photo(photo(lib, "eileen-blur"), None)
    assert again.id != blurred.id and again.person_id != eileen_id
    assert people.get("Eileen").photos == 4
    # moving a face says who it is
    people.move(again.id, "Eileen")
    assert people.face(again.id).person == "Eileen" and people.get("Eileen").photos == 5


def test_merge_two_people_into_one_that_stays_merged(lib):
    people = lib.people()
    eileen_id, grace_id = person_of(lib, "eileen-orig"), person_of(lib, "grace-orig")
    people.name(grace_id, "Grace")
    merged = people.merge(eileen_id, "Grace")
    assert merged.id == grace_id and merged.name == "Grace" and merged.faces == 9 and merged.photos == 8
    with pytest.raises(NotFoundError):
        people.resolve(eileen_id)
    people.cluster(full=True)
    assert [(p.name, p.photos) for p in people.list()] == [("Grace", 8)]
    with pytest.raises(PhotoseekError, match="same person"):
        people.merge("Grace", grace_id)


def test_forget_deletes_descriptors_crops_and_names(lib):
    people = lib.people()
    people.name(person_of(lib, "grace-orig"), "Grace")
    people.name(person_of(lib, "eileen-orig"), "Eileen")
    report = people.forget("Grace")
    assert report.people == 1 and report.faces == 4
    conn = lib.catalog.conn
    assert conn.execute("SELECT count(*) FROM faces").fetchone()[0] == 5  # Eileen's
    assert conn.execute("SELECT count(*) FROM face_crops").fetchone()[0] == 5
    assert conn.execute("SELECT count(*) FROM people WHERE name='Grace'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM face_verdicts v JOIN people p ON p.id = v.person_id").fetchone()[0] \
        == conn.execute("SELECT count(*) FROM face_verdicts").fetchone()[0]
    with pytest.raises(UnknownPersonError):
        lib.search(filters=Filters(person=["Grace"]))
    people.forget()
    for table in ("faces", "face_crops", "people", "face_verdicts"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert not list((lib.path / "vectors").glob("faces.g*"))  # no cached descriptors either
    lib.close()
    raw = (lib.path / "catalog.sqlite3").read_bytes()
    assert b"Eileen" not in raw and b"Grace" not in raw  # secure_delete: the names are overwritten


def test_copies_are_the_same_person_and_duplicates_make_no_person(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    image = eileen()
    image.save(folder / "a.jpg", quality=92)
    shutil.copy(folder / "a.jpg", folder / "a-copy.jpg")
    image.save(folder / "a-q60.jpg", quality=60)
    image.resize((460, 460)).save(folder / "a-small.jpg", quality=88)
    lib = people_library(tmp_path / "lib", folder)
    faces = lib.catalog.conn.execute("SELECT count(*) FROM faces").fetchone()[0]
    assert faces == 4 and lib.people().list() == []  # four copies of one face: nobody yet
    named = lib.people().name_face(lib.people().face_in_photo(lib.catalog.resolve_photo(str(folder / "a.jpg"))["id"],
                                                              None).id, "Eileen")
    assert named.photos == 4 and len(lib.people().list()) == 1  # the copies join her: no second person
    lib.close()


def test_face_recognition_can_be_turned_off_and_is_remembered(tmp_path):
    from photoseek.library import Library
    from tests.index_support import TinyEmbedder

    folder = tmp_path / "photos"
    folder.mkdir()
    eileen().save(folder / "a.jpg")
    lib = Library(tmp_path / "lib", embedder=TinyEmbedder(), llm=None)
    lib.index([folder], face_recognition=False)
    count = lambda: lib.catalog.conn.execute("SELECT count(*) FROM faces").fetchone()[0]  # noqa: E731
    assert count() == 0 and not lib.face_recognition
    eileen().rotate(3).save(folder / "b.jpg")
    lib.index([folder])  # remembered
    assert count() == 0 and "recognition" not in lib.stats()["annotations_pending"]
    lib.index([folder], face_recognition=True)  # back on: every photo recognised, each decoded once
    assert count() == 2 and lib.face_recognition
    lib.close()


def test_a_crowd_photo_is_described_in_bounded_time():
    from photoseek.vision.face_descriptors import MAX_FACES_PER_PHOTO, describe_faces
    from photoseek.vision.faces import Face, people_detector

    portrait = eileen()
    face = people_detector().detect_people_and_faces(portrait)[1][0]
    crowd = Image.new("RGB", (512 * 8, 512 * 5))
    found = []
    for row in range(5):
        for column in range(8):
            crowd.paste(portrait, (column * 512, row * 512))
            found.append(Face(face.x + column * 512, face.y + row * 512, face.width, face.height, face.confidence,
                              "face", tuple((x + column * 512, y + row * 512) for x, y in face.keypoints)))
    described = describe_faces(crowd, found)  # 40 faces found: the largest MAX_FACES_PER_PHOTO described
    assert len(described) == MAX_FACES_PER_PHOTO < len(found)


def test_the_people_commands(lib, tmp_path, capsys):
    import json

    from photoseek.cli import main

    library = ["--library", str(lib.path), "--llm", "none", "--embedder", "conse"]
    folder = lib.path.parent / "photos"
    lib.close()

    def run(*args) -> str:
        assert main([*library, *args]) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    listed = json.loads(run("people", "--json"))
    assert len(listed["people"]) == 2 and listed["face_recognition"] is True
    faces = json.loads(run("people", "faces", str(folder / "together.jpg"), "--json"))["faces"]
    assert [f["face"] for f in faces] == [1, 2]
    assert main([*library, "people", "name", "--photo", str(folder / "together.jpg"), "Grace"]) == 1
    assert "has 2 faces (left to right: 1, 2); say which with --face N" in capsys.readouterr().err
    said = run("people", "name", "--photo", str(folder / "together.jpg"), "--face", "2", "Grace Hopper")
    assert "is now Grace Hopper" in said
    sheet = tmp_path / "grace.png"
    shown = json.loads(run("people", "show", "Grace Hopper", "--out", str(sheet), "--json"))
    assert shown["person"]["photos"] == 4 and Image.open(sheet).size[0] > 0
    forgot = json.loads(run("people", "forget", "--all", "--yes", "--json"))
    assert forgot["faces"] == 9 and "off" in forgot["notes"][0]
    assert "Face recognition is off" in run("people")


def test_chat_lists_the_people_and_draws_a_persons_faces(lib):
    from rich.console import Console

    from photoseek.agent.repl import run_repl
    from photoseek.agent.session import Session

    lib.people().name(person_of(lib, "eileen-orig"), "Eileen")
    out = io.StringIO()
    console = Console(file=out, width=140, force_terminal=False, color_system=None)
    run_repl(lib, console, session=Session(lib, llm=None),
             lines=["/people", "/people Eileen", "/people Jennifer Aniston", "/quit"])
    text = out.getvalue()
    listing = text.split("you> /people Eileen")[0]
    assert "Eileen" in listing and "unnamed" in listing and "1 unnamed: /people ID draws their faces" in listing
    assert re.search(r"Eileen\s+│\s+5\s+│\s+5", listing)  # faces, photos
    shown = text.split("you> /people Eileen")[1].split("you> /people Jennifer")[0]
    assert "Eileen: 5 faces in 5 photos" in shown
    sheet = re.search(r"their faces: (\S+\.png)", shown)
    assert sheet and Image.open(sheet.group(1)).size[0] >= 5 * 128
    assert 'No one is named "Jennifer Aniston"' in text.split("you> /people Jennifer Aniston")[1]


def test_eval_people_with_the_labels_as_given_and_audited(tmp_path):
    from photoseek.evaluate.people import eval_people

    folder = tmp_path / "labelled"
    photos = write_people_photos(folder / "images")
    rows = ["file,person"] + [f"images/{path.name},{name.split('-')[0].title()}" for name, path in photos.items()
                              if name.startswith(("eileen", "grace"))]
    rows += ["images/together.jpg,Eileen", "images/together.jpg,Grace"]
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    audit = tmp_path / "audit.csv"
    audit.write_text("# the wide Grace is someone else; the blurred Eileen unsure\nfile,person,verdict,note\n"
                     "images/grace-wide.jpg,Grace,not_person,a look-alike\n"
                     "images/eileen-blur.jpg,Eileen,uncertain,\n")
    lib = people_library(tmp_path / "lib", folder / "images")
    try:
        result = eval_people(folder, library=lib, audit=audit)
    finally:
        lib.close()
    assert (result["pairwise_precision"], result["pairwise_recall"]) == (1.0, 1.0)
    assert result["pairwise_faces"] == 7 and result["people_made"] == 2
    assert (result["precision"], result["recall"]) == (1.0, 1.0)
    assert result["per_person"]["Grace"]["relevant"] == 4 and result["per_person"]["Grace"]["named_by"] == "images/grace-narrow.jpg"
    assert set(result["halves"]) == {"A", "B"} and result["halves"]["A"]["people"] == ["Eileen"]
    audited = result["audited"]
    assert audited["changed"] == {"not_person": 1, "uncertain": 1}
    # the look-alike found for Grace is a wrong answer now; the unsure Eileen neither right nor wrong
    assert audited["per_person"]["Grace"]["relevant"] == 3 and audited["per_person"]["Grace"]["wrong"] == ["images/grace-wide.jpg"]
    assert audited["per_person"]["Grace"]["precision"] == 0.75
    assert audited["per_person"]["Eileen"]["relevant"] == 4 and audited["per_person"]["Eileen"]["precision"] == 1.0
    assert audited["pairwise_faces"] == 5
    bad = tmp_path / "bad.csv"
    bad.write_text("file,person,verdict\nimages/grace-wide.jpg,Grace,maybe\n")
    with pytest.raises(PhotoseekError, match="'maybe' .* not one of not_person, uncertain, other_face"):
        eval_people(folder, audit=bad)  # read before anything is indexed
