"""A place for a photo without GPS, from the photos the same camera took closest in time.

Phones and cameras without a fix, edited copies that lost their EXIF GPS, a second camera on the same
trip: their photos were taken where the same device's located photos say it was just before or just
after. The estimate takes the located photo of the same device (EXIF make and model; a photo with
neither has no device to go by) nearest in time, if it is at most ESTIMATE_WITHIN away; when the
photos just before and just after it are in two different towns (a travel day), only one within
SURE_WITHIN of it says where it was. The camera's clock is the same for all its photos, so time zones
do not matter.

ESTIMATE_WITHIN was chosen on a simulated album (bench/places_album.py: a home city, day trips, trips
abroad; GPS hidden from half the photos): see docs/places.md for the accuracy at each limit. People
move: within a few hours they are mostly in the same town, a day later often not.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

ESTIMATE_WITHIN = timedelta(hours=6)
# Between photos in two towns (the day you move on), only a photo this close to one of them is placed there
SURE_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class Dated:
    """A photo as the estimate sees it: its id, when it was taken (camera local time), its device and,
    for a located photo, where (any value that is equal for the same town: a city id)."""

    photo_id: int
    taken: datetime
    device: tuple[str, str]
    where: object = None


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
        near = [c for c in (photos[at - 1] if at > 0 else None, photos[at] if at < len(photos) else None)
                if c is not None and c.photo_id != photo.photo_id and abs(photo.taken - c.taken) <= within]
        if not near:
            continue
        best = min(near, key=lambda c: (abs(photo.taken - c.taken), c.taken))
        if len(near) == 2 and near[0].where != near[1].where and abs(photo.taken - best.taken) > SURE_WITHIN:
            continue  # taken between two towns, hours from both: somewhere on the way, unknown
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
