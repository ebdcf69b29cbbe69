"""HEIC test files with and without HEIF rotation boxes, made here (pillow-heif's encoder writes no
irot box, so `with_irot` adds one to the file it writes: the case of iPhones since iOS 12)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image


def quadrant_image(width: int = 64, height: int = 48) -> Image.Image:
    """Red top-left, green top-right, blue bottom half: where each colour lands tells the turn."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2, : width // 2] = (255, 0, 0)
    pixels[: height // 2, width // 2 :] = (0, 255, 0)
    pixels[height // 2 :, :] = (0, 0, 255)
    return Image.fromarray(pixels)


def heic_bytes(image: Image.Image, exif: Image.Exif | None = None) -> bytes:
    """An HEIC of `image` (EXIF orientation, if any, kept in the EXIF only: no irot box); skips the
    test where this pillow-heif cannot encode HEVC."""
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif is not installed")
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    try:
        image.save(buffer, "HEIF", quality=95, **({"exif": exif} if exif is not None else {}))
    except Exception as error:  # wheels built without an HEVC encoder can read but not write
        pytest.skip(f"pillow-heif cannot encode HEIC here ({error})")
    return buffer.getvalue()


def _boxes(data, start, end):
    position = start
    while position + 8 <= end:
        size = int.from_bytes(data[position : position + 4], "big")
        yield data[position + 4 : position + 8], position, position + size
        position += size


def _find(data, start, end, kind):
    return next((s, e) for k, s, e in _boxes(data, start, end) if k == kind)


def with_irot(data: bytes, quarter_turns: int) -> bytes:
    """`data` (a one-image HEIF as pillow-heif writes it: meta before mdat, iloc v0) with an irot
    property (`quarter_turns` anticlockwise) associated with its primary item."""
    meta = _find(data, 0, len(data), b"meta")
    iprp = _find(data, meta[0] + 12, meta[1], b"iprp")
    ipco = _find(data, iprp[0] + 8, iprp[1], b"ipco")
    ipma = _find(data, iprp[0] + 8, iprp[1], b"ipma")
    iloc = _find(data, meta[0] + 12, meta[1], b"iloc")
    properties = sum(1 for _ in _boxes(data, ipco[0] + 8, ipco[1]))
    irot = struct.pack(">I4sB", 9, b"irot", quarter_turns & 3)
    out = bytearray(data)
    assert ipma[0] > ipco[0] > iloc[0]
    out[ipma[1] : ipma[1]] = bytes([0x80 | (properties + 1)])  # one more (essential) association
    out[ipma[0] + 8 + 4 + 4 + 2] += 1  # its count: after header, version/flags, entry count, item id
    out[ipco[1] : ipco[1]] = irot
    grow = len(irot) + 1
    for start, added in ((meta[0], grow), (iprp[0], grow), (ipco[0], len(irot)), (ipma[0] + len(irot), 1)):
        out[start : start + 4] = (int.from_bytes(out[start : start + 4], "big") + added).to_bytes(4, "big")
    # the image data (mdat, after meta) moved by `grow`: shift iloc's base offsets
    position = iloc[0] + 8 + 4
    offset_size, length_size, base_size = out[position] >> 4, out[position] & 15, out[position + 1] >> 4
    position += 2
    count = int.from_bytes(out[position : position + 2], "big")
    position += 2
    for _ in range(count):
        position += 4  # item id, data reference index
        base = int.from_bytes(out[position : position + base_size], "big")
        out[position : position + base_size] = (base + grow).to_bytes(base_size, "big")
        position += base_size
        extents = int.from_bytes(out[position : position + 2], "big")
        position += 2 + extents * (offset_size + length_size)
    return bytes(out)
