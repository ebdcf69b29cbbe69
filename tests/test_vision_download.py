"""First-use download of `hf:REPO` models, and the offline switch.

There is no network here, so the Hugging Face Hub is stood in for by a loopback HTTP server
(tests/hub_support.FakeHub) serving a tiny random CLIP the test builds, behind `HF_ENDPOINT`:
photoseek's real download code (huggingface_hub's hf_hub_download into a fresh cache) runs
against it. Nothing contacts any other address.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoseek.errors import ModelUnavailableError
from photoseek.vision.clip import ClipEmbedder, HFClipBackend
from tests.clip_support import PROJECTION_DIM, tiny_clip_folder
from tests.hub_support import FakeHub

pytest.importorskip("transformers", reason="the hf: loader uses transformers")
pytest.importorskip("torch", reason="CLIP models run with torch")
huggingface_hub = pytest.importorskip("huggingface_hub", reason="downloads go through huggingface_hub")

REPO = "photoseek-test/tiny-clip"


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    return tiny_clip_folder(tmp_path_factory.mktemp("download") / "tiny-clip")


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache for this test, and photoseek online."""
    cache = tmp_path / "hub-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("PHOTOSEEK_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return cache


@pytest.fixture()
def hub(tiny_clip, hub_cache, monkeypatch):
    with FakeHub({REPO: tiny_clip}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def _photos() -> list[Image.Image]:
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))]


def test_first_use_downloads_into_the_hf_cache_then_runs_offline(hub, hub_cache, tiny_clip, monkeypatch, capfd):
    embedder = ClipEmbedder(HFClipBackend(REPO))
    assert embedder.id == f"hf:{REPO}"
    gets = {path.rsplit("/", 1)[-1] for method, path in hub.requests if method == "GET"}
    # every file of the repo: config, weights and the processor files (transformers 5 saves
    # processor_config.json; older ones preprocessor_config.json, asked for but absent here)
    assert gets == {file.name for file in tiny_clip.iterdir()}
    assert ("HEAD", f"/{REPO}/resolve/main/preprocessor_config.json") in hub.requests
    snapshot = hub_cache / "models--photoseek-test--tiny-clip" / "snapshots" / FakeHub.commit(REPO)
    assert (snapshot / "model.safetensors").read_bytes() == (tiny_clip / "model.safetensors").read_bytes()
    captured = capfd.readouterr()
    assert f"downloading hf:{REPO}" in captured.err  # the user is told what is downloaded and where

    downloaded = embedder.encode_images(_photos()).joint
    assert downloaded.shape == (1, PROJECTION_DIM)
    reference = ClipEmbedder(HFClipBackend(str(tiny_clip))).encode_images(_photos()).joint
    assert np.allclose(downloaded, reference, atol=1e-5)  # the same model, read from the cache

    # the second use makes no request at all: it works with the hub gone and with --offline
    hub.requests.clear()
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("PHOTOSEEK_OFFLINE", "1")
    again = ClipEmbedder(HFClipBackend(REPO))
    assert np.allclose(again.encode_images(_photos()).joint, downloaded, atol=1e-6)
    assert hub.requests == []


def test_offline_refuses_to_download_and_says_what_to_fetch(hub, monkeypatch):
    monkeypatch.setenv("PHOTOSEEK_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as info:
        HFClipBackend(REPO)
    message = str(info.value)
    assert message.startswith(f"hf:{REPO}:") and "offline" in message
    assert f"hf download {REPO}" in message
    assert hub.requests == []  # not even a metadata request


def test_unknown_repo_is_named(hub):
    with pytest.raises(ModelUnavailableError, match=r"hf:someone/no-such-clip: no repository 'someone/no-such-clip'"):
        HFClipBackend("someone/no-such-clip")


def test_repo_without_weights_is_named(hub, tmp_path):
    (tmp_path / "config-only").mkdir()
    (tmp_path / "config-only" / "config.json").write_text('{"model_type": "clip"}')
    hub.repos["someone/config-only"] = tmp_path / "config-only"
    with pytest.raises(ModelUnavailableError, match=r"hf:someone/config-only: .*has no PyTorch weights"):
        HFClipBackend("someone/config-only")


def test_no_network_is_named(hub_cache, monkeypatch):
    with socket.socket() as probe:  # a loopback port nothing listens on: a connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(ModelUnavailableError) as info:
        HFClipBackend(REPO)
    message = str(info.value)
    assert message.startswith(f"hf:{REPO}: could not download") and "no network" in message
    assert f"hf download {REPO}" in message


def test_disk_full_is_refused_before_downloading_the_weights(hub, hub_cache, monkeypatch):
    # A full disk cannot be made here; the free space the check reads is faked to 1 MB (below the
    # weights plus the safety margin), and the test checks that the weights were never requested.
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(ModelUnavailableError, match=rf"hf:{REPO}: the disk is full: downloading {REPO} needs"):
        HFClipBackend(REPO)
    assert ("GET", f"/{REPO}/resolve/main/model.safetensors") not in hub.requests
