"""Turn rules without models: short flips merged, speakers named by appearance, segments and words
taking the speaker of the turn they overlap most."""
import numpy as np
import pytest

from minutes.asr.cluster import cluster_speakers
from minutes.asr.segments import Segment, Word
from minutes.asr.turns import label_segments, name_speakers, pieces_to_turns, smooth, speaker_for

TURNS = [{"start": 0.0, "end": 4.0, "speaker": "Speaker 1"}, {"start": 4.5, "end": 8.0, "speaker": "Speaker 2"}]


def test_short_flip_inside_a_turn_is_merged():
    pieces = [(0.0, 3.0, "a"), (3.0, 3.3, "b"), (3.3, 6.0, "a"), (6.5, 9.0, "b")]
    assert smooth(pieces_to_turns(pieces), min_turn_s=0.5, max_gap_s=0.6) == [(0.0, 6.0, "a"), (6.5, 9.0, "b")]


def test_short_turn_alone_between_silences_is_kept():
    pieces = [(0.0, 3.0, "a"), (4.5, 4.9, "b"), (6.5, 9.0, "a")]
    assert smooth(pieces, min_turn_s=0.5, max_gap_s=0.6) == pieces


def test_speakers_named_in_order_of_first_appearance():
    turns = name_speakers([(5.0, 6.0, 7), (0.0, 2.0, 3), (2.5, 4.0, 7), (7.0, 8.0, 0)])
    assert [t["speaker"] for t in turns] == ["Speaker 1", "Speaker 2", "Speaker 2", "Speaker 3"]
    assert name_speakers([(0.0, 1.0, 3)], names={3: "Ann"})[0]["speaker"] == "Ann"


def test_segment_takes_the_turn_it_overlaps_most():
    segs = [Segment(start=3.0, end=6.0, text="across the change"), Segment(start=9.0, end=9.5, text="after")]
    out = label_segments(segs, TURNS)
    assert [s["speaker"] for s in out] == ["Speaker 2", "Speaker 2"]  # 1.5 s in turn 2 vs 1 s; nearest
    assert speaker_for(TURNS, 4.1, 4.4) == "Speaker 1"  # in the pause, nearer the end of turn 1
    assert speaker_for([], 0, 1) is None


def test_words_split_a_segment_at_the_speaker_change():
    words = [Word(start=3.0, end=3.5, word="so", probability=0.9), Word(start=3.5, end=3.9, word="yes.", probability=0.9),
             Word(start=4.6, end=5.0, word="But", probability=0.9), Word(start=5.0, end=5.4, word="no.", probability=0.9)]
    out = label_segments([Segment(start=3.0, end=5.4, text="so yes. But no.", words=words)], TURNS)
    assert [(s["speaker"], s["text"], s["start"], s["end"]) for s in out] == [
        ("Speaker 1", "so yes.", 3.0, 3.9), ("Speaker 2", "But no.", 4.6, 5.4)]
    assert [len(s["words"]) for s in out] == [2, 2]
    one = label_segments([Segment(start=0.5, end=1.0, text="Hi, all.", words=words[:1])], TURNS)
    assert one[0]["text"] == "Hi, all." and one[0]["speaker"] == "Speaker 1"


def test_no_turns_labels_everything_speaker_1():
    assert label_segments([Segment(start=0, end=1, text="hm")], [])[0]["speaker"] == "Speaker 1"


def _blobs(sizes: list[int], spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), 256))
    emb = np.concatenate([c + spread * rng.normal(size=(n, 256)) for c, n in zip(centres, sizes)])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb, np.repeat(np.arange(len(sizes)), sizes)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return len({(x, y) for x, y in zip(a, b)}) == len(set(a)) == len(set(b))


def test_clustering_estimates_the_number_of_speakers():
    emb, truth = _blobs([30, 20, 25], spread=0.08)
    labels = cluster_speakers(emb, threshold=0.35)
    assert _same_partition(labels, truth)
    assert len(set(cluster_speakers(emb, threshold=0.35, max_speakers=2))) == 2
    assert len(set(cluster_speakers(emb, threshold=0.35, num_speakers=4))) == 4
    one, _ = _blobs([20], spread=0.08)
    assert set(cluster_speakers(one, threshold=0.35)) == {0}


def test_small_clusters_join_the_nearest_speaker():
    emb, truth = _blobs([30, 30, 2], spread=0.08)
    labels = cluster_speakers(emb, threshold=0.35, min_cluster=5)
    assert len(set(labels)) == 2 and _same_partition(labels[:60], truth[:60])


def test_clustering_rejects_bad_bounds():
    emb, _ = _blobs([5, 5], spread=0.05)
    with pytest.raises(ValueError, match="num_speakers"):
        cluster_speakers(emb, 0.3, num_speakers=0)
    with pytest.raises(ValueError, match="min_speakers"):
        cluster_speakers(emb, 0.3, min_speakers=3, max_speakers=2)
