"""Tiny camera RAW files for tests and benches: DNGs written from scratch.

`write_dng(path, rgb, ...)` mosaics an RGB image into an RGGB Bayer pattern (16-bit, uncompressed)
and writes a minimal DNG 1.4 around it: IFD0 holds the raw image with Make/Model/Orientation and
an Exif IFD (DateTimeOriginal, OffsetTimeOriginal) and, optionally, a GPS IFD; an optional JPEG
preview is chained as IFD1 (what LibRaw's `extract_thumb` returns). LibRaw (rawpy) reads these
like a camera's DNG. Nobody else's file: no licence to mind.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

_TYPES = {"BYTE": (1, "B"), "ASCII": (2, "s"), "SHORT": (3, "H"), "LONG": (4, "I"), "RATIONAL": (5, "II"),
          "SRATIONAL": (10, "ii")}


def _mosaic(rgb: np.ndarray) -> np.ndarray:
    """RGGB Bayer mosaic of an (H, W, 3) uint8 image as uint16 (scaled to 16 bits)."""
    height, width = rgb.shape[:2]
    cfa = np.zeros((height, width), dtype=np.uint16)
    values = rgb.astype(np.uint16) * 257
    cfa[0::2, 0::2] = values[0::2, 0::2, 0]
    cfa[0::2, 1::2] = values[0::2, 1::2, 1]
    cfa[1::2, 0::2] = values[1::2, 0::2, 1]
    cfa[1::2, 1::2] = values[1::2, 1::2, 2]
    return cfa


class _TiffWriter:
    """Little-endian TIFF: IFDs laid out one after another, values too long for an entry after each."""

    def __init__(self) -> None:
        self.buffer = bytearray(b"II*\x00\x00\x00\x00\x00")

    def append(self, data: bytes) -> int:
        if len(self.buffer) % 2:
            self.buffer += b"\x00"
        offset = len(self.buffer)
        self.buffer += data
        return offset

    def ifd(self, entries: list[tuple[int, str, object]], next_ifd: int = 0) -> int:
        """Write one IFD (entries: (tag, type, value)); returns its offset."""
        entries = sorted(entries, key=lambda e: e[0])
        packed = []
        for tag, kind, value in entries:
            code, fmt = _TYPES[kind]
            if kind == "ASCII":
                raw = value.encode("latin-1") + b"\x00"
                count = len(raw)
            else:
                values = list(value) if isinstance(value, (list, tuple)) else [value]
                if kind in ("RATIONAL", "SRATIONAL"):
                    flat = [int(x) for pair in values for x in pair]
                    raw = struct.pack("<" + fmt[0] * len(flat), *flat)
                    count = len(values)
                else:
                    raw = struct.pack("<" + fmt * len(values), *values)
                    count = len(values)
            packed.append((tag, code, count, raw))
        size = 2 + 12 * len(packed) + 4
        offset = self.append(b"\x00" * size)
        body = struct.pack("<H", len(packed))
        for tag, code, count, raw in packed:
            if len(raw) <= 4:
                body += struct.pack("<HHI", tag, code, count) + raw.ljust(4, b"\x00")
            else:
                body += struct.pack("<HHII", tag, code, count, self.append(raw))
        body += struct.pack("<I", next_ifd)
        self.buffer[offset : offset + size] = body
        return offset

    def set_first_ifd(self, offset: int) -> None:
        self.buffer[4:8] = struct.pack("<I", offset)


def write_dng(
    path: str | Path,
    rgb: np.ndarray | Image.Image,
    *,
    make: str = "Photoseek",
    model: str = "Test DNG",
    orientation: int = 1,
    taken_at: str | None = "2021:06:01 12:30:00",
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
    preview_size: int | None = None,
) -> Path:
    """A DNG of `rgb` (H, W, 3 uint8 in the sensor's frame; even sizes) with the given metadata; a
    JPEG preview of `preview_size` px on the long side when asked."""
    if isinstance(rgb, Image.Image):
        rgb = np.asarray(rgb.convert("RGB"))
    height, width = rgb.shape[:2]
    writer = _TiffWriter()
    strip = writer.append(_mosaic(rgb).tobytes())
    exif_entries = []
    if taken_at:
        exif_entries.append((0x9003, "ASCII", taken_at))
    if offset:
        exif_entries.append((0x9011, "ASCII", offset))
    exif_ifd = writer.ifd(exif_entries or [(0x9000, "BYTE", (0x30, 0x32, 0x33, 0x31))])
    gps_ifd = None
    if gps is not None:
        lat, lon = gps
        gps_ifd = writer.ifd([
            (1, "ASCII", "N" if lat >= 0 else "S"), (2, "RATIONAL", _dms(abs(lat))),
            (3, "ASCII", "E" if lon >= 0 else "W"), (4, "RATIONAL", _dms(abs(lon))),
        ])
    preview_ifd = 0
    if preview_size:
        preview = Image.fromarray(rgb)
        preview.thumbnail((preview_size, preview_size))
        jpeg = io.BytesIO()
        preview.save(jpeg, "JPEG", quality=85)
        data = jpeg.getvalue()
        preview_ifd = writer.ifd([
            (254, "LONG", 1), (256, "LONG", preview.width), (257, "LONG", preview.height),
            (258, "SHORT", (8, 8, 8)), (259, "SHORT", 7), (262, "SHORT", 6), (277, "SHORT", 3),
            (273, "LONG", writer.append(data)), (279, "LONG", len(data)), (278, "LONG", preview.height),
        ])
    entries = [
        (254, "LONG", 0), (256, "LONG", width), (257, "LONG", height), (258, "SHORT", 16), (259, "SHORT", 1),
        (262, "SHORT", 32803), (271, "ASCII", make), (272, "ASCII", model), (273, "LONG", strip),
        (274, "SHORT", orientation), (277, "SHORT", 1), (278, "LONG", height), (279, "LONG", width * height * 2),
        (284, "SHORT", 1), (33421, "SHORT", (2, 2)), (33422, "BYTE", (0, 1, 1, 2)), (34665, "LONG", exif_ifd),
        (50706, "BYTE", (1, 4, 0, 0)), (50708, "ASCII", f"{make} {model}"), (50717, "LONG", 65535),
        (50721, "SRATIONAL", [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (0, 1), (1, 1)]),
        (50728, "RATIONAL", [(1, 1), (1, 1), (1, 1)]), (50778, "SHORT", 21),
    ]
    if gps_ifd is not None:
        entries.append((34853, "LONG", gps_ifd))
    writer.set_first_ifd(writer.ifd(entries, next_ifd=preview_ifd))
    path = Path(path)
    path.write_bytes(bytes(writer.buffer))
    return path


def _dms(value: float) -> list[tuple[int, int]]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 10000)
    return [(degrees, 1), (minutes, 1), (seconds, 10000)]
