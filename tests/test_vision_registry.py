"""The embedder registry: spec parsing, clear errors, and a light `import photoseek.vision`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import photoseek.vision as vision
from photoseek.errors import ModelUnavailableError
from photoseek.vision.base import ModelInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "torch", "onnxruntime", "transformers", "tokenizers", "PIL", "open_clip")


def _modules_after(code: str) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_and_lookup_stay_light():
    assert _modules_after("import photoseek.vision") == []
    # creating the default embedder does not load anything either: weights load on first use
    assert _modules_after("from photoseek.vision import get_embedder; get_embedder('conse')") == []


def test_registered_backends_and_model_list():
    assert {"conse", "hf", "open_clip"} <= set(vision.registered_names())
    infos = vision.list_models()
    assert all(isinstance(info, ModelInfo) for info in infos)
    assert any(info.name.startswith("hf:") for info in infos)


def test_parse_spec():
    assert vision.parse_spec("conse") == ("conse", "")
    assert vision.parse_spec("") == ("conse", "")
    assert vision.parse_spec("hf:openai/clip-vit-base-patch32") == ("hf", "openai/clip-vit-base-patch32")
    assert vision.parse_spec("open_clip:ViT-B-32:laion2b_s34b_b79k") == ("open_clip", "ViT-B-32:laion2b_s34b_b79k")
    with pytest.raises(ModelUnavailableError, match="unknown model 'clip-please'.*conse"):
        vision.parse_spec("clip-please")
    with pytest.raises(ModelUnavailableError, match="needs an argument"):
        vision.parse_spec("hf")


def test_default_is_conse_and_instances_are_shared():
    embedder = vision.get_embedder()
    assert embedder.id.startswith("conse:")
    assert vision.get_embedder("conse") is embedder


def test_register_backend_with_a_callable():
    created = []

    def factory(argument: str):
        created.append(argument)
        return vision.get_embedder("conse")

    vision.register_backend("test-backend", factory, "for this test")
    try:
        assert vision.get_embedder("test-backend:abc") is vision.get_embedder("conse")
        assert created == ["abc"]
    finally:
        vision._backends.pop("test-backend", None)
        vision._instances.pop("test-backend:abc", None)
    with pytest.raises(ValueError):
        vision.register_backend("bad:name", factory, "names cannot contain ':'")
