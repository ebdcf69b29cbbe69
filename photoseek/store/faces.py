"""Faces and people in the catalog: rows written by the recognition annotator, the user's word on
faces (verdicts), and the look-ups search makes by a person's name.

A face row belongs to one photo (cascade-deleted with it) and is replaced whenever its photo is
recognised again; what the user said about a face lives in `face_verdicts`, keyed by the photo's
content hash and the face's box, so it is applied again to the new rows: a re-index, a moved or
renamed file, or a copy of the photo keep it. Every write here happens inside the caller's
transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from photoseek.errors import PhotoseekError
from photoseek.store.catalog import utc_now

if TYPE_CHECKING:
    import sqlite3

    import numpy as np

    from photoseek.vision.face_descriptors import FaceDescriptor

SAME_BOX_IOU = 0.5  # boxes overlapping this much in one photo are one face
# Descriptors this close are one face image (a re-encoded, resized or slightly edited copy): the
# astronaut portrait at half size gives 0.20, brightened 0.10, cropped 0.04; two photos of one person
# are rarely under 0.3.
SAME_FACE_DISTANCE = 0.25
FACES_GENERATION_KEY = "faces_generation"  # meta: moves whenever face rows change (face index caches)


class UnknownPersonError(PhotoseekError):
    """A name no person in the library has."""


def descriptor_blob(vector: "np.ndarray") -> bytes:
    import numpy as np

    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def descriptor_array(blobs: Sequence[bytes]) -> "np.ndarray":
    """(n, 128) float32 from stored BLOBs."""
    import numpy as np

    if not blobs:
        return np.zeros((0, 128), np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)


def bump_faces_generation(conn: "sqlite3.Connection") -> None:
    conn.execute(
        """INSERT INTO meta(key, value) VALUES (?, '1')
           ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1""", (FACES_GENERATION_KEY,))


def faces_generation(conn: "sqlite3.Connection") -> int:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (FACES_GENERATION_KEY,)).fetchone()
    return int(row[0]) if row else 0


# -- writing what the annotator found ---------------------------------------------------------------


def write_faces(conn: "sqlite3.Connection", photo_id: int, found: Sequence["FaceDescriptor"], model_id: str) -> None:
    """Replace a photo's faces with `found` (crops too). Faces the user confirmed as someone are given
    back to that person; the rest wait for clustering (`assigned` NULL)."""
    conn.execute("DELETE FROM faces WHERE photo_id=?", (photo_id,))
    for index, face in enumerate(found, 1):
        x, y, w, h = face.box
        cursor = conn.execute(
            """INSERT INTO faces(photo_id, face_index, x, y, w, h, quality, descriptor, model_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (photo_id, index, x, y, w, h, float(face.quality), descriptor_blob(face.descriptor), model_id),
        )
        conn.execute("INSERT INTO face_crops(face_id, jpeg) VALUES (?, ?)", (cursor.lastrowid, face.crop))
    if found:
        apply_confirmations(conn, [photo_id])
    bump_faces_generation(conn)


@dataclass(frozen=True)
class Verdict:
    id: int
    person_id: int
    verdict: int
    content_hash: str
    photo_id: int | None
    box: tuple[float, float, float, float]
    descriptor: bytes
    model_id: str
    explicit: bool = True


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _verdicts_for(conn: "sqlite3.Connection", photo_ids: Sequence[int], verdict: int | None = None) -> dict[int, list[Verdict]]:
    """Verdicts that may concern these photos (same content hash, or made on the same photo id)."""
    out: dict[int, list[Verdict]] = {}
    for start in range(0, len(photo_ids), 500):
        chunk = [int(p) for p in photo_ids[start:start + 500]]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"""SELECT p.id AS pid, v.* FROM photos p JOIN face_verdicts v
                  ON v.content_hash = p.content_hash OR v.photo_id = p.id
                WHERE p.id IN ({marks})""" + ("" if verdict is None else " AND v.verdict = ?"),
            chunk + ([] if verdict is None else [verdict]),
        ).fetchall()
        for r in rows:
            out.setdefault(r["pid"], []).append(Verdict(
                r["id"], r["person_id"], r["verdict"], r["content_hash"], r["photo_id"],
                (r["x"], r["y"], r["w"], r["h"]), r["descriptor"], r["model_id"], bool(r["explicit"])))
    return out


def verdict_concerns(verdict: Verdict, face: "sqlite3.Row", content_hash: str) -> bool:
    """Whether a verdict was said of this face: the same photo content and box, or (the photo was
    edited since) the same photo and box, or a descriptor of the same face image."""
    box = (face["x"], face["y"], face["w"], face["h"])
    if box_iou(box, verdict.box) >= SAME_BOX_IOU and (verdict.content_hash == content_hash
                                                       or verdict.photo_id == face["photo_id"]):
        return True
    if verdict.photo_id == face["photo_id"] and verdict.model_id == face["model_id"]:
        import numpy as np

        a = np.frombuffer(verdict.descriptor, dtype=np.float32)
        b = np.frombuffer(face["descriptor"], dtype=np.float32)
        return a.shape == b.shape and float(np.linalg.norm(a - b)) <= SAME_FACE_DISTANCE
    return False


def apply_confirmations(conn: "sqlite3.Connection", photo_ids: Sequence[int]) -> int:
    """Give faces the user confirmed back to their person (assigned 'user', or 'anchor' for the faces
    kept with a person they named, merged or hid); returns how many."""
    verdicts = _verdicts_for(conn, photo_ids, verdict=1)
    done = 0
    for photo_id, found in verdicts.items():
        content_hash = conn.execute("SELECT content_hash FROM photos WHERE id=?", (photo_id,)).fetchone()[0]
        faces = conn.execute("SELECT * FROM faces WHERE photo_id=?", (photo_id,)).fetchall()
        for verdict in sorted(found, key=lambda v: -v.id):  # the newest word first
            for face in faces:
                if verdict_concerns(verdict, face, content_hash):
                    conn.execute("UPDATE faces SET person_id=?, assigned=? WHERE id=?",
                                 (verdict.person_id, "user" if verdict.explicit else "anchor", face["id"]))
                    done += 1
                    faces = [f for f in faces if f["id"] != face["id"]]
                    break
    return done


def rejections(conn: "sqlite3.Connection", face_ids: Iterable[int] | None = None) -> dict[int, set[int]]:
    """face id -> the people the user said it is not (those faces never join them)."""
    rows = conn.execute("SELECT DISTINCT content_hash FROM face_verdicts WHERE verdict = -1").fetchall()
    if not rows:
        return {}
    wanted = None if face_ids is None else set(int(i) for i in face_ids)
    photo_ids = [r[0] for r in conn.execute(
        """SELECT DISTINCT p.id FROM photos p JOIN face_verdicts v
             ON (v.content_hash = p.content_hash OR v.photo_id = p.id) AND v.verdict = -1""")]
    out: dict[int, set[int]] = {}
    for photo_id, found in _verdicts_for(conn, photo_ids, verdict=-1).items():
        content_hash = conn.execute("SELECT content_hash FROM photos WHERE id=?", (photo_id,)).fetchone()[0]
        for face in conn.execute("SELECT * FROM faces WHERE photo_id=?", (photo_id,)).fetchall():
            if wanted is not None and face["id"] not in wanted:
                continue
            for verdict in found:
                if verdict_concerns(verdict, face, content_hash):
                    out.setdefault(face["id"], set()).add(verdict.person_id)
    return out


def add_verdict(conn: "sqlite3.Connection", face_id: int, person_id: int, verdict: int, *, explicit: bool = True) -> None:
    """Record the user's word on a face: +1 it is `person_id`, -1 it is not (replacing what they
    said before about this face and this person); `explicit` False for an anchor (a face kept with a
    person the user named, merged or hid)."""
    face = conn.execute(
        "SELECT f.*, p.content_hash FROM faces f JOIN photos p ON p.id = f.photo_id WHERE f.id=?", (face_id,)).fetchone()
    if face is None:
        raise PhotoseekError(f"No face {face_id} in this library.")
    for row in conn.execute("SELECT * FROM face_verdicts WHERE person_id=?", (person_id,)).fetchall():
        old = Verdict(row["id"], row["person_id"], row["verdict"], row["content_hash"], row["photo_id"],
                      (row["x"], row["y"], row["w"], row["h"]), row["descriptor"], row["model_id"])
        if verdict_concerns(old, face, face["content_hash"]):
            conn.execute("DELETE FROM face_verdicts WHERE id=?", (row["id"],))
    if verdict > 0:  # a face is one person: a confirmation for another person is superseded
        for row in conn.execute("SELECT * FROM face_verdicts WHERE verdict = 1 AND person_id != ? AND "
                                "(content_hash = ? OR photo_id = ?)",
                                (person_id, face["content_hash"], face["photo_id"])).fetchall():
            old = Verdict(row["id"], row["person_id"], 1, row["content_hash"], row["photo_id"],
                          (row["x"], row["y"], row["w"], row["h"]), row["descriptor"], row["model_id"])
            if verdict_concerns(old, face, face["content_hash"]):
                conn.execute("DELETE FROM face_verdicts WHERE id=?", (row["id"],))
    conn.execute(
        """INSERT INTO face_verdicts(person_id, verdict, content_hash, photo_id, x, y, w, h, descriptor, model_id,
                                      explicit, at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (person_id, 1 if verdict > 0 else -1, face["content_hash"], face["photo_id"], face["x"], face["y"],
         face["w"], face["h"], face["descriptor"], face["model_id"], int(explicit), utc_now()),
    )


# -- people by name ------------------------------------------------------------------------------------


def clean_name(name: str) -> str:
    """A person's name as stored: whitespace collapsed; PhotoseekError for an empty or odd one."""
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise PhotoseekError("A person's name cannot be empty.")
    if len(cleaned) > 100:
        raise PhotoseekError("A person's name can be at most 100 characters.")
    if cleaned.isdigit():
        raise PhotoseekError(f"{cleaned!r} looks like a person's number, not a name; give a name with a letter in it.")
    return cleaned


def person_names(conn: "sqlite3.Connection") -> list[str]:
    """The names people have in this library, longest first (a request is read for the longest
    name first: "Anna Maria" before "Anna")."""
    names = [r[0] for r in conn.execute("SELECT name FROM people WHERE name IS NOT NULL")]
    return sorted(names, key=lambda n: (-len(n), n.casefold()))


def find_person(conn: "sqlite3.Connection", name: str) -> "sqlite3.Row | None":
    """The person called `name` (case-insensitive; "Anna" also finds the one "Anna Smith" when no
    other name has the word), or None."""
    name = " ".join(str(name).split())
    row = conn.execute("SELECT * FROM people WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
    if row is not None or not name:
        return row
    word = re.compile(rf"(?<![^\W_]){re.escape(name.casefold())}(?![^\W_])")
    candidates = [r for r in conn.execute("SELECT * FROM people WHERE name IS NOT NULL")
                  if word.search(r["name"].casefold())]
    return candidates[0] if len(candidates) == 1 else None


def unknown_person_message(name: str, known: Sequence[str] = ()) -> str:
    """Said when no one has `name`: a close name among `known` first (a typo), else how to name someone."""
    import difflib

    by_folded = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(name.casefold(), by_folded, n=1, cutoff=0.7)
    if close:
        return f'No one is named "{name}" in this library; did you mean "{by_folded[close[0]]}"?'
    return (f'No one is named "{name}" in this library yet; name someone with '
            f'`photoseek people name --photo PHOTO "{name}"` (or on the People page), then search again.')


def person_id_for(conn: "sqlite3.Connection", name: str) -> int:
    row = find_person(conn, name)
    if row is None:
        raise UnknownPersonError(unknown_person_message(" ".join(str(name).split()), person_names(conn)))
    return int(row["id"])


def photos_with_person(conn: "sqlite3.Connection", person_id: int) -> set[int]:
    return {r[0] for r in conn.execute("SELECT DISTINCT photo_id FROM faces WHERE person_id=?", (person_id,))}


def recognised_in(conn: "sqlite3.Connection", photo_ids: Iterable[int]) -> dict[int, list[tuple[str, float | None, str]]]:
    """photo id -> [(name, face distance or None, 'auto'|'user')] of the named people recognised in it."""
    ids = [int(i) for i in photo_ids]
    out: dict[int, list[tuple[str, float | None, str]]] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"""SELECT f.photo_id, p.name, min(f.distance) AS distance, max(f.assigned = 'user') AS by_user
                FROM faces f JOIN people p ON p.id = f.person_id
                WHERE f.photo_id IN ({marks}) AND p.name IS NOT NULL
                GROUP BY f.photo_id, p.id ORDER BY f.photo_id, min(f.face_index)""", chunk):
            out.setdefault(row[0], []).append((row[1], None if row[3] else row[2], "user" if row[3] else "auto"))
    return out
