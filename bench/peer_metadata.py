"""Does photoseek read photos as PhotoPrism and Immich do? Their own test photos, their own assertions.

bench/peer_metadata.jsonl lists what the tests of PhotoPrism (internal/meta/exif_test.go,
internal/photoprism/mediafile*_test.go) and Immich (e2e specs) assert about their test photos: one
row per assertion — file, field (taken_at: local wall-clock time; utc: the instant; subsec_ms;
time_zone: IANA name; taken_at_source: "meta" or "name"; latitude; longitude; width and height,
upright; orientation as stored; camera_make; camera_model), the value asserted, and where. Where the
peer is wrong (an edit time taken for the capture time, EXIF pixel sizes from before a resize, a
broken GPS tag read as a place) the row also holds the right value and why.

This script decodes each file with photoseek's decoder (`decode_photo`, no library needed) and
prints, per field: agree (photoseek = the peer's value), right where the peer is wrong (photoseek =
the right value), differ, none (photoseek has no value), then every row that is not right.

    git clone --depth 1 https://github.com/photoprism/photoprism /tmp/photoprism
    git clone --depth 1 https://github.com/immich-app/test-assets /tmp/immich-test-assets
    .venv/bin/python bench/peer_metadata.py --photoprism /tmp/photoprism --immich /tmp/immich-test-assets

Files absent from the checkouts (Git LFS objects not fetched) are counted as "missing". Orientation
compares "no tag" as 1 (normal), as both peers do; latitude and longitude agree within 1e-4°.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

TABLE = Path(__file__).with_name("peer_metadata.jsonl")
FIELDS = ("taken_at", "utc", "subsec_ms", "time_zone", "taken_at_source", "latitude", "longitude", "width", "height",
          "orientation", "camera_make", "camera_model")
STATUSES = ("agree", "right, peer wrong", "differ", "none", "missing")
POSITION_TOLERANCE = 1e-4  # degrees (~11 m)


def load_table(path: Path = TABLE) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def photoseek_values(photo) -> dict:
    """The table's fields from a DecodedPhoto (None: photoseek has no value)."""
    taken = photo.taken_at
    values = {
        "taken_at": taken[:19] if taken and len(taken) >= 19 else taken,
        "utc": None,
        "subsec_ms": None,
        "time_zone": getattr(photo, "time_zone", None),
        "taken_at_source": None,
        "latitude": photo.gps_lat,
        "longitude": photo.gps_lon,
        "width": photo.width,
        "height": photo.height,
        "orientation": photo.orientation,
        "camera_make": photo.camera_make,
        "camera_model": photo.camera_model,
    }
    if taken and len(taken) >= 19:
        moment = datetime.fromisoformat(taken)
        values["subsec_ms"] = moment.microsecond // 1000
        if moment.tzinfo is not None:
            values["utc"] = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    source = getattr(photo, "taken_at_source", None)
    if source is None and taken:
        source = "exif"  # decoders from before the source was recorded read EXIF only
    if source is not None:
        values["taken_at_source"] = "name" if source == "file name" else "meta"
    return values


def same(field: str, ours, theirs) -> bool:
    if field == "orientation":
        return (ours or 1) == (theirs or 1)
    if field in ("latitude", "longitude"):
        if ours is None or theirs is None:
            return ours is None and theirs is None
        return abs(float(ours) - float(theirs)) <= POSITION_TOLERANCE
    return ours == theirs


def judge(row: dict, ours) -> str:
    truth = row["right"] if "why" in row else row["expected"]
    if same(row["field"], ours, truth):
        return "right, peer wrong" if "why" in row else "agree"
    return "none" if ours is None else "differ"


def run(table: list[dict], roots: dict[str, Path | None]) -> list[tuple[dict, str, object]]:
    from photoseek.errors import PhotoseekError
    from photoseek.ingest.decode import decode_photo

    decoded: dict[tuple[str, str], object] = {}
    results = []
    for row in table:
        key = (row["peer"], row["file"])
        if key not in decoded:
            root = roots.get(row["peer"])
            path = root / row["file"] if root else None
            if path is None or not path.is_file():
                decoded[key] = None
            else:
                try:
                    decoded[key] = decode_photo(path, target_size=224) or "not a photo to photoseek"
                except PhotoseekError as error:  # reported as "none" on each of its rows
                    decoded[key] = f"error: {error}"
        photo = decoded[key]
        if photo is None:
            results.append((row, "missing", None))
            continue
        if isinstance(photo, str):
            results.append((row, "none", photo))
            continue
        ours = photoseek_values(photo).get(row["field"])
        results.append((row, judge(row, ours), ours))
    return results


def print_report(results) -> None:
    counts: dict[str, Counter] = defaultdict(Counter)
    for row, status, _ in results:
        counts[row["field"]][status] += 1
    print(f"{'field':16s}" + "".join(f"{s:>19s}" for s in STATUSES) + f"{'total':>7s}")
    total = Counter()
    for field in FIELDS:
        if field not in counts:
            continue
        c = counts[field]
        total.update(c)
        print(f"{field:16s}" + "".join(f"{c[s]:19d}" for s in STATUSES) + f"{sum(c.values()):7d}")
    print(f"{'all':16s}" + "".join(f"{total[s]:19d}" for s in STATUSES) + f"{sum(total.values()):7d}")
    checked = sum(total.values()) - total["missing"]
    right = total["agree"] + total["right, peer wrong"]
    print(f"\nphotoseek agrees with {total['agree']} of {checked} assertions and has the right value for "
          f"{total['right, peer wrong']} more where the peer's is wrong: {right} of {checked} right "
          f"({total['missing']} rows' files missing)")
    wrong_peer = [(row, ours) for row, status, ours in results if status == "right, peer wrong"]
    if wrong_peer:
        print("\nwhere the peer is wrong (photoseek has the right value):")
        for row, ours in wrong_peer:
            print(f"  {row['peer']}:{row['file']} {row['field']}: peer {row['expected']!r}, right {row['right']!r} "
                  f"— {row['why']}")
    off = [(row, status, ours) for row, status, ours in results if status in ("differ", "none")]
    if off:
        print("\nnot right:")
        for row, status, ours in off:
            truth = row["right"] if "why" in row else row["expected"]
            print(f"  {status:6s} {row['peer']}:{row['file']} {row['field']}: expected {truth!r}, photoseek {ours!r}"
                  f"   [{row['asserted_in']}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photoprism", type=Path, help="a checkout of github.com/photoprism/photoprism")
    parser.add_argument("--immich", type=Path, help="a checkout of github.com/immich-app/test-assets")
    parser.add_argument("--json", action="store_true", help="one JSON object per row instead of the table")
    args = parser.parse_args()
    if args.photoprism is None and args.immich is None:
        parser.error("give --photoprism and/or --immich (checkouts of the peers' repositories)")
    results = run(load_table(), {"photoprism": args.photoprism, "immich": args.immich})
    if args.json:
        for row, status, ours in results:
            print(json.dumps({**row, "status": status, "photoseek": ours}, ensure_ascii=False, default=str))
    else:
        print(f"{len(results)} assertions from {TABLE.name}; decoder: {os.path.dirname(__import__('photoseek').__file__)}\n")
        print_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
