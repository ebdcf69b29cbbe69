"""Camera RAW and JPEG XL indexed like any photo; a RAW + JPEG of one shot shown as one photo; every
file that is not indexed counted or listed; an existing library read again by the new metadata rules
on its next index, without re-embedding. RAW files are DNGs made by tests/raw_support.py (LibRaw
reads them as a camera's); the embedder is the tiny stand-in of the indexer's bookkeeping tests."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from photoseek.ingest.camera_raw import RAW_EXTENSIONS, raw_kind
from photoseek.ingest.decode import decode_photo, read_photo_metadata, thumbnail_path
from photoseek.ingest.indexer import Indexer
from photoseek.ingest.metadata import METADATA_READER_ID
from photoseek.ingest.scan import IMAGE_EXTENSIONS, sniff_image_format
from photoseek.store.catalog import Catalog
from tests.heif_support import heic_bytes, quadrant_image
from tests.index_support import TinyEmbedder
from tests.raw_support import write_dng

RED, BLUE = (255, 0, 0), (0, 0, 255)


def _near(pixel, colour, tolerance=80) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def _scene(width=640, height=480) -> np.ndarray:
    return np.asarray(quadrant_image(width, height))


@pytest.fixture
def library(tmp_path):
    catalog = Catalog(tmp_path / "library")
    yield catalog
    catalog.close()


def _index(catalog, folder, embedder=None, annotators=()):
    embedder = embedder or TinyEmbedder()
    return Indexer(catalog, embedder, catalog.library_dir, annotators=annotators).run([folder])


# -- decoding -----------------------------------------------------------------------------------------


def test_a_dng_is_decoded_from_its_preview_when_that_is_large_enough(tmp_path):
    path = write_dng(tmp_path / "IMG_0001.dng", _scene(), preview_size=640, make="Canon", model="Canon EOS 6D",
                     taken_at="2019:06:06 07:29:51", offset="+02:00", gps=(48.8584, 2.2945))
    photo = decode_photo(path, target_size=64, thumbs_root=tmp_path / "lib")
    assert photo.format == "DNG" and (photo.width, photo.height) == (640, 480)
    assert photo.decoded_size[0] <= 320  # the JPEG preview in draft mode, not a demosaic of the sensor
    assert (photo.camera_make, photo.camera_model) == ("Canon", "Canon EOS 6D")  # its own EXIF (TIFF IFD0)
    assert photo.taken_at == "2019-06-06T07:29:51+02:00" and photo.time_zone == "Europe/Paris"
    assert photo.gps_lat == pytest.approx(48.8584, abs=1e-4)
    assert _near(photo.image.getpixel((2, 2)), RED) and photo.thumbnail.exists()


def test_a_dng_without_a_usable_preview_is_demosaiced_at_half_size(tmp_path):
    path = write_dng(tmp_path / "IMG_0002.dng", _scene(), preview_size=None)
    photo = decode_photo(path, target_size=64, work_size=160)
    assert (photo.width, photo.height) == (640, 480) and photo.decoded_size == (320, 240)  # 2x2 blocks
    assert _near(photo.image.getpixel((2, 2)), RED) and _near(photo.image.getpixel((2, photo.image.height - 3)), BLUE)
    small = decode_photo(write_dng(tmp_path / "small.dng", _scene(64, 48)), target_size=64, work_size=128)
    assert small.decoded_size == (64, 48)  # smaller than asked for: the full demosaic


def test_a_raw_turned_by_its_orientation_is_stored_upright(tmp_path):
    for name, preview in (("with_preview.dng", 640), ("without.dng", None)):
        path = write_dng(tmp_path / name, _scene(), orientation=6, preview_size=preview)
        photo = decode_photo(path, target_size=64, thumbs_root=tmp_path / "lib")
        assert (photo.orientation, photo.width, photo.height) == (6, 480, 640), name
        image = Image.open(photo.thumbnail).convert("RGB")
        assert _near(image.getpixel((image.width - 3, 2)), RED) and _near(image.getpixel((2, 2)), BLUE), name
        meta = read_photo_metadata(path)
        assert (meta.width, meta.height, meta.orientation) == (480, 640, 6)


def test_jpeg_xl_is_decoded_with_its_metadata(tmp_path):
    pytest.importorskip("pillow_jxl", reason="pillow-jxl-plugin is not installed")
    exif = Image.Exif()
    exif[0x010F] = "FUJIFILM"
    exif.get_ifd(0x8769)[0x9003] = "2024:10:12 21:01:01"
    path = tmp_path / "photo.jxl"
    quadrant_image(120, 80).save(path, "JXL", exif=exif.tobytes(), lossless=True)
    photo = decode_photo(path, target_size=32)
    assert photo.format == "JXL" and (photo.width, photo.height) == (120, 80)
    assert (photo.camera_make, photo.taken_at) == ("FUJIFILM", "2024-10-12T21:01:01")
    assert _near(photo.image.getpixel((1, 1)), RED)


def test_formats_are_known_by_their_bytes_and_names():
    assert {b".jxl", b".dng", b".nef", b".cr2", b".cr3", b".arw", b".raf", b".orf", b".rw2"} <= IMAGE_EXTENSIONS
    assert RAW_EXTENSIONS <= IMAGE_EXTENSIONS
    assert sniff_image_format(b"\xff\x0a\xfa\x7f") == "JXL"
    assert sniff_image_format(b"\x00\x00\x00\x0cJXL \r\n\x87\n\x00\x00") == "JXL"
    assert sniff_image_format(b"II*\x00\x10\x00\x00\x00CR\x02\x00") == "CR2"
    assert sniff_image_format(b"FUJIFILMCCD-RAW 0201FF383501") == "RAF"
    assert raw_kind(b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01") == "CR3"
    assert sniff_image_format(b"II*\x00\x08\x00\x00\x00") == "TIFF"  # a DNG is told by its name


# -- indexing: nothing skipped in silence ---------------------------------------------------------------


def test_raw_jxl_and_broken_raw_files_are_indexed_or_listed_with_the_reason(tmp_path, library):
    pytest.importorskip("pillow_jxl", reason="pillow-jxl-plugin is not installed")
    photos = tmp_path / "photos"
    photos.mkdir()
    write_dng(photos / "DSC_0001.dng", _scene(), preview_size=320)
    quadrant_image(64, 48).save(photos / "scan.jxl", "JXL", lossless=True)
    (photos / "DSC_0002.nef").write_bytes(b"II*\x00\x08\x00\x00\x00" + b"\x00" * 200)  # a NEF LibRaw cannot read
    (photos / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100)
    (photos / "empty.mov").write_bytes(b"")  # no photo, rather than a broken one
    report = _index(library, photos)
    assert (report.added, report.failed, report.not_photos) == (2, 1, 2)
    formats = dict(library.conn.execute("SELECT display_path, format FROM photos").fetchall())
    assert sorted(formats.values()) == ["DNG", "JXL"]
    reason = library.conn.execute("SELECT reason FROM failures").fetchone()[0]
    assert reason.startswith("camera RAW file LibRaw cannot read")
    assert "other file(s) are not photos" in report.summary()[0]


# -- RAW + JPEG of one shot -------------------------------------------------------------------------------


def _pair(folder, stem="IMG_0042", raw_time="2021:06:01 12:30:00", jpeg_time="2021:06:01 12:30:00"):
    folder.mkdir(parents=True, exist_ok=True)
    write_dng(folder / f"{stem}.dng", _scene(), preview_size=320, taken_at=raw_time)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = jpeg_time
    quadrant_image(640, 480).save(folder / f"{stem}.JPG", "JPEG", exif=exif, quality=90)


def test_raw_and_jpeg_of_one_shot_are_one_photo_and_the_jpeg_opens(tmp_path, library):
    from photoseek.library import Library

    photos = tmp_path / "photos"
    _pair(photos)
    for i in range(3):  # (a folder that lost all its photos would be kept as offline: see ingest.offline)
        quadrant_image(40 + i, 30).save(photos / f"other{i}.jpg", "JPEG")
    first = _index(library, photos)
    assert (first.added, first.paired, first.failed) == (4, 1, 0)
    (path,) = [bytes(r[0]) for r in library.conn.execute("SELECT path FROM photos WHERE display_path LIKE '%IMG_0042%'")]
    assert path.endswith(b"IMG_0042.JPG")
    with Library(library.library_dir, embedder=TinyEmbedder(), llm=None) as lib:
        shown = lib.show(path.decode())
    assert [os.path.basename(p) for p in shown["raw_files"]] == ["IMG_0042.dng"]
    again = _index(library, photos)
    assert (again.added, again.paired, again.unchanged) == (0, 0, 5)  # neither file of the pair read again
    # the JPEG goes: the RAW is the photo now
    os.remove(photos / "IMG_0042.JPG")
    after = _index(library, photos)
    assert (after.added, after.removed) == (1, 1)
    assert [os.path.basename(bytes(r[0])) for r in library.conn.execute(
        "SELECT path FROM photos WHERE display_path LIKE '%IMG_0042%'")] == [b"IMG_0042.dng"]
    assert library.conn.execute("SELECT count(*) FROM raw_companions").fetchone()[0] == 0


def test_raw_and_jpeg_of_different_shots_are_two_photos(tmp_path, library):
    photos = tmp_path / "photos"
    _pair(photos, raw_time="2021:06:01 12:30:00", jpeg_time="2021:06:01 12:31:07")
    report = _index(library, photos)
    assert (report.added, report.paired) == (2, 0)


def test_a_raw_the_user_tagged_stays_a_photo(tmp_path, library):
    photos = tmp_path / "photos"
    _pair(photos)
    os.rename(photos / "IMG_0042.JPG", tmp_path / "later.JPG")
    _index(library, photos)
    raw_id = library.conn.execute("SELECT id FROM photos").fetchone()[0]
    with library.transaction() as conn:
        conn.execute("INSERT INTO tag_feedback(photo_id, tag, verdict, at) VALUES (?, 'sunset', 1, 'now')", (raw_id,))
    os.rename(tmp_path / "later.JPG", photos / "IMG_0042.JPG")
    report = _index(library, photos)
    assert (report.added, report.paired, report.removed) == (1, 0, 0)
    assert library.conn.execute("SELECT count(*) FROM tag_feedback WHERE photo_id=?", (raw_id,)).fetchone()[0] == 1


# -- an existing library, read again by the new rules ---------------------------------------------------------


def test_an_old_library_is_read_again_once_without_re_embedding(tmp_path, library):
    photos = tmp_path / "photos"
    photos.mkdir()
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: "2022:04:24 10:35:53", 0x9011: "+02:00"})
    quadrant_image(96, 64).save(photos / "offset.jpg", "JPEG", exif=exif)
    quadrant_image(96, 64).save(photos / "IMG_20190614_153012.jpg", "JPEG")
    (photos / "iphone.heic").write_bytes(heic_bytes(quadrant_image(96, 64), _orientation_exif(6)))
    embedder = TinyEmbedder()
    _index(library, photos, embedder, annotators=("time",))
    vectors_before = dict(library.conn.execute("SELECT photo_id, vector FROM embeddings WHERE space='joint'").fetchall())
    # what an older photoseek stored: naive times from EXIF only, no sources, the HEIC sideways
    heic_id, heic_hash = library.conn.execute("SELECT id, content_hash FROM photos WHERE display_path LIKE '%heic'").fetchone()
    with library.transaction() as conn:
        conn.execute("UPDATE photos SET metadata_id=NULL, taken_at_source=NULL, utc_offset_source=NULL")
        conn.execute("UPDATE photos SET taken_at='2022-04-24T10:35:53' WHERE display_path LIKE '%offset.jpg'")
        conn.execute("UPDATE photos SET taken_at=NULL WHERE display_path LIKE '%IMG_2019%'")
        conn.execute("UPDATE photos SET width=96, height=64, orientation=1 WHERE id=?", (heic_id,))
    sideways = thumbnail_path(library.library_dir, heic_hash)
    quadrant_image(96, 64).save(sideways, "JPEG")
    calls_before = embedder.images_encoded

    report = _index(library, photos, embedder, annotators=("time",))
    assert (report.reread, report.updated, report.added) == (2, 1, 0)
    assert embedder.images_encoded - calls_before == 1  # only the HEIC, whose pixels were stored wrongly
    rows = {os.path.basename(r[0]): r[1:] for r in library.conn.execute(
        "SELECT display_path, taken_at, taken_at_source, metadata_id, width, height FROM photos")}
    assert rows["offset.jpg"][:3] == ("2022-04-24T10:35:53+02:00", "exif", METADATA_READER_ID)
    assert rows["IMG_20190614_153012.jpg"][:2] == ("2019-06-14T15:30:12", "file name")
    assert rows["iphone.heic"][3:] == (64, 96)
    vectors_after = dict(library.conn.execute("SELECT photo_id, vector FROM embeddings WHERE space='joint'").fetchall())
    assert all(vectors_after[i] == v for i, v in vectors_before.items() if i != heic_id)
    thumb = Image.open(thumbnail_path(library.library_dir, heic_hash))
    assert thumb.height > thumb.width  # the sideways thumbnail was replaced
    assert _index(library, photos, embedder).unchanged == 3  # once: the next run reads nothing


def _orientation_exif(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif


def test_the_page_shows_heic_and_raw_upright_with_how_their_time_is_known(tmp_path):
    from fastapi.testclient import TestClient

    from photoseek import Library
    from photoseek.web.app import create_app
    from photoseek.web.state import AppState

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "iphone.heic").write_bytes(heic_bytes(quadrant_image(96, 64), _orientation_exif(6)))
    write_dng(photos / "IMG_0007.dng", _scene(), orientation=6, preview_size=320, gps=(52.52, 13.405))
    quadrant_image(640, 480).save(photos / "IMG_0007.JPG", "JPEG",
                                  exif=_exif_taken("2021:06:01 12:30:00"))
    with Library(tmp_path / "lib", embedder=TinyEmbedder(), llm=None) as library:
        report = library.index([photos], annotate=False)
        assert (report.added, report.paired) == (2, 1)
        client = TestClient(create_app(AppState(library)), base_url="http://127.0.0.1:8765")
        ids = {os.path.basename(r[1]): r[0] for r in library.catalog.conn.execute("SELECT id, display_path FROM photos")}
        view = Image.open(io.BytesIO(client.get(f"/api/photos/{ids['iphone.heic']}/image").content))
        assert view.format == "JPEG" and view.height > view.width  # converted upright for the browser
        shown = client.get(f"/api/photos/{ids['IMG_0007.JPG']}").json()
        assert shown["taken_at"] == "2021-06-01T12:30:00" and shown["taken_at_source"] == "exif"
        assert [os.path.basename(p) for p in shown["raw_files"]] == ["IMG_0007.dng"]
        page = client.get(f"/photo/{ids['IMG_0007.JPG']}").text
        assert "2021-06-01 12:30:00 (time zone unknown)" in page and "IMG_0007.dng" in page


def _exif_taken(text: str) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = text
    return exif
