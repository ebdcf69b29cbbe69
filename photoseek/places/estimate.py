"""A place for a photo without GPS, from the photos the same camera took closest in time.

Phones and cameras without a fix, edited copies that lost their EXIF GPS, a second camera on the same
trip: their photos were taken where the same device's located photos say it was just before or just
after. The estimate takes the located photo of the same device (EXIF make and model; a photo with
neither has no device to go by) nearest in time, if it is at most ESTIMATE_WITHIN away. The camera's
clock is the same for both photos, so time zones do not matter.

ESTIMATE_WITHIN was chosen on a simulated album (bench/places_album.py: a home city, day trips, trips
abroad; GPS hidden from half the photos): see docs/places.md for the accuracy at each limit. People
move: within a few hours they are mostly in the same town, a day later often not.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

ESTIMATE_WITHIN = timedelta(hours=3)


@dataclass(frozen=True)
class Dated:
    """A photo as the estimate sees it: its id, when it was taken (camera local time) and its device."""

    photo_id: int
    taken: datetime
    device: tuple[str, str]


@dataclass(frozen=True)
class Estimate:
    """`photo_id`'s place comes from `from_photo_id`, taken `offset_seconds` before it (negative:
    after it)."""

    photo_id: int
    from_photo_id: int
    offset_seconds: int


def device_of(make: str | None, model: str | None) -> tuple[str, str] | None:
    """The device a photo came from, or None when EXIF names neither make nor model."""
    make, model = (make or "").strip().lower(), (model or "").strip().lower()
    return (make, model) if make or model else None


def parse_taken(value: str | None) -> datetime | None:
    """EXIF DateTimeOriginal as the catalog stores it (ISO, camera local time), without any offset."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)[:19])
    except ValueError:
        return None


def estimate_places(unknown: Iterable[Dated], known: Iterable[Dated],
                    within: timedelta = ESTIMATE_WITHIN) -> list[Estimate]:
    """For each photo of `unknown`, the photo of `known` from the same device nearest in time, when it
    is at most `within` away (ties: the earlier photo)."""
    by_device: dict[tuple[str, str], list[Dated]] = {}
    for photo in known:
        by_device.setdefault(photo.device, []).append(photo)
    times: dict[tuple[str, str], list[datetime]] = {}
    for device, photos in by_device.items():
        photos.sort(key=lambda p: (p.taken, p.photo_id))
        times[device] = [p.taken for p in photos]
    out: list[Estimate] = []
    for photo in unknown:
        photos = by_device.get(photo.device)
        if not photos:
            continue
        at = bisect.bisect_left(times[photo.device], photo.taken)
        best: Dated | None = None
        for candidate in (photos[at - 1] if at > 0 else None, photos[at] if at < len(photos) else None):
            if candidate is None or candidate.photo_id == photo.photo_id:
                continue
            gap = abs(photo.taken - candidate.taken)
            if gap <= within and (best is None or gap < abs(photo.taken - best.taken)):
                best = candidate
        if best is not None:
            out.append(Estimate(photo.photo_id, best.photo_id, int((photo.taken - best.taken).total_seconds())))
    return out


def offset_words(seconds: int) -> str:
    """How far apart in time, as a reason says it: 'the same minute', '20 min earlier', '2 h 5 min later'
    (the *source* photo was taken that much earlier or later)."""
    span = abs(int(seconds))
    if span < 60:
        return "the same minute"
    hours, minutes = divmod(span // 60, 60)
    amount = (f"{hours} h {minutes} min" if minutes else f"{hours} h") if hours else f"{minutes} min"
    return f"{amount} {'earlier' if seconds > 0 else 'later'}"
