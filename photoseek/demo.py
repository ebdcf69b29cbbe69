"""`photoseek demo`: index the real photos that scikit-image ships and show a few searches.

The photos are copied (once) into the demo library's `photos/` folder under their own names, so the
demo shows exactly what a user's first run looks like.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# Photographs (not diagrams or microscopy) bundled inside scikit-image's wheel.
DEMO_PHOTOS = {
    "astronaut.png": "astronaut Eileen Collins",
    "chelsea.png": "Chelsea the cat",
    "coffee.png": "a cup of coffee",
    "rocket.jpg": "a rocket on the launch pad",
    "motorcycle_left.png": "a motorcycle",
    "hubble_deep_field.jpg": "the Hubble deep field",
    "camera.png": "a cameraman (greyscale)",
    "page.png": "a page of text",
    "text.png": "text on a picture",
    "horse.png": "a horse silhouette",
}

DEMO_QUERIES = ["a cat", "a hot drink", "space rocket", "a person", "motorbike"]


def demo_photos_dir(library_dir: "Path | str") -> Path:
    import skimage

    library_dir = Path(library_dir)
    source = Path(skimage.__file__).parent / "data"
    target = library_dir / "demo-photos"
    target.mkdir(parents=True, exist_ok=True)
    for name in DEMO_PHOTOS:
        if (source / name).exists() and not (target / name).exists():
            shutil.copy2(source / name, target / name)
    return target


def run_demo(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from photoseek.config import default_library_dir
    from photoseek.library import Library
    from photoseek.progress import RichProgress

    console = Console()
    library_dir = Path(args.library) if args.library else default_library_dir().parent / "demo"
    llm = None if getattr(args, "no_llm", False) or args.llm == "none" else args.llm
    lib = Library(library_dir, embedder=args.embedder, llm=llm, captioner="local" if llm else "template")
    photos = demo_photos_dir(library_dir)
    console.rule("[bold]photoseek demo")
    console.print(f"Library: {library_dir}\nPhotos:  {photos} ({len(list(photos.iterdir()))} files from scikit-image)")
    report = lib.index([photos], progress=RichProgress())
    counts, stages = report.summary()
    # seconds: the whole run (decode, embed, tags, time, colours, faces, OCR), not stage 1 alone
    console.print(f"Indexed: {counts}; whole run {report.seconds:.1f} s" + (f" ({stages})" if stages else ""))
    for query in DEMO_QUERIES:
        results = lib.search(query, k=3)
        table = Table(title=f"search {query!r}")
        for col in ("#", "score", "photo", "matched tags"):
            table.add_column(col)
        for rank, r in enumerate(results, 1):
            table.add_row(str(rank), f"{r.score:.3f}", Path(r.path).name, ", ".join(r.evidence.matched_tags[:4]))
        console.print(table)
    chelsea = photos / "chelsea.png"
    console.print(table_like(lib, chelsea))
    import time

    started = time.perf_counter()
    caption = lib.caption(str(chelsea))  # on demand: written now (the LLM when there is one), then kept
    console.print(f"caption chelsea.png (on demand, {time.perf_counter() - started:.1f} s): {caption}")
    if llm:
        # the first with the model's own wording of the reasons (as `chat` shows them), the second with
        # the reasons composed from the evidence (what `photoseek ask` prints by default, instantly)
        for message, explain in (("猫的照片", "model"), ("photos with text in them", "evidence")):
            console.rule(f"ask {message!r} --explain {explain}")
            answer = lib.ask(message, explain=explain)
            console.print(answer.answer)
            for rank, r in enumerate(answer.results[:3], 1):
                console.print(f"  {rank}. {Path(r.path).name}: {r.explanation}")
    console.rule()
    console.print(f"Try: photoseek --library {library_dir} search \"a cat\"   or   photoseek --library {library_dir} chat")
    return 0


def table_like(lib, reference: Path):
    from rich.table import Table

    table = Table(title=f"search --like {reference.name}")
    for col in ("#", "score", "photo"):
        table.add_column(col)
    for rank, r in enumerate(lib.search(like=str(reference), k=3), 1):
        table.add_row(str(rank), f"{r.score:.3f}", Path(r.path).name)
    return table
