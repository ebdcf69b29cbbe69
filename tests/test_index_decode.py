"""Scanning and decoding: formats, metadata, orientation, draft mode, and every kind of bad input."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from photoseek.errors import PhotoseekError, UnsupportedImageError
from photoseek.ingest import decode as decode_module
from photoseek.ingest.decode import decode_photo, thumbnail_path
from photoseek.ingest.scan import describe_content, scan, sniff_image_format

from tests.index_support import make_photo

FORMATS = [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp"), ("GIF", ".gif"), ("TIFF", ".tif"), ("BMP", ".bmp")]


@pytest.mark.parametrize("fmt,ext", FORMATS)
def test_common_formats_decode_to_rgb_with_size_and_hash(tmp_path, fmt, ext):
    path = make_photo(tmp_path / f"photo{ext}", size=(192, 128), color=(20, 120, 220), fmt=fmt)
    photo = decode_photo(path, target_size=64, thumbs_root=tmp_path / "lib")
    assert photo is not None
    assert photo.format == fmt
    assert (photo.width, photo.height) == (192, 128)
    assert photo.image.mode == "RGB" and min(photo.image.size) == 64  # short side downscaled
    assert photo.image.size == (96, 64)  # aspect kept
    data = open(path, "rb").read()
    assert photo.content_hash == hashlib.blake2b(data, digest_size=20).hexdigest()
    assert photo.size == len(data)
    assert photo.thumbnail == thumbnail_path(tmp_path / "lib", photo.content_hash)
    with Image.open(photo.thumbnail) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 256
    assert 0.0 < photo.brightness < 1.0


def test_heic_decodes_when_pillow_heif_can_write_one(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif is not installed")
    pillow_heif.register_heif_opener()
    path = tmp_path / "phone.heic"
    try:
        Image.new("RGB", (80, 60), (10, 200, 30)).save(path, "HEIF")
    except Exception as error:  # wheels built without an HEVC encoder can read but not write
        pytest.skip(f"pillow-heif cannot encode HEIC here ({error}), so no test file can be made")
    photo = decode_photo(path, target_size=32)
    assert photo.format == "HEIF"
    assert (photo.width, photo.height) == (80, 60)
    r, g, b = photo.image.getpixel((10, 10))
    assert g > 150 and r < 80


def test_transparent_png_is_composited_on_white(tmp_path):
    path = tmp_path / "logo.png"
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(path)
    photo = decode_photo(path, target_size=64)
    assert photo.image.getpixel((5, 5)) == (255, 255, 255)


def test_exif_orientation_6_swaps_size_and_rotates_pixels(tmp_path):
    # stored 60x40 with a red top-left corner; orientation 6 means "rotate 90° clockwise to view"
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:10, :10] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, "JPEG", exif=exif, quality=95)
    photo = decode_photo(path, target_size=256)
    assert photo.orientation == 6
    assert (photo.width, photo.height) == (40, 60)
    assert photo.image.size == (40, 60)
    # the red corner is now at the top right
    assert photo.image.getpixel((35, 3))[0] > 200
    assert photo.image.getpixel((3, 3))[0] < 60


def test_exif_date_gps_and_camera_are_parsed(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "Canon\x00"
    exif[0x0110] = "Canon EOS 5D Mark IV"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 18:30:05"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.6), 3: "W", 4: (2.0, 17.0, 40.2)})
    path = tmp_path / "exif.jpg"
    Image.new("RGB", (32, 32), (90, 90, 90)).save(path, "JPEG", exif=exif)
    photo = decode_photo(path)
    # no offset in the file: the zone at the position (France, summer time) is the guess, and says so
    assert photo.taken_at == "2019-07-14T18:30:05+02:00"
    assert (photo.taken_at_source, photo.utc_offset_source, photo.time_zone) == ("exif", "position", "Europe/Paris")
    assert photo.gps_lat == pytest.approx(48 + 51 / 60 + 29.6 / 3600, abs=1e-6)
    assert photo.gps_lon == pytest.approx(-(2 + 17 / 60 + 40.2 / 3600), abs=1e-6)
    assert photo.camera_make == "Canon"
    assert photo.camera_model == "Canon EOS 5D Mark IV"


def test_broken_exif_block_loses_only_metadata(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 10, 10)).save(buffer, "JPEG")
    jpeg = buffer.getvalue()
    garbage = b"Exif\x00\x00" + b"MM\x00*\x00\x00\x00\x08" + b"\xff\x13\x00\x07" * 20
    app1 = b"\xff\xe1" + struct.pack(">H", len(garbage) + 2) + garbage
    path = tmp_path / "bad_exif.jpg"
    path.write_bytes(jpeg[:2] + app1 + jpeg[2:])
    photo = decode_photo(path, target_size=32)
    assert photo is not None and photo.image.size == (48, 32)
    assert photo.taken_at is None and photo.camera_make is None and photo.orientation in (None, 1)


def test_big_jpeg_is_decoded_in_draft_mode(tmp_path):
    path = tmp_path / "12mp.jpg"
    Image.new("RGB", (4000, 3000), (120, 60, 30)).save(path, "JPEG", quality=80)
    photo = decode_photo(path, target_size=224)
    assert (photo.width, photo.height) == (4000, 3000)
    # libjpeg decoded at 1/8 scale (4000/8 x 3000/8), not 12 MP
    assert photo.decoded_size == (500, 375)
    assert photo.image.size == (299, 224)


# -- bad input -------------------------------------------------------------------------------------------


def _reason(path, **kwargs) -> str:
    with pytest.raises(UnsupportedImageError) as caught:
        decode_photo(path, **kwargs)
    return caught.value.reason


def test_zero_byte_file_is_empty(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert _reason(tmp_path / "empty.jpg") == "empty file"


def test_text_named_jpg_is_not_an_image(tmp_path):
    (tmp_path / "notes.jpg").write_text("shopping list: milk, eggs\n")
    assert _reason(tmp_path / "notes.jpg") == "not an image (content is text)"


def test_non_image_without_image_extension_is_just_not_a_photo(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64)
    assert decode_photo(tmp_path / "notes.txt") is None
    assert decode_photo(tmp_path / "clip.mp4") is None


def test_image_without_extension_is_detected_by_content(tmp_path):
    path = make_photo(tmp_path / "IMG_0001", fmt="PNG")
    assert decode_photo(path).format == "PNG"


def test_truncated_jpeg_fails(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG", quality=90)
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    reason = _reason(tmp_path / "cut.jpg", target_size=256)
    assert reason.startswith("corrupt or truncated image")
    assert "truncated" in reason


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height (1-bit grey) with a tiny IDAT: costs bytes, not gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [30000, 15000])  # above 2x the limit Pillow errors; between 1x and 2x it only warns
def test_decompression_bomb_is_refused_with_its_size(tmp_path, side):
    (tmp_path / "bomb.png").write_bytes(_png_header_only(side, side))
    assert _reason(tmp_path / "bomb.png").startswith(f"image too large: {side}×{side} pixels")


def test_file_deleted_before_decode(tmp_path):
    assert _reason(tmp_path / "gone.jpg") == "file disappeared during indexing"


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: chmod 000 does not stop root from reading")
def test_unreadable_file_chmod_000(tmp_path):
    path = make_photo(tmp_path / "secret.jpg")
    os.chmod(path, 0)
    try:
        assert _reason(path) == "cannot read file: permission denied"
    finally:
        os.chmod(path, 0o644)


def test_unreadable_file_simulated_eacces(tmp_path, monkeypatch):
    # Simulated: tests run as root here, and root reads a chmod-000 file anyway, so os.open is made
    # to fail with EACCES for this one path (the test above covers the real case as non-root).
    path = make_photo(tmp_path / "secret.jpg")
    real_open = os.open

    def refusing_open(p, *args, **kwargs):
        if os.fsencode(p) == os.fsencode(path):
            raise PermissionError(13, "Permission denied", p)
        return real_open(p, *args, **kwargs)

    monkeypatch.setattr(decode_module.os, "open", refusing_open)
    assert _reason(path) == "cannot read file: permission denied"


def test_sniffing_knows_the_formats_and_describes_others():
    assert sniff_image_format(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "JPEG"
    assert sniff_image_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert sniff_image_format(b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic") == "HEIF"
    assert sniff_image_format(b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miaf") == "AVIF"
    assert sniff_image_format(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom") is None
    assert sniff_image_format(b"BMthis is text, not a bitmap") is None
    assert describe_content("héllo wörld".encode()) == "text"
    assert describe_content(b"%PDF-1.7") == "a PDF document"
    assert describe_content(bytes(range(1, 40))) == "unrecognised binary data"


# -- scanning ----------------------------------------------------------------------------------------------


def test_scan_skips_hidden_and_finds_nested_files(tmp_path):
    make_photo(tmp_path / "a" / "b" / "deep.jpg")
    make_photo(tmp_path / ".hidden" / "x.jpg")
    make_photo(tmp_path / "a" / ".secret.jpg")
    found = scan([tmp_path])
    assert [os.path.basename(f.path) for f in found.files] == [b"deep.jpg"]
    assert found.failures == []


def test_scan_records_broken_links_and_loops_and_never_loops(tmp_path):
    make_photo(tmp_path / "photos" / "one.jpg")
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "photos" / "broken.jpg")
    os.symlink("self.jpg", tmp_path / "photos" / "self.jpg")  # a link to itself: ELOOP
    os.symlink(tmp_path / "photos", tmp_path / "photos" / "again")  # a folder cycle
    os.symlink(tmp_path / "photos" / "one.jpg", tmp_path / "photos" / "alias.jpg")  # same file twice
    found = scan([tmp_path / "photos"])
    assert [os.path.basename(f.path) for f in found.files] == [b"alias.jpg"]  # one.jpg is the same inode
    reasons = {os.path.basename(f.path): f.reason for f in found.failures}
    assert reasons[b"broken.jpg"].startswith("broken symbolic link (points to ")
    assert reasons[b"self.jpg"].startswith("symbolic link loop")
    assert len(reasons) == 2


def test_scan_follows_a_linked_folder_once(tmp_path):
    make_photo(tmp_path / "elsewhere" / "far.jpg")
    (tmp_path / "photos").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "photos" / "link1")
    os.symlink(tmp_path / "elsewhere", tmp_path / "photos" / "link2")
    found = scan([tmp_path / "photos"])
    assert [f.path for f in found.files] == [os.fsencode(tmp_path / "photos" / "link1" / "far.jpg")]


def test_scan_fifo_named_jpg_is_a_failure_and_never_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")  # opening it for reading would block forever
    os.mkfifo(tmp_path / "pipe.log")
    found = scan([tmp_path])
    assert found.files == []
    assert [(os.path.basename(f.path), f.reason) for f in found.failures] == [
        (b"pipe.jpg", "not a regular file (named pipe)")
    ]


def test_scan_and_decode_non_utf8_names(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9-\xff.jpg"
    make_photo(name)
    found = scan([tmp_path])
    assert [f.path for f in found.files] == [name]
    photo = decode_photo(found.files[0].path)
    assert photo.path == name and photo.format == "JPEG"


def test_scan_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(PhotoseekError, match="No such file or folder"):
        scan([tmp_path / "nope"])


def test_avif_decodes_when_pillow_has_avif(tmp_path):
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow was built without AVIF support, so no AVIF test file can be made")
    path = tmp_path / "photo.avif"
    Image.new("RGB", (80, 60), (200, 20, 20)).save(path, "AVIF")
    photo = decode_photo(path, target_size=32)
    assert photo.format == "AVIF" and (photo.width, photo.height) == (80, 60)
    assert photo.image.getpixel((10, 10))[0] > 150
