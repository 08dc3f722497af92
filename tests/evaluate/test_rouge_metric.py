"""The shipped ROUGE metric: rouge_score's numbers, stemming, and Lsum on one sentence per line."""
from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

from minutes.evaluate.scoring import load_rouge, per_example
from minutes.evaluate.sentences import one_sentence_per_line, split_sentences

PAIRS = [  # (prediction, reference)
    ("the cat sat", "the cat sat down"),
    ("The remote will have a rubber case. Buttons are large!",
     "They agreed on a rubber case for the remote. The buttons will be large and easy to find."),
    ("Nobody discussed the budget.", "The marketing expert presented the trend study."),
    ("Professor B. said the recognizer is ready. Grad students will test it on Monday.",
     "The professor said the recognizer was ready. The grad students test it next week."),
]


@pytest.fixture(scope="module")
def rouge():
    return load_rouge()


def test_hand_computed_pair(rouge) -> None:
    # pred unigrams 3/3 match, ref has 4: P=1, R=3/4 -> F=6/7; bigrams 2 of 2 vs 3 -> F=0.8.
    out = rouge.compute(predictions=["the cat sat"], references=["the cat sat down"])
    assert out["rouge1"] == pytest.approx(6 / 7)
    assert out["rouge2"] == pytest.approx(0.8)
    assert out["rougeL"] == pytest.approx(6 / 7)


def test_matches_rouge_score_directly(rouge) -> None:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    expected = {t: [] for t in ("rouge1", "rouge2", "rougeL", "rougeLsum")}
    for pred, ref in PAIRS:
        s = scorer.score(one_sentence_per_line(ref), one_sentence_per_line(pred))
        for t in expected:
            expected[t].append(s[t].fmeasure)
    preds, refs = [p for p, _ in PAIRS], [r for _, r in PAIRS]
    got = rouge.compute(predictions=preds, references=refs, use_aggregator=False)
    for t, values in expected.items():
        assert got[t] == pytest.approx(values)
    mean = rouge.compute(predictions=preds, references=refs)
    for t, values in expected.items():
        assert mean[t] == pytest.approx(sum(values) / len(values))
    points = per_example(rouge, preds, refs)
    assert points["rouge2"] == pytest.approx([100 * v for v in expected["rouge2"]])


def test_stemming_is_on(rouge) -> None:
    # stems: "run dog" vs "the dog run": P=2/2, R=2/3 -> F=0.8; unstemmed nothing matches.
    out = rouge.compute(predictions=["running dogs"], references=["the dog runs"], rouge_types=["rouge1"])
    assert out["rouge1"] == pytest.approx(0.8)
    plain = rouge.compute(predictions=["running dogs"], references=["the dog runs"],
                          rouge_types=["rouge1"], use_stemmer=False)
    assert plain["rouge1"] == 0.0


def test_lsum_scores_sentences_in_any_order(rouge) -> None:
    # Swapped sentences: one LCS over the whole text finds only one sentence (3 of 6 tokens),
    # while Lsum takes the union LCS per reference sentence and finds all 6.
    pred, ref = "Cats drink milk. Dogs eat bones.", "Dogs eat bones. Cats drink milk."
    out = rouge.compute(predictions=[pred], references=[ref])
    assert out["rougeL"] == pytest.approx(0.5)
    assert out["rougeLsum"] == pytest.approx(1.0)
    unsplit = rouge.compute(predictions=[pred], references=[ref], split_sentences=False)
    assert unsplit["rougeLsum"] == pytest.approx(0.5)


def test_rejects_unknown_rouge_type(rouge) -> None:
    with pytest.raises(ValueError, match="rouge3"):
        rouge.compute(predictions=["a"], references=["a"], rouge_types=["rouge3"])


def test_per_example_checks_lengths(rouge) -> None:
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        per_example(rouge, ["a", "b"], ["a"])


@pytest.mark.parametrize("text, expected", [
    ("The team met. They chose a remote!", ["The team met.", "They chose a remote!"]),
    ("Mr. Smith and Dr. Jones agreed. It costs 12.5 euros.",
     ["Mr. Smith and Dr. Jones agreed.", "It costs 12.5 euros."]),
    ("Why? Because it is cheap, e.g. Rubber is cheap.", ["Why?", "Because it is cheap, e.g. Rubber is cheap."]),
    ("He said \"no.\" Then he left.", ["He said \"no.\"", "Then he left."]),
    ("Prof. J. Doe spoke. 3 people left.", ["Prof. J. Doe spoke.", "3 people left."]),
    ("first line\nsecond line. Third", ["first line", "second line.", "Third"]),
    ("costs 3.5 million. and then more", ["costs 3.5 million. and then more"]),
    ("", []),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected
