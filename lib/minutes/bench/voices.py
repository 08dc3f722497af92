"""`python -m minutes.bench voices [--quick]`: how minutes.data.synth.VOICES was chosen.

The synthesized meetings promise "a distinct voice per speaker". Distinct means two things here:
a speaker encoder tells the voices apart (else diarization is scored on voices no one could
separate) and Whisper understands them (else the ASR figures measure espeak-ng). Each candidate
(English variant x voice variant x pitch) renders two sentences and is embedded with resemblyzer
(the diarizer's encoder); those Whisper tiny.en transcribes with a WER under WER_SCREEN read
twelve QMSum turns from meetings the diarization benchmark does not use. Among voices with a WER
of at most WER_MAX on those, twelve are picked greedily so that the smallest cosine distance
between two picked voices is as large as possible. Prints the palette, and VOICES' figures
measured the same way beside it. Takes about 15 minutes on 2 cores (--quick: a few candidates).
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

LANGS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
            "klatt3", "adam", "alicia", "andy", "annie", "david", "edward", "linda", "max", "paul", "john",
            "michael", "norbert", "iven", "Andrea", "belinda", "benjamin", "caleb", "grandma", "grandpa", "aunty")
PITCHES = (30, 60)
SENTENCES = ("I think we should look at the budget again before we decide on the design of the new product.",
             "Yes, the survey says that most people want something simple, with big buttons and a bright colour.")
WER_SCREEN = 0.12
WER_MAX = 0.20
SIZE = 12


def _wav(texts: Any, voice: str, pitch: int) -> np.ndarray:
    from scipy.signal import resample_poly

    from minutes.data.synth import speak

    parts = []
    for text in texts:
        samples, rate = speak(text, voice, pitch, 170)
        parts.append(resample_poly(samples.astype(np.float32) / 32768, 16000, rate))
    return np.concatenate(parts).astype(np.float32)


def pick(dist: np.ndarray, size: int) -> list[int]:
    """Greedy max-min: start from the farthest pair, add the voice farthest from the nearest pick."""
    i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
    chosen = [int(i), int(j)]
    while len(chosen) < min(size, len(dist)):
        rest = [c for c in range(len(dist)) if c not in chosen]
        chosen.append(max(rest, key=lambda c: float(dist[c, chosen].min())))
    return chosen


def run(args: Any) -> dict[str, Any]:
    from faster_whisper import WhisperModel
    from resemblyzer.audio import preprocess_wav

    from minutes.asr.speaker_embed import encoder
    from minutes.asr.wer import wer_counts
    from minutes.bench.diarize import _scripts
    from minutes.config import load_params
    from minutes.data.synth import VOICES
    from minutes.models import packaged_whisper_ct2_path

    quick = bool(getattr(args, "quick", False))
    candidates = list(itertools.product([f"{lang}+{v}" for lang in LANGS for v in VARIANTS], PITCHES))
    if quick:
        candidates = candidates[::40]
    whisper = WhisperModel(str(packaged_whisper_ct2_path()), device="cpu", compute_type="int8", cpu_threads=2)
    enc = encoder()

    def wer(texts: Any, voice: str, pitch: int) -> float:
        segments, _ = whisper.transcribe(_wav(texts, voice, pitch), language="en", beam_size=1, vad_filter=True)
        return float(wer_counts(" ".join(texts), " ".join(s.text for s in segments))["wer"])

    params = load_params("local", ["data.qmsum.max_meetings_per_split=40"])
    turns = [t for _, script in _scripts(params, 8, 6, 25)[5:8] for _, t in script][:12]
    screened, embedding = [], {}
    for voice, pitch in list(dict.fromkeys([*candidates, *VOICES])):
        try:
            embedding[(voice, pitch)] = np.stack([enc.embed_utterance(preprocess_wav(_wav([s], voice, pitch), 16000))
                                                  for s in SENTENCES])
        except Exception:  # noqa: BLE001 - a variant espeak-ng lacks here is not a candidate
            continue
        if (voice, pitch) in VOICES or wer(SENTENCES, voice, pitch) <= WER_SCREEN:
            screened.append((voice, pitch))
    turn_wer = {k: wer(turns, *k) for k in screened}
    keys = [k for k in screened if turn_wer[k] <= WER_MAX and k in candidates]
    cent = np.stack([embedding[k].mean(axis=0) for k in screened])
    cent /= np.linalg.norm(cent, axis=1, keepdims=True)
    dist = 1 - cent @ cent.T
    index = {k: i for i, k in enumerate(screened)}

    def figures(palette: list[Any]) -> dict[str, Any]:
        rows = [index[k] for k in palette if k in index]
        sub = dist[np.ix_(rows, rows)] + np.eye(len(rows)) * 9
        return {"voices": [list(k) for k in palette], "min_distance": round(float(sub.min()), 3),
                "mean_wer": round(float(np.mean([turn_wer[k] for k in palette if k in turn_wer])), 3)}

    rows = [index[k] for k in keys]
    chosen = [keys[i] for i in pick(dist[np.ix_(rows, rows)], SIZE)]
    spread = [float(1 - embedding[k][0] @ embedding[k][1]) for k in screened]
    result = {"quick": quick, "candidates": len(candidates), "screened": len(screened), "eligible": len(keys),
              "one_voice_spread_median": round(float(np.median(spread)), 3),
              "picked": figures(chosen), "VOICES": figures(list(VOICES))}
    print(f"picked: {result['picked']}\nVOICES: {result['VOICES']}")
    return result
