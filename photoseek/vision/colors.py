"""Dominant colour tags from pixels: people say "a red bus", and ImageNet labels carry no colour.

Pixels are binned into the basic colour terms in HSV; a colour becomes a tag when it covers a
sizeable share of the (centre-weighted) image. Cheap: works on the thumbnail-sized decode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

COLOR_ANNOTATOR_ID = "hsv-bins-v1"
MIN_SHARE = 0.12  # of the weighted pixels


def color_shares(image: "Image.Image") -> dict[str, float]:
    import numpy as np

    small = image.convert("RGB").resize((64, 64))
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32) / 255.0
    h, s, v = hsv[..., 0] * 360.0, hsv[..., 1], hsv[..., 2]
    yy, xx = np.mgrid[0:64, 0:64]
    # Centre weighting: the subject is usually central; borders are often background.
    weight = np.exp(-(((xx - 31.5) / 28) ** 2 + ((yy - 31.5) / 28) ** 2))
    labels = np.full(h.shape, "", dtype=object)
    chromatic = (s >= 0.25) & (v >= 0.2)
    labels[(v < 0.2)] = "black"
    labels[(~chromatic) & (v >= 0.2) & (v < 0.75)] = "gray"
    labels[(~chromatic) & (v >= 0.75)] = "white"
    hue_bins = [(0, 15, "red"), (15, 40, "orange"), (40, 70, "yellow"), (70, 170, "green"), (170, 260, "blue"),
                (260, 290, "purple"), (290, 340, "pink"), (340, 361, "red")]
    for lo, hi, name in hue_bins:
        labels[chromatic & (h >= lo) & (h < hi)] = name
    # Dark, desaturated orange reads as brown.
    labels[chromatic & (h >= 10) & (h < 45) & (v < 0.6)] = "brown"
    total = float(weight.sum())
    return {name: float(weight[labels == name].sum()) / total for name in set(labels.ravel()) if name}


def color_tags(image: "Image.Image", min_share: float = MIN_SHARE) -> list[tuple[str, float]]:
    shares = color_shares(image)
    return sorted(((c, round(share, 3)) for c, share in shares.items() if share >= min_share), key=lambda t: -t[1])
