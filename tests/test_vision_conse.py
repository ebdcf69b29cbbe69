"""The default "conse" embedder: joint vectors from classifier probabilities × label text embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photoseek.vision import conse
from photoseek.vision.classifier import CONFIDENCE_SCALE, ClassifierOutput
from photoseek.vision.conse import ConSEEmbedder, conse_joint
from photoseek.vision.imagenet import imagenet_classes
from photoseek.vision.model_cache import cache_path, read_stamp

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the sample photos")


@pytest.fixture(scope="module")
def embedder() -> ConSEEmbedder:
    return ConSEEmbedder()


@pytest.fixture(scope="module")
def photos() -> list[Image.Image]:
    return [Image.fromarray(skimage_data.chelsea()), Image.fromarray(skimage_data.coffee())]


@pytest.mark.slow  # on a fresh model cache it exports both graphs and embeds 2000 label texts (~20-30 s)
def test_encoding_shapes_and_normalisation(embedder, photos):
    encoding = embedder.encode_images(photos)
    assert encoding.joint.shape == (2, embedder.dim) == (2, 384)
    assert encoding.visual.shape == (2, embedder.visual_dim) == (2, 1280)
    for vectors in (encoding.joint, encoding.visual):
        assert vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert len(encoding.labels) == 2
    for labels in encoding.labels:
        assert len(labels) == embedder.tag_labels == 1000  # every class: broader tags sum all their classes
        probabilities = [p for _, p in labels]
        assert probabilities == sorted(probabilities, reverse=True)
        # per class the larger of the whole photo's probability and its best window's (weighted):
        # at least the whole photo's distribution, each a probability of its own
        assert sum(probabilities) >= 1 - 1e-3 and max(probabilities) <= 1.0
        assert all(0 <= i < 1000 for i, _ in labels)
    assert np.allclose(embedder.embed_images(photos), encoding.joint, atol=1e-5)


def test_photos_are_closest_to_matching_text(embedder, photos):
    cat_photo, coffee_photo = embedder.encode_images(photos).joint
    cat, car, coffee, dog = embedder.embed_texts(
        ["a photo of a cat", "a photo of a car", "a cup of coffee", "a photo of a dog"]
    )
    assert cat_photo @ cat > cat_photo @ car
    assert coffee_photo @ coffee > coffee_photo @ dog
    assert cat_photo @ cat > coffee_photo @ cat


def test_id_names_every_setting():
    default = ConSEEmbedder()
    assert default.id == (
        f"conse:effnet-lite0-r288+minilm-l6-v2:top{conse.DEFAULT_TOP_K}:t{conse.DEFAULT_TEMPERATURE:g}:"
        f"r{conse.DEFAULT_REGION_WEIGHT:g}:{conse.DEFAULT_PROMPTS}"
    )
    variants = {
        ConSEEmbedder(top_k=5).id,
        ConSEEmbedder(temperature=1.0).id,
        ConSEEmbedder(prompts="photo-of-name").id,
        ConSEEmbedder(region_weight=0.0).id,
        default.id,
    }
    assert len(variants) == 5
    # the visual space is the classifier's alone, so ConSE settings do not invalidate it
    assert ConSEEmbedder(top_k=5).visual_id == default.visual_id == "effnet-lite0-r288:pooled1280"
    assert (
        ConSEEmbedder.from_spec("k=5,t=1,r=0,prompts=photo-of-name").id
        == ConSEEmbedder(top_k=5, temperature=1.0, region_weight=0.0, prompts="photo-of-name").id
    )
    with pytest.raises(conse.ModelUnavailableError, match="bad ConSE option"):
        ConSEEmbedder.from_spec("k=many")
    with pytest.raises(conse.ModelUnavailableError, match="unknown ConSE prompt preset"):
        ConSEEmbedder(prompts="no-such-preset")


def test_label_vectors_are_cached_on_disk(embedder, monkeypatch):
    vectors = embedder.label_vectors()
    assert vectors.shape == (1000, 384)
    path = cache_path(f"conse-labels.{embedder.text_encoder.id}.{embedder.prompts.name}.npy")
    assert path.exists()
    assert read_stamp(path)["text_encoder"] == embedder.text_encoder.id

    def must_not_recompute(*args, **kwargs):
        raise AssertionError("label vectors were recomputed although they are cached")

    monkeypatch.setattr(conse, "compute_label_vectors", must_not_recompute)
    assert np.array_equal(ConSEEmbedder().label_vectors(), vectors)


def test_text_queries_do_not_load_the_classifier():
    fresh = ConSEEmbedder()
    vectors = fresh.embed_texts(["a dog on a beach"])
    assert vectors.shape == (1, 384)
    assert not fresh.classifier.loaded


def test_conse_mix_follows_the_formula():
    rng = np.random.default_rng(0)
    label_vectors = rng.normal(size=(6, 4)).astype(np.float32)
    p = np.array([[0.5, 0.3, 0.1, 0.05, 0.03, 0.02]], dtype=np.float32)
    top1 = conse_joint(p, label_vectors, top_k=1)
    assert np.allclose(top1[0], label_vectors[0] / np.linalg.norm(label_vectors[0]), atol=1e-6)
    expected = p[0, 0] * label_vectors[0] + p[0, 1] * label_vectors[1]
    top2 = conse_joint(p, label_vectors, top_k=2)
    assert np.allclose(top2[0], expected / np.linalg.norm(expected), atol=1e-5)


def test_joint_mixes_whole_photo_and_region_probabilities():
    rng = np.random.default_rng(1)
    label_vectors = rng.normal(size=(1000, 8)).astype(np.float32)
    embedder = ConSEEmbedder(top_k=1000, temperature=1.0, region_weight=0.25)
    embedder._label_vectors = label_vectors  # no classifier needed: the outputs are given
    embedder._loaded = True
    logits = rng.normal(size=(1, 1000)).astype(np.float32)
    regions = np.zeros((1, 1000), np.float32)
    regions[0, 7] = 1.0  # one region label the whole photo barely sees
    windows = np.zeros((1, 1000), np.float32)
    windows[0, 9] = 1.0  # windows feed tags, not the joint vector
    output = ClassifierOutput(logits, np.zeros((1, 1280), np.float32), regions, windows)
    scaled = logits[0] * CONFIDENCE_SCALE  # the classifier's calibration to its training resolution
    whole = np.exp(scaled - scaled.max())
    whole /= whole.sum()
    expected = (0.75 * whole + 0.25 * regions[0]) @ label_vectors
    assert np.allclose(embedder.joint_from_output(output)[0], expected / np.linalg.norm(expected), atol=1e-5)
    assert "r0.25" in embedder.id and ConSEEmbedder(region_weight=0.0).id != embedder.id


def test_label_prompt_texts():
    tabby = imagenet_classes()[281]
    presets = conse.PROMPT_PRESETS
    assert presets["photo-of-name"].texts_for(tabby) == ["a photo of a tabby cat"]
    synonyms = presets["photo-of-synonyms"].texts_for(tabby)[0]
    assert "tabby" in synonyms and "Felis catus" not in synonyms  # scientific names are left out
    named, described = presets["photo-of-name+description"].texts_for(tabby)
    assert named == "a photo of a tabby cat." and described.startswith(named) and len(described) > len(named) + 20
