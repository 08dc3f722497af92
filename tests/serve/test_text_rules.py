"""Ingested transcripts are cleaned and timed like ETL's, and every cited source says whether its
times were measured or estimated (pure functions, no service)."""
from __future__ import annotations

import json
from pathlib import Path

from minutes.config import load_params
from minutes.data.qmsum import read_meeting
from minutes.io import write_jsonl
from minutes.serve.corpus import Corpus
from minutes.serve.ingest import to_utterances
from minutes.serve.schemas import Source
from minutes.serve.transcripts import parse_transcript

TURNS = [("A", "Okay , {vocalsound} so we <laugh> agreed on the yellow case ."),
         ("B", "{disfmarker}"),
         ("A", "Th @ @ {comment} the price is [Laughter.] twenty euros , , right ?")]


def test_ingested_transcript_is_cleaned_and_timed_like_etl(tmp_path: Path) -> None:
    qmsum = tmp_path / "val" / "Bmr001.json"
    qmsum.parent.mkdir()
    qmsum.write_text(json.dumps({"meeting_transcripts": [{"speaker": s, "content": t} for s, t in TURNS]}))
    etl = read_meeting(qmsum, "val", load_params("ci").data.qmsum).utterances
    txt = "".join(f"{s}: {t}\n" for s, t in TURNS).encode()
    ingested = to_utterances("up01", parse_transcript(txt, "up.txt"), "manual")

    assert [u["text"] for u in ingested] == ["Okay, so we agreed on the yellow case.",
                                             "Th the price is twenty euros, right?"]
    assert [u["text"] for u in etl] == [ingested[0]["text"], "", ingested[1]["text"]]  # ETL keeps the empty turn
    assert [(u["start"], u["end"]) for u in ingested] == [(u["start"], u["end"]) for u in etl if u["text"]]
    assert [u["idx"] for u in ingested] == [0, 1]
    assert {u["timing"] for u in ingested} == {u["timing"] for u in etl} == {"estimated"}


def test_asr_segments_are_cleaned_and_measured() -> None:
    utts = to_utterances("a01", [{"start": 1.0, "end": 2.5, "text": " [Music] ", "timing": "real"},
                                 {"start": 3.0, "end": 4.0, "text": "Ship it <laugh> next week .", "timing": "real"}],
                         "asr")
    assert [(u["idx"], u["text"], u["timing"], u["start"]) for u in utts] == [(0, "Ship it next week.", "real", 3.0)]


def _hit(meeting_id: str) -> dict:
    return {"meeting_id": meeting_id, "chunk_id": f"{meeting_id}#0000", "utt_start": 0, "utt_end": 0,
            "start": 0.0, "end": 2.0, "text": "A: the yellow case", "score": 0.9, "speakers": ["A"]}


def test_sources_say_measured_or_estimated(tmp_path: Path) -> None:
    etl_dir, ingested = tmp_path / "etl", tmp_path / "ingested"
    row = {"idx": 0, "speaker": "A", "start": 0.0, "end": 2.0, "text": "the yellow case", "domain": "Product",
           "split": "val"}
    write_jsonl(etl_dir / "utterances.jsonl", [
        {**row, "meeting_id": "qm", "source": "manual", "timing": "estimated"},
        {**row, "meeting_id": "synth", "source": "asr", "timing": "real"}])
    # stored by an older service, before utterances carried `timing`
    write_jsonl(ingested / "oldtxt.jsonl", [{**row, "meeting_id": "oldtxt", "source": "manual"}])
    write_jsonl(ingested / "oldwav.jsonl", [{**row, "meeting_id": "oldwav", "source": "asr"}])
    corpus = Corpus.load(etl_dir, ingested)
    corpus.add("newvtt", [{**row, "meeting_id": "newvtt", "source": "manual", "timing": "real"}])

    got = {m: Source(**corpus.cite(_hit(m), "yellow case")).timing
           for m in ["qm", "synth", "oldtxt", "oldwav", "newvtt", "unknown"]}
    assert got == {"qm": "estimated", "synth": "real", "oldtxt": "estimated", "oldwav": "real",
                   "newvtt": "real", "unknown": "estimated"}
    legacy = {k: v for k, v in corpus.cite(_hit("synth"), "x").items() if k != "timing"}
    assert Source(**legacy).timing == "estimated"  # a stored response without the field still reads
