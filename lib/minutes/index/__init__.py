"""The embedding index (20_index): chunks -> vectors -> FAISS, plus BM25 and hybrid retrieval.

Stages and the service use two entry points: `minutes.index.build.build_index(params)` (the
cached stage) and `minutes.index.retriever.Retriever.open(params)` (search, add meetings).
Modules are split the way data flows: chunks (load, validate) -> embed / onnx_int8 / ray_embed
(vectors; model_identity names the model that made them) -> faiss_index + store (FAISS on disk, versions, manifest) -> retriever (dense, BM25,
hybrid) -> metrics / evaluate / backends (how good and how fast it is) -> report (the
notebook's tables).
"""
