"""Colour profiles honoured (issue 28): a photo saved with an embedded profile (ProPhoto, Adobe RGB,
Display P3, a CMYK print profile) decodes to the sRGB pixels it means, in every format and decode
path, so its colour tags and thumbnail match its sRGB twin; sRGB-tagged photos pass untouched; a
broken profile is a note, not a failure; a library indexed before is caught up once.

Each test also checks that its tagged file's raw numbers are far from the twin's, so reading the
file without its profile would fail it."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from PIL import Image, ImageCms

from photoseek.ingest.color_management import embedded_profile, source_profile
from photoseek.ingest.decode import decode_photo
from photoseek.vision.colors import color_tags
from tests.color_support import (
    RED,
    apple_display_p3,
    cmyk_profile,
    from_srgb,
    mean_rgb,
    profile_bytes,
    to_srgb_directly,
    with_iccp,
)

PROFILES = ["ProPhoto RGB", "Adobe RGB (1998)", "Display P3", "Apple Display P3"]
SIZE = (480, 360)
FEW_LEVELS = 3  # thumbnail mean vs the twin's, per channel (lossy formats included)
SAVE = {"JPEG": {"quality": 95}, "PNG": {}, "HEIF": {"quality": 95}, "TIFF": {}, "WEBP": {"lossless": True}}
SUFFIX = {"JPEG": "jpg", "PNG": "png", "HEIF": "heic", "TIFF": "tif", "WEBP": "webp"}


@pytest.fixture(autouse=True, scope="module")
def _heif():
    pytest.importorskip("pillow_heif")
    from photoseek.ingest.decode import _register_heif

    _register_heif()


def _scene() -> Image.Image:
    """The issue's red patch, with a band of other colours so the profile's whole matrix counts."""
    image = Image.new("RGB", SIZE, RED)
    for i, colour in enumerate([(40, 160, 60), (50, 80, 200), (240, 220, 60), (128, 128, 128)]):
        image.paste(colour, (i * 120, 300, i * 120 + 120, 360))
    return image


def _pair(folder, profile: str, fmt: str):
    """(tagged file, its sRGB twin): the scene converted into `profile` and saved with it embedded,
    and the scene itself saved with no profile, both as `fmt`."""
    folder.mkdir(parents=True, exist_ok=True)
    scene, icc = _scene(), profile_bytes(profile)
    tagged = folder / f"{profile.split()[0].lower()}-{'apple' if 'Apple' in profile else 'p'}.{SUFFIX[fmt]}"
    twin = folder / f"twin.{SUFFIX[fmt]}"
    from_srgb(scene, icc).save(tagged, fmt, icc_profile=icc, **SAVE[fmt])
    scene.save(twin, fmt, **SAVE[fmt])
    return tagged, twin


def _decoded(path, library):
    photo = decode_photo(path, thumbs_root=library)
    assert photo is not None and photo.thumbnail is not None
    return photo


def _colours(photo) -> list[str]:
    return [name for name, _ in color_tags(photo.thumbnail_image)]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "HEIF"])
@pytest.mark.parametrize("profile", PROFILES)
def test_profiled_photo_reads_as_its_srgb_twin(tmp_path, profile, fmt):
    tagged, twin = _pair(tmp_path / "photos", profile, fmt)
    assert np.abs(mean_rgb(Image.open(tagged)) - mean_rgb(Image.open(twin))).max() > 10, "raw numbers differ"
    got, want = _decoded(tagged, tmp_path / "lib"), _decoded(twin, tmp_path / "lib")
    assert np.abs(mean_rgb(got.thumbnail) - mean_rgb(want.thumbnail)).max() <= FEW_LEVELS
    assert _colours(got) == _colours(want) and _colours(want)[0] == "red"
    assert got.color.converted and not want.color.converted
    assert got.color.name and got.color.problem is None


@pytest.mark.parametrize("fmt", ["TIFF", "WEBP"])
def test_tiff_and_webp_profiles_are_honoured(tmp_path, fmt):
    tagged, twin = _pair(tmp_path / "photos", "Adobe RGB (1998)", fmt)
    got, want = _decoded(tagged, tmp_path / "lib"), _decoded(twin, tmp_path / "lib")
    assert np.abs(mean_rgb(got.thumbnail) - mean_rgb(want.thumbnail)).max() <= FEW_LEVELS
    assert _colours(got) == _colours(want)


def test_16bit_png_with_a_prophoto_profile(tmp_path):
    cv2 = pytest.importorskip("cv2")
    icc = profile_bytes("ProPhoto RGB")
    wide = np.asarray(from_srgb(_scene(), icc), dtype=np.uint16) * 257  # 8 -> 16 bit, exactly
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(wide[..., ::-1]))  # OpenCV writes BGR
    assert ok
    tagged = tmp_path / "prophoto16.png"
    tagged.write_bytes(with_iccp(encoded.tobytes(), icc))
    assert Image.open(tagged).info.get("icc_profile") == icc
    twin = tmp_path / "twin.png"
    _scene().save(twin)
    got, want = _decoded(tagged, tmp_path / "lib"), _decoded(twin, tmp_path / "lib")
    assert np.abs(mean_rgb(got.thumbnail) - mean_rgb(want.thumbnail)).max() <= FEW_LEVELS
    assert _colours(got) == _colours(want)


CMYK_RED = (0, 210, 190, 20)  # magenta + yellow inks, a touch of black


def test_cmyk_jpeg_goes_through_its_profile(tmp_path):
    icc = cmyk_profile()
    cmyk = Image.new("CMYK", SIZE, CMYK_RED)
    cmyk.paste((200, 60, 0, 20), (0, 300, 480, 360))
    tagged = tmp_path / "print.jpg"
    cmyk.save(tagged, "JPEG", quality=95, icc_profile=icc)
    twin = tmp_path / "twin.png"
    to_srgb_directly(cmyk, icc).save(twin)
    naive = mean_rgb(cmyk.convert("RGB"))
    got, want = _decoded(tagged, tmp_path / "lib"), _decoded(twin, tmp_path / "lib")
    assert np.abs(naive - mean_rgb(want.thumbnail)).max() > 30, "the profile matters for this test"
    assert np.abs(mean_rgb(got.thumbnail) - mean_rgb(want.thumbnail)).max() <= FEW_LEVELS
    assert _colours(got) == _colours(want)
    assert got.color.converted and got.color.name == "photoseek test CMYK"


def test_grey_photo_goes_through_its_grey_profile(tmp_path):
    from photoseek.ingest.color_management import _SRGB_CURVE
    from tests.color_support import gray_profile

    linear = gray_profile((1.0, 1.0, 0.0, 0.0, 0.0))  # values are linear light: 128 is sRGB 188
    Image.new("L", (64, 64), 128).save(tmp_path / "linear.png", icc_profile=linear)
    photo = decode_photo(tmp_path / "linear.png")
    assert photo.color.converted and abs(np.asarray(photo.image).astype(int) - 188).max() <= 1
    Image.new("L", (64, 64), 128).save(tmp_path / "srgb-grey.png", icc_profile=gray_profile(_SRGB_CURVE))
    photo = decode_photo(tmp_path / "srgb-grey.png")
    assert not photo.color.converted and (np.asarray(photo.image) == 128).all()


def _srgb_profiles() -> list[bytes]:
    """sRGB profiles as cameras and tools embed them: LittleCMS's own, and where the gps photos are
    present HP's sRGB IEC61966-2.1 (most cameras) and the ICC's v4 sRGB (a LUT profile)."""
    from tests.color_support import SHARED_GPS

    found = [ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()]
    for name in ("drewnoakes__jpg_Apple_iPhone_4.jpg", "immich-app__metadata_gps-position_thompson-springs.jpg"):
        if (SHARED_GPS / name).exists():
            with Image.open(SHARED_GPS / name) as image:
                found.append(image.info["icc_profile"])
    return found


def test_srgb_tagged_photos_pass_untouched(tmp_path):
    scene = _scene()
    scene.save(tmp_path / "untagged.png")
    plain = np.asarray(decode_photo(tmp_path / "untagged.png").image)
    for i, icc in enumerate(_srgb_profiles()):
        decided = source_profile(icc, "RGB")
        assert decided.transform is None and not decided.info.converted, decided.info
        assert source_profile(bytes(icc), "RGB") is decided  # decided once per profile, then looked up
        scene.save(tmp_path / f"srgb{i}.png", icc_profile=icc)
        photo = decode_photo(tmp_path / f"srgb{i}.png")
        assert np.array_equal(np.asarray(photo.image), plain)
        assert photo.color.name and not photo.color.converted


def test_apple_display_p3_matches_the_profile_photoseek_builds():
    """The nclx and EXIF paths use built profiles: they must convert as the real ones do."""
    grid = np.stack(np.meshgrid(*[np.linspace(0, 255, 17).astype(np.uint8)] * 3, indexing="ij"), -1)
    image = Image.fromarray(grid.reshape(289, 17, 3))
    apple = np.asarray(to_srgb_directly(image, apple_display_p3()), dtype=int)
    built = np.asarray(to_srgb_directly(image, profile_bytes("Display P3")), dtype=int)
    assert np.abs(apple - built).max() <= 1
    colord = np.asarray(to_srgb_directly(image, profile_bytes("Adobe RGB (1998)")), dtype=int)
    from photoseek.ingest.color_management import rgb_profile

    assert np.abs(colord - np.asarray(to_srgb_directly(image, rgb_profile("Adobe RGB (1998)")), dtype=int)).max() <= 1


def test_heif_nclx_without_an_icc_profile():
    p3 = {"color_primaries": 12, "transfer_characteristics": 13, "matrix_coefficients": 6, "full_range_flag": 1,
          "color_primary_red_x": 0.68, "color_primary_red_y": 0.32, "color_primary_green_x": 0.265,
          "color_primary_green_y": 0.69, "color_primary_blue_x": 0.15, "color_primary_blue_y": 0.06,
          "color_primary_white_x": 0.3127, "color_primary_white_y": 0.329}  # fmt: skip
    image = from_srgb(_scene(), profile_bytes("Display P3"))
    image.info.pop("icc_profile", None)  # (LittleCMS tags its output)
    image.info["nclx_profile"] = p3
    decided = source_profile(embedded_profile(image), "RGB")
    assert decided.info.converted and "P3" in decided.info.name
    back = decided.transform.apply(image)
    assert np.abs(mean_rgb(back) - mean_rgb(_scene())).max() <= 1
    for srgb_or_hdr in ({**p3, "color_primaries": 1}, {**p3, "transfer_characteristics": 16}):  # BT.709; PQ
        image.info["nclx_profile"] = srgb_or_hdr
        assert embedded_profile(image) is None


def test_camera_in_adobe_rgb_mode_without_a_profile(tmp_path):
    """DCF cameras set to Adobe RGB write no ICC profile: EXIF ColorSpace uncalibrated + R03."""
    exif = Image.Exif()
    exif[0x8769] = {0xA001: 0xFFFF, 0xA005: {1: "R03"}}
    tagged = tmp_path / "_DSC0001.jpg"
    from_srgb(_scene(), profile_bytes("Adobe RGB (1998)")).save(tagged, quality=95, exif=exif)
    twin = tmp_path / "twin.jpg"
    _scene().save(twin, quality=95)
    got, want = _decoded(tagged, tmp_path / "lib"), _decoded(twin, tmp_path / "lib")
    assert got.color.name == "Adobe RGB (1998)" and got.color.converted
    assert np.abs(mean_rgb(got.thumbnail) - mean_rgb(want.thumbnail)).max() <= FEW_LEVELS


def _broken_profiles() -> dict[str, bytes]:
    real = profile_bytes("ProPhoto RGB")
    return {"garbage": b"this is not an ICC profile" * 8, "truncated": real[:300],
            "for CMYK": cmyk_profile()}  # fmt: skip


@pytest.mark.parametrize("kind", ["garbage", "truncated", "for CMYK"])
def test_broken_profile_reads_as_srgb_with_a_note(tmp_path, kind):
    scene = _scene()
    scene.save(tmp_path / "broken.png", icc_profile=_broken_profiles()[kind])
    scene.save(tmp_path / "twin.png")
    photo = decode_photo(tmp_path / "broken.png")
    assert np.array_equal(np.asarray(photo.image), np.asarray(decode_photo(tmp_path / "twin.png").image))
    assert not photo.color.converted and "colours read as sRGB" in photo.color.problem


def test_library_honours_profiles_end_to_end(tmp_path):
    """What a user does: index a folder of such photos, then `show` and `errors` (CLI and API)."""
    from photoseek import Library
    from tests.test_cli import run_cli

    folder = tmp_path / "photos"
    twin = folder / "twin.jpg"
    _pair(folder, "ProPhoto RGB", "JPEG")
    _pair(folder, "Display P3", "HEIF")
    _pair(folder, "Adobe RGB (1998)", "PNG")
    _scene().save(folder / "broken.jpg", quality=95, icc_profile=b"not a profile" * 20)
    with Library(tmp_path / "lib", llm=None) as lib:
        report = lib.index([folder])
        assert (report.added, report.failed) == (7, 0)
        ids = {os.path.basename(p): i for i, p in lib.catalog.conn.execute("SELECT id, display_path FROM photos")}
        twin_mean = mean_rgb(lib.thumbnail_path(ids["twin.jpg"]))
        for name in ("prophoto-p.jpg", "display-p.heic", "adobe-p.png"):
            shown = lib.show(ids[name])
            assert shown["color_converted"] is True and shown["color_profile"]
            assert [t["tag"] for t in shown["tags"] if t["source"] == "color"][:1] == ["red"], name
            assert np.abs(mean_rgb(lib.thumbnail_path(ids[name])) - twin_mean).max() <= FEW_LEVELS, name
        assert lib.show(ids["twin.jpg"])["color_profile"] == ""
        notes = [e for e in lib.errors() if e.get("kind") == "note"]
        assert [os.path.basename(e["path"]) for e in notes] == ["broken.jpg"]
        assert "unreadable colour profile" in notes[0]["reason"]
        stats = lib.stats()
        assert stats["failures"] == 0 and stats["notes"] == 1
    assert twin.exists()
    proc = run_cli("errors", library=tmp_path / "lib")
    assert "1 photo(s) indexed with a note" in proc.stdout and "No failed files." in proc.stdout
    shown = json.loads(run_cli("show", str(ids["prophoto-p.jpg"]), "--json", library=tmp_path / "lib").stdout)
    assert shown["color_profile"] == "ProPhoto RGB" and shown["color_converted"] is True


def test_library_indexed_before_colour_management_is_caught_up_once(tmp_path, monkeypatch):
    """A library indexed by a photoseek that read every photo as sRGB: the next `index` reads the
    headers of its photos once, and redoes thumbnail, colours and vectors of those with a profile
    only; the user's tags stay."""
    from photoseek import Library
    from photoseek.ingest import color_management, decode

    folder = tmp_path / "photos"
    _pair(folder, "ProPhoto RGB", "JPEG")
    _pair(folder, "Display P3", "HEIF")
    Image.new("RGB", SIZE, (40, 160, 60)).save(folder / "green.png")
    library = tmp_path / "lib"
    with monkeypatch.context() as old_photoseek:  # what decoding did before: no colour management
        old_photoseek.setattr(decode, "source_profile", lambda icc, mode="RGB": color_management._NONE)
        with Library(library, llm=None) as lib:
            lib.index([folder])
    with Library(library, llm=None) as lib:
        conn = lib.catalog.conn
        with lib.catalog.transaction():  # as the schema migration leaves such a library
            conn.execute("UPDATE photos SET color_profile=NULL, color_converted=NULL, color_note=NULL")
        ids = {os.path.basename(p): i for i, p in conn.execute("SELECT id, display_path FROM photos")}
        prophoto, green = ids["prophoto-p.jpg"], ids["green.png"]
        lib.tag(prophoto, add=["holiday"])
        twin_mean = mean_rgb(lib.thumbnail_path(ids["twin.jpg"]))
        assert np.abs(mean_rgb(lib.thumbnail_path(prophoto)) - twin_mean).max() > 30  # wrong before
        vectors = dict(conn.execute("SELECT photo_id, vector FROM embeddings WHERE space='joint'").fetchall())
        green_thumb = lib.thumbnail_path(green)
        green_stamp = green_thumb.stat().st_mtime_ns

        report = lib.index([folder])
        assert report.unchanged == 5 and report.annotated["color_profiles"] == 2
        for name in ("prophoto-p.jpg", "display-p.heic"):
            shown = lib.show(ids[name])
            assert shown["color_converted"] is True
            assert [t["tag"] for t in shown["tags"] if t["source"] == "color"][:1] == ["red"], name
            assert np.abs(mean_rgb(lib.thumbnail_path(ids[name])) - twin_mean).max() <= FEW_LEVELS, name
            new_vector = conn.execute("SELECT vector FROM embeddings WHERE photo_id=? AND space='joint'",
                                      (ids[name],)).fetchone()[0]  # fmt: skip
            assert new_vector != vectors[ids[name]], "re-embedded from the converted pixels"
        assert "holiday" in [t["tag"] for t in lib.show(prophoto)["tags"]]
        assert green_thumb.stat().st_mtime_ns == green_stamp  # no profile: nothing redone
        assert conn.execute("SELECT vector FROM embeddings WHERE photo_id=? AND space='joint'",
                            (green,)).fetchone()[0] == vectors[green]  # fmt: skip
        assert conn.execute("SELECT count(*) FROM photos WHERE color_profile IS NULL").fetchone()[0] == 0
        assert lib.search("red", k=5)  # the FAISS caches were brought up to date

        again = lib.index([folder])  # once: nothing to catch up any more
        assert "color profiles" not in again.stages and "color_profiles" not in again.annotated


def test_page_shows_heic_originals_in_srgb(tmp_path):
    from photoseek.web.app import _as_jpeg

    tagged, twin = _pair(tmp_path, "Display P3", "HEIF")
    shown = Image.open(io.BytesIO(_as_jpeg(str(tagged))))
    assert shown.format == "JPEG" and shown.info.get("icc_profile") is None  # untagged JPEG = sRGB
    assert np.abs(mean_rgb(shown) - mean_rgb(_scene())).max() <= FEW_LEVELS
