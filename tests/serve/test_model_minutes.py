"""Minutes written by a (tiny, really trained) causal LM: items cite only turns of their meeting, a
section the model cannot ground falls back to extraction and says so."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.serve.conftest import MEETINGS

SENTENCE = "The group decided to go with the rubber case in yellow."


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Any:
    """SmolLM2's tokenizer on a tiny random Llama, trained to write one sentence whatever it reads
    (on prompts shaped like the service's: both tasks, excerpts of every test meeting)."""
    import torch

    from minutes import packaged_lm
    from minutes.generate import family as fam
    from minutes.generate.generator import Generator
    from minutes.generate.prompts import build_prompt
    from minutes.train.loop import encode, eos_id, make_optimizer, train_epoch

    torch.manual_seed(0)
    path = str(packaged_lm.ensure("packaged-smollm2-tiny", tmp_path_factory.mktemp("models"), seed=1))
    tok = fam.load_tokenizer(path)
    model = fam.load_model(path)
    questions = ["Summarize the whole meeting.", "What did the group decide in the meeting?",
                 "What will each person do next, and who is responsible?", "What did they say?"]
    sources = []
    for mid, (_, turns) in MEETINGS.items():
        for lo in range(0, len(turns), 3):
            text = "\n".join(f"{sp}: {t}" for sp, t in turns[lo:lo + 3])
            hit = {"chunk_id": f"{mid}#{lo}", "meeting_id": mid, "start": 10.0 * lo, "text": text}
            sources += [build_prompt(q, [hit], tok, 256, "minutes" if i == 0 else "answer")
                        for i, q in enumerate(questions)]
    data = encode([{"source": src, "target": SENTENCE} for src in sources], tok, 256, 24, eos_id(model, tok), "causal")
    opt, sched = make_optimizer(model, 3e-3, 0.0, 40 * -(-len(sources) // 8), 0.0)
    for epoch in range(40):
        train_epoch(model, data, 8, tok.pad_token_id, opt, sched, seed=epoch)
    return Generator(model=model.eval(), tokenizer=tok, max_source_tokens=256, max_new_tokens=24,
                     generation={"num_beams": 1, "no_repeat_ngram_size": 0, "repetition_penalty": 1.0})


@pytest.fixture(scope="module")
def state(serve_env: dict[str, Any]) -> Any:
    from minutes.serve.state import build_state

    return build_state(serve_env["params"], watch=False)


def test_model_minutes_cite_only_their_meeting(state: Any, trained: Any) -> None:
    from minutes.serve.model_minutes import write_minutes

    from minutes.generate.prompts import build_prompt

    hit = {"chunk_id": "x#0", "meeting_id": "design01", "start": 0.0, "text": "Marketing: yellow sells."}
    assert trained.generate([build_prompt("What was decided?", [hit], trained.tokenizer, 256)]) == [SENTENCE]
    doc = write_minutes(state, trained, "7", "design01")
    assert doc["model_version"] == "7" and doc["written_by"]["summary"] == "model"
    texts = {i: t for i, (_, t) in enumerate(MEETINGS["design01"][1])}
    for key in ("summary", "decisions", "action_items"):
        for item in doc[key]:
            for c in item["cites"]:
                assert texts[c["idx"]].startswith(c["text"].rstrip(" …")[:30]), (key, c)
    [item] = doc["summary"]
    from minutes.answer.attribution import stems

    assert item["text"] == SENTENCE and item["cites"]
    assert all(stems(SENTENCE) & stems(c["text"]) for c in item["cites"])  # each cited turn supports it
    assert doc["groundedness"]["summary"] == 1.0
    assert "Written by model version 7" in doc["markdown"]


def test_ungrounded_sections_fall_back_and_say_so(state: Any, trained: Any) -> None:
    """The same sentence about a remote control is not supported by the budget meeting."""
    from minutes.serve.model_minutes import write_minutes

    doc = write_minutes(state, trained, "7", "budget02")
    assert doc["fallback"] == {"summary": "ungrounded", "decisions": "ungrounded", "action_items": "ungrounded"}
    assert set(doc["written_by"].values()) == {"extractive"}
    budget = {t for _, t in MEETINGS["budget02"][1]}
    assert all(any(t.startswith(c["text"][:30]) for t in budget) for item in doc["decisions"] for c in item["cites"])
