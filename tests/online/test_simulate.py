"""Simulated users: Poisson arrivals (with bursts, given their expected count) drawn right, reproducible plans, loopback only,
and a run against the real service on loopback: no 5xx, the planned count sent at its rate,
every rating stored in the answer log."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from minutes.config.monitor import PhaseParams, SimulateParams
from minutes.online.simulate import NotLoopback, arrivals, check_loopback, plan, pools_for, question_pools, simulate


def test_arrivals_are_poisson_at_the_rate_and_bursts_multiply_it() -> None:
    rng = np.random.default_rng(1)
    t = arrivals(rng, PhaseParams(source="in-domain", rate=50, duration_s=200))
    assert len(t) == 10_000 and 0 <= t[0] and t[-1] < 200  # conditioned on its expected count
    gaps = np.diff(t)
    assert abs(gaps.mean() - 1 / 50) < 0.001 and abs(gaps.std() / gaps.mean() - 1) < 0.05  # exponential: CV 1
    b = arrivals(rng, PhaseParams(source="in-domain", rate=20, duration_s=400, burst_every_s=10, burst_s=2,
                                  burst_factor=4))
    in_burst = (b % 10) < 2
    assert len(b) == 20 * 320 + 80 * 80  # calm seconds at 20/s, burst seconds at 80/s
    burst_rate, calm_rate = in_burst.sum() / 80, (~in_burst).sum() / 320
    assert abs(calm_rate - 20) < 1.5 and abs(burst_rate / calm_rate - 4) < 0.5
    capped = arrivals(rng, PhaseParams(source="in-domain", rate=100, duration_s=10, max_requests=7))
    assert len(capped) == 7 and (np.diff(capped) > 0).all()


def test_pools_plans_and_loopback() -> None:
    queries = [{"query_id": f"m{i}/specific/0", "meeting_id": f"m{i}", "query": f"q{i}", "answer": "a",
                "split": split, "domain": dom}
               for i, (split, dom) in enumerate([("val", "Product"), ("train", "Product"), ("val", "Committee"),
                                                 ("train", "Committee"), ("val", "Academic")])]
    pools = question_pools(queries, "val", "Committee")
    assert [q["meeting_id"] for q in pools["in-domain"]] == ["m0", "m4"]
    assert [q["meeting_id"] for q in pools["held-back"]] == ["m2", "m3"]
    assert len(pools["off-topic"]) >= 50 and all(q["answer"] is None for q in pools["off-topic"])
    cfg = SimulateParams(phases=[PhaseParams(source="in-domain", rate=30, duration_s=5),
                                 PhaseParams(source="off-topic", rate=30, duration_s=5)])
    a, b = plan(pools, cfg), plan(pools, cfg)
    assert [(p.offset_s, p.question["query_id"], p.rates, p.noise) for ph in a for p in ph] == \
           [(p.offset_s, p.question["query_id"], p.rates, p.noise) for ph in b for p in ph]
    other = plan(pools, cfg.model_copy(update={"seed": 1}))
    assert [p.offset_s for p in other[0]] != [p.offset_s for p in a[0]]
    with pytest.raises(ValueError, match="no questions"):
        plan({**pools, "held-back": []}, cfg.model_copy(update={"phases": [PhaseParams(source="held-back")]}))
    for url in ("http://127.0.0.1:1", "http://localhost:8000", "http://[::1]:80", "http://127.3.4.5"):
        check_loopback(url)
    for url in ("http://10.0.0.1:8000", "http://example.com", "http://0.0.0.0:80"):
        with pytest.raises(NotLoopback, match="only loopback"):
            check_loopback(url)
    check_loopback("http://10.0.0.1:8000", allow_remote=True)


def test_cli_refuses_a_remote_url_before_anything_else(capsys: pytest.CaptureFixture[str]) -> None:
    from minutes.online.__main__ import main

    assert main(["simulate", "--profile", "ci", "--url", "http://192.0.2.7:8000"]) == 2
    assert "only loopback" in capsys.readouterr().err


def test_simulated_users_against_the_real_service(online_service: dict[str, Any]) -> None:
    params = online_service["params"]
    cfg = params.monitor.simulate.model_copy(update={"phases": [
        PhaseParams(source="in-domain", rate=12, duration_s=4),
        PhaseParams(source="held-back", rate=12, duration_s=3, burst_every_s=1.5, burst_s=0.5, burst_factor=3),
        PhaseParams(source="off-topic", rate=12, duration_s=3)], "feedback_share": 0.6, "seed": 3})
    planned = plan(pools_for(params), cfg)
    result = simulate(online_service["url"], pools_for(params), cfg)
    summary = result.summary().set_index("phase")
    assert list(summary.index) == ["1:in-domain", "2:held-back", "3:off-topic"]
    assert list(summary["sent"]) == [len(p) for p in planned]
    assert (summary["5xx"] == 0).all() and (summary["failed"] == 0).all() and (summary["4xx"] == 0).all()
    assert (summary["2xx"] == summary["sent"]).all()
    # the rate held: what was sent over each phase's length, against what the plan drew
    drawn = np.array([len(p) for p in planned]) / np.array([ph.duration_s for ph in cfg.phases])
    assert np.allclose(summary["achieved_rps"], drawn, rtol=0.15), (summary["achieved_rps"], drawn)
    assert (summary["p95_ms"] > 0).all()
    # ratings: every one accepted, and every accepted one in the answer log
    assert (summary["feedback_2xx"] == summary["rated"]).all() and summary["rated"].sum() > 0
    from minutes.online.answer_log import open_answer_log

    log = open_answer_log(params)
    try:
        stored = log.feedback()
    finally:
        log.close()
    mine = {r for r in result.records["answer_id"][result.records["feedback_status"] == 201]}
    assert mine <= {r["answer_id"] for r in stored} and len(mine) == summary["feedback_2xx"].sum()
    # off-topic questions have no gold answer: rated down unless 15 points of noise (3 sd) say otherwise
    assert summary.loc["3:off-topic", "up_share"] <= 0.1
    assert summary.loc["1:in-domain", "mean_rougeL"] > 0
    recs = result.records
    assert recs.loc[recs["source"] == "in-domain", "domain"].isin(["Product", "Academic"]).all()
    assert (recs.loc[recs["source"] == "held-back", "domain"] == "Committee").all()


def test_a_stop_ends_the_arrivals_and_keeps_the_answers_in_flight(online_service: dict[str, Any]) -> None:
    """A canary's verdict sets `stop`: no arrival after it, every request sent is answered, and
    the cut phase reports the seconds it ran (later phases never start)."""
    import threading

    params = online_service["params"]
    cfg = params.monitor.simulate.model_copy(update={"phases": [
        PhaseParams(source="in-domain", rate=10, duration_s=30), PhaseParams(source="off-topic", rate=10, duration_s=30)],
        "feedback_share": 0.0, "seed": 4})
    stop = threading.Event()
    timer = threading.Timer(2.0, stop.set)
    timer.start()
    result = simulate(online_service["url"], pools_for(params), cfg, stop=stop)
    summary = result.summary().set_index("phase")
    assert list(summary.index) == ["1:in-domain"]
    assert 1.9 <= summary.loc["1:in-domain", "seconds"] < 3.0
    assert 0 < summary.loc["1:in-domain", "sent"] < 60 and summary.loc["1:in-domain", "2xx"] == summary.loc["1:in-domain", "sent"]
    assert result.records["sent_s"].max() <= 2.2
