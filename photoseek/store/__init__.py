"""Storage: the SQLite catalog (the source of truth) and the FAISS vector caches derived from it.

catalog (schema, migrations, WAL), tags (a photo's tags with the user's word applied), feedback
(the user's word on tags), annotations (annotator results written as rows), vectors (FAISS per
space, stamped with a generation), lock (one writer per library). Imports: core and vision only.
"""
