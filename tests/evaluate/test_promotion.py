"""Alias moves against a real MLflow server on a free loopback port (shared, see conftest), with a registered model
whose versions are artifact-only (a text file): the registry does not care what the files are."""
from __future__ import annotations

import pytest

from minutes.config import load_params
from minutes.config.evaluate import GateParams
from minutes.evaluate import promotion
from minutes.evaluate.gates import decide

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry(mlflow_overrides, tmp_path_factory: pytest.TempPathFactory):
    """Params on the shared server, and three registered versions of a tiny artifact-only model."""
    import mlflow

    tmp = tmp_path_factory.mktemp("registry")
    params = load_params("ci", mlflow_overrides + ["train.registered_model=tiny-gen"])
    c = promotion.client(params)
    mlflow.set_tracking_uri(c.tracking_uri)
    c.create_registered_model("tiny-gen")
    exp = c.create_experiment("promotion-test")
    for i in range(3):
        run = c.create_run(exp)
        weights = tmp / f"weights-{i}.txt"
        weights.write_text(f"model {i}")
        c.log_artifact(run.info.run_id, str(weights), "model")
        c.set_terminated(run.info.run_id)
        c.create_model_version("tiny-gen", f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    return params


def test_versions_and_missing_alias(registry) -> None:
    assert promotion.latest_version(registry) == "3"
    assert promotion.alias_version(registry, "nobody") is None
    assert promotion.alias_history(registry, "nobody") == []


def test_promote_and_rollback(registry) -> None:
    assert promotion.promote(registry, 1, "staging")["moved"] is True
    moved = promotion.promote(registry, "2", "staging")
    assert moved == {"alias": "staging", "version": "2", "previous": "1", "moved": True}
    assert promotion.promote(registry, "2", "staging")["moved"] is False  # idempotent
    assert promotion.alias_version(registry, "staging") == "2"
    assert promotion.alias_history(registry, "staging") == ["1"]
    back = promotion.rollback(registry, "staging")
    assert (back["version"], back["previous"]) == ("1", "2")
    assert promotion.alias_version(registry, "staging") == "1"
    with pytest.raises(promotion.PromotionError, match="nothing to roll back to"):
        promotion.rollback(registry, "staging")
    assert promotion.alias_version(registry, "staging") == "1"  # a failed rollback moves nothing


def test_production_is_a_separate_alias(registry) -> None:
    promotion.promote(registry, "1", "production")
    promotion.promote(registry, "3", "staging")
    assert promotion.alias_version(registry, "production") == "1"
    assert promotion.alias_version(registry, "staging") == "3"


def test_promote_unknown_version_is_refused(registry) -> None:
    with pytest.raises(promotion.PromotionError, match="no version '42'"):
        promotion.promote(registry, 42, "staging")


def test_gate_decision_moves_alias_only_on_pass(registry) -> None:
    gates = GateParams(min_margin_over_extractive=1.0, max_drop_vs_promoted=0.5)
    promotion.promote(registry, "1", "canary")
    failed = decide("3", 18.0, extractive_score=18.0, gates=gates, promoted_version="1", promoted_score=17.0)
    out = promotion.apply_decision(registry, failed, "canary")
    assert out["passed"] is False and out["moved"] is False and out["version"] == "1"
    assert promotion.alias_version(registry, "canary") == "1"
    c = promotion.client(registry)
    tags = c.get_model_version("tiny-gen", "3").tags
    assert tags["gate.canary.passed"] == "false" and "beats_extractive" in tags["gate.canary.reason"]

    passed = decide("3", 20.0, extractive_score=18.0, gates=gates, promoted_version="1", promoted_score=17.0)
    out = promotion.apply_decision(registry, passed, "canary")
    assert out["passed"] is True and out["moved"] is True and out["previous"] == "1"
    assert promotion.alias_version(registry, "canary") == "3"
    assert c.get_model_version("tiny-gen", "3").tags["gate.canary.passed"] == "true"
    promotion.rollback(registry, "canary")
    assert promotion.alias_version(registry, "canary") == "1"


def test_no_candidate_leaves_alias(registry) -> None:
    out = promotion.apply_decision(registry, decide(None, None, 10.0, GateParams()), "canary2")
    assert out == {"alias": "canary2", "passed": False, "moved": False, "previous": None, "version": None}


def test_cli_promote_status_rollback(registry, capsys) -> None:
    import json

    common = ["--profile", "ci", "--set", f"work_dir={registry.work_dir}", "--set", f"runs_dir={registry.runs_dir}",
              "--set", f"mlflow.port={registry.mlflow.port}", "--set", "train.registered_model=tiny-gen"]
    promotion.promote(registry, "2", "staging")
    assert promotion.main(["promote", "--alias", "prod-cli", "--from", "staging", *common]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "2"
    assert promotion.main(["promote", "--alias", "prod-cli", "--version", "3", *common]) == 0
    capsys.readouterr()
    assert promotion.main(["status", "--alias", "prod-cli", *common]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["latest"] == "3" and status["aliases"]["prod-cli"] == {"version": "3", "history": ["2"]}
    assert promotion.main(["rollback", "--alias", "prod-cli", *common]) == 0
    assert promotion.alias_version(registry, "prod-cli") == "2"
    capsys.readouterr()
    assert promotion.main(["rollback", "--alias", "prod-cli", *common]) == 2  # nothing earlier: a clear error
    assert "nothing to roll back to" in capsys.readouterr().out
