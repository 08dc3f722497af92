"""The extractive answerer: the service's fallback and the baseline every generator must beat."""
from __future__ import annotations

import pytest

from minutes.answer.extractive import Quote, content_terms, extractive_answer, extractive_quotes


def _hit(chunk_id: str, lines: list[str], utt_start: int, meeting: str = "M1") -> dict:
    return {"chunk_id": chunk_id, "meeting_id": meeting, "utt_start": utt_start,
            "utt_end": utt_start + len(lines) - 1, "text": "\n".join(lines)}


HITS = [
    _hit("M1#0002", ["Marketing: The remote should have a rubber case because people drop it.",
                     "Designer: Okay.",
                     "Manager: We also need to decide the price of the remote control today."], 20),
    _hit("M1#0000", ["Manager: Welcome everyone to the kick-off meeting about our new product.",
                     "Designer: {vocalsound} I think the buttons must be large and easy to find."], 0),
]


def test_picks_question_words_and_keeps_transcript_order() -> None:
    answer, cited = extractive_answer("Why did they want a rubber case for the remote?", HITS, 60)
    lines = answer.splitlines()
    assert any("rubber case" in line for line in lines)
    assert "Okay." not in answer  # filler turns are skipped
    assert "{vocalsound}" not in answer
    order = [next(i for i, h in enumerate(HITS[1]["text"].splitlines() + HITS[0]["text"].splitlines())
                  if line.split(": ", 1)[1][:20] in h) for line in lines]
    assert order == sorted(order)  # utterance 0/1 (chunk M1#0000) before 20/22 (chunk M1#0002)
    assert [h["chunk_id"] for h in cited][0] == "M1#0002"


def test_respects_the_word_budget() -> None:
    answer, _ = extractive_answer("rubber case remote", HITS, 8)
    words = sum(len(line.split(": ", 1)[-1].replace(" ...", "").split()) for line in answer.splitlines())
    assert words <= 8
    assert answer.endswith("...")  # the one picked utterance was trimmed
    assert answer.startswith("Marketing: The remote should have a rubber case")


def test_overlapping_chunks_do_not_repeat_utterances() -> None:
    dup = _hit("M1#0001", ["Manager: We also need to decide the price of the remote control today."], 22)
    answer, _ = extractive_answer("price of the remote", [HITS[0], dup], 200)
    assert answer.count("decide the price") == 1


def test_no_usable_hit_gives_empty_answer() -> None:
    assert extractive_answer("anything", [], 50) == ("", [])
    assert extractive_answer("anything", [_hit("M1#9", ["A: Yeah.", "B: Mm-hmm."], 5)], 50) == ("", [])


def test_lines_without_speaker_are_kept_as_text() -> None:
    hit = {"chunk_id": "X#1", "meeting_id": "X", "text": "the committee approved the budget for next year"}
    answer, cited = extractive_answer("what budget was approved", [hit], 20)
    assert answer == "the committee approved the budget for next year" and cited == [hit]


def test_rejects_a_non_positive_budget() -> None:
    with pytest.raises(ValueError, match="max_words must be at least 1, got 0"):
        extractive_answer("q", HITS, 0)


def test_helpers() -> None:
    assert content_terms("What did the designers discuss about buttons?") == {"design", "button"}


def test_line_terms_are_the_content_terms_of_the_line() -> None:
    from minutes.answer.extractive import _line_terms

    for line in ("The designers discussed the buttons and button shapes", "um yeah okay", "",
                 "Batteries, batteries: the battery life of the remote controls"):
        terms = _line_terms(line)
        assert len(terms) == len(set(terms)) and set(terms) == content_terms(line), line


def test_quotes_name_the_longest_quoted_turn_of_each_cited_hit() -> None:
    answer, cited, quotes = extractive_quotes("price of the rubber case remote", HITS, 200)
    assert (answer, cited) == extractive_answer("price of the rubber case remote", HITS, 200)
    assert [h["chunk_id"] for h in cited] == ["M1#0002", "M1#0000"] and len(quotes) == 2
    # chunk M1#0002 quotes turns 20 (11 words) and 22 (12 words; "Okay." at 21 is filler)
    assert quotes[0] == Quote(22, "We also need to decide the price of the remote control today.")
    assert quotes[1].idx in (0, 1) and quotes[1].text in answer
    # lines that are not the chunk's turns one to one have no turn index
    loose = {"chunk_id": "X#1", "meeting_id": "X", "text": "the committee approved the budget for next year"}
    assert extractive_quotes("what budget was approved", [loose], 20)[2] == [
        Quote(None, "the committee approved the budget for next year")]
    assert extractive_quotes("anything", [], 50) == ("", [], [])
