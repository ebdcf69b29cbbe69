"""First-use downloads of CLIP-family weights into the standard caches, and the offline switch.

    hf_model_folder("openai/clip-vit-base-patch32")     # its Hugging Face cache snapshot folder
    hub_file("timm/some-repo", "open_clip_model.safetensors", model="open_clip:ARCH:TAG")

Files are fetched with huggingface_hub's `hf_hub_download` (the standard cache, `HF_HUB_CACHE` /
`HF_HOME`; resumable; a progress bar per file on stderr) from `HF_ENDPOINT` when it is set (a
mirror, or the loopback stand-in of the tests), else from the Hub. Once a model's files are in the
cache they are read from there without any network request, so a model downloaded once runs
offline from then on. With `PHOTOSEEK_OFFLINE=1` (the CLI's `--offline`) nothing is downloaded: a
missing model is an error that says what to fetch. Every error names the model and the reason (no
network, unknown repository or file, gated repository, disk full) as a `ModelUnavailableError`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Iterator

from photoseek.config import offline
from photoseek.errors import ModelUnavailableError

#: Everything a transformers CLIP/SigLIP processor may read besides the weights; each is optional.
PROCESSOR_FILES = (
    "preprocessor_config.json",
    "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "spiece.model",  # SigLIP's SentencePiece tokenizer
    "tokenizer.model",  # SigLIP 2's Gemma tokenizer
    "sentencepiece.bpe.model",  # XLM-RoBERTa text towers
)
#: Weights in order of preference (safetensors loads without pickle); the index lists shards.
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
#: Space left free after a download, so the cache never fills the disk to the last byte.
DISK_MARGIN_BYTES = 200 * 1024 * 1024


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise ModelUnavailableError(
            "downloading models needs huggingface_hub: `pip install huggingface_hub` (transformers brings it)"
        ) from None
    return huggingface_hub


def endpoint() -> str:
    """Where downloads come from: `HF_ENDPOINT` when set (read now, not at import), else the Hub."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def hub_cache_dir() -> Path:
    """The Hugging Face cache folder downloads land in (`HF_HUB_CACHE`, else `$HF_HOME/hub`)."""
    return Path(_hub().constants.HF_HUB_CACHE)


def fetch_hint(repo: str) -> str:
    return f"`hf download {repo}` (or `huggingface-cli download {repo}`) on a machine with internet"


def cached_file(repo: str, filename: str) -> Path | None:
    """The cached copy of `filename` in `repo`, or None; never touches the network."""
    found = _hub().try_to_load_from_cache(repo, filename, cache_dir=str(hub_cache_dir()))
    return Path(found) if isinstance(found, str) else None


def _offline_error(model: str, repo: str, what: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"{model}: {what} is not in the Hugging Face cache ({hub_cache_dir()}) and photoseek is offline "
        f"(PHOTOSEEK_OFFLINE=1, --offline or HF_HUB_OFFLINE=1), so nothing is downloaded. "
        f"Fetch it once with {fetch_hint(repo)} and copy the cache here, or run without --offline "
        "to download it on first use"
    )


@contextlib.contextmanager
def _reasons(model: str, repo: str, filename: str) -> Iterator[None]:
    """Turn huggingface_hub's and the OS's errors into one ModelUnavailableError naming model and reason."""
    hub = _hub()
    errors = hub.errors
    try:
        yield
    except errors.GatedRepoError:
        raise ModelUnavailableError(
            f"{model}: the repository {repo} is gated: accept its licence on its Hub page, then log in "
            "with `hf auth login` (or set HF_TOKEN)"
        ) from None
    except errors.RepositoryNotFoundError:
        raise ModelUnavailableError(
            f"{model}: no repository {repo!r} at {endpoint()} (unknown name, or private): check the spelling"
        ) from None
    except errors.RevisionNotFoundError:
        raise ModelUnavailableError(f"{model}: the repository {repo} has no such revision") from None
    except errors.LocalEntryNotFoundError as error:  # the Hub could not be reached and nothing is cached
        cause = error.__cause__ or error.__context__
        raise ModelUnavailableError(
            f"{model}: could not download {filename} of {repo} from {endpoint()}: no network or the Hub is "
            f"unreachable ({type(cause).__name__ if cause else 'no connection'}). Connect and retry, or fetch it "
            f"with {fetch_hint(repo)} and copy the Hugging Face cache ({hub_cache_dir()})"
        ) from None
    except errors.HfHubHTTPError as error:
        status = getattr(getattr(error, "response", None), "status_code", "?")
        raise ModelUnavailableError(
            f"{model}: the Hub at {endpoint()} refused {repo}/{filename} (HTTP {status}); retry later"
        ) from None
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise _disk_full(model, repo, None) from None
        if type(error).__module__.startswith(("httpx", "httpcore")) or isinstance(error, ConnectionError):
            raise ModelUnavailableError(
                f"{model}: could not download {repo}/{filename} from {endpoint()}: no network ({error})"
            ) from None
        raise


def _disk_full(model: str, repo: str, needed: int | None) -> ModelUnavailableError:
    cache = hub_cache_dir()
    free = shutil.disk_usage(_existing(cache)).free
    need = f"needs {needed / 1e6:,.0f} MB, " if needed else ""
    return ModelUnavailableError(
        f"{model}: the disk is full: downloading {repo} {need}{free / 1e6:,.0f} MB free in {cache}. "
        "Free some space or point HF_HUB_CACHE at a larger disk"
    )


def _existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def remote_size(model: str, repo: str, filename: str) -> int | None:
    """Size in bytes of a file on the Hub (a HEAD request), or None when the repo lacks it."""
    hub = _hub()
    not_found = getattr(hub.errors, "RemoteEntryNotFoundError", hub.errors.EntryNotFoundError)
    with _reasons(model, repo, filename):
        try:
            url = hub.hf_hub_url(repo, filename, endpoint=endpoint())
            return int(hub.get_hf_file_metadata(url).size or 0)
        except not_found:
            return None


def check_space(model: str, repo: str, needed: int) -> None:
    """Refuse a download that would not fit (a half-written multi-GB file helps nobody)."""
    if needed and shutil.disk_usage(_existing(hub_cache_dir())).free < needed + DISK_MARGIN_BYTES:
        raise _disk_full(model, repo, needed)


def hub_file(repo: str, filename: str, *, model: str, required: bool = True) -> Path | None:
    """`filename` of `repo` from the cache, downloaded first when missing (unless offline).

    Returns None for a missing optional file. Raises ModelUnavailableError (offline and not cached,
    unknown repo/file, no network, disk full)."""
    cached = cached_file(repo, filename)
    if cached is not None:
        return cached
    if offline():
        if not required:
            return None
        raise _offline_error(model, repo, f"{repo}/{filename}")
    hub = _hub()
    not_found = getattr(hub.errors, "RemoteEntryNotFoundError", hub.errors.EntryNotFoundError)
    with _reasons(model, repo, filename):
        try:
            return Path(hub.hf_hub_download(repo, filename, endpoint=endpoint(), cache_dir=str(hub_cache_dir())))
        except not_found:
            if required:
                raise ModelUnavailableError(f"{model}: the repository {repo} has no file {filename}") from None
            return None


def _cached_weights(repo: str) -> bool:
    for name in WEIGHT_FILES:
        path = cached_file(repo, name)
        if path is None:
            continue
        if name.endswith(".index.json"):  # complete only when every shard is there too
            shards = set(json.loads(path.read_text(encoding="utf-8")).get("weight_map", {}).values())
            return all(cached_file(repo, shard) is not None for shard in shards)
        return True
    return False


def hf_model_folder(repo: str) -> Path:
    """The cache snapshot folder of a transformers model repo (config, processor files, weights).

    Complete in the cache: returned with no network request. Otherwise downloaded once with a
    progress bar, unless offline. Weights: the first of WEIGHT_FILES the repo has (one format only,
    so a repo that ships safetensors, PyTorch, TF and Flax copies costs one download)."""
    model = f"hf:{repo}"
    config = cached_file(repo, "config.json")
    if config is not None and _cached_weights(repo):
        return config.parent
    if offline():
        raise _offline_error(model, repo, f"the model {repo}")
    config = hub_file(repo, "config.json", model=model)
    assert config is not None
    for name in WEIGHT_FILES:
        size = remote_size(model, repo, name)
        if size is None:
            continue
        if name.endswith(".index.json"):
            index = hub_file(repo, name, model=model)
            assert index is not None
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()))
            total = sum(remote_size(model, repo, shard) or 0 for shard in shards)
            print(f"photoseek: downloading {model} ({total / 1e6:,.0f} MB, first use) into {hub_cache_dir()}",
                  file=sys.stderr)
            check_space(model, repo, total)
            for shard in shards:
                hub_file(repo, shard, model=model)
        else:
            print(f"photoseek: downloading {model} ({size / 1e6:,.0f} MB, first use) into {hub_cache_dir()}",
                  file=sys.stderr)
            check_space(model, repo, size)
            hub_file(repo, name, model=model)
        break
    else:
        raise ModelUnavailableError(
            f"{model}: the repository {repo} has no PyTorch weights ({', '.join(WEIGHT_FILES)})"
        )
    for name in PROCESSOR_FILES:
        hub_file(repo, name, model=model, required=False)
    return config.parent


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """huggingface_hub's offline mode for the duration (it reads `constants.HF_HUB_OFFLINE` per call):
    once photoseek has made sure a model's files are cached, open_clip and transformers load them
    from the cache without the freshness request they would otherwise send."""
    constants = _hub().constants
    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


#: What open_clip's HF text towers (e.g. xlm-roberta-base) read besides the checkpoint.
TEXT_TOWER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                    "sentencepiece.bpe.model", "spiece.model", "vocab.json", "merges.txt")


def open_clip_weights(open_clip, arch: str, tag: str) -> None:
    """Make sure `open_clip:ARCH:TAG` can load with no network: the checkpoint of open_clip's
    pretrained tag in the cache open_clip reads (the HF cache for `hf_hub` tags, ~/.cache/clip for
    URL-only ones), and an HF text tower's config and tokenizer. Downloads what is missing unless
    offline. A TAG that is a checkpoint file needs nothing."""
    model = f"open_clip:{arch}:{tag}"
    if Path(tag).expanduser().is_file():
        return
    if arch not in open_clip.list_models():
        raise ModelUnavailableError(f"{model}: open_clip has no architecture {arch!r} (see open_clip.list_models())")
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not cfg:
        if "/" in tag or tag.endswith((".pt", ".pth", ".bin", ".safetensors")):
            raise ModelUnavailableError(f"{model}: no checkpoint file {Path(tag).expanduser()}")
        tags = open_clip.list_pretrained_tags_by_model(arch)
        raise ModelUnavailableError(
            f"{model}: unknown pretrained tag {tag!r} for {arch}; open_clip knows {', '.join(tags) or 'none'} "
            "(or give the path of a checkpoint file)"
        )
    if cfg.get("hf_hub"):
        _open_clip_hub_checkpoint(open_clip, model, cfg["hf_hub"])
    elif cfg.get("url"):
        _open_clip_url_checkpoint(open_clip, model, cfg["url"])
    text_tower = ((open_clip.get_model_config(arch) or {}).get("text_cfg") or {}).get("hf_model_name")
    if text_tower:
        hub_file(text_tower, "config.json", model=model)
        for name in TEXT_TOWER_FILES:
            hub_file(text_tower, name, model=model, required=False)


def _open_clip_hub_checkpoint(open_clip, model: str, hf_hub: str) -> None:
    repo, filename = os.path.split(hf_hub)
    filename = filename or open_clip.pretrained.HF_WEIGHTS_NAME
    # open_clip prefers a safetensors copy when the repo has one (pretrained._get_safe_alternatives)
    safe = getattr(open_clip.pretrained, "_get_safe_alternatives", lambda name: [])
    candidates = [*safe(filename), filename]
    if any(cached_file(repo, name) is not None for name in candidates):
        return
    if offline():
        raise _offline_error(model, repo, f"the checkpoint {repo}/{filename}")
    for name in candidates:
        size = remote_size(model, repo, name)
        if size is not None:
            print(f"photoseek: downloading {model} ({size / 1e6:,.0f} MB, first use) into {hub_cache_dir()}",
                  file=sys.stderr)
            check_space(model, repo, size)
            hub_file(repo, name, model=model)
            return
    raise ModelUnavailableError(f"{model}: the repository {repo} has no file {' or '.join(candidates)}")


def _open_clip_url_checkpoint(open_clip, model: str, url: str) -> None:
    import urllib.error

    cache = Path("~/.cache/clip").expanduser()  # open_clip's own default for URL downloads
    if (cache / os.path.basename(url)).is_file():
        return
    if offline():
        raise ModelUnavailableError(
            f"{model}: the checkpoint is not in {cache} and photoseek is offline (PHOTOSEEK_OFFLINE=1, "
            f"--offline or HF_HUB_OFFLINE=1). Fetch {url} into {cache} once, or run without --offline"
        )
    print(f"photoseek: downloading {model} (first use) into {cache}", file=sys.stderr)
    try:
        open_clip.pretrained.download_pretrained_from_url(url)
    except urllib.error.URLError as error:
        raise ModelUnavailableError(f"{model}: could not download {url}: no network ({error.reason})") from None
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise ModelUnavailableError(f"{model}: the disk is full: no room for the checkpoint in {cache}") from None
        raise
