"""OCR on extreme shapes: seconds, lines read and peak memory per photo, each in its own process.

    python bench/ocr_shapes.py                 # all shapes, 6 GiB address-space cap per process
    python bench/ocr_shapes.py --cap-gib 0     # no cap (careful: see the strip's line in issue 11)

Each shape runs in a fresh subprocess under RLIMIT_AS (so the figure is that photo's own peak, and
an allocation past the cap is a MemoryError instead of the OOM killer). Printed per shape: size,
tiles, seconds of `TextReader.read` (model load excluded: one warm-up read first), lines read, how
many of the expected "MESSAGE n" lines were read, and the process's peak RSS (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SHAPES = {
    "strip 12800x10": "Image.new('RGB', (12800, 10), (250, 160, 40))",
    "tall strip 10x12800": "Image.new('RGB', (10, 12800), (40, 160, 250))",
    "chat 790x36861": "screenshot((790, 36861))",
    "chat 600x7300": "screenshot((600, 7300))",
    "sign 640x360": "screenshot((640, 360), every=1000, start=160)",
    "photo 4000x3000": "screenshot((4000, 3000), every=1000, start=1400, font_size=200)",
}

CHILD = r"""
import json, re, resource, sys, time
cap = int(sys.argv[1])
if cap:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from PIL import Image, ImageDraw
from tests.annotate_support import bold_font
from photoseek.vision.ocr import TextReader, tile_boxes

def screenshot(size, every=600, start=100, font_size=28):
    image = Image.new("RGB", size, (255, 255, 255))
    draw, font = ImageDraw.Draw(image), bold_font(font_size)
    for n, y in enumerate(range(start, size[1] - font_size, every)):
        draw.text((40, y), f"MESSAGE {n}", font=font, fill=(20, 20, 20))
    return image, n + 1

made = eval(sys.argv[2])
image, expected = made if isinstance(made, tuple) else (made, 0)
reader = TextReader()
reader.read(screenshot((320, 120), every=1000, start=40)[0])  # load the models: not timed
started = time.perf_counter()
try:
    result = reader.read(image)
    error = None
except MemoryError as exc:
    result, error = None, f"MemoryError: {exc}"
seconds = time.perf_counter() - started
read = set()
for line in (result.lines if result else []):
    m = re.fullmatch(r"MESSAGE\s*([0-9O]+)", line.text.strip().upper())
    if m:
        read.add(int(m.group(1).replace("O", "0")))
print(json.dumps({"size": list(image.size), "tiles": len(tile_boxes(*image.size)), "seconds": round(seconds, 2),
                  "lines": len(result.lines) if result else None, "messages": f"{len(read)}/{expected}",
                  "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "error": error}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-gib", type=float, default=6.0, help="RLIMIT_AS per process in GiB (0: none)")
    parser.add_argument("--only", default="", help="shapes whose name starts with this")
    options = parser.parse_args()
    cap = int(options.cap_gib * 2**30)
    print(f"{'shape':<22} {'tiles':>5} {'seconds':>8} {'lines':>6} {'MESSAGE n':>10} {'peak MiB':>9}  error")
    for name, expression in SHAPES.items():
        if not name.startswith(options.only):
            continue
        proc = subprocess.run([sys.executable, "-c", CHILD, str(cap), expression], cwd=ROOT, capture_output=True,
                              text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        if proc.returncode != 0:
            print(f"{name:<22} failed rc {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{name:<22} {r['tiles']:>5} {r['seconds']:>8.2f} {r['lines']!s:>6} {r['messages']:>10} "
              f"{r['peak_mib']:>9}  {r['error'] or ''}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
