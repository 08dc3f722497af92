"""Short real audio for the ASR tests: espeak-ng speech with a known transcript."""
from pathlib import Path

import pytest

from minutes.data.synth import render_meeting

SCRIPT = [("Alice", "Good morning everyone, let us talk about the budget for the new remote control."),
          ("Bob", "I think the price should stay under twenty five euros."),
          ("Alice", "Okay, then we need a cheaper battery and fewer buttons.")]


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> tuple[Path, list]:
    """(16 kHz mono WAV of SCRIPT, its rendered turns)."""
    wav = tmp_path_factory.mktemp("speech") / "meeting.wav"
    turns = render_meeting(SCRIPT, wav, words_per_minute=170, pause_seconds=0.5)
    return wav, turns
