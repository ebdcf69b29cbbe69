"""Search: ranks a catalog's photos for a query, with the evidence that explains each result.

engine (hybrid text search, query by example, composed retrieval, relevance feedback, OCR
full text), filters (dates, tags, time of day, people), query_attributes (attributes asked for in
words), duplicates. Given its parts (catalog, vector store, embedder, a translate step), never the
Library. Imports: core, vision, store.
"""
