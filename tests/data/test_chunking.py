"""Chunk boundaries and overlap, counted with the real packaged MiniLM tokenizer."""
import random

import pytest

from minutes.config.data import ChunkParams
from minutes.data.chunking import chunk_meeting, load_tokenizer


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer("packaged")


def n_tokens(tok, text):
    return len(tok(text, add_special_tokens=False)["input_ids"])


def utterances(n=60, seed=0, long_at=None, empty_at=()):
    rnd = random.Random(seed)
    words = "the budget remote control design meeting we should decide about colour buttons user".split()
    out = []
    for i in range(n):
        k = 400 if i == long_at else rnd.randint(3, 40)
        text = "" if i in empty_at else " ".join(rnd.choice(words) for _ in range(k))
        out.append({"meeting_id": "m1", "idx": i, "speaker": f"Speaker {i % 3}", "start": float(i),
                    "end": i + 0.9, "text": text, "split": "train", "domain": "Product", "source": "manual"})
    return out


def test_chunks_respect_windows_and_keep_whole_utterances(tok):
    p = ChunkParams(target_tokens=120, max_tokens=160, overlap_tokens=30)
    utts = utterances(empty_at={5, 6})
    chunks = chunk_meeting(utts, tok, p)
    assert len(chunks) > 3
    for c in chunks:
        assert c["n_tokens"] <= p.max_tokens
        expected = [f"{u['speaker']}: {u['text']}" for u in utts[c["utt_start"]:c["utt_end"] + 1] if u["text"]]
        assert c["text"].split("\n") == expected  # whole utterances, in order
        assert c["n_tokens"] == sum(n_tokens(tok, line) for line in expected)
        assert c["start"] == utts[c["utt_start"]]["start"] and c["end"] == utts[c["utt_end"]]["end"]
        assert c["speakers"] and set(c["speakers"]) <= {u["speaker"] for u in utts}
    # Every non-empty utterance is in some chunk; chunks move forward.
    covered = {i for c in chunks for i in range(c["utt_start"], c["utt_end"] + 1)}
    assert {u["idx"] for u in utts if u["text"]} <= covered
    assert all(a["utt_start"] < b["utt_start"] and a["utt_end"] < b["utt_end"] for a, b in zip(chunks, chunks[1:]))
    assert [c["chunk_id"] for c in chunks[:2]] == ["m1#0000", "m1#0001"]


def test_overlap_is_whole_trailing_utterances_within_budget(tok):
    p = ChunkParams(target_tokens=120, max_tokens=160, overlap_tokens=30)
    utts = utterances(seed=3)
    chunks = chunk_meeting(utts, tok, p)
    overlaps = []
    for a, b in zip(chunks, chunks[1:]):
        shared = range(b["utt_start"], a["utt_end"] + 1)
        shared_tokens = sum(n_tokens(tok, f"{utts[i]['speaker']}: {utts[i]['text']}") for i in shared)
        assert shared_tokens <= p.overlap_tokens
        overlaps.append(len(shared))
    assert any(overlaps), "short utterances should carry over into the next chunk"
    no_overlap = chunk_meeting(utts, tok, ChunkParams(target_tokens=120, max_tokens=160, overlap_tokens=0))
    assert all(a["utt_end"] < b["utt_start"] for a, b in zip(no_overlap, no_overlap[1:]))


def test_utterance_longer_than_a_window_is_split(tok):
    p = ChunkParams(target_tokens=100, max_tokens=128, overlap_tokens=16)
    utts = utterances(n=20, long_at=10)
    chunks = chunk_meeting(utts, tok, p)
    pieces = [c for c in chunks if c["utt_start"] == c["utt_end"] == 10]
    assert len(pieces) >= 3
    assert all(c["n_tokens"] <= p.max_tokens for c in chunks)
    assert all(c["text"].startswith("Speaker 1: ") for c in pieces)
    body = utts[10]["text"]
    texts = [c["text"][len("Speaker 1: "):] for c in pieces]
    assert texts[0] == body[:len(texts[0])] and body.endswith(texts[-1])
    # consecutive pieces share text (the overlap), and times stay inside the utterance
    assert all(a[-20:] in b or b[:20] in a for a, b in zip(texts, texts[1:]))
    assert all(utts[10]["start"] <= c["start"] < c["end"] <= utts[10]["end"] for c in pieces)
    # neighbours are chunked normally around it
    assert any(c["utt_end"] == 9 for c in chunks) and any(c["utt_start"] == 11 for c in chunks)


def test_empty_meeting_and_mixed_meetings(tok):
    p = ChunkParams()
    assert chunk_meeting([], tok, p) == []
    utts = utterances(n=3, empty_at={0, 1, 2})
    assert chunk_meeting(utts, tok, p) == []
    mixed = utterances(n=2) + [dict(utterances(n=1)[0], meeting_id="m2")]
    with pytest.raises(ValueError, match="one meeting"):
        chunk_meeting(mixed, tok, p)


def test_chunk_params_are_validated():
    with pytest.raises(ValueError, match="target_tokens"):
        ChunkParams(target_tokens=600, max_tokens=500)
    with pytest.raises(ValueError, match="overlap_tokens"):
        ChunkParams(target_tokens=100, max_tokens=200, overlap_tokens=100)
