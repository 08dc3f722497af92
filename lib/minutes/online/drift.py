"""Drift of the questions a service is asked, against the questions it was trained on.

Two tests per window of live questions:

- **MMD on question embeddings** (the index's embedding model, unit vectors): a permutation
  two-sample test of the maximum mean discrepancy with an RBF kernel. Implemented here on numpy
  rather than with alibi-detect, which would add a dependency (and TensorFlow or a second torch
  stack) for one test: the unbiased MMD² estimate of Gretton et al. (2012), the kernel bandwidth
  by the median heuristic (median pairwise distance of the reference, fixed at fit), and the
  p-value from `permutations` random re-splits of the pooled sample (all of them from one kernel
  matrix, so a test of 50 questions against 400 costs a few tens of milliseconds).
- **Retrieval confidence**: the two-sample Kolmogorov-Smirnov test (scipy) of the window's top-1
  retrieval scores against the reference questions' top-1 scores. Off-topic questions find no
  passage that matches them well; that shows here even when the wording looks ordinary.

A window raises the alarm when a p-value falls below `alpha`. `DriftMonitor` holds the last
`window` questions of a service and re-tests every `every` new ones in a background thread, off
the request path; the service exposes the results as Prometheus gauges.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftOutcome:
    statistic: float
    p_value: float
    alarm: bool


def sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def median_bandwidth(x: np.ndarray) -> float:
    """The median heuristic: median pairwise distance between distinct rows of `x`."""
    d = np.sqrt(sq_distances(x, x)[np.triu_indices(len(x), k=1)])
    med = float(np.median(d[d > 0])) if (d > 0).any() else 1.0
    return med


class MMDDetector:
    """Permutation MMD test of windows against a reference sample fitted once."""

    def __init__(self, reference: np.ndarray, permutations: int = 200, alpha: float = 0.01,
                 seed: int = 0, bandwidth: float | None = None) -> None:
        if len(reference) < 2:
            raise ValueError(f"the reference needs at least 2 rows, got {len(reference)}")
        self.reference = np.asarray(reference, dtype=np.float64)
        self.bandwidth = bandwidth or median_bandwidth(self.reference)
        self.permutations = permutations
        self.alpha = alpha
        self.rng = np.random.default_rng(seed)

    def test(self, window: np.ndarray) -> DriftOutcome:
        y = np.asarray(window, dtype=np.float64)
        if len(y) < 2:
            raise ValueError(f"a window needs at least 2 rows, got {len(y)}")
        z = np.concatenate([self.reference, y])
        k = np.exp(-sq_distances(z, z) / (2.0 * self.bandwidth ** 2))
        n, m = len(self.reference), len(y)
        observed = np.zeros((1, n + m))
        observed[0, n:] = 1.0
        shuffled = np.zeros((self.permutations, n + m))
        for i in range(self.permutations):
            shuffled[i, self.rng.choice(n + m, size=m, replace=False)] = 1.0
        stats = _mmd2(k, np.concatenate([observed, shuffled]), n, m)
        p = (1 + int((stats[1:] >= stats[0]).sum())) / (1 + self.permutations)
        return DriftOutcome(float(stats[0]), p, p < self.alpha)


def _mmd2(k: np.ndarray, in_window: np.ndarray, n: int, m: int) -> np.ndarray:
    """Unbiased MMD² for each row of `in_window` (1 marks the window's members) from one kernel
    matrix with a unit diagonal: block sums from a K a, a·(K 1) and the total."""
    total, rows = k.sum(), k.sum(1)
    yy = ((in_window @ k) * in_window).sum(1)
    xy = in_window @ rows - yy
    xx = total - yy - 2.0 * xy
    return (xx - n) / (n * (n - 1)) + (yy - m) / (m * (m - 1)) - 2.0 * xy / (n * m)


def ks_test(reference: Sequence[float], window: Sequence[float], alpha: float = 0.01) -> DriftOutcome:
    from scipy.stats import ks_2samp

    res = ks_2samp(np.asarray(reference, dtype=float), np.asarray(window, dtype=float))
    return DriftOutcome(float(res.statistic), float(res.pvalue), float(res.pvalue) < alpha)


@dataclass(frozen=True)
class WindowResult:
    questions: int
    mmd: DriftOutcome
    confidence: DriftOutcome


class DriftMonitor:
    """The last `window` questions of a service, tested every `every` new ones in one background
    thread; `on_result` gets each result (the service sets its gauges from it).

    `embed` maps questions to unit vectors (the index's model) and `top1` vectors to their best
    cosine against the index (the retrieval confidence). The reference (`reference_questions`)
    is embedded by `fit()`, which the service calls before it reports ready (the first test
    would otherwise do it, competing with the first requests for the CPU).
    `observe` is what the request path calls: an append under a lock, and a thread start when a
    test is due and none runs (a due test is skipped, not queued, while one runs)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], top1: Callable[[np.ndarray], np.ndarray],
                 reference_questions: Sequence[str], window: int, every: int, permutations: int,
                 alpha: float, seed: int, on_result: Callable[[WindowResult], None]) -> None:
        if len(reference_questions) < 2:
            raise ValueError(f"drift needs at least 2 reference questions, got {len(reference_questions)}")
        self.embed, self.top1 = embed, top1
        self.reference_questions = list(reference_questions)
        self.window, self.every, self.permutations, self.alpha, self.seed = window, every, permutations, alpha, seed
        self.on_result = on_result
        self.recent: deque[str] = deque(maxlen=window)
        self.seen = 0
        self.tests = 0
        self._lock = threading.Lock()
        self._busy = threading.Event()
        self._fitted: tuple[MMDDetector, np.ndarray] | None = None
        self.last: WindowResult | None = None

    def fit(self) -> tuple[MMDDetector, np.ndarray]:
        if self._fitted is None:
            ref = self.embed(self.reference_questions)
            self._fitted = (MMDDetector(ref, self.permutations, self.alpha, self.seed), self.top1(ref))
        return self._fitted

    def observe(self, question: str) -> None:
        with self._lock:
            self.recent.append(question)
            self.seen += 1
            due = len(self.recent) == self.window and self.seen % self.every == 0
            if not due or self._busy.is_set():
                return
            self._busy.set()
            batch = list(self.recent)
        threading.Thread(target=self._run, args=(batch,), name="drift", daemon=True).start()

    def _run(self, batch: list[str]) -> None:
        try:
            self.last = self.evaluate(batch)
            self.tests += 1
            self.on_result(self.last)
        except Exception:  # a failed test must never take the service down
            log.exception("drift test failed")
        finally:
            self._busy.clear()

    def evaluate(self, questions: list[str]) -> WindowResult:
        detector, ref_top1 = self.fit()
        vecs = self.embed(questions)
        return WindowResult(len(questions), detector.test(vecs), ks_test(ref_top1, self.top1(vecs), self.alpha))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no test runs (tests and notebooks read `last` after it)."""
        deadline = time.monotonic() + timeout
        while self._busy.is_set():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True
