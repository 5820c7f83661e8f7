"""What one freeze-thaw decision knows: the curve model conditioned on the study's curves.

:func:`build_state` turns GP rows (from :func:`searchers.models.curve_data.curve_rows`) and the
running trials into a :class:`CurveState`: the posterior with the running trials as
kriging-believer fantasies, the incumbent and floor of the MFPI threshold, every modelled trial's
predicted loss at the maximum budget, the incumbent at that budget (what abandonment compares
with), the five best predicted trials (centres of the local candidates) and the cost model.
Every predictive variance is first widened by ``inflation``, the factor the study's own curves
call for (:func:`~searchers.models.curve_calibration.extrapolation_inflation`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hpo import Retire, Trial
from schedulers.freeze_thaw_rules import beat_probability, log_cost_rates
from searchers.models.curve_data import CurveRows
from searchers.models.gp import torch_context
from searchers.models.learning_curve import CurvePosterior, LearningCurveModel

TOP = 5
#: sds above its predicted mean at which a modelled trial counts towards ``y_target``
Z_TARGET = 2.0


@dataclass
class CurveState:
    """The model's view at one decision (losses in the study's units).

    Attributes:
        rows: the rows conditioned on (with the failed / diverged trials).
        posterior: the posterior including pending fantasies (score candidates with it).
        base: the posterior of the observed rows only.
        y_best, y_floor: the lowest usable loss at any budget (the MFPI threshold's incumbent)
            and ``y_best - range``.
        y_target: the incumbent at the maximum budget: the lowest loss observed there or
            the lowest pessimistic forecast there of a modelled trial (predicted mean plus
            ``Z_TARGET`` sds; so the best trial's own forecast never counts as hopeless,
            though its curve may peak below the maximum).
        final: trial id -> (mean, variance) of its loss at the maximum budget (with noise).
        top: ids of the (up to) five trials with the lowest predicted final loss.
        u: trial id -> encoded config (every trial of the view).
        log_rates: trial id -> log cost per budget unit, for trials with a positive budget.
    """

    model: LearningCurveModel
    rows: CurveRows
    posterior: CurvePosterior
    base: CurvePosterior
    y_best: float
    y_floor: float
    y_target: float
    final: dict[int, tuple[float, float]]
    top: list[int]
    u: dict[int, np.ndarray]
    log_rates: dict[int, float]
    threads: int = 1

    def log_rate(self, trial: Trial) -> float:
        """The trial's observed log cost rate, else the model's guess for its config."""
        rate = self.log_rates.get(trial.id)
        if rate is not None:
            return rate
        return float(self.new_log_rates(self.u[trial.id].reshape(1, -1))[0])

    def new_log_rates(self, U: np.ndarray) -> np.ndarray:
        """Log cost rates of configs ``U``: observed rates averaged with the asymptote kernel."""
        ids = sorted(self.log_rates)
        if not ids:
            return np.zeros(len(U))
        observed = np.stack([self.u[i] for i in ids])
        with torch_context(0, self.threads), torch.no_grad():
            kernel = self.model.covar.asymptote
            pad = self.model.pad
            A = pad(np.column_stack([U, np.zeros(len(U))]))[:, :-1]
            B = pad(np.column_stack([observed, np.zeros(len(observed))]))[:, :-1]
            w = kernel.forward(A, B).numpy()
        return log_cost_rates(w, np.array([self.log_rates[i] for i in ids]))


def build_state(model: LearningCurveModel, rows: CurveRows, pending: Sequence[np.ndarray],
                trials: Sequence[Trial], encode: Callable[[Trial], np.ndarray], *,
                max_budget: float, inflation: float = 1.0, threads: int = 1) -> CurveState:
    """Condition ``model`` on ``rows`` and the ``pending`` rows (see the module docstring);
    every predictive variance is multiplied by ``inflation``."""
    base = model.posterior(rows.X, rows.y, threads=threads)
    if inflation != 1.0:
        base = base.widened(inflation)
    P = np.vstack(pending) if pending else np.empty((0, rows.X.shape[1]))
    posterior = base.with_pending(P)
    y_best = float(np.min(rows.y))
    y_floor = y_best - float(np.max(rows.y) - y_best)
    modelled = sorted(set(int(i) for i in rows.trial_ids))
    u = {t.id: encode(t) for t in trials}
    final: dict[int, tuple[float, float]] = {}
    if modelled:
        Q = np.column_stack([np.stack([u[i] for i in modelled]), np.ones(len(modelled))])
        mean, var = base.predict(Q, noise=True)
        final = {i: (float(m), float(v)) for i, m, v in zip(modelled, mean, var)}
    top = sorted(final, key=lambda i: (final[i][0], i))[:TOP]
    done = [t.loss for t in trials
            if t.budget >= max_budget * (1 - 1e-9) and math.isfinite(t.loss)]
    # a modelled trial counts with its pessimistic bound: the minimum of hundreds of predicted
    # means is optimistic (the smallest of many noisy forecasts), and abandoning against it
    # retired nearly every paused trial in long runs (a start / abandon loop)
    bounds = [m + Z_TARGET * math.sqrt(max(v, 0.0)) for m, v in final.values()]
    y_target = min(done + bounds, default=y_best)
    log_rates = {t.id: math.log(max(t.cost, 1e-12) / t.budget) for t in trials
                 if t.observations and t.budget > 0}
    return CurveState(model, rows, posterior, base, y_best, y_floor, y_target, final, top, u,
                      log_rates, threads)


def abandonment(state: CurveState, paused: Sequence[Trial], *, threshold: float,
                spared: set[int], max_budget: float) -> Retire | None:
    """The first paused trial to retire, or None: one whose curve diverged (or failed), else
    one not in ``spared`` whose probability of beating ``state.y_target`` at ``max_budget``
    is below ``threshold`` (0 turns that test off)."""
    for t in paused:
        if t.id in state.rows.diverged or t.id in state.rows.failed:
            return Retire(t.id, "abandoned: its curve diverged")
    ok = [t for t in paused if t.id in state.final and t.id not in spared]
    if not threshold or not ok:
        return None
    mean = np.array([state.final[t.id][0] for t in ok])
    var = np.array([state.final[t.id][1] for t in ok])
    for t, prob in zip(ok, beat_probability(mean, var, state.y_target)):
        if prob < threshold:
            return Retire(t.id, f"abandoned: P(beat the incumbent {state.y_target:.6g} at "
                                f"{max_budget:g}) = {prob:.2g} < {threshold}")
    return None
