"""The whole pipeline, every notebook that exists, on the ci profile, ending with teardown."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from minutes.cli import main
from minutes.pipeline.select import discover
from minutes.runs import load_run

def _exactly(expected):
    return lambda v: v == expected


def _near(expected, tol=0.01):
    return lambda v: abs(v - expected) <= tol


#: Figures each stage must leave in run.json. The ci data slice fixes the counts, the retrieval
#: sample and the extractive baseline exactly; the tiny random generator cannot beat extraction,
#: so its gate must fail and the service answer extractively. Model-dependent figures get ranges.
EXPECTED = {
    "00_provision_kvm": {"infra_mode": _exactly("plan"), "kvm_security_rules": _exactly(2),
                         "terraform_fmt_ok": _exactly(True)},
    "01_provision_gpu": {"infra_mode": _exactly("plan"), "gpu_enabled": _exactly(True)},
    "02_configure": {"playbooks_ok": _exactly(True)},
    # The synthesized meeting's utterances are ASR segments split where the diarized speaker
    # changes between words: their count moves by a segment or two with the numerics of the
    # installed runtime builds (5453 and 5454 seen); the 5,4xx QMSum utterances are fixed.
    # The meeting has 93 reference words, so those segment moves swing its WER by about ten
    # points (0.20 to 0.32 seen; `bench voices` measures 25 % over the whole synthesized set).
    "10_etl": {"n_meetings": _exactly(13), "n_utterances": lambda v: 5450 <= v <= 5458, "n_queries": _exactly(95),
               "n_chunks": _exactly(508), "n_problems": _exactly(0), "validation_ok": _exactly(True),
               "asr_wer": lambda v: 0 <= v < 0.4, "diarization_der": lambda v: 0 <= v < 0.3,
               "diarization_cpwer": lambda v: 0 <= v < 0.6, "cached": _exactly(False)},
    "20_index": {"n_queries": _exactly(41), "index_version": _exactly("v0001"),
                 "dense_within_recall@10": lambda v: 0.5 < v <= 1, "bm25_within_recall@10": _near(0.7866, 0.002),
                 "bm25_corpus_recall@10": _near(0.4977, 0.002), "best_within": lambda v: v in ("dense", "bm25", "hybrid"),
                 "cached": _exactly(False)},
    "30_train": {"trials": _exactly(2), "errored": _exactly(0), "registered_version": _exactly("1"),
                 "trainable_fraction": lambda v: 0 < v < 0.05, "cached": _exactly(False)},
    "40_evaluate": {"queries": _exactly(16), "extractive.rougeLsum": _near(21.721),
                    "extractive.groundedness": _exactly(1.0), "gate_passed": _exactly(False),
                    "gate_candidate": _exactly("1"), "alias_moved": _exactly(False)},
    "50_deploy": {"serve_mode": _exactly("extractive"), "index_chunks": _exactly(508), "smoke_checks": _exactly(12),
                  "ask_extractive_errors": _exactly(0), "ask_extractive_requests": _exactly(200)},
    "60_demo": {"demo_mode": _exactly("extractive"), "demo_sources": lambda v: v >= 1},
    "70_online": {"sim_5xx": _exactly(0), "sim_requests": lambda v: v > 300,
                  # ci's reference is the questions of 4 train meetings, so val meetings' questions
                  # differ from it too (measured 0.4); local (80 meetings) and tests/online: ~0
                  "drift_alarm_in_domain": lambda v: v is not None and 0 <= v <= 1,
                  "drift_alarm_drifted": lambda v: v is not None and v >= 0.5,
                  # the last window is off-topic: the trigger fires; ci's gate promotes nothing,
                  # so there is no candidate to canary
                  "retrain_fired": _exactly(True), "canary_verdict": _exactly(None)},
    "99_teardown": {"infra_mode": _exactly("plan"), "local_services_stopped": _exactly(3)},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ports(tmp_path: Path) -> list[str]:
    """Own ports, so a ci service someone left on the default ports is not mistaken for ours, and a
    fresh work dir, so nothing cached from an earlier run can stand in for this one."""
    overrides = [f"mlflow.port={_free_port()}", f"serve.port={_free_port()}",
                 f"monitor.prometheus_port={_free_port()}", f"work_dir={tmp_path / 'work'}"]
    yield overrides
    from minutes.config import load_params
    from minutes.platform.local_services import stop_all

    stop_all(load_params("ci", overrides))  # even when the run failed half-way, leave nothing running


@pytest.mark.slow
def test_every_notebook_runs_on_ci_profile(tmp_path: Path, capsys, ports: list[str]) -> None:
    notebooks = discover()
    if not notebooks:
        pytest.skip("no notebooks yet")
    runs = tmp_path / "runs"
    args = ["run", "--profile", "ci", "--from", "0", "--to", "99", "--runs-dir", str(runs)]
    for o in ports:
        args += ["-p", o]
    rc = main(args)
    out = capsys.readouterr()
    assert rc == 0, out.err[-4000:]
    (run_dir,) = runs.iterdir()
    record = load_run(run_dir)
    assert record["status"] == "ok"
    names = [n["name"] for n in record["notebooks"]]
    assert names == [p.stem for p in notebooks]
    assert names[-1].startswith("99"), "the ci run must end with teardown"
    assert set(EXPECTED) == set(names), "every notebook has its expected figures"
    for nb in record["notebooks"]:
        assert (run_dir / f"{nb['name']}.html").is_file()
        assert (run_dir / f"{nb['name']}.ipynb").is_file()
        for key, ok in EXPECTED.get(nb["name"], {}).items():
            assert key in nb["metrics"], f"{nb['name']} did not record {key}"
            assert ok(nb["metrics"][key]), f"{nb['name']}: implausible {key}={nb['metrics'][key]!r}"
    assert (runs.parent / "index.html").is_file()
