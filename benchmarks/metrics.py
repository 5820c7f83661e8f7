"""Anytime regret curves, confidence intervals, speed-up over random search, ranks.

One definition of a run's result everywhere (curves, final regret, speed-ups, ranks):

* The **incumbent** at resource ``x`` (or simulated time) is the best *observed*
  full-fidelity result reported up to ``x``; it is scored by its *true* (noise-free) loss.
  On a noisy problem a newer incumbent can be truly worse than an older one, so a curve need
  not decrease. Before the first full-fidelity result the regret is 1 (the reference).
* The **final regret** of a run is the regret of its incumbent at the end of the run: the last
  point of its curves (the resource grid ends at the most resource any run spent).
* Mean curves are averaged over seeds; the 95% interval is ``mean +- 1.96 * SE``.
* **Speed-up over random search**: let ``r*`` be random search's mean final regret; the
  speed-up of a method is ``x_random(r*) / x_method(r*)`` where ``x(r*)`` is the first grid
  point at which the mean curve reaches ``r*``. None when the method never reaches it.
* **Rank**: per problem and seed, methods are ranked by regret (1 = best, ties averaged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

BEFORE_FIRST = 1.0  # regret before the first full-fidelity result


def on_grid(trajectory: Sequence[Sequence[float]], grid: np.ndarray, axis: int = 1,
            ) -> np.ndarray:
    """Regret of the incumbent at each grid point (``axis`` 0 = simulated time, 1 = resource
    spent). ``trajectory`` rows are ``(time, spent, regret)``, one per change of incumbent."""
    out = np.full(len(grid), BEFORE_FIRST, dtype=float)
    if not trajectory:
        return out
    xs = np.array([row[axis] for row in trajectory], dtype=float)
    regrets = np.array([row[2] for row in trajectory], dtype=float)  # no running minimum
    idx = np.searchsorted(xs, grid, side="right") - 1
    has = idx >= 0
    out[has] = regrets[idx[has]]
    return out


def final_regret(trajectory: Sequence[Sequence[float]]) -> float:
    """Regret of the incumbent at the end of the run (= the end of its curves)."""
    return float(trajectory[-1][2]) if trajectory else BEFORE_FIRST


def budget_grid(max_budget: float, unit: float, points: int = 60) -> np.ndarray:
    """Log-spaced resource grid from one full evaluation (``unit``) to ``max_budget``."""
    low = min(unit, max_budget)
    return np.geomspace(low, max_budget, points)


def mean_ci(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over runs (axis 0) and the 95% half-width."""
    curves = np.atleast_2d(curves)
    mean = curves.mean(axis=0)
    if curves.shape[0] < 2:
        return mean, np.zeros_like(mean)
    se = curves.std(axis=0, ddof=1) / math.sqrt(curves.shape[0])
    return mean, 1.96 * se


def first_reach(mean: np.ndarray, grid: np.ndarray, target: float) -> float | None:
    """The first grid value at which ``mean <= target`` (None if never)."""
    hits = np.nonzero(mean <= target + 1e-12)[0]
    return float(grid[hits[0]]) if hits.size else None


def speedup(method_mean: np.ndarray, random_mean: np.ndarray, grid: np.ndarray,
            ) -> float | None:
    """How much sooner ``method`` reaches random search's final mean regret."""
    target = float(random_mean[-1])
    x_random = first_reach(random_mean, grid, target)
    x_method = first_reach(method_mean, grid, target)
    if x_random is None or x_method is None:
        return None
    return x_random / x_method


def mean_ranks(final: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Average rank per method from per-seed final regrets (seeds aligned by position)."""
    names = sorted(final)
    n = min(len(final[m]) for m in names)
    if n == 0:
        return {m: math.nan for m in names}
    table = np.array([[final[m][s] for m in names] for s in range(n)], dtype=float)
    ranks = np.array([rankdata(row) for row in table])
    return dict(zip(names, ranks.mean(axis=0).tolist()))


def ranks_over_grid(curves: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Average rank per method at each grid point (curves: method -> runs x grid)."""
    names = sorted(curves)
    n = min(c.shape[0] for c in curves.values())
    stacked = np.stack([curves[m][:n] for m in names], axis=-1)  # runs x grid x methods
    ranks = np.apply_along_axis(rankdata, -1, stacked)
    mean = ranks.mean(axis=0)
    return {m: mean[:, i] for i, m in enumerate(names)}
