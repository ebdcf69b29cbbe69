"""The people of a library as the user sees and corrects them: list, name, merge, "not this person",
move a face, hide, forget.

The user's word wins and lasts. Whatever the user does to a person is recorded as verdicts on faces
(store.faces: +1 "this face is PERSON", -1 "this face is not PERSON"), kept by the photo's content
hash and the face's box, never by row ids: naming, merging or hiding a person confirms a few of its
most typical faces (ANCHOR_FACES) as that person, so after a re-index or a full re-clustering the
person, its name and its hidden flag come back with those faces and the clustering grows it again;
a face said not to be Anna never joins her.

People are referred to by id ("12") or name ("Anna"); faces by id, or by photo and `face` number
(1, 2, ... left to right).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from photoseek.errors import NotFoundError, PhotoseekError
from photoseek.people.clustering import EDGE_DISTANCE, NEIGHBOURS, cluster_faces, tidy_people
from photoseek.store.catalog import utc_now
from photoseek.store.face_index import FaceIndex, read_descriptors
from photoseek.store.faces import (
    add_verdict,
    bump_faces_generation,
    clean_name,
    find_person,
    unknown_person_message,
)

if TYPE_CHECKING:
    import sqlite3

    from photoseek.store.catalog import Catalog

ANCHOR_FACES = 5  # faces confirmed when the user names, merges or hides a person


@dataclass
class PersonSummary:
    id: int
    name: str | None
    faces: int
    photos: int
    hidden: bool = False
    cover_face: int | None = None  # the face shown for them (a confirmed one first, then the best)
    sample_photo: str | None = None  # the path of the cover face's photo
    sample_photo_id: int | None = None

    @property
    def label(self) -> str:
        return self.name or f"person {self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "faces": self.faces, "photos": self.photos,
                "hidden": self.hidden, "cover_face": self.cover_face, "sample_photo": self.sample_photo,
                "sample_photo_id": self.sample_photo_id}


@dataclass
class FaceInfo:
    id: int
    photo_id: int
    path: str
    index: int  # in the photo, left to right
    box: tuple[float, float, float, float]
    quality: float
    person_id: int | None
    person: str | None  # the person's name (None: unnamed or nobody)
    assigned: str | None  # 'user' (you said so) | 'anchor' | 'auto' | 'none' | None
    distance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "photo_id": self.photo_id, "path": self.path, "face": self.index,
                "box": [round(v, 4) for v in self.box], "quality": self.quality, "person_id": self.person_id,
                "person": self.person, "assigned": self.assigned, "distance": self.distance}


@dataclass
class ForgetReport:
    people: int = 0
    faces: int = 0
    verdicts: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"people": self.people, "faces": self.faces, "verdicts": self.verdicts, "notes": self.notes}


class PeopleDirectory:
    """The people of one catalog (`Library.people` gives one)."""

    def __init__(self, catalog: "Catalog", library_dir: "str | os.PathLike | None" = None):
        self.catalog = catalog
        self.library_dir = catalog.library_dir if library_dir is None else library_dir

    @property
    def conn(self) -> "sqlite3.Connection":
        return self.catalog.conn

    # -- reading -------------------------------------------------------------------------------------------
    def list(self, *, hidden: bool = False, named_only: bool = False) -> list[PersonSummary]:
        """People with their face and photo counts, named ones first (by name), then the most
        photographed; hidden people only when `hidden`."""
        conn = self.conn
        # one pass over the faces (100k faces: ~0.2 s), counted here rather than by GROUP BY with
        # count(DISTINCT) and a join per face (2 s)
        faces: dict[int, int] = {}
        photos: dict[int, set[int]] = {}
        cover: dict[int, tuple[float, int, int]] = {}  # person -> (rank, face id, photo id)
        for face_id, photo_id, person_id, quality, assigned in conn.execute(
                "SELECT id, photo_id, person_id, quality, assigned FROM faces WHERE person_id IS NOT NULL"):
            faces[person_id] = faces.get(person_id, 0) + 1
            photos.setdefault(person_id, set()).add(photo_id)
            rank = quality + (assigned == "user")  # a face the user confirmed is the one shown
            if person_id not in cover or rank > cover[person_id][0]:
                cover[person_id] = (rank, face_id, photo_id)
        out = []
        for person_id, name, is_hidden in conn.execute("SELECT id, name, hidden FROM people"):
            if (is_hidden and not hidden) or (named_only and not name) or (not faces.get(person_id) and not name):
                continue
            shown = cover.get(person_id)
            out.append(PersonSummary(person_id, name, faces.get(person_id, 0), len(photos.get(person_id, ())),
                                     bool(is_hidden), shown[1] if shown else None, None, shown[2] if shown else None))
        paths = _paths(conn, [p.sample_photo_id for p in out if p.sample_photo_id is not None])
        for p in out:
            p.sample_photo = paths.get(p.sample_photo_id)
        out.sort(key=lambda p: (p.name is None, (p.name or "").casefold(), -p.photos, p.id))
        return out

    def get(self, ref: "int | str") -> PersonSummary:
        person_id = self.resolve(ref)
        found = [p for p in self.list(hidden=True) if p.id == person_id]
        if found:
            return found[0]
        row = self.conn.execute("SELECT * FROM people WHERE id=?", (person_id,)).fetchone()
        return PersonSummary(person_id, row["name"], 0, 0, bool(row["hidden"]))

    def resolve(self, ref: "int | str") -> int:
        """A person's id from an id ("12", 12) or a name; NotFoundError saying what exists."""
        conn = self.conn
        if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
            row = conn.execute("SELECT id FROM people WHERE id=?", (int(ref),)).fetchone()
            if row is None:
                raise NotFoundError(f"No person {int(ref)} in this library; `photoseek people` lists them.")
            return int(row[0])
        row = find_person(conn, str(ref))
        if row is None:
            raise NotFoundError(unknown_person_message(" ".join(str(ref).split())))
        return int(row["id"])

    def faces_of(self, ref: "int | str", *, limit: int | None = None) -> list[FaceInfo]:
        """A person's faces, the ones the user confirmed first, then by quality."""
        person_id = self.resolve(ref)
        sql = f"""{_FACE_SELECT} WHERE f.person_id = ?
                  ORDER BY f.assigned = 'user' DESC, f.quality DESC, f.id""" + (" LIMIT ?" if limit else "")
        return [_face(r) for r in self.conn.execute(sql, (person_id, limit) if limit else (person_id,))]

    def faces_in_photo(self, photo_id: int) -> list[FaceInfo]:
        return [_face(r) for r in self.conn.execute(f"{_FACE_SELECT} WHERE f.photo_id = ? ORDER BY f.face_index",
                                                    (int(photo_id),))]

    def face(self, face_id: int) -> FaceInfo:
        row = self.conn.execute(f"{_FACE_SELECT} WHERE f.id = ?", (int(face_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"No face {face_id} in this library.")
        return _face(row)

    def face_in_photo(self, photo_id: int, number: int | None, path: str = "") -> FaceInfo:
        """The face numbered `number` (1, 2, ... left to right) in a photo; with no number, its only face."""
        faces = self.faces_in_photo(photo_id)
        where = path or f"photo {photo_id}"
        if not faces:
            raise PhotoseekError(f"No recognisable face in {where}: faces must be large and frontal enough "
                                 "(run `photoseek index` first if the photo is new).")
        if number is None:
            if len(faces) > 1:
                listed = ", ".join(f"{f.index}" + (f" ({f.person})" if f.person else "") for f in faces)
                raise PhotoseekError(f"{where} has {len(faces)} faces (left to right: {listed}); say which with "
                                     "--face N.")
            return faces[0]
        for f in faces:
            if f.index == number:
                return f
        raise PhotoseekError(f"{where} has {len(faces)} face{'s' if len(faces) != 1 else ''}; --face must be "
                             f"1 to {len(faces)}.")

    def crop(self, face_id: int) -> bytes:
        row = self.conn.execute("SELECT jpeg FROM face_crops WHERE face_id=?", (int(face_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"No face {face_id} in this library.")
        return bytes(row[0])

    # -- the user's word ---------------------------------------------------------------------------------------
    def name(self, ref: "int | str", name: str) -> PersonSummary:
        """Name (or rename) a person. A name another person has is refused: merge them instead."""
        name = clean_name(name)
        person_id = self.resolve(ref)
        with self.catalog.transaction() as conn:
            other = conn.execute("SELECT id FROM people WHERE name = ? COLLATE NOCASE AND id != ?",
                                 (name, person_id)).fetchone()
            if other is not None:
                raise PhotoseekError(f'Person {other[0]} is already named "{name}". If they are the same person, '
                                     f"merge them: photoseek people merge {person_id} {other[0]}")
            conn.execute("UPDATE people SET name=?, named_at=? WHERE id=?", (name, utc_now(), person_id))
            self._anchor(conn, person_id)
        return self.get(person_id)

    def name_face(self, face_id: int, name: str) -> PersonSummary:
        """"This face is NAME": the face joins the person called so (made now if nobody is), and
        leaves the person it was with. A face that is an unnamed person's names that person."""
        name = clean_name(name)
        face = self.face(face_id)
        existing = find_person(self.conn, name)
        if existing is not None and existing["name"].casefold() != name.casefold():
            existing = None  # "Anna" must not land on "Anna Smith" when naming: only the exact name
        if existing is None and face.person_id is not None and face.person is None:
            # an unnamed person: naming their face names them
            self.name(face.person_id, name)
            with self.catalog.transaction() as conn:
                add_verdict(conn, face.id, face.person_id, +1)
                conn.execute("UPDATE faces SET assigned='user', distance=NULL WHERE id=?", (face.id,))
            return self.get(face.person_id)
        with self.catalog.transaction() as conn:
            if existing is None:
                person_id = conn.execute("INSERT INTO people(name, created_at, named_at) VALUES (?, ?, ?)",
                                         (name, utc_now(), utc_now())).lastrowid
            else:
                person_id = int(existing["id"])
            self._move(conn, face, person_id)
        self._gather(face.id)
        return self.get(person_id)

    def merge(self, source: "int | str", target: "int | str") -> PersonSummary:
        """Everything of `source` goes to `target` (its faces, what the user said of them); `target`
        keeps its name, or takes the source's when it has none. The source person is gone after."""
        source_id, target_id = self.resolve(source), self.resolve(target)
        if source_id == target_id:
            raise PhotoseekError("Those are the same person.")
        with self.catalog.transaction() as conn:
            names = {r["id"]: r["name"] for r in conn.execute("SELECT id, name FROM people WHERE id IN (?, ?)",
                                                              (source_id, target_id))}
            self._anchor(conn, source_id)  # the source's faces stay with the target after a re-clustering
            conn.execute("UPDATE faces SET person_id=? WHERE person_id=?", (target_id, source_id))
            conn.execute("UPDATE face_verdicts SET person_id=? WHERE person_id=? AND verdict = 1", (target_id, source_id))
            # "not the source" said of a face: is it "not the target" too? Not necessarily; dropped
            conn.execute("DELETE FROM face_verdicts WHERE person_id=?", (source_id,))
            hidden = conn.execute("SELECT hidden FROM people WHERE id=?", (target_id,)).fetchone()[0]
            conn.execute("DELETE FROM people WHERE id=?", (source_id,))
            if not names.get(target_id) and names.get(source_id):
                conn.execute("UPDATE people SET name=?, named_at=? WHERE id=?", (names[source_id], utc_now(), target_id))
            conn.execute("UPDATE people SET hidden=? WHERE id=?", (hidden, target_id))
            self._anchor(conn, target_id)
            bump_faces_generation(conn)
        return self.get(target_id)

    def reject(self, face_id: int, ref: "int | str | None" = None) -> FaceInfo:
        """"This face is not PERSON" (default: the person it is with now): it leaves them and never
        comes back to them; clustering may give it to someone else."""
        face = self.face(face_id)
        person_id = self.resolve(ref) if ref is not None else face.person_id
        if person_id is None:
            raise PhotoseekError(f"Face {face_id} is not with anyone; say who it is not.")
        with self.catalog.transaction() as conn:
            add_verdict(conn, face.id, person_id, -1)
            if face.person_id == person_id:
                conn.execute("UPDATE faces SET person_id=NULL, assigned=NULL, distance=NULL WHERE id=?", (face.id,))
            tidy_people(conn)
            bump_faces_generation(conn)
        self.cluster()
        return self.face(face.id)

    def move(self, face_id: int, target: "int | str") -> PersonSummary:
        """The face is `target` (a person's id or name; a new name makes that person)."""
        face = self.face(face_id)
        try:
            person_id = self.resolve(target)
        except NotFoundError:
            if isinstance(target, int) or str(target).strip().isdigit():
                raise
            return self.name_face(face.id, str(target))
        with self.catalog.transaction() as conn:
            self._move(conn, face, person_id)
        return self.get(person_id)

    def hide(self, ref: "int | str", hidden: bool = True) -> PersonSummary:
        """Hide a person from the people list (their photos stay searchable by name)."""
        person_id = self.resolve(ref)
        with self.catalog.transaction() as conn:
            conn.execute("UPDATE people SET hidden=? WHERE id=?", (int(bool(hidden)), person_id))
            self._anchor(conn, person_id)
        return self.get(person_id)

    def forget(self, ref: "int | str | None" = None) -> ForgetReport:
        """Delete a person (or, with None, everyone): their faces' descriptors and crops, their name,
        and what the user said of them. The deleted bytes are overwritten in the catalog file
        (SQLite secure_delete) and the write-ahead log is emptied."""
        report = ForgetReport()
        conn = self.conn
        conn.execute("PRAGMA secure_delete=ON")
        try:
            with self.catalog.transaction():
                if ref is None:
                    report.faces = conn.execute("DELETE FROM faces").rowcount
                    report.verdicts = conn.execute("DELETE FROM face_verdicts").rowcount
                    report.people = conn.execute("DELETE FROM people").rowcount
                else:
                    person_id = self.resolve(ref)
                    report.faces = conn.execute("DELETE FROM faces WHERE person_id=?", (person_id,)).rowcount
                    report.verdicts = conn.execute("DELETE FROM face_verdicts WHERE person_id=?", (person_id,)).rowcount
                    report.people = conn.execute("DELETE FROM people WHERE id=?", (person_id,)).rowcount
                bump_faces_generation(conn)
        finally:
            conn.execute("PRAGMA secure_delete=OFF")
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception:  # noqa: BLE001 - another reader holds the log: it is emptied at its next checkpoint
            pass
        _remove_face_index_caches(self.library_dir)
        return report

    # -- clustering ------------------------------------------------------------------------------------------------
    def cluster(self, *, full: bool = False, progress=None):
        """Group the faces waiting for it into people (photoseek.people.clustering)."""
        return cluster_faces(self.catalog, self.library_dir, full=full, progress=progress)

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _move(self, conn, face: FaceInfo, person_id: int) -> None:
        if face.person_id is not None and face.person_id != person_id:
            add_verdict(conn, face.id, face.person_id, -1)
        add_verdict(conn, face.id, person_id, +1)
        conn.execute("UPDATE faces SET person_id=?, assigned='user', distance=NULL WHERE id=?", (person_id, face.id))
        tidy_people(conn)
        bump_faces_generation(conn)

    def _anchor(self, conn, person_id: int) -> None:
        """Confirm the person's ANCHOR_FACES most typical faces (nearest their mean, the best first)
        as theirs, so that the person outlives a re-clustering."""
        import numpy as np

        rows = conn.execute("SELECT id, quality, assigned FROM faces WHERE person_id=? ORDER BY id", (person_id,)).fetchall()
        auto = [r["id"] for r in rows if r["assigned"] not in ("user", "anchor")]
        confirmed = len(rows) - len(auto)
        if not auto or confirmed >= ANCHOR_FACES:
            return
        ids, vectors = read_descriptors(conn, [r["id"] for r in rows])
        centre = vectors.mean(axis=0)
        quality = {r["id"]: r["quality"] for r in rows}
        order = sorted(range(len(ids)), key=lambda i: (float(np.linalg.norm(vectors[i] - centre)) - 0.1 * quality[int(ids[i])],
                                                       int(ids[i])))
        chosen = [int(ids[i]) for i in order if int(ids[i]) in set(auto)][: ANCHOR_FACES - confirmed]
        for face_id in chosen:
            add_verdict(conn, face_id, person_id, +1, explicit=False)
            conn.execute("UPDATE faces SET assigned='anchor' WHERE id=?", (face_id,))

    def _gather(self, face_id: int) -> None:
        """After a face is given to someone: the waiting faces near it are clustered again, so that
        those that agree join that person."""
        conn = self.conn
        ids, vectors = read_descriptors(conn, [face_id])
        if not len(ids):
            return
        index = FaceIndex.load(conn, self.library_dir)
        near, dist = index.search(vectors, NEIGHBOURS + 1)
        waiting = [int(j) for j, d in zip(near[0], dist[0]) if j >= 0 and d < EDGE_DISTANCE and j != face_id]
        if not waiting:
            return
        with self.catalog.transaction() as conn:
            marks = ",".join("?" * len(waiting))
            conn.execute(f"UPDATE faces SET assigned=NULL WHERE assigned='none' AND id IN ({marks})", waiting)
        cluster_faces(self.catalog, self.library_dir, index=index)


_FACE_SELECT = """SELECT f.id, f.photo_id, ph.display_path, f.face_index, f.x, f.y, f.w, f.h, f.quality,
                         f.person_id, pe.name, f.assigned, f.distance
                  FROM faces f JOIN photos ph ON ph.id = f.photo_id LEFT JOIN people pe ON pe.id = f.person_id"""


def _paths(conn, photo_ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(photo_ids), 900):
        chunk = photo_ids[start:start + 900]
        marks = ",".join("?" * len(chunk))
        out.update(conn.execute(f"SELECT id, display_path FROM photos WHERE id IN ({marks})", chunk).fetchall())
    return out


def _face(r) -> FaceInfo:
    return FaceInfo(r[0], r[1], r[2], r[3], (r[4], r[5], r[6], r[7]), r[8], r[9], r[10], r[11], r[12])


def _remove_face_index_caches(library_dir) -> None:
    """Face index caches hold descriptors too: forgetting deletes them (rebuilt from what is left)."""
    from pathlib import Path

    from photoseek.store.vectors import VECTORS_DIR

    folder = Path(library_dir) / VECTORS_DIR
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name.startswith(("faces.g", ".faces.g")):
            try:
                path.unlink()
            except OSError:
                pass
