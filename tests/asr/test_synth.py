"""espeak-ng synthesized meetings: a distinct voice per speaker and exact turn times."""
import pytest

from minutes.asr.audio import duration, read_window
from minutes.data.synth import (VOICES, SynthError, assign_voices, render_meeting, script_from_utterances,
                                speaker_at)


def test_turn_times_follow_the_audio(speech):
    wav, turns = speech
    assert [t.speaker for t in turns] == ["Alice", "Bob", "Alice"]
    assert turns[0].start == 0
    assert all(a.end + 0.5 == pytest.approx(b.start, abs=0.002) for a, b in zip(turns, turns[1:]))
    assert duration(wav) == pytest.approx(turns[-1].end + 0.5, abs=0.01)
    for t in turns:  # speech inside each turn, silence in each pause
        assert abs(read_window(wav, t.start, t.end)).max() > 0.05
        assert abs(read_window(wav, t.end + 0.05, t.end + 0.45)).max() < 0.01


def test_each_speaker_gets_a_distinct_voice(speech):
    _, turns = speech
    assert turns[0].voice == turns[2].voice != turns[1].voice
    voices = assign_voices([f"S{i}" for i in range(len(VOICES))] + ["S0"])
    assert len(set(voices.values())) == len(VOICES)


def test_script_takes_first_non_empty_turns_cut_to_length():
    utts = [{"speaker": "A", "text": ""}, {"speaker": "B", "text": "one two three four"},
            {"speaker": "A", "text": "five six"}, {"speaker": "C", "text": "seven"}]
    assert script_from_utterances(utts, max_turns=2, max_words_per_turn=3) == [("B", "one two three"), ("A", "five six")]


def test_speaker_by_overlap(speech):
    _, turns = speech
    assert speaker_at(turns, turns[1].start + 0.1, turns[1].end - 0.1) == "Bob"
    assert speaker_at(turns, turns[0].end + 0.1, turns[0].end + 0.2) == "Alice"  # in a pause: nearest turn


def test_nothing_to_render_is_an_error(tmp_path):
    with pytest.raises(SynthError, match="nothing to render"):
        render_meeting([("A", "  ")], tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()
