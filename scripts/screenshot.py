"""docs/screenshot.png: the real page showing a search's results with their match levels and reasons.

    .venv/bin/python scripts/screenshot.py                      # "a cat" in the demo library -> docs/screenshot.png
    .venv/bin/python scripts/screenshot.py --query "a hot drink" --out /tmp/shot.png --llm none

Builds a library of the photos scikit-image ships (the demo's photos, `photoseek.demo`), indexes it
with the real `photoseek index`, starts the real `photoseek serve` on a free loopback port, types
the query into the page and presses Search in Chromium (Playwright driving Debian's
/usr/bin/chromium, as tests/test_web_browser.py does), and saves the page as a small palette PNG.
With the default LLM the page offers Ask as a user sees it (the server loads the model in the
background; Search does not use it); `--llm none` leaves Ask disabled. Nothing here is faked.
"a cat" shows one strong match and nine weak ones, each with its reason (~30 s on 2 cores).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def photoseek(*args: str) -> list[str]:
    return [sys.executable, "-m", "photoseek.cli", *args]


def small_png(png: bytes, colours: int) -> bytes:
    """A palette PNG (photos dithered to `colours`): a README image of ~100 KB instead of ~1 MB."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        palette = image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.FLOYDSTEINBERG)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def shoot(url: str, query: str, width: int, height: int) -> bytes:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            page.fill("#q", query)
            page.click("#search-button")
            page.wait_for_selector(".card img")
            page.wait_for_function("document.querySelector('#answer').textContent.trim().length > 0")
            # every thumbnail on screen has loaded (a broken one never does: Playwright's timeout)
            page.wait_for_function("Array.from(document.querySelectorAll('.card img'))"
                                   ".every(i => i.complete && i.naturalWidth > 0)")
            page.evaluate("document.activeElement && document.activeElement.blur()")  # no caret in the box
            return page.screenshot()
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--query", default="a cat")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshot.png")
    parser.add_argument("--llm", default="llamacpp", help="the server's LLM (default: the embedded one; none: no Ask)")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--colours", type=int, default=128, help="palette size of the PNG (smaller file, more dither)")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")

    from photoseek.demo import demo_photos_dir
    from tests.web_support import photoseek_serve  # the real `photoseek serve`, stopped with Ctrl-C

    env = dict(os.environ, PHOTOSEEK_PROGRESS="0")
    if args.llm == "llamacpp":
        # assembled here, once, into the model cache (~1 GB, as `make demo` does): the server's
        # background warm-up then only loads it, and stopping the server cannot cut the copy short
        from photoseek.llm.llamacpp import assemble_default_model

        assemble_default_model()
    with tempfile.TemporaryDirectory(prefix="photoseek-screenshot-") as root:
        library = Path(root) / "library"
        photos = demo_photos_dir(Path(root))  # the demo's photos, copied from scikit-image's wheel
        subprocess.run(photoseek("--library", str(library), "--llm", "none", "index", str(photos)),
                       check=True, env=env)  # fmt: skip
        serve = ["--library", str(library), "--llm", args.llm, "serve"]
        with photoseek_serve(serve, timeout_s=120, env=env) as (url, _):
            png = shoot(url + "/", args.query, args.width, args.height)
    data = small_png(png, args.colours)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data) / 1024:.0f} KB ({len(png) / 1024:.0f} KB before the palette)")


if __name__ == "__main__":
    main()
