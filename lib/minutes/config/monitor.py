"""Parameters of monitoring after deployment: the Prometheus server that scrapes the service
(minutes.platform.prometheus_server), simulated traffic (minutes.online.simulate) and drift on the
service's questions (minutes.online.drift)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class PhaseParams(Section):
    """One phase of simulated traffic (minutes.online.simulate)."""

    #: in-domain: the evaluation split's questions outside the held-back domain; held-back: the
    #: held-back domain's questions (the drift detector was not fitted on them); off-topic:
    #: questions about nothing in the meetings (minutes/online/offtopic_questions.yml).
    source: Literal["in-domain", "held-back", "off-topic"]
    #: mean arrivals per second (Poisson)
    rate: float = Field(20.0, gt=0, le=1000)
    duration_s: float = Field(30.0, gt=0)
    max_requests: int | None = Field(None, ge=1)
    #: every `burst_every_s` seconds the rate is multiplied by `burst_factor` for `burst_s` seconds
    burst_every_s: float | None = Field(None, gt=0)
    burst_s: float = Field(2.0, gt=0)
    burst_factor: float = Field(3.0, ge=1)


class SimulateParams(Section):
    """Simulated users of a deployed service (python -m minutes.online simulate, notebook 70)."""

    phases: list[PhaseParams] = [PhaseParams(source="in-domain"), PhaseParams(source="held-back"),
                                 PhaseParams(source="off-topic")]
    #: in-domain and held-back questions name their meeting (as a user on a meeting's page would)
    with_meeting_id: bool = True
    mode: Literal["auto", "extractive", "generative"] = "extractive"
    #: share of answers a simulated user rates
    feedback_share: float = Field(0.5, ge=0, le=1)
    #: a user rates "up" when ROUGE-L (points) of the answer against the gold answer, plus
    #: Gaussian noise of `rating_noise` points, reaches `rating_threshold`; off-topic answers
    #: (no gold answer) are rated down unless the noise alone reaches the threshold
    rating_threshold: float = Field(15.0, ge=0, le=100)
    rating_noise: float = Field(5.0, ge=0)
    seed: int = 0
    #: requests in flight at most (arrivals beyond wait, and the achieved rate says so)
    max_in_flight: int = Field(64, ge=1)
    timeout_s: float = Field(30.0, gt=0)
    #: hosts other than loopback are refused unless this is true (never load someone's server by accident)
    allow_remote: bool = False


class DriftParams(Section):
    """Drift of the questions a service is asked (minutes.online.drift), exposed as gauges."""

    enabled: bool = True
    #: the reference: up to `reference_size` questions of this split (outside the held-back domain)
    reference_split: str = "train"
    reference_size: int = Field(400, ge=2)
    #: a test runs on the last `window` questions every `every` new ones (in a background thread;
    #: every = window: disjoint windows, a test per 30 questions).
    #: Measured on QMSum (tests/online/test_drift.py): with 30 questions, 400 reference questions,
    #: 500 permutations and alpha 0.005, in-domain windows alarm in ~3 %, held-back-domain and
    #: off-topic windows in 100 %; a test costs ~0.1 s on one core.
    window: int = Field(30, ge=5)
    every: int = Field(30, ge=1)
    permutations: int = Field(500, ge=20)
    #: the alarm: permutation p-value of the MMD (and the KS p-value of top-1 scores) below this;
    #: keep it above 1 / (permutations + 1), the smallest p-value the test can give
    alpha: float = Field(0.005, gt=0, lt=1)
    seed: int = 0


class MonitorParams(Section):
    #: Empty: start (or reuse) a local Prometheus on loopback, TSDB under <work_dir>/prometheus;
    #: else the platform's Prometheus (chameleon), only queried.
    prometheus_url: str = ""
    prometheus_host: str = "127.0.0.1"
    prometheus_port: int = Field(9095, ge=1, le=65535)
    #: How often the service is scraped and the rules are evaluated. Short on one machine so a
    #: few minutes of simulated traffic give a curve; the platform's default is 15 s.
    scrape_interval_s: float = Field(15.0, gt=0, le=300)
    evaluation_interval_s: float = Field(15.0, gt=0, le=300)
    #: How long the local TSDB keeps samples.
    retention: str = Field("7d", pattern=r"^\d+[smhdwy]$")
    #: Extra scrape targets besides the service (serve.host:serve.port), as {name: "host:port"}:
    #: e.g. a canary deployment on another port. The name becomes the `deployment` label.
    extra_targets: dict[str, str] = {}
    #: QMSum domain (minutes.data.domains) kept out of in-domain simulated traffic and of the drift
    #: detector's reference: its questions stand for a new kind of meeting arriving. Empty: none.
    held_back_domain: str = "Committee"
    simulate: SimulateParams = SimulateParams()
    #: The users of a canary phase (notebook 70, through the router). They ask with mode auto,
    #: so each arm answers as it serves: a model version generates, a production without one
    #: answers extractively. The phase stops at the verdict: `duration_s` is the most it takes.
    canary_traffic: SimulateParams = SimulateParams(
        phases=[PhaseParams(source="in-domain", rate=20.0, duration_s=180.0)], mode="auto")
    drift: DriftParams = DriftParams()
