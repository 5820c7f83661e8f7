"""The divergence (failure) model of the scaling prior (algorithms.md §5.5, §5.6).

``P(fail | θ, s) = Φ((δ - Δ(s)) / w)`` with ``δ`` the distance of the *learning-rate-like*
coordinate above the fitted optimum at its scale, ``δ = θ_lr - θ*_lr(s)``, and a divergence
threshold that may drift with scale, ``Δ(s) = Δ_0 + Σ_a c_a s_a``. A small leak
``P_0 = 0.5 %`` bounds it away from 0 and 1 (runs fail for other reasons too). Priors:
``Δ_0 ~ N(2, 1.5²)`` octaves above the optimum, ``c_a ~ N(0, 0.5²)``, ``log w ~ N(log 0.5,
0.5²)``. Fitted by MAP (L-BFGS-B, numpy); with no failure observed the priors keep the
threshold a couple of octaves above the optimum. Failed, NaN and diverged runs feed this
model, never the loss GP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm

LEAK = 0.005
_PRIOR_D0 = (2.0, 1.5)
_PRIOR_C = 0.5
_PRIOR_LOG_W = (math.log(0.5), 0.5)


@dataclass(frozen=True)
class FailureModel:
    """A fitted probit divergence model (``coef`` = ``[Δ_0, c_1..c_k, log w]``)."""

    coef: tuple[float, ...]
    n_failed: int
    n: int

    def probability(self, delta: np.ndarray, s: np.ndarray) -> np.ndarray:
        """``P(fail)`` for lr offsets ``delta`` (n) above the optimum at scales ``s`` (n × k)."""
        c = np.asarray(self.coef)
        delta = np.asarray(delta, dtype=np.float64).reshape(-1)
        s = np.asarray(s, dtype=np.float64).reshape(len(delta), len(c) - 2)
        threshold = c[0] + (s @ c[1:-1] if s.shape[1] else 0.0)
        z = (delta - threshold) / math.exp(c[-1])
        return LEAK + (1 - 2 * LEAK) * norm.cdf(z)

    def to_json(self) -> dict[str, object]:
        return {"coef": list(self.coef), "n_failed": self.n_failed, "n": self.n}


def _neg_log_post(c: np.ndarray, delta: np.ndarray, s: np.ndarray, failed: np.ndarray) -> float:
    threshold = c[0] + (s @ c[1:-1] if s.shape[1] else 0.0)
    z = (delta - threshold) / math.exp(c[-1])
    p = LEAK + (1 - 2 * LEAK) * norm.cdf(z)
    ll = np.sum(np.where(failed, np.log(p), np.log1p(-p)))
    lp = (-0.5 * ((c[0] - _PRIOR_D0[0]) / _PRIOR_D0[1]) ** 2
          - 0.5 * np.sum((c[1:-1] / _PRIOR_C) ** 2)
          - 0.5 * ((c[-1] - _PRIOR_LOG_W[0]) / _PRIOR_LOG_W[1]) ** 2)
    return float(-(ll + lp))


def fit_failure(delta: np.ndarray, s: np.ndarray, failed: np.ndarray) -> FailureModel:
    """MAP fit on lr offsets ``delta`` (n), scales ``s`` (n × k) and labels ``failed`` (n)."""
    delta = np.asarray(delta, dtype=np.float64).reshape(-1)
    s = np.asarray(s, dtype=np.float64)
    s = s.reshape(len(delta), s.shape[-1] if s.ndim == 2 else -1)
    failed = np.asarray(failed, dtype=bool).reshape(-1)
    c0 = np.concatenate([[_PRIOR_D0[0]], np.zeros(s.shape[1]), [_PRIOR_LOG_W[0]]])
    if len(delta):
        result = minimize(_neg_log_post, c0, args=(delta, s, failed), method="L-BFGS-B",
                          options={"maxiter": 200})
        if np.all(np.isfinite(result.x)):
            c0 = result.x
    return FailureModel(tuple(float(v) for v in c0), int(failed.sum()), len(delta))
