"""Offline folders: a drive that is not mounted must not delete the library.

An unmounted drive, an emptied sync folder or a network share that did not come up looks to a scan
exactly like a folder whose photos were all deleted. Deleting would throw away what was expensive
(vectors, annotations) and what the user gave (tags, feedback), and when the files come back they
would be indexed again from scratch under new ids. So the sweep asks `offline_groups` first: a
scanned root, or a folder that held photos, which lost all of them — or more than OFFLINE_SHARE of
them and at least OFFLINE_MIN_PHOTOS — since the last run is *offline*. Nothing under it is removed
unless the user says so (`index --prune`, or yes to the prompt in a terminal); it is reported by
the run (`IndexReport.offline`) and remembered in the catalog's meta table (`offline_folders`,
read by `Library.stats()["offline_roots"]`) until its photos come back or are pruned. Photos that
come back at their old path are unchanged; under another path (the drive mounted elsewhere) they
are matched by content hash as moves, keeping their id, vectors, annotations and tags.

Single deletions stay cheap: a folder that lost one photo of ten is swept as before.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from photoseek.store.catalog import display_path, utc_now

if TYPE_CHECKING:
    from photoseek.store.catalog import Catalog

OFFLINE_META_KEY = "offline_folders"
OFFLINE_SHARE = 0.5  # a folder that lost more than this share of its photos...
OFFLINE_MIN_PHOTOS = 2  # ...and at least this many is offline (a root that lost all is, whatever the count)


@dataclass(frozen=True)
class OfflineFolder:
    path: bytes  # the folder (a scanned root or a folder that held photos)
    missing: int  # its photos not found by this run
    had: int  # its photos in the catalog before this run

    def to_dict(self) -> dict:
        return {"path": display_path(self.path), "missing": self.missing, "photos": self.had}


def under(path: bytes, folder: bytes) -> bool:
    return path == folder or path.startswith(folder.rstrip(b"/") + b"/")


def offline_groups(roots: Iterable[bytes], known: Iterable[bytes], gone: Iterable[bytes]) -> list[OfflineFolder]:
    """The topmost offline folders among `roots` and the folders holding `known` photo paths (all
    catalog photos under the scanned roots), given the paths of those not found (`gone`)."""
    known = list(known)
    gone = set(gone)
    if not gone:
        return []
    had: Counter[bytes] = Counter()
    lost: Counter[bytes] = Counter()
    roots = [r for r in roots]
    for path in known:
        folders = {os.path.dirname(path)} | {r for r in roots if under(path, r) and r != path}
        for folder in folders:
            had[folder] += 1
            lost[folder] += path in gone
    offline = []
    for folder, count in had.items():
        missing = lost[folder]
        whole_root = folder in roots and missing == count
        if whole_root or (missing >= OFFLINE_MIN_PHOTOS and missing > OFFLINE_SHARE * count):
            offline.append(OfflineFolder(folder, missing, count))
    offline.sort(key=lambda f: len(f.path))
    topmost: list[OfflineFolder] = []
    for folder in offline:
        if not any(under(folder.path, kept.path) for kept in topmost):
            topmost.append(folder)
    return topmost


def offline_folders(catalog: "Catalog") -> list[dict]:
    """What the catalog remembers as offline: [{"path", "missing", "photos", "since"}]."""
    try:
        value = json.loads(catalog.get_meta(OFFLINE_META_KEY, "[]") or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def remember_offline(catalog: "Catalog", in_scope, offline: list[OfflineFolder]) -> None:
    """Replace the remembered offline folders within this run's scope (`in_scope(path) -> bool`) by
    `offline`, keeping the `since` of those still offline. Call inside a transaction."""
    previous = offline_folders(catalog)
    since = {entry.get("path"): entry.get("since") for entry in previous}
    kept = [e for e in previous if not in_scope(os.fsencode(str(e.get("path", ""))))]
    now = utc_now()
    for folder in offline:
        entry = folder.to_dict()
        entry["since"] = since.get(entry["path"]) or now
        kept.append(entry)
    catalog.set_meta(OFFLINE_META_KEY, json.dumps(kept, ensure_ascii=False))


def remembered_offline_paths(catalog: "Catalog") -> list[bytes]:
    return [os.fsencode(str(e["path"])) for e in offline_folders(catalog) if e.get("path")]
