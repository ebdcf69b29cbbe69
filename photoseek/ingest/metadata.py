"""What a photo file says about itself: capture time and its UTC offset, place, camera, orientation.

`read_metadata(image, data=..., path=...)` reads a Pillow image opened lazily (no pixels decoded)
and returns a `PhotoMetadata`. Every source a camera, a phone or an editor writes is read, each
part on its own (a broken part is left out, never the whole):

- **Capture time**, first found of: EXIF DateTimeOriginal, XMP exif:DateTimeOriginal and
  photoshop:DateCreated, EXIF DateTimeDigitized, XMP xmp:CreateDate, the GPS clock (GPSDateStamp +
  GPSTimeStamp, UTC), a date in the file name (`IMG_20190614_153012.jpg`, `PXL_…`, `Screenshot_…`,
  `telegram_2020-01-30_09-57-18.jpg`, WhatsApp's `IMG-20190614-WA0001.jpg`…). Sub-seconds come
  with it (SubSecTimeOriginal…). Never the EXIF DateTime / XMP ModifyDate: those are edit times
  (Photoshop writes the export time there), and never the file's own time stamps: a library
  copied from a phone backup would get the day of the copy, which date filters would then trust.
- **UTC offset** of that time, first found of: the date's own offset (OffsetTimeOriginal,
  OffsetTimeDigitized, OffsetTime; an XMP date's zone), the GPS clock (local time minus the GPS UTC
  time, to the quarter hour, when they agree within two minutes; a camera clock that kept another
  zone than the place's — home time on a trip — is then shown at the place's time), and, as a
  guess, the time zone at the photo's position (IANA zone from `timezonefinder`). `taken_at` keeps the offset whenever
  one is known ("2019-05-12T17:13:53.955+02:00"); `utc_offset_source` says where it came from
  ('position' is the guess). The first 10 characters stay the local date whatever the offset,
  which is what date filters compare.
- **Place**: EXIF GPS (degrees, minutes, seconds; a minute or second of 60 or more is a broken
  tag, not a place, and so is 0°,0°), else XMP exif:GPSLatitude/GPSLongitude.
- **Camera** make and model: cut at the first NUL (what follows is junk left in a fixed-size
  buffer), trimmed, UTF-8 read back where Pillow decoded it as Latin-1, and dropped when what is
  left is no name (control characters, no letter or digit, "unknown").
- **Orientation**: EXIF, else XMP tiff:Orientation, else (HEIF) the file's rotation and mirror boxes
  (irot, imir). `orientation` is what the file stores; `transpose` what must still be done to the
  decoded pixels to show them upright, so that it is applied once: libheif already applies irot
  and imir (pillow-heif then rewrites the EXIF tag to 1 and keeps the real one in
  `info["original_orientation"]`), so a HEIF with those boxes needs nothing more; one without
  them needs its EXIF orientation (iPhone 7: 4032×3024 stored sideways with orientation 6) unless
  its pixels are already turned (Samsung writes 3000×4000 pixels with EXIF 4000×3000 and 6).

METADATA_READER_ID names these rules: a catalog whose photos were read by older rules has them
read again on the next `index` (photoseek.ingest.indexer), without decoding or embedding them.
"""

from __future__ import annotations

import math
import os
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

METADATA_READER_ID = "exif-xmp-gps-name+zones-v1"

# where `taken_at` came from (stored in photos.taken_at_source)
FROM_EXIF, FROM_XMP, FROM_GPS, FROM_FILE_NAME = "exif", "xmp", "gps", "file name"
# where its UTC offset came from (photos.utc_offset_source); POSITION is a guess
OFFSET_FROM_EXIF, OFFSET_FROM_XMP, OFFSET_FROM_GPS_CLOCK, OFFSET_FROM_POSITION = "exif", "xmp", "gps clock", "position"

# EXIF tags (numbers: readable without the tables)
_ORIENTATION, _MAKE, _MODEL = 0x0112, 0x010F, 0x0110
_EXIF_IFD, _GPS_IFD, _XMP_TAG = 0x8769, 0x8825, 700
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET_TIME, _OFFSET_ORIGINAL, _OFFSET_DIGITIZED = 0x9010, 0x9011, 0x9012
_SUBSEC_ORIGINAL, _SUBSEC_DIGITIZED = 0x9291, 0x9292
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_TIME, _GPS_DATE = 1, 2, 3, 4, 7, 29

_NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
}
MAX_XMP_BYTES = 2 << 20  # a packet larger than this is not worth parsing for a date

GPS_CLOCK_TOLERANCE = timedelta(minutes=2)  # local − GPS time must be this close to a quarter hour
LATEST_YEAR_AHEAD = 1  # a capture date more than this many years after today is a broken clock
EARLIEST_YEAR = 1826  # the first photograph; anything before is a placeholder (0000:00:00)


@dataclass
class PhotoMetadata:
    """What `read_metadata` found (None: not in the file, or unreadable)."""

    taken_at: str | None = None  # ISO 8601 local time, with "+HH:MM" when the offset is known or guessed
    taken_at_source: str | None = None  # FROM_EXIF | FROM_XMP | FROM_GPS | FROM_FILE_NAME
    utc_offset_source: str | None = None  # OFFSET_FROM_*; None: taken_at has no offset
    time_zone: str | None = None  # IANA zone at the photo's position ("Europe/Berlin")
    gps_lat: float | None = None
    gps_lon: float | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    orientation: int | None = None  # 1..8 as the file stores it (EXIF, XMP, or HEIF boxes)
    transpose: int = 1  # 1..8: what must still be applied to the decoded pixels


def read_metadata(
    image: "Image.Image | None",
    *,
    data: bytes | None = None,
    path: bytes | str | None = None,
    exif: Any = None,
) -> PhotoMetadata:
    """Metadata of a lazily opened Pillow image. `data`: the file's bytes (HEIF boxes are read from
    them); `path`: for a date in the file name; `exif`: an Exif to read instead of the image's own
    (a RAW file's, read from its TIFF structure; `image` may then be None)."""
    meta = PhotoMetadata()
    if exif is None and image is not None:
        exif = _safe(image.getexif)
    sub = _safe(lambda: exif.get_ifd(_EXIF_IFD)) if exif is not None else None
    gps = _safe(lambda: exif.get_ifd(_GPS_IFD)) if exif is not None else None
    packet = _safe(lambda: xmp_packet(image)) if image is not None else None
    if packet is None and exif is not None:
        packet = _safe(lambda: _as_bytes(exif.get(_XMP_TAG)))
    xmp = _safe(lambda: xmp_properties(packet))
    exif, sub, gps, xmp = exif or {}, sub or {}, gps or {}, xmp or {}

    meta.camera_make = _safe(lambda: clean_text(exif.get(_MAKE))) or _safe(lambda: clean_text(xmp.get("tiff:Make")))
    meta.camera_model = _safe(lambda: clean_text(exif.get(_MODEL))) or _safe(lambda: clean_text(xmp.get("tiff:Model")))
    position = _safe(lambda: gps_position(gps)) or _safe(lambda: xmp_position(xmp))
    if position:
        meta.gps_lat, meta.gps_lon = position
        meta.time_zone = _safe(lambda: zone_name_at(*position))
    _read_orientation(meta, image, exif, sub, xmp, data)
    _read_capture_time(meta, exif, sub, gps, xmp, path)
    return meta


def _safe(read):
    try:
        return read()
    except Exception:  # a broken part of the metadata costs that part, nothing more
        return None


# -- text -------------------------------------------------------------------------------------------------

_PLACEHOLDERS = {"unknown", "n/a", "na", "none", "null", "default", "-", "--", "---", "?", "0"}


def clean_text(value: Any) -> str | None:
    """A text field as people should see it, or None when it holds no text.

    Cut at the first NUL (cameras fill fixed-size fields: "GoPro\\0üÍxÀ..." is "GoPro"), decoded as
    UTF-8 where it is (Pillow reads EXIF ASCII as Latin-1: "CanÃ³n" is "Canón"), else Latin-1,
    trimmed; None when what is left has control characters, no letter or digit, or is a
    placeholder ("unknown", "-")."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)):  # XMP Seq/Alt or a multi-valued tag: the first value
        value = value[0] if value else None
        if value is None:
            return None
    if isinstance(value, bytes):
        value = value.split(b"\x00", 1)[0]
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
    else:
        text = str(value).split("\x00", 1)[0]
        if any(ord(c) > 127 for c in text):
            try:
                text = text.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
    text = " ".join(text.split())  # trims, and runs of spaces (padding) become one
    if not text or "\ufffd" in text or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text):
        return None
    if not any(c.isalnum() for c in text) or text.lower() in _PLACEHOLDERS:
        return None
    return text


# -- XMP --------------------------------------------------------------------------------------------------


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, tuple):  # Pillow reads TIFF tag 700 (BYTE) as a tuple of ints at times
        return bytes(value)
    return bytes(value)


def xmp_packet(image: "Image.Image") -> bytes | None:
    """The raw XMP packet of an image, wherever its format keeps it (JPEG APP1, PNG iTXt, WebP,
    HEIF, JPEG XL, TIFF tag 700)."""
    info = image.info
    for key in ("xmp", "XML:com.adobe.xmp"):
        packet = info.get(key)
        if packet:
            return packet.encode("utf-8") if isinstance(packet, str) else bytes(packet)
    tags = getattr(image, "tag_v2", None)
    if tags is not None and _XMP_TAG in tags:
        return _as_bytes(tags[_XMP_TAG])
    return None


def xmp_properties(packet: bytes | None) -> dict[str, Any]:
    """The XMP properties photoseek reads, as {"prefix:Name": value}: attributes and simple
    elements of every rdf:Description; for an rdf:Seq/Alt/Bag the first item. Unknown namespaces
    are ignored; a packet that is not XML gives {}."""
    if not packet or len(packet) > MAX_XMP_BYTES:
        return {}
    import xml.etree.ElementTree as ET

    start = packet.find(b"<x:xmpmeta")
    if start < 0:
        start = packet.find(b"<rdf:RDF")
    end_tag = b"</x:xmpmeta>" if packet[start : start + 10] == b"<x:xmpmeta" else b"</rdf:RDF>"
    end = packet.rfind(end_tag)
    if start < 0 or end < 0:
        return {}
    try:
        root = ET.fromstring(packet[start : end + len(end_tag)])
    except ET.ParseError:
        return {}
    wanted = {uri: prefix for prefix, uri in _NS.items() if prefix not in ("x", "rdf")}
    props: dict[str, Any] = {}

    def name_of(qualified: str) -> str | None:
        if not qualified.startswith("{"):
            return None
        uri, _, local = qualified[1:].partition("}")
        prefix = wanted.get(uri)
        return f"{prefix}:{local}" if prefix else None

    for description in root.iter(f"{{{_NS['rdf']}}}Description"):
        for key, value in description.attrib.items():
            name = name_of(key)
            if name and name not in props:
                props[name] = value
        for child in description:
            name = name_of(child.tag)
            if not name or name in props:
                continue
            items = [li.text for li in child.iter(f"{{{_NS['rdf']}}}li") if li.text]
            text = items[0] if items else (child.text or "").strip()
            if text:
                props[name] = text
    return props


# -- orientation ----------------------------------------------------------------------------------------


def _read_orientation(meta: PhotoMetadata, image, exif, sub, xmp: dict, data: bytes | None) -> None:
    stored = _orientation_value(exif.get(_ORIENTATION)) or _orientation_value(xmp.get("tiff:Orientation"))
    if image is not None and image.format == "JXL":
        # libjxl turns the pixels by the codestream's own orientation; an EXIF tag is informative
        meta.orientation, meta.transpose = stored, 1
        return
    if image is not None and "original_orientation" in image.info:
        # pillow-heif has already read (and reset) the EXIF/XMP tag: the real one is kept here.
        # (Pillow's own AVIF plugin instead turns irot/imir into the EXIF tag: the common path.)
        stored = _orientation_value(image.info.get("original_orientation")) or None
        boxes = _safe(lambda: heif_transforms(data)) if data is not None else None
        if boxes is None:
            boxes = ()
        meta.orientation = stored or (orientation_of_transforms(boxes) if boxes else None)
        if boxes or stored is None:
            meta.transpose = 1  # libheif applied irot/imir (the EXIF tag is then informative only)
        elif stored in (5, 6, 7, 8) and _already_turned(image.size, sub):
            meta.transpose = 1
        else:
            meta.transpose = stored
        return
    meta.orientation = stored
    meta.transpose = stored or 1


def _orientation_value(value: Any) -> int | None:
    try:
        number = int(str(value).strip()) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and 1 <= number <= 8 else None


def _already_turned(size: tuple[int, int], sub) -> bool:
    """Whether pixels are stored already turned a quarter: their size is the EXIF pixel size
    (which describes the sensor's landscape frame) the other way round."""
    try:
        exif_size = (int(sub[_PIXEL_X]), int(sub[_PIXEL_Y]))
    except (KeyError, TypeError, ValueError):
        return False
    return exif_size != tuple(size) and exif_size == (size[1], size[0])


def heif_transforms(data: bytes) -> tuple[tuple[str, int], ...]:
    """The rotation and mirror properties (('irot', quarter turns anticlockwise) / ('imir', axis)) of
    a HEIF/AVIF file's primary item, in the order the file associates them; () when there are
    none. Reads the ISO-BMFF boxes meta → pitm, iprp → ipco + ipma; raises ValueError on a broken
    structure."""
    meta = _child_box(data, 0, len(data), b"meta")
    if meta is None:
        return ()
    start, end = meta[0] + 4, meta[1]  # meta is a FullBox: version + flags first
    pitm = _child_box(data, start, end, b"pitm")
    if pitm is None:
        raise ValueError("HEIF without a primary item")
    version = data[pitm[0]]
    primary = int.from_bytes(data[pitm[0] + 4 : pitm[0] + (6 if version == 0 else 8)], "big")
    iprp = _child_box(data, start, end, b"iprp")
    if iprp is None:
        return ()
    ipco = _child_box(data, iprp[0], iprp[1], b"ipco")
    ipma = _child_box(data, iprp[0], iprp[1], b"ipma")
    if ipco is None or ipma is None:
        return ()
    properties = list(_boxes(data, ipco[0], ipco[1]))  # 1-based indexes in ipma
    position = ipma[0]
    version, flags = data[position], int.from_bytes(data[position + 1 : position + 4], "big")
    position += 4
    count = int.from_bytes(data[position : position + 4], "big")
    position += 4
    for _ in range(count):
        id_size = 2 if version < 1 else 4
        item = int.from_bytes(data[position : position + id_size], "big")
        position += id_size
        associations = data[position]
        position += 1
        indexes = []
        for _ in range(associations):
            if flags & 1:
                indexes.append(int.from_bytes(data[position : position + 2], "big") & 0x7FFF)
                position += 2
            else:
                indexes.append(data[position] & 0x7F)
                position += 1
        if item != primary:
            continue
        transforms = []
        for index in indexes:
            if not 1 <= index <= len(properties):
                continue
            kind, body_start, _ = properties[index - 1]
            if kind == b"irot":
                transforms.append(("irot", data[body_start] & 0x03))
            elif kind == b"imir":
                transforms.append(("imir", data[body_start] & 0x01))
        return tuple(transforms)
    return ()


def orientation_of_transforms(transforms) -> int | None:
    """The EXIF orientation (1..8) equivalent to HEIF irot/imir properties, None for identity.

    irot turns anticlockwise by quarters; imir axis 0 mirrors top to bottom, axis 1 left to right
    (ISO/IEC 23008-12). EXIF orientation names what to do to the stored image to view it."""
    import numpy as np

    start = np.arange(4).reshape(2, 2)
    grid = start
    for kind, value in transforms:
        if kind == "irot":
            grid = np.rot90(grid, value)
        else:
            grid = np.flipud(grid) if value == 0 else np.fliplr(grid)
    views = {2: np.fliplr(start), 3: np.rot90(start, 2), 4: np.flipud(start), 5: start.T,
             6: np.rot90(start, -1), 7: np.rot90(start, 2).T, 8: np.rot90(start, 1)}
    return next((orientation for orientation, view in views.items() if np.array_equal(view, grid)), None)


def _boxes(data: bytes, start: int, end: int):
    """(type, body start, body end) of the ISO-BMFF boxes between start and end."""
    position = start
    while position + 8 <= end:
        size = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        header = 8
        if size == 1:
            size = int.from_bytes(data[position + 8 : position + 16], "big")
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise ValueError(f"broken {kind!r} box")
        yield kind, position + header, position + size
        position += size


def _child_box(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, body_start, body_end in _boxes(data, start, end):
        if found == kind:
            return body_start, body_end
    return None


# -- place ----------------------------------------------------------------------------------------------


def gps_position(gps) -> tuple[float, float] | None:
    """(latitude, longitude) from an EXIF GPS IFD, or None when absent, (0, 0) (what cameras
    without a fix write) or broken (minutes or seconds of 60 or more, out of range)."""
    if not gps or _GPS_LAT not in gps or _GPS_LON not in gps:
        return None
    lat = _degrees(gps[_GPS_LAT])
    lon = _degrees(gps[_GPS_LON])
    if lat is None or lon is None:
        return None
    if (clean_text(gps.get(_GPS_LAT_REF)) or "").upper().startswith("S"):
        lat = -lat
    if (clean_text(gps.get(_GPS_LON_REF)) or "").upper().startswith("W"):
        lon = -lon
    return _valid_position(lat, lon)


def _degrees(value) -> float | None:
    """Degrees, minutes, seconds (rationals) → decimal degrees; None when a part is not a number
    or minutes/seconds are 60 or more (a writer's bug: 48° 15' 595404" is no place)."""
    if isinstance(value, (int, float)):
        parts = [float(value)]
    else:
        parts = [float(v) for v in value]
    if not parts or any(math.isnan(p) or math.isinf(p) or p < 0 for p in parts):
        return None
    while len(parts) < 3:
        parts.append(0.0)
    degrees, minutes, seconds = parts[:3]
    if minutes >= 60 or seconds >= 60:
        return None
    return degrees + minutes / 60 + seconds / 3600


def _valid_position(lat: float, lon: float) -> tuple[float, float] | None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lat, 7), round(lon, 7)


_XMP_COORDINATE = re.compile(r"^\s*(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?(?:,(\d+(?:\.\d+)?))?\s*([NSEW])\s*$", re.I)


def xmp_position(xmp: dict) -> tuple[float, float] | None:
    """(latitude, longitude) from XMP exif:GPSLatitude/GPSLongitude ("52,27.5814N", "13,19.2W",
    "52,27,34.9N" or a signed decimal)."""
    lat, lon = _xmp_coordinate(xmp.get("exif:GPSLatitude")), _xmp_coordinate(xmp.get("exif:GPSLongitude"))
    if lat is None or lon is None:
        return None
    return _valid_position(lat, lon)


def _xmp_coordinate(text: Any) -> float | None:
    if not text:
        return None
    text = str(text)
    match = _XMP_COORDINATE.match(text)
    if match is None:
        try:
            return float(text)
        except ValueError:
            return None
    parts = [float(p) if p else 0.0 for p in match.group(1, 2, 3)]
    value = _degrees(parts)
    if value is None:
        return None
    return -value if match.group(4).upper() in "SW" else value


_zone_lock = threading.Lock()
_zone_finder: list[Any] = []  # [TimezoneFinder] once made; [None] when the package is missing


def zone_name_at(lat: float, lon: float) -> str | None:
    """The IANA time zone at a position ("Europe/Berlin"), None at sea, or without `timezonefinder`."""
    with _zone_lock:
        if not _zone_finder:
            try:
                from timezonefinder import TimezoneFinder
            except ImportError:
                _zone_finder.append(None)
            else:
                _zone_finder.append(TimezoneFinder(in_memory=False))
        finder = _zone_finder[0]
        if finder is None:
            return None
        name = finder.timezone_at(lng=lon, lat=lat)
    if not name or name.startswith("Etc/"):  # the sea's nautical zones say nothing of local clocks
        return None
    return name


def zone_offset(zone_name: str, local: datetime) -> timedelta | None:
    """The UTC offset a zone had at a local wall-clock time (daylight saving included)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return local.replace(tzinfo=ZoneInfo(zone_name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


# -- capture time ---------------------------------------------------------------------------------------


@dataclass
class _Stamp:
    local: datetime  # naive wall-clock time (date-only stamps: midnight, `has_time` False)
    offset: timedelta | None
    source: str
    offset_source: str | None
    has_time: bool = True


def _read_capture_time(meta: PhotoMetadata, exif, sub, gps, xmp: dict, path) -> None:
    gps_utc = _safe(lambda: _gps_clock(gps)) or _safe(lambda: _xmp_gps_clock(xmp))
    stamp = (
        _exif_stamp(sub, exif, _DATETIME_ORIGINAL, _SUBSEC_ORIGINAL, _OFFSET_ORIGINAL)
        or _xmp_stamp(xmp, "exif:DateTimeOriginal")
        or _xmp_stamp(xmp, "photoshop:DateCreated")
        or _exif_stamp(sub, exif, _DATETIME_DIGITIZED, _SUBSEC_DIGITIZED, _OFFSET_DIGITIZED)
        or _xmp_stamp(xmp, "xmp:CreateDate")
    )
    if stamp is None and gps_utc is not None:
        stamp = _Stamp(gps_utc.replace(tzinfo=None), timedelta(0), FROM_GPS, OFFSET_FROM_GPS_CLOCK)
        zone_offset_now = zone_offset(meta.time_zone, gps_utc.replace(tzinfo=None)) if meta.time_zone else None
        if zone_offset_now is not None:  # shown in the zone it was taken in: 12:30 UTC in San Francisco is 04:30
            local = gps_utc.astimezone(timezone(zone_offset_now)).replace(tzinfo=None)
            stamp = _Stamp(local, zone_offset_now, FROM_GPS, OFFSET_FROM_GPS_CLOCK)
    if stamp is None and path is not None:
        stamp = _safe(lambda: _file_name_stamp(path))
    if stamp is None:
        return
    if stamp.offset is None and stamp.has_time and gps_utc is not None:
        stamp.offset = _offset_from_gps_clock(stamp.local, gps_utc)
        stamp.offset_source = OFFSET_FROM_GPS_CLOCK if stamp.offset is not None else None
        if stamp.offset is not None and meta.time_zone:
            _to_local_zone(stamp, meta.time_zone)
    if stamp.offset is None and stamp.has_time and meta.time_zone:
        stamp.offset = zone_offset(meta.time_zone, stamp.local)
        stamp.offset_source = OFFSET_FROM_POSITION if stamp.offset is not None else None
    meta.taken_at = format_taken_at(stamp.local, stamp.offset, has_time=stamp.has_time)
    meta.taken_at_source = stamp.source
    meta.utc_offset_source = stamp.offset_source if stamp.offset is not None else None


def _to_local_zone(stamp: _Stamp, zone_name: str) -> None:
    """A camera clock still on home time abroad (its GPS clock says which offset it kept) shown at
    the place's own time: 03:11 on a clock kept at +02:00 is 17:11 the day before in Los Angeles.
    (An offset the file states, as phones write it with their network's zone, is kept as it is.)"""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        at_place = (stamp.local - stamp.offset).replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone_name))
    except (ZoneInfoNotFoundError, ValueError, OverflowError, OSError):
        return
    if at_place.utcoffset() != stamp.offset:
        stamp.local, stamp.offset = at_place.replace(tzinfo=None), at_place.utcoffset()


def describe_taken_at(taken_at: str | None, taken_at_source: str | None = None, utc_offset_source: str | None = None,
                      time_zone: str | None = None) -> str:
    """`taken_at` as people read it, with how it is known: "2018-09-10 12:16:13 (UTC+09:00, guessed
    from the place: Asia/Tokyo)", "2020-01-30 09:57:18 (from the file name)", "unknown date"."""
    if not taken_at:
        return "unknown date"
    moment = taken_at[:19].replace("T", " ")
    offset = taken_at[23:] if len(taken_at) > 23 and taken_at[19] == "." else taken_at[19:]
    notes = []
    if offset:
        zone = f"UTC{offset.replace('-', '−')}"
        if taken_at_source == FROM_GPS:
            notes.append(zone + (f", {time_zone}" if time_zone else ""))
        elif utc_offset_source == OFFSET_FROM_POSITION:
            notes.append(f"{zone}, guessed from the place" + (f": {time_zone}" if time_zone else ""))
        else:
            notes.append(zone + (f", {time_zone}" if time_zone else "")
                         + ("; from the GPS clock" if utc_offset_source == OFFSET_FROM_GPS_CLOCK else ""))
    elif len(taken_at) > 10:
        notes.append("time zone unknown")
    if taken_at_source == FROM_FILE_NAME:
        notes.append("from the file name")
    elif taken_at_source == FROM_GPS:
        notes.append("from the GPS time stamp")
    return moment + (f" ({'; '.join(notes)})" if notes else "")


def format_taken_at(local: datetime, offset: timedelta | None, *, has_time: bool = True) -> str:
    """ISO 8601: "2019-05-12T17:13:53.955+02:00" (milliseconds only when there are any, the offset
    only when known); a date alone ("2019-06-14") when the time is not known."""
    if not has_time:
        return local.date().isoformat()
    text = local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")
    if offset is not None:
        text += _offset_text(offset)
    return text


def _offset_text(offset: timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?)?")
_OFFSET = re.compile(r"^\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))\s*$")


def _exif_stamp(sub, exif, date_tag: int, subsec_tag: int, offset_tag: int) -> _Stamp | None:
    # a date written in IFD0 instead of the Exif IFD (an editor's slip: image-2011.jpg) still counts
    raw = sub.get(date_tag) or exif.get(date_tag)
    local = parse_exif_datetime(clean_text(raw))
    if local is None or not local[1]:
        return None
    moment = local[0]
    digits = re.sub(r"\D", "", clean_text(sub.get(subsec_tag)) or "")
    if digits and not moment.microsecond:
        moment = moment.replace(microsecond=int(digits[:6].ljust(6, "0")))
    offset = parse_offset(clean_text(sub.get(offset_tag)) or clean_text(sub.get(_OFFSET_TIME)))
    return _Stamp(moment, offset, FROM_EXIF, OFFSET_FROM_EXIF if offset is not None else None)


def parse_exif_datetime(text: str | None) -> tuple[datetime, bool] | None:
    """(naive datetime, has a time of day) from "2019:06:14 15:30:12", "2019-06-14T15:30:12.45",
    "2019:06:14" ...; None for placeholders ("0000:00:00 00:00:00", blanks) and impossible dates."""
    if not text:
        return None
    match = _EXIF_DATE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        if hour == "24" and (minute, second or "00") == ("00", "00"):  # 24:00:00 is the next midnight
            try:
                moment = datetime(int(year), int(month), int(day)) + timedelta(days=1)
            except ValueError:
                return None
        else:
            return None
    if not _plausible_year(moment.year):
        return None
    if fraction:
        moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return moment, hour is not None


def _plausible_year(year: int) -> bool:
    return EARLIEST_YEAR <= year <= date.today().year + LATEST_YEAR_AHEAD


def parse_offset(text: str | None) -> timedelta | None:
    """"+02:00", "-0530", "Z" → a timedelta; None for anything else or beyond ±14 h."""
    if not text:
        return None
    match = _OFFSET.match(text)
    if match is None:
        return None
    if match.group(1):
        return timedelta(0)
    sign = -1 if match.group(2) == "-" else 1
    hours, minutes = int(match.group(3)), int(match.group(4))
    if hours > 14 or minutes >= 60:
        return None
    return sign * timedelta(hours=hours, minutes=minutes)


_XMP_DATE = re.compile(
    r"^\s*(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


def _xmp_stamp(xmp: dict, name: str) -> _Stamp | None:
    parsed = parse_xmp_datetime(xmp.get(name))
    if parsed is None:
        return None
    local, offset, has_time = parsed
    if not has_time:
        return None  # a date alone (photoshop:DateCreated "2019-06-14"): the EXIF time may still come
    return _Stamp(local, offset, FROM_XMP, OFFSET_FROM_XMP if offset is not None else None)


def parse_xmp_datetime(text: Any) -> tuple[datetime, timedelta | None, bool] | None:
    """(naive local datetime, its UTC offset or None, has a time of day) from an XMP date
    ("2021-10-27T10:43:46+02:00", "2021-10-29T13:42+02:00", "2011-07-19T11:36:38.15", "2019-06-14")."""
    if not text:
        return None
    match = _XMP_DATE.match(str(text))
    if match is None:
        return parse_exif_datetime_with_offset(str(text))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if month is None or day is None:
        return None  # a year or a month is no capture time
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                          int(fraction[:6].ljust(6, "0")) if fraction else 0)
    except ValueError:
        return None
    if not _plausible_year(moment.year):
        return None
    offset = parse_offset(zone) if zone and hour is not None else None
    return moment, offset, hour is not None


def parse_exif_datetime_with_offset(text: str) -> tuple[datetime, timedelta | None, bool] | None:
    """An EXIF-style date written into XMP ("2019:06:14 15:30:12+02:00")."""
    parsed = parse_exif_datetime(text)
    if parsed is None:
        return None
    tail = re.search(r"(Z|[+-]\d{2}:?\d{2})\s*$", text)
    return parsed[0], parse_offset(tail.group(1)) if tail and parsed[1] else None, parsed[1]


def _gps_clock(gps) -> datetime | None:
    """The GPS time stamp (GPSDateStamp + GPSTimeStamp) as an aware UTC datetime."""
    if not gps or _GPS_DATE not in gps or _GPS_TIME not in gps:
        return None
    day = parse_exif_datetime(clean_text(gps[_GPS_DATE]))
    parts = [float(v) for v in gps[_GPS_TIME]]
    if day is None or len(parts) != 3 or any(math.isnan(p) or p < 0 for p in parts):
        return None
    hours, minutes, seconds = parts
    if hours >= 24 or minutes >= 60 or seconds >= 61:
        return None
    moment = day[0].replace(hour=0, minute=0, second=0, microsecond=0)
    return (moment + timedelta(hours=hours, minutes=minutes, seconds=seconds)).replace(tzinfo=timezone.utc)


def _xmp_gps_clock(xmp: dict) -> datetime | None:
    """XMP exif:GPSTimeStamp: a whole date and time in UTC ("2023-11-15T12:30:00Z")."""
    parsed = parse_xmp_datetime(xmp.get("exif:GPSTimeStamp"))
    if parsed is None or not parsed[2]:
        return None
    local, offset, _ = parsed
    return (local - (offset or timedelta(0))).replace(tzinfo=timezone.utc)


def _offset_from_gps_clock(local: datetime, gps_utc: datetime) -> timedelta | None:
    """The camera clock's UTC offset from its GPS time stamp: local − UTC, to the quarter hour,
    when that is within GPS_CLOCK_TOLERANCE of a quarter hour and within ±14 h (a GPS time stamp
    of an old fix, or a clock that drifted, gives no offset)."""
    difference = local - gps_utc.replace(tzinfo=None)
    quarter = timedelta(minutes=15)
    rounded = round(difference / quarter) * quarter
    if abs(difference - rounded) > GPS_CLOCK_TOLERANCE or abs(rounded) > timedelta(hours=14):
        return None
    return rounded


# -- dates in file names ----------------------------------------------------------------------------------

_SEP = r"[-_.: ]?"
_NAME_PATTERNS = [
    # 2020-01-30_09-57-18, 2019-05-21 at 10.45.52, 2018-04-12 19_24_49, 2020-01-30-095718
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[-_ T]|\s+at\s+)(\d{2})[-_.:]?(\d{2})[-_.:]?(\d{2})(?!\d)", re.I),
    # 20190614_153012, 20190614-153012, PXL_20210512_153012345
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[-_T ](\d{2})(\d{2})(\d{2})(?:\d{0,3})(?!\d)"),
]
# a date alone, only after a prefix that marks a phone or messenger file name (IMG-20190614-WA0001)
_NAME_DATE_ONLY = [
    re.compile(r"(?:^|[^a-z])(?:img|vid|pxl|aud|ptt|doc|screenshot|signal|photo|pano)[-_ ]?(\d{4})-?(\d{2})-?(\d{2})(?!\d)", re.I),
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"),
]


def date_from_file_name(name: str) -> tuple[datetime, bool] | None:
    """(local datetime, has a time of day) from a file name, or None. Knows the names cameras,
    phones and messengers write: IMG_20190614_153012, VID_…, PXL_20210512_153012345, 20190614_153012
    (Samsung), Screenshot_2020-01-30-09-57-18, Screenshot 2019-05-21 at 10.45.52, telegram_2020-01-30_
    09-57-18, IMG-20190614-WA0001 (WhatsApp: the date only), 2018-04-12 19_24_49."""
    stem = os.path.splitext(os.path.basename(name))[0]
    for pattern in _NAME_PATTERNS:
        for match in pattern.finditer(stem):
            found = _name_datetime(*match.groups())
            if found is not None:
                return found, True
    for pattern in _NAME_DATE_ONLY:
        for match in pattern.finditer(stem):
            found = _name_datetime(*match.groups())
            if found is not None:
                return found, False
    return None


def _name_datetime(year, month, day, hour="0", minute="0", second="0") -> datetime | None:
    try:
        found = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    # digital photos: a file name with a year before 1990 is a number, not a date
    return found if 1990 <= found.year <= date.today().year + LATEST_YEAR_AHEAD else None


def _file_name_stamp(path: bytes | str) -> _Stamp | None:
    name = os.fsdecode(path)
    found = date_from_file_name(name)
    if found is None:
        return None
    return _Stamp(found[0], None, FROM_FILE_NAME, None, has_time=found[1])
