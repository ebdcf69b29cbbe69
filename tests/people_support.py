"""Face photos that may ship: two real people, each in several looks, and group photos of both.

Eileen Collins is scikit-image's `data.astronaut()` (NASA, public domain); Grace Hopper is
tests/data/grace_hopper.jpg (U.S. Navy, public domain; see tests/data/README.md). Each look is a
transformation of the one photo (blurred, widened, narrowed) that dlib's descriptor places 0.3-0.47
from the others: different face images of one person, as clustering must see them (two copies of one
image are one face). The two people are more than 0.56 apart. Never use the evaluation faces of
../shared/data/faces here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import skimage.data
from PIL import Image, ImageFilter

DATA = Path(__file__).parent / "data"


def eileen() -> Image.Image:
    return Image.fromarray(skimage.data.astronaut()).convert("RGB")


def grace() -> Image.Image:
    with Image.open(DATA / "grace_hopper.jpg") as image:
        return image.convert("RGB")


def looks(image: Image.Image, names: tuple[str, ...] = ("orig", "wide", "narrow")) -> dict[str, Image.Image]:
    w, h = image.size
    made = {"orig": image, "wide": image.resize((int(w * 1.35), h)), "narrow": image.resize((int(w * 0.72), h)),
            "blur": image.filter(ImageFilter.GaussianBlur(3))}
    return {name: made[name] for name in names}


def group_photo(*people: Image.Image, height: int = 480) -> Image.Image:
    """People side by side, left to right, as one photo."""
    scaled = [p.resize((round(p.width * height / p.height), height)) for p in people]
    out = Image.new("RGB", (sum(p.width for p in scaled), height), (90, 90, 90))
    x = 0
    for p in scaled:
        out.paste(p, (x, 0))
        x += p.width
    return out


def write_people_photos(folder: Path) -> dict[str, Path]:
    """eileen-{orig,wide,narrow,blur}.jpg, grace-{orig,wide,narrow}.jpg, together.jpg (Eileen left,
    Grace right) and a coffee cup (no face). Returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for who, image, names in (("eileen", eileen(), ("orig", "wide", "narrow", "blur")),
                              ("grace", grace(), ("orig", "wide", "narrow"))):
        for look, picture in looks(image, names).items():
            path = folder / f"{who}-{look}.jpg"
            picture.save(path, quality=92)
            out[f"{who}-{look}"] = path
    out["together"] = folder / "together.jpg"
    group_photo(eileen(), grace()).save(out["together"], quality=92)
    out["coffee"] = folder / "coffee.jpg"
    Image.fromarray(skimage.data.coffee()).save(out["coffee"], quality=90)
    return out


def people_library(library_dir: Path, photos_dir: Path):
    """A library of `photos_dir`, indexed with the tiny embedder (what is tested here is faces: the
    recognition is dlib's real one), annotated with people detection and face recognition only."""
    from photoseek.library import Library
    from tests.index_support import TinyEmbedder

    lib = Library(library_dir, embedder=TinyEmbedder(), llm=None)
    lib.index([photos_dir], annotate=False)
    lib.annotate(["faces", "recognition"])
    return lib


def copy_library(source: Path, target: Path, photos_dir: Path | None = None):
    from photoseek.library import Library
    from tests.index_support import TinyEmbedder

    shutil.copytree(source, target)
    for lock in target.glob("index.lock"):
        lock.unlink()
    return Library(target, embedder=TinyEmbedder(), llm=None)
