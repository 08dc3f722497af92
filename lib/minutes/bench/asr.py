"""`python -m minutes.bench asr`: speech-to-text speed and accuracy, and ETL throughput.

Both Whisper backends transcribe the same synthesized meeting audio with the same tiny.en weights
(faster-whisper: the packaged CTranslate2 model, int8; openai-whisper: the checkpoint rebuilt from
it, float32), the same decoding options (greedy, VAD on, English) and the same thread count.
Reported per backend: model load time, real-time factor (transcription seconds / audio seconds,
after one warm-up call) and WER against the synthesized text; then the speed ratio. Targets from
issue 3: faster-whisper RTF <= 0.1 and at least 4x faster than openai-whisper.
ETL throughput: QMSum meetings read+cleaned and chunked per second, and speech synthesized per second.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_RTF = 0.1
TARGET_RATIO = 4.0


def _audio(params: Any, n_meetings: int, max_turns: int, out_dir: Path) -> tuple[list[Path], list[str], float]:
    """Synthesized meetings (wav paths), their reference texts, and the synthesis wall time."""
    from minutes.data.etl import read_qmsum
    from minutes.data.problems import ProblemLog
    from minutes.data.synth import render_meeting, script_from_utterances

    sources = [s for s in read_qmsum(params, ProblemLog(), progress=False) if s.meeting["split"] == "train"]
    paths, refs = [], []
    t0 = time.perf_counter()
    for s in sources[:n_meetings]:
        script = script_from_utterances(s.utterances, max_turns, params.data.synth.max_words_per_turn)
        wav = out_dir / f"{s.meeting['meeting_id']}.wav"
        render_meeting(script, wav, params.data.synth.words_per_minute, params.data.synth.pause_seconds)
        paths.append(wav)
        refs.append(" ".join(t for _, t in script))
    return paths, refs, time.perf_counter() - t0


def _backend(params: Any, backend: str, paths: list[Path], refs: list[str], threads: int) -> dict[str, Any]:
    from minutes.asr.audio import duration, read_window
    from minutes.asr.backends import load_backend
    from minutes.asr.transcribe import transcribe_file
    from minutes.asr.wer import wer_report

    asr = params.asr.model_copy(update={"backend": backend, "cpu_threads": threads, "beam_size": 1})
    cache = params.work_dir / "cache"
    t0 = time.perf_counter()
    model = load_backend(asr, cache)
    load_s = time.perf_counter() - t0
    model.transcribe(read_window(paths[0], 0, 5), asr)  # warm-up (first-call allocations, JIT)
    seconds, hyps = 0.0, []
    cpu0 = time.process_time()
    for p in paths:
        stats: dict[str, Any] = {}
        segs = transcribe_file(p, asr, cache_dir=cache, stats=stats)
        seconds += stats["seconds"]
        hyps.append(" ".join(s["text"] for s in segs))
    cpu_s = time.process_time() - cpu0  # all threads of this process: robust to other load
    audio_s = sum(duration(p) for p in paths)
    wer = wer_report((p.stem, r, h) for p, r, h in zip(paths, refs, hyps))["overall"]["wer"]
    return {"backend": backend, "model": asr.model, "compute_type": asr.compute_type if backend == "faster-whisper"
            else "float32", "threads": threads, "load_s": round(load_s, 2), "audio_s": round(audio_s, 1),
            "transcribe_s": round(seconds, 2), "rtf": round(seconds / audio_s, 4),
            "cpu_s": round(cpu_s, 2), "cpu_rtf": round(cpu_s / audio_s, 4), "wer": wer}


def _etl_throughput(params: Any) -> dict[str, Any]:
    from minutes.data.etl import make_chunks, read_qmsum
    from minutes.data.chunking import load_tokenizer
    from minutes.data.problems import ProblemLog

    load_tokenizer(params.index.embedding_model)  # warm (its load is not throughput)
    t0 = time.perf_counter()
    sources = read_qmsum(params, ProblemLog(), progress=False)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    chunks = make_chunks(params, sources, progress=False)
    chunk_s = time.perf_counter() - t0
    n_utts = sum(len(s.utterances) for s in sources)
    return {"meetings": len(sources), "utterances": n_utts, "chunks": len(chunks),
            "read_clean_s": round(read_s, 2), "chunk_s": round(chunk_s, 2),
            "meetings_per_s": round(len(sources) / (read_s + chunk_s), 2),
            "utterances_per_s": round(n_utts / (read_s + chunk_s), 1)}


def run(args: Any) -> dict[str, Any]:
    import pandas as pd

    from minutes.config import load_params

    quick = bool(getattr(args, "quick", False))
    params = load_params("local", ["data.qmsum.max_meetings_per_split=" + ("6" if quick else "40")])
    threads = min(4, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="minutes-bench-asr-") as tmp:
        paths, refs, synth_s = _audio(params, 1 if quick else 2, 6 if quick else 12, Path(tmp))
        rows = [_backend(params, b, paths, refs, threads) for b in ("faster-whisper", "openai-whisper")]
    fw, ow = rows
    ratio = round(ow["rtf"] / fw["rtf"], 2) if fw["rtf"] else None
    cpu_ratio = round(ow["cpu_s"] / fw["cpu_s"], 2) if fw["cpu_s"] else None
    etl = _etl_throughput(params)
    etl["synth_audio_s_per_s"] = round(fw["audio_s"] / synth_s, 1)
    print(pd.DataFrame(rows).set_index("backend").to_string())
    print(f"\nspeed ratio openai-whisper / faster-whisper: {ratio}x (target >= {TARGET_RATIO}x); "
          f"faster-whisper RTF {fw['rtf']} (target <= {TARGET_RTF}); CPU-time ratio {cpu_ratio}x; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times inflate under load)")
    print(f"ETL: {etl['meetings']} meetings, {etl['utterances']} utterances, {etl['chunks']} chunks; "
          f"{etl['meetings_per_s']} meetings/s, {etl['utterances_per_s']} utterances/s; "
          f"espeak-ng renders {etl['synth_audio_s_per_s']} s of speech per second")
    return {"quick": quick, "cpu_count": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
            "backends": rows, "ratio_openai_over_faster": ratio, "cpu_ratio_openai_over_faster": cpu_ratio,
            "targets": {"faster_rtf_max": TARGET_RTF, "ratio_min": TARGET_RATIO,
                        "faster_rtf_met": fw["rtf"] <= TARGET_RTF,
                        "ratio_met": ratio is not None and ratio >= TARGET_RATIO},
            "etl": etl}
