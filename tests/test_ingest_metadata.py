"""Metadata as cameras, phones and editors write it (photoseek.ingest.metadata): orientation from every
source applied once, text fields, capture times with their UTC offsets, dates in file names, and what
the time of day and the date filters make of them."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from PIL import Image

from photoseek.ingest.decode import decode_photo, read_photo_metadata, upright_image
from photoseek.ingest.metadata import (
    clean_text,
    date_from_file_name,
    describe_taken_at,
    heif_transforms,
    orientation_of_transforms,
    parse_offset,
    read_metadata,
)
from photoseek.vision.daytime import time_from_sun
from tests.heif_support import heic_bytes, quadrant_image, with_irot

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _near(pixel, colour, tolerance=70) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def _corners(image: Image.Image):
    rgb = image.convert("RGB")
    w, h = rgb.size
    return rgb.getpixel((2, 2)), rgb.getpixel((w - 3, 2)), rgb.getpixel((2, h - 3))


def _jpeg(path, *, exif: Image.Exif | None = None, xmp: bytes | None = None, size=(64, 48)):
    image = quadrant_image(*size)
    kwargs = {"quality": 95}
    if exif is not None:
        kwargs["exif"] = exif
    if xmp is not None:
        kwargs["xmp"] = xmp
    image.save(path, "JPEG", **kwargs)
    return path


def _exif(**sub) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in sub.pop("ifd0", {}).items():
        exif[tag] = value
    exif.get_ifd(0x8769).update(sub.pop("exif", {}))
    gps = sub.pop("gps", {})
    if gps:
        exif.get_ifd(0x8825).update(gps)
    return exif


def _xmp(**properties) -> bytes:
    attributes = " ".join(f'{name}="{value}"' for name, value in properties.items())
    return (
        "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>"
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' "
        "xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmlns:exif='http://ns.adobe.com/exif/1.0/' "
        "xmlns:tiff='http://ns.adobe.com/tiff/1.0/' xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/' "
        f"{attributes}/></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
    ).encode("utf-8")


# -- orientation: every source, applied once ---------------------------------------------------------


def test_iphone_heic_with_exif_orientation_and_no_rotation_box_is_stored_upright(tmp_path):
    # iPhone 7 (iOS 11): pixels stored sideways, EXIF orientation 6, no irot box; pillow-heif rewrites
    # the tag to 1 and keeps the real one in info["original_orientation"]
    path = tmp_path / "IMG_0001.heic"
    path.write_bytes(heic_bytes(quadrant_image(64, 48), _exif(ifd0={0x0112: 6})))
    photo = decode_photo(path, target_size=32, work_size=64, thumbs_root=tmp_path / "lib")
    assert photo.orientation == 6 and photo.transpose == 6
    assert (photo.width, photo.height) == (48, 64)  # portrait, as the phone was held
    for image in (photo.image, photo.pixels, Image.open(photo.thumbnail)):
        top_left, top_right, bottom_left = _corners(image)
        # turned 90° clockwise: the blue bottom half is now on the left, red at the top right
        assert _near(top_left, BLUE) and _near(top_right, RED) and _near(bottom_left, BLUE)
    assert (read_photo_metadata(path).width, read_photo_metadata(path).height) == (48, 64)


def test_heic_rotation_box_is_applied_by_libheif_and_not_again(tmp_path):
    # iOS 12+: irot box AND the EXIF tag; libheif turns the pixels, the tag is then informative only
    path = tmp_path / "IMG_0002.heic"
    path.write_bytes(with_irot(heic_bytes(quadrant_image(64, 48), _exif(ifd0={0x0112: 8})), 1))
    assert heif_transforms(path.read_bytes()) == (("irot", 1),)
    photo = decode_photo(path, target_size=32)
    assert photo.orientation == 8 and photo.transpose == 1  # what the file stores; nothing left to do
    assert (photo.width, photo.height) == (48, 64)
    top_left, top_right, bottom_left = _corners(photo.image)
    # a quarter turn anticlockwise (irot 1): green (top right) at the top left, red at the bottom left
    assert _near(top_left, GREEN) and _near(top_right, BLUE) and _near(bottom_left, RED)


def test_heic_without_exif_orientation_reports_its_rotation_box(tmp_path):
    path = tmp_path / "box_only.heic"
    path.write_bytes(with_irot(heic_bytes(quadrant_image(64, 48)), 3))
    photo = decode_photo(path, target_size=32)
    assert photo.orientation == 6 and photo.transpose == 1 and (photo.width, photo.height) == (48, 64)


def test_heic_whose_pixels_are_already_turned_is_not_turned_twice(tmp_path):
    # Samsung One UI: 3000x4000 pixels, EXIF pixel size 4000x3000 and orientation 6, no irot box
    exif = _exif(ifd0={0x0112: 6}, exif={0xA002: 64, 0xA003: 48})
    path = tmp_path / "samsung.heic"
    path.write_bytes(heic_bytes(quadrant_image(48, 64), exif))
    photo = decode_photo(path, target_size=32)
    assert photo.orientation == 6 and photo.transpose == 1 and (photo.width, photo.height) == (48, 64)


def test_orientation_from_xmp_when_there_is_no_exif_tag(tmp_path):
    path = _jpeg(tmp_path / "xmp_only.jpg", xmp=_xmp(**{"tiff:Orientation": 6}))
    photo = decode_photo(path, target_size=32)
    assert (photo.orientation, photo.transpose, photo.width, photo.height) == (6, 6, 48, 64)
    assert _near(_corners(photo.image)[0], BLUE)


def test_the_viewer_path_turns_photos_as_indexing_does(tmp_path):
    path = tmp_path / "view.heic"
    path.write_bytes(heic_bytes(quadrant_image(64, 48), _exif(ifd0={0x0112: 6})))
    view = upright_image(path, 40)
    assert view.size[1] > view.size[0] and _near(_corners(view)[1], RED)  # the web page and contact sheets


@pytest.mark.parametrize(
    "transforms, orientation",
    [((), None), ((("irot", 1),), 8), ((("irot", 2),), 3), ((("irot", 3),), 6), ((("imir", 1),), 2),
     ((("imir", 0),), 4), ((("irot", 1), ("imir", 1)), 7)],
)
def test_heif_boxes_map_to_the_exif_orientation_that_means_the_same(transforms, orientation):
    assert orientation_of_transforms(transforms) == orientation


def test_a_broken_heif_box_structure_costs_the_boxes_not_the_photo():
    with pytest.raises(ValueError):
        heif_transforms(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x10\x00meta\x00\x00\x00\x00")


# -- text fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("GoPro\x00üÍxÀ\x13 HU\x10À", "GoPro"),  # a fixed-size field: the name, a NUL, then junk
        (b"HD2\x00\x04\x03p\xd83", "HD2"),
        ("SAMSUNG            ", "SAMSUNG"),
        ("  NIKON   CORPORATION ", "NIKON CORPORATION"),
        ("CanÃ³n", "Canón"),  # UTF-8 that Pillow read as Latin-1
        (b"Leica Camera AG", "Leica Camera AG"),
        (b"\xe4\xbd\xb3\xe8\x83\xbd", "佳能"),
        (b"Caf\xe9", "Café"),  # Latin-1 bytes that are no UTF-8
        ("\x00\x00\x00", None),
        ("   ", None),
        ("\x13\x10À", None),  # control characters: junk, not shown
        ("----", None),
        ("Unknown", None),
        (None, None),
    ],
)
def test_text_fields_are_cut_trimmed_decoded_and_junk_dropped(raw, expected):
    assert clean_text(raw) == expected


# -- capture time and its UTC offset ----------------------------------------------------------------


def _taken(tmp_path, name="photo.jpg", **kwargs):
    path = _jpeg(tmp_path / name, **kwargs)
    return decode_photo(path, target_size=32)


def test_offset_time_original_and_sub_seconds(tmp_path):
    photo = _taken(tmp_path, exif=_exif(exif={0x9003: "2019:05:12 17:13:53", 0x9011: "+02:00", 0x9291: "955677"}))
    assert photo.taken_at == "2019-05-12T17:13:53.955+02:00"
    assert (photo.taken_at_source, photo.utc_offset_source) == ("exif", "exif")


def test_offset_time_serves_when_the_original_offset_is_missing(tmp_path):
    photo = _taken(tmp_path, exif=_exif(exif={0x9003: "2019:06:06 07:29:51", 0x9010: "-05:30"}))
    assert photo.taken_at == "2019-06-06T07:29:51-05:30"


def test_the_gps_clock_gives_the_offset_when_the_camera_wrote_none(tmp_path):
    # local 10:35:53, GPS 08:35:46 UTC: +02:00 (to the quarter hour; no position needed)
    gps = {7: (8.0, 35.0, 46.0), 29: "2022:04:24"}
    photo = _taken(tmp_path, exif=_exif(exif={0x9003: "2022:04:24 10:35:53"}, gps=gps))
    assert photo.taken_at == "2022-04-24T10:35:53+02:00" and photo.utc_offset_source == "gps clock"


def test_a_camera_clock_on_home_time_abroad_is_shown_at_the_place_s_time(tmp_path):
    # PhotoPrism's ferriswheel_colorful.jpg: 03:11 on a clock kept at +02:00, GPS 01:11 UTC, Santa Monica
    gps = {1: "N", 2: (34.0, 0.0, 29.3), 3: "W", 4: (118.0, 29.0, 53.3), 7: (1.0, 11.0, 0.0), 29: "2015:02:12"}
    photo = _taken(tmp_path, exif=_exif(exif={0x9003: "2015:02:12 03:11:00"}, gps=gps))
    assert photo.taken_at == "2015-02-11T17:11:00-08:00"  # the afternoon before, where it was taken
    assert (photo.utc_offset_source, photo.time_zone) == ("gps clock", "America/Los_Angeles")
    assert time_from_sun(photo.taken_at, photo.gps_lat, photo.gps_lon).label == "day"  # not "night" at 03:11
    # an offset the file states (phones write their network's zone) is kept as written
    stated = _taken(tmp_path, "stated.jpg", exif=_exif(exif={0x9003: "2015:02:12 03:11:00", 0x9011: "+02:00"}, gps=gps))
    assert stated.taken_at == "2015-02-12T03:11:00+02:00"


def test_a_gps_clock_far_from_a_quarter_hour_gives_no_offset_and_the_position_is_the_guess(tmp_path):
    # an old fix (7 minutes off a quarter hour): no offset from it; Madrid in summer is +02:00
    gps = {1: "N", 2: (40.0, 25.0, 0.0), 3: "W", 4: (3.0, 42.0, 0.0), 7: (19.0, 23.0, 0.0), 29: "2021:06:21"}
    photo = _taken(tmp_path, exif=_exif(exif={0x9003: "2021:06:21 21:30:00"}, gps=gps))
    assert photo.taken_at == "2021-06-21T21:30:00+02:00"
    assert (photo.utc_offset_source, photo.time_zone) == ("position", "Europe/Madrid")


def test_no_offset_and_no_place_leaves_the_wall_clock_time_alone(tmp_path):
    photo = _taken(tmp_path, exif=_exif(exif={0x9003: "2012:08:05 11:39:59"}))
    assert photo.taken_at == "2012-08-05T11:39:59" and photo.utc_offset_source is None


def test_an_edit_time_is_never_the_capture_time_but_xmp_create_date_is(tmp_path):
    # aurora.jpg (PhotoPrism): Photoshop's DateTime and ModifyDate say 10-29, the XMP CreateDate 10-27
    xmp = _xmp(**{"xmp:CreateDate": "2021-10-27T10:43:46+02:00", "xmp:ModifyDate": "2021-10-29T13:42+02:00"})
    photo = _taken(tmp_path, exif=_exif(ifd0={0x0132: "2021:10:29 13:42:00"}), xmp=xmp)
    assert photo.taken_at == "2021-10-27T10:43:46+02:00"
    assert (photo.taken_at_source, photo.utc_offset_source) == ("xmp", "xmp")
    only_edit_time = _taken(tmp_path, "edited.jpg", exif=_exif(ifd0={0x0132: "2021:10:29 13:42:00"}))
    assert only_edit_time.taken_at is None


def test_date_priority_as_immich_tests_it(tmp_path):
    # DateTimeOriginal > XMP DateTimeOriginal / photoshop:DateCreated > DateTimeDigitized > xmp:CreateDate > GPS
    gps = {7: (10.0, 0.0, 0.0), 29: "2023:10:10"}
    all_of_them = _taken(tmp_path, "a.jpg", exif=_exif(exif={0x9003: "2023:04:04 04:00:00", 0x9004: "2023:05:05 05:00:00"},
                                                       gps=gps), xmp=_xmp(**{"xmp:CreateDate": "2023-07-07T07:00:00"}))
    assert all_of_them.taken_at[:19] == "2023-04-04T04:00:00"
    digitized = _taken(tmp_path, "b.jpg", exif=_exif(exif={0x9004: "2023:05:05 05:00:00"}, gps=gps),
                       xmp=_xmp(**{"xmp:CreateDate": "2023-07-07T07:00:00"}))
    assert digitized.taken_at[:19] == "2023-05-05T05:00:00"
    photoshop = _taken(tmp_path, "c.jpg", xmp=_xmp(**{"photoshop:DateCreated": "2023-06-06T06:00:00-04:00",
                                                       "xmp:CreateDate": "2023-07-07T07:00:00"}))
    assert photoshop.taken_at == "2023-06-06T06:00:00-04:00"
    gps_only = _taken(tmp_path, "d.jpg", exif=_exif(ifd0={0x010F: "SONY"}, gps=gps))
    assert gps_only.taken_at == "2023-10-10T10:00:00+00:00" and gps_only.taken_at_source == "gps"


def test_placeholder_and_impossible_dates_are_no_dates(tmp_path):
    for i, text in enumerate(["0000:00:00 00:00:00", "    :  :     :  :  ", "2019:02:30 10:00:00", "9999:01:01 00:00:00"]):
        assert _taken(tmp_path, f"p{i}.jpg", exif=_exif(exif={0x9003: text})).taken_at is None


@pytest.mark.parametrize(
    "name, expected, has_time",
    [
        ("IMG_20190614_153012.jpg", "2019-06-14T15:30:12", True),
        ("VID_20190614_153012.mp4", "2019-06-14T15:30:12", True),
        ("PXL_20210512_153012345.jpg", "2021-05-12T15:30:12", True),
        ("PXL_20210512_153012345.MP.jpg", "2021-05-12T15:30:12", True),
        ("20190614_153012.jpg", "2019-06-14T15:30:12", True),
        ("Screenshot_2020-01-30-09-57-18.png", "2020-01-30T09:57:18", True),
        ("Screenshot_20200130-095718.png", "2020-01-30T09:57:18", True),
        ("Screenshot 2019-05-21 at 10.45.52.png", "2019-05-21T10:45:52", True),
        ("telegram_2020-01-30_09-57-18.jpg", "2020-01-30T09:57:18", True),
        ("2018-04-12 19_24_49.jpg", "2018-04-12T19:24:49", True),
        ("signal-2020-01-30-095718.jpg", "2020-01-30T09:57:18", True),
        ("IMG-20190614-WA0001.jpg", "2019-06-14T00:00:00", False),  # WhatsApp: the day only
        ("holiday 2019-06-14.jpg", "2019-06-14T00:00:00", False),
        ("IMG_1234.JPG", None, None),
        ("DSC01234.jpg", None, None),
        ("12345678_123456.jpg", None, None),  # not a date
        ("IMG_20191332_101010.jpg", None, None),  # month 13
        ("19850614_101010.jpg", None, None),  # before digital photos: a number
    ],
)
def test_dates_in_file_names(name, expected, has_time):
    found = date_from_file_name(name)
    if expected is None:
        assert found is None
    else:
        assert found == (datetime.fromisoformat(expected), has_time)


def test_a_file_without_dates_takes_the_one_in_its_name_and_says_so(tmp_path):
    photo = _taken(tmp_path, "telegram_2020-01-30_09-57-18.jpg")
    assert (photo.taken_at, photo.taken_at_source, photo.utc_offset_source) == ("2020-01-30T09:57:18", "file name", None)
    whatsapp = _taken(tmp_path, "IMG-20190614-WA0001.jpg")
    assert whatsapp.taken_at == "2019-06-14"  # a date without a time: no invented midnight
    assert time_from_sun(whatsapp.taken_at, 48.0, 2.0) is None  # and no sun position from it
    exif_wins = _taken(tmp_path, "IMG_20190614_153012.jpg", exif=_exif(exif={0x9003: "2019:06:15 08:00:00"}))
    assert exif_wins.taken_at == "2019-06-15T08:00:00" and exif_wins.taken_at_source == "exif"


@pytest.mark.parametrize("text, minutes", [("+02:00", 120), ("-0530", -330), ("Z", 0), ("+14:00", 840),
                                            ("+15:00", None), ("02:00", None), ("", None)])
def test_offsets(text, minutes):
    expected = None if minutes is None else timedelta(minutes=minutes)
    assert parse_offset(text) == expected


def test_time_of_day_uses_the_true_utc_time_when_the_offset_is_known():
    # Madrid, 21 June, 21:30 on the clock: the sun sets at 21:48 CEST (UTC+2). Solar time from the
    # longitude (-3.7° ≈ UTC+0) would put the moment two hours later, at night.
    known = time_from_sun("2021-06-21T21:30:00+02:00", 40.4168, -3.7038)
    guessed_from_longitude = time_from_sun("2021-06-21T21:30:00", 40.4168, -3.7038)
    assert known.label == "day" and guessed_from_longitude.label == "night"


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_read_metadata_survives_an_image_with_broken_parts():
    image = quadrant_image()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", xmp=b"<x:xmpmeta><rdf:RDF>not xml", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff")
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        meta = read_metadata(opened, path="nothing.jpg")
    assert meta.taken_at is None and meta.orientation is None and meta.transpose == 1


def test_date_filters_compare_the_local_date_whatever_the_offset(tmp_path):
    from photoseek.results import Filters
    from photoseek.search.filters import filter_photo_ids
    from photoseek.store.catalog import Catalog

    catalog = Catalog(tmp_path / "lib")
    with catalog.transaction() as conn:
        for i, taken in enumerate(["2019-06-30T23:30:00-05:00", "2019-07-01T00:30:00+14:00", "2019-06-30", None]):
            conn.execute("INSERT INTO photos(path, display_path, size, mtime_ns, content_hash, taken_at, indexed_at)"
                         " VALUES (?, ?, 1, 1, 'h', ?, 'now')", (f"/p{i}".encode(), f"/p{i}", taken))
    june = filter_photo_ids(catalog, Filters(date_from="2019-06-30", date_to="2019-06-30"))
    july = filter_photo_ids(catalog, Filters(date_from="2019-07"))
    catalog.close()
    assert june == {1, 3} and july == {2}  # each photo on the day its own clock showed


@pytest.mark.parametrize(
    "fields, said",
    [
        (("2018-09-10T12:16:13.023+09:00", "exif", "position", "Asia/Tokyo"),
         "2018-09-10 12:16:13 (UTC+09:00, guessed from the place: Asia/Tokyo)"),
        (("2015-02-11T17:11:00-08:00", "exif", "gps clock", "America/Los_Angeles"),
         "2015-02-11 17:11:00 (UTC−08:00, America/Los_Angeles; from the GPS clock)"),
        (("2019-05-12T17:13:53.955+02:00", "exif", "exif", None), "2019-05-12 17:13:53 (UTC+02:00)"),
        (("2020-01-30T09:57:18", "file name", None, None), "2020-01-30 09:57:18 (time zone unknown; from the file name)"),
        (("2019-06-14", "file name", None, None), "2019-06-14 (from the file name)"),
        ((None, None, None, None), "unknown date"),
    ],
)
def test_how_a_capture_time_is_known_is_said_in_words(fields, said):
    assert describe_taken_at(*fields) == said
