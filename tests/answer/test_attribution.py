"""Attribution picks the utterance a sentence rests on, and groundedness counts supported sentences."""
from __future__ import annotations

from minutes.answer.attribution import attribute, hit_utterances, stems

UTTS = [
    {"idx": 0, "speaker": "Anna", "text": "Okay, let's start, everyone is here."},
    {"idx": 1, "speaker": "Bob", "text": "We decided the remote control will be yellow and rubbery."},
    {"idx": 2, "speaker": "Cara", "text": "I will send the budget spreadsheet to marketing by Friday."},
    {"idx": 3, "speaker": "Dan", "text": "The battery costs too much, twelve euros per unit."},
]


def test_each_sentence_cites_its_source_utterance() -> None:
    att = attribute("The group decided on a yellow, rubbery remote. Cara will send the budget to marketing.", UTTS)
    assert [s.utterances[0] for s in att.sentences] == [1, 2]
    assert all(s.grounded for s in att.sentences) and att.groundedness == 1.0
    assert att.cited() == [1, 2]


def test_an_unsupported_sentence_lowers_groundedness_and_cites_nothing() -> None:
    att = attribute("The remote control will be yellow. Penguins migrate across Antarctica every winter.", UTTS)
    first, second = att.sentences
    assert first.grounded and first.utterances[0] == 1
    assert not second.grounded and second.support == 0.0
    assert att.groundedness == 0.5 and att.cited() == [1]


def test_a_sentence_joining_two_speakers_rests_on_both() -> None:
    att = attribute("The battery costs twelve euros, so the remote will not be yellow.", UTTS)
    [s] = att.sentences
    assert sorted(s.utterances) == [1, 3] and s.grounded


def test_stemming_meets_word_forms_halfway() -> None:
    assert stems("decided remotes") == stems("decide remote")
    assert attribute("", UTTS).groundedness is None


def test_hit_utterances_keep_to_the_chunk_span() -> None:
    hits = [{"meeting_id": "M", "chunk_id": "M#1", "utt_start": 1, "utt_end": 2, "score": 0.5},
            {"meeting_id": "M", "chunk_id": "M#0", "utt_start": 2, "utt_end": 3, "score": 0.4}]
    got = hit_utterances(hits, lambda mid, lo, hi: UTTS if mid == "M" else [])
    assert [(u["idx"], u["chunk_id"]) for u in got] == [(1, "M#1"), (2, "M#1"), (3, "M#0")]
