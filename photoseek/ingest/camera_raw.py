"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, …) through LibRaw (`rawpy`).

A RAW file is decoded only as far as the models need: its embedded preview (the JPEG the camera
rendered, full size or ~1.6 MP in most cameras) when that is at least as large as the image
asked for, else LibRaw's half-size demosaic (each 2×2 Bayer block becomes one pixel: no
interpolation, about 4x faster than a full demosaic), else — for a RAW smaller than twice the size
asked for — a full demosaic. Either way the pixels come in the sensor's frame; the file's
orientation is applied afterwards with every other format's (photoseek.ingest.decode).

Metadata comes from the RAW's own TIFF structure (IFD0 + Exif IFD + GPS IFD: DNG, CR2, NEF, ARW,
PEF, RW2, ORF…), else from the embedded preview's EXIF (RAF, CR3), else from LibRaw.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from photoseek.errors import UnsupportedImageError

if TYPE_CHECKING:
    from PIL import Image

# extensions that promise a camera RAW file (lower case, with the dot)
RAW_EXTENSIONS = frozenset(
    b".dng .cr2 .cr3 .crw .nef .nrw .arw .srf .sr2 .raf .orf .rw2 .rwl .pef .srw .x3f .3fr .fff .erf .kdc "
    b".dcr .mrw .mos .iiq .gpr .raw".split()
)
# the format names photoseek stores for RAW files: the extension, upper case ("NEF"), or the kind
# the content shows when the name has no RAW extension
RAW_FORMATS = frozenset(ext[1:].decode().upper() for ext in RAW_EXTENSIONS)

# LibRaw's `flip` → EXIF orientation (dcraw's table: flip = "50132467"[orientation])
_FLIP_TO_EXIF = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}

PREVIEW_ENOUGH = 0.9  # a preview whose long side is >= this x the needed side is used as it is


def is_raw_format(image_format: str | None) -> bool:
    return image_format in RAW_FORMATS


def has_raw_extension(path: bytes) -> bool:
    return os.path.splitext(path)[1].lower() in RAW_EXTENSIONS


def raw_kind(head: bytes) -> str | None:
    """The RAW format a file's first bytes show unmistakably (not TIFF-based DNG/NEF/ARW, which
    only their names tell from a TIFF), or None."""
    if head[:4] in (b"II*\x00", b"MM\x00*") and head[8:10] == b"CR":
        return "CR2"
    if head[:4] == b"IIU\x00":
        return "RW2"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "ORF"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head[4:12] == b"ftypcrx ":
        return "CR3"
    if head.startswith(b"FOVb"):
        return "X3F"
    if head.startswith(b"\x00MRM"):
        return "MRW"
    return None


def raw_format_name(path: bytes, head: bytes) -> str:
    """What photoseek calls a RAW file: its extension upper case, else the kind its content shows."""
    extension = os.path.splitext(path)[1].lower()
    if extension in RAW_EXTENSIONS:
        return extension[1:].decode().upper()
    return raw_kind(head) or "RAW"


@dataclass
class RawDecode:
    image: "Image.Image"  # RGB in the sensor's frame (orientation not applied)
    size: tuple[int, int]  # the full RAW image (width, height) in the sensor's frame
    orientation: int | None  # EXIF orientation from LibRaw's flip (None: none)
    method: str  # 'preview' | 'half-size' | 'full'


_rawpy_lock = threading.Lock()
_rawpy_module: list = []


def _rawpy():
    with _rawpy_lock:
        if not _rawpy_module:
            try:
                import rawpy
            except ImportError:
                _rawpy_module.append(None)
            else:
                _rawpy_module.append(rawpy)
    if _rawpy_module[0] is None:
        raise UnsupportedImageError("camera RAW photos need the package rawpy (pip install rawpy)")
    return _rawpy_module[0]


def decode_raw(data: bytes, needed_long_side: int, *, max_pixels: int) -> RawDecode:
    """The RAW image as RGB, at least `needed_long_side` on its long side where the file allows
    (see the module doc for how). Raises UnsupportedImageError with LibRaw's reason."""
    rawpy = _rawpy()
    raw = rawpy.RawPy()
    try:
        try:
            raw.open_buffer(io.BytesIO(data))
            sizes = raw.sizes
        except rawpy.LibRawError as error:
            raise UnsupportedImageError(f"camera RAW file LibRaw cannot read: {_libraw_message(error)}") from None
        size = (int(sizes.width), int(sizes.height))
        if size[0] * size[1] > max_pixels:
            raise UnsupportedImageError(f"image too large: {size[0]}×{size[1]} pixels")
        orientation = _FLIP_TO_EXIF.get(int(sizes.flip), 1)  # (sizes are the sensor's frame, before it)
        preview = _preview(raw, rawpy, needed_long_side, size)
        if preview is not None:
            return RawDecode(preview, size, None if orientation == 1 else orientation, "preview")
        half = max(size) // 2 >= needed_long_side
        try:
            raw.unpack()
            rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8, user_flip=0)
        except rawpy.LibRawError as error:
            raise UnsupportedImageError(f"camera RAW file LibRaw cannot decode: {_libraw_message(error)}") from None
        except MemoryError:
            raise UnsupportedImageError(f"image too large to decode: {size[0]}×{size[1]} pixels") from None
        from PIL import Image

        return RawDecode(Image.fromarray(rgb, "RGB"), size, None if orientation == 1 else orientation,
                         "half-size" if half else "full")
    finally:
        raw.close()


def raw_size(data: bytes) -> tuple[tuple[int, int], int | None]:
    """((width, height) in the sensor's frame, EXIF orientation or None) without decoding pixels."""
    rawpy = _rawpy()
    raw = rawpy.RawPy()
    try:
        raw.open_buffer(io.BytesIO(data))
        sizes = raw.sizes
    except rawpy.LibRawError as error:
        raise UnsupportedImageError(f"camera RAW file LibRaw cannot read: {_libraw_message(error)}") from None
    finally:
        raw.close()
    orientation = _FLIP_TO_EXIF.get(int(sizes.flip), 1)
    return (int(sizes.width), int(sizes.height)), None if orientation == 1 else orientation


def _preview(raw, rawpy, needed_long_side: int, size: tuple[int, int]) -> "Image.Image | None":
    """The embedded JPEG preview, decoded (draft mode) near the needed size, when it is large
    enough and has the RAW's shape; else None."""
    try:
        thumb = raw.extract_thumb()
    except rawpy.LibRawError:
        return None
    if thumb.format != rawpy.ThumbFormat.JPEG:
        return None
    from PIL import Image

    try:
        preview = Image.open(io.BytesIO(thumb.data), formats=["JPEG"])
        width, height = preview.size
        enough = max(width, height) >= PREVIEW_ENOUGH * min(needed_long_side, max(size))
        # a preview in the other frame, or cropped to another aspect (16:9 on a 3:2 sensor), is no stand-in
        same_shape = (width >= height) == (size[0] >= size[1]) and abs(width / height - size[0] / size[1]) < 0.02
        if not (enough and same_shape):
            return None
        scale = needed_long_side / max(width, height)
        if scale < 1:
            preview.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
        preview.load()
        return preview.convert("RGB")
    except Exception:  # a broken preview: demosaic the RAW instead
        return None


def raw_exif(data: bytes, head_kind: str | None):
    """The RAW file's EXIF (PIL.Image.Exif) read from its TIFF structure, or from its embedded
    preview when it has none (RAF, CR3); None when neither holds any."""
    from PIL import Image

    tiff = data
    if head_kind == "RW2" or data[:4] in (b"IIRO", b"IIRS"):
        tiff = b"II*\x00" + data[4:]  # Panasonic and Olympus use TIFF with their own magic number
    elif data[:4] == b"MMOR":
        tiff = b"MM\x00*" + data[4:]
    if tiff[:4] in (b"II*\x00", b"MM\x00*"):
        exif = Image.Exif()
        try:
            exif.load(tiff)
            if len(exif):
                return exif
        except Exception:
            pass
    return _preview_exif(data)


def _preview_exif(data: bytes):
    try:
        rawpy = _rawpy()
        raw = rawpy.RawPy()
        try:
            raw.open_buffer(io.BytesIO(data))
            thumb = raw.extract_thumb()
        finally:
            raw.close()
        if thumb.format != rawpy.ThumbFormat.JPEG:
            return None
        from PIL import Image

        with Image.open(io.BytesIO(thumb.data)) as preview:
            exif = preview.getexif()
            return exif if len(exif) else None
    except Exception:
        return None


def _libraw_message(error: BaseException) -> str:
    return (str(error).strip() or type(error).__name__)[:200]
