"""A contact sheet: one PNG of the results' thumbnails, numbered as in the results table, names below
(and the same grid of a person's faces: `photoseek people show`).

Shown inline only where the terminal has an image protocol (kitty, iTerm2, WezTerm); elsewhere the
REPL prints the PNG's path.
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from photoseek.errors import PhotoseekError
from photoseek.results import SearchResult

if TYPE_CHECKING:
    from PIL import Image

THUMB = 192
LABEL_HEIGHT = 34
COLUMNS = 5


def _open_thumbnail(path: str | os.PathLike, size: int) -> "Image.Image | None":
    """The photo upright at `size` px (the decoder's orientation rules: HEIF, RAW, JPEG XL), or None."""
    from photoseek.ingest.decode import upright_image

    try:
        image = upright_image(path, size * 2)  # (JPEG: decoded at reduced size)
        image.thumbnail((size, size))
        return image
    except (PhotoseekError, OSError, ValueError):
        return None


def make_contact_sheet(
    results: Sequence[SearchResult],
    out_path: str | os.PathLike,
    *,
    thumb: int = THUMB,
    columns: int = COLUMNS,
    thumbnail_path: Callable[[int], Path | None] | None = None,
) -> Path:
    """Write the sheet to `out_path` (PNG). `thumbnail_path(id)` may point at the library's cached
    thumbnails (faster than decoding originals); a photo that cannot be read gets a grey tile."""
    if not results:
        raise ValueError("no results to put on a contact sheet")
    cells = []
    for index, result in enumerate(results):
        image = _open_thumbnail(source, thumb) if (source := _cached_thumbnail(thumbnail_path, result.id)) else None
        cells.append((image or _open_thumbnail(result.path, thumb), f"#{index + 1}", Path(result.path).name,
                      f"id {result.id}"))
    return draw_sheet(cells, out_path, thumb=thumb, columns=columns)


def draw_sheet(cells: "Sequence[tuple[Image.Image | None, str, str, str]]", out_path: str | os.PathLike, *,
               thumb: int = THUMB, columns: int = COLUMNS) -> Path:
    """A PNG grid of (image or None for a grey tile, badge, first line, second line) cells: the
    results' sheet above, and a person's faces (`photoseek people show`)."""
    from PIL import Image, ImageDraw, ImageFont

    if not cells:
        raise ValueError("nothing to put on a contact sheet")
    columns = max(1, min(columns, len(cells)))
    rows = (len(cells) + columns - 1) // columns
    cell_w, cell_h = thumb + 8, thumb + LABEL_HEIGHT + 8
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for index, (image, badge, first, second) in enumerate(cells):
        x0, y0 = (index % columns) * cell_w + 4, (index // columns) * cell_h + 4
        if image is None:
            draw.rectangle([x0, y0, x0 + thumb - 1, y0 + thumb - 1], fill=(80, 80, 80))
        else:
            if max(image.size) > thumb:
                image = image.copy()
                image.thumbnail((thumb, thumb))
            elif max(image.size) < thumb // 2:  # a small face crop: drawn larger
                scale = thumb / max(image.size)
                image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
            sheet.paste(image, (x0 + (thumb - image.width) // 2, y0 + (thumb - image.height) // 2))
        if badge:
            draw.rectangle([x0, y0, x0 + 6 + 6 * len(badge), y0 + 16], fill=(0, 0, 0))
            draw.text((x0 + 4, y0 + 3), badge, fill=(255, 255, 255), font=font)
        draw.text((x0, y0 + thumb + 4), _fit(first, 30), fill=(220, 220, 220), font=font)
        draw.text((x0, y0 + thumb + 18), _fit(second, 30), fill=(150, 150, 150), font=font)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_path, "PNG")
    return out_path


def _cached_thumbnail(thumbnail_path: Callable[[int], Path | None] | None, photo_id: int) -> Path | None:
    """The library's cached thumbnail, if it has one; the sheet falls back to the original on any trouble."""
    if thumbnail_path is None:
        return None
    try:
        return thumbnail_path(photo_id)
    except (PhotoseekError, OSError, LookupError, TypeError, ValueError):
        return None


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def inline_image_protocol(environ: dict[str, str] | None = None) -> str | None:
    """"kitty" or "iterm" when the terminal can draw images inline, else None."""
    env = os.environ if environ is None else environ
    if env.get("KITTY_WINDOW_ID") or env.get("TERM") == "xterm-kitty":
        return "kitty"
    if env.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm") or env.get("LC_TERMINAL") == "iTerm2":
        return "iterm"
    return None


def inline_image_escape(png: bytes, protocol: str) -> str:
    """The escape sequence that draws `png` inline (kitty graphics protocol or iTerm2's OSC 1337)."""
    data = base64.b64encode(png).decode("ascii")
    if protocol == "iterm":
        return f"\x1b]1337;File=inline=1;size={len(png)};preserveAspectRatio=1:{data}\x07"
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)] or [""]
    out = []
    for i, chunk in enumerate(chunks):
        more = 1 if i < len(chunks) - 1 else 0
        head = f"a=T,f=100,m={more}" if i == 0 else f"m={more}"
        out.append(f"\x1b_G{head};{chunk}\x1b\\")
    return "".join(out)


def show_inline(path: Path, stream=None) -> bool:
    """Draw the PNG inline if the terminal supports it; False when it does not."""
    stream = stream or sys.stdout
    protocol = inline_image_protocol()
    if protocol is None or not getattr(stream, "isatty", lambda: False)():
        return False
    stream.write(inline_image_escape(path.read_bytes(), protocol) + "\n")
    stream.flush()
    return True
