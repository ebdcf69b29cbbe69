"""`photoseek models` and the global `--offline` flag."""

from __future__ import annotations

import json
import os

from photoseek.cli import main
from photoseek.model_guide import RECOMMENDED, all_models


def test_models_json_lists_embedders_llms_and_recommendations(capsys):
    assert main(["models", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    specs = {m["spec"]: m for m in out["models"]}
    assert {"conse", "llamacpp", "open_clip:ViT-B-32:laion2b_s34b_b79k", "ollama:qwen2.5vl:3b"} <= set(specs)
    b32 = specs["open_clip:ViT-B-32:laion2b_s34b_b79k"]
    assert b32["imagenet_zero_shot"] == 0.6656 and "openclip_results.csv" in b32["source"]
    assert specs["open_clip:xlm-roberta-base-ViT-B-32:laion5b_s13b_b90k"]["multilingual"] is True
    assert specs["ollama:gemma3:4b"]["vision"] is True
    assert {b["name"] for b in out["backends"]} >= {"conse[:k=20,t=3,prompts=...]", "hf:REPO_OR_FOLDER"}
    assert set(out["recommended"]) == set(RECOMMENDED)


def test_every_public_figure_names_its_source_and_every_recommendation_is_listed():
    for model in all_models():
        if model.imagenet_zero_shot is not None or model.coco_text_to_image_r5 is not None:
            assert model.source, model.spec
    listed = {m.spec for m in all_models()}
    for embedder, llm in RECOMMENDED.values():
        assert embedder in listed and llm in listed


def test_offline_flag_sets_the_switch(monkeypatch, capsys):
    monkeypatch.delenv("PHOTOSEEK_OFFLINE", raising=False)
    assert main(["--offline", "models", "--json"]) == 0
    assert os.environ.pop("PHOTOSEEK_OFFLINE") == "1"
