"""The Minutes service: a FastAPI RAG API over the live index (50_deploy, 60_demo).

Data flows through these modules in order: `corpus` (meetings and utterances the service can
cite) -> `answering` (retrieve, then answer generatively or extractively, with sources) and
`minutes_doc` (summary, decisions, action items) -> `ingest` (new meetings into the live index)
-> `app` (HTTP routes, validation, metrics) -> `__main__` (uvicorn). `loadtest`, `client`
(HTTP), `payloads` (/ask bodies from real questions), `prometheus_text` (reading /metrics),
`deploy` and `demo` are what the notebooks call against a running service.
"""
