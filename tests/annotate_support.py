"""Helpers for tests/test_annotate_*.py: photos made with PIL, and a library indexed for real."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def bold_font(size: int):
    """DejaVu Sans Bold when installed (apt fonts-dejavu-core), else PIL's own scalable default."""
    if DEJAVU_BOLD.exists():
        return ImageFont.truetype(str(DEJAVU_BOLD), size)
    return ImageFont.load_default(size=size)


def text_image(text: str, size=(640, 360), background=(20, 110, 50), colour=(255, 255, 255)) -> Image.Image:
    """Big bold text centred on a plain background, like a sign."""
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    font = bold_font(int(size[1] * 0.3))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (size[0] - (right - left)) // 2 - left
    y = (size[1] - (bottom - top)) // 2 - top
    draw.text((x, y), text, font=font, fill=colour)
    return image


def write_text_photos(folder: Path, words: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, word in enumerate(words):
        path = folder / f"sign_{i:02d}.jpg"
        text_image(word, background=(20 + 30 * i % 200, 90, 60)).save(path, quality=92)
        paths.append(path)
    return paths


def indexed_library(library_dir: Path, photos_dir: Path, **library_args):
    """A Library over `photos_dir`, stage 1 done with the real default embedder, nothing annotated."""
    from photoseek.library import Library

    library_args.setdefault("llm", None)
    library_args.setdefault("captioner", "template")
    library = Library(library_dir, **library_args)
    library.index([photos_dir], annotate=False)
    return library


def photo_id(library, path: Path) -> int:
    return library.catalog.resolve_photo(str(path))["id"]
