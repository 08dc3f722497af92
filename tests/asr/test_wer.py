"""WER with Whisper's English normalization (jiwer alignment), per item and pooled."""
import pytest

from minutes.asr.wer import normalize, wer_counts, wer_report


def test_normalization_ignores_case_punctuation_fillers_and_number_forms():
    assert normalize("Okay, the price is Twenty-Five euros!") == normalize("okay the price is 25 euros")
    assert normalize("Um, we should, uh, decide.") == "we should decide"
    assert wer_counts("The colour is grey.", "the color is gray")["wer"] == 0


def test_counts_substitutions_deletions_insertions():
    c = wer_counts("we need a cheaper battery", "we need the cheaper battery pack")
    assert (c["substitutions"], c["deletions"], c["insertions"], c["ref_words"]) == (1, 0, 1, 5)
    assert c["wer"] == pytest.approx(0.4)
    assert wer_counts("hello there", "")["deletions"] == 2
    assert wer_counts("", "noise")["wer"] is None


def test_overall_is_pooled_over_reference_words():
    r = wer_report([("m1", "we met on friday morning", "we met on friday morning"), ("m2", "good bye", "good pie")])
    assert [m["wer"] for m in r["meetings"]] == [0.0, 0.5]
    assert r["overall"]["wer"] == pytest.approx(1 / 7, abs=1e-4)  # not the mean of 0 and 0.5
    assert r["overall"]["ref_words"] == 7
    assert wer_report([])["overall"]["wer"] is None
