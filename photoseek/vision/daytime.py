"""Time of day of a photo: 'day', 'twilight' or 'night'.

1. From the clock and the place, when both are known (the capture time + GPS): the sun's
   elevation at that moment and place (astral) — above 0° day, 0° to -6° (civil twilight) twilight,
   below -6° night. The moment is true UTC whenever `taken_at` carries its UTC offset (the file's
   OffsetTimeOriginal, an XMP zone, the GPS clock, or the time zone at the position:
   photoseek.ingest.metadata); only a time without one falls back on solar time from the longitude.
2. Otherwise from the pixels, with a tiny logistic model over four features that mean "night"
   anywhere (see `pixel_features`): a dark sky, low overall light, lamp-coloured highlights, and no
   daylit colours (blue sky, sunlit foliage). The pixel model says only day or night; twilight needs
   the sun's position.

The model's five numbers were fitted by scripts/fit_daynight_model.py on the `train` split of the
webcam day/night set only, with day errors weighted 3× night errors: night is the rarer case in
real photo collections, so the model says "night" only when the photo is clearly dark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

TIME_SOURCE = "time"
TIME_ANNOTATOR_ID = "sun-elevation+pixels-v1"

TWILIGHT_ELEVATION = -6.0  # degrees: civil twilight ends here
FEATURE_SIZE = 256  # long side the features are computed at (a thumbnail is enough)

# Logistic model over PIXEL_FEATURES (fitted by scripts/fit_daynight_model.py; see module doc).
PIXEL_FEATURES = ("sky_brightness", "mean_luma", "highlight_warmth", "daylight_colour")
PIXEL_WEIGHTS = (-11.8, -4.7, 1.2, -9.3)
PIXEL_BIAS = 7.2


@dataclass(frozen=True)
class TimeOfDay:
    label: str  # 'day' | 'twilight' | 'night'
    confidence: float  # 0..1, how sure the label is
    method: str  # 'sun' | 'pixels'
    sun_elevation: float | None = None


# -- from the clock and the place ----------------------------------------------------------------------


def parse_taken_at(taken_at: str) -> datetime | None:
    """The moment of a `taken_at` string, or None when it holds no time of day (a date alone, as a
    file name gives for WhatsApp's IMG-20190614-WA0001.jpg, is no moment)."""
    try:
        text = taken_at.strip()
        if "T" not in text and " " not in text:
            return None
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def to_utc(local: datetime, longitude: float) -> datetime:
    """The UTC moment of a camera-local timestamp.

    A timestamp with its UTC offset (which the metadata reader adds whenever the file, its GPS
    clock or its position tells one) is converted exactly. One without is estimated from the
    longitude as local solar time (15° per hour): that ignores political time zones and daylight
    saving (off by an hour or two in Spain, western China, summer), which matters at dusk and dawn.
    """
    if local.tzinfo is not None:
        return local.astimezone(timezone.utc)
    offset_hours = round(longitude / 15.0)
    return (local - timedelta(hours=offset_hours)).replace(tzinfo=timezone.utc)


def sun_elevation(taken_at: datetime, latitude: float, longitude: float) -> float:
    from astral import Observer
    from astral.sun import elevation

    return float(elevation(Observer(latitude=latitude, longitude=longitude), dateandtime=to_utc(taken_at, longitude)))


def time_from_sun(taken_at: str | None, latitude: float | None, longitude: float | None) -> TimeOfDay | None:
    """Day/twilight/night from the sun's elevation, or None when the time or place is unknown."""
    if taken_at is None or latitude is None or longitude is None:
        return None
    moment = parse_taken_at(taken_at)
    if moment is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    try:
        elevation = sun_elevation(moment, latitude, longitude)
    except (ValueError, OverflowError):
        return None
    if elevation > 0:
        label = "day"
        margin = elevation
    elif elevation >= TWILIGHT_ELEVATION:
        label = "twilight"
        margin = min(-elevation, elevation - TWILIGHT_ELEVATION)
    else:
        label = "night"
        margin = TWILIGHT_ELEVATION - elevation
    # the clock may be off by an hour or two (zone guessed from longitude): near a boundary, less sure
    confidence = 0.6 + 0.4 * min(1.0, margin / 10.0)
    return TimeOfDay(label, round(confidence, 3), "sun", round(elevation, 2))


# -- from the pixels ---------------------------------------------------------------------------------------


def pixel_features(image: "Image.Image") -> dict[str, float]:
    """The four day/night features of an RGB image (computed at FEATURE_SIZE on the long side).

    sky_brightness:   75th percentile of luma in the top third (where the sky usually is; the
                      percentile ignores dark trees or roofs that reach into it);
    mean_luma:        overall light;
    highlight_warmth: mean (R - B) over the brightest 5% of pixels: sunlit highlights are neutral or
                      bluish, lamp-lit ones (sodium, tungsten) orange;
    daylight_colour:  share of clearly coloured, well-lit pixels with green-to-blue hue (sky, foliage).
    """
    import numpy as np

    small = image.convert("RGB")
    if max(small.size) > FEATURE_SIZE:
        small = small.copy()
        small.thumbnail((FEATURE_SIZE, FEATURE_SIZE))
    rgb = np.asarray(small, dtype=np.float32) / 255.0
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32) / 255.0
    hue, saturation, value = hsv[..., 0] * 360.0, hsv[..., 1], hsv[..., 2]
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    top = luma[: max(1, luma.shape[0] // 3)]
    highlights = luma >= np.percentile(luma, 95)
    warmth = rgb[..., 0] - rgb[..., 2]
    daylit = (saturation > 0.2) & (value > 0.35) & (hue >= 70) & (hue < 250)
    return {
        "sky_brightness": float(np.percentile(top, 75)),
        "mean_luma": float(luma.mean()),
        "highlight_warmth": float(warmth[highlights].mean()) if highlights.any() else 0.0,
        "daylight_colour": float(daylit.mean()),
    }


def night_probability(features: dict[str, float]) -> float:
    z = PIXEL_BIAS + sum(w * features[name] for w, name in zip(PIXEL_WEIGHTS, PIXEL_FEATURES))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def time_from_pixels(image: "Image.Image") -> TimeOfDay:
    p_night = night_probability(pixel_features(image))
    if p_night >= 0.5:
        return TimeOfDay("night", round(p_night, 3), "pixels")
    return TimeOfDay("day", round(1.0 - p_night, 3), "pixels")


def time_of_day(
    image: "Image.Image | None",
    *,
    taken_at: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> TimeOfDay | None:
    """The sun's verdict when time and place are known, else the pixels' (None without either)."""
    from_sun = time_from_sun(taken_at, latitude, longitude)
    if from_sun is not None:
        return from_sun
    if image is None:
        return None
    return time_from_pixels(image)
