#!/usr/bin/env python3
"""Recall of the OCR text gate (photoseek.vision.text_gate) against full OCR, and what it saves.

    .venv/bin/python bench/text_gate.py [--photos 200] [--save ocr.json | --baseline ocr.json] [--json]

Full OCR (RapidOCR, as the annotator ran it before the gate: the photo at up to 1280 px) runs on
the first --photos COCO photos of ../shared/data/coco-captions, and on rendered signs (the words
of tests/test_annotate_ocr.py and a few more, as tests/annotate_support.text_image draws them).
A photo is an OCR hit when full OCR keeps at least one line (`lines`), a text-tag hit when it
earns the "text" tag. The gate's recall is the share of hits it lets through; its pass rate the
share of all photos it sends to OCR (the cost that remains). --save writes the full-OCR results,
--baseline reads them instead of running OCR again (it is the slow part: ~1 s a photo).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
COCO = REPO.parent / "shared" / "data" / "coco-captions" / "images"
SIGN_WORDS = ["EXIT", "STOP", "Hi", "OPEN 24h", "Café", "No parking", "42", "SALE -50%"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--save", help="write the full-OCR results here (JSON)")
    parser.add_argument("--baseline", help="read full-OCR results from here instead of running OCR")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not COCO.exists():
        print(f"{COCO} not found: the benchmark needs the shared COCO photos", file=sys.stderr)
        return 2
    from photoseek.ingest.decode import decode_photo
    from photoseek.ingest.pipeline import WORK_LONG_SIDE
    from photoseek.vision.ocr import TextReader
    from photoseek.vision.text_gate import MIN_TEXT_PIXELS, TextGate
    from tests.annotate_support import text_image

    items = [(p.name, lambda p=p: decode_photo(p, target_size=256, work_size=WORK_LONG_SIDE).pixels)
             for p in sorted(COCO.glob("*.jpg"))[: args.photos]]
    items += [(f"sign:{w}", lambda w=w: text_image(w)) for w in SIGN_WORDS]
    items += [(f"sign-12mp:{w}", lambda w=w: text_image(w, size=(4000, 3000))) for w in SIGN_WORDS[:3]]
    baseline = json.loads(Path(args.baseline).read_text()) if args.baseline else {}
    reader, gate = TextReader(threads=1), TextGate()
    rows, ocr_cpu, gate_cpu = [], 0.0, 0.0
    for name, load in items:
        image = load()
        if name in baseline:
            full = baseline[name]
        else:
            started = time.process_time()
            result = reader.read(image)
            ocr_cpu += time.process_time() - started
            full = {"lines": [line.text for line in result.lines], "text_tag": result.has_readable_text}
            baseline[name] = full
        started = time.process_time()
        score = gate.text_score(image)
        gate_cpu += time.process_time() - started
        rows.append({"photo": name, "score": score, "ocr_lines": len(full["lines"]), "text_tag": full["text_tag"]})
    if args.save:
        Path(args.save).write_text(json.dumps(baseline))

    def summary(threshold: int, subset) -> dict:
        chosen = [r for r in rows if subset(r)]
        hits = [r for r in chosen if r["ocr_lines"]]
        tagged = [r for r in chosen if r["text_tag"]]
        passed = [r for r in chosen if r["score"] >= threshold]
        return {
            "photos": len(chosen),
            "ocr_hits": len(hits),
            "hits_kept": sum(r["score"] >= threshold for r in hits),
            "recall_ocr_hits": round(sum(r["score"] >= threshold for r in hits) / len(hits), 3) if hits else None,
            "text_tag_photos": len(tagged),
            "recall_text_tag": round(sum(r["score"] >= threshold for r in tagged) / len(tagged), 3) if tagged else None,
            "pass_rate": round(len(passed) / len(chosen), 3) if chosen else None,
        }

    report = {
        "threshold": MIN_TEXT_PIXELS,
        "coco": summary(MIN_TEXT_PIXELS, lambda r: not r["photo"].startswith("sign")),
        "signs": summary(MIN_TEXT_PIXELS, lambda r: r["photo"].startswith("sign")),
        "gate_cpu_ms_per_photo": round(1000 * gate_cpu / len(rows), 1),
        "sweep": {t: summary(t, lambda r: not r["photo"].startswith("sign")) for t in (1, 4, 8, 12, 24, 48, 96)},
        "missed": [r for r in rows if r["ocr_lines"] and r["score"] < MIN_TEXT_PIXELS],
    }
    if ocr_cpu:
        report["ocr_cpu_ms_per_photo_run"] = round(1000 * ocr_cpu / len(rows), 1)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for part in ("coco", "signs"):
            s = report[part]
            print(f"{part:6s} {s['photos']:4d} photos: full OCR reads text in {s['ocr_hits']}, gate keeps "
                  f"{s['hits_kept']} (recall {s['recall_ocr_hits']}), text-tag recall {s['recall_text_tag']}, "
                  f"sends {s['pass_rate']} of photos to OCR")
        print(f"gate {report['gate_cpu_ms_per_photo']} ms CPU a photo (threshold {MIN_TEXT_PIXELS} px)")
        for t, s in report["sweep"].items():
            print(f"  threshold {t:3d}: recall {s['recall_ocr_hits']}  text-tag recall {s['recall_text_tag']}  pass rate {s['pass_rate']}")
        for r in report["missed"]:
            print(f"  missed {r['photo']}: score {r['score']}, {r['ocr_lines']} OCR lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
