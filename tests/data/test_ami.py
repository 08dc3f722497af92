"""AMI NXT parser on a small fixture written in the real NXT format (words + segments + meetings.xml)."""
import shutil
from pathlib import Path

import pytest

from minutes.data.ami import join_tokens, parse_meeting, speaker_names
from minutes.data.problems import BadInput

FIXTURE = Path(__file__).parent / "fixtures" / "ami"


def test_turns_across_speakers_are_merged_in_time_order():
    utts = parse_meeting(FIXTURE, "ES2002a")
    assert [(u["speaker"], u["start"], u["end"]) for u in utts] == [
        ("Project Manager", 74.42, 77.29), ("Industrial Designer", 77.44, 80.87),
        ("Project Manager", 81.2, 81.5), ("Industrial Designer", 95.2, 95.92)]
    assert [u["idx"] for u in utts] == [0, 1, 2, 3]
    assert all(u["source"] == "manual" and u["timing"] == "real" and u["domain"] == "Product" for u in utts)


def test_words_joined_punctuation_attached_events_dropped_latin1_decoded():
    texts = [u["text"] for u in parse_meeting(FIXTURE, "ES2002a")]
    assert texts[0] == "Okay. Do you want to introduce yourself again?"
    assert texts[1] == "Hi, I'm David and I'm an industrial designer."  # <vocalsound/>, <disfmarker/> dropped
    assert texts[3] == "Café style?"  # ISO-8859-1 file with a character reference
    # a segment holding only a <vocalsound/> gives no utterance
    assert not any(u["start"] == 99.0 for u in parse_meeting(FIXTURE, "ES2002a"))


def test_agent_letters_map_to_qmsum_role_names():
    assert speaker_names(FIXTURE / "corpusResources" / "meetings.xml", "ES2002a") == {
        "A": "Industrial Designer", "B": "Project Manager"}
    assert speaker_names(FIXTURE / "corpusResources" / "meetings.xml", "ES2002b") == {"A": "Marketing"}
    assert speaker_names(None, "ES2002a") == {}


def test_join_tokens_rule():
    toks = [{"kind": "w", "text": "so", "punc": False}, {"kind": "w", "text": ",", "punc": True},
            {"kind": "disfmarker", "text": "", "punc": False}, {"kind": "w", "text": "yes", "punc": False}]
    assert join_tokens(toks) == "so, yes"


def test_missing_meeting_and_broken_files_are_bad_input(tmp_path):
    with pytest.raises(BadInput, match="no NXT words files for meeting TS3003a"):
        parse_meeting(FIXTURE, "TS3003a")
    broken = tmp_path / "ami"
    shutil.copytree(FIXTURE, broken)
    seg = broken / "segments" / "ES2002a.A.segments.xml"
    seg.write_text(seg.read_text(encoding="latin-1").replace("words11)", "words99)"), encoding="latin-1")
    with pytest.raises(BadInput) as info:
        parse_meeting(broken, "ES2002a")
    assert info.value.kind == "span-out-of-bounds" and "ES2002a.A.words99" in str(info.value)
    assert str(seg) in str(info.value)
    seg.write_text("<nite:root", encoding="latin-1")
    with pytest.raises(BadInput, match="not valid NXT XML"):
        parse_meeting(broken, "ES2002a")
