"""CARBS's acquisition: matched-cost expected improvement with the random cost clamp (§4.5).

For candidates ``c`` (basic space) with log weights ``log w(c)``:

1. output GP on ``Q(-loss)`` (quantile-normal), refit with outstanding suggestions as Thompson
   pseudo-observations (or their posterior mean); ``mu(c), var(c)``;
2. cost GP on ``S(log cost)`` (min-max to [-1, 1]); predicted cost ``c_hat(c)``;
3. success GP on labels -1 (result) / +1 (failure), only with both kinds; ``p_s(c)``;
4. Pareto GP on the Pareto-set observations, ``S(log cost) -> Q(-loss)``; the baseline is its
   value at ``clamp(S(log c_hat(c)), Pareto cost range)`` (matched cost), raised to its value at
   a cost drawn log-uniformly between the cheapest and the dearest Pareto group (capped by
   ``max_suggestion_cost``);
5. ``log A = log EI(mu, var, baseline, xi) + log w + log p_s``, ``-inf`` where
   ``c_hat >= max_suggestion_cost``; the argmax is suggested (the cheapest predicted candidate if
   every one is over the cap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchers.carbs_settings import CarbsSettings
from searchers.models.carbs_models import (
    MinMax,
    QuantileNormal,
    fixed_gp,
    log_expected_improvement,
    log_success_probability,
    predict,
    thompson,
)
from searchers.models.gp import torch_context
from searchers.models.pareto import Group


@dataclass(frozen=True)
class Data:
    """One decision's data: results (basic ``X``, maximised ``values``, ``costs``), failures
    and outstanding suggestions (basic rows), and the result rows' trial ids."""

    X: np.ndarray
    values: np.ndarray
    costs: np.ndarray
    failures: np.ndarray
    pending: np.ndarray
    ids: list[int]


@dataclass(frozen=True)
class Scores:
    """Every candidate's model outputs (transformed units) and the log acquisition."""

    mean: np.ndarray
    var: np.ndarray
    cost: np.ndarray
    baseline: np.ndarray
    log_success: np.ndarray
    log_acq: np.ndarray
    threshold_cost: float | None


def evaluate(data: Data, groups: list[Group], candidates: np.ndarray, log_w: np.ndarray,
             settings: CarbsSettings, rng: np.random.Generator, seed: int) -> Scores:
    """The models and acquisition of §4.5 at ``candidates`` (all random draws from ``rng``)."""
    s, hypers = settings, settings.hypers
    quantile = QuantileNormal.fit(data.values)
    z = quantile.transform(data.values)
    log_costs = np.log(data.costs)
    scaler = MinMax.fit(log_costs)
    sc = scaler.transform(log_costs)
    with torch_context(seed, s.threads):
        output = fixed_gp(data.X, z, hypers)
        if len(data.pending):
            if s.outstanding == "thompson":
                pseudo = thompson(output, data.pending, rng.standard_normal(len(data.pending)))
            else:
                pseudo = predict(output, data.pending)[0]
            output = fixed_gp(np.vstack([data.X, data.pending]), np.concatenate([z, pseudo]),
                              hypers)
        mean, var = predict(output, candidates)
        cost_mean = predict(fixed_gp(data.X, sc, hypers), candidates)[0]
        log_success = np.zeros(len(candidates))
        if len(data.failures):
            labels = np.concatenate([-np.ones(len(data.X)), np.ones(len(data.failures))])
            success = fixed_gp(np.vstack([data.X, data.failures]), labels, hypers)
            log_success = log_success_probability(*predict(success, candidates))
        members = [i for g in groups for i in g.members]
        pareto = fixed_gp(sc[members][:, None], z[members], hypers, pareto=True)
        lo, hi = float(np.min(sc[members])), float(np.max(sc[members]))
        baseline = predict(pareto, np.clip(cost_mean, lo, hi)[:, None])[0]
        threshold = None
        if s.clamp_pareto_value:
            log_lo, log_hi = math.log(groups[0].cost), math.log(groups[-1].cost)
            if s.max_suggestion_cost is not None:
                log_hi = min(log_hi, math.log(s.max_suggestion_cost))
            threshold = float(np.exp(rng.uniform(log_lo, log_hi)))
            at = np.clip(scaler.transform(np.array([math.log(threshold)])), lo, hi)
            baseline = np.maximum(baseline, predict(pareto, at[:, None])[0][0])
    cost = np.exp(scaler.inverse(cost_mean))
    log_acq = log_expected_improvement(mean, var, baseline, s.exploration_bias) + log_w \
        + log_success
    if s.max_suggestion_cost is not None:
        log_acq = np.where(cost < s.max_suggestion_cost, log_acq, -np.inf)
    return Scores(mean, var, cost, baseline, log_success, log_acq, threshold)


def score_candidates(data: Data, groups: list[Group], candidates: np.ndarray,
                     log_w: np.ndarray, settings: CarbsSettings, rng: np.random.Generator,
                     seed: int) -> tuple[int, dict[str, Any]]:
    """The index of the chosen candidate and a JSON summary of its predictions."""
    sc = evaluate(data, groups, candidates, log_w, settings, rng, seed)
    finite = np.isfinite(sc.log_acq)
    reason = ""
    if finite.any():
        best = int(np.argmax(np.where(finite, sc.log_acq, -np.inf)))
    else:
        best = int(np.argmin(sc.cost))
        reason = "no candidate below max_suggestion_cost: the cheapest predicted"
    info = {"predicted_cost": sc.cost[best], "mean": sc.mean[best], "sd": math.sqrt(sc.var[best]),
            "baseline": sc.baseline[best], "log_acquisition": sc.log_acq[best],
            "log_success": sc.log_success[best], "threshold_cost": sc.threshold_cost,
            "pareto_groups": len(groups), "reason": reason}
    return best, {k: _json(v) for k, v in info.items()}


def _json(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
