"""Hand-made models and records for the generate/train tests (no hub, no ETL run needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from minutes.io import write_jsonl

SPEAKERS = ["Alice", "Bob", "Carol"]


def tiny_t5(dest: Path, seed: int = 0) -> Path:
    """A tiny random T5 (the Flan-T5 code path) with the vocabulary-free ByT5 tokenizer."""
    import torch
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    torch.manual_seed(seed)
    cfg = T5Config(vocab_size=384, d_model=32, d_ff=64, d_kv=8, num_layers=2, num_decoder_layers=2,
                   num_heads=2, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
                   relative_attention_num_buckets=8)
    model = T5ForConditionalGeneration(cfg)
    model.save_pretrained(dest)
    ByT5Tokenizer().save_pretrained(dest)
    return dest


def utterances(meeting_id: str = "M1", n: int = 12, split: str = "train") -> list[dict[str, Any]]:
    return [{"meeting_id": meeting_id, "idx": i, "speaker": SPEAKERS[i % 3], "start": 10.0 * i,
             "end": 10.0 * i + 9, "text": f"utterance {i} of {meeting_id} talks about topic {i // 3}",
             "source": "manual", "timing": "estimated", "domain": "Product", "split": split}
            for i in range(n)]


def chunks(utts: list[dict[str, Any]], size: int = 3) -> list[dict[str, Any]]:
    out = []
    for n, lo in enumerate(range(0, len(utts), size)):
        part = utts[lo:lo + size]
        out.append({"chunk_id": f"{part[0]['meeting_id']}#{n:04d}", "meeting_id": part[0]["meeting_id"],
                    "split": part[0]["split"], "domain": "Product", "utt_start": part[0]["idx"],
                    "utt_end": part[-1]["idx"], "speakers": sorted({u["speaker"] for u in part}),
                    "start": part[0]["start"], "end": part[-1]["end"],
                    "text": "\n".join(f"{u['speaker']}: {u['text']}" for u in part),
                    "n_tokens": 10 * len(part), "source": "manual"})
    return out


def queries(meeting_id: str = "M1", split: str = "train") -> list[dict[str, Any]]:
    return [
        {"query_id": f"{meeting_id}/general/0", "meeting_id": meeting_id, "query": "Summarize the whole meeting.",
         "answer": "They discussed topics zero to three.", "kind": "general", "spans": [], "split": split,
         "domain": "Product"},
        {"query_id": f"{meeting_id}/specific/0", "meeting_id": meeting_id,
         "query": "What was said about topic two?", "answer": "Topic two came up in utterances seven and eight.",
         "kind": "specific", "spans": [[7, 8]], "split": split, "domain": "Product"},
        {"query_id": f"{meeting_id}/specific/1", "meeting_id": meeting_id,
         "query": "What opened the meeting?", "answer": "Utterance zero opened it.",
         "kind": "specific", "spans": [[0, 1]], "split": split, "domain": "Product"},
    ]


def scripted_retrieve(order: dict[str, list[dict[str, Any]]]):
    """A retrieve function returning a fixed ranking of each meeting's chunks (a retriever
    whose answer the test controls, so gold insertion is observable)."""
    from minutes.generate.context import chunk_to_hit

    def retrieve(questions: list[str], meeting_ids: list[str], k: int) -> list[list[dict[str, Any]]]:
        return [[chunk_to_hit(c, rank=i + 1, score=1.0 / (i + 1)) for i, c in enumerate(order[m][:k])]
                for m in meeting_ids]

    return retrieve


def write_etl(work_dir: Path, meetings: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Write queries.jsonl and utterances.jsonl for meetings {id: split}; returns chunks per meeting."""
    etl = work_dir / "etl"
    all_utts, all_queries, by_meeting = [], [], {}
    for mid, split in meetings.items():
        utts = utterances(mid, split=split)
        all_utts += utts
        all_queries += queries(mid, split)
        by_meeting[mid] = chunks(utts)
    write_jsonl(etl / "utterances.jsonl", all_utts)
    write_jsonl(etl / "queries.jsonl", all_queries)
    return by_meeting
