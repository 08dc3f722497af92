from minutes.asr.render import to_json, to_txt, to_vtt
from minutes.asr.segments import shift


def test_txt_and_vtt():
    segs = [{"start": 0.0, "end": 1.5, "text": "Hello.", "speaker": "Alice"}, {"start": 61.25, "end": 62.0, "text": "a --> b"}]
    assert to_txt(segs) == "[00:00:00] Alice: Hello.\n[00:01:01] a --> b\n"
    vtt = to_vtt(segs)
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\n<v Alice>Hello.\n")
    assert "00:01:01.250 --> 00:01:02.000\na -> b" in vtt
    assert '"meeting_id": "m"' in to_json(segs, meeting_id="m")


def test_shift_moves_segment_and_words():
    s = shift({"start": 1.0, "end": 2.0, "text": " hi ", "words": [{"start": 1.0, "end": 1.5, "word": "hi",
                                                                    "probability": 0.91234}]}, 600.0)
    assert (s["start"], s["end"], s["text"]) == (601.0, 602.0, "hi")
    assert s["words"][0]["start"] == 601.0 and s["words"][0]["probability"] == 0.9123
