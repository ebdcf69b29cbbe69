"""PhotoPrism's and Immich's own test photos, with what their tests assert about them.

bench/peer_metadata.jsonl holds every assertion their tests make about their test photos (290: dates,
offsets, zones, places, sizes, orientation, camera); the files kept here (tests/data/peer_photos,
README there for sources and licences) are checked row by row: photoseek must have the peer's value,
or — where the peer is wrong, and the row says why — the right one. bench/peer_metadata.py runs the
whole table over the peers' checkouts.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from photoseek.ingest.decode import decode_photo

HERE = Path(__file__).resolve().parent
PHOTOS = HERE / "data" / "peer_photos"
TABLE = HERE.parent / "bench" / "peer_metadata.jsonl"
FIELDS = {"taken_at", "utc", "subsec_ms", "time_zone", "taken_at_source", "latitude", "longitude", "width", "height",
          "orientation", "camera_make", "camera_model"}


def _rows() -> list[dict]:
    with open(TABLE, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _kept(row: dict) -> bool:
    return (PHOTOS / Path(row["file"]).name).is_file()


ROWS = [row for row in _rows() if _kept(row)]


def _value(photo, field: str):
    taken = photo.taken_at
    if field == "taken_at":
        return taken[:19] if taken else None
    if field in ("utc", "subsec_ms"):
        moment = datetime.fromisoformat(taken) if taken else None
        if moment is None:
            return None
        if field == "subsec_ms":
            return moment.microsecond // 1000
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment.tzinfo else None
    if field == "taken_at_source":
        return {"file name": "name", None: None}.get(photo.taken_at_source, "meta")
    if field == "latitude":
        return photo.gps_lat
    if field == "longitude":
        return photo.gps_lon
    return getattr(photo, field)


def test_the_table_says_where_each_assertion_is_and_why_a_peer_is_wrong():
    rows = _rows()
    assert len(rows) == 290
    for row in rows:
        assert row["peer"] in ("photoprism", "immich") and row["file"] and row["asserted_in"]
        assert row["field"] in FIELDS, row
        if "why" in row:  # a correction carries the right value and a reason a person can check
            assert "right" in row and row["right"] != row["expected"] and len(row["why"]) > 40, row


def test_the_kept_files_cover_every_kind_of_peer_mistake_and_fix():
    fields = {(Path(row["file"]).name, row["field"]) for row in ROWS}
    assert ("gopro_hd2.jpg", "camera_make") in fields
    assert ("buggy_panorama.jpg", "latitude") in fields and ("image-2011.jpg", "taken_at") in fields
    assert ("gps-datetime.jpg", "utc") in fields or ("datetimeoriginal-gps.jpg", "time_zone") in fields
    assert sum("why" in row for row in ROWS) >= 5


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{Path(r['file']).name}:{r['field']}:{r['peer']}")
def test_photoseek_reads_the_peer_photo_as_asserted(row):
    photo = decode_photo(PHOTOS / Path(row["file"]).name, target_size=64)
    truth = row["right"] if "why" in row else row["expected"]
    ours = _value(photo, row["field"])
    if row["field"] in ("latitude", "longitude") and truth is not None:
        assert ours == pytest.approx(truth, abs=1e-4)
    elif row["field"] == "orientation":
        assert (ours or 1) == (truth or 1)  # no tag is 1 (normal), as both peers read it
    else:
        assert ours == truth, f"{row['asserted_in']}: {row.get('why', '')}"


def test_gopro_names_are_cut_at_the_nul_not_glued_to_the_junk_after_it():
    photo = decode_photo(PHOTOS / "gopro_hd2.jpg", target_size=64)
    assert (photo.camera_make, photo.camera_model) == ("GoPro", "HD2")


def test_a_broken_gps_tag_is_no_place_and_the_clock_keeps_its_own_offset():
    photo = decode_photo(PHOTOS / "buggy_panorama.jpg", target_size=64)
    assert photo.gps_lat is None and photo.gps_lon is None and photo.time_zone is None
    assert photo.taken_at == "2022-04-24T10:35:53.358+02:00"  # OffsetTimeOriginal, with the sub-seconds
    assert photo.utc_offset_source == "exif"


def test_an_edit_time_is_not_the_capture_time():
    photo = decode_photo(PHOTOS / "image-2011.jpg", target_size=64)
    assert photo.taken_at == "2011-07-19T11:36:38" and photo.taken_at_source == "exif"
    assert (photo.camera_make, photo.camera_model) == ("SAMSUNG", "GT-I9000")  # padding and NUL gone


def test_immich_dates_zone_from_the_position_and_gps_time_stamp():
    denver = decode_photo(PHOTOS / "datetimeoriginal-gps.jpg", target_size=64)
    assert denver.taken_at == "2025-12-01T11:30:00-07:00"
    assert (denver.time_zone, denver.utc_offset_source) == ("America/Denver", "position")  # a guess, and says so
    san_francisco = decode_photo(PHOTOS / "gps-datetime.jpg", target_size=64)
    # only the GPS clock (UTC): shown in the zone it was taken in
    assert san_francisco.taken_at == "2023-11-15T04:30:00-08:00"
    assert san_francisco.taken_at_source == "gps" and san_francisco.time_zone == "America/Los_Angeles"
    priority = decode_photo(PHOTOS / "date-priority-test.jpg", target_size=64)
    assert priority.taken_at == "2023-02-02T02:00:00" and priority.taken_at_source == "exif"
