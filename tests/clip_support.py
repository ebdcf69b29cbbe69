"""A tiny random-init CLIP that tests build and save offline (no weights are downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

PROJECTION_DIM = 16
IMAGE_SIZE = 32


def tiny_clip_folder(folder: Path) -> Path:
    """A random-init CLIP small enough to build in a test, saved with its tokenizer and image processor."""
    import torch
    import transformers

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in "abcdefghijklmnopqrstuvwxyz.":
        vocab[char] = len(vocab)
        vocab[char + "</w>"] = len(vocab)
    tokenizer_files = folder.parent / "tokenizer-source"
    tokenizer_files.mkdir(parents=True)
    (tokenizer_files / "vocab.json").write_text(json.dumps(vocab))
    (tokenizer_files / "merges.txt").write_text("#version: 0.2\n")  # character-level: no merges needed
    tokenizer = transformers.CLIPTokenizer(
        vocab=str(tokenizer_files / "vocab.json"), merges=str(tokenizer_files / "merges.txt")
    )
    image_processor = transformers.CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )
    config = transformers.CLIPConfig(
        text_config=dict(
            vocab_size=len(vocab), bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32,
            intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=32,
        ),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            image_size=IMAGE_SIZE, patch_size=8,
        ),
        projection_dim=PROJECTION_DIM,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.CLIPModel(config).save_pretrained(folder)
    transformers.CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


