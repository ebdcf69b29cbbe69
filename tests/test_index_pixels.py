"""True pixels: every mode and bit depth Pillow opens decodes to the 8-bit sRGB values of a correctly
converted 8-bit copy (issue 11, part 2). Each test writes a pair — the odd encoding and the 8-bit
file a careful converter would have made — and compares what `decode_photo` hands the models."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photoseek.ingest.decode import decode_photo

tifffile = pytest.importorskip("tifffile")
cv2 = pytest.importorskip("cv2")


def _pixels(path) -> np.ndarray:
    photo = decode_photo(path, target_size=4096)  # no resize: compare pixel for pixel
    assert photo is not None and photo.image.mode == "RGB"
    return np.asarray(photo.image).astype(int)


def _assert_pair(odd, reference, tolerance=1):
    got, want = _pixels(odd), _pixels(reference)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= tolerance, (got.mean(), want.mean())


def _dark_ramp() -> np.ndarray:
    """The issue's dark 16-bit scene: 0..16383 (a quarter of the range), 512×384."""
    return np.tile(np.linspace(0, 16383, 512, dtype=np.uint16), (384, 1))


def _to8(values16: np.ndarray) -> np.ndarray:
    return np.rint(values16.astype(np.float64) * 255 / 65535).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_dark_16bit_grey_is_scaled_by_bit_depth_not_by_its_maximum(tmp_path, fmt):
    ramp = _dark_ramp()
    odd, ref = tmp_path / f"dark16.{fmt.lower()}", tmp_path / "dark8.png"
    Image.fromarray(ramp).save(odd, fmt)
    assert Image.open(odd).mode == "I;16"
    Image.fromarray(_to8(ramp), "L").save(ref)
    _assert_pair(odd, ref)
    assert 29 <= _pixels(odd).mean() <= 33  # ~31, not the 127 of max-scaling


def test_big_endian_16bit_tiff(tmp_path):
    ramp = _dark_ramp()
    odd, ref = tmp_path / "be16.tif", tmp_path / "be8.png"
    tifffile.imwrite(odd, ramp.astype(">u2"), byteorder=">")
    assert Image.open(odd).mode == "I;16B"
    Image.fromarray(_to8(ramp), "L").save(ref)
    _assert_pair(odd, ref)


def test_32bit_integer_tiff_uses_its_declared_depth(tmp_path):
    values = np.tile(np.linspace(0, 2**31 - 1, 256), (64, 1)).astype(np.int32)
    odd, ref = tmp_path / "i32.tif", tmp_path / "i8.png"
    tifffile.imwrite(odd, values)
    assert Image.open(odd).mode == "I"
    Image.fromarray(np.rint(values / (2**31 - 1) * 255).astype(np.uint8), "L").save(ref)
    _assert_pair(odd, ref)
    # a dark 32-bit image stays dark (the old code stretched it to white)
    tifffile.imwrite(tmp_path / "dark32.tif", (values // 8).astype(np.int32))
    assert _pixels(tmp_path / "dark32.tif").max() <= 33


def test_float_tiff_is_read_as_0_to_1(tmp_path):
    values = np.tile(np.linspace(0.0, 0.25, 256, dtype=np.float32), (64, 1))
    values[0, :4] = [-0.5, 1.5, np.nan, 1.0]  # out of range and NaN are clipped, not stretched
    odd, ref = tmp_path / "f32.tif", tmp_path / "f8.png"
    tifffile.imwrite(odd, values)
    assert Image.open(odd).mode == "F"
    expected = np.rint(np.clip(np.nan_to_num(values), 0, 1) * 255).astype(np.uint8)
    Image.fromarray(expected, "L").save(ref)
    _assert_pair(odd, ref)


def test_16bit_rgb_png_and_tiff(tmp_path):
    rgb16 = np.zeros((64, 96, 3), np.uint16)
    rgb16[..., 0] = np.linspace(0, 65535, 96, dtype=np.uint16)
    rgb16[..., 1] = 16383
    rgb16[..., 2] = np.linspace(0, 4000, 64, dtype=np.uint16)[:, None]
    ref = tmp_path / "rgb8.png"
    Image.fromarray(_to8(rgb16), "RGB").save(ref)
    png = tmp_path / "rgb16.png"
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb16[..., ::-1]))
    png.write_bytes(encoded.tobytes())
    tif = tmp_path / "rgb16.tif"
    tifffile.imwrite(tif, rgb16, photometric="rgb")
    _assert_pair(png, ref)
    _assert_pair(tif, ref)


CMYK_COLOURS = {  # CMYK -> the sRGB it means without a colour profile
    (0, 0, 0, 0): (255, 255, 255),
    (255, 0, 0, 0): (0, 255, 255),
    (0, 255, 0, 0): (255, 0, 255),
    (0, 0, 255, 0): (255, 255, 0),
    (0, 0, 0, 255): (0, 0, 0),
}


@pytest.mark.parametrize("fmt,tolerance", [("TIFF", 1), ("JPEG", 8)])
def test_cmyk(tmp_path, fmt, tolerance):
    cmyk = Image.new("CMYK", (5 * 32, 32))
    rgb = Image.new("RGB", (5 * 32, 32))
    for i, (ink, colour) in enumerate(CMYK_COLOURS.items()):
        cmyk.paste(ink, (i * 32, 0, i * 32 + 32, 32))
        rgb.paste(colour, (i * 32, 0, i * 32 + 32, 32))
    odd, ref = tmp_path / f"cmyk.{fmt.lower()}", tmp_path / "cmyk_ref.png"
    cmyk.save(odd, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    rgb.save(ref)
    got, want = _pixels(odd), _pixels(ref)
    centres = [(16, i * 32 + 16) for i in range(5)]  # JPEG blurs the borders between patches
    assert all(np.abs(got[y, x] - want[y, x]).max() <= tolerance for y, x in centres)


def _checker_alpha(size=(64, 64)) -> np.ndarray:
    alpha = np.zeros(size, np.uint8)
    alpha[:, 16:32] = 128
    alpha[:, 32:] = 255
    return alpha


def _on_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float64)[..., None] / 255
    return np.rint(colour * a + 255 * (1 - a)).astype(np.uint8)


def test_la_is_composited_on_white(tmp_path):
    grey = np.full((64, 64), 60, np.uint8)
    alpha = _checker_alpha()
    odd, ref = tmp_path / "la.png", tmp_path / "la_ref.png"
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(odd)
    Image.fromarray(_on_white(np.dstack([grey] * 3).astype(np.float64), alpha), "RGB").save(ref)
    _assert_pair(odd, ref)
    assert (_pixels(odd)[:, :16] == 255).all()  # fully transparent: white, not black


def test_palette_with_transparency_and_rgba(tmp_path):
    palette = Image.new("P", (64, 64), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (32, 0, 64, 64))
    odd = tmp_path / "p.png"
    palette.save(odd, transparency=0)  # index 0 (red) is transparent
    ref = tmp_path / "p_ref.png"
    expected = Image.new("RGB", (64, 64), (255, 255, 255))
    expected.paste((0, 0, 255), (32, 0, 64, 64))
    expected.save(ref)
    _assert_pair(odd, ref, tolerance=0)
    gif = tmp_path / "p.gif"
    palette.save(gif, transparency=0)
    _assert_pair(gif, ref, tolerance=0)

    colour = np.zeros((64, 64, 3), np.uint8)
    colour[...] = (200, 40, 10)
    alpha = _checker_alpha()
    rgba = tmp_path / "rgba.webp"
    Image.fromarray(np.dstack([colour, alpha]), "RGBA").save(rgba, lossless=True)
    ref_rgba = tmp_path / "rgba_ref.png"
    Image.fromarray(_on_white(colour.astype(np.float64), alpha), "RGB").save(ref_rgba)
    _assert_pair(rgba, ref_rgba)


def test_rgb_with_a_transparent_colour_key(tmp_path):
    rgb = Image.new("RGB", (32, 32), (0, 255, 0))
    rgb.paste((10, 20, 30), (16, 0, 32, 32))
    odd = tmp_path / "key.png"
    rgb.save(odd, transparency=(0, 255, 0))
    got = _pixels(odd)
    assert (got[:, :16] == 255).all() and (got[:, 16:] == (10, 20, 30)).all()


def test_one_bit(tmp_path):
    bits = np.zeros((32, 64), bool)
    bits[:, 32:] = True
    odd, ref = tmp_path / "bw.png", tmp_path / "bw_ref.png"
    Image.fromarray(bits).convert("1").save(odd)
    assert Image.open(odd).mode == "1"
    Image.fromarray(bits.astype(np.uint8) * 255, "L").save(ref)
    _assert_pair(odd, ref, tolerance=0)
    tif = tmp_path / "bw.tif"
    Image.fromarray(bits).convert("1").save(tif, compression="group4")
    _assert_pair(tif, ref, tolerance=0)


def test_dark_16bit_scene_reads_as_night_like_its_8bit_copy(tmp_path):
    """The issue's case end to end: brightness, colours and time of day from the 16-bit file equal
    the 8-bit copy's (before: mean 127, grey/white, "day")."""
    from photoseek.vision.colors import color_tags
    from photoseek.vision.daytime import time_from_pixels

    ramp = _dark_ramp()
    Image.fromarray(ramp).save(tmp_path / "scene16.png")
    Image.fromarray(_to8(ramp), "L").save(tmp_path / "scene8.png")
    library = tmp_path / "lib"
    p16 = decode_photo(tmp_path / "scene16.png", thumbs_root=library)
    p8 = decode_photo(tmp_path / "scene8.png", thumbs_root=library)
    assert abs(p16.brightness - p8.brightness) < 0.01 and p16.brightness < 0.2
    thumb = np.asarray(Image.open(p16.thumbnail)).astype(float)
    assert 25 <= thumb.mean() <= 37
    assert time_from_pixels(p16.image).label == time_from_pixels(p8.image).label
    assert [name for name, _ in color_tags(p16.image)] == [name for name, _ in color_tags(p8.image)]


def test_cmyk_with_an_unusable_profile_falls_back(tmp_path):
    """A CMYK file whose ICC profile cannot describe it (an RGB profile) is converted without it,
    not failed."""
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    cmyk = Image.new("CMYK", (16, 16), (0, 0, 0, 0))
    # an sRGB profile cannot describe CMYK: the decoder must fall back, not fail
    odd = tmp_path / "cmyk_bad_profile.tif"
    cmyk.save(odd, "TIFF", icc_profile=srgb.tobytes())
    assert (_pixels(odd) == 255).all()
