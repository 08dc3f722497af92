"""Canary deployment with an automatic decision: a candidate version takes a share of live
traffic beside production, and is promoted or rolled back on its figures (issue 14, notebook 70).

Locally (local, ci) three processes on loopback: the API following `serve.canary.production_alias`
(local_services `api`), a second one following `serve.canary.candidate_alias` (`candidate`), and
the weighted router in front of both (`router`, minutes.online.router). Both services write the
same answer log, so feedback is compared by the model version each answer was given by.

The decision (`decide`, the rules in config.serve.CanaryParams): the candidate's 5xx ratio and
negative-feedback ratio against production's with a one-sided Fisher exact test, its p95 latency
against production's times a tolerance, confirmed by a one-sided Mann-Whitney U test. Looks
before `min_requests` candidate requests may only roll back (at `early_alpha`); the look at
`min_requests` promotes when every check passes. Promotion moves the production alias to the
candidate's version; rollback sends all traffic to production at once (weight 0) and gives the
candidate alias back to its previous holder. Every decision is an MLflow run with its figures.

A first rollout (production holds no version, so it answers extractively; `first_rollout` in
the parameters) compares errors and feedback the same way, but holds the candidate's p95 to an
absolute objective: a generator cannot be as fast as an extractive answer, and should not have to.

Notebook entry points: `start_canary`, `run_canary_phase` (or `check_canary` + `act`),
`stop_canary`.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal, Sequence

from minutes.config import Params
from minutes.config.serve import CanaryParams
from minutes.online import router as router_mod
from minutes.platform.tokens import current_token
from minutes.serve.bearer import auth_header

log = logging.getLogger(__name__)

Verdict = Literal["promote", "rollback", "continue", "skipped"]
#: traffic(router_url, stop): sends requests until done or `stop` is set (e.g. the simulator)
Traffic = Callable[[str, threading.Event], Any]


class CanaryError(RuntimeError):
    """A canary cannot be started or acted on as asked; the message says why."""


@dataclass
class CanaryDeployment:
    """What start_canary started: the router (the URL clients use) and the two arms."""

    router_url: str
    production_url: str
    candidate_url: str | None
    production_version: str | None
    candidate_version: str | None
    weight: float
    phase: str
    since: float
    active: bool
    reason: str = ""
    aliases: dict[str, str] = field(default_factory=dict)

    def to_frame(self) -> Any:
        """One row per process: the router and both arms (URL, alias, version, share)."""
        import pandas as pd

        return pd.DataFrame([
            {"arm": "router", "url": self.router_url, "alias": None, "version": None,
             "share": 1.0, "state": self.reason or f"phase {self.phase}"},
            {"arm": "production", "url": self.production_url, "alias": self.aliases.get("production"),
             "version": self.production_version, "share": round(1 - self.weight, 3), "state": "serving"},
            {"arm": "candidate", "url": self.candidate_url, "alias": self.aliases.get("candidate"),
             "version": self.candidate_version, "share": round(self.weight, 3),
             "state": "serving" if self.active else "not started"}])


@dataclass
class ArmFigures:
    """One arm's figures since the phase began (router for requests, answer log for ratings)."""

    name: str
    version: str | None
    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    up: int | None = None  # None: feedback not attributable to this arm (same version on both)
    down: int | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def p95_ms(self) -> float | None:
        return router_mod.quantile(self.latencies_ms, 0.95)

    @property
    def ratings(self) -> int:
        return (self.up or 0) + (self.down or 0)

    @property
    def negative_rate(self) -> float | None:
        return (self.down or 0) / self.ratings if self.ratings else None

    def summary(self) -> dict[str, Any]:
        return {"version": self.version, "requests": self.requests, "errors": self.errors,
                "error_rate": _round(self.error_rate), "p95_ms": _round(self.p95_ms, 2),
                "latency_samples": len(self.latencies_ms), "ratings_up": self.up, "ratings_down": self.down,
                "negative_rate": _round(self.negative_rate)}


@dataclass
class Check:
    name: str
    test: str
    production: float | None
    candidate: float | None
    threshold: str
    p_value: float | None
    level: float | None
    passed: bool | None  # None: not run (too few samples, or not at this look)
    detail: str = ""


@dataclass
class CanaryDecision:
    """One look at the canary: the verdict, why, and the figures it rests on."""

    verdict: Verdict
    reason: str
    final: bool
    look: int
    checks: list[Check]
    production: dict[str, Any]
    candidate: dict[str, Any]
    weight: float
    phase: str
    seconds: float
    actions: dict[str, Any] = field(default_factory=dict)
    mlflow_run_id: str | None = None

    @property
    def candidate_requests(self) -> int:
        return int(self.candidate.get("requests") or 0)

    @property
    def requests(self) -> int:
        return self.candidate_requests + int(self.production.get("requests") or 0)

    def to_frame(self) -> Any:
        """One row per check (figures of both arms, the test, its p-value and the result)."""
        import pandas as pd

        rows = [{"check": c.name, "production": _round(c.production, 4), "candidate": _round(c.candidate, 4),
                 "threshold": c.threshold, "test": c.test, "p_value": _round(c.p_value, 6), "level": c.level,
                 "result": {True: "pass", False: "FAIL", None: "not run"}[c.passed], "detail": c.detail}
                for c in self.checks]
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        """Flat JSON-able figures (for ctx.record and the MLflow run)."""
        return {"verdict": self.verdict, "reason": self.reason, "look": self.look, "seconds": round(self.seconds, 2),
                "requests": self.requests, "candidate_requests": self.candidate_requests,
                "production_version": self.production.get("version"), "candidate_version": self.candidate.get("version"),
                **{f"{arm}.{k}": v for arm, figs in (("production", self.production), ("candidate", self.candidate))
                   for k, v in figs.items() if k != "version"}}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)


# ------------------------------------------------------------------------------- the decision
def _fisher_greater(bad_c: int, n_c: int, bad_p: int, n_p: int) -> float:
    """One-sided Fisher exact p-value that the candidate's bad share is above production's."""
    from scipy.stats import fisher_exact

    if n_c == 0 or n_p == 0:
        return 1.0
    return float(fisher_exact([[bad_c, n_c - bad_c], [bad_p, n_p - bad_p]], alternative="greater")[1])


def _error_check(c: CanaryParams, prod: ArmFigures, cand: ArmFigures, final: bool) -> Check:
    level = c.alpha if final else c.early_alpha
    threshold = f"Fisher p >= {level}" + (f", rate <= {c.max_error_rate}" if final else "")
    if cand.requests < c.min_fail_requests:
        return Check("5xx ratio", "Fisher exact, one-sided", prod.error_rate, cand.error_rate, threshold, None, level,
                     None, f"{cand.requests} of {c.min_fail_requests} candidate requests")
    p = _fisher_greater(cand.errors, cand.requests, prod.errors, prod.requests)
    over = final and (cand.error_rate or 0.0) > c.max_error_rate
    detail = f"{cand.errors}/{cand.requests} vs {prod.errors}/{prod.requests}"
    if over:
        detail += f"; above the ceiling {c.max_error_rate}"
    return Check("5xx ratio", "Fisher exact, one-sided", prod.error_rate, cand.error_rate, threshold, p, level,
                 not (p < level or over), detail)


def _latency_check(c: CanaryParams, prod: ArmFigures, cand: ArmFigures, final: bool) -> Check:
    if prod.version is None:
        return _objective_check(c, prod, cand, final)
    from scipy.stats import mannwhitneyu

    limit = None if prod.p95_ms is None else prod.p95_ms * c.p95_ratio + c.p95_slack_ms
    threshold = f"p95 <= production x {c.p95_ratio} + {c.p95_slack_ms:g} ms" + (f" = {limit:.1f}" if limit else "")
    name, test = "p95 latency (ms)", "tolerance, then Mann-Whitney U one-sided"
    few = min(len(prod.latencies_ms), len(cand.latencies_ms)) < c.min_fail_requests
    if not final or few or limit is None:
        why = "checked at the promoting look" if not final else "too few answered requests to compare"
        return Check(name, test, prod.p95_ms, cand.p95_ms, threshold, None, c.alpha, None, why)
    p = float(mannwhitneyu(cand.latencies_ms, prod.latencies_ms, alternative="greater").pvalue)
    slower = (cand.p95_ms or 0.0) > limit
    return Check(name, test, prod.p95_ms, cand.p95_ms, threshold, p, c.alpha, not (slower and p < c.alpha),
                 "over the tolerance" if slower else "within the tolerance")


def _objective_check(c: CanaryParams, prod: ArmFigures, cand: ArmFigures, final: bool) -> Check:
    """A first rollout's latency: production answers extractively in milliseconds, so the
    candidate's p95 is held to `first_rollout.p95_slo_ms`. H0 "at most 5 % of answers exceed it"
    (p95 within the objective) against more, one-sided binomial; it fails only when the measured
    p95 is over the objective and the test rejects H0."""
    from scipy.stats import binomtest

    slo = c.first_rollout.p95_slo_ms
    name, test = "p95 latency (ms)", "objective, binomial one-sided"
    threshold = f"p95 <= {slo:g} ms (objective; production answers extractively)"
    n = len(cand.latencies_ms)
    if not final or n < c.min_fail_requests:
        why = "checked at the promoting look" if not final else "too few answered requests to compare"
        return Check(name, test, prod.p95_ms, cand.p95_ms, threshold, None, c.alpha, None, why)
    over = sum(1 for ms in cand.latencies_ms if ms > slo)
    p = float(binomtest(over, n, 0.05, alternative="greater").pvalue)
    slower = (cand.p95_ms or 0.0) > slo
    return Check(name, test, prod.p95_ms, cand.p95_ms, threshold, p, c.alpha, not (slower and p < c.alpha),
                 f"{over} of {n} answers over {slo:g} ms")


def rules_for(c: CanaryParams, production_version: str | None) -> CanaryParams:
    """The rules of a phase: with no version in production (a first rollout) the sample size and
    the feedback rule are `first_rollout`'s; otherwise `c` itself."""
    if production_version is not None:
        return c
    first = c.first_rollout
    return c.model_copy(update={"min_requests": first.min_requests, "require_feedback": first.require_feedback})


def _feedback_check(c: CanaryParams, prod: ArmFigures, cand: ArmFigures, final: bool) -> Check:
    level = c.alpha if final else c.early_alpha
    name, test = "negative feedback ratio", "Fisher exact, one-sided"
    if cand.up is None or prod.up is None:
        return Check(name, test, None, None, f"Fisher p >= {level}", None, level, None,
                     "both arms serve the same version: feedback cannot tell them apart")
    if cand.ratings < c.min_feedback:
        return Check(name, test, prod.negative_rate, cand.negative_rate, f"Fisher p >= {level}", None, level, None,
                     f"{cand.ratings} of {c.min_feedback} candidate ratings")
    p = _fisher_greater(cand.down or 0, cand.ratings, prod.down or 0, prod.ratings)
    return Check(name, test, prod.negative_rate, cand.negative_rate, f"Fisher p >= {level}", p, level, p >= level,
                 f"{cand.down}/{cand.ratings} vs {prod.down}/{prod.ratings} down")


def decide(c: CanaryParams, prod: ArmFigures, cand: ArmFigures, timed_out: bool = False
           ) -> tuple[Verdict, str, bool, list[Check]]:
    """(verdict, reason, final, checks) of one look. Pure: figures in, verdict out.

    Before `min_requests` candidate requests only a failure is final (rollback); at
    `min_requests` every check must pass to promote. `timed_out` forces a final look: short of
    `min_requests` that is an inconclusive phase, rolled back. With `require_feedback` a look
    short of `min_feedback` ratings waits for them until the timeout. Production without a
    version (extractive answers) is a first rollout: `rules_for` and `_objective_check`.
    """
    c = rules_for(c, prod.version)
    at_min = cand.requests >= c.min_requests
    look_final = at_min or timed_out
    checks = [_error_check(c, prod, cand, look_final), _latency_check(c, prod, cand, look_final),
              _feedback_check(c, prod, cand, look_final)]
    failed = [ch for ch in checks if ch.passed is False]
    if failed:
        return "rollback", "; ".join(f"{ch.name} failed ({ch.detail})" for ch in failed), True, checks
    if not look_final:
        return "continue", f"{cand.requests} of {c.min_requests} candidate requests, nothing failed", False, checks
    if not at_min:
        return "rollback", (f"inconclusive: {cand.requests} of {c.min_requests} candidate requests "
                            "before the phase ended"), True, checks
    if c.require_feedback and checks[2].passed is None:
        if not timed_out and cand.up is not None:  # ratings arrive after their answers
            return "continue", f"waiting for ratings ({checks[2].detail})", False, checks
        return "rollback", f"no feedback comparison ({checks[2].detail})", True, checks
    return "promote", f"every check passed over {cand.requests} candidate requests", True, checks


# ------------------------------------------------------------------------------- registry
def _client(params: Params) -> Any:
    from minutes.evaluate.promotion import client

    return client(params)


def version_of(params: Params, ref: str) -> str | None:
    """The version an alias (or a version number) names, or None."""
    from minutes.evaluate.promotion import _check_version, alias_version

    if ref.isdigit():
        _check_version(_client(params), params.train.registered_model, ref)
        return ref
    return alias_version(params, ref)


# ------------------------------------------------------------------------------- lifecycle
def _get_json(url: str, timeout: float = 10.0) -> Any:
    import httpx

    with httpx.Client(timeout=timeout, trust_env=False) as h:
        r = h.get(url)
        r.raise_for_status()
        return r.json()


def put_router_state(params: Params, router_url: str, **fields: Any) -> dict[str, Any]:
    """Change the router's weight, phase, seed or versions (`PUT /router/state`, with the token
    in serve.canary.control_token_env); returns its figures after the change."""
    import httpx

    token = router_token(params)
    with httpx.Client(timeout=30, trust_env=False) as h:
        r = h.put(f"{router_url}/router/state", json=fields, headers=auth_header(token))
    if r.status_code != 200:
        detail = r.json().get("detail") if r.headers.get("content-type", "").startswith("application/json") else ""
        raise CanaryError(f"the router refused the change ({r.status_code}): {detail or r.text[:200]}")
    return dict(r.json())


def router_token(params: Params) -> str:
    """The router's control token: the variable serve.canary.control_token_env names, else the
    one made for the work dir (local, minutes.platform.tokens) or generated once on the
    controller by 50_deploy's playbook (chameleon)."""
    env_name = params.serve.canary.control_token_env
    if params.infra.mode != "apply":
        token = current_token(params, env_name).strip()
    else:
        from minutes.infra.configure import generated_dir

        path = generated_dir(params) / "router_token"
        token = os.environ.get(env_name, "").strip() or (path.read_text().strip() if path.is_file() else "")
    if not token:
        raise CanaryError(f"no router control token: set the environment variable {env_name}"
                          + (" (or deploy with 50_deploy, which generates one)" if params.infra.mode == "apply" else ""))
    return token


def set_weight(params: Params, router_url: str, weight: float) -> dict[str, Any]:
    """Change the candidate's share (same phase: the figures go on counting)."""
    return put_router_state(params, router_url, weight=float(weight))


def warm_up(params: Params, router_url: str, arm: str, question: str, n: int) -> dict[int, int]:
    """Ask `n` questions of one arm through the router, pinned to it (X-Minutes-Arm with the
    control token: left out of the phase's figures); status counts (0: no answer; uvicorn drops
    the connection after a 500 from an exception). Through the router because on chameleon the
    candidate container is reachable only from it."""
    import httpx

    headers = {**auth_header(router_token(params)), router_mod.PIN_HEADER: arm}
    out: dict[int, int] = {}
    with httpx.Client(base_url=router_url, timeout=120, trust_env=False) as h:
        for _ in range(n):
            try:
                status = h.post("/ask", json={"question": question}, headers=headers).status_code
            except httpx.TransportError:
                status = 0
            out[status] = out.get(status, 0) + 1
    return out


def start_canary(params: Params, overrides: Sequence[str] = (), weight: float | None = None) -> CanaryDeployment:
    """Open a canary phase with `weight` (default `serve.canary.weight`) of traffic to the
    candidate. Locally it starts (or keeps) the production service on the production alias, the
    candidate service on the candidate alias and the router; on chameleon those are the compose
    containers 50_deploy started (api-<alias>, router). Without a candidate version nothing is
    routed to a candidate (`active` False, the reason said)."""
    from minutes.serve.deploy import compose_urls, ensure_ingest_token, router_url as router_url_of

    c = params.serve.canary
    overrides = list(overrides)
    remote = params.infra.mode == "apply"
    if remote:
        missing = [a for a in (c.production_alias, c.candidate_alias) if a not in params.serve.deployments]
        if missing:
            raise CanaryError(f"no compose deployment follows {missing} (serve.deployments has "
                              f"{sorted(params.serve.deployments)}): deploy one per canary alias in 50_deploy")
        urls = compose_urls(params)
        prod_url, cand_link = urls[c.production_alias], urls[c.candidate_alias]
    else:
        ensure_ingest_token(params)  # before the services start: they are deployed with it
        prod_url, cand_link = _start_local_arm(params, "api", overrides, c.production_alias), None
    prod_v = version_of(params, c.production_alias)
    cand_v = version_of(params, c.candidate_alias)
    first = prod_v is None and cand_v is not None
    share = (c.first_rollout.weight if first else c.weight) if weight is None else float(weight)
    reason = ""
    if cand_v is None:
        reason = f"no version holds {params.train.registered_model}@{c.candidate_alias}: nothing to try"
    elif first and not c.first_rollout.enabled:
        share, reason = 0.0, ("production holds no version and serve.canary.first_rollout.enabled is false: "
                              "a first version goes to production through 40_evaluate")
    elif share <= 0:
        reason = "weight 0: all traffic to production"
    elif cand_v == prod_v:
        reason = f"the candidate is production's version {prod_v}"
    active = cand_v is not None and share > 0
    if not remote:
        cand_link = _start_local_arm(params, "candidate", overrides, None) if active else None
        from minutes.platform import local_services

        router_url = local_services.start("router", params, overrides)["url"]
    else:
        router_url = router_url_of(params)
    warm = {arm: warm_up(params, router_url, arm, c.warmup_question, c.warmup_requests)
            for arm in (("production", "candidate") if active else ("production",))}
    log.info("canary warm-up answers (status: count): %s", warm)
    cand_url = cand_link if active else None
    phase, since = uuid.uuid4().hex[:12], time.time()
    stats = put_router_state(params, router_url, weight=share if active else 0.0, seed=c.seed, phase=phase,
                             since=since, versions={"production": prod_v, "candidate": cand_v})
    if stats["phase"] != phase:
        raise CanaryError(f"the router is in phase {stats['phase']} after the change to {phase}")
    return CanaryDeployment(router_url, prod_url, cand_url, prod_v, cand_v, float(stats["weight"]), phase, since,
                            active, reason, {"production": c.production_alias, "candidate": c.candidate_alias})


def _start_local_arm(params: Params, name: str, overrides: list[str], alias: str | None) -> str:
    """Start (or keep) a local service of the canary; its base URL. `alias`: the one it follows."""
    from minutes.config import load_params
    from minutes.platform import local_services

    if alias is None:
        return local_services.start(name, params, overrides)["url"]
    over = [*overrides, f"serve.model_alias={alias}"]
    return local_services.start(name, load_params(params.profile, over), over)["url"]


def read_figures(params: Params, dep: CanaryDeployment) -> tuple[ArmFigures, ArmFigures]:
    """Both arms' figures since the phase began: the router's counts and latencies, and the
    ratings of each arm's model version from the answer log."""
    from minutes.online.answer_log import open_answer_log

    stats = _get_json(f"{dep.router_url}/router/stats?samples=1")
    if stats["phase"] != dep.phase:
        raise CanaryError(f"the router is in phase {stats['phase']}, not this canary's {dep.phase}")
    answer_log = open_answer_log(params)
    try:
        ratings = answer_log.ratings_by_version(since=dep.since)
    finally:
        answer_log.close()
    separable = dep.production_version != dep.candidate_version
    arms = []
    for name, version in (("production", dep.production_version), ("candidate", dep.candidate_version)):
        up = stats["upstreams"][name]
        r = ratings.get(version, {"up": 0, "down": 0})
        arms.append(ArmFigures(name, version, up["compared"], up["compared_errors"], list(up.get("latency_ms", [])),
                               r["up"] if separable else None, r["down"] if separable else None))
    return arms[0], arms[1]


def check_canary(params: Params, dep: CanaryDeployment, timed_out: bool = False, look: int = 1) -> CanaryDecision:
    """One look: read the figures and decide (acts on nothing; see `act`)."""
    if not dep.active:
        return CanaryDecision("skipped", dep.reason, True, look, [], {"version": dep.production_version},
                              {"version": dep.candidate_version}, dep.weight, dep.phase, 0.0)
    prod, cand = read_figures(params, dep)
    verdict, reason, final, checks = decide(params.serve.canary, prod, cand, timed_out)
    return CanaryDecision(verdict, reason, final, look, checks, prod.summary(), cand.summary(), dep.weight,
                          dep.phase, time.time() - dep.since)


def _wait_serving(url: str, version: str, wait_s: float) -> bool:
    deadline = time.time() + wait_s
    while True:
        try:
            if _get_json(f"{url}/readyz").get("model_version") == version:
                return True
        except Exception:  # a restarting service: keep asking until the deadline
            pass
        if time.time() >= deadline:
            return False
        time.sleep(0.5)


def _restore_candidate_alias(params: Params, version: str | None) -> str:
    """Give the candidate alias back to its previous holder, or remove it; what was done."""
    from minutes.evaluate.promotion import PromotionError, alias_version, rollback

    alias = params.serve.canary.candidate_alias
    if alias.isdigit():
        return f"candidate pinned as version {alias}: no alias to move"
    if alias_version(params, alias) != version:
        return f"{alias} no longer holds version {version}: left as it is"
    try:
        back = rollback(params, alias)
        return f"{alias} back to version {back['version']}"
    except PromotionError:
        _client(params).delete_registered_model_alias(params.train.registered_model, alias)
        return f"{alias} removed (no earlier holder)"


def act(params: Params, dep: CanaryDeployment, decision: CanaryDecision) -> CanaryDecision:
    """Carry out a final decision: promote (production alias -> candidate version, then all
    traffic to production once it serves it) or roll back (all traffic to production at once,
    candidate alias restored); stop the candidate; log the decision as an MLflow run."""
    from minutes.evaluate.promotion import promote
    from minutes.platform import local_services

    c = params.serve.canary
    if decision.verdict not in ("promote", "rollback"):
        return decision
    name, cand_v = params.train.registered_model, dep.candidate_version
    actions: dict[str, Any] = {}
    if decision.verdict == "promote":
        moved = promote(params, str(cand_v), c.production_alias, why=f"canary {dep.phase}: {decision.reason}")
        actions["alias"] = f"{c.production_alias}: {moved['previous']} -> {moved['version']}"
        actions["production_serving"] = _wait_serving(dep.production_url, str(cand_v), c.switch_wait_s)
        set_weight(params, dep.router_url, 0.0)
    else:
        set_weight(params, dep.router_url, 0.0)  # first: production takes every request from now on
        actions["alias"] = _restore_candidate_alias(params, cand_v)
    stats = _get_json(f"{dep.router_url}/router/stats")
    actions["weight"] = stats["weight"]
    actions["candidate_requests_when_routed_away"] = stats["upstreams"]["candidate"]["compared"]
    actions["requests_when_routed_away"] = sum(u["compared"] for u in stats["upstreams"].values())
    if c.stop_candidate and params.infra.mode != "apply":  # a compose deployment stays (weight 0)
        actions["candidate_stopped"] = local_services.candidate_service(params).stop()
    tags = {"verdict": decision.verdict, "reason": decision.reason[:500], "phase": dep.phase}
    client = _client(params)
    for key, value in tags.items():
        client.set_model_version_tag(name, str(cand_v), f"canary.{key}", value)
    decision.actions = actions
    decision.mlflow_run_id = log_decision(params, dep, decision)
    return decision


def log_decision(params: Params, dep: CanaryDeployment, decision: CanaryDecision) -> str:
    """One MLflow run per decision: parameters, both arms' figures, p-values, the JSON record."""
    from mlflow.entities import Metric, Param

    c = params.serve.canary
    client = _client(params)
    exp = client.get_experiment_by_name(c.mlflow_experiment)
    exp_id = exp.experiment_id if exp is not None else client.create_experiment(c.mlflow_experiment)
    production = f"v{dep.production_version}" if dep.production_version else "extractive"
    run = client.create_run(exp_id, run_name=f"canary v{dep.candidate_version} vs {production}",
                            tags={"verdict": decision.verdict, "phase": dep.phase,
                                  "candidate_version": str(dep.candidate_version),
                                  "production_version": dep.production_version or "none (extractive)",
                                  "mlflow.note.content": decision.reason[:1000]})
    rid = run.info.run_id
    rules = rules_for(c, dep.production_version)  # what this phase was decided by
    settings = {k: v for k, v in rules.model_dump(mode="json").items() if not isinstance(v, (list, dict))}
    settings.update(weight=dep.weight, production_version=dep.production_version, candidate_version=dep.candidate_version,
                    first_rollout=dep.production_version is None)
    if dep.production_version is None:
        settings["p95_slo_ms"] = c.first_rollout.p95_slo_ms
    now = int(time.time() * 1000)
    figures = {k: float(v) for k, v in decision.summary().items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    figures.update({f"p_value.{ch.name.split(' (')[0].replace(' ', '_')}": ch.p_value for ch in decision.checks
                    if ch.p_value is not None})
    for key, value in decision.actions.items():
        if isinstance(value, (int, float)):
            figures[f"actions.{key}"] = float(value)
    client.log_batch(rid, metrics=[Metric(k.replace("@", "_"), v, now, 0) for k, v in figures.items()],
                     params=[Param(k, str(v)[:500]) for k, v in settings.items()])
    client.log_text(rid, json.dumps(decision.to_dict(), indent=2, default=str), "canary_decision.json")
    client.set_terminated(rid)
    return rid


def run_canary_phase(params: Params, dep: CanaryDeployment, traffic: Traffic | None = None,
                     timeout_s: float | None = None, apply: bool = True) -> CanaryDecision:
    """Look at the canary every `serve.canary.poll_s` until a final verdict, then act on it.

    `traffic(router_url, stop)` (the simulator, say) runs in a thread meanwhile and is asked to
    stop once the verdict is in: a rollback first routes everything to production, a promotion
    waits for the traffic to end before the production alias moves (a simulation's rate was
    chosen for the arms it had; a model on CPU carries far less than extractive answers).
    Without it the traffic comes from elsewhere. The phase ends after `timeout_s` (default
    `serve.canary.timeout_s`), or when the traffic ended, with a final look (short of
    `min_requests`: rolled back as inconclusive).
    """
    c = params.serve.canary
    if not dep.active:
        return check_canary(params, dep)
    stop = threading.Event()
    worker = None
    if traffic is not None:
        worker = threading.Thread(target=traffic, args=(dep.router_url, stop), name="canary-traffic", daemon=True)
        worker.start()
    deadline = time.time() + (c.timeout_s if timeout_s is None else timeout_s)
    look = 0
    try:
        while True:
            look += 1
            ended = time.time() >= deadline or (worker is not None and not worker.is_alive())
            decision = check_canary(params, dep, timed_out=ended, look=look)
            if decision.final:
                break
            time.sleep(c.poll_s)
        if decision.verdict == "promote":
            _stop_traffic(stop, worker)
        if apply:
            decision = act(params, dep, decision)
    finally:
        _stop_traffic(stop, worker)
    log.info("canary %s: %s after %d candidate requests (%s)", dep.phase, decision.verdict,
             decision.candidate_requests, decision.reason)
    return decision


def _stop_traffic(stop: threading.Event, worker: threading.Thread | None) -> None:
    stop.set()
    if worker is not None:
        worker.join(timeout=60)


def stop_canary(params: Params, overrides: Sequence[str] | None = None) -> dict[str, bool]:
    """Stop the local router and candidate (production keeps running); True where one ran. Their
    deployment stamps go with them (a stopped canary is not a deployment a re-run must find).
    With `overrides` (the pipeline's), the API is deployed again as 50_deploy left it, following
    `serve.model_alias` instead of the canary's production alias, so that a re-run with nothing
    changed finds its deployment as it was. On chameleon the containers stay, the router at
    weight 0 after any decision (99 removes them)."""
    from minutes.platform import local_services

    if params.infra.mode == "apply":
        return {"router": False, "candidate": False}
    out = {}
    for name in ("router", "candidate"):
        svc = local_services.service(name, params)
        out[name] = svc.stop()
        (svc.state_dir / f"{name}.deployed").unlink(missing_ok=True)
    if overrides is not None:
        local_services.start("api", params, list(overrides))
    return out