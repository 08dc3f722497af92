from minutes.data.clean import clean_text
from minutes.data.domains import domain_of
from minutes.data.timing import estimate_times


def test_tags_removed_and_punctuation_spacing_fixed():
    assert clean_text("Okay Right {vocalsound} Um well this is it .") == "Okay Right Um well this is it."
    assert clean_text("Did {disfmarker} did {disfmarker} did it {disfmarker} ?") == "Did did did it?"
    assert clean_text("so , {gap} , then") == "so, then"


def test_turn_with_only_tags_becomes_empty():
    assert clean_text("{vocalsound}") == ""
    assert clean_text(" {disfmarker} . ") == ""
    assert clean_text("{comment} {pause}") == ""


def test_plain_text_is_unchanged():
    text = "I call this meeting to order. Welcome to the 14th meeting."
    assert clean_text(text) == text


def test_domains_by_meeting_id():
    assert [domain_of(m) for m in ("ES2002a", "IS1000b", "TS3003c")] == ["Product"] * 3
    assert [domain_of(m) for m in ("Bed004", "Bmr013", "Bro018", "Bdb001", "Buw001")] == ["Academic"] * 5
    assert [domain_of(m) for m in ("covid_0", "education_11")] == ["Committee"] * 2


def test_estimated_times_follow_word_counts():
    times = estimate_times(["one two three four five six", "", "a b c"], words_per_minute=60,
                           min_turn_seconds=0.5, gap_seconds=1.0)
    assert times == [(0.0, 6.0), (7.0, 7.5), (8.5, 11.5)]
