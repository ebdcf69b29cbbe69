"""CLIP-family backends. The hf: loader runs end to end on a tiny random-init CLIP that the test
builds and saves offline; open_clip runs only where it imports (it needs torchvision)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoseek.errors import ModelUnavailableError
from photoseek.vision import get_embedder
from photoseek.vision.clip import ClipEmbedder, HFClipBackend, open_clip_embedder

transformers = pytest.importorskip("transformers", reason="the hf: loader uses transformers")
torch = pytest.importorskip("torch", reason="CLIP models run with torch")

from tests.clip_support import IMAGE_SIZE, PROJECTION_DIM, tiny_clip_folder as _tiny_clip_folder


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    return _tiny_clip_folder(tmp_path_factory.mktemp("clip") / "tiny-clip")


@pytest.fixture(scope="module")
def photos() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 255, (60, 90, 3), dtype=np.uint8))
    flat = Image.new("L", (50, 40), 200)  # greyscale input must work too
    return [noise, flat]


def test_hf_folder_end_to_end(tiny_clip, photos):
    embedder = get_embedder(f"hf:{tiny_clip}")
    assert isinstance(embedder, ClipEmbedder)
    assert embedder.id == f"hf:{tiny_clip.resolve()}"
    assert embedder.dim == PROJECTION_DIM and embedder.visual_dim == 0
    assert embedder.preferred_size == IMAGE_SIZE
    assert not embedder.loaded  # nothing loads until the first encode

    encoding = embedder.encode_images(photos)
    assert encoding.visual is None and encoding.labels is None
    assert encoding.joint.shape == (2, PROJECTION_DIM) and encoding.joint.dtype == np.float32
    assert np.allclose(np.linalg.norm(encoding.joint, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.encode_images(photos[:1]).joint, encoding.joint[:1], atol=1e-5)

    texts = embedder.embed_texts(["a photo of a cat", "dog", "a very long text " * 40])
    assert texts.shape == (3, PROJECTION_DIM)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(texts[0], texts[1])


def test_zero_shot_labels(tiny_clip, photos):
    embedder = get_embedder(f"hf:{tiny_clip}")
    vocabulary = ["cat", "dog", "car", "beach"]
    per_image = embedder.zero_shot_labels(photos, vocabulary, top=3)
    assert len(per_image) == 2
    for labels in per_image:
        assert len(labels) == 3
        assert {name for name, _ in labels} <= set(vocabulary)
        scores = [p for _, p in labels]
        assert scores == sorted(scores, reverse=True)
        assert all(0 <= p <= 1 for p in scores) and sum(scores) <= 1 + 1e-5  # CLIP: softmax over the vocabulary
    from_vectors = embedder.zero_shot_labels_from_vectors(embedder.encode_images(photos).joint, vocabulary, top=3)
    assert [[n for n, _ in row] for row in from_vectors] == [[n for n, _ in row] for row in per_image]
    assert embedder.zero_shot_labels(photos, [], top=3) == [[], []]


def test_hf_siglip_loads_with_automodel_and_scores_with_sigmoid(tiny_clip, tmp_path, photos):
    # a tiny random SigLIP; it borrows the tiny CLIP's tokenizer/processor files because SigLIP's own
    # tokenizer needs a SentencePiece model that cannot be built offline here
    folder = tmp_path / "tiny-siglip"
    vocab_size = len(json.loads((tiny_clip / "tokenizer.json").read_text())["model"]["vocab"])
    config = transformers.SiglipConfig(
        text_config=dict(
            vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
            num_attention_heads=2, max_position_embeddings=16, pad_token_id=1, bos_token_id=0, eos_token_id=1,
        ),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
            image_size=IMAGE_SIZE, patch_size=8,
        ),
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.SiglipModel(config).save_pretrained(folder)
    for name in ("processor_config.json", "tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((tiny_clip / name).read_bytes())

    embedder = get_embedder(f"hf:{folder}")
    assert embedder.backend.model_type == "siglip" and embedder.dim == 32
    joint = embedder.encode_images(photos).joint
    texts = embedder.embed_texts(["a cat", "a much longer sentence about a dog " * 5])
    assert joint.shape == (2, 32) and texts.shape == (2, 32)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    labels = embedder.zero_shot_labels(photos, ["cat", "dog", "car"], top=3)
    scale, bias = embedder.backend.logit_scale_and_bias()
    probability = 1 / (1 + np.exp(-(scale * float(joint[0] @ embedder.embed_texts(["a photo of a cat."])[0]) + bias)))
    assert dict(labels[0])["cat"] == pytest.approx(probability, rel=1e-4)  # independent sigmoid, not a softmax


def test_missing_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelUnavailableError, match=f"{missing}.*does not exist"):
        get_embedder(f"hf:{missing}")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelUnavailableError, match="no config.json"):
        HFClipBackend(str(empty))


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache for this test (huggingface_hub reads the location at import time)."""
    import huggingface_hub.constants

    cache = tmp_path / "hub-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_repo_not_in_cache_is_not_downloaded_offline(hub_cache, monkeypatch):
    monkeypatch.setenv("PHOTOSEEK_OFFLINE", "1")  # first-use downloads: tests/test_vision_download.py
    with pytest.raises(ModelUnavailableError, match="not in the Hugging Face cache.*offline"):
        HFClipBackend("someone/some-clip-model")


def test_repo_id_resolves_to_the_cached_snapshot(hub_cache, tiny_clip, photos):
    # the layout `huggingface-cli download` leaves behind: refs/main names the snapshot folder
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = hub_cache / "models--someone--tiny-clip"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for file in tiny_clip.iterdir():
        (snapshot / file.name).write_bytes(file.read_bytes())
    embedder = ClipEmbedder(HFClipBackend("someone/tiny-clip"))
    assert embedder.id == "hf:someone/tiny-clip"
    reference = get_embedder(f"hf:{tiny_clip}")
    assert np.allclose(embedder.encode_images(photos).joint, reference.encode_images(photos).joint, atol=1e-5)


def _open_clip_importable() -> tuple[bool, str]:
    try:
        import open_clip  # noqa: F401
    except Exception as error:  # ImportError, or torchvision built for another torch
        return False, f"open_clip does not import here ({type(error).__name__}: {error})"
    return True, ""


OPEN_CLIP_OK, OPEN_CLIP_WHY = _open_clip_importable()


@pytest.mark.skipif(OPEN_CLIP_OK, reason="open_clip imports here; the error path cannot be reached")
def test_open_clip_unavailable_says_how_to_install():
    with pytest.raises(ModelUnavailableError, match=r"pip install 'photoseek\[openclip\]'"):
        get_embedder("open_clip:ViT-B-32:laion2b_s34b_b79k")


@pytest.mark.skipif(not OPEN_CLIP_OK, reason=OPEN_CLIP_WHY or "open_clip imports")
def test_open_clip_end_to_end_with_a_local_checkpoint(tmp_path, photos):
    import open_clip

    config = {
        "embed_dim": PROJECTION_DIM,
        "vision_cfg": {"image_size": IMAGE_SIZE, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    (tmp_path / "photoseek-tiny-test.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path / "photoseek-tiny-test.json")
    checkpoint = tmp_path / "tiny.pt"
    torch.save(open_clip.create_model("photoseek-tiny-test").state_dict(), checkpoint)

    embedder = open_clip_embedder(f"photoseek-tiny-test:{checkpoint}")
    joint = embedder.encode_images(photos).joint
    texts = embedder.embed_texts(["a photo of a cat", "dog"])
    assert joint.shape == (2, PROJECTION_DIM) and texts.shape == (2, PROJECTION_DIM)
    assert np.allclose(np.linalg.norm(joint, axis=1), 1.0, atol=1e-5)
    labels = embedder.zero_shot_labels(photos, ["cat", "dog"], top=1)
    assert len(labels) == 2 and labels[0][0][0] in {"cat", "dog"}

    with pytest.raises(ModelUnavailableError, match="no checkpoint file"):
        open_clip_embedder(f"photoseek-tiny-test:{tmp_path / 'missing.pt'}").embed_texts(["x"])
