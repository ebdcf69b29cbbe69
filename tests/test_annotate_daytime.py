"""Time of day: from the sun's elevation when time and place are known, else from the pixels."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

import numpy as np
from PIL import Image

from photoseek.vision.daytime import time_from_pixels, time_from_sun, time_of_day, to_utc
from tests.conftest import shared_data

PARIS = (48.8566, 2.3522)
TOKYO = (35.68, 139.69)  # JST is UTC+9 with no daylight saving: the longitude guess (UTC+9) is exact


def test_sun_elevation_gives_day_twilight_night():
    assert time_from_sun("2019-06-21T13:00:00", *PARIS).label == "day"
    assert time_from_sun("2019-06-21T02:00:00", *PARIS).label == "night"
    # 21 June in Tokyo: sunset 19:00, civil dusk ends about 19:30
    assert time_from_sun("2019-06-21T18:40:00", *TOKYO).label == "day"
    assert time_from_sun("2019-06-21T19:15:00", *TOKYO).label == "twilight"
    assert time_from_sun("2019-06-21T19:50:00", *TOKYO).label == "night"
    assert time_from_sun("2019-12-21T18:00:00", *PARIS).label == "night"


def test_explicit_offset_wins_over_the_longitude_guess():
    # taken_at with its zone: 21:30 in New York (UTC-4) is 01:30 UTC, night in Paris
    assert to_utc(datetime.fromisoformat("2019-06-21T21:30:00-04:00"), 2.35) == datetime(
        2019, 6, 22, 1, 30, tzinfo=timezone.utc
    )
    # without a zone, the longitude estimates it: 150° E is about UTC+10
    assert to_utc(datetime(2019, 6, 21, 12, 0), 150.0).hour == 2


def test_missing_or_broken_metadata_falls_back_to_pixels():
    assert time_from_sun(None, *PARIS) is None
    assert time_from_sun("2019-06-21T13:00:00", None, None) is None
    assert time_from_sun("not a date", *PARIS) is None
    assert time_from_sun("2019-06-21T13:00:00", 123.0, 2.0) is None  # impossible latitude
    dark = Image.new("RGB", (320, 240), (8, 8, 12))
    found = time_of_day(dark, taken_at="garbage", latitude=None, longitude=None)
    assert found.method == "pixels" and found.label == "night"
    assert time_of_day(None) is None


def test_pixels_synthetic_day_and_night():
    sky = np.zeros((240, 320, 3), np.uint8)
    sky[:120] = (110, 160, 230)  # blue sky
    sky[120:] = (70, 130, 60)  # sunlit grass
    assert time_from_pixels(Image.fromarray(sky)).label == "day"
    night = np.full((240, 320, 3), 10, np.uint8)
    night[150:160, 100:110] = (255, 200, 120)  # a street lamp
    assert time_from_pixels(Image.fromarray(night)).label == "night"
    assert time_from_pixels(Image.new("RGB", (1, 1), (255, 255, 255))).label == "day"


def test_webcam_photos_day_and_night():
    folder = shared_data("webcam-daynight")
    with (folder / "labels.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "test"]
    sample = [r for r in rows if r["label"] == "day"][::10] + [r for r in rows if r["label"] == "night"][::10]
    assert len(sample) == 16
    wrong = []
    for row in sample:
        with Image.open(folder / row["file"]) as image:
            label = time_from_pixels(image.convert("RGB")).label
        if label != row["label"]:
            wrong.append(row["file"])
    assert not wrong, f"misjudged: {wrong}"
