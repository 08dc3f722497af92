"""Parameters of the FastAPI service and its deployment (50_deploy, 60_demo)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from minutes.config.base import Section


class LoadTestParams(Section):
    requests: int = Field(500, ge=1)
    concurrency: int = Field(8, ge=1)
    #: Requests sent before measuring (first calls pay for lazy initialisation).
    warmup: int = Field(50, ge=0)
    generative_requests: int = Field(20, ge=0)
    generative_concurrency: int = Field(2, ge=1)
    timeout_s: float = Field(60.0, gt=0)
    #: Targets for /ask in extractive mode (the issue's figures for a 2-core machine).
    target_p95_ms: float = Field(50.0, gt=0)
    target_rps: float = Field(50.0, gt=0)


class AnswerLogParams(Section):
    """Where answers and their feedback are logged (minutes.online.answer_log)."""

    #: sqlite: <work_dir>/serve/<sqlite_file> in WAL mode (local, ci). postgres: the platform's
    #: database (chameleon) at the URL held by the environment variable `url_env`.
    backend: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_file: str = Field("answers.db", pattern=r"^[A-Za-z0-9_.-]+$")
    #: Name of the environment variable holding the Postgres URL (never the URL itself: it has a password).
    url_env: str = "MINUTES_ANSWER_LOG_URL"
    #: SQLite only. NORMAL (WAL): a committed row survives a crash of the service; FULL also a
    #: power cut, at an fsync per answer. (Postgres commits with its own synchronous_commit=on.)
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    #: How long a call waits before failing: SQLite for another process's write lock, Postgres
    #: for a connection of the pool (and for the first connection).
    busy_timeout_s: float = Field(10.0, gt=0)
    #: Postgres only: at most this many connections per process (the pool grows to it under load).
    pool_max_size: int = Field(10, ge=1)
    max_correction_chars: int = Field(2000, ge=1)
    max_flags: int = Field(50, ge=1)


class FirstRolloutParams(Section):
    """The first model version's canary, when production holds no version and so answers
    extractively (minutes.online.canary).

    A generator is always slower than an extractive answer, so its latency is held to an
    absolute objective instead of production's p95 (a one-sided binomial test that more than 5 %
    of its answers exceed `p95_slo_ms`); its 5xx ratio and its users' thumbs-down share are
    compared with the extractive answers' as for any canary. It takes a smaller share (a model on
    CPU carries about one answer per second) and needs its users' ratings to pass.
    """

    #: False: with nothing in production there is no canary (40_evaluate's
    #: `evaluate.promote_to_production` puts the first version in production instead).
    enabled: bool = True
    weight: float = Field(0.05, gt=0, le=1)
    min_requests: int = Field(50, ge=1)
    #: The candidate's p95 latency objective in ms (the comparison's limit, not production's).
    p95_slo_ms: float = Field(2000.0, gt=0)
    #: Wait (until the phase's timeout) for `min_feedback` candidate ratings before promoting.
    require_feedback: bool = True


class CanaryParams(Section):
    """A candidate model version served beside production behind a weighted router, and what
    makes it pass (minutes.online.router, minutes.online.canary).

    The decision compares the two arms on the requests of `compare_routes`: the 5xx ratio and the
    negative-feedback ratio with a one-sided Fisher exact test (is the candidate worse?), p95
    latency with a tolerance (ratio plus slack) confirmed by a one-sided Mann-Whitney U test.
    Looks before `min_requests` can only roll back, at the stricter `early_alpha` (the phase looks
    many times); the look at `min_requests` promotes when every check passes.
    """

    #: Share of requests the router sends to the candidate (0: all to production).
    weight: float = Field(0.1, ge=0, le=1)
    #: Seed of the router's per-request draw: the same request order gets the same split.
    seed: int = 0
    host: str = "127.0.0.1"
    #: The router's port (clients of a canary use this one), and the candidate service's.
    port: int = Field(8850, ge=1, le=65535)
    candidate_port: int = Field(8851, ge=1, le=65535)
    #: Where the router sends each arm when it starts without a router.json. None: the local
    #: services on loopback (serve.port, candidate_port); on chameleon the compose file sets the
    #: containers' names. They are never changed over HTTP.
    production_upstream: str | None = Field(None, pattern=r"^https?://[A-Za-z0-9.\-]+(:[0-9]+)?$")
    candidate_upstream: str | None = Field(None, pattern=r"^https?://[A-Za-z0-9.\-]+(:[0-9]+)?$")
    #: Environment variable holding the token `PUT /router/state` asks for (weight, phase).
    control_token_env: str = "MINUTES_ROUTER_TOKEN"
    #: Alias the production service follows and the decision moves on a pass.
    production_alias: str = "production"
    #: Alias (or version number) of the candidate; on a failure the alias goes back to its
    #: previous holder (or is removed when it had none).
    candidate_alias: str = "staging"
    #: Requests whose errors and latency are compared (feedback and page loads are not).
    compare_routes: list[str] = ["/ask", "/minutes"]
    #: Candidate requests before the promoting look, and before any rollback.
    min_requests: int = Field(100, ge=1)
    min_fail_requests: int = Field(10, ge=1)
    alpha: float = Field(0.05, gt=0, lt=1)
    early_alpha: float = Field(0.001, gt=0, lt=1)
    #: A candidate above this 5xx ratio is never promoted, whatever production's ratio.
    max_error_rate: float = Field(0.02, ge=0, le=1)
    #: Latency fails when candidate p95 > production p95 * p95_ratio + p95_slack_ms (and the
    #: U test says the candidate is slower).
    p95_ratio: float = Field(1.5, ge=1)
    p95_slack_ms: float = Field(50.0, ge=0)
    #: Ratings the candidate needs before feedback is compared; without them the check is
    #: reported as not run, and blocks a pass only when `require_feedback`.
    min_feedback: int = Field(20, ge=1)
    require_feedback: bool = False
    #: Seconds a phase may take before it ends inconclusive (rolled back), and between looks.
    timeout_s: float = Field(300.0, gt=0)
    poll_s: float = Field(1.0, gt=0)
    #: After a decision: stop the candidate service (traffic already went back to production).
    stop_candidate: bool = True
    #: Questions sent straight to each arm before the phase opens (a fresh process's first
    #: answers pay for lazy initialisation, which would count against it), and their text.
    warmup_requests: int = Field(3, ge=0)
    warmup_question: str = "What was decided in the meeting?"
    #: Seconds to wait for the production service to serve a promoted version (its alias poll).
    switch_wait_s: float = Field(60.0, ge=0)
    #: Latencies the router keeps per arm for the decision (the newest ones).
    latency_samples: int = Field(5000, ge=10)
    upstream_timeout_s: float = Field(120.0, gt=0)
    #: MLflow experiment of the decisions (one run each, with its figures and a JSON record).
    mlflow_experiment: str = "canary"
    #: A first version against extractive production: its own share, sample and latency rule.
    first_rollout: FirstRolloutParams = Field(default_factory=FirstRolloutParams)

    @field_validator("candidate_alias", "production_alias", mode="before")
    @classmethod
    def _version_as_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class ServeParams(Section):
    host: str = "127.0.0.1"
    port: int = Field(8800, ge=1, le=65535)
    #: Registry alias the service follows (staging / production); a number pins that version.
    model_alias: str = "staging"
    max_question_chars: int = Field(2000, ge=1)
    default_k: int = Field(5, ge=1)
    max_k: int = Field(20, ge=1, le=200)
    #: auto: the method 20_index measured best on its evaluation split for the request's setting
    #: (with a meeting_id: "within", without: "corpus"), recorded in the index manifest (dense
    #: before any evaluation). dense, bm25 or hybrid serve that method for every request.
    retrieval_method: Literal["auto", "dense", "bm25", "hybrid"] = "auto"
    #: Encoder of the questions: "index" uses index.backend; "onnx-int8" embeds questions with the
    #: int8 export of the same model (same vector space, cosine ~0.99 to torch), about 4x less CPU
    #: per question on this machine; 20_index measures what it keeps of retrieval quality.
    query_backend: Literal["index", "torch", "onnx-int8", "openvino"] = "index"
    max_answer_words: int = Field(60, ge=5)
    max_upload_mb: int = Field(200, ge=1)
    #: /ingest of a recording diarizes it (speakers "Speaker 1..n", minutes.asr.diarize) unless
    #: the request says speakers=false; rename them with PATCH /meetings/{id}/speakers.
    ingest_speakers: bool = True
    #: Name of the environment variable holding the ingest token (never the token itself).
    ingest_token_env: str = "MINUTES_INGEST_TOKEN"
    alias_poll_seconds: float = Field(10.0, gt=0)
    #: Torch threads per service process: requests run in parallel threads, and one intra-op
    #: thread each avoids oversubscribing the cores (measured: 2 threads made embedding 10x slower
    #: under load on a 2-core machine).
    torch_threads: int = Field(1, ge=1)
    #: Runtime of the generator, in the service and in 40_evaluate (which scores what is served):
    #: "torch" (eager, GPUs) or "ctranslate2" (CPU: the model converted once, cached; int8
    #: weights decode about twice as fast as torch fp32 here, see minutes.generate.runtime).
    runtime: Literal["torch", "ctranslate2"] = "torch"
    compute_type: Literal["int8", "int8_float32", "float32", "int8_float16", "float16", "bfloat16"] = "int8"
    #: Token budgets of generated text per task: an answer, and a meeting's summary paragraph.
    answer_tokens: int = Field(64, ge=8, le=1024)
    minutes_tokens: int = Field(128, ge=16, le=2048)
    #: Decoding stops after this many seconds; the response then falls back to the extractive
    #: answer, flagged "timeout", instead of hanging.
    generate_timeout_s: float = Field(8.0, gt=0)
    #: The same limit for a /minutes summary paragraph (a longer text).
    minutes_timeout_s: float = Field(20.0, gt=0)
    #: One model instance per process generates one request at a time; a request that waits
    #: longer than this for it answers extractively, flagged "busy".
    generate_queue_s: float = Field(10.0, ge=0)
    #: Minutes items per section (summary lines, decisions, action items).
    minutes_items: int = Field(6, ge=1, le=50)
    #: chameleon: one container per registry alias, published on these host ports.
    deployments: dict[str, int] = {"production": 8800, "staging": 8810}
    image: str = "minutes-api:latest"
    #: MLflow experiment of the 50_deploy runs (smoke and load-test figures, plot).
    mlflow_experiment: str = "deploy"
    loadtest: LoadTestParams = LoadTestParams()
    answer_log: AnswerLogParams = AnswerLogParams()
    canary: CanaryParams = CanaryParams()

    @property
    def compose_router(self) -> bool:
        """chameleon: the compose stack runs the canary router only when a deployment follows
        each canary alias (a candidate pinned as a version number has no container)."""
        c = self.canary
        return c.production_alias in self.deployments and c.candidate_alias in self.deployments

    @field_validator("model_alias", mode="before")
    @classmethod
    def _version_as_text(cls, v: object) -> object:
        """`serve.model_alias=3` on the command line arrives as a number: keep it as "3"."""
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v
