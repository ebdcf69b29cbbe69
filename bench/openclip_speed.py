"""open_clip through photoseek at a real model size: indexing images/s and warm text-query ms.

No pretrained weights can be downloaded here, so the models are open_clip architectures with random
weights (speed does not depend on the weights' values). For each architecture: a checkpoint is
saved, N COCO photos (../shared/data/coco-captions) are indexed into a fresh library with
`Library.index(annotate=False)` (decode, thumbnail, embed, store), then
  - images/s of the whole index run, and of the model alone (`encode_images` on decoded photos);
  - warm text query p50 through `Library.search` (text embedding + hybrid search), and the text
    encoder alone (`embed_texts`, one query).
The first architecture is the baseline; the others are printed as ratios to it, since absolute
figures on a shared machine are noisy.

    .venv-openclip/bin/python bench/openclip_speed.py                      # ViT-B-32, then ViT-B-16
    .venv-openclip/bin/python bench/openclip_speed.py --archs ViT-B-32 --photos 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COCO = ROOT.parent / "shared" / "data" / "coco-captions" / "images"
QUERIES = ["a dog on a beach", "people at a table", "a red bus", "a cat on a sofa", "snow on mountains",
           "a kitchen", "a man riding a horse", "traffic lights at night", "a plate of food", "a boat"]


def measure(arch: str, photos: list[Path], workdir: Path) -> dict[str, float]:
    import open_clip
    import torch
    from PIL import Image

    from photoseek import Library

    torch.manual_seed(0)
    checkpoint = workdir / f"{arch}.pt"
    torch.save(open_clip.create_model(arch).state_dict(), checkpoint)
    folder = workdir / "photos"
    if not folder.exists():
        folder.mkdir()
        for photo in photos:
            (folder / photo.name).symlink_to(photo)
    library = Library(workdir / f"lib-{arch}", embedder=f"open_clip:{arch}:{checkpoint}", llm=None)
    library.embedder.ensure_loaded()  # model load is reported apart from throughput
    started = time.perf_counter()
    report = library.index([folder], annotate=False)
    index_s = time.perf_counter() - started

    images = [Image.open(p).convert("RGB") for p in photos[:64]]
    library.embedder.encode_images(images[:4])
    started = time.perf_counter()
    library.embedder.encode_images(images)
    model_ips = len(images) / (time.perf_counter() - started)

    library.search(QUERIES[0], k=10)  # warm: FAISS index and caches loaded
    search_ms, encode_ms = [], []
    for query in QUERIES * 2:
        started = time.perf_counter()
        library.search(query, k=10)
        search_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        library.embedder.embed_texts([query])
        encode_ms.append((time.perf_counter() - started) * 1000)
    library.close()
    return {"photos": report.added, "index_images_per_s": report.added / index_s, "model_images_per_s": model_ips,
            "query_ms_p50": statistics.median(search_ms), "text_encode_ms_p50": statistics.median(encode_ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["ViT-B-32", "ViT-B-16"])
    parser.add_argument("--photos", type=int, default=100)
    args = parser.parse_args()
    import torch

    from photoseek.config import cpu_threads

    photos = sorted(COCO.iterdir())[: args.photos]
    print(f"torch {torch.__version__}, {cpu_threads()} threads, {len(photos)} COCO photos (~500x375)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.archs:
            rows.append((arch, measure(arch, photos, Path(tmp))))
    base = rows[0][1]
    print(f"{'arch':<12} {'index img/s':>12} {'model img/s':>12} {'query p50 ms':>13} {'text enc ms':>12}")
    for arch, r in rows:
        ratio = "" if r is base else (f"  (x{r['index_images_per_s'] / base['index_images_per_s']:.2f} img/s, "
                                      f"x{r['query_ms_p50'] / base['query_ms_p50']:.2f} query ms vs {rows[0][0]})")
        print(f"{arch:<12} {r['index_images_per_s']:>12.1f} {r['model_images_per_s']:>12.1f} "
              f"{r['query_ms_p50']:>13.1f} {r['text_encode_ms_p50']:>12.1f}{ratio}")


if __name__ == "__main__":
    main()
