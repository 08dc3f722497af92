"""A tiny hand-written corpus in the ETL's formats: three meetings on unrelated topics, two
utterances per chunk, and specific queries with gold turn spans."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from minutes import schema
from minutes.io import write_jsonl

MEETINGS: dict[str, tuple[str, str, list[str]]] = {
    "prod1": ("Product", "train", [
        "The remote control needs a bigger battery, the current one drains in a week.",
        "Battery life is what customers complained about most in the survey.",
        "For the buttons we want rubber, in a bright yellow colour.",
        "Yellow rubber buttons would match the fruit theme of the company.",
        "The production cost has to stay under twelve euros per unit.",
        "So the budget rules out the LCD screen we talked about.",
        "Next time the industrial designer presents the prototype.",
        "I will send the minutes of this meeting to everyone.",
    ]),
    "acad1": ("Academic", "val", [
        "Our speech recognizer makes many errors on overlapping speech.",
        "The word error rate goes up to forty percent when two people talk at once.",
        "We trained the neural network acoustic model on the new close-talking microphone data.",
        "Training took three days on the cluster with the larger network.",
        "The transcription conventions for disfluencies need to be written down.",
        "Annotators mark every restart and filled pause in the transcripts.",
        "We should run the digits task again with the far-field microphones.",
        "The far-field recordings are much noisier than the headsets.",
    ]),
    "comm1": ("Committee", "val", [
        "The committee turns to school funding for the next academic year.",
        "Head teachers told us their budgets cannot cover rising energy bills.",
        "Teachers' pay will rise by three percent from September.",
        "The union says the pay award is not funded by the government.",
        "Members asked about support for pupils with special educational needs.",
        "Waiting lists for assessments are longer than a year in some councils.",
        "The minister will write to the committee with the figures.",
        "We close the session and thank the witnesses.",
    ]),
}
SPEAKERS = ["A", "B"]
QUERIES = [
    ("acad1", "How bad is the word error rate on overlapping speech?", [[0, 1]]),
    ("acad1", "How was the neural network acoustic model trained?", [[2, 3]]),
    ("comm1", "What did the committee hear about teachers' pay?", [[2, 3]]),
    ("comm1", "What was said about pupils with special educational needs?", [[4, 5]]),
]


def utterances(meeting_id: str) -> list[dict[str, Any]]:
    domain, split, texts = MEETINGS[meeting_id]
    return [{"meeting_id": meeting_id, "idx": i, "speaker": SPEAKERS[i % 2], "start": 5.0 * i,
             "end": 5.0 * i + 4.5, "text": t, "source": "manual", "timing": "estimated",
             "domain": domain, "split": split} for i, t in enumerate(texts)]


def chunks(meeting_id: str) -> list[dict[str, Any]]:
    """Two utterances per chunk, as the ETL would cut them."""
    utts = utterances(meeting_id)
    out = []
    for n, i in enumerate(range(0, len(utts), 2)):
        pair = utts[i:i + 2]
        out.append({"chunk_id": f"{meeting_id}#{n:04d}", "meeting_id": meeting_id, "split": pair[0]["split"],
                    "domain": pair[0]["domain"], "utt_start": i, "utt_end": i + len(pair) - 1,
                    "speakers": sorted({u["speaker"] for u in pair}), "start": pair[0]["start"],
                    "end": pair[-1]["end"], "text": "\n".join(f"{u['speaker']}: {u['text']}" for u in pair),
                    "n_tokens": sum(len(u["text"].split()) for u in pair), "source": "manual"})
    return out


def queries() -> list[dict[str, Any]]:
    out = []
    for n, (mid, text, spans) in enumerate(QUERIES):
        domain, split, _ = MEETINGS[mid]
        out.append({"query_id": f"{mid}/specific/{n}", "meeting_id": mid, "query": text, "answer": "-",
                    "kind": "specific", "spans": spans, "split": split, "domain": domain})
    return out


def write_etl(work_dir: Path, meeting_ids: list[str] | None = None) -> Path:
    """Write utterances, queries and chunks.parquet into <work_dir>/etl; returns that folder."""
    import pandas as pd

    ids = meeting_ids or list(MEETINGS)
    etl = Path(work_dir) / "etl"
    etl.mkdir(parents=True, exist_ok=True)
    write_jsonl(etl / schema.UTTERANCES, [u for m in ids for u in utterances(m)])
    write_jsonl(etl / schema.QUERIES, [q for q in queries() if q["meeting_id"] in ids])
    pd.DataFrame([c for m in ids for c in chunks(m)]).to_parquet(etl / schema.CHUNKS, index=False)
    return etl
