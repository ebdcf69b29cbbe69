"""People detection with MediaPipe's BlazePose + BlazeFace graphs (inside the mediapipe==0.10.21
wheel, run by LiteRT) on real photos from scikit-image; its recall and precision on COCO are
measured by bench/people.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import skimage.data
from PIL import Image

from photoseek.errors import ModelUnavailableError
from photoseek.vision import faces
from photoseek.vision.faces import Face, count_people, detect_faces, merge_overlapping, people_tags, square_views


def test_one_person_in_the_astronaut_portrait():
    image = Image.fromarray(skimage.data.astronaut())
    found = detect_faces(image)
    assert len(found) == 1  # the face and the person box of Eileen Collins merge into one
    head = found[0]
    # her face is in the upper middle of the 512x512 portrait
    assert 120 < head.x + head.width / 2 < 320 and 40 < head.y + head.height / 2 < 200
    assert people_tags(len(found)) == [("person", 1.0)]
    assert faces.FACE_DETECTOR.min_score <= head.confidence <= 1.0 and count_people(image) == 1
    # the same person found on a 4x larger copy, in that copy's pixels
    big = detect_faces(image.resize((2048, 2048)))
    assert len(big) == 1 and abs(big[0].x - 4 * head.x) < 40


def test_two_people_side_by_side_count_two():
    portrait = Image.fromarray(skimage.data.astronaut())
    pair = Image.new("RGB", (1024, 512))
    pair.paste(portrait, (0, 0))
    pair.paste(portrait, (512, 0))
    found = detect_faces(pair)  # seen whole and as two squares: each head is found more than once
    assert count_people(pair) == 2 and people_tags(2) == [("people", 1.0)]
    assert sorted(round((f.x + f.width / 2) / 512) for f in found) == [0, 1]


def test_a_black_and_white_photographer_is_a_person():
    assert count_people(Image.fromarray(skimage.data.camera()).convert("RGB")) == 1


def test_no_person_in_a_cup_of_coffee_a_cat_or_a_rocket():
    assert detect_faces(Image.fromarray(skimage.data.coffee())) == []
    assert detect_faces(Image.fromarray(skimage.data.chelsea())) == []
    assert count_people(Image.fromarray(skimage.data.rocket())) == 0


def test_people_tags_and_degenerate_images():
    assert people_tags(0) == []
    assert people_tags(3) == [("people", 1.0)]
    assert detect_faces(Image.new("RGB", (1, 1))) == []
    assert detect_faces(Image.new("RGB", (4000, 30), (200, 150, 120))) == []


def test_views_add_squares_along_the_long_side():
    assert square_views(500, 500) == [(0, 0, 500, 500)]
    assert square_views(640, 480) == [(0, 0, 640, 480), (0, 0, 480, 480), (160, 0, 640, 480)]
    assert square_views(480, 640) == [(0, 0, 480, 640), (0, 0, 480, 480), (0, 160, 480, 640)]
    panorama = square_views(3000, 500)
    assert len(panorama) == 1 + faces.MAX_SQUARE_VIEWS and panorama[-1] == (2500, 0, 3000, 500)


def test_merge_keeps_one_box_a_person_and_neighbours_apart():
    face = Face(100, 100, 50, 50, 0.9, "face")
    person_box = Face(95, 130, 55, 55, 0.8, "person")  # between face and shoulders, as BlazePose puts it
    neighbour = Face(160, 100, 50, 50, 0.7, "face")  # the next face in a row, a face width away
    assert merge_overlapping([person_box, face, neighbour]) == [face, neighbour]


def test_missing_mediapipe_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModelUnavailableError, match=r"pip install --no-deps mediapipe==0\.10\.21"):
        faces.mediapipe_model_file(faces.PERSON_DETECTOR.wheel_path)


def test_detection_prints_nothing_on_stderr():
    # LiteRT announces its XNNPACK delegate from C++ on every first interpreter; users of `index`
    # must not see it (a fresh process, so the interpreters are made here)
    code = (
        "import skimage.data; from PIL import Image; from photoseek.vision.faces import count_people; "
        "print(count_people(Image.fromarray(skimage.data.astronaut())))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "1"
    assert done.stderr == ""
