"""`python -m minutes.bench diarize [--quick]`: speaker diarization on synthesized meetings.

QMSum meetings are rendered with espeak-ng (a voice per speaker, exact turn times), diarized with
the number of speakers estimated, and transcribed with faster-whisper (word timestamps on), each
word taking its speaker. Per recording: DER (collar 0.25 s) with missed speech, false alarm and
confusion; cpWER next to the speaker-agnostic WER; speakers found vs present; CPU real-time factor
of diarization. Cases: "standard" (the ETL's rendering), and the harder ones reported apart:
"short" (turns of 3 words, under 1.5 s), "overlap" (every second change of speaker starts 1 s
early, two voices mixed), "same_voice" (one espeak voice, speakers differ in pitch only).
Targets from issue 17: DER <= 10 % and cpWER within 5 points of WER on "standard"; RTF <= 0.3.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_DER = 0.10
TARGET_CPWER_GAP = 0.05
TARGET_RTF = 0.3
#: name -> (words per turn at most, render_meeting keyword arguments)
CASES: dict[str, tuple[int | None, dict[str, Any]]] = {
    "standard": (None, {}),
    "short": (3, {}),
    "overlap": (None, {"overlap_seconds": 1.0, "overlap_every": 2}),
    "same_voice": (None, {"voices": "SAME_VOICE"}),
}


def _scripts(params: Any, n_meetings: int, max_turns: int, words: int) -> list[tuple[str, list[tuple[str, str]]]]:
    from minutes.data.etl import read_qmsum
    from minutes.data.problems import ProblemLog
    from minutes.data.synth import script_from_utterances

    sources = [s for s in read_qmsum(params, ProblemLog(), progress=False) if s.meeting["split"] == "train"]
    return [(s.meeting["meeting_id"], script_from_utterances(s.utterances, max_turns, words))
            for s in sources[:n_meetings]]


def score_recording(wav: Path, rendered: list[Any], params: Any, cache: Path,
                    num_speakers: int | None = None) -> dict[str, Any]:
    """DER parts, cpWER, WER, speaker counts and diarization RTF of one rendered meeting."""
    from minutes.asr.diarization_metrics import cpwer, der
    from minutes.asr.diarize import diarize_file, label_segments
    from minutes.asr.transcribe import transcribe_file

    cpu0 = time.process_time()
    stats: dict[str, Any] = {}
    turns = diarize_file(wav, params.asr.diarization, num_speakers, stats=stats)
    cpu_s = time.process_time() - cpu0
    asr = params.asr.model_copy(update={"word_timestamps": True})
    segments = label_segments(transcribe_file(wav, asr, cache_dir=cache), turns)
    reference = [(t.start, t.end, t.speaker) for t in rendered]
    return {"audio_s": stats["audio_s"], "speakers_ref": len({t.speaker for t in rendered}),
            "speakers_found": stats["speakers"], **der(reference, turns),
            **cpwer([(t.speaker, t.text) for t in rendered], segments),
            "rtf_cpu": round(cpu_s / stats["audio_s"], 4), "rtf_wall": stats["rtf"],
            "reference": [list(r) for r in reference], "turns": turns}


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from minutes.asr.diarization_metrics import pooled

    return {**pooled(rows), "audio_s": round(sum(r["audio_s"] for r in rows), 1),
            "speaker_count_right": sum(r["speakers_ref"] == r["speakers_found"] for r in rows),
            "rtf_cpu_max": max(r["rtf_cpu"] for r in rows)}


def run_cases(params: Any, n_meetings: int, max_turns: int, out_dir: Path,
              cases: dict[str, tuple[int | None, dict[str, Any]]] = CASES) -> list[dict[str, Any]]:
    """One row per (case, meeting): figures, plus the reference and diarized turns (for
    minutes.asr.report.timeline_figure)."""
    from minutes.data import synth

    cache = params.work_dir / "cache"
    rows = []
    for case, (words, kwargs) in cases.items():
        kw = {k: getattr(synth, v) if k == "voices" else v for k, v in kwargs.items()}
        for meeting_id, script in _scripts(params, n_meetings, max_turns, words or params.data.synth.max_words_per_turn):
            wav = out_dir / f"{case}-{meeting_id}.wav"
            rendered = synth.render_meeting(script, wav, params.data.synth.words_per_minute,
                                            params.data.synth.pause_seconds, **kw)
            row = {"case": case, "meeting_id": meeting_id, **score_recording(wav, rendered, params, cache)}
            print(f"{case:10s} {meeting_id:14s} DER {row['der']:.3f} (miss {row['missed']:.3f} fa "
                  f"{row['false_alarm']:.3f} conf {row['confusion']:.3f}) cpWER {row['cpwer']:.3f} "
                  f"WER {row['wer']:.3f} speakers {row['speakers_found']}/{row['speakers_ref']}", flush=True)
            rows.append(row)
    return rows


def run(args: Any) -> dict[str, Any]:
    from minutes.asr.report import score_table
    from minutes.config import load_params

    quick = bool(getattr(args, "quick", False))
    params = load_params("local", ["data.qmsum.max_meetings_per_split=" + ("6" if quick else "40")])
    with tempfile.TemporaryDirectory(prefix="minutes-bench-diarize-") as tmp:
        rows = run_cases(params, 1 if quick else 4, 8 if quick else 16, Path(tmp))
    cases = {c: _summary([r for r in rows if r["case"] == c]) for c in dict.fromkeys(r["case"] for r in rows)}
    std = cases["standard"]
    print(score_table(rows).to_string(index=False))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return {"quick": quick, "params": params.asr.diarization.model_dump(mode="json"), "recordings": rows,
            "cases": cases, "targets": {
                "der_max": TARGET_DER, "cpwer_gap_max": TARGET_CPWER_GAP, "rtf_max": TARGET_RTF,
                "der_met": std["der"] is not None and std["der"] <= TARGET_DER,
                "cpwer_gap_met": std["cpwer_mean"] - std["wer_mean"] <= TARGET_CPWER_GAP,
                "rtf_met": all(c["rtf_cpu_max"] <= TARGET_RTF for c in cases.values())}}
