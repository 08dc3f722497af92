"""What is scored: the split's queries (a stable sample) and the context every system sees.

All systems answer the same queries from the same transcript excerpts, chosen the way training
chose them (minutes.train.pairs): specific questions get the retriever's top chunks within the
query's meeting; "summarize the meeting" questions get chunks spread over the meeting. Contexts
are computed once and stored (contexts.jsonl), so the extractive baseline and every generator
are compared on identical evidence.
"""
from __future__ import annotations

import hashlib
import statistics
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from minutes import schema
from minutes.config import Params
from minutes.schema import Hit, Query

#: kind -> task the generator is asked for (as in training pairs)
TASK_OF_KIND = {"general": "minutes", "specific": "answer"}
#: Used when the train split is absent (answer lengths of QMSum train, rounded).
FALLBACK_WORDS = {"general": 110, "specific": 70}


class EvaluationDataMissing(FileNotFoundError):
    """An upstream product the evaluation needs is absent; the message says which notebook makes it."""


def etl_paths(params: Params) -> dict[str, Path]:
    etl = params.stage_dir("etl")
    return {"queries": etl / schema.QUERIES, "chunks": etl / schema.CHUNKS}


def load_split_queries(params: Params, split: str | None = None) -> list[Query]:
    """The split's queries from queries.jsonl, with a clear error when the split is absent."""
    from minutes.train.pairs import load_queries

    split = split or params.evaluate.split
    path = etl_paths(params)["queries"]
    if not path.is_file():
        raise EvaluationDataMissing(f"{path}: no queries; run notebook 10_etl for profile {params.profile!r}")
    queries = load_queries(path, [split])
    if not queries:
        hint = (" Add 'test' to data.qmsum.splits and place QMSum's test folder beside train/ and val/ "
                f"under {params.data.qmsum.path}, then re-run 10_etl." if split == "test" else "")
        raise EvaluationDataMissing(f"{path}: no queries of split {split!r}.{hint}")
    return queries


def sample(queries: Sequence[Query], n: int | None) -> list[Query]:
    """At most `n` queries in a stable, hash-determined order (same sample on every machine)."""
    ordered = sorted(queries, key=lambda q: hashlib.sha1(q["query_id"].encode()).hexdigest())
    return list(ordered if n is None else ordered[:n])


def typical_answer_words(params: Params) -> dict[str, int]:
    """Extractive answer budget per kind: params, else the median train answer length."""
    from minutes.train.pairs import load_queries

    out = dict(FALLBACK_WORDS)
    path = etl_paths(params)["queries"]
    if path.is_file():
        train = load_queries(path, ["train"])
        for kind in out:
            lengths = [len(q["answer"].split()) for q in train if q["kind"] == kind]
            if lengths:
                out[kind] = int(statistics.median(lengths))
    out.update(params.evaluate.extractive_words)
    return out


def load_chunks_by_meeting(params: Params, meeting_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    import pandas as pd

    from minutes.train.pairs import group_chunks

    path = etl_paths(params)["chunks"]
    if not path.is_file():
        raise EvaluationDataMissing(f"{path}: no chunks; run notebook 10_etl for profile {params.profile!r}")
    df = pd.read_parquet(path)
    df = df[df["meeting_id"].isin(meeting_ids)]
    return group_chunks(df.to_dict("records"))


def retrieval_settings(params: Params) -> dict[str, Any]:
    e, t = params.evaluate, params.train
    return {"method": e.retrieval_method or t.retrieval_method, "k": e.k or t.retrieved_chunks,
            "within_meeting": e.within_meeting}


def build_contexts(queries: Sequence[Query], chunks_by_meeting: Mapping[str, Sequence[Mapping[str, Any]]],
                   retrieve: Callable[[list[str], list[str | None], int], list[list[Hit]]], k: int,
                   ) -> list[dict[str, Any]]:
    """One record per query: the query's fields, its task and the hits every system will read.

    Queries whose meeting has no chunks are dropped (they cannot be answered from the index)."""
    from minutes.generate.context import overview_hits

    usable = [q for q in queries if chunks_by_meeting.get(q["meeting_id"])]
    specific = [q for q in usable if q["kind"] == "specific"]
    found = retrieve([q["query"] for q in specific], [q["meeting_id"] for q in specific], k) if specific else []
    if len(found) != len(specific):
        raise RuntimeError(f"retriever returned {len(found)} hit lists for {len(specific)} questions")
    hits_of = {q["query_id"]: list(h)[:k] for q, h in zip(specific, found)}
    out = []
    for q in usable:
        hits = (overview_hits(chunks_by_meeting[q["meeting_id"]], k) if q["kind"] == "general"
                else hits_of[q["query_id"]])
        out.append({**q, "task": TASK_OF_KIND[q["kind"]], "hits": [_plain_hit(h) for h in hits]})
    return out


def _plain_hit(hit: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-able hit (numpy scalars and arrays from parquet become Python values)."""
    out = {}
    for key, value in hit.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        out[key] = value
    out["speakers"] = [str(s) for s in out.get("speakers") or []]
    return out


def retriever_search(params: Params) -> Callable[[list[str], list[str | None], int], list[list[Hit]]]:
    """The index's retriever as the `retrieve` callable `build_contexts` takes."""
    from minutes.index.retriever import Retriever

    settings = retrieval_settings(params)
    try:
        retriever = Retriever.open(params)
    except FileNotFoundError as exc:
        raise EvaluationDataMissing(f"no index in {params.stage_dir('index')}: run notebook 20_index "
                                    f"for profile {params.profile!r} ({exc})") from exc

    def retrieve(questions: list[str], meeting_ids: list[str | None], k: int) -> list[list[Hit]]:
        ids = meeting_ids if settings["within_meeting"] else None
        return retriever.search_many(questions, k, ids, method=settings["method"], progress=len(questions) > 50)

    retrieve.index_version = retriever.version  # type: ignore[attr-defined]
    return retrieve
