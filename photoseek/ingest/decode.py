"""Reading one photo safely: bytes + hash, metadata, a small RGB image for the embedder, a thumbnail.

`decode_photo(path, target_size=...)` reads the file once (hashing the same bytes it decodes),
decides from the content whether it is an image at all, and returns a `DecodedPhoto`, or None for
a file that is simply not a photo. Anything wrong with an image file raises UnsupportedImageError
whose `reason` is what the catalog's failures table stores ("empty file", "image too large: ...").

Speed: JPEGs are decoded in draft mode (libjpeg scales by 1/2..1/8 while decoding), so a 12 MP
photo costs little more than a small one; other formats are reduced with `reducing_gap`.
Safety: a pixel limit guards against decompression bombs, truncated files fail instead of being
padded with grey (LOAD_TRUNCATED_IMAGES stays off), and a broken EXIF block only loses metadata.
Colour: whatever the file's colour profile (Display P3, Adobe RGB, ProPhoto, CMYK...), what comes
out is sRGB (`_in_srgb`, photoseek.ingest.color_management); a new decode path calls it too.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import stat
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Container

from photoseek.errors import FileAccessError, UnsupportedImageError
from photoseek.ingest.scan import SNIFF_BYTES, describe_content, has_image_extension, sniff_image_format

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from photoseek.ingest.color_management import ColorProfileInfo

MAX_IMAGE_PIXELS = 200_000_000  # above this an image is refused as a possible decompression bomb
MAX_FILE_BYTES = 1 << 30  # a "photo" over 1 GiB is not one we should hold in memory
THUMBNAIL_SIZE = 256  # long side, pixels (up to 1.25x when the decoded image is already that small)
THUMBNAIL_QUALITY = 80
THUMBS_DIR = "thumbs"
# The embedder resizes to its own input anyway, so the decoder aims near `target_size` rather than
# exactly at it: a JPEG may be decoded at 1/2..1/8 scale down to 0.9x target (a 640x425 photo then
# costs a 1/2-scale decode and no resize), and images up to 1.25x target are handed over as they are.
DRAFT_TOLERANCE = 0.9
RESIZE_ABOVE = 1.25

# EXIF tags (numbers rather than PIL.ExifTags names keep this readable without the table)
_ORIENTATION, _MAKE, _MODEL, _DATETIME = 0x0112, 0x010F, 0x0110, 0x0132
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4

# Pillow format names the sniffed format may be opened with
_PILLOW_FORMATS = {
    "JPEG": ["JPEG", "MPO"],
    "PNG": ["PNG"],
    "WEBP": ["WEBP"],
    "GIF": ["GIF"],
    "TIFF": ["TIFF"],
    "BMP": ["BMP"],
    "HEIF": ["HEIF"],
    "AVIF": ["AVIF", "HEIF"],
}


@dataclass
class DecodedPhoto:
    """Everything stage 1 learns from one file, before embedding."""

    path: bytes
    size: int
    mtime_ns: int
    content_hash: str
    format: str | None = None
    width: int | None = None  # original size, after EXIF orientation
    height: int | None = None
    taken_at: str | None = None  # ISO 8601, camera local time
    gps_lat: float | None = None
    gps_lon: float | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    orientation: int | None = None  # EXIF orientation 1..8 as stored in the file
    brightness: float | None = None  # mean luma 0..1
    image: "Image.Image | None" = None  # RGB, oriented, short side ~target (None: content unchanged)
    pixels: "Image.Image | None" = None  # RGB, oriented, long side <= work_size (only when asked)
    thumbnail_image: "Image.Image | None" = None  # what the thumbnail file was written from
    color: "ColorProfileInfo | None" = None  # the colour profile and what decoding did with it
    decoded_size: tuple[int, int] | None = None  # what the decoder produced (JPEG draft shows here)
    thumbnail: Path | None = None

    @property
    def content_unchanged(self) -> bool:
        """Decoding was skipped because the bytes hash to the hash the catalog already has."""
        return self.image is None


def thumbnail_path(library_dir: str | os.PathLike, content_hash: str) -> Path:
    """Where the thumbnail of a photo with this content lives (shared by identical files)."""
    return Path(library_dir) / THUMBS_DIR / content_hash[:2] / f"{content_hash}.jpg"


def decode_photo(
    path: bytes | str | os.PathLike,
    *,
    target_size: int = 256,
    thumbs_root: str | os.PathLike | None = None,
    reuse_hashes: Container[str] = (),
    work_size: int | None = None,
) -> DecodedPhoto | None:
    """Read and decode one file.

    target_size: the short side the embedder wants (`Embedder.preferred_size`); larger images are
                 brought near it (0.9x..1.25x, aspect kept; see DRAFT_TOLERANCE), smaller ones are
                 left alone.
    thumbs_root: the library folder; when given, a JPEG thumbnail is written under <root>/thumbs.
    reuse_hashes: content hashes whose photos the catalog already has with current vectors (this
                 path's old hash, or those of photos that went missing); when the bytes hash to one
                 of them, decoding is skipped (a touched or moved file) and `image` is None.
    work_size:   when given, `pixels` is also filled: the photo at up to this many pixels on the long
                 side, for the annotators (faces, OCR), from the same decode (JPEG draft mode then
                 aims at this size instead of target_size).
    Returns None when the content is not an image and the name does not claim to be one.
    """
    path = os.fsencode(path)
    data, size, mtime_ns = _read_file(path)
    image_format = sniff_image_format(data[:SNIFF_BYTES])
    if image_format is None:
        if has_image_extension(path):
            raise UnsupportedImageError(f"not an image (content is {describe_content(data[:SNIFF_BYTES])})")
        return None
    content_hash = hashlib.blake2b(data, digest_size=20).hexdigest()
    photo = DecodedPhoto(path=path, size=size, mtime_ns=mtime_ns, content_hash=content_hash, format=image_format)
    if content_hash in reuse_hashes:
        return photo
    _decode_into(photo, data, target_size, work_size)
    if thumbs_root is not None:
        photo.thumbnail = _write_thumbnail(photo, thumbnail_path(thumbs_root, content_hash))
    else:
        photo.brightness = _mean_luma(_thumbnail_image(photo.image))
    return photo


# -- reading ------------------------------------------------------------------------------------------


def _read_file(path: bytes) -> tuple[bytes, int, int]:
    """The whole file, with size and mtime of what was read. O_NONBLOCK: a fifo that slipped in
    after the scan must not hang us; it is refused after fstat."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileAccessError("file disappeared during indexing") from None
    except PermissionError:
        raise FileAccessError("cannot read file: permission denied") from None
    except OSError as error:
        raise FileAccessError(f"cannot read file: {error.strerror or error}") from None
    with open(fd, "rb", closefd=True) as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsupportedImageError("not a regular file")
        if st.st_size == 0:
            raise UnsupportedImageError("empty file")
        if st.st_size > MAX_FILE_BYTES:
            raise UnsupportedImageError(f"file too large to be a photo ({st.st_size / 2**30:.1f} GiB)")
        try:
            data = handle.read()
        except OSError as error:
            raise FileAccessError(f"cannot read file: {error.strerror or error}") from None
    if not data:
        raise UnsupportedImageError("empty file")
    return data, len(data), st.st_mtime_ns


# -- decoding -------------------------------------------------------------------------------------------

_pillow_ready = False
_heif_ready = False
_setup_lock = threading.Lock()


def _pillow():
    """PIL with photoseek's limits applied, once per process."""
    global _pillow_ready
    from PIL import Image

    if not _pillow_ready:
        with _setup_lock:
            Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
            # between 1x and 2x the limit Pillow only warns; we refuse those ourselves with the size
            warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
            # "Corrupt EXIF data" and the like: a broken EXIF block costs metadata, nothing more
            warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")
            _pillow_ready = True
    return Image


def _register_heif() -> bool:
    """pillow-heif's opener, registered on the first HEIC/HEIF/AVIF file (it is not a light import)."""
    global _heif_ready
    if _heif_ready:
        return True
    with _setup_lock:
        if not _heif_ready:
            try:
                from pillow_heif import register_heif_opener
            except ImportError:
                return False
            register_heif_opener()
            _heif_ready = True
    return True


def _open(data: bytes, image_format: str) -> "Image.Image":
    Image = _pillow()
    if image_format in ("HEIF", "AVIF"):
        heif_available = _register_heif()
        if image_format == "HEIF" and not heif_available:
            raise UnsupportedImageError("HEIC/HEIF photos need the package pillow-heif (pip install pillow-heif)")
    try:
        return Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[image_format])
    except Image.DecompressionBombError:
        raise UnsupportedImageError(_too_large_message(data, image_format)) from None
    except Exception as error:  # UnidentifiedImageError, SyntaxError, struct.error... from plugins
        raise UnsupportedImageError(f"corrupt or truncated image: {_pillow_message(error)}") from None


def _too_large_message(data: bytes, image_format: str) -> str:
    """Pillow's bomb error does not carry the size: read it from the header without the check."""
    Image = _pillow()
    for name in _PILLOW_FORMATS[image_format]:
        factory_accept = Image.OPEN.get(name)
        if factory_accept is None:
            continue
        try:
            width, height = factory_accept[0](io.BytesIO(data), None).size
            return f"image too large: {width}×{height} pixels (limit {MAX_IMAGE_PIXELS // 1_000_000} MP)"
        except Exception:
            continue
    return f"image too large (over {MAX_IMAGE_PIXELS // 1_000_000} MP)"


def _decode_into(photo: DecodedPhoto, data: bytes, target_size: int, work_size: int | None = None) -> None:
    Image = _pillow()
    image = _open(data, photo.format)
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise UnsupportedImageError(
            f"image too large: {width}×{height} pixels (limit {MAX_IMAGE_PIXELS // 1_000_000} MP)"
        )
    _read_metadata(photo, image)
    if photo.orientation in (5, 6, 7, 8):  # rotated a quarter turn: the photo as seen is H×W
        width, height = height, width
    photo.width, photo.height = width, height
    needed = target_size
    if work_size:  # the short side the work image needs, so that its long side reaches its size
        work_size = work_long_side(width, height, work_size)
        needed = max(target_size, math.ceil(work_size * min(width, height) / max(width, height, 1)))
    if image.format in ("JPEG", "MPO"):
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale (DCT scaling: cheap and sharp) while both
        # sides stay >= 0.9x target
        floor = max(1, math.ceil(needed * DRAFT_TOLERANCE))
        image.draft("RGB", (floor, floor))
    try:
        image.load()
        photo.decoded_size = image.size
        flat = _flatten(image)
        if work_size:
            work = _in_srgb(photo, image, _fit_long_side(flat, work_size, Image))
            work = _orient(work, photo.orientation, Image)
            photo.pixels = work
            rgb = _downscale(work, target_size, Image)
        else:
            rgb = _in_srgb(photo, image, _downscale(flat, target_size, Image))
            rgb = _orient(rgb, photo.orientation, Image)
    except UnsupportedImageError:
        raise
    except Image.DecompressionBombError:
        raise UnsupportedImageError(f"image too large: {width}×{height} pixels") from None
    except MemoryError:
        raise UnsupportedImageError(f"image too large to decode: {width}×{height} pixels") from None
    except Exception as error:  # truncated data raises OSError; broken plugins raise others
        raise UnsupportedImageError(f"corrupt or truncated image: {_pillow_message(error)}") from None
    if rgb is not image and photo.pixels is not image:
        image.close()  # frees the full-size pixels now rather than at garbage collection
    photo.image = rgb


def _pillow_message(error: BaseException) -> str:
    message = str(error).strip() or type(error).__name__
    return message[:200]


def _in_srgb(photo: DecodedPhoto, opened: "Image.Image", pixels: "Image.Image") -> "Image.Image":
    """`pixels` (flattened from `opened`, maybe resized) as sRGB through the profile `opened`
    carries; what was done is recorded in photo.color (see photoseek.ingest.color_management)."""
    from photoseek.ingest.color_management import convert_to_srgb, embedded_profile, source_profile

    profile = source_profile(embedded_profile(opened), pixels.mode)
    photo.color = profile.info
    return convert_to_srgb(pixels, profile)


def _flat_mode(image: "Image.Image") -> str:
    """The mode `_flatten` gives this image: "L" for greys, "CMYK" for CMYK, else "RGB"."""
    if image.mode in _HIGH_DEPTH_MODES or image.mode in ("1", "LA", "La"):
        return "L"
    if image.mode in ("L", "CMYK") and "transparency" not in image.info:
        return image.mode
    return "RGB"


def _flatten(image: "Image.Image") -> "Image.Image":
    """8-bit "RGB", "L" or "CMYK" (`_flat_mode`) without alpha, in the image's own colour space
    (`_in_srgb` then brings it to sRGB, after resizing: the colour transform runs on the small image).

    Values are scaled by what the encoding can hold, never by the image's own maximum (a dark
    16-bit photo stays dark): 16-bit greyscale (I;16, I;16B, I;16L, I;16N) by 65535/255; 32-bit
    integers ("I") by the bit depth the file declares (TIFF BitsPerSample; a PNG "I" image is 16-bit;
    otherwise 16 when every value fits, else 32); floats ("F") as 0..1 (the TIFF/OpenEXR convention),
    clipped. 16-bit RGB(A) is already reduced by Pillow to its high byte on load. 1-bit is 0/255.
    Transparent areas (RGBA, LA, PA, P/L/RGB with a transparency key) are composited on white
    (not the black an RGB convert gives).
    """
    from PIL import Image

    mode = _flat_mode(image)
    if image.mode == mode and "transparency" not in image.info:
        return image
    if image.mode in _HIGH_DEPTH_MODES:
        return Image.fromarray(_high_depth_to_8bit(image), "L")
    if image.mode in ("LA", "La"):  # stays grey: a grey profile applies to it
        grey = image.convert("LA")
        background = Image.new("L", grey.size, 255)
        background.paste(grey.getchannel("L"), mask=grey.getchannel("A"))
        return background
    if mode == "L":  # 1-bit
        return image.convert("L")
    if image.mode in ("RGBA", "PA", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def read_color_profile(path: bytes | str | os.PathLike) -> "ColorProfileInfo | None":
    """The photo's colour profile and what decoding does with it, from the file's header alone
    (no pixels decoded: for libraries indexed before colour management); None when the file
    cannot be read or is not an image."""
    from photoseek.ingest.color_management import embedded_profile, source_profile

    Image = _pillow()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # a fifo must not hang us
        with open(fd, "rb", closefd=True) as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            image_format = sniff_image_format(handle.read(SNIFF_BYTES))
            if image_format is None:
                return None
            if image_format in ("HEIF", "AVIF"):
                _register_heif()
            handle.seek(0)
            with Image.open(handle, formats=_PILLOW_FORMATS[image_format]) as image:
                return source_profile(embedded_profile(image), _flat_mode(image)).info
    except Exception:  # noqa: BLE001 - gone, unreadable or corrupt: the next decode will say
        return None


_HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def _declared_bits(image: "Image.Image") -> int | None:
    """Bits per sample the file declares (TIFF tag 258), if any."""
    tags = getattr(image, "tag_v2", None)
    if not tags:
        return None
    bits = tags.get(258)
    if isinstance(bits, tuple):
        bits = bits[0] if bits else None
    return int(bits) if isinstance(bits, int) and 1 <= bits <= 32 else None


def _high_depth_to_8bit(image: "Image.Image") -> "np.ndarray":
    """uint8 (H, W) from a 16/32-bit integer or float greyscale image (see `_to_rgb` for the scale)."""
    import numpy as np

    if image.mode == "F":
        values = np.asarray(image, dtype=np.float32)
        return np.rint(np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * 255.0).astype(np.uint8)
    values = np.asarray(image)
    if image.mode.startswith("I;16"):
        bits = 16
    else:  # "I": 32-bit signed integers, whatever the file held
        bits = _declared_bits(image)
        if bits is None:
            bits = 16 if image.format == "PNG" or int(values.max(initial=0)) <= 0xFFFF else 32
    top = float((1 << bits) - 1 if bits < 32 else (1 << 31) - 1)  # "I" is signed: 2**31-1 at most
    out = np.empty(values.shape, dtype=np.uint8)
    for start in range(0, values.shape[0], _ROWS_PER_CHUNK):  # float copies of a few rows at a time
        rows = values[start : start + _ROWS_PER_CHUNK].astype(np.float64)
        out[start : start + _ROWS_PER_CHUNK] = np.rint(np.clip(rows, 0.0, top) * (255.0 / top))
    return out


_ROWS_PER_CHUNK = 512


def _downscale(image: "Image.Image", target_size: int, Image) -> "Image.Image":
    width, height = image.size
    short = min(width, height)
    if short <= target_size * RESIZE_ABOVE:
        return image
    scale = target_size / short
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Pillow's bilinear resize is antialiased (its kernel widens with the scale); reducing_gap
    # first box-reduces by an integer factor, which is what makes large reductions cheap
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


# A photo longer than this (long:short) is a screenshot or a panorama that OCR reads in 2:1 tiles
# (photoseek.vision.ocr.TILE_ABOVE_ASPECT, MAX_TILE_ASPECT): its work image keeps a readable short
# side instead of squeezing the whole length into `work_size`, up to MAX_WORK_LONG_SIDE.
ELONGATED_ASPECT = 4.0
MAX_WORK_LONG_SIDE = 40_000  # px: 32 tiles (ocr.MAX_TILES) of 640×1280 with overlap; ~77 MB RGB at most


def work_long_side(width: int, height: int, work_size: int) -> int:
    """Long side (px) of the work image the pixel annotators get: `work_size` for ordinary photos;
    for elongated ones (long:short above ELONGATED_ASPECT) as long as keeps the short side at
    work_size / 2 (never upscaled, at most MAX_WORK_LONG_SIDE), so a 790×36861 chat screenshot
    stays legible (640×29,866) while a 12800×10 strip stays 12800×10."""
    long_side, short_side = max(width, height), min(width, height)
    if short_side <= 0 or long_side <= ELONGATED_ASPECT * short_side:
        return work_size
    short_kept = min(short_side, work_size // 2)
    return max(work_size, min(long_side, math.ceil(short_kept * long_side / short_side), MAX_WORK_LONG_SIDE))


def _fit_long_side(image: "Image.Image", long_side: int, Image) -> "Image.Image":
    width, height = image.size
    if max(width, height) <= long_side:
        return image
    scale = long_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


# what ImageOps.exif_transpose does per orientation; applied to the small image (cheaper) with the
# orientation already read, so a broken EXIF block cannot fail the transpose
_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
              7: "TRANSVERSE", 8: "ROTATE_90"}  # fmt: skip


def _orient(image: "Image.Image", orientation: int | None, Image) -> "Image.Image":
    method = _TRANSPOSE.get(orientation or 1)
    return image.transpose(getattr(Image.Transpose, method)) if method else image


# -- metadata ---------------------------------------------------------------------------------------------


def _read_metadata(photo: DecodedPhoto, image: "Image.Image") -> None:
    """EXIF orientation, date, GPS and camera; any part that is broken is just left out."""
    try:
        exif = image.getexif()
    except Exception:
        return
    photo.orientation = _safe(lambda: _orientation(exif))
    photo.camera_make = _safe(lambda: _text(exif.get(_MAKE)))
    photo.camera_model = _safe(lambda: _text(exif.get(_MODEL)))
    photo.taken_at = _safe(lambda: _taken_at(exif))
    position = _safe(lambda: _gps(exif.get_ifd(_GPS_IFD)))
    if position:
        photo.gps_lat, photo.gps_lon = position


def _safe(read):
    try:
        return read()
    except Exception:
        return None


def _orientation(exif) -> int | None:
    value = exif.get(_ORIENTATION)
    return int(value) if value is not None and 1 <= int(value) <= 8 else None


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).replace("\x00", "").strip()
    return text or None


def _taken_at(exif) -> str | None:
    sub = exif.get_ifd(_EXIF_IFD)
    for raw in (sub.get(_DATETIME_ORIGINAL), sub.get(_DATETIME_DIGITIZED), exif.get(_DATETIME)):
        text = _text(raw)
        if not text:
            continue
        for pattern in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
            try:
                return datetime.strptime(text[:19], pattern).isoformat()
            except ValueError:
                continue
    return None


def _gps(gps) -> tuple[float, float] | None:
    if not gps or _GPS_LAT not in gps or _GPS_LON not in gps:
        return None
    lat = _degrees(gps[_GPS_LAT])
    lon = _degrees(gps[_GPS_LON])
    if _text(gps.get(_GPS_LAT_REF)) in ("S", "s"):
        lat = -lat
    if _text(gps.get(_GPS_LON_REF)) in ("W", "w"):
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None  # (0, 0) is what cameras without a fix write
    return round(lat, 7), round(lon, 7)


def _degrees(value) -> float:
    """Degrees, minutes, seconds (rationals) → decimal degrees."""
    if isinstance(value, (int, float)):
        return float(value)
    parts = [float(v) for v in value]
    while len(parts) < 3:
        parts.append(0.0)
    return parts[0] + parts[1] / 60 + parts[2] / 3600


# -- thumbnail ---------------------------------------------------------------------------------------------


def _thumbnail_image(image: "Image.Image") -> "Image.Image":
    """At most THUMBNAIL_SIZE on the long side; an embedder image already within 1.25x of that is
    used as it is (one resize less per photo)."""
    from PIL import Image

    if max(image.size) <= THUMBNAIL_SIZE * RESIZE_ABOVE:
        return image
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return thumb


def _mean_luma(image: "Image.Image") -> float:
    from PIL import ImageStat

    return round(ImageStat.Stat(image.convert("L")).mean[0] / 255.0, 4)


def _write_thumbnail(photo: DecodedPhoto, target: Path, replace: bool = False) -> Path:
    thumb = _thumbnail_image(photo.image)
    photo.thumbnail_image = thumb
    photo.brightness = _mean_luma(thumb)
    if replace or not target.exists():  # identical content shares one thumbnail
        from photoseek.vision.model_cache import atomic_output

        with atomic_output(target) as tmp:
            thumb.save(tmp, "JPEG", quality=THUMBNAIL_QUALITY, optimize=False)
    return target


def rewrite_thumbnail(photo: DecodedPhoto, library_dir: str | os.PathLike) -> Path:
    """Write the thumbnail of a decoded photo again, replacing the one there (atomically), and set
    photo.thumbnail_image and photo.brightness from it."""
    photo.thumbnail = _write_thumbnail(photo, thumbnail_path(library_dir, photo.content_hash), replace=True)
    return photo.thumbnail
