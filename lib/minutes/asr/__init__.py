"""Speech-to-text: one interface (`transcribe_file`), two Whisper backends (faster-whisper,
openai-whisper), long audio in windows, batch transcription as Ray tasks, WER, and renderers.

    from minutes.asr import transcribe_file, to_vtt
    segments = transcribe_file("talk.mp3", params)      # [{start, end, text, words?}]
"""
from __future__ import annotations

from typing import Any

__all__ = ["transcribe_file", "transcribe_many", "to_wav16k", "to_txt", "to_vtt", "to_srt", "to_json", "wer_report",
           "diarize_file", "label_segments"]


def __getattr__(name: str) -> Any:  # keep `import minutes.asr` light: backends load on use
    if name == "transcribe_file":
        from minutes.asr.transcribe import transcribe_file
        return transcribe_file
    if name == "transcribe_many":
        from minutes.asr.batch import transcribe_many
        return transcribe_many
    if name == "to_wav16k":
        from minutes.asr.audio import to_wav16k
        return to_wav16k
    if name in ("diarize_file", "label_segments"):
        from minutes.asr import diarize
        return getattr(diarize, name)
    if name in ("to_txt", "to_vtt", "to_srt", "to_json"):
        from minutes.asr import render
        return getattr(render, name)
    if name == "wer_report":
        from minutes.asr.wer import wer_report
        return wer_report
    raise AttributeError(f"module 'minutes.asr' has no attribute {name!r}")
