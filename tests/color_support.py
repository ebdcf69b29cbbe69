"""Photos with embedded colour profiles, made the way the issue's recipe makes them: an sRGB picture
converted into the profile's space by LittleCMS and saved with the profile embedded, next to its sRGB
twin. Profiles: tests/data/icc (ProPhoto and Adobe RGB from colord, CC0; see its README), Display P3
as photoseek builds it and as Apple ships it (from ../shared/data/gps-photos when present), and a
CMYK print profile built here (a lut16 A2B0 table over a simple ink model)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

ICC_DIR = Path(__file__).parent / "data" / "icc"
SHARED_GPS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "gps-photos"
RED = (230, 40, 40)  # the red patch


def profile_bytes(name: str) -> bytes:
    """"ProPhoto RGB", "Adobe RGB (1998)", "Display P3" (photoseek's) or "Apple Display P3"."""
    if name == "ProPhoto RGB":
        return (ICC_DIR / "ProPhotoRGB.icc").read_bytes()
    if name == "Adobe RGB (1998)":
        return (ICC_DIR / "AdobeRGB1998.icc").read_bytes()
    if name == "Display P3":
        from photoseek.ingest.color_management import rgb_profile

        return rgb_profile("Display P3")
    if name == "Apple Display P3":
        return apple_display_p3()
    raise KeyError(name)


def apple_display_p3() -> bytes:
    """Apple's Display P3 profile as an iPhone embeds it (skips the test when the data is absent)."""
    import pytest

    source = SHARED_GPS / "photoprism__internal_meta_testdata_Iceland-P3.jpg"
    if not source.exists():
        pytest.skip(f"{source} is not present on this machine")
    with Image.open(source) as image:
        return image.info["icc_profile"]


def from_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """`image` (sRGB) converted into the colour space of profile `icc` (relative colorimetric)."""
    target = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), target, "RGB", "RGB",
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return transform.apply(image)


def to_srgb_directly(image: Image.Image, icc: bytes) -> Image.Image:
    """What `image` in profile `icc` means in sRGB, by LittleCMS with no photoseek in between."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    transform = ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), image.mode, "RGB",
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return transform.apply(image)


def mean_rgb(image_or_path) -> np.ndarray:
    image = Image.open(image_or_path) if isinstance(image_or_path, (str, Path)) else image_or_path
    return np.asarray(image.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)


def with_iccp(png: bytes, icc: bytes, name: bytes = b"embedded") -> bytes:
    """A PNG with an iCCP chunk (the profile, deflated) inserted after IHDR."""
    data = name + b"\0\0" + zlib.compress(icc)
    chunk = struct.pack(">I", len(data)) + b"iCCP" + data + struct.pack(">I", zlib.crc32(b"iCCP" + data))
    end_of_ihdr = 8 + 8 + 13 + 4
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


# -- a CMYK print profile ------------------------------------------------------------------------------------
# Inks that are not ideal (cyan takes some green, magenta some blue...), multiplied like layers of
# ink on white paper, in linear light; XYZ D50 through sRGB's D50-adapted colorants. Enough to make
# "CMYK read through its profile" and "CMYK read naively" visibly different.
_ABSORB = np.array([[0.95, 0.25, 0.06],   # cyan: red, green, blue absorbed at full ink
                    [0.08, 0.92, 0.30],   # magenta
                    [0.02, 0.08, 0.93],   # yellow
                    [0.93, 0.93, 0.93]])  # black  # fmt: skip
_SRGB_D50 = np.array([[0.4361, 0.3851, 0.1431], [0.2225, 0.7169, 0.0606], [0.0139, 0.0971, 0.7141]])
_GRID = 9


def cmyk_profile() -> bytes:
    """An ICC v4 output ('prtr') CMYK profile whose A2B0 is a 9^4 lut16 table to XYZ (input
    direction only: CMYK test pixels are chosen as inks, not converted from RGB)."""
    from photoseek.ingest.color_management import _icc_file, _mluc, _xyz_tag

    levels = np.linspace(0.0, 1.0, _GRID)
    inks = np.stack(np.meshgrid(levels, levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 4)
    linear = np.prod(1.0 - inks[:, :, None] * _ABSORB[None, :, :], axis=1)  # (n, 3) linear RGB
    xyz = linear @ _SRGB_D50.T
    clut = np.clip(np.rint(xyz * 32768), 0, 65535).astype(">u2")  # u1Fixed15 XYZ
    identity = b"".join(struct.pack(">i", v) for v in (65536, 0, 0, 0, 65536, 0, 0, 0, 65536))
    ramp = struct.pack(">HH", 0, 65535)
    lut = (b"mft2" + bytes(4) + struct.pack(">BBBB", 4, 3, _GRID, 0) + identity + struct.pack(">HH", 2, 2)
           + ramp * 4 + clut.tobytes() + ramp * 3)  # fmt: skip
    tags = [
        (b"desc", _mluc("photoseek test CMYK")),
        (b"cprt", _mluc("No copyright")),
        (b"wtpt", _xyz_tag((0.9642, 1.0, 0.8249))),
        (b"A2B0", lut),
    ]
    return _icc_file(tags, b"prtr", b"CMYK")


def gray_profile(curve: tuple) -> bytes:
    """An ICC v4 grey display profile whose kTRC is the parametric curve `curve` (g, a, b, c, d)."""
    from photoseek.ingest.color_management import _icc_file, _mluc, _para, _xyz_tag

    tags = [(b"desc", _mluc("photoseek test grey")), (b"cprt", _mluc("No copyright")),
            (b"wtpt", _xyz_tag((0.9642, 1.0, 0.8249))), (b"kTRC", _para(curve))]  # fmt: skip
    return _icc_file(tags, b"mntr", b"GRAY")
