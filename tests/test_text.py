"""The shared text rules (minutes.text), on hand-written cases with their expected outputs."""
from __future__ import annotations

import pytest

from minutes.text import (STOPWORDS, clean_text, content_words, estimate_times, speech_seconds, strip_markup,
                          trim_words, word_count, words)


def test_tags_removed_and_punctuation_spacing_fixed() -> None:
    assert clean_text("Okay Right {vocalsound} Um well this is it .") == "Okay Right Um well this is it."
    assert clean_text("Did {disfmarker} did {disfmarker} did it {disfmarker} ?") == "Did did did it?"
    assert clean_text("so , {gap} , then") == "so, then"


def test_every_marker_kind_is_stripped() -> None:
    assert clean_text("so {disfmarker} we <laugh> agreed .") == "so we agreed."
    assert clean_text("th @ @ {comment} the CMU folk") == "th the CMU folk"
    assert clean_text("'Don't go.' [Laughter.] It's important.") == "'Don't go.' It's important."
    assert clean_text("<v Bob><i>Hello</i> there</v>") == "Hello there"
    assert clean_text("<00:00:01.500>Right , {nonvocalsound} yes") == "Right, yes"


def test_content_and_plain_text_are_kept() -> None:
    text = "I call this meeting to order. Welcome to the 14th meeting."
    assert clean_text(text) == text
    kept = "£2.5 million [correction: £2.2 million] to a@b.org, 3 < 4 and 5 > 2"
    assert clean_text(kept) == kept


def test_turn_with_only_markup_becomes_empty() -> None:
    assert clean_text("{vocalsound}") == ""
    assert clean_text(" {disfmarker} . ") == ""
    assert clean_text("{comment} {pause}") == ""
    assert clean_text("[Inaudible.] <laugh> @ @") == ""


def test_strip_markup_leaves_spaces_for_the_caller() -> None:
    assert strip_markup("a{gap}b<laugh>c") == "a b c"


def test_word_tokens() -> None:
    assert words("Um, the {vocalsound} Battery's LIFE <laugh> don't 25") == ["um", "the", "battery's", "life",
                                                                               "don't", "25"]
    assert words("") == []


def test_stopwords_leave_content() -> None:
    assert {"the", "um", "yeah", "discuss", "summary", "don"} <= STOPWORDS
    assert not {"remote", "budget", "meeting", "two"} & STOPWORDS
    assert content_words("What did the team discuss about the remote's two buttons, um?") == ["remote's", "two",
                                                                                              "buttons"]


def test_trim_on_a_word_boundary() -> None:
    assert trim_words("one two three four", 2) == "one two …"
    assert trim_words("one two three four", 2, " ...") == "one two ..."
    assert trim_words("one  two", 2) == "one  two"  # short enough: unchanged, spacing and all
    with pytest.raises(ValueError, match="at least 1"):
        trim_words("x", 0)


def test_speech_time_at_the_etl_rate() -> None:
    assert word_count(" a  b c ") == 3
    assert speech_seconds("word " * 150) == 60.0  # 150 words a minute
    assert speech_seconds("a b c", words_per_minute=60) == 3.0
    assert speech_seconds("") == 0.5  # an empty turn still takes the shortest turn's time
    with pytest.raises(ValueError, match="positive"):
        speech_seconds("a", words_per_minute=0)


def test_estimated_times_follow_word_counts() -> None:
    times = estimate_times(["one two three four five six", "", "a b c"], words_per_minute=60,
                           min_turn_seconds=0.5, gap_seconds=1.0)
    assert times == [(0.0, 6.0), (7.0, 7.5), (8.5, 11.5)]
    assert estimate_times(["a b c d e"]) == [(0.0, 2.0)]  # defaults: 150 wpm
    assert estimate_times(["a", "b"]) == [(0.0, 0.5), (0.8, 1.3)]  # 0.5 s shortest turn, 0.3 s gap
