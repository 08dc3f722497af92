"""The embedding index (20_index): chunks -> vectors -> FAISS, plus BM25 and hybrid retrieval.

Stages and the service use two entry points: `minutes.index.build.build_index(params)` (the
cached stage) and `minutes.index.retriever.Retriever.open(params)` (search, add meetings).
Modules are split the way data flows: chunks (load, validate) -> embed (vectors) -> store (FAISS
on disk) -> retriever (dense, BM25, hybrid) -> metrics/evaluate (how good it is).
"""
