"""Face clustering: faces that belong together become a person, incrementally and deterministically.

Each run looks at the faces not yet clustered (new photos) and those still without a person, with
everyone already in a person held fixed:

1. neighbours: each face's NEIGHBOURS nearest faces in the whole library (FAISS, store.face_index),
   kept when closer than EDGE_DISTANCE and in another photo;
2. chinese whispers (Biemann 2006; dlib's face clustering): in face-id order, each free face takes the
   label most of its neighbours carry (ties: its own, then the nearest's), until nothing changes.
   Faces in people keep their person as label, so a new face with most neighbours in Anna joins
   Anna; a face the user said is not Anna never takes her label;
3. merging: two groups (or a group and a person) whose faces are on average closer than
   MERGE_DISTANCE and share no photo are one (average linkage; two people never merge by themselves,
   only by the user's `people merge`);
4. a group that joined a person stays there; any other group of at least MIN_FACES distinct faces
   becomes a new person (faces of one image, e.g. copies of a photo, count once: duplicates never
   make a person); the rest wait ('none') until enough faces agree with them.

A full run (`recluster`) frees every face but the ones the user confirmed and runs the same steps, so
named people, merges, "not this person" and hidden people survive it. Thresholds were chosen on
../shared/data/faces (`photoseek eval people`; figures in the README).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from photoseek.progress import Progress, SilentProgress
from photoseek.store.catalog import utc_now
from photoseek.store.face_index import FaceIndex, read_descriptors
from photoseek.store.faces import SAME_FACE_DISTANCE, bump_faces_generation, rejections

if TYPE_CHECKING:
    import os
    import sqlite3

    import numpy as np

    from photoseek.store.catalog import Catalog

EDGE_DISTANCE = 0.5  # faces this close vote for each other (dlib's descriptors with the mirror averaged)
MERGE_DISTANCE = 0.65  # groups whose faces are this close on average are one person
# Two groups with faces in the same photos are two people (a group photo), unless they are this alike
# and share few photos: one person twice in a photo (a collage, a mirror, an actor in a double role)
SHARED_PHOTO_DISTANCE = 0.65
SHARED_PHOTO_SHARE = 0.4
SMALL_GROUP_MERGE_DISTANCE = 0.6  # ...and a group of fewer than MIN_FACES faces with another
MIN_FACES = 3  # distinct faces that must agree before they make a new person (Immich: 3)
NEIGHBOURS = 32
MAX_ITERATIONS = 30
LINKAGE_SAMPLE = 256  # at most this many faces of each side are compared when two groups are weighed


@dataclass
class ClusteringReport:
    faces: int = 0  # faces looked at
    joined: int = 0  # joined an existing person
    new_people: int = 0
    in_new_people: int = 0
    waiting: int = 0  # no person yet
    seconds: float = 0.0
    people: list[int] = field(default_factory=list)  # ids of the people made

    def to_dict(self) -> dict:
        return {"faces": self.faces, "joined": self.joined, "new_people": self.new_people,
                "in_new_people": self.in_new_people, "waiting": self.waiting, "seconds": round(self.seconds, 3)}


def cluster_faces(catalog: "Catalog", library_dir: "str | os.PathLike | None" = None, *, full: bool = False,
                  progress: Progress | None = None, index: FaceIndex | None = None) -> ClusteringReport:
    """Put the faces that wait for clustering into people (see the module docstring); `full` frees
    every face the user did not confirm first. Commits in one transaction."""
    started = time.perf_counter()
    progress = progress or SilentProgress()
    conn = catalog.conn
    library_dir = catalog.library_dir if library_dir is None else library_dir
    with catalog.transaction():
        if full:
            conn.execute("UPDATE faces SET person_id=NULL, assigned=NULL, distance=NULL "
                         "WHERE assigned IS NULL OR assigned NOT IN ('user', 'anchor')")
        pending = [r[0] for r in conn.execute("SELECT id FROM faces WHERE assigned IS NULL ORDER BY id")]
    report = ClusteringReport()
    if not pending:
        if full:
            with catalog.transaction():
                tidy_people(conn)
        report.seconds = time.perf_counter() - started
        return report
    if index is None:
        index = FaceIndex.load(conn, library_dir)
    progress.start("Grouping faces into people", len(pending))
    try:
        with catalog.transaction():
            _cluster(conn, index, pending, report, progress)
            if full:  # an incremental run only adds faces to people: nobody is left empty
                tidy_people(conn)
            bump_faces_generation(conn)
    finally:
        progress.finish()
    report.seconds = time.perf_counter() - started
    return report


def _cluster(conn: "sqlite3.Connection", index: FaceIndex, pending: list[int], report: ClusteringReport,
             progress: Progress) -> None:
    import numpy as np

    pending_ids, pending_vectors = read_descriptors(conn, pending)
    near: dict[int, list[tuple[int, float]]] = {}  # within MERGE_DISTANCE: where merges are looked for
    for start in range(0, len(pending_ids), 4096):
        ids, dist = index.search(pending_vectors[start:start + 4096], NEIGHBOURS + 1)
        for row, face_id in enumerate(pending_ids[start:start + 4096]):
            near[int(face_id)] = [(int(j), float(d)) for j, d in zip(ids[row], dist[row])
                                  if j >= 0 and j != face_id and d < MERGE_DISTANCE]
        progress.advance(min(4096, len(pending_ids) - start))
    neighbours = {f: [(j, d) for j, d in found if d < EDGE_DISTANCE] for f, found in near.items()}
    # faces still without a person that a new face is close to: free again (enough may agree now)
    waiting = {j for found in neighbours.values() for j, _ in found if j not in neighbours}
    waiting = _with_assignment(conn, waiting, "none")
    if waiting:
        w_ids, w_vectors = read_descriptors(conn, sorted(waiting))
        ids, dist = index.search(w_vectors, NEIGHBOURS + 1)
        for row, face_id in enumerate(w_ids):
            near[int(face_id)] = [(int(j), float(d)) for j, d in zip(ids[row], dist[row])
                                  if j >= 0 and j != face_id and d < MERGE_DISTANCE]
            neighbours[int(face_id)] = [(j, d) for j, d in near[int(face_id)] if d < EDGE_DISTANCE]
    free = sorted(neighbours)
    known = set(free) | {j for found in near.values() for j, _ in found}
    facts = _face_facts(conn, known)
    for face_id in free:  # another face of the same photo is another person: no edge
        photo = facts[face_id][0]
        neighbours[face_id] = [(j, d) for j, d in neighbours[face_id] if facts[j][0] != photo]
        near[face_id] = [(j, d) for j, d in near[face_id] if facts[j][0] != photo]
    refused = rejections(conn, free)
    label: dict[int, int] = {}
    for j in known:  # people > 0; groups of free faces < 0; a face waiting outside this run: 0 (no vote)
        person = facts[j][1]
        label[j] = -j if j in neighbours else (person or 0)
    _whispers(free, neighbours, label, refused)
    groups: dict[int, list[int]] = defaultdict(list)
    for face_id in free:
        groups[label[face_id]].append(face_id)
    groups = _merge(conn, groups, neighbours, near, label, facts, refused)
    _write(conn, groups, near, label, report)


def _with_assignment(conn, face_ids: Iterable[int], assigned: str) -> set[int]:
    ids = list(face_ids)
    out: set[int] = set()
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        marks = ",".join("?" * len(chunk))
        out |= {r[0] for r in conn.execute(f"SELECT id FROM faces WHERE assigned = ? AND id IN ({marks})",
                                           [assigned, *chunk])}
    return out


def _face_facts(conn, face_ids: Iterable[int]) -> dict[int, tuple[int, int | None]]:
    """face id -> (photo id, person id or None)."""
    ids = list(face_ids)
    out: dict[int, tuple[int, int | None]] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        marks = ",".join("?" * len(chunk))
        for face_id, photo_id, person_id in conn.execute(
                f"SELECT id, photo_id, person_id FROM faces WHERE id IN ({marks})", chunk):
            out[face_id] = (photo_id, person_id)
    return out


def _whispers(free: list[int], neighbours: dict[int, list[tuple[int, float]]], label: dict[int, int],
              refused: dict[int, set[int]]) -> None:
    """Chinese whispers over the free faces, in id order, deterministic."""
    for _ in range(MAX_ITERATIONS):
        changed = 0
        for face_id in free:
            near = neighbours[face_id]
            if not near:
                continue
            votes: Counter[int] = Counter()
            nearest: dict[int, float] = {}
            for j, d in near:
                lab = label[j]
                if lab == 0 or (lab > 0 and lab in refused.get(face_id, ())):
                    continue
                votes[lab] += 1
                nearest[lab] = min(nearest.get(lab, d), d)
            if not votes:
                continue
            own = label[face_id]
            best = max(votes, key=lambda lab: (votes[lab], lab == own, -nearest[lab], -lab))
            if best != own and votes[best] > votes.get(own, 0):
                label[face_id] = best
                changed += 1
        if not changed:
            return


def _merge(conn, groups: dict[int, list[int]], neighbours, near, label: dict[int, int],
           facts: dict[int, tuple[int, int | None]], refused: dict[int, set[int]]) -> dict[int, list[int]]:
    """Average-linkage merging of groups with each other and with people (see the module docstring).
    Groups are weighed against the groups their faces have edges to; a group too small to be a
    person also against those its faces are within MERGE_DISTANCE of (a face nobody voted for)."""
    import numpy as np

    candidates: set[tuple[int, int]] = set()
    for lab, members in groups.items():
        if lab > 0:
            continue
        reach = near if len(members) < MIN_FACES else neighbours
        for face_id in members:
            for j, _ in reach[face_id]:
                other = label[j]
                if other not in (lab, 0):
                    candidates.add((lab, other) if lab < other else (other, lab))
    # extend candidates with neighbours up to MERGE_DISTANCE would need wider searches; the kNN edges
    # (< EDGE_DISTANCE) name every pair of groups that touch
    if not candidates:
        return groups
    members = {lab: list(faces) for lab, faces in groups.items()}
    person_faces: dict[int, list[int]] = {}
    for a, b in candidates:
        for lab in (a, b):
            if lab > 0 and lab not in person_faces:
                person_faces[lab] = [r[0] for r in conn.execute(
                    "SELECT id FROM faces WHERE person_id=? ORDER BY id", (lab,))]
    all_ids = sorted({f for faces in members.values() for f in faces} | {f for faces in person_faces.values() for f in faces})
    ids, vectors = read_descriptors(conn, all_ids)
    row_of = {int(i): n for n, i in enumerate(ids)}
    photos_of_person: dict[int, set[int]] = {}
    for lab in person_faces:
        photos_of_person[lab] = {r[0] for r in conn.execute("SELECT DISTINCT photo_id FROM faces WHERE person_id=?", (lab,))}

    def faces_of(lab: int) -> list[int]:
        return members.get(lab, []) + (person_faces.get(lab, []) if lab > 0 else [])

    def photos(lab: int) -> set[int]:
        own = {facts[f][0] for f in members.get(lab, []) if f in facts}
        return own | photos_of_person.get(lab, set())

    def linkage(a: int, b: int) -> float:
        fa, fb = faces_of(a), faces_of(b)
        va = vectors[[row_of[f] for f in fa]]
        vb = vectors[[row_of[f] for f in fb]]
        # large groups: an even sample by id (any sample nearest the other side would make them look alike)
        va = va[np.linspace(0, len(va) - 1, LINKAGE_SAMPLE).astype(int)] if len(va) > LINKAGE_SAMPLE else va
        vb = vb[np.linspace(0, len(vb) - 1, LINKAGE_SAMPLE).astype(int)] if len(vb) > LINKAGE_SAMPLE else vb
        return float(np.linalg.norm(va[:, None, :] - vb[None, :, :], axis=2).mean())

    def limit(a: int, b: int) -> float:
        """How alike two groups must be: a few faces alone are less sure of themselves."""
        small = min(len(faces_of(a)), len(faces_of(b))) < MIN_FACES
        return SMALL_GROUP_MERGE_DISTANCE if small else MERGE_DISTANCE

    def refuses(group: int, person: int) -> bool:
        return any(person in refused.get(f, ()) for f in members.get(group, []))

    import heapq

    version: dict[int, int] = defaultdict(int)  # moves when a group grows: its old scores are stale
    heap = []
    for a, b in sorted(candidates):
        if a > 0 and b > 0:
            continue  # two people merge only by the user's word
        distance = linkage(a, b)
        if distance < limit(a, b):
            heap.append((distance, a, b, 0, 0))
    heapq.heapify(heap)
    parent: dict[int, int] = {}

    def find(lab: int) -> int:
        while parent.get(lab, lab) != lab:
            lab = parent[lab]
        return lab

    while heap:
        distance, a, b, version_a, version_b = heapq.heappop(heap)
        ra, rb = find(a), find(b)
        if ra == rb or (ra > 0 and rb > 0):
            continue
        if (ra, rb) != (a, b) or version[ra] != version_a or version[rb] != version_b:
            distance = linkage(ra, rb)  # a side grew since this was weighed: weigh them as they are now
            if distance < limit(ra, rb):
                heapq.heappush(heap, (distance, ra, rb, version[ra], version[rb]))
            continue
        shared = len(photos(ra) & photos(rb))
        if shared and (distance >= SHARED_PHOTO_DISTANCE
                       or shared > SHARED_PHOTO_SHARE * min(len(photos(ra)), len(photos(rb)))):
            continue  # faces side by side in photos are two people, unless the groups are that alike
        keep, gone = (ra, rb) if ra > 0 or (rb < 0 and ra > rb) else (rb, ra)  # a person's label wins
        if keep > 0 and refuses(gone, keep):
            continue
        parent[gone] = keep
        members.setdefault(keep, []).extend(members.pop(gone, []))
        version[keep] += 1
    merged: dict[int, list[int]] = defaultdict(list)
    for lab, faces in members.items():
        merged[find(lab)].extend(faces)
    for lab, faces in merged.items():
        for f in faces:
            label[f] = lab
    return {lab: sorted(faces) for lab, faces in merged.items() if faces}


def _write(conn, groups: dict[int, list[int]], neighbours, label: dict[int, int], report: ClusteringReport) -> None:
    import numpy as np

    report.faces = sum(len(f) for f in groups.values())
    for lab in sorted(groups, key=lambda lab: (lab < 0, min(groups[lab]))):
        faces = groups[lab]
        if lab < 0:
            if _distinct_faces(conn, faces) < MIN_FACES:
                conn.executemany("UPDATE faces SET person_id=NULL, assigned='none', distance=NULL WHERE id=?",
                                 [(f,) for f in faces])
                report.waiting += len(faces)
                continue
            lab = conn.execute("INSERT INTO people(created_at) VALUES (?)", (utc_now(),)).lastrowid
            report.new_people += 1
            report.in_new_people += len(faces)
            report.people.append(lab)
            for f in faces:
                label[f] = lab
        else:
            report.joined += len(faces)
        for f in faces:
            near = [d for j, d in neighbours.get(f, []) if label.get(j) == lab]
            conn.execute("UPDATE faces SET person_id=?, assigned='auto', distance=? WHERE id=?",
                         (lab, round(min(near), 3) if near else None, f))


def _distinct_faces(conn, faces: list[int]) -> int:
    """How many different face images a group holds: faces closer than SAME_FACE_DISTANCE (copies
    and re-encodings of one photo) count once."""
    import numpy as np

    _, vectors = read_descriptors(conn, faces)
    kept: list = []
    for v in vectors:
        if all(float(np.linalg.norm(v - k)) >= SAME_FACE_DISTANCE for k in kept):
            kept.append(v)
    return len(kept)


def tidy_people(conn: "sqlite3.Connection") -> int:
    """Delete people nobody would miss: no face left, no name, not hidden, nothing the user said of
    them. Returns how many."""
    return conn.execute(
        """DELETE FROM people WHERE name IS NULL AND hidden = 0
             AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = people.id)
             AND NOT EXISTS (SELECT 1 FROM face_verdicts v WHERE v.person_id = people.id)""").rowcount
