"""Stage-1 ingest throughput: the whole pipeline (read + hash + decode + metadata + thumbnail +
embed + commit) against the model alone on pre-decoded images; the ratio is the pipeline's
efficiency (how well decoding hides behind inference). Then the same on 12-megapixel JPEGs, and
the time to re-index an unchanged library of 10,000 photos.

    .venv/bin/python bench/ingest.py                 # all three parts
    .venv/bin/python bench/ingest.py --skip-reindex  # only the throughput parts

Goals: >= 40 img/s and >= 0.8 of model-only on COCO-size photos; >= 10 img/s on 12 MP photos;
an unchanged 10,000-photo re-index in <= 5 s. Photos come from ../shared/data/coco-captions
(the part is skipped when absent); every file the bench makes goes into a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

COCO = REPO_ROOT.parent / "shared" / "data" / "coco-captions" / "images"


def coco_photos(limit: int | None = None) -> list[Path]:
    photos = sorted(COCO.glob("*.jpg")) if COCO.is_dir() else []
    return photos[:limit] if limit else photos


def model_only_rate(embedder, paths: list[Path], batch_size: int = 32, rounds: int = 2) -> float:
    """Images per second through `encode_images` on images decoded beforehand (best of rounds)."""
    from photoseek.ingest.decode import decode_photo

    images = [decode_photo(p, target_size=embedder.preferred_size).image for p in paths]
    embedder.encode_images(images[:batch_size])  # warm-up: sessions, label vectors, allocations
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for i in range(0, len(images), batch_size):
            embedder.encode_images(images[i : i + batch_size])
        best = max(best, len(images) / (time.perf_counter() - started))
    return best


def pipeline_rate(embedder, photo_dir: Path, batch_size: int = 32, rounds: int = 2) -> tuple[float, object]:
    """Photos per second of a full first index into an empty library (best of rounds)."""
    from photoseek.store.catalog import Catalog
    from photoseek.ingest.indexer import Indexer

    best = None
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="photoseek-bench-lib-") as library:
            catalog = Catalog(library)
            report = Indexer(catalog, embedder, library, batch_size=batch_size).run([photo_dir])
            catalog.close()
        if report.failed:
            print(f"  warning: {report.failed} photos failed")
        if best is None or report.seconds < best.seconds:
            best = report
    return best.added / best.seconds, best


def make_12mp(sources: list[Path], folder: Path) -> list[Path]:
    """Upscale photos to 4000x3000 (12 MP) JPEGs, as a phone would write them."""
    from PIL import Image

    made = []
    for source in sources:
        with Image.open(source) as image:
            big = image.convert("RGB").resize((4000, 3000), Image.Resampling.BILINEAR)
        target = folder / f"12mp-{source.name}"
        big.save(target, "JPEG", quality=90)
        made.append(target)
    return made


def make_small_library(sources: list[Path], folder: Path, count: int) -> None:
    """`count` small distinct JPEGs (crops of the sources, 128x96) in folders of 500."""
    from PIL import Image

    thumbs = []
    for source in sources[:50]:
        with Image.open(source) as image:
            thumbs.append(image.convert("RGB").resize((256, 192), Image.Resampling.BILINEAR))
    for i in range(count):
        base = thumbs[i % len(thumbs)]
        step = i // len(thumbs)
        x, y = (step * 7) % 128, (step * 3) % 96
        sub = folder / f"set{i // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        base.crop((x, y, x + 128, y + 96)).save(sub / f"img{i:05d}.jpg", "JPEG", quality=85)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedder", default="conse")
    parser.add_argument("--limit", type=int, default=None, help="COCO photos to use (default: all)")
    parser.add_argument("--big", type=int, default=64, help="12 MP photos to make")
    parser.add_argument("--reindex-count", type=int, default=10_000)
    parser.add_argument("--skip-12mp", action="store_true")
    parser.add_argument("--skip-reindex", action="store_true")
    parser.add_argument("--skip-coco", action="store_true")
    args = parser.parse_args()

    from photoseek.config import cpu_threads
    from photoseek.vision import get_embedder

    photos = coco_photos(args.limit)
    if not photos:
        print(f"SKIP: {COCO} not found; the ingest bench needs the COCO evaluation photos")
        return 0
    embedder = get_embedder(args.embedder)
    print(f"embedder {embedder.id}; {os.cpu_count()} CPU cores, {cpu_threads()} inference threads; "
          f"load average {os.getloadavg()[0]:.1f} (other processes share the cores: figures are best of 2)")

    with tempfile.TemporaryDirectory(prefix="photoseek-bench-") as scratch:
        scratch = Path(scratch)
        model_rate = None
        if not args.skip_coco:
            model_rate = model_only_rate(embedder, photos)
            rate, report = pipeline_rate(embedder, COCO if args.limit is None else _copy(photos, scratch / "coco"))
            print(f"COCO ({len(photos)} photos, ~640x480): pipeline {rate:6.1f} img/s   model-only {model_rate:6.1f} img/s"
                  f"   efficiency {rate / model_rate:4.2f}   [goal >= 40 img/s, >= 0.80]   ({report.seconds:.1f} s)")

        if not args.skip_12mp:
            big_dir = scratch / "12mp"
            big_dir.mkdir()
            big = make_12mp(photos[: args.big], big_dir)
            model_big = model_only_rate(embedder, big)
            rate, report = pipeline_rate(embedder, big_dir)
            print(f"12 MP ({len(big)} photos, 4000x3000 JPEG): pipeline {rate:6.1f} img/s   model-only {model_big:6.1f} img/s"
                  f"   efficiency {rate / model_big:4.2f}   [goal >= 10 img/s]   ({report.seconds:.1f} s)")
            shutil.rmtree(big_dir)

        if not args.skip_reindex:
            reindex(embedder, photos, scratch, args.reindex_count)
    return 0


def reindex(embedder, photos: list[Path], scratch: Path, count: int) -> None:
    from photoseek.store.catalog import Catalog
    from photoseek.ingest.indexer import Indexer

    library_photos = scratch / "small"
    started = time.perf_counter()
    make_small_library(photos, library_photos, count)
    made = time.perf_counter() - started
    library = scratch / "library"
    catalog = Catalog(library)
    first = Indexer(catalog, embedder, library).run([library_photos])
    second = Indexer(catalog, embedder, library).run([library_photos])
    catalog.close()
    assert second.unchanged == first.added == count, (first, second)
    print(f"re-index unchanged library of {count} photos: {second.seconds:5.2f} s   [goal <= 5 s]   "
          f"(first index {first.seconds:.0f} s = {first.added / first.seconds:.0f} img/s; files made in {made:.0f} s)")


def _copy(photos: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for photo in photos:
        shutil.copyfile(photo, folder / photo.name)
    return folder


if __name__ == "__main__":
    sys.exit(main())
