"""The shipped ROUGE metric against values worked out by hand: F1 per type, the mean, stemming,
and Lsum on one sentence per line."""
from __future__ import annotations

import pytest

from minutes.evaluate.scoring import load_rouge, per_example
from minutes.evaluate.sentences import split_sentences

# (prediction, reference) with ROUGE F1 worked out by hand (no stemming changes these tokens):
PAIRS = [
    # P=3/3 R=3/4 -> F1 6/7; bigrams 2/2 vs 2/3 -> 0.8; LCS 3 -> 6/7
    ("the cat sat", "the cat sat down"),
    # unigrams all match -> 1; no bigram in common -> 0; LCS 2 of 3 -> 2/3
    ("blue red green", "red blue green"),
    # overlap {beta, gamma}: P=2/4 R=2/3 -> 4/7; bigram "beta gamma": P=1/3 R=1/2 -> 2/5; LCS 2 -> 4/7
    ("alpha beta gamma delta", "beta gamma epsilon"),
]
HAND = {"rouge1": [6 / 7, 1.0, 4 / 7], "rouge2": [0.8, 0.0, 0.4], "rougeL": [6 / 7, 2 / 3, 4 / 7],
        "rougeLsum": [6 / 7, 2 / 3, 4 / 7]}  # one sentence each: Lsum equals L


@pytest.fixture(scope="module")
def rouge():
    return load_rouge()


def test_hand_computed_pair(rouge) -> None:
    # pred unigrams 3/3 match, ref has 4: P=1, R=3/4 -> F=6/7; bigrams 2 of 2 vs 3 -> F=0.8.
    out = rouge.compute(predictions=["the cat sat"], references=["the cat sat down"])
    assert out["rouge1"] == pytest.approx(6 / 7)
    assert out["rouge2"] == pytest.approx(0.8)
    assert out["rougeL"] == pytest.approx(6 / 7)


def test_hand_computed_values_per_pair_and_mean(rouge) -> None:
    preds, refs = [p for p, _ in PAIRS], [r for _, r in PAIRS]
    got = rouge.compute(predictions=preds, references=refs, use_aggregator=False)
    for t, values in HAND.items():
        assert got[t] == pytest.approx(values), t
    mean = rouge.compute(predictions=preds, references=refs)
    assert mean["rouge1"] == pytest.approx(17 / 21)  # (6/7 + 1 + 4/7) / 3
    assert mean["rouge2"] == pytest.approx(0.4)  # (0.8 + 0 + 0.4) / 3
    assert mean["rougeL"] == pytest.approx(44 / 63) and mean["rougeLsum"] == pytest.approx(44 / 63)
    assert per_example(rouge, preds, refs)["rouge2"] == pytest.approx([80.0, 0.0, 40.0])


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
