"""Canary end to end on loopback: a real MLflow server and registry, the real service twice
(production alias, candidate alias) and the router, with tiny registered T5 versions.

A good candidate is promoted (production alias moves, the production service serves it); a
broken one (its embedding table is smaller than its tokenizer's vocabulary: every generation
raises, so the service answers 500) is rolled back within a bounded number of requests, and so
is one users dislike. Each decision is an MLflow run holding its figures."""
from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

from minutes.config import load_params
from minutes.evaluate import promotion
from minutes.online import canary, router
from tests.generate.fixtures import tiny_t5
from tests.serve.conftest import MEETINGS, free_port, write_corpus

pytestmark = pytest.mark.slow

QUESTIONS = [("What colour will the remote control be?", "design01"), ("How much will school funding grow?", "budget02"),
             ("What did the word error rate drop to?", "speech03"), ("Which battery will the remote use?", "design01")]


def register(params: Any, tmp: Path, seed: int, broken: bool = False) -> str:
    """A tiny random T5 registered as a new version; `broken`: 64 embeddings for 384 token ids."""
    import mlflow
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    from minutes.generate.base import write_model_meta
    from minutes.generate.registry import log_and_register

    model_dir = tmp / f"model-{seed}"
    if broken:
        cfg = T5Config(vocab_size=64, d_model=32, d_ff=64, d_kv=8, num_layers=2, num_decoder_layers=2, num_heads=2,
                       decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, relative_attention_num_buckets=8)
        T5ForConditionalGeneration(cfg).save_pretrained(model_dir)
        ByT5Tokenizer().save_pretrained(model_dir)
    else:
        tiny_t5(model_dir, seed=seed)
    write_model_meta(model_dir, {"base_model": "tiny-t5", "max_source_tokens": 256, "max_target_tokens": 8})
    exp = mlflow.get_experiment_by_name("canary-tests") or mlflow.get_experiment(mlflow.create_experiment("canary-tests"))
    with mlflow.start_run(experiment_id=exp.experiment_id) as run:
        pass
    return log_and_register(params, model_dir, run.info.run_id, {"test": "canary", "broken": str(broken)})


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from minutes.notebook import configure_environment
    from minutes.platform import local_services, mlflow_server

    tmp = tmp_path_factory.mktemp("canary")
    overrides = [f"work_dir={tmp / 'work'}", f"serve.port={free_port()}", f"mlflow.port={free_port()}",
                 f"serve.canary.port={free_port()}", f"serve.canary.candidate_port={free_port()}",
                 "serve.alias_poll_seconds=0.5", "data.chunks.target_tokens=48",
                 # two services on a 2-core box shared with other jobs: one torch thread each, and
                 # a latency tolerance for that box (the latency rule itself: test_canary_decision)
                 "serve.torch_threads=1", "serve.canary.p95_ratio=3", "serve.canary.p95_slack_ms=250", "data.chunks.max_tokens=80",
                 "data.chunks.overlap_tokens=12",
                 # the broken release (embeddings smaller than the vocabulary) raises on every
                 # answer in torch; CTranslate2 refuses it at load (the service stays extractive),
                 # so these services run torch to have a release that fails in production
                 "serve.runtime=torch"]
    params = load_params("ci", overrides)
    configure_environment(params)
    try:
        mlflow_server.ensure_server(params)
        write_corpus(params)
        # v2 has v1's weights (a retrained version that behaves alike: same answers, same speed)
        versions = {"v1": register(params, tmp, 0), "v2": register(params, tmp / "v2", 0),
                    "broken": register(params, tmp, 2, broken=True)}
        yield {"params": params, "overrides": overrides, "versions": versions}
    finally:
        local_services.stop_all(params)


def set_aliases(params: Any, production: str | None, staging: list[str]) -> None:
    """Production at one version (None: none, so it answers extractively); staging moved through
    `staging` (its history, for a rollback)."""
    c = promotion.client(params)
    name = params.train.registered_model
    for alias in ("production", "staging"):
        try:
            c.delete_registered_model_alias(name, alias)
        except Exception:
            pass
        c.set_registered_model_tag(name, promotion.HISTORY_TAG.format(alias=alias), "[]")
    if production is not None:
        promotion.promote(params, production, "production")
    for v in staging:
        promotion.promote(params, v, "staging")


def users(like: dict[str, float], sent: Counter, limit: int = 600) -> Callable[..., None]:
    """Sequential users: ask through the router, rate each arm's answers up at its `like` share,
    spread evenly over that arm's answers (the n-th is "down" when the count of downs due by then
    grows). A random draw per answer made a streak of downs that a look at the wrong moment read
    as a worse candidate (seen once: 10 of 17 down at a true share of 0.2), so the verdict
    depended on when the canary looked."""

    def traffic(url: str, stop: threading.Event) -> None:
        rated: Counter = Counter()
        with httpx.Client(base_url=url, timeout=60, trust_env=False) as h:
            for i in range(limit):
                if stop.is_set():
                    return
                question, meeting = QUESTIONS[i % len(QUESTIONS)]
                # each text once (as from many users): no arm answers from its query-vector cache
                r = h.post("/ask", json={"question": f"{question} ({i})", "meeting_id": meeting})
                arm = r.headers[router.UPSTREAM_HEADER]
                sent[f"{arm}.{r.status_code}"] += 1
                if r.status_code == 200 and r.json()["answer_id"]:
                    n = rated[arm] = rated[arm] + 1
                    due = int(n * (1 - like[arm]) + 1e-9) > int((n - 1) * (1 - like[arm]) + 1e-9)
                    rating = "down" if due else "up"
                    assert h.post("/feedback", json={"answer_id": r.json()["answer_id"], "rating": rating}).status_code == 201

    return traffic


def mlflow_record(params: Any, run_id: str) -> tuple[Any, dict[str, Any]]:
    c = promotion.client(params)
    run = c.get_run(run_id)
    local = c.download_artifacts(run_id, "canary_decision.json")
    return run, json.loads(Path(local).read_text())


def test_a_good_candidate_is_promoted(env: dict[str, Any]) -> None:
    params, v = env["params"], env["versions"]
    set_aliases(params, v["v1"], [v["v2"]])
    dep = canary.start_canary(params, env["overrides"])
    assert dep.active and (dep.production_version, dep.candidate_version) == (v["v1"], v["v2"])
    assert list(dep.to_frame()["arm"]) == ["router", "production", "candidate"]
    sent: Counter = Counter()
    decision = canary.run_canary_phase(params, dep, users({"production": 0.8, "candidate": 0.8}, sent))
    c = params.serve.canary
    assert decision.verdict == "promote", decision.to_frame().to_string()
    assert decision.candidate_requests >= c.min_requests and sent["candidate.500"] == sent["production.500"] == 0
    assert promotion.alias_version(params, "production") == v["v2"]
    assert decision.actions["production_serving"] is True and decision.actions["weight"] == 0.0
    assert decision.actions["candidate_stopped"] is True
    feedback = decision.to_frame().set_index("check").loc["negative feedback ratio"]
    assert feedback["result"] == "pass" and decision.candidate["ratings_up"] + decision.candidate["ratings_down"] > 0
    with httpx.Client(base_url=dep.router_url, timeout=60, trust_env=False) as h:  # all to production, now v2
        answers = [h.post("/ask", json={"question": q, "meeting_id": m}) for q, m in QUESTIONS]
    assert {a.headers[router.UPSTREAM_HEADER] for a in answers} == {"production"}
    assert {a.json()["model_version"] for a in answers if a.json()["mode"] == "generative"} <= {v["v2"]}
    run, record = mlflow_record(params, decision.mlflow_run_id)
    assert run.data.tags["verdict"] == "promote" and run.data.params["candidate_version"] == v["v2"]
    assert run.data.metrics["candidate.requests"] == decision.candidate_requests
    assert record["verdict"] == "promote" and len(record["checks"]) == 3
    tags = promotion.client(params).get_model_version(params.train.registered_model, v["v2"]).tags
    assert tags["canary.verdict"] == "promote"


def test_a_broken_candidate_is_rolled_back_within_a_bounded_number_of_requests(env: dict[str, Any]) -> None:
    params, v = env["params"], env["versions"]
    c = params.serve.canary
    set_aliases(params, v["v1"], [v["v2"], v["broken"]])
    dep = canary.start_canary(params, env["overrides"])
    assert dep.candidate_version == v["broken"]
    sent: Counter = Counter()
    decision = canary.run_canary_phase(params, dep, users({"production": 0.8, "candidate": 0.8}, sent))
    assert decision.verdict == "rollback" and "5xx ratio failed" in decision.reason
    routed = decision.actions["candidate_requests_when_routed_away"]
    print(f"broken candidate: rollback decided at {decision.candidate_requests} candidate requests "
          f"({decision.requests} in all); routed away after {routed} ({decision.actions['requests_when_routed_away']})")
    # decided at the first look with min_fail_requests errors; a few more arrive before the switch
    assert c.min_fail_requests <= decision.candidate_requests <= routed <= 3 * c.min_fail_requests
    # every candidate answer a 5xx (a 502 when uvicorn dropped the connection after a 500)
    assert sent["candidate.500"] + sent["candidate.502"] == routed and sent["production.500"] == 0
    assert promotion.alias_version(params, "staging") == v["v2"]  # back to its previous holder
    assert promotion.alias_version(params, "production") == v["v1"]
    with httpx.Client(base_url=dep.router_url, timeout=60, trust_env=False) as h:
        after = [h.post("/ask", json={"question": q, "meeting_id": m}) for q, m in QUESTIONS * 5]
    assert {a.headers[router.UPSTREAM_HEADER] for a in after} == {"production"}
    assert {a.status_code for a in after} == {200}
    run, record = mlflow_record(params, decision.mlflow_run_id)
    assert run.data.tags["verdict"] == "rollback" and run.data.metrics["candidate.errors"] >= c.min_fail_requests
    assert record["actions"]["alias"] == f"staging back to version {v['v2']}"


def test_a_candidate_users_dislike_is_rolled_back(env: dict[str, Any]) -> None:
    params, v = env["params"], env["versions"]
    set_aliases(params, v["v1"], [v["v2"]])
    dep = canary.start_canary(params, env["overrides"])
    sent: Counter = Counter()
    decision = canary.run_canary_phase(params, dep, users({"production": 0.9, "candidate": 0.1}, sent))
    assert decision.verdict == "rollback" and "negative feedback ratio failed" in decision.reason, decision.reason
    assert decision.candidate["negative_rate"] > decision.production["negative_rate"]
    assert promotion.alias_version(params, "production") == v["v1"]
    assert promotion.alias_version(params, "staging") is None  # v2 was its first holder: removed


def test_a_first_version_is_rolled_out_against_extractive_production(env: dict[str, Any]) -> None:
    """Nothing in production: the candidate takes first_rollout's share, its latency is held to
    the objective (not to extractive answers' milliseconds), it needs its users' ratings, and a
    pass puts it in production."""
    v = env["versions"]
    over = [*env["overrides"], "serve.canary.first_rollout.weight=0.5", "serve.canary.first_rollout.min_requests=30",
            "serve.canary.first_rollout.p95_slo_ms=5000"]
    params = load_params("ci", over)
    set_aliases(params, None, [v["v1"]])
    dep = canary.start_canary(params, over)
    assert dep.active and (dep.production_version, dep.candidate_version, dep.weight) == (None, v["v1"], 0.5)
    sent: Counter = Counter()
    decision = canary.run_canary_phase(params, dep, users({"production": 0.8, "candidate": 0.8}, sent))
    assert decision.verdict == "promote", decision.to_frame().to_string()
    checks = decision.to_frame().set_index("check")
    assert checks.loc["p95 latency (ms)", "test"] == "objective, binomial one-sided"
    assert list(checks["result"]) == ["pass", "pass", "pass"]  # feedback was required, and compared
    assert decision.candidate_requests >= 30 and decision.production["version"] is None
    assert promotion.alias_version(params, "production") == v["v1"]
    assert decision.actions["production_serving"] is True and decision.actions["weight"] == 0.0
    run, _ = mlflow_record(params, decision.mlflow_run_id)
    assert run.data.tags["production_version"] == "none (extractive)"
    assert run.info.run_name == f"canary v{v['v1']} vs extractive"
    # the rules it was decided by: the first rollout's sample size and objective
    assert run.data.params["min_requests"] == "30" and run.data.params["p95_slo_ms"] == "5000.0"
    assert run.data.params["first_rollout"] == "True" and run.data.params["require_feedback"] == "True"
    # stopped with the pipeline's overrides: no canary stamps left, the API deployed as 50 left it
    from minutes.platform import local_services

    assert canary.stop_canary(params, over) == {"router": True, "candidate": False}
    for name in ("router", "candidate"):
        assert not (local_services.service(name, params).state_dir / f"{name}.deployed").exists()
    api = local_services.service("api", params)
    assert api.healthy()
    assert (api.state_dir / "api.deployed").read_text().strip() == local_services.fingerprint("api", params, over)


def test_first_rollouts_can_be_switched_off(env: dict[str, Any]) -> None:
    v = env["versions"]
    over = [*env["overrides"], "serve.canary.first_rollout.enabled=false"]
    params = load_params("ci", over)
    set_aliases(params, None, [v["v1"]])
    dep = canary.start_canary(params, over)
    assert not dep.active and dep.weight == 0.0 and "first_rollout.enabled is false" in dep.reason
    assert canary.run_canary_phase(params, dep).verdict == "skipped"
    canary.stop_canary(params)


def test_no_candidate_means_no_canary(env: dict[str, Any]) -> None:
    params, v = env["params"], env["versions"]
    set_aliases(params, v["v1"], [])
    dep = canary.start_canary(params, env["overrides"])
    assert not dep.active and "no version holds" in dep.reason and dep.weight == 0.0
    decision = canary.run_canary_phase(params, dep)
    assert decision.verdict == "skipped" and decision.mlflow_run_id is None
    assert canary.stop_canary(params) == {"router": True, "candidate": False}


def test_teardown_stops_the_router_and_the_candidate(env: dict[str, Any]) -> None:
    """Notebook 99's step (teardown.apply stops local services the same way); the module's last test."""
    from minutes.infra.provision import Actions
    from minutes.infra.teardown import stop_local_services
    from minutes.platform import local_services

    params, v = env["params"], env["versions"]
    set_aliases(params, v["v1"], [v["v2"]])
    dep = canary.start_canary(params, env["overrides"])
    assert dep.active and local_services.status(params)["candidate"]["healthy"]
    actions = Actions()
    stop_local_services(params, actions)
    assert [(a["name"], a["action"]) for a in actions.rows] == [
        ("prometheus", "not running"), ("router", "stopped"), ("candidate", "stopped"), ("api", "stopped"),
        ("mlflow", "stopped")]
    assert not any(s["healthy"] for s in local_services.status(params).values())
