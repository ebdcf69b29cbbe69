"""A small library with places for tests/test_places*.py and the browser test: rendered photos (colour
gradients, no real photos) with EXIF dates, camera and GPS written by piexif, as a short life —

  home in Lisbon:  five days of photos in 2023-03 (GPS), one at night
  a trip to Paris: 2023-04-10 and 11 (GPS), plus a photo of the same phone with no GPS, 20 minutes
                   after a Paris one (its place is estimated)
  a day in Tokyo:  2023-05-02 (GPS)
  odd ones:        (0, 0) GPS (a camera without a fix), a camera with no GPS at all, a scan with no EXIF
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.index_support import colors, make_photo

PHONE = ("Apple", "iPhone 12")
OTHER_CAMERA = ("Canon", "EOS 5D")
LISBON = (38.7167, -9.1333)
PARIS = (48.8534, 2.3488)
TOKYO = (35.6895, 139.6917)


@dataclass(frozen=True)
class Shot:
    name: str
    taken: str | None
    position: tuple[float, float] | None
    camera: tuple[str, str] | None = PHONE


SHOTS = [
    Shot("a01.jpg", "2023-03-01 10:00:00", (38.7139, -9.1394)),
    Shot("a02.jpg", "2023-03-03 12:00:00", (38.7223, -9.1393)),
    Shot("a03.jpg", "2023-03-05 15:30:00", (38.7075, -9.1366)),
    Shot("a04.jpg", "2023-03-07 23:30:00", (38.7110, -9.1300)),
    Shot("a05.jpg", "2023-03-09 11:00:00", (38.7300, -9.1500)),
    Shot("a06.jpg", "2023-04-10 08:00:00", (38.7140, -9.1390)),  # leaving home, the morning of the trip
    Shot("b01.jpg", "2023-04-10 16:00:00", (48.8584, 2.2945)),  # beside the Eiffel Tower
    Shot("b02.jpg", "2023-04-10 16:20:00", None),  # same phone, no GPS: estimated in Paris
    Shot("b03.jpg", "2023-04-11 11:00:00", (48.8606, 2.3376)),
    Shot("c01.jpg", "2023-05-02 14:00:00", (35.6938, 139.7034)),
    Shot("d01.jpg", "2023-05-20 12:00:00", (0.0, 0.0)),  # no fix: no place, no failure
    Shot("d02.jpg", "2023-03-02 12:00:00", None, OTHER_CAMERA),  # no GPS, and no GPS photo of that camera
    Shot("d03.jpg", None, None, None),  # a scan
]


def exif_bytes(shot: Shot) -> bytes:
    return gps_exif(shot.position, shot.taken, shot.camera)


def gps_exif(position: tuple[float, float] | None, taken: str | None, camera: tuple[str, str] | None) -> bytes:
    """EXIF (piexif) with a GPS position, DateTimeOriginal ("2023-04-10 16:00:00" or ISO) and camera make
    and model, each left out when None. Shared with bench/places_album.py."""
    import piexif

    def dms(value: float) -> tuple:
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round(((value - degrees) * 60 - minutes) * 60 * 10000)
        return ((degrees, 1), (minutes, 1), (seconds, 10000))

    zeroth = {piexif.ImageIFD.Make: camera[0].encode(), piexif.ImageIFD.Model: camera[1].encode()} if camera else {}
    exif = {piexif.ExifIFD.DateTimeOriginal: taken.replace("T", " ").replace("-", ":").encode()} if taken else {}
    gps = {}
    if position is not None:
        lat, lon = position
        gps = {piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S", piexif.GPSIFD.GPSLatitude: dms(lat),
               piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W", piexif.GPSIFD.GPSLongitude: dms(lon)}
    return piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps, "1st": {}, "thumbnail": None})


def make_places_photos(folder: Path, shots: list[Shot] = SHOTS) -> dict[str, Path]:
    """The photos of `shots` in `folder` (JPEGs with EXIF); name -> path."""
    import piexif

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for shot, color in zip(shots, colors(len(shots))):
        path = folder / shot.name
        make_photo(path, size=(120, 90), color=color)
        if shot.camera or shot.taken or shot.position:
            piexif.insert(exif_bytes(shot), str(path))
        out[shot.name] = path
    return out


def build_places_library(root: Path) -> Path:
    """The photos of SHOTS indexed (the real embedder, no annotators: places need none). Returns the
    library folder; the photos are in root/photos."""
    from photoseek import Library

    make_places_photos(root / "photos")
    library_dir = root / "library"
    with Library(library_dir, llm=None) as library:
        library.index([root / "photos"], annotate=False)
    return library_dir


def photo_id(library, name: str) -> int:
    for row in library.catalog.conn.execute("SELECT id, display_path FROM photos"):
        if row[1].endswith("/" + name):
            return row[0]
    raise KeyError(name)
