"""Colour management cost per photo (issue 28): `decode_photo` as indexing calls it (work image,
embedder image, thumbnail) on photos saved with no profile, sRGB-tagged, Display P3, Adobe RGB,
ProPhoto and CMYK with a print profile, each beside the same decode with colour management
switched off (every profile ignored, the old behaviour), interleaved run by run so that the
machine's load hits both alike. The ratio on/off is what honouring the profile costs.

    .venv/bin/python bench/color.py                  # 12 MP and 640x480 made here + the gps photos
    .venv/bin/python bench/color.py --rounds 5 --skip-gps
    .venv/bin/python bench/color.py --reembed        # does re-embedding converted photos move results?

Goal: photos with no profile or an sRGB one within noise of "off" (ratio ~1.00: a dictionary
lookup per photo); converted photos pay one LittleCMS transform on the small work image (<= 1280
px), not on the full-size decode. Also printed: what deciding about a profile costs the first time
it is seen in a process (parse, build the transform, the sRGB test), after which it is looked up.
The gps part reads ../shared/data/gps-photos (skipped when absent); files made go to a temp folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

GPS = REPO_ROOT.parent / "shared" / "data" / "gps-photos"


def scene(size: tuple[int, int]):
    """A photo-like picture: smooth colour fields plus fine noise (JPEG sizes like a photo's)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.integers(-12, 13, base.shape[:2] + (1,), dtype=np.int16)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def make_photos(folder: Path, size: tuple[int, int], heic: bool) -> dict[str, Path]:
    """One file per kind of colour profile, the same picture in each."""
    from PIL import ImageCms

    from tests.color_support import cmyk_profile, from_srgb, profile_bytes

    picture = scene(size)
    tag = f"{size[0]}x{size[1]}"
    made = {}
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for kind, icc in [("no profile", None), ("sRGB-tagged", srgb), ("Display P3", profile_bytes("Display P3")),
                      ("Adobe RGB", profile_bytes("Adobe RGB (1998)")), ("ProPhoto", profile_bytes("ProPhoto RGB"))]:
        path = folder / f"{tag}-{kind.replace(' ', '_')}.jpg"
        image = picture if icc is None else from_srgb(picture, icc)
        image.save(path, "JPEG", quality=90, **({"icc_profile": icc} if icc else {}))
        made[kind] = path
    cmyk = folder / f"{tag}-cmyk.jpg"
    picture.convert("CMYK").save(cmyk, "JPEG", quality=90, icc_profile=cmyk_profile())
    made["CMYK + profile"] = cmyk
    if heic:
        from photoseek.ingest.decode import _register_heif

        _register_heif()
        for kind, icc in [("HEIC no profile", None), ("HEIC Display P3", profile_bytes("Display P3"))]:
            path = folder / f"{tag}-{kind.replace(' ', '_')}.heic"
            image = picture if icc is None else from_srgb(picture, icc)
            image.save(path, quality=80, **({"icc_profile": icc} if icc else {}))
            made[kind] = path
    return made


class ColourManagement:
    """Switch profiles off (the old decode) and on again."""

    def __init__(self) -> None:
        from photoseek.ingest import color_management, decode

        self.decode, self.none = decode, color_management._NONE
        self.real = decode.source_profile

    def off(self) -> None:
        self.decode.source_profile = lambda icc, mode="RGB": self.none

    def on(self) -> None:
        self.decode.source_profile = self.real


def decode_ms(path: Path, library: Path) -> float:
    from photoseek.ingest.decode import decode_photo
    from photoseek.ingest.pipeline import WORK_LONG_SIDE

    started = time.perf_counter()
    decode_photo(path, target_size=224, thumbs_root=library / str(time.perf_counter_ns()), work_size=WORK_LONG_SIDE)
    return (time.perf_counter() - started) * 1000


def compare(files: dict[str, Path], rounds: int, library: Path, switch: ColourManagement) -> list[tuple]:
    """Per kind: best and median ms with colour management on and off. On and off alternate, in
    turns (on-off, off-on, ...), after one warm-up of each: best-of is the figure a shared machine
    disturbs least."""
    rows = []
    for kind, path in files.items():
        times = {"on": [], "off": []}
        for round_ in range(rounds + 1):
            for state in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                getattr(switch, state)()
                times[state].append(decode_ms(path, library))
        switch.on()
        on, off = times["on"][1:], times["off"][1:]
        rows.append((kind, min(on), min(off), statistics.median(on), statistics.median(off)))
    return rows


def print_table(title: str, rows: list[tuple]) -> None:
    print(f"\n{title}")
    print(f"  {'photo':<24} {'best on':>8} {'best off':>8} {'on/off':>7}   {'median on':>9} {'median off':>10} {'on/off':>7}")
    for kind, on, off, median_on, median_off in rows:
        print(f"  {kind:<24} {on:8.1f} {off:8.1f} {on / off:7.2f}   {median_on:9.1f} {median_off:10.1f} "
              f"{median_on / median_off:7.2f}")


def first_sight(files: dict[str, Path]) -> None:
    """What deciding about each profile costs the first time (then it is a lookup)."""
    from PIL import Image

    from photoseek.ingest import color_management as cm

    print("\nfirst sight of a profile (parse + build the transform + sRGB test), then a lookup:")
    seen = set()
    for kind, path in files.items():
        with Image.open(path) as image:
            icc, mode = cm.embedded_profile(image), "CMYK" if image.mode == "CMYK" else "RGB"
        if not icc or icc in seen:
            continue
        seen.add(icc)
        started = time.perf_counter()
        cm._decide(icc, mode)
        first = (time.perf_counter() - started) * 1000
        cm.source_profile(icc, mode)
        started = time.perf_counter()
        for _ in range(1000):
            cm.source_profile(bytes(icc), mode)  # a new bytes object each photo, as decoding gives
        lookup = (time.perf_counter() - started) * 1000  # ms per 1000 = us each
        print(f"  {kind:<24} first {first:6.1f} ms, then {lookup:5.1f} us ({len(icc)} bytes)")


def gps_classes() -> dict[str, list[Path]]:
    from photoseek.ingest.decode import read_color_profile

    classes: dict[str, list[Path]] = {}
    for path in sorted(GPS.iterdir()):
        info = read_color_profile(path)
        if info is None:
            continue
        kind = "none" if not info.name else (f"{info.name} (converted)" if info.converted else "sRGB-tagged")
        classes.setdefault(kind, []).append(path)
    return classes


QUERIES = ["elephant", "zebra", "ladybug", "ferris wheel", "ocean", "sunset", "chameleon", "church", "office",
           "no pets sign", "beach", "red", "blue sky", "grass", "cat", "building", "car", "night", "city", "water",
           "animal", "insect", "sea", "sky", "orange", "green", "yellow", "meerkat", "bridge", "mountain"]


def reembed_effect(tmp: Path) -> None:
    """Does re-embedding the converted photos change search results? The gps photos indexed as an
    older photoseek did (profiles ignored), then caught up twice: keeping the vectors, and
    re-embedding (what color_catchup does); the two compared on QUERIES (top 10 each)."""
    import shutil

    import numpy as np

    from photoseek import Library
    from photoseek.ingest.color_catchup import catch_up_color_profiles

    switch, old = ColourManagement(), tmp / "old"
    switch.off()
    try:
        with Library(old, llm=None) as lib:
            lib.index([GPS])
    finally:
        switch.on()
    with Library(old, llm=None) as lib, lib.catalog.transaction() as conn:  # as the migration leaves it
        conn.execute("UPDATE photos SET color_profile=NULL, color_converted=NULL, color_note=NULL")
    libraries = {}
    for name, reembed in (("kept", False), ("re-embedded", True)):
        shutil.copytree(old, tmp / name)
        libraries[name] = Library(tmp / name, llm=None)
        lib = libraries[name]
        done = catch_up_color_profiles(lib.catalog, lib.path, lib.embedder if reembed else None)
        print(f"  catch-up, vectors {name}: {done.converted} of {done.checked} photos converted in {done.seconds:.1f} s")

    def rows(lib, sql):
        return dict(lib.catalog.conn.execute(sql).fetchall())

    converted = [r[0] for r in libraries["kept"].catalog.conn.execute("SELECT id FROM photos WHERE color_converted=1")]
    joint = "SELECT photo_id, vector FROM embeddings WHERE space='joint'"
    before, after = rows(libraries["kept"], joint), rows(libraries["re-embedded"], joint)
    cosines = []
    for i in converted:
        a, b = np.frombuffer(before[i], np.float32), np.frombuffer(after[i], np.float32)
        cosines.append(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    tags = ("SELECT photo_id, group_concat(tag) FROM (SELECT photo_id, tag FROM tags WHERE source='classifier' "
            "AND broader=0 ORDER BY photo_id, confidence DESC) GROUP BY photo_id")
    tags_before, tags_after = rows(libraries["kept"], tags), rows(libraries["re-embedded"], tags)
    changed_tags = sum(tags_before.get(i) != tags_after.get(i) for i in converted)
    top1 = top5 = top10 = moved = 0
    for query in QUERIES:
        a = [r.id for r in libraries["kept"].search(query, k=10)]
        b = [r.id for r in libraries["re-embedded"].search(query, k=10)]
        top1 += a[:1] == b[:1]
        top5 += a[:5] == b[:5]
        top10 += set(a) == set(b)
        moved += a != b
    print(f"  joint vectors of the {len(converted)} converted photos, kept vs re-embedded: cosine min "
          f"{min(cosines):.4f}, mean {np.mean(cosines):.4f}; classifier tags changed for {changed_tags}")
    print(f"  {len(QUERIES)} queries: same rank 1 {top1}, identical top 5 {top5}, same top-10 set {top10}, "
          f"any change in the top 10 {moved}")
    for lib in libraries.values():
        lib.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-gps", action="store_true")
    parser.add_argument("--reembed", action="store_true",
                        help="only: does re-embedding converted photos change search results (gps photos)")
    args = parser.parse_args()
    if args.reembed:
        if not GPS.is_dir():
            sys.exit(f"{GPS} is not present")
        with tempfile.TemporaryDirectory(prefix="photoseek-color-bench-") as tmp:
            print("re-embedding after the colour catch-up, gps photos:")
            reembed_effect(Path(tmp))
        return
    switch = ColourManagement()
    with tempfile.TemporaryDirectory(prefix="photoseek-color-bench-") as tmp:
        tmp = Path(tmp)
        library = tmp / "lib"
        big = make_photos(tmp, (4032, 3024), heic=True)
        small = make_photos(tmp, (640, 480), heic=False)
        first_sight(big)
        print_table("12 MP (4032x3024) JPEG q90 / HEIC q80, decode_photo as indexing calls it:",
                    compare(big, args.rounds, library, switch))
        print_table("640x480 JPEG q90 (COCO size):", compare(small, args.rounds, library, switch))
        if not args.skip_gps and GPS.is_dir():
            print(f"\n{GPS.name}: ms per photo, summed over each class (best of rounds per photo)")
            print(f"  {'class':<36} {'photos':>6} {'on ms':>8} {'off ms':>8} {'on/off':>7}")
            for kind, paths in gps_classes().items():
                rows = compare({p.name: p for p in paths}, max(2, args.rounds // 2), library, switch)
                on, off = sum(r[1] for r in rows), sum(r[2] for r in rows)
                print(f"  {kind:<36} {len(paths):>6} {on / len(rows):8.1f} {off / len(rows):8.1f} {on / off:7.2f}")


if __name__ == "__main__":
    main()
