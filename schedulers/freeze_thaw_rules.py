"""The pieces of a freeze-thaw decision, as pure functions (algorithms.md §3.6b-d).

* :func:`step_grid`: the budgets a trial pauses at (linear, at most ``steps`` levels, or
  geometric ``min * ratio**k``), always ending at the fidelity maximum.
* :func:`asha_promotion`: the ASHA quantile rule walked along the step grid (the safety net):
  the rungs are the grid levels at or just above ``min * eta**m`` (:func:`rung_levels`); a
  paused trial below the top is promoted one grid step if its loss at its current rung (the
  highest rung at or below its budget) ranks in the best ``floor(n / eta)`` of the ``n`` losses
  recorded there. So, as in ASHA, a ``1 / eta`` share of trials passes each factor ``eta`` of
  budget, whatever the spacing of the grid (with the top ``1 / eta`` per *grid step* a √2 grid
  of 12 levels would need ``3**11`` trials before one reached the maximum).
* :func:`mfpi_scores`: ``log P(y(u, t_q) < tau) - kappa log cost`` for every candidate, with
  :func:`threshold` ``tau = y_best - 10**U(-4, -1) (y_best - y_floor)``.
* :func:`choose`: the argmax, ties to the paused trial with the larger budget.
* :func:`beat_probability`: ``P(y(u, t_max) < y_best)``, the abandonment test.
* :func:`log_cost_rates`: the cost model (cost per budget unit, log scale; new configs get a
  kernel-weighted average of the observed trials' rates).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np
from scipy.special import log_ndtr, ndtr

from hpo import Fidelity, MethodError, Trial

GRIDS = ("linear", "geometric")


def step_grid(fidelity: Fidelity, grid: str = "linear", *, steps: int = 50,
              ratio: float = math.sqrt(2)) -> list[float]:
    """Increasing budgets from ``fidelity.min`` to ``fidelity.max`` (integers if the fidelity is).

    Raises:
        MethodError: unknown ``grid``, ``steps < 1`` or ``ratio <= 1``.
    """
    if grid not in GRIDS:
        raise MethodError(f"unknown freeze-thaw grid {grid!r}; choose one of {list(GRIDS)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise MethodError(f"freeze-thaw steps must be an int >= 1, got {steps!r}")
    if not isinstance(ratio, (int, float)) or not ratio > 1 or not math.isfinite(ratio):
        raise MethodError(f"freeze-thaw geometric ratio must be > 1, got {ratio!r}")
    lo, hi = float(fidelity.min), float(fidelity.max)
    if grid == "linear":
        n = steps if not fidelity.integer else min(steps, int(hi - lo) + 1)
        levels = list(np.linspace(lo, hi, max(n, 1))) if hi > lo else [hi]
    else:
        count = int(math.floor(math.log(hi / lo) / math.log(ratio) + 1e-9)) + 1
        levels = [lo * ratio ** k for k in range(count)] + [hi]
    out: list[float] = []
    for level in levels:
        value: float = int(round(level)) if fidelity.integer else float(level)
        if value > hi:
            value = fidelity.max
        if not out or value > out[-1] * (1 + 1e-12):
            out.append(value)
    if out[-1] < hi:
        out.append(fidelity.max)
    return out


def level_index(grid: Sequence[float], budget: float) -> int:
    """Index of the highest grid level at or below ``budget`` (-1 below the first)."""
    return bisect.bisect_right(grid, budget * (1 + 1e-9)) - 1


def next_level(grid: Sequence[float], budget: float) -> int:
    """Index of the first grid level above ``budget`` (``len(grid) - 1`` at the top)."""
    return min(level_index(grid, budget) + 1, len(grid) - 1)


def _loss_at_level(trial: Trial, level: float) -> float:
    """Loss of the trial's first observation at or above ``level``."""
    budgets = [o.budget for o in trial.observations]
    i = bisect.bisect_left(budgets, level * (1 - 1e-9))
    return trial.observations[i].loss


def rung_levels(grid: Sequence[float], eta: float) -> list[int]:
    """Indices of the grid levels that are ASHA rungs: for ``m = 0, 1, ...`` the first level at
    or above ``grid[0] * eta**m``, and the top level."""
    rungs: list[int] = []
    target = float(grid[0])
    while target <= grid[-1] * (1 + 1e-9):
        k = bisect.bisect_left(grid, target * (1 - 1e-9))
        if not rungs or k > rungs[-1]:
            rungs.append(k)
        target *= eta
    if rungs[-1] != len(grid) - 1:
        rungs.append(len(grid) - 1)
    return rungs


def asha_qualified(trials: Sequence[Trial], paused: Sequence[Trial], grid: Sequence[float],
                   eta: float) -> dict[int, list[Trial]]:
    """Rung index -> the paused trials at that rung (below the top level) whose loss there
    ranks in the best ``floor(n / eta)`` of the ``n`` losses recorded at the rung: the trials
    ASHA would still promote."""
    rungs = rung_levels(grid, eta)
    by_rung: dict[int, list[Trial]] = {}
    for t in paused:
        k = level_index(grid, t.budget)
        if 0 <= k < len(grid) - 1:
            r = bisect.bisect_right(rungs, k) - 1
            by_rung.setdefault(rungs[r], []).append(t)
    out: dict[int, list[Trial]] = {}
    for r, members in by_rung.items():
        level = grid[r]
        results = sorted(_loss_at_level(t, level) for t in trials
                         if t.observations and t.budget >= level * (1 - 1e-9))
        top = int(math.floor(len(results) / eta + 1e-9))
        qualified = [t for t in members
                     if top >= 1 and bisect.bisect_left(results, _loss_at_level(t, level)) < top]
        if qualified:
            out[r] = qualified
    return out


def asha_promotion(trials: Sequence[Trial], paused: Sequence[Trial], grid: Sequence[float],
                   eta: float) -> int | None:
    """The paused trial the ASHA safety net promotes one grid step (see module), or None.

    Rungs are scanned from the top; among a rung's qualifying paused trials the one with the
    largest budget (closest to the next rung), then the lowest loss at the rung, then the
    lowest id is promoted.
    """
    qualified = asha_qualified(trials, paused, grid, eta)
    if not qualified:
        return None
    r = max(qualified)
    level = grid[r]
    best = min(qualified[r], key=lambda t: (-t.budget, _loss_at_level(t, level), t.id))
    return best.id


def threshold(y_best: float, y_floor: float, u: float) -> float:
    """``tau = y_best - 10**(-4 + 3u) (y_best - y_floor)`` for ``u`` uniform in [0, 1)."""
    return y_best - 10.0 ** (-4.0 + 3.0 * u) * max(y_best - y_floor, 1e-12)


def mfpi_scores(mean: np.ndarray, var: np.ndarray, tau: float, *, log_cost: np.ndarray | None,
                kappa: float) -> np.ndarray:
    """``log Phi((tau - mean) / sd) - kappa * log_cost`` (log PI, cost-weighted)."""
    sd = np.sqrt(np.maximum(np.asarray(var, dtype=np.float64), 1e-300))
    score = log_ndtr((tau - np.asarray(mean, dtype=np.float64)) / sd)
    if kappa and log_cost is not None:
        score = score - kappa * np.asarray(log_cost, dtype=np.float64)
    return np.asarray(score, dtype=np.float64)


def choose(scores: np.ndarray, is_paused: np.ndarray, budgets: np.ndarray) -> int:
    """Index of the best score; ties to a paused trial, then to the larger budget, then to
    the earlier candidate."""
    n = len(scores)
    order = np.lexsort((np.arange(n), -np.asarray(budgets, dtype=np.float64),
                        ~np.asarray(is_paused, dtype=bool), -np.asarray(scores)))
    return int(order[0])


def beat_probability(mean: np.ndarray, var: np.ndarray, y_best: float) -> np.ndarray:
    """``P(y < y_best)`` under ``N(mean, var)``."""
    sd = np.sqrt(np.maximum(np.asarray(var, dtype=np.float64), 1e-300))
    return np.asarray(ndtr((y_best - np.asarray(mean)) / sd), dtype=np.float64)


def log_cost_rates(weights: np.ndarray, observed_log_rates: np.ndarray) -> np.ndarray:
    """Kernel-weighted averages of observed log cost rates (rows of ``weights`` sum over the
    observed trials); the plain average where a row's weights vanish."""
    w = np.asarray(weights, dtype=np.float64)
    r = np.asarray(observed_log_rates, dtype=np.float64)
    if r.size == 0:
        return np.zeros(len(w))
    total = w.sum(1)
    fallback = float(np.mean(r))
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = (w @ r) / total
    return np.where(total > 1e-12, avg, fallback)


def curve_state(trial: Trial, max_budget: float) -> str:
    """``"open"`` (paused / handed out), ``"done"`` (reached ``max_budget``) or ``"stopped"``."""
    if not trial.status.is_terminal:
        return "open"
    return "done" if trial.budget >= max_budget * (1 - 1e-9) else "stopped"
