"""Prompt building: the budget holds with each model's special tokens, excerpts share it fairly."""
from __future__ import annotations

import pytest

from minutes.generate.context import chunk_to_hit, overview_hits
from minutes.generate.prompts import build_prompt, count_tokens, fair_shares, guess_task, truncate_to_tokens
from tests.generate.fixtures import chunks, utterances


@pytest.fixture(scope="module")
def minilm_tokenizer():
    from transformers import AutoTokenizer

    from minutes.models import packaged_embedding_path

    return AutoTokenizer.from_pretrained(str(packaged_embedding_path()))


@pytest.fixture(scope="module")
def byt5_tokenizer():
    from transformers import ByT5Tokenizer

    return ByT5Tokenizer()


def _long_hits(n: int = 3, words: int = 300):
    hits = []
    for i in range(n):
        c = chunks(utterances(f"M{i}"))[0]
        c["text"] = f"Speaker{i}: " + " ".join(f"w{i}x{j}" for j in range(words))
        hits.append(chunk_to_hit(c, rank=i + 1))
    return hits


@pytest.mark.parametrize("tok_name", ["minilm_tokenizer", "byt5_tokenizer"])
@pytest.mark.parametrize("budget", [128, 300])
def test_prompt_fits_budget_including_special_tokens(request, tok_name, budget):
    tok = request.getfixturevalue(tok_name)
    prompt = build_prompt("What did they decide?", _long_hits(), tok, budget, task="answer")
    assert len(tok(prompt)["input_ids"]) <= budget
    assert prompt.startswith("Answer the question")
    assert "question: What did they decide?" in prompt


def test_every_excerpt_gets_a_share(minilm_tokenizer):
    prompt = build_prompt("q?", _long_hits(3), minilm_tokenizer, 300)
    # each of the three long excerpts is cut, none is crowded out
    for i in range(3):
        assert f"w{i}x0" in prompt
        assert f"w{i}x250" not in prompt


def test_short_prompt_kept_whole_with_timestamp(minilm_tokenizer):
    hit = chunk_to_hit(chunks(utterances("M1"))[1])
    prompt = build_prompt("q?", [hit], minilm_tokenizer, 512, task="minutes")
    assert prompt.startswith("Write the minutes")
    assert hit["text"] in prompt
    assert "[00:30]" in prompt  # chunk 1 starts at utterance 3 = 30 s


def test_fair_shares():
    assert fair_shares([10, 10], 100) == [10, 10]
    assert fair_shares([10, 100, 100], 110) == [10, 50, 50]
    assert sum(fair_shares([7, 90, 33], 50)) == 50
    assert fair_shares([5], 0) == [0]


def test_truncate_to_tokens(byt5_tokenizer):
    text = "alpha beta gamma delta"
    assert truncate_to_tokens(byt5_tokenizer, text, 11) == "alpha beta"
    assert truncate_to_tokens(byt5_tokenizer, text, 100) == text
    assert count_tokens(byt5_tokenizer, truncate_to_tokens(byt5_tokenizer, text, 3)) <= 3


def test_bad_task_and_budget(byt5_tokenizer):
    with pytest.raises(ValueError, match="task"):
        build_prompt("q", [], byt5_tokenizer, 64, task="poem")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_tokens"):
        build_prompt("q", [], byt5_tokenizer, 8)
    with pytest.raises(ValueError, match="no room after the 'answer' instruction"):
        build_prompt("q", [], byt5_tokenizer, 64)  # ByT5 counts bytes: the instruction alone is 70


def test_guess_task():
    assert guess_task("Summarize the whole meeting.") == "minutes"
    assert guess_task("Can you give a summary of the discussion?") == "minutes"
    assert guess_task("What did Bob say about the remote control?") == "answer"


def test_overview_hits_spread_over_meeting():
    cs = chunks(utterances("M1", n=30))  # 10 chunks
    hits = overview_hits(list(reversed(cs)), 3)
    assert [h["chunk_id"] for h in hits] == ["M1#0000", "M1#0004", "M1#0009"] or \
        [h["chunk_id"] for h in hits] == ["M1#0000", "M1#0005", "M1#0009"]
    assert overview_hits(cs[:2], 5) == [chunk_to_hit(c, rank=i) for i, c in enumerate(cs[:2])]
