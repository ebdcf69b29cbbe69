"""open_clip end to end through photoseek's Library: index, search by text and by example, zero-shot
tags, two models never mixing, and a pretrained tag downloaded on first use.

Runs in its own venv (`make test-openclip`: torch 2.14.1 + torchvision 0.29.1 + open_clip_torch,
with which open_clip imports); skipped where open_clip does not import (the main .venv). No
pretrained weights exist on this machine, so the models are open_clip architectures with random
weights: a tiny config registered here (ViT, 1 layer) saved as checkpoints. Random weights say
nothing about quality; what is checked is that every path runs and is self-consistent (a photo is
its own nearest neighbour, tags come from the vocabulary, vectors of two models are never compared).
The download test serves a checkpoint from tests/hub_support.FakeHub on 127.0.0.1 behind HF_ENDPOINT.
Figures (images/s, query ms) are printed with -s; bench/openclip_speed.py measures the ViT-B-32 size.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import time
from pathlib import Path

import pytest

try:
    import open_clip
except Exception as error:  # ImportError, or a torchvision built for another torch
    pytest.skip(f"open_clip does not import here ({type(error).__name__}: {error}); run `make test-openclip`",
                allow_module_level=True)

import torch
from PIL import Image

from photoseek import Library
from photoseek.errors import ModelUnavailableError, PhotoseekError
from photoseek.vision.clip import ClipEmbedder, open_clip_embedder
from tests.conftest import shared_data
from tests.hub_support import FakeHub

ARCH = "photoseek-tiny"
DIM = 32
PHOTOS = 60


@pytest.fixture(scope="module")
def tiny_arch(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("open-clip-config")
    config = {
        "embed_dim": DIM,
        "vision_cfg": {"image_size": 64, "layers": 1, "width": 64, "head_width": 32, "patch_size": 16},
        "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
    }
    (folder / f"{ARCH}.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder / f"{ARCH}.json")
    return ARCH


def _checkpoint(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    state = open_clip.create_model(ARCH).state_dict()
    # the temperature trained CLIPs end with (logit scale 100, open_clip's clamp) instead of the
    # initial 1/0.07, so zero-shot probabilities are peaked enough to pass the tagger's threshold
    state["logit_scale"] = torch.tensor(math.log(100.0))
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """PHOTOS real photographs (COCO, from the shared evaluation data), copied so the test owns them."""
    source = shared_data("coco-captions") / "images"
    folder = tmp_path_factory.mktemp("photos")
    for file in sorted(source.iterdir())[: PHOTOS - 1]:
        shutil.copy(file, folder / file.name)
    # a near-duplicate of the first photo (90% size, re-encoded): query by example must find it first
    first = sorted(folder.iterdir())[0]
    with Image.open(first) as image:
        image.resize((image.width * 9 // 10, image.height * 9 // 10)).save(folder / "zz-copy.jpg", quality=80)
    return folder


@pytest.fixture(scope="module")
def indexed(tiny_arch, photo_folder, tmp_path_factory):
    """A library indexed with model A (tiny, seed 0), with zero-shot tags."""
    spec = f"open_clip:{ARCH}:{_checkpoint(tmp_path_factory.mktemp('ckpt') / 'a.pt', 0)}"
    library = Library(tmp_path_factory.mktemp("library") / "lib", embedder=spec, llm=None)
    started = time.perf_counter()
    report = library.index([photo_folder], annotate=False)
    seconds = time.perf_counter() - started
    print(f"\nopen_clip {ARCH}: indexed {report.added} photos in {seconds:.1f} s = {report.added / seconds:.1f} images/s")
    counts = library.annotate(["tags"])
    yield library, spec, report, counts
    library.close()


def test_index_embeds_every_photo_with_the_open_clip_model(indexed):
    library, spec, report, _ = indexed
    assert report.added == PHOTOS and report.failed == 0
    assert isinstance(library.embedder, ClipEmbedder) and library.embedder.id == spec
    assert library.stats()["embedder"] == spec
    assert library.embedder.dim == DIM


def test_search_by_text(indexed):
    library, *_ = indexed
    results = library.search("a dog on a beach", k=5)
    assert len(results) == 5
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert all("embedding" in r.evidence.signals for r in results)
    times = []
    for query in ["a red bus", "people at a table", "a cat on a sofa", "snow", "a kitchen"] * 2:
        started = time.perf_counter()
        assert library.search(query, k=10)
        times.append((time.perf_counter() - started) * 1000)
    print(f"\nopen_clip {ARCH}: text query median {statistics.median(times):.1f} ms over {len(times)} warm queries")


def _id(library, name: str) -> int:
    return next(i for i in range(1, PHOTOS + 1) if library.show(i)["path"].endswith(name))


def test_search_by_example_finds_the_near_duplicate_first(indexed):
    library, *_ = indexed
    first = _id(library, sorted(p.name for p in Path(library.show(1)["path"]).parent.iterdir())[0])
    copy = _id(library, "zz-copy.jpg")
    for reference, duplicate in ((first, copy), (copy, first)):
        results = library.search(like=reference, k=3)
        assert reference not in [r.id for r in results]  # the reference itself is not a result
        assert results[0].id == duplicate, "the resized copy is the nearest photo"
        assert results[0].evidence.similar_to == [reference]


def test_zero_shot_tags_come_from_the_model(indexed):
    import numpy as np

    from photoseek.vision.tagging import tags_from_zero_shot, zero_shot_vocabulary

    library, spec, _, counts = indexed
    assert counts.get("tags") == PHOTOS
    vocabulary = zero_shot_vocabulary()
    tagged = 0
    for photo_id in range(1, PHOTOS + 1):
        stored = {t["tag"] for t in library.show(photo_id)["tags"] if t["source"] == "zeroshot"}
        row = library.catalog.conn.execute(
            "SELECT vector FROM embeddings WHERE photo_id=? AND space='joint' AND model_id=?", (photo_id, spec)
        ).fetchone()
        vector = np.frombuffer(row[0], dtype=np.float32)[None, :]
        labels = library.embedder.zero_shot_labels_from_vectors(vector, vocabulary, top=20)[0]
        expected = {t.name for t in tags_from_zero_shot(labels, vocabulary)}
        assert stored == expected  # what the model says about this photo's vector, and nothing else
        tagged += bool(stored)
    assert tagged >= PHOTOS // 2, f"only {tagged} of {PHOTOS} photos got a tag"


def test_vectors_of_two_models_never_mix(indexed, photo_folder, tmp_path):
    library, spec_a, *_ = indexed
    spec_b = f"open_clip:{ARCH}:{_checkpoint(tmp_path / 'b.pt', 1)}"
    other = Library(library.path, embedder=spec_b, llm=None)
    try:
        with pytest.raises(PhotoseekError, match="indexed with the model"):
            other.search("a dog", k=3)  # B's query vector is never compared with A's photo vectors
        report = other.index([photo_folder], annotate=False)
        assert report.updated == PHOTOS  # indexing with B re-embeds every photo
        assert other.stats()["embedder"] == spec_b
        assert len(other.search("a dog", k=3)) == 3
    finally:
        other.close()


def test_pretrained_tag_downloads_on_first_use_then_runs_offline(tiny_arch, tmp_path, monkeypatch):
    import huggingface_hub
    from safetensors.torch import save_file

    repo = tmp_path / "repo"
    repo.mkdir()
    torch.manual_seed(2)
    save_file(open_clip.create_model(ARCH).state_dict(), repo / "open_clip_model.safetensors")
    open_clip.pretrained._PRETRAINED.setdefault(ARCH, {})["fakehub"] = open_clip.pretrained._pcfg(
        hf_hub="photoseek-test/tiny-openclip/")
    cache = tmp_path / "hub-cache"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("PHOTOSEEK_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    monkeypatch.setenv("PHOTOSEEK_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match=rf"open_clip:{ARCH}:fakehub: .*offline.*hf download"):
        open_clip_embedder(f"{ARCH}:fakehub").embed_texts(["x"])
    monkeypatch.delenv("PHOTOSEEK_OFFLINE")

    with FakeHub({"photoseek-test/tiny-openclip": repo}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        first = open_clip_embedder(f"{ARCH}:fakehub").embed_texts(["a photo of a cat"])
        assert ("GET", "/photoseek-test/tiny-openclip/resolve/main/open_clip_model.safetensors") in hub.requests
    assert list(cache.glob("models--photoseek-test--tiny-openclip/snapshots/*/open_clip_model.safetensors"))

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the hub is gone; the cache serves
    monkeypatch.setenv("PHOTOSEEK_OFFLINE", "1")
    again = open_clip_embedder(f"{ARCH}:fakehub").embed_texts(["a photo of a cat"])
    assert torch.allclose(torch.from_numpy(first), torch.from_numpy(again), atol=1e-6)


def test_unknown_tag_and_architecture_are_named(tiny_arch):
    with pytest.raises(ModelUnavailableError, match=rf"unknown pretrained tag 'nope' for ViT-B-32; open_clip knows .*laion2b"):
        open_clip_embedder("ViT-B-32:nope").embed_texts(["x"])
    with pytest.raises(ModelUnavailableError, match="open_clip has no architecture 'ViT-Q-99'"):
        open_clip_embedder("ViT-Q-99:openai").embed_texts(["x"])


def test_multilingual_architectures_are_recognised_without_loading():
    # construction reads open_clip's model config only: nothing is downloaded or loaded
    assert open_clip_embedder("xlm-roberta-base-ViT-B-32:laion5b_s13b_b90k").multilingual is True
    assert open_clip_embedder("ViT-B-16-SigLIP2:webli").multilingual is True  # Gemma tokenizer, 256k
    assert open_clip_embedder("ViT-B-32:laion2b_s34b_b79k").multilingual is False
