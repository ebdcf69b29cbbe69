"""MiniLM text embeddings via ONNX: parity with sentence-transformers, and a torch-free runtime."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from photoseek.vision.text_encoder import EMBEDDING_DIM, MiniLMTextEncoder, model_dir

REPO_ROOT = Path(__file__).resolve().parent.parent

TEXTS = [
    "a cat",
    "A woman stands in the dining area at the table.",
    "beach photos with dogs from 2019",
    "猫的照片",
    "",
    "like this but at night " * 60,  # longer than 256 tokens: truncated exactly like sentence-transformers
]


@pytest.fixture(scope="module")
def encoder() -> MiniLMTextEncoder:
    return MiniLMTextEncoder(batch_size=4)  # smaller than TEXTS so batching and re-ordering are exercised


def test_matches_sentence_transformers(encoder):
    sentence_transformers = pytest.importorskip("sentence_transformers", reason="the reference implementation")
    reference = sentence_transformers.SentenceTransformer(str(model_dir()), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    ours = encoder.embed(TEXTS)
    cosines = (ours * expected).sum(axis=1)
    assert cosines.min() > 0.999, cosines


def test_shapes_normalisation_and_order(encoder):
    vectors = encoder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), EMBEDDING_DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    reversed_vectors = encoder.embed(TEXTS[::-1])
    assert np.allclose(reversed_vectors[::-1], vectors, atol=1e-5)
    assert encoder.embed([]).shape == (0, EMBEDDING_DIM)
    with pytest.raises(TypeError):
        encoder.embed("a single string")


def test_similar_texts_are_closer(encoder):
    cat, kitten, car = encoder.embed(["a photo of a cat", "a kitten sleeping", "a red sports car"])
    assert cat @ kitten > cat @ car


def test_runtime_does_not_import_torch(encoder, model_cache):
    encoder.onnx_path()  # make sure the export exists, so the child only runs inference
    code = (
        "import json, sys, time\n"
        "started = time.perf_counter()\n"
        "from photoseek.vision.text_encoder import MiniLMTextEncoder\n"
        "vector = MiniLMTextEncoder().embed(['a cat'])\n"
        "print(json.dumps({'seconds': time.perf_counter() - started, 'shape': list(vector.shape),\n"
        "  'heavy': [m for m in ('torch', 'transformers') if m in sys.modules]}))\n"
    )
    env = dict(os.environ, PHOTOSEEK_MODEL_CACHE=str(model_cache))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["shape"] == [1, EMBEDDING_DIM]
    assert report["heavy"] == []
    # cold start is ~0.3 s here; a generous bound so a busy CI machine does not flake
    assert report["seconds"] < 10, report


def test_query_vectors_from_the_int8_copy_stay_close_to_float32(encoder):
    """Search queries run through the int8 copy (per-channel weights): each query vector stays within
    a cosine of 0.98 of its float32 vector (0.989 at worst on 300 COCO captions), and the ranking of
    what a query is closest to is the float32 one."""
    queries = TEXTS[:4] + ["a red bus on a city street", "two dogs playing in the snow", "a plate of food"]
    exact = encoder.embed(queries)
    quick = encoder.embed_queries(queries)
    assert quick.shape == exact.shape and quick.dtype == np.float32
    assert np.allclose(np.linalg.norm(quick, axis=1), 1.0, atol=1e-5)
    cosines = (quick * exact).sum(axis=1)
    assert cosines.min() > 0.98, cosines
    assert not np.allclose(quick, exact, atol=1e-4)  # it is another model, not the float32 one again
    documents = encoder.embed(["a cat sleeping on a sofa", "a double-decker bus", "a dog in the snow", "pasta"])
    assert ((quick @ documents.T).argmax(axis=1) == (exact @ documents.T).argmax(axis=1)).all()


def test_int8_copy_can_be_turned_off(model_cache):
    exact_only = MiniLMTextEncoder(quantised_queries=False)
    texts = ["a cat", "a red bus"]
    assert np.allclose(exact_only.embed_queries(texts), exact_only.embed(texts), atol=1e-6)


def test_the_int8_copy_is_made_once_and_quietly(encoder, model_cache, tmp_path):
    """The first search on a new machine quantises the encoder (~3 s): onnxruntime's quantiser logs
    advice through the root logger, which must not reach the terminal or change the logging set-up."""
    source = encoder.onnx_path()
    for path in source.parent.glob(source.name + "*"):
        if ".int8." not in path.name:
            shutil.copy(path, tmp_path / path.name)
    code = (
        "import logging, json\n"
        "from photoseek.vision.text_encoder import MiniLMTextEncoder\n"
        "e = MiniLMTextEncoder()\n"
        "e.embed_queries(['a cat'])\n"
        "print(json.dumps({'handlers': len(logging.getLogger().handlers), 'int8': e.quantised_onnx_path().name}))\n"
    )
    env = dict(os.environ, PHOTOSEEK_MODEL_CACHE=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == {"handlers": 0, "int8": "all-minilm-l6-v2.int8.onnx"}
    assert (tmp_path / "all-minilm-l6-v2.int8.onnx").stat().st_size < source.stat().st_size / 3
