"""Helpers for the tests/test_index_*.py files: photo makers and a tiny embedder.

TinyEmbedder is a deterministic stand-in used ONLY by fast unit tests of the indexer's bookkeeping
(mark-and-sweep, moves, failures, locking), where what matters is which photos get embedded, not
what the vectors mean. Every end-to-end indexing test uses the real "conse" embedder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from photoseek.vision.base import Embedder, ImageEncoding


class TinyEmbedder(Embedder):
    dim = 8
    visual_dim = 4
    preferred_size = 64

    def __init__(self, model_id: str = "tiny:v1", visual: bool = True) -> None:
        super().__init__()
        self.id = model_id
        if not visual:
            self.visual_dim = 0
        self.calls: list[int] = []  # number of images per encode_images call

    @property
    def images_encoded(self) -> int:
        return sum(self.calls)

    def _load(self) -> None:
        pass

    def encode_images(self, images: Sequence[Image.Image]) -> ImageEncoding:
        self.calls.append(len(images))
        joint, visual = [], []
        for image in images:
            small = np.asarray(image.convert("RGB").resize((2, 2), Image.Resampling.BILINEAR), np.float32) / 255
            grey = small.mean(axis=2).ravel()
            joint.append(np.concatenate([grey, small.reshape(-1, 3).mean(axis=0), [0.1]]))
            visual.append(grey + 0.01)
        return ImageEncoding(
            joint=_normalise(np.array(joint, np.float32)),
            visual=_normalise(np.array(visual, np.float32)) if self.visual_dim else None,
            labels=[[(1, 0.9), (2, 0.05)] for _ in images],
        )

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[: self.dim], np.uint8) for t in texts]
        return _normalise(np.array(rows, np.float32))


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def make_photo(path: str | os.PathLike | bytes, size=(96, 64), color=(200, 30, 30), fmt="JPEG", **save_args) -> bytes:
    """A small image with a colour gradient (so different colours give different vectors)."""
    width, height = size
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    base = np.array(color, np.float32)[None, None, :]
    pixels = np.clip(base * (0.6 + 0.4 * x) + 40 * y, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if fmt == "GIF":
        image = image.convert("P")
    path_bytes = os.fsencode(path)
    os.makedirs(os.path.dirname(path_bytes), exist_ok=True)
    with open(path_bytes, "wb") as handle:
        image.save(handle, fmt, **save_args)
    return path_bytes


def colors(n: int) -> list[tuple[int, int, int]]:
    """n clearly different colours."""
    rng = np.random.default_rng(7)
    return [tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(n)]


def photo_ids(catalog) -> dict[str, int]:
    return {r["display_path"]: r["id"] for r in catalog.conn.execute("SELECT id, display_path FROM photos")}


def failures(catalog) -> dict[str, str]:
    return {r["display_path"]: r["reason"] for r in catalog.conn.execute("SELECT display_path, reason FROM failures")}


def embedding_ids(catalog, space="joint") -> set[int]:
    return {r[0] for r in catalog.conn.execute("SELECT photo_id FROM embeddings WHERE space=?", (space,))}


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# -- real photos (the evaluation set in ../shared/data) -----------------------------------------------------

# Photos whose five captions all name one thing the ImageNet classifier knows, then ordinary ones.
COCO_ZEBRA = "000000011760.jpg"
COCO_PIZZA = "000000012576.jpg"
COCO_ELEPHANT = "000000006894.jpg"
COCO_TRAIN = "000000001353.jpg"
COCO_DOG = "000000022192.jpg"


def coco_files(n: int) -> list[Path]:
    """The named photos first, then others in name order: n paths into the shared data."""
    from tests.conftest import shared_data

    folder = shared_data("coco-captions") / "images"
    named = [COCO_ZEBRA, COCO_PIZZA, COCO_ELEPHANT, COCO_TRAIN, COCO_DOG]
    others = sorted(p.name for p in folder.glob("*.jpg") if p.name not in named)
    return [folder / name for name in (named + others)[:n]]


def copy_photos(sources: list[Path], dest: Path, per_folder: int = 1000) -> list[Path]:
    """Copies into dest/partN/ (several folders, so moves between folders can be tested)."""
    import shutil

    copies = []
    for i, source in enumerate(sources):
        target = dest / f"part{i // per_folder}" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copies.append(target)
    return copies


class CountingEmbedder:
    """Counts the images a real embedder is asked to encode (wraps, does not replace, the model)."""

    def __init__(self, embedder, monkeypatch) -> None:
        self.images = 0
        real = embedder.encode_images

        def counting(images):
            self.images += len(images)
            return real(images)

        monkeypatch.setattr(embedder, "encode_images", counting)
