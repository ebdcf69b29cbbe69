"""Ingest: scan → decode → embed/annotate → commit to the catalog.

scan (mark-and-sweep of the photo folders), decode (one decode per photo, thumbnails, EXIF),
indexer (stage 1: vectors, classifier tags, metadata; searchable when it ends), annotate
(stage 2: faces, OCR, time of day, colours, captions), all writing through `photoseek.store`.
Imports: core, vision, llm, store.
"""
