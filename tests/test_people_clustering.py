"""Face clustering on descriptors placed by hand (no photos, no models): which faces join whom, and why.

Faces are points around a centre along directions of their own (orthonormal), so every distance is
known: two faces r from one centre are r·√2 apart; a face s from the centre, along another
direction, is √(r² + s²) from each of the centre's faces.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from photoseek.people import clustering
from photoseek.people.clustering import cluster_faces
from photoseek.store.catalog import Catalog, utc_now
from photoseek.people.directory import PeopleDirectory
from photoseek.store.faces import bump_faces_generation

DIM = 128
R = 0.3  # a person's faces: 0.42 apart (closer than EDGE_DISTANCE)


class Faces:
    """A catalog of synthetic faces, one photo each unless told otherwise."""

    def __init__(self, folder):
        self.catalog = Catalog(folder)
        self.folder = folder
        self.axis = 0
        self.photos = 0

    def direction(self) -> np.ndarray:
        e = np.zeros(DIM, np.float32)
        e[self.axis] = 1.0
        self.axis += 1
        return e

    def centre(self, *parts: tuple[np.ndarray, float]) -> np.ndarray:
        base = np.zeros(DIM, np.float32)
        base[DIM - 1] = 1.5  # dlib-like norm; no face moves along it
        for centre, weight in parts:
            base = base + weight * centre
        return base

    def add(self, vector: np.ndarray, photo: int | None = None, x: float = 0.4) -> int:
        conn = self.catalog.conn
        with self.catalog.transaction():
            if photo is None:
                self.photos += 1
                photo = self.photos
                conn.execute("INSERT INTO photos(id, path, display_path, size, mtime_ns, content_hash, indexed_at) "
                             "VALUES (?, ?, ?, 1, 1, ?, ?)",
                             (photo, f"/p/{photo}.jpg".encode(), f"/p/{photo}.jpg", f"h{photo}", utc_now()))
            index = conn.execute("SELECT count(*) FROM faces WHERE photo_id=?", (photo,)).fetchone()[0] + 1
            face = conn.execute("INSERT INTO faces(photo_id, face_index, x, y, w, h, quality, descriptor, model_id) "
                                "VALUES (?, ?, ?, 0.3, 0.1, 0.1, 1.0, ?, 'test')",
                                (photo, index, x, np.asarray(vector, np.float32).tobytes())).lastrowid
            bump_faces_generation(conn)
        return face

    def person(self, centre: np.ndarray, count: int = 5) -> list[int]:
        return [self.add(centre + R * self.direction()) for _ in range(count)]

    def person_of(self, face: int) -> int | None:
        return self.catalog.conn.execute("SELECT person_id FROM faces WHERE id=?", (face,)).fetchone()[0]

    def cluster(self, full: bool = False):
        return cluster_faces(self.catalog, self.folder, full=full)

    def partition(self) -> set[frozenset[int]]:
        groups: dict[int, set[int]] = {}
        for face, person in self.catalog.conn.execute("SELECT id, person_id FROM faces WHERE person_id IS NOT NULL"):
            groups.setdefault(person, set()).add(face)
        return {frozenset(g) for g in groups.values()}


@pytest.fixture
def faces(tmp_path):
    made = Faces(tmp_path)
    yield made
    made.catalog.close()


def loose_distance(s: float) -> float:
    return math.sqrt(R * R + s * s)


def test_a_face_no_neighbour_votes_for_joins_the_person_whose_faces_are_near(faces):
    anna = faces.person(faces.centre())
    faces.cluster()
    person = faces.person_of(anna[0])
    assert person is not None and {faces.person_of(f) for f in anna} == {person}
    # 0.54 from each of Anna's faces: no edge (>= EDGE_DISTANCE), but her three nearest are close enough
    s = 0.45
    assert clustering.EDGE_DISTANCE < loose_distance(s) < clustering.ATTACH_DISTANCE
    near = faces.add(faces.centre() + s * faces.direction())
    faces.cluster()
    assert faces.person_of(near) == person
    # further than ATTACH_DISTANCE: it waits
    far = faces.add(faces.centre() + 0.5 * faces.direction())
    assert loose_distance(0.5) > clustering.ATTACH_DISTANCE
    faces.cluster()
    assert faces.person_of(far) is None


def test_a_face_between_two_people_joins_neither(faces):
    between = faces.direction()
    anna = faces.person(faces.centre())
    ben = faces.person(faces.centre((between, 0.9)))  # Anna and Ben's faces ~0.95 apart
    faces.cluster()
    assert faces.person_of(anna[0]) != faces.person_of(ben[0])
    # halfway: equally near both (no margin), and a bit nearer Ben, by less than ATTACH_MARGIN
    halfway = faces.add(faces.centre((between, 0.45)))
    nearer_ben = faces.add(faces.centre((between, 0.46)))
    faces.cluster()
    assert faces.person_of(halfway) is None and faces.person_of(nearer_ben) is None


def test_a_person_already_in_the_photo_and_a_rejected_person_are_never_attached(faces):
    anna = faces.person(faces.centre())
    faces.cluster()
    person = faces.person_of(anna[0])
    # a second face in the photo of Anna's first face, near her: someone else (a mirror, a look-alike)
    photo = faces.catalog.conn.execute("SELECT photo_id FROM faces WHERE id=?", (anna[0],)).fetchone()[0]
    beside = faces.add(faces.centre() + 0.45 * faces.direction(), photo=photo, x=0.7)
    # a face the user said is not Anna
    refused = faces.add(faces.centre() + 0.45 * faces.direction())
    PeopleDirectory(faces.catalog, faces.folder).reject(refused, person)
    assert faces.person_of(beside) is None and faces.person_of(refused) is None
    # the same faces in a full re-clustering
    faces.cluster(full=True)
    assert faces.person_of(beside) is None and faces.person_of(refused) is None
    assert faces.person_of(anna[1]) is not None


def test_two_faces_wait_three_make_a_person_and_waiting_faces_join_later(faces):
    centre = faces.centre()
    first = faces.person(centre, count=2)
    faces.cluster()
    assert [faces.person_of(f) for f in first] == [None, None]
    third = faces.person(centre, count=1)
    faces.cluster()
    assert len({faces.person_of(f) for f in first + third} - {None}) == 1


def test_incremental_and_full_runs_agree_and_repeat_exactly(faces, tmp_path):
    rng = np.random.default_rng(7)
    centres = [faces.centre((faces.direction(), 1.0)) for _ in range(6)]
    order = rng.permutation(np.repeat(np.arange(6), 6))
    for n, who in enumerate(order):  # six people, six faces each, arriving in batches of nine
        faces.add(centres[who] + R * faces.direction())
        if n % 9 == 8:
            faces.cluster()
    incremental = faces.partition()
    assert len(incremental) == 6 and all(len(g) == 6 for g in incremental)
    faces.cluster(full=True)
    assert faces.partition() == incremental
    faces.cluster(full=True)
    assert faces.partition() == incremental
