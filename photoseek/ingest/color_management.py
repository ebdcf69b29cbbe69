"""Colour management: every photo's pixels in sRGB before anything looks at them.

A photo's numbers mean colours only through its colour profile: the same (230, 40, 40) is a
clear red in sRGB and an orange-red read from a ProPhoto file, and every iPhone photo since 2016
is Display P3. Thumbnails, the embedder, colour tags, time of day, faces and OCR all take sRGB, so
each decode path hands its pixels to `to_srgb` (or `convert_to_srgb` with a `source_profile`)
once, on the smallest image everything else is made from.

What counts as the photo's profile (`embedded_profile`): the embedded ICC profile (JPEG APP2,
PNG iCCP, TIFF, WebP, HEIC/AVIF colr); else a HEIF/AVIF nclx colour description (primaries +
transfer); else the EXIF/DCF mark that a camera in Adobe RGB mode writes instead of a profile
(ColorSpace "uncalibrated" with interoperability index R03). No profile: the pixels are sRGB.

Cost: `source_profile` decides once per distinct profile (per process) and keeps the answer
(LRU): a profile whose transform moves no colour by more than SRGB_TOLERANCE levels is sRGB
(HP's sRGB IEC61966-2.1, the ICC's v4 sRGB, Apple's, Google's compact one...), and its photos are
passed through untouched; for the rest the LittleCMS transform (milliseconds to build) is built
once and reused. A profile that cannot be read or does not fit the image is ignored (the pixels
are read as sRGB) and `problem` says why; the photo is indexed all the same.
"""

from __future__ import annotations

import io
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

# A profile is sRGB when converting through it moves no colour of a 17^3 grid by more than this
# (8-bit levels): real sRGB profiles differ from LittleCMS's built-in one by rounding (<= 1).
SRGB_TOLERANCE = 2
PROFILE_CACHE_SIZE = 64  # distinct profiles kept per process (a library rarely has more than a few)
# Relative colorimetric with black point compensation: what photo editors use to show a photo on
# an sRGB screen (out-of-gamut colours clip to the nearest sRGB one; paper white maps to white)
_INTENT = "RELATIVE_COLORIMETRIC"

_PROFILE_SPACE = {"RGB": "RGB ", "L": "GRAY", "CMYK": "CMYK"}  # image mode -> ICC colour space


@dataclass(frozen=True)
class ColorProfileInfo:
    """What decoding did about a photo's colour profile (picklable; stored with the photo).

    name:      the profile's description ("Display P3", "sRGB IEC61966-2.1"); "" when the photo
               has none (its pixels are sRGB by convention)
    converted: the pixels went through the profile into sRGB (False: sRGB already, or no profile)
    problem:   why an embedded profile was not used (unreadable, meant for another colour space);
               the pixels were then read as sRGB. `photoseek errors` shows it as a note.
    """

    name: str = ""
    converted: bool = False
    problem: str | None = None


NO_PROFILE = ColorProfileInfo()


@dataclass(frozen=True)
class SourceProfile:
    """A photo's colour profile, ready to apply: `info` plus the LittleCMS transform to sRGB
    (None when the pixels are sRGB already or the profile could not be used)."""

    info: ColorProfileInfo
    transform: Any = None  # PIL.ImageCms.ImageCmsTransform
    mode: str = "RGB"  # the image mode the transform takes


# -- finding the profile ------------------------------------------------------------------------------------


def embedded_profile(image: "Image.Image") -> bytes | None:
    """The ICC profile that says what `image`'s numbers mean (see the module doc), from what
    Pillow read of the header; None when there is none (sRGB). Reads no pixels."""
    icc = image.info.get("icc_profile")
    if icc:
        return icc.encode("latin-1") if isinstance(icc, str) else bytes(icc)
    nclx = image.info.get("nclx_profile")
    if nclx:
        return _nclx_profile(nclx)
    if _exif_says_adobe_rgb(image):
        return rgb_profile("Adobe RGB (1998)")
    return None


def _nclx_profile(nclx: dict) -> bytes | None:
    """A matrix/TRC profile for a HEIF/AVIF nclx description whose primaries are not sRGB's; None
    for sRGB/BT.709 primaries, unspecified ones, or a transfer we do not tone-map (PQ, HLG)."""
    primaries = nclx.get("color_primaries")
    if primaries in (None, 1, 2) or nclx.get("transfer_characteristics") not in _SDR_TRANSFERS:
        return None
    try:
        xy = tuple(
            (round(float(nclx[f"color_primary_{c}_x"]), 4), round(float(nclx[f"color_primary_{c}_y"]), 4))
            for c in ("red", "green", "blue", "white")
        )
    except (KeyError, TypeError, ValueError):
        return None
    name = _NCLX_NAMES.get(primaries, f"nclx primaries {primaries}")
    return _built_profile(name, *xy, _SRGB_CURVE)


# transfer characteristics (ITU-T H.273) that display as the sRGB curve does, give or take: BT.709,
# BT.601, sRGB, BT.2020 10/12-bit. PQ (16) and HLG (18) are HDR and need tone mapping: left alone.
_SDR_TRANSFERS = {1, 6, 13, 14, 15}
_NCLX_NAMES = {9: "Rec. 2020 (nclx)", 11: "DCI-P3 (nclx)", 12: "Display P3 (nclx)"}

_EXIF_IFD, _INTEROP_IFD, _COLOR_SPACE, _INTEROP_INDEX = 0x8769, 0xA005, 0xA001, 0x0001


def _exif_says_adobe_rgb(image: "Image.Image") -> bool:
    """DCF's Adobe RGB option: ColorSpace 0xFFFF (uncalibrated) and interoperability index R03."""
    try:
        exif = image.getexif()  # cached by Pillow: decoding already read it for the metadata
        sub = exif.get_ifd(_EXIF_IFD)
        if sub.get(_COLOR_SPACE) != 0xFFFF:
            return False
        index = exif.get_ifd(_INTEROP_IFD).get(_INTEROP_INDEX)
        if isinstance(index, bytes):
            index = index.decode("ascii", "replace")
        return str(index or "").strip("\x00 ").upper() == "R03"
    except Exception:  # a broken EXIF block says nothing about colour
        return False


# -- deciding what to do with it ------------------------------------------------------------------------------

_cache: "OrderedDict[tuple[bytes, str], SourceProfile]" = OrderedDict()
_cache_lock = threading.Lock()
_srgb = None


def source_profile(icc: bytes | None, mode: str = "RGB") -> SourceProfile:
    """What to do with pixels of `mode` ("RGB", "L" or "CMYK") that carry profile `icc`: decided
    once per (profile, mode) in this process (see the module doc) and then looked up."""
    if not icc:
        return _NONE
    key = (icc, mode)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    found = _decide(icc, mode)  # outside the lock: building a transform takes milliseconds
    with _cache_lock:
        _cache[key] = found
        while len(_cache) > PROFILE_CACHE_SIZE:
            _cache.popitem(last=False)
    return found


_NONE = SourceProfile(NO_PROFILE)


def _decide(icc: bytes, mode: str) -> SourceProfile:
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except Exception as error:  # noqa: BLE001 - any parse error means the same: unusable
        return _unusable("", f"unreadable colour profile ({_short(error)})")
    name = _profile_name(profile)
    space = (profile.profile.xcolor_space or "").strip()
    wanted = _PROFILE_SPACE.get(mode, "").strip()
    if space != wanted:
        return _unusable(name, f"colour profile {name!r} is for {space or 'another colour space'} "
                               f"but the image is {wanted or mode}")  # fmt: skip
    try:
        transform = ImageCms.buildTransform(
            profile, _srgb_profile(), mode, "RGB", renderingIntent=ImageCms.Intent[_INTENT],
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )  # fmt: skip
    except Exception as error:  # noqa: BLE001 - LittleCMS refuses broken or unsupported profiles
        return _unusable(name, f"colour profile {name!r} cannot be used ({_short(error)})")
    if mode != "CMYK" and _moves_no_colour(transform, mode):
        return SourceProfile(ColorProfileInfo(name, converted=False))
    return SourceProfile(ColorProfileInfo(name, converted=True), transform, mode)


def _unusable(name: str, problem: str) -> SourceProfile:
    return SourceProfile(ColorProfileInfo(name, converted=False, problem=f"{problem}; colours read as sRGB"))


def _short(error: BaseException) -> str:
    return (str(error).strip() or type(error).__name__)[:120]


def _profile_name(profile) -> str:
    for value in (profile.profile.profile_description, profile.profile.model, profile.profile.manufacturer):
        text = (value or "").replace("\x00", "").strip()
        if text:
            return text[:100]
    return "unnamed profile"


def _srgb_profile():
    global _srgb
    if _srgb is None:
        from PIL import ImageCms

        _srgb = ImageCms.createProfile("sRGB")
    return _srgb


def _moves_no_colour(transform, mode: str) -> bool:
    """Whether the transform is the identity on a grid of colours (on a grey ramp for L)."""
    import numpy as np
    from PIL import Image

    if mode == "L":
        values = np.arange(256, dtype=np.uint8).reshape(16, 16)
        expected = np.repeat(values[..., None], 3, axis=2)
    else:
        levels = np.linspace(0, 255, 17).round().astype(np.uint8)
        expected = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(289, 17, 3)
        values = expected
    out = np.asarray(transform.apply(Image.fromarray(values, mode)), dtype=np.int16)
    return int(np.abs(out - expected.astype(np.int16)).max()) <= SRGB_TOLERANCE


# -- applying it ------------------------------------------------------------------------------------------------


def convert_to_srgb(image: "Image.Image", profile: SourceProfile) -> "Image.Image":
    """`image` (mode "RGB", "L" or "CMYK", no alpha) as sRGB "RGB" pixels through `profile`; without
    a usable profile RGB is returned as it is and L/CMYK get Pillow's plain conversion."""
    if profile.transform is not None and image.mode == profile.mode:
        return profile.transform.apply(image)
    return image if image.mode == "RGB" else image.convert("RGB")


def to_srgb(image: "Image.Image", icc: bytes | None) -> "Image.Image":
    """One call for any decode path: `image` ("RGB", "L" or "CMYK") with embedded profile `icc`
    (`embedded_profile(opened_image)`) as sRGB "RGB" pixels."""
    return convert_to_srgb(image, source_profile(icc, image.mode))


# -- making matrix/TRC profiles -----------------------------------------------------------------------------------
# For colour descriptions that come without an ICC profile (nclx, EXIF R03): a small ICC v4
# display profile from primaries, white point and tone curve, the way Display P3 and Adobe RGB
# profiles are built.

_D50 = (0.9642, 1.0, 0.8249)
_BRADFORD = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))
# parametric curves (ICC para type 3: Y = (aX+b)^g for X >= d, else cX)
_SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
_D65 = (0.3127, 0.3290)
RGB_SPACES: dict[str, tuple] = {
    # name: (red xy, green xy, blue xy, white xy, curve)
    "Display P3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), _D65, _SRGB_CURVE),
    "Adobe RGB (1998)": ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060), _D65, (563 / 256, 1.0, 0.0, 0.0, 0.0)),
    # ROMM RGB (ISO 22028-2): D50, gamma 1.8 with a linear toe below 1/512
    "ProPhoto RGB": ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001), (0.3457, 0.3585),
                     (1.8, 1.0, 0.0, 1 / 16, 1 / 32)),
}  # fmt: skip


def rgb_profile(name: str) -> bytes:
    """ICC bytes of a named RGB space in RGB_SPACES (a matrix/TRC v4 display profile)."""
    red, green, blue, white, curve = RGB_SPACES[name]
    return _built_profile(name, red, green, blue, white, curve)


_built: dict[tuple, bytes] = {}


def _built_profile(name: str, red, green, blue, white, curve) -> bytes:
    key = (name, red, green, blue, white, curve)
    if key not in _built:
        _built[key] = build_rgb_profile(name, red, green, blue, white, curve)
    return _built[key]


def build_rgb_profile(name: str, red, green, blue, white, curve=_SRGB_CURVE) -> bytes:
    """An ICC v4 matrix/TRC display profile: primaries and white as CIE xy, `curve` the ICC
    parametric curve type 3 (g, a, b, c, d) that decodes a value to linear light. Colorants are
    adapted to the D50 connection space with Bradford, as the ICC specification asks."""
    import numpy as np

    def xyz(xy):
        x, y = xy
        return np.array([x / y, 1.0, (1 - x - y) / y])

    primaries = np.column_stack([xyz(red), xyz(green), xyz(blue)])
    white_xyz = xyz(white)
    to_xyz = primaries * np.linalg.solve(primaries, white_xyz)  # columns: XYZ of R, G, B at full
    bradford = np.array(_BRADFORD)
    adapt = np.linalg.inv(bradford) @ np.diag((bradford @ _D50) / (bradford @ white_xyz)) @ bradford
    colorants = adapt @ to_xyz
    tags = [
        (b"desc", _mluc(name)),
        (b"cprt", _mluc("No copyright: made by photoseek from published primaries")),
        (b"wtpt", _xyz_tag(_D50)),
        (b"chad", b"sf32" + bytes(4) + b"".join(_s15(v) for v in adapt.ravel())),
        (b"rXYZ", _xyz_tag(colorants[:, 0])),
        (b"gXYZ", _xyz_tag(colorants[:, 1])),
        (b"bXYZ", _xyz_tag(colorants[:, 2])),
        (b"rTRC", _para(curve)),
        (b"gTRC", _para(curve)),
        (b"bTRC", _para(curve)),
    ]
    return _icc_file(tags, b"mntr", b"RGB ")


def _s15(value: float) -> bytes:
    return struct.pack(">i", int(round(value * 65536)))


def _xyz_tag(values) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in values)


def _para(curve) -> bytes:
    return b"para" + bytes(4) + struct.pack(">HH", 3, 0) + b"".join(_s15(v) for v in curve)


def _mluc(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(encoded), 28) + encoded


def _icc_file(tags: list[tuple[bytes, bytes]], device_class: bytes, color_space: bytes) -> bytes:
    """Header + tag table + tag data (4-byte aligned; identical tag data is stored once)."""
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, data, placed = [], b"", {}
    for signature, body in tags:
        if body not in placed:
            placed[body] = offset + len(data)
            data += body + bytes(-len(body) % 4)
        entries.append(struct.pack(">4sII", signature, placed[body], len(body)))
    size = 128 + table_size + len(data)
    header = struct.pack(
        ">I4sI4s4s4s6H4s4sI4s4sQI12s4s16s28s",
        size, b"\0\0\0\0", 0x04300000, device_class, color_space, b"XYZ ", 2026, 1, 1, 0, 0, 0,
        b"acsp", b"\0\0\0\0", 0, b"\0\0\0\0", b"\0\0\0\0", 0, 0,
        _s15(_D50[0]) + _s15(_D50[1]) + _s15(_D50[2]), b"\0\0\0\0", bytes(16), bytes(28),
    )  # fmt: skip
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + data
