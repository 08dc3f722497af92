"""How good a diarization is: DER split into its parts (pyannote.metrics, with the standard
0.25 s collar) and cpWER (meeteval: WER after the best mapping of hypothesis speakers to
reference speakers), next to the speaker-agnostic WER of the same words."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from minutes.asr.segments import Segment
from minutes.asr.turns import Turn
from minutes.asr.wer import normalize, wer_counts

COLLAR_S = 0.25


def _annotation(turns: Iterable[tuple[float, float, str]]) -> Any:
    from pyannote.core import Annotation, Segment as Span

    ann = Annotation()
    for n, (start, end, speaker) in enumerate(turns):
        if end > start:
            ann[Span(float(start), float(end)), n] = speaker
    return ann


def der(reference: Sequence[tuple[float, float, str]], hypothesis: Sequence[Turn],
        collar: float = COLLAR_S) -> dict[str, Any]:
    """Diarization error rate and its parts, as fractions of the reference speech time.
    `reference` is (start, end, speaker) triples and may overlap; scoring keeps overlaps."""
    from pyannote.core import Segment as Span, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    extent = max([e for _, e, _ in reference] + [t["end"] for t in hypothesis] + [0.0])
    parts = metric(_annotation(reference), _annotation((t["start"], t["end"], t["speaker"]) for t in hypothesis),
                   uem=Timeline([Span(0.0, max(extent, 1e-3))]), detailed=True)
    total = parts["total"]

    def frac(key: str) -> float | None:
        return round(parts[key] / total, 4) if total else None

    return {"der": round(parts["diarization error rate"], 4) if total else None,
            "missed": frac("missed detection"), "false_alarm": frac("false alarm"), "confusion": frac("confusion"),
            "reference_s": round(total, 3), "collar_s": collar}


def _by_speaker(rows: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for speaker, text in rows:
        out.setdefault(speaker, []).append(normalize(text))
    return {s: " ".join(t for t in texts if t) for s, texts in out.items()}


def cpwer(reference: Sequence[tuple[str, str]], segments: Sequence[Segment]) -> dict[str, Any]:
    """cpWER of speaker-labelled segments against (speaker, text) reference turns, and the
    speaker-agnostic WER of the same words (Whisper's normalizer on both sides)."""
    from meeteval.wer.wer.cp import cp_word_error_rate

    ref = _by_speaker(reference)
    hyp = _by_speaker((s.get("speaker") or "Speaker 1", s["text"]) for s in segments)
    # whole texts per speaker, already in order: nothing for meeteval to sort by time
    result = cp_word_error_rate(ref, hyp or {"Speaker 1": ""}, reference_sort=False, hypothesis_sort=False)
    plain = wer_counts(" ".join(t for _, t in reference), " ".join(s["text"] for s in segments))
    return {"cpwer": round(float(result.error_rate), 4) if result.length else None, "wer": plain["wer"],
            "missed_speakers": int(result.missed_speaker), "extra_speakers": int(result.falarm_speaker)}


def pooled(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Figures over many recordings (rows with der's and cpwer's keys): DER and its parts weighted
    by reference speech time, as the standard pooled DER is; cpWER and WER as means per recording."""
    ref = sum(r["reference_s"] for r in rows)

    def weighted(key: str) -> float | None:
        return round(sum((r[key] or 0) * r["reference_s"] for r in rows) / ref, 4) if ref else None

    def mean(key: str) -> float | None:
        return round(sum(r[key] or 0 for r in rows) / len(rows), 4) if rows else None

    return {"recordings": len(rows), "reference_s": round(ref, 3),
            **{k: weighted(k) for k in ("der", "missed", "false_alarm", "confusion")},
            "cpwer_mean": mean("cpwer"), "wer_mean": mean("wer")}
