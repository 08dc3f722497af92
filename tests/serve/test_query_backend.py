"""serve.query_backend: questions embedded by the int8 export of the index's own model."""
from __future__ import annotations

from typing import Any

from minutes.config import load_params


def test_int8_questions_search_the_torch_index(serve_env: dict[str, Any]) -> None:
    from minutes.serve.state import build_state

    default = build_state(load_params("ci", serve_env["overrides"] + ["serve.query_backend=index"]), watch=False)
    int8 = build_state(load_params("ci", serve_env["overrides"] + ["serve.query_backend=onnx-int8"]), watch=False)
    assert default.retriever.embedder.info.backend == "torch"
    assert int8.retriever.embedder.info.backend == "onnx-int8"
    assert int8.retriever.manifest["backend"] == "torch"  # the index itself is untouched
    for question, meeting in [("What colour should the remote control be?", "design01"),
                              ("How much more money do the schools get?", "budget02"),
                              ("Which word error rate did the acoustic model reach?", "speech03")]:
        got = int8.retriever.search(question, 3)
        want = default.retriever.search(question, 3)
        assert got[0]["meeting_id"] == meeting
        assert got[0]["chunk_id"] == want[0]["chunk_id"]
        assert abs(got[0]["score"] - want[0]["score"]) < 0.03  # same space: near-equal cosines
