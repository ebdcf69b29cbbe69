"""Reading one photo safely: bytes + hash, metadata, a small RGB image for the embedder, a thumbnail.

`decode_photo(path, target_size=...)` reads the file once (hashing the same bytes it decodes),
decides from the content whether it is an image at all, and returns a `DecodedPhoto`, or None for
a file that is simply not a photo. Anything wrong with an image file raises UnsupportedImageError
whose `reason` is what the catalog's failures table stores ("empty file", "image too large: ...").

What the file says about itself (capture time and UTC offset, place, camera, orientation) is read
by photoseek.ingest.metadata; camera RAW files go through photoseek.ingest.camera_raw (LibRaw) and
JPEG XL through pillow-jxl-plugin. The file's orientation is applied once, to the smallest image
that needs it, so the embedder's image, the work image and the thumbnail are all upright.

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
from pathlib import Path
from typing import TYPE_CHECKING, Container

from photoseek.errors import FileAccessError, UnsupportedImageError
from photoseek.ingest.camera_raw import has_raw_extension, is_raw_format, raw_format_name
from photoseek.ingest.color_management import ColorProfileInfo, convert_to_srgb, embedded_profile, source_profile
from photoseek.ingest.scan import SNIFF_BYTES, describe_content, has_image_extension, sniff_image_format

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


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
    "JXL": ["JXL"],
}


@dataclass
class DecodedPhoto:
    """Everything stage 1 learns from one file, before embedding."""

    path: bytes
    size: int
    mtime_ns: int
    content_hash: str
    format: str | None = None
    width: int | None = None  # original size, upright (after the file's orientation)
    height: int | None = None
    # capture time and where it came from (photoseek.ingest.metadata): ISO 8601 local time with
    # "+HH:MM" when the UTC offset is known or guessed ("2019-05-12T17:13:53.955+02:00")
    taken_at: str | None = None
    taken_at_source: str | None = None  # 'exif' | 'xmp' | 'gps' | 'file name'
    utc_offset_source: str | None = None  # 'exif' | 'xmp' | 'gps clock' | 'position' (a guess)
    time_zone: str | None = None  # IANA zone at the photo's position
    gps_lat: float | None = None
    gps_lon: float | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    orientation: int | None = None  # 1..8 as stored in the file (EXIF, XMP or HEIF irot/imir)
    transpose: int = 1  # the EXIF-style orientation applied to the decoded pixels (once)
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
    if data is None:
        return None
    image_format = file_format(path, data[:SNIFF_BYTES])
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


def upright_image(path: bytes | str | os.PathLike, long_side: int) -> "Image.Image":
    """The photo as people see it: RGB, upright, at most about `long_side` px on its long side, read
    as indexing reads it (HEIF and RAW orientation, JPEG XL, camera RAW). For views of the
    original (the web page's detail view, contact sheets). Raises UnsupportedImageError."""
    photo = decode_photo(path, target_size=long_side, work_size=long_side)
    if photo is None:
        raise UnsupportedImageError("not an image")
    return photo.pixels if photo.pixels is not None else photo.image


def read_photo_metadata(path: bytes | str | os.PathLike) -> DecodedPhoto:
    """A file's metadata and upright size without decoding its pixels (nor hashing it: content_hash
    is ""): what the indexer needs to re-read an unchanged photo, or to pair a RAW with its JPEG.
    Raises UnsupportedImageError for a file that is not an image, FileAccessError when unreadable."""
    path = os.fsencode(path)
    data, size, mtime_ns = _read_file(path)
    image_format = file_format(path, data[:SNIFF_BYTES]) if data is not None else None
    if image_format is None:
        if data is None:
            raise UnsupportedImageError("not an image")
        raise UnsupportedImageError(f"not an image (content is {describe_content(data[:SNIFF_BYTES])})")
    photo = DecodedPhoto(path=path, size=size, mtime_ns=mtime_ns, content_hash="", format=image_format)
    if is_raw_format(image_format):
        from photoseek.ingest.camera_raw import raw_exif, raw_size

        _read_metadata(photo, None, data, exif=raw_exif(data, image_format))
        (width, height), orientation = raw_size(data)
        if photo.orientation is None:
            photo.orientation = orientation
        photo.transpose = orientation or photo.transpose
    else:
        image = _open(data, image_format)
        _read_metadata(photo, image, data)
        width, height = image.size
        image.close()
    if photo.transpose in (5, 6, 7, 8):
        width, height = height, width
    photo.width, photo.height = width, height
    return photo


def file_format(path: bytes, head: bytes) -> str | None:
    """The format to decode a file as: what its first bytes show, except that a TIFF named like a
    camera RAW file (.dng, .nef, .arw…) is that RAW ("DNG"), not its little TIFF preview."""
    image_format = sniff_image_format(head)
    if image_format == "TIFF" and has_raw_extension(path):
        return raw_format_name(path, head)
    return image_format


# -- reading ------------------------------------------------------------------------------------------


def _read_file(path: bytes) -> tuple[bytes | None, int, int]:
    """The whole file, with size and mtime of what was read; None for the data when its first bytes
    show no image and its name claims none (a video or a document is not read whole, run after run).
    O_NONBLOCK: a fifo that slipped in after the scan must not hang us; it is refused after fstat."""
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
            if not has_image_extension(path):
                return None, 0, st.st_mtime_ns  # an empty .mov or .txt is no photo, not a broken one
            raise UnsupportedImageError("empty file")
        try:
            head = handle.read(SNIFF_BYTES)
            if file_format(path, head) is None and not has_image_extension(path):
                return None, st.st_size, st.st_mtime_ns
            if st.st_size > MAX_FILE_BYTES:
                raise UnsupportedImageError(f"file too large to be a photo ({st.st_size / 2**30:.1f} GiB)")
            handle.seek(0)
            data = handle.read()  # (one read: a 50 MB RAW is not copied twice)
        except OSError as error:
            raise FileAccessError(f"cannot read file: {error.strerror or error}") from None
    if not data:
        raise UnsupportedImageError("empty file")
    return data, len(data), st.st_mtime_ns


# -- decoding -------------------------------------------------------------------------------------------

_pillow_ready = False
_heif_ready = False
_jxl_ready = False
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


def _register_jxl() -> bool:
    """pillow-jxl-plugin's opener, registered on the first JPEG XL file."""
    global _jxl_ready
    if _jxl_ready:
        return True
    with _setup_lock:
        if not _jxl_ready:
            try:
                import pillow_jxl  # noqa: F401 - importing it registers the JXL format with Pillow
            except ImportError:
                return False
            _jxl_ready = True
    return True


def _open(data: bytes, image_format: str) -> "Image.Image":
    Image = _pillow()
    if image_format in ("HEIF", "AVIF"):
        heif_available = _register_heif()
        if image_format == "HEIF" and not heif_available:
            raise UnsupportedImageError("HEIC/HEIF photos need the package pillow-heif (pip install pillow-heif)")
    if image_format == "JXL" and not _register_jxl():
        raise UnsupportedImageError("JPEG XL photos need the package pillow-jxl-plugin (pip install pillow-jxl-plugin)")
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
    if is_raw_format(photo.format):
        _decode_raw_into(photo, data, target_size, work_size)
        return
    Image = _pillow()
    image = _open(data, photo.format)
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise UnsupportedImageError(
            f"image too large: {width}×{height} pixels (limit {MAX_IMAGE_PIXELS // 1_000_000} MP)"
        )
    _read_metadata(photo, image, data)
    if photo.transpose in (5, 6, 7, 8):  # turned a quarter: the photo as seen is H×W
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
        rgb = _fit(photo, _flatten(image), target_size, work_size, Image, embedded_profile(image))
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


def _fit(photo: DecodedPhoto, pixels: "Image.Image", target_size: int, work_size: int | None, Image,
         icc: bytes | None = None) -> "Image.Image":
    """The embedder's image (and `photo.pixels`, the work image, when `work_size`), upright and in
    sRGB: `pixels` ("RGB", "L" or "CMYK", in the colours of profile `icc`) are converted once and the
    file's orientation applied once, to the smallest image that needs it."""
    if work_size:
        work = _orient(_in_srgb(photo, icc, _fit_long_side(pixels, work_size, Image)), photo.transpose, Image)
        photo.pixels = work
        return _downscale(work, target_size, Image)
    return _orient(_in_srgb(photo, icc, _downscale(pixels, target_size, Image)), photo.transpose, Image)


def _decode_raw_into(photo: DecodedPhoto, data: bytes, target_size: int, work_size: int | None) -> None:
    """A camera RAW file: its embedded preview or LibRaw's demosaic at the size needed
    (photoseek.ingest.camera_raw), with the metadata of its own TIFF structure."""
    from photoseek.ingest.camera_raw import decode_raw, raw_exif

    Image = _pillow()
    exif = raw_exif(data, photo.format)
    _read_metadata(photo, None, data, exif=exif)
    # the needed long side is known only relative to the shape: ask for enough for either frame
    needed_long = max(target_size * 2, work_size or 0)
    decoded = decode_raw(data, needed_long, max_pixels=MAX_IMAGE_PIXELS)
    if photo.orientation is None:
        photo.orientation = decoded.orientation
    photo.transpose = decoded.orientation or photo.transpose
    width, height = decoded.size
    if photo.transpose in (5, 6, 7, 8):
        width, height = height, width
    photo.width, photo.height = width, height
    if work_size:
        work_size = work_long_side(width, height, work_size)
    photo.decoded_size = decoded.image.size
    # LibRaw's demosaic is sRGB; an embedded preview may carry a profile (or the EXIF Adobe RGB mark)
    photo.image = _fit(photo, decoded.image, target_size, work_size, Image, embedded_profile(decoded.image))


def _pillow_message(error: BaseException) -> str:
    message = str(error).strip() or type(error).__name__
    return message[:200]


def _in_srgb(photo: DecodedPhoto, icc: bytes | None, pixels: "Image.Image") -> "Image.Image":
    """`pixels` ("RGB", "L" or "CMYK", maybe resized) as sRGB "RGB" through colour profile `icc`
    (`embedded_profile(opened_image)`); what was done is recorded in photo.color (see
    photoseek.ingest.color_management). Every decode path passes its pixels through here once."""
    profile = source_profile(icc, pixels.mode)
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
    Image = _pillow()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # a fifo must not hang us
        with open(fd, "rb", closefd=True) as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            image_format = file_format(os.fsencode(path), handle.read(SNIFF_BYTES))
            if image_format is None:
                return None
            if is_raw_format(image_format):  # LibRaw's demosaic is sRGB; a preview's profile is rare
                return ColorProfileInfo()
            if image_format in ("HEIF", "AVIF"):
                _register_heif()
            if image_format == "JXL":
                _register_jxl()
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
    """uint8 (H, W) from a 16/32-bit integer or float greyscale image (see `_flatten` for the scale)."""
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


def _read_metadata(photo: DecodedPhoto, image: "Image.Image | None", data: bytes, *, exif=None) -> None:
    """Capture time (+ UTC offset), place, camera and orientation (photoseek.ingest.metadata);
    a broken part is just left out."""
    from photoseek.ingest.metadata import read_metadata

    meta = read_metadata(image, data=data, path=photo.path, exif=exif)
    photo.taken_at, photo.taken_at_source = meta.taken_at, meta.taken_at_source
    photo.utc_offset_source, photo.time_zone = meta.utc_offset_source, meta.time_zone
    photo.gps_lat, photo.gps_lon = meta.gps_lat, meta.gps_lon
    photo.camera_make, photo.camera_model = meta.camera_make, meta.camera_model
    photo.orientation, photo.transpose = meta.orientation, meta.transpose


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
